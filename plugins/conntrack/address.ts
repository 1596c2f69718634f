/** Socket addresses as the kernel program stores them: 16 bytes, IPv4 mapped into IPv6. */
const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

export interface Address {
  text: string;
  /** network.type: `ipv4` for IPv4 and IPv4-mapped IPv6 (IPv4 on the wire), else `ipv6`. */
  type: 'ipv4' | 'ipv6';
}

export function decodeAddress(raw: Buffer): Address {
  if (raw.length !== 16) throw new Error(`address is ${raw.length} bytes, expected 16`);
  if (raw.subarray(0, 12).equals(V4_MAPPED_PREFIX)) {
    return { text: `${raw[12]}.${raw[13]}.${raw[14]}.${raw[15]}`, type: 'ipv4' };
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  return { text: compress(groups.join(':')), type: 'ipv6' };
}

/** RFC 5952: the longest run of two or more zero groups becomes `::`. */
export function compress(full: string): string {
  const groups = full.split(':');
  let best = { at: -1, len: 0 };
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  if (best.len < 2) return groups.join(':');
  const head = groups.slice(0, best.at).join(':');
  const tail = groups.slice(best.at + best.len).join(':');
  return `${head}::${tail}`;
}
