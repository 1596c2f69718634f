/**
 * Ring-buffer records (struct dns_event from dns.h, then the message bytes),
 * decoded with offsets taken from the object's BTF once, so the hot path is a
 * handful of fixed reads and nothing here can drift from the C header.
 */
import type { EnumLabels, StructLayout } from '../../core/plugin';
import { formatIpv4, formatIpv6 } from '../../core/net/address';

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

export interface DnsCapture {
  /** CLOCK_MONOTONIC ns, as bpf_ktime_get_ns() read it. */
  timestampNs: number;
  ifindex: number;
  direction: 'receive' | 'transmit';
  networkType: 'ipv4' | 'ipv6';
  transport: 'udp' | 'tcp';
  source: string;
  sourcePort: number;
  destination: string;
  destinationPort: number;
  /** Transport payload length on the wire (the kernel copies at most capture_bytes of it). */
  payloadLength: number;
  /** The captured payload, a view of the record: a DNS message (UDP) or a length-prefixed one (TCP). */
  payload: Buffer;
}

export class EventDecoder {
  private readonly at;
  private readonly egress: number;
  readonly headerSize: number;

  /** `layout`: struct dns_event; `directions`: enum dns_direction's labels (dir_ingress, dir_egress). */
  constructor(layout: StructLayout, directions: EnumLabels) {
    // The widths are the reads below: a C type change fails at start, not in decoding.
    this.at = layout.offsets({
      timestamp: 8, ifindex: 4, direction: 1, family: 1, transport: 1, saddr: 16, daddr: 16, sport: 2, dport: 2, payload_len: 2, captured: 2,
    });
    this.egress = directions.value('dir_egress');
    this.headerSize = layout.size;
  }

  /** Undefined when the record is not one the kernel program writes (never expected). */
  decode(record: Buffer): DnsCapture | undefined {
    const at = this.at;
    if (record.length < this.headerSize) return undefined;
    const family = record[at.family];
    const proto = record[at.transport];
    if ((family !== 4 && family !== 6) || (proto !== IPPROTO_UDP && proto !== IPPROTO_TCP)) return undefined;
    const captured = record.readUInt16LE(at.captured!);
    if (this.headerSize + captured > record.length) return undefined;
    const v4 = family === 4;
    return {
      timestampNs: record.readUInt32LE(at.timestamp!) + record.readUInt32LE(at.timestamp! + 4) * 0x1_0000_0000,
      ifindex: record.readUInt32LE(at.ifindex!),
      direction: record[at.direction] === this.egress ? 'transmit' : 'receive',
      networkType: v4 ? 'ipv4' : 'ipv6',
      transport: proto === IPPROTO_TCP ? 'tcp' : 'udp',
      source: v4 ? formatIpv4(record, at.saddr) : formatIpv6(record, at.saddr),
      sourcePort: record.readUInt16LE(at.sport!),
      destination: v4 ? formatIpv4(record, at.daddr) : formatIpv6(record, at.daddr),
      destinationPort: record.readUInt16LE(at.dport!),
      payloadLength: record.readUInt16LE(at.payload_len!),
      payload: record.subarray(this.headerSize, this.headerSize + captured),
    };
  }
}
