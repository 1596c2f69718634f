/**
 * One dropped packet as the kernel recorded it (struct drops_event in drops.h, layout
 * from BTF), and the log record it becomes.
 */
import type { Attributes, EnumLabels, StructLayout } from '../../core/plugin';
import { formatAddress } from '../../core/net/address';

export interface DropEvent {
  location: bigint;
  reason: number;
  ifindex: number;
  length: number;
  direction: 'receive' | 'transmit';
  ipVersion: number;
  /** 0: the IP header could not be read. */
  protocol: number;
  ports?: { src: number; dst: number };
  src: string;
  dst: string;
}

export class DropEventDecoder {
  private readonly location: number;

  /** `directions`: enum drops_direction's labels (receive, transmit). */
  constructor(private readonly layout: StructLayout, private readonly directions: EnumLabels) {
    this.location = layout.offsets({ location: 8 }).location;
  }

  get size(): number {
    return this.layout.size;
  }

  decode(record: Buffer): DropEvent | undefined {
    if (record.length < this.layout.size) return undefined;
    const e = this.layout.decode(record);
    const n = (f: string) => e[f] as number;
    return {
      // A kernel address needs all 64 bits (the generic decoder gives a float64).
      location: record.readBigUInt64LE(this.location),
      reason: n('reason'),
      ifindex: n('ifindex'),
      length: n('length'),
      direction: this.directions.name(n('direction')) as DropEvent['direction'],
      ipVersion: n('ip_version'),
      protocol: n('protocol'),
      ports: n('has_ports') ? { src: n('src_port'), dst: n('dst_port') } : undefined,
      src: n('protocol') ? formatAddress(e.src as Buffer) : '',
      dst: n('protocol') ? formatAddress(e.dst as Buffer) : '',
    };
  }
}

const PROTOCOL_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp' };
export const protocolName = (p: number): string => PROTOCOL_NAMES[p] ?? String(p);

export interface RecordContext {
  reasonName(value: number): string;
  interfaceName(ifindex: number): string | undefined;
  symbol(address: bigint): string | undefined;
  peerName(address: string): string | undefined;
}

/** The flat attributes of a `netprobe.drop` record and its one-line body. */
export function dropRecord(e: DropEvent, ctx: RecordContext): { attributes: Attributes; body: string } {
  const reason = ctx.reasonName(e.reason);
  const attributes: Attributes = {
    'netprobe.drop.reason': reason,
    'network.io.direction': e.direction,
    'network.type': `ipv${e.ipVersion}`,
    'netprobe.drop.length': e.length,
  };
  const ifname = e.ifindex ? ctx.interfaceName(e.ifindex) : undefined;
  if (ifname) attributes['network.interface.name'] = ifname;
  const location = ctx.symbol(e.location);
  if (location) attributes['netprobe.drop.location'] = location;
  let body = `${reason}: ipv${e.ipVersion}`;
  if (e.protocol) {
    const transport = protocolName(e.protocol);
    attributes['network.transport'] = transport;
    attributes['source.address'] = e.src;
    attributes['destination.address'] = e.dst;
    const icmp = e.protocol === 1 || e.protocol === 58;
    if (e.ports && icmp) {
      attributes['netprobe.icmp.type'] = e.ports.src;
      attributes['netprobe.icmp.code'] = e.ports.dst;
    } else if (e.ports) {
      attributes['source.port'] = e.ports.src;
      attributes['destination.port'] = e.ports.dst;
    }
    const peer = ctx.peerName(e.direction === 'receive' ? e.src : e.dst);
    if (peer !== undefined) attributes['netprobe.peer.name'] = peer;
    const port = (a: string, p?: number) => (p === undefined || icmp ? a : a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
    body = `${reason}: ${transport} ${port(e.src, e.ports?.src)} -> ${port(e.dst, e.ports?.dst)}`;
  }
  body += ` (${e.direction}${ifname ? ` on ${ifname}` : ''}, ${e.length} bytes${location ? `, in ${location}` : ''})`;
  return { attributes, body };
}

export const RECORD_ATTRIBUTES = [
  'netprobe.drop.reason', 'netprobe.drop.location', 'netprobe.drop.length', 'network.interface.name', 'network.io.direction',
  'network.type', 'network.transport', 'source.address', 'source.port', 'destination.address', 'destination.port',
  'netprobe.icmp.type', 'netprobe.icmp.code', 'netprobe.peer.name',
] as const;
