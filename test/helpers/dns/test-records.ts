/**
 * Test support: ring-buffer records as the kernel program writes them, built with
 * the layout from the object's BTF (so tests cannot drift from dns.h either).
 */
import path from 'node:path';
import net from 'node:net';
import { openProbeObject } from '../../../core/plugin/object';
import type { EnumLabels, StructLayout } from '../../../core/plugin';
import { EventDecoder } from '../../../plugins/dns/event';

export const DNS_OBJECT = path.join(__dirname, '..', '..', '..', 'plugins', 'dns', 'dns.bpf.o');

/** struct dns_event's layout, read without loading anything into the kernel. */
export function eventLayout(): StructLayout {
  return fromBtf().layout;
}

let btf: { layout: StructLayout; directions: EnumLabels } | undefined;
function fromBtf(): { layout: StructLayout; directions: EnumLabels } {
  if (!btf) {
    const spec = openProbeObject(DNS_OBJECT);
    try {
      btf = { layout: spec.layout('dns_event'), directions: spec.enum('dns_direction').labels('DNS_') };
    } finally {
      spec.close();
    }
  }
  return btf;
}

/** enum dns_direction's labels (dir_ingress, dir_egress), from BTF. */
export function eventDirections(): EnumLabels {
  return fromBtf().directions;
}

/** The plugin's decoder, built on the object's BTF as the plugin builds it. */
export function eventDecoder(): EventDecoder {
  return new EventDecoder(eventLayout(), eventDirections());
}

export interface RecordFields {
  timestampNs: number;
  ifindex?: number;
  egress?: boolean;
  tcp?: boolean;
  source: string;
  sourcePort: number;
  destination: string;
  destinationPort: number;
  payload: Buffer;
  payloadLength?: number;
}

function addressBytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  if (net.isIPv4(text)) {
    Buffer.from(text.split('.').map(Number)).copy(out);
    return out;
  }
  const [head, tail = ''] = text.split('::');
  const groups = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head!);
  const t = text.includes('::') ? groups(tail) : [];
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function buildRecord(layout: StructLayout, f: RecordFields): Buffer {
  const at = (name: string) => layout.field(name).offset;
  const rec = Buffer.alloc(layout.size + f.payload.length);
  rec.writeBigUInt64LE(BigInt(f.timestampNs), at('timestamp'));
  rec.writeUInt32LE(f.ifindex ?? 1, at('ifindex'));
  rec[at('direction')] = eventDirections().value(f.egress ? 'dir_egress' : 'dir_ingress');
  rec[at('family')] = net.isIPv4(f.source) ? 4 : 6;
  rec[at('transport')] = f.tcp ? 6 : 17;
  addressBytes(f.source).copy(rec, at('saddr'));
  addressBytes(f.destination).copy(rec, at('daddr'));
  rec.writeUInt16LE(f.sourcePort, at('sport'));
  rec.writeUInt16LE(f.destinationPort, at('dport'));
  rec.writeUInt16LE(f.payloadLength ?? f.payload.length, at('payload_len'));
  rec.writeUInt16LE(f.payload.length, at('captured'));
  f.payload.copy(rec, layout.size);
  return rec;
}

/** A deterministic PRNG (mulberry32), so a failing fuzz case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
