/**
 * Reading DNS wire format (RFC 1035): names with compression, and the names of
 * types, classes, opcodes and response codes. Every read is bounds-checked and
 * a problem throws WireError with a reason, never anything else.
 */
import { formatIpv4, formatIpv6 } from '../../core/net/address';

export type MalformedReason = 'too_short' | 'tcp_length' | 'bad_count' | 'bad_name' | 'bad_record';

export class WireError extends Error {
  constructor(readonly reason: MalformedReason) {
    super(reason);
  }
}

/** Where the name readName just read ends in the message (past its pointer, if it had one). */
export let nameEnd = 0;

/**
 * Reads a domain name at `offset`. Compression pointers must point strictly
 * before the labels that led to them, so they can never loop, and the name is at
 * most 255 bytes on the wire. Labels are printed as in zone files (RFC 1035 5.1):
 * `.` and `\` escaped, other bytes outside printable ASCII as `\DDD`.
 */
export function readName(buf: Buffer, offset: number): string {
  let name = '';
  let pos = offset;
  let floor = offset;
  let wire = 1; // the root label
  let jumped = false;
  for (;;) {
    if (pos >= buf.length) throw new WireError('bad_name');
    const len = buf[pos]!;
    if (len === 0) {
      if (!jumped) nameEnd = pos + 1;
      return name || '.';
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('bad_name');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= floor) throw new WireError('bad_name');
      if (!jumped) nameEnd = pos + 2;
      jumped = true;
      pos = floor = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new WireError('bad_name'); // 0x40 and 0x80 label types are not in use
    wire += len + 1;
    if (wire > 255 || pos + 1 + len > buf.length) throw new WireError('bad_name');
    name += (name ? '.' : '') + labelText(buf, pos + 1, pos + 1 + len);
    pos += 1 + len;
  }
}

/** Built a character at a time: for labels this short that is faster than a Buffer decode call. */
function labelText(buf: Buffer, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) text += String.fromCharCode(c);
    else if (c === 0x2e || c === 0x5c) text += `\\${String.fromCharCode(c)}`;
    else text += `\\${String(c).padStart(3, '0')}`;
  }
  return text;
}

const TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 17: 'RP', 18: 'AFSDB', 24: 'SIG', 25: 'KEY',
  28: 'AAAA', 29: 'LOC', 33: 'SRV', 35: 'NAPTR', 36: 'KX', 37: 'CERT', 39: 'DNAME', 41: 'OPT', 42: 'APL', 43: 'DS', 44: 'SSHFP',
  45: 'IPSECKEY', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 49: 'DHCID', 50: 'NSEC3', 51: 'NSEC3PARAM', 52: 'TLSA', 53: 'SMIMEA',
  55: 'HIP', 59: 'CDS', 60: 'CDNSKEY', 61: 'OPENPGPKEY', 62: 'CSYNC', 63: 'ZONEMD', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF',
  249: 'TKEY', 250: 'TSIG', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 256: 'URI', 257: 'CAA',
};
const CLASSES: Record<number, string> = { 1: 'IN', 3: 'CH', 4: 'HS', 254: 'NONE', 255: 'ANY' };
const OPCODES: Record<number, string> = { 0: 'QUERY', 1: 'IQUERY', 2: 'STATUS', 4: 'NOTIFY', 5: 'UPDATE', 6: 'DSO' };
const RCODES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET',
  9: 'NOTAUTH', 10: 'NOTZONE', 11: 'DSOTYPENI',
};

/** Mnemonic, or RFC 3597's TYPEnnn for types without one. */
export function typeName(type: number): string {
  return TYPES[type] ?? `TYPE${type}`;
}

/** Whether a type has a mnemonic: only those keep their own metric series. */
export function isKnownType(name: string): boolean {
  return !name.startsWith('TYPE');
}

export function className(klass: number): string {
  return CLASSES[klass] ?? `CLASS${klass}`;
}

export function opcodeName(opcode: number): string {
  return OPCODES[opcode] ?? `OPCODE${opcode}`;
}

export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}

/** Record data as a person would search for it: `192.0.2.1`, `10 mx.example`, `"text" "more"`. */
export function rdataText(buf: Buffer, type: number, at: number, length: number): string {
  const end = at + length;
  switch (type) {
    case 1: // A
      if (length !== 4) throw new WireError('bad_record');
      return formatIpv4(buf, at);
    case 28: // AAAA
      if (length !== 16) throw new WireError('bad_record');
      return formatIpv6(buf, at);
    case 2: case 5: case 12: case 39: // NS, CNAME, PTR, DNAME
      return nameWithin(buf, at, end, true);
    case 15: // MX
      if (length < 3) throw new WireError('bad_record');
      return `${buf.readUInt16BE(at)} ${nameWithin(buf, at + 2, end, true)}`;
    case 33: // SRV
      if (length < 7) throw new WireError('bad_record');
      return `${buf.readUInt16BE(at)} ${buf.readUInt16BE(at + 2)} ${buf.readUInt16BE(at + 4)} ${nameWithin(buf, at + 6, end, true)}`;
    case 6: { // SOA
      const mname = nameWithin(buf, at, end);
      const rname = nameWithin(buf, nameEnd, end);
      if (nameEnd + 20 !== end) throw new WireError('bad_record');
      const n = (i: number) => buf.readUInt32BE(nameEnd + 4 * i);
      return `${mname} ${rname} ${n(0)} ${n(1)} ${n(2)} ${n(3)} ${n(4)}`;
    }
    case 16: case 99: { // TXT, SPF: character strings
      const parts: string[] = [];
      for (let pos = at; pos < end;) {
        const len = buf[pos]!;
        if (pos + 1 + len > end) throw new WireError('bad_record');
        parts.push(`"${buf.toString('latin1', pos + 1, pos + 1 + len)}"`);
        pos += 1 + len;
      }
      return parts.join(' ');
    }
    default:
      return buf.toString('hex', at, end);
  }
}

/**
 * A name inside record data: it must start there (its pointers may lead back into
 * the message) and end within it. RDLENGTH is authoritative: where record data is
 * a name and nothing else, `exact` requires the name to fill it.
 */
function nameWithin(buf: Buffer, at: number, end: number, exact = false): string {
  if (at >= end) throw new WireError('bad_record');
  const name = readName(buf, at);
  if (nameEnd > end || (exact && nameEnd !== end)) throw new WireError('bad_record');
  return name;
}
