/**
 * Ring-buffer records (struct capture_event from capture.h, then the frame's first
 * bytes), decoded with offsets read once from the object's BTF. An offloaded VLAN
 * tag (kept by the kernel beside the frame, not in it) is put back in the bytes as
 * libpcap does, so the capture shows the frame as it was on the wire.
 */
import type { EnumLabels, StructLayout } from '../../core/plugin';

export interface CapturedFrame {
  /** CLOCK_MONOTONIC ns, as bpf_ktime_get_ns() read it: upper and lower 32 bits. */
  monotonicHigh: number;
  monotonicLow: number;
  ifindex: number;
  direction: 'inbound' | 'outbound';
  /** Length on the wire (with a re-inserted VLAN tag). */
  originalLength: number;
  /** The captured bytes (at most snaplen, plus a re-inserted VLAN tag). */
  data: Buffer;
}

const MAC_ADDRESSES = 12;

export class RecordDecoder {
  /** Byte offsets of the header's fields (from BTF). */
  readonly at;
  /** enum capture_direction's value for egress. */
  readonly egress: number;
  readonly headerSize: number;

  /** `layout`: struct capture_event; `directions`: enum capture_direction's labels (dir_ingress, dir_egress). */
  constructor(layout: StructLayout, directions: EnumLabels) {
    // The widths are the reads below: a C type change fails at start, not in decoding.
    this.at = layout.offsets({ timestamp: 8, ifindex: 4, len: 4, captured: 4, vlan_tci: 2, vlan_proto: 2, direction: 1 });
    this.egress = directions.value('dir_egress');
    this.headerSize = layout.size;
    // The capture path reads these as 32-bit words of the ring, and the frame's bytes start word-aligned.
    for (const n of ['timestamp', 'ifindex', 'len', 'captured'] as const) {
      if (this.at[n] % 4 !== 0) throw new Error(`capture_event.${n} is not 32-bit aligned (offset ${this.at[n]})`);
    }
    if (this.headerSize % 4 !== 0) throw new Error(`capture_event's size ${this.headerSize} is not a multiple of 4`);
  }

  /** Undefined when the record is not one the kernel program writes (never expected). */
  decode(record: Buffer): CapturedFrame | undefined {
    const at = this.at;
    if (record.length < this.headerSize) return undefined;
    const captured = record.readUInt32LE(at.captured);
    if (this.headerSize + captured > record.length) return undefined;
    let data = record.subarray(this.headerSize, this.headerSize + captured);
    let originalLength = record.readUInt32LE(at.len);
    const vlanProto = record.readUInt16LE(at.vlan_proto); // network order in the record
    if (vlanProto !== 0 && data.length >= MAC_ADDRESSES) {
      const tagged = Buffer.allocUnsafe(data.length + 4);
      data.copy(tagged, 0, 0, MAC_ADDRESSES);
      tagged.writeUInt16LE(vlanProto, MAC_ADDRESSES); // bytes as stored: already big-endian on the wire
      tagged.writeUInt16BE(record.readUInt16LE(at.vlan_tci), MAC_ADDRESSES + 2);
      data.copy(tagged, MAC_ADDRESSES + 4, MAC_ADDRESSES);
      data = tagged;
      originalLength += 4;
    }
    return {
      monotonicLow: record.readUInt32LE(at.timestamp),
      monotonicHigh: record.readUInt32LE(at.timestamp + 4),
      ifindex: record.readUInt32LE(at.ifindex),
      direction: record[at.direction] === this.egress ? 'outbound' : 'inbound',
      originalLength,
      data,
    };
  }
}
