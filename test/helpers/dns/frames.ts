/**
 * Test and benchmark support: Ethernet frames carrying DNS over UDP or TCP, IPv4
 * or IPv6, as BPF_PROG_TEST_RUN takes them. Checksums are left zero: the
 * program never looks at them.
 */
import net from 'node:net';

export interface FrameSpec {
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
  tcp?: boolean;
  /** IPv4 options, in 4-byte words (makes the header longer than 20 bytes). */
  ipOptionWords?: number;
  /** TCP header options, in 4-byte words. */
  tcpOptionWords?: number;
  /** IPv4 fragment offset in 8-byte units (non-zero: a later fragment). */
  fragmentOffset?: number;
  payload: Buffer;
}

function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

function ipv6Bytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  const [head, tail = ''] = text.split('::');
  const groups = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head!);
  const t = text.includes('::') ? groups(tail) : [];
  [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t].forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Offset of the transport payload in a frame built by dnsFrame. */
export function payloadOffset(spec: FrameSpec): number {
  const l3 = net.isIPv4(spec.source) ? 20 + 4 * (spec.ipOptionWords ?? 0) : 40;
  const l4 = spec.tcp ? 20 + 4 * (spec.tcpOptionWords ?? 0) : 8;
  return 14 + l3 + l4;
}

export function dnsFrame(spec: FrameSpec): Buffer {
  const v4 = net.isIPv4(spec.source);
  const l4 = spec.tcp ? Buffer.alloc(20 + 4 * (spec.tcpOptionWords ?? 0)) : Buffer.alloc(8);
  l4.writeUInt16BE(spec.sourcePort, 0);
  l4.writeUInt16BE(spec.destinationPort, 2);
  if (spec.tcp) {
    l4.writeUInt32BE(1000, 4); // seq
    l4[12] = (l4.length / 4) << 4; // data offset
    l4[13] = 0x18; // PSH, ACK
    l4.writeUInt16BE(65535, 14);
    for (let i = 20; i < l4.length; i++) l4[i] = 1; // NOP options
  } else {
    l4.writeUInt16BE(8 + spec.payload.length, 4);
  }
  const proto = spec.tcp ? 6 : 17;
  let l3: Buffer;
  if (v4) {
    l3 = Buffer.alloc(20 + 4 * (spec.ipOptionWords ?? 0));
    l3[0] = 0x40 | (l3.length / 4);
    l3.writeUInt16BE(l3.length + l4.length + spec.payload.length, 2);
    l3.writeUInt16BE(spec.fragmentOffset ?? 0, 6);
    l3[8] = 64;
    l3[9] = proto;
    ipv4Bytes(spec.source).copy(l3, 12);
    ipv4Bytes(spec.destination).copy(l3, 16);
    for (let i = 20; i < l3.length; i++) l3[i] = 1; // NOP options
  } else {
    l3 = Buffer.alloc(40);
    l3[0] = 0x60;
    l3.writeUInt16BE(l4.length + spec.payload.length, 4);
    l3[6] = proto;
    l3[7] = 64;
    ipv6Bytes(spec.source).copy(l3, 8);
    ipv6Bytes(spec.destination).copy(l3, 24);
  }
  const eth = Buffer.from('0200000000020200000000010800', 'hex');
  if (!v4) eth.writeUInt16BE(0x86dd, 12);
  return Buffer.concat([eth, l3, l4, spec.payload]);
}
