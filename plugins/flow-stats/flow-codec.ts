/**
 * Fast decoding of the kernel's flow table: field offsets come from BTF once, then
 * each entry is read with a few integer loads (100,000 flows per interval is the
 * design point, so no per-field objects are built for flows we already know).
 */
import type { EnumLabels, StructLayout } from '../../core/plugin';
import { formatAddress } from '../../core/net/address';
import type { SocketProcess } from '../../core/plugin';

export interface FlowKeyInfo {
  ifindex: number;
  direction: 'receive' | 'transmit';
  ipVersion: 4 | 6;
  protocol: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** IP fragments after the first: no transport header, so no ports or ICMP type/code. */
  fragment: boolean;
  /** The DNS name of the remote end when the flow was first seen (netprobe.peer.name). */
  peerName?: string;
  /**
   * For a TCP/UDP flow: its key as the local socket sent it (ifindex 0, src local), the
   * key of flow_stats_processes, as a latin1 string. Undefined for other flows.
   */
  socketId?: string;
  /** The local process that sent the flow, once found in flow_stats_processes. */
  process?: SocketProcess;
}

export interface FlowCounters {
  packets: number;
  bytes: number;
  syns: number;
  /** CLOCK_MONOTONIC ns (tick resolution) */
  firstSeen: number;
  /** CLOCK_MONOTONIC ns (tick resolution) */
  lastSeen: number;
  tcpFlags: number;
}

export const emptyCounters = (): FlowCounters => ({ packets: 0, bytes: 0, syns: 0, firstSeen: 0, lastSeen: 0, tcpFlags: 0 });

const u64 = (b: Buffer, at: number) => b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x1_0000_0000;

export class FlowCodec {
  private readonly k;
  private readonly v;
  private readonly egress: number;
  readonly keySize: number;

  /** `directions`: enum flow_direction's labels (dir_ingress, dir_egress). */
  constructor(key: StructLayout, value: StructLayout, directions: EnumLabels) {
    this.keySize = key.size;
    // The widths are the reads below: a C type change fails here, not in decoding.
    this.k = key.offsets({ ifindex: 4, direction: 1, ip_version: 1, protocol: 1, fragment: 1, src: 16, dst: 16, src_port: 2, dst_port: 2 });
    this.v = value.offsets({ packets: 8, bytes: 8, syns: 8, first_seen: 8, last_seen: 8, tcp_flags: 1 });
    this.egress = directions.value('dir_egress');
  }

  /** Our name for a flow_direction value. */
  direction(value: number): 'receive' | 'transmit' {
    return value === this.egress ? 'transmit' : 'receive';
  }

  decodeKey(keys: Buffer, base: number): FlowKeyInfo {
    const k = this.k;
    return {
      ifindex: keys.readUInt32LE(base + k.ifindex),
      direction: this.direction(keys[base + k.direction]!),
      ipVersion: keys[base + k.ip_version] === 6 ? 6 : 4,
      protocol: keys[base + k.protocol]!,
      src: formatAddress(keys, base + k.src),
      dst: formatAddress(keys, base + k.dst),
      srcPort: keys.readUInt16LE(base + k.src_port),
      dstPort: keys.readUInt16LE(base + k.dst_port),
      fragment: keys[base + k.fragment] !== 0,
    };
  }

  /**
   * The key a local socket's flow has in flow_stats_processes (see note_flow_process in
   * the C): the flow as sent, on no particular interface. A received flow is turned
   * around (its destination is the local end). Undefined for what no socket sends
   * (not TCP/UDP, trailing fragments).
   */
  socketId(keys: Buffer, base: number): string | undefined {
    const k = this.k;
    const protocol = keys[base + k.protocol];
    if ((protocol !== 6 && protocol !== 17) || keys[base + k.fragment] !== 0) return undefined;
    const id = Buffer.from(keys.subarray(base, base + this.keySize));
    id.writeUInt32LE(0, k.ifindex);
    if (id[k.direction] === 0) {
      id[k.direction] = 1;
      keys.copy(id, k.src, base + k.dst, base + k.dst + 16);
      keys.copy(id, k.dst, base + k.src, base + k.src + 16);
      id.writeUInt16LE(keys.readUInt16LE(base + k.dst_port), k.src_port);
      id.writeUInt16LE(keys.readUInt16LE(base + k.src_port), k.dst_port);
    }
    return id.toString('latin1');
  }

  /**
   * One flow's counters, its per-CPU copies combined (counters add, first/last seen
   * min/max, flags OR), into `out` (reused on the hot path) or a new object.
   */
  decodeValue(values: Buffer, base: number, stride: number, cpus: number, out: FlowCounters = emptyCounters()): FlowCounters {
    const v = this.v;
    out.packets = out.bytes = out.syns = out.firstSeen = out.lastSeen = out.tcpFlags = 0;
    for (let cpu = 0, at = base; cpu < cpus; cpu++, at += stride) {
      const packets = u64(values, at + v.packets);
      if (packets === 0) continue; // this CPU never saw the flow
      out.packets += packets;
      out.bytes += u64(values, at + v.bytes);
      out.syns += u64(values, at + v.syns);
      const first = u64(values, at + v.first_seen);
      if (first !== 0 && (out.firstSeen === 0 || first < out.firstSeen)) out.firstSeen = first;
      const last = u64(values, at + v.last_seen);
      if (last > out.lastSeen) out.lastSeen = last;
      out.tcpFlags |= values[at + v.tcp_flags]!;
    }
    return out;
  }
}
