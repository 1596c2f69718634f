/**
 * Crafted frames for BPF_PROG_TEST_RUN: Ethernet with optional VLAN tags, IPv4 (with
 * options and fragment fields) or IPv6 (with extension headers), then TCP, UDP or ICMP.
 * Checksums are not computed: the programs under test never look at them.
 */
import { addressBytes } from '../../core/net/address';

export interface FrameSpec {
  vlans?: Array<{ tpid?: number; id: number }>;
  etherType?: number;
  ip?: Ipv4Spec | Ipv6Spec;
  l4?: L4Spec;
  payload?: number;
}
export interface Ipv4Spec { version: 4; src: string; dst: string; protocol?: number; ihl?: number; options?: number; fragmentOffset?: number; moreFragments?: boolean }
export interface Ipv6Spec { version: 6; src: string; dst: string; protocol?: number; extensions?: Array<{ type: number; length?: number; fragmentOffset?: number }> }
export type L4Spec =
  | { kind: 'tcp'; src: number; dst: number; flags?: number }
  | { kind: 'udp'; src: number; dst: number }
  | { kind: 'icmp'; type: number; code: number };

const L4_PROTOCOL = { tcp: 6, udp: 17 } as const;

export function frame(spec: FrameSpec): Buffer {
  const parts: Buffer[] = [];
  const eth = Buffer.alloc(12);
  eth.write('020000000002020000000001', 'hex');
  parts.push(eth);
  for (const v of spec.vlans ?? []) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(v.tpid ?? 0x8100, 0);
    tag.writeUInt16BE(v.id, 2);
    parts.push(tag);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(spec.etherType ?? (spec.ip?.version === 6 ? 0x86dd : spec.ip ? 0x0800 : 0x0806), 0);
  parts.push(type);
  const l4 = spec.l4 ? l4Header(spec.l4) : Buffer.alloc(0);
  const payload = Buffer.alloc(spec.payload ?? 0, 0x61);
  const l4Protocol = spec.l4 ? (spec.l4.kind === 'icmp' ? (spec.ip?.version === 6 ? 58 : 1) : L4_PROTOCOL[spec.l4.kind]) : 59;
  if (spec.ip?.version === 4) parts.push(ipv4Header(spec.ip, spec.ip.protocol ?? l4Protocol, l4.length + payload.length));
  if (spec.ip?.version === 6) parts.push(...ipv6Headers(spec.ip, spec.ip.protocol ?? l4Protocol, l4.length + payload.length));
  parts.push(l4, payload);
  return Buffer.concat(parts);
}

function ipv4Header(ip: Ipv4Spec, protocol: number, payloadLength: number): Buffer {
  const options = ip.options ?? 0;
  const h = Buffer.alloc(20 + options);
  h[0] = 0x40 | (ip.ihl ?? (20 + options) / 4);
  h.writeUInt16BE(h.length + payloadLength, 2);
  h.writeUInt16BE(((ip.moreFragments ? 1 : 0) << 13) | ((ip.fragmentOffset ?? 0) / 8), 6);
  h[8] = 64;
  h[9] = protocol;
  addressBytes(ip.src)!.copy(h, 12, 12);
  addressBytes(ip.dst)!.copy(h, 16, 12);
  for (let i = 20; i < h.length; i++) h[i] = 1; // NOP options
  return h;
}

function ipv6Headers(ip: Ipv6Spec, protocol: number, payloadLength: number): Buffer[] {
  const exts = ip.extensions ?? [];
  const extBuffers = exts.map((e, i) => {
    const next = i + 1 < exts.length ? exts[i + 1]!.type : protocol;
    if (e.type === 44) {
      const f = Buffer.alloc(8);
      f[0] = next;
      f.writeUInt16BE((e.fragmentOffset ?? 0) & 0xfff8, 2);
      return f;
    }
    const units = e.length ?? 0;
    const b = Buffer.alloc(e.type === 51 ? (units + 2) * 4 : (units + 1) * 8);
    b[0] = next;
    b[1] = units;
    return b;
  });
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(extBuffers.reduce((n, b) => n + b.length, 0) + payloadLength, 4);
  h[6] = exts.length ? exts[0]!.type : protocol;
  h[7] = 64;
  addressBytes(ip.src)!.copy(h, 8);
  addressBytes(ip.dst)!.copy(h, 24);
  return [h, ...extBuffers];
}

function l4Header(l4: L4Spec): Buffer {
  switch (l4.kind) {
    case 'tcp': {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(l4.src, 0);
      h.writeUInt16BE(l4.dst, 2);
      h[12] = 5 << 4;
      h[13] = l4.flags ?? 0x10;
      return h;
    }
    case 'udp': {
      const h = Buffer.alloc(8);
      h.writeUInt16BE(l4.src, 0);
      h.writeUInt16BE(l4.dst, 2);
      return h;
    }
    case 'icmp': {
      const h = Buffer.alloc(8);
      h[0] = l4.type;
      h[1] = l4.code;
      return h;
    }
  }
}

/** The first `n` bytes of a frame: truncation at any layer. */
export const truncate = (f: Buffer, n: number): Buffer => Buffer.from(f.subarray(0, n));
