/**
 * IP addresses as the BPF programs store them: 16 bytes, IPv4 as IPv4-mapped IPv6
 * (::ffff:a.b.c.d), so one key layout serves both families.
 */
import net from 'node:net';

/** 16-byte form of an IPv4 or IPv6 address; undefined when it is neither. */
export function addressBytes(text: string): Buffer | undefined {
  if (net.isIPv4(text)) {
    const out = Buffer.alloc(16);
    out[10] = 0xff;
    out[11] = 0xff;
    text.split('.').forEach((part, i) => (out[12 + i] = Number(part)));
    return out;
  }
  if (!net.isIPv6(text)) return undefined;
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (s: string | undefined): number[] => {
    if (!s) return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const v4 = g.split('.').map(Number);
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else groups.push(Number.parseInt(g, 16));
    }
    return groups;
  };
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** True when 16 bytes hold an IPv4-mapped IPv6 address (::ffff:a.b.c.d): IPv4 on the wire. */
export function isIpv4Mapped(bytes: Buffer, offset = 0): boolean {
  if (bytes[offset + 10] !== 0xff || bytes[offset + 11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

export function formatIpv4(bytes: Buffer, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 text (as tshark prints it): the longest run of two or more zero groups, first on a tie, becomes `::`. */
export function formatIpv6(bytes: Buffer, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(offset + i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Text of a 16-byte address: dotted IPv4 for IPv4-mapped addresses, RFC 5952 IPv6 otherwise. */
export function formatAddress(bytes: Buffer, offset = 0): string {
  return isIpv4Mapped(bytes, offset) ? formatIpv4(bytes, offset + 12) : formatIpv6(bytes, offset);
}

/** `10.0.0.0/8` or `fd00::/8` as a 128-bit prefix over the 16-byte form. */
export function parseCidr(text: string): { bytes: Buffer; prefixLength: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const bytes = addressBytes(m[1]!);
  const length = Number(m[2]);
  if (!bytes) return undefined;
  const v4 = net.isIPv4(m[1]!);
  if (length > (v4 ? 32 : 128)) return undefined;
  return { bytes, prefixLength: v4 ? 96 + length : length };
}
