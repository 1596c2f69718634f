/**
 * Fast decoding of the kernel's flow table: field offsets come from BTF once, then
 * each entry is read with a few integer loads (100,000 flows per interval is the
 * design point, so no per-field objects are built for flows we already know).
 */
import type { StructLayout } from '../../core/bpf/layout';
import { formatAddress } from '../../core/net/address';

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
  private readonly k: Record<'ifindex' | 'direction' | 'ip_version' | 'protocol' | 'fragment' | 'src' | 'dst' | 'src_port' | 'dst_port', number>;
  private readonly v: Record<'packets' | 'bytes' | 'syns' | 'first_seen' | 'last_seen' | 'tcp_flags', number>;
  readonly keySize: number;

  constructor(key: StructLayout, value: StructLayout) {
    const at = (l: StructLayout, name: string) => l.field(name).offset;
    this.keySize = key.size;
    this.k = {
      ifindex: at(key, 'ifindex'), direction: at(key, 'direction'), ip_version: at(key, 'ip_version'),
      protocol: at(key, 'protocol'), fragment: at(key, 'fragment'), src: at(key, 'src'), dst: at(key, 'dst'),
      src_port: at(key, 'src_port'), dst_port: at(key, 'dst_port'),
    };
    this.v = {
      packets: at(value, 'packets'), bytes: at(value, 'bytes'), syns: at(value, 'syns'),
      first_seen: at(value, 'first_seen'), last_seen: at(value, 'last_seen'), tcp_flags: at(value, 'tcp_flags'),
    };
  }

  decodeKey(keys: Buffer, base: number): FlowKeyInfo {
    const k = this.k;
    return {
      ifindex: keys.readUInt32LE(base + k.ifindex),
      direction: keys[base + k.direction] === 0 ? 'receive' : 'transmit',
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
