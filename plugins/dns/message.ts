/**
 * DNS messages as the probe reports them, decoded with dns-packet (which follows
 * compression pointers only backwards, so a pointer loop cannot spin, and caps
 * names at 255 bytes). Whatever the bytes, decodeMessage returns a result and
 * never throws: a malformed message comes back with the reason it was rejected.
 */
import * as dnsPacket from 'dns-packet';

const HEADER_BYTES = 12;
/** The smallest question: the root name (1 byte), type and class. */
const MIN_QUESTION_BYTES = 5;
/** The smallest resource record: root name, type, class, TTL, RDLENGTH. */
const MIN_RECORD_BYTES = 11;

export interface DnsQuestion { name: string; type: string; class: string }
export interface DnsAnswer { name: string; type: string; data: string }

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: string;
  /** e.g. NOERROR, NXDOMAIN, SERVFAIL (dns-packet's names). */
  rcode: string;
  /** The TC flag: the server truncated the answer (the client should retry over TCP). */
  truncated: boolean;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
  /** ANCOUNT from the header (answers may hold fewer when the capture was cut short). */
  answerCount: number;
  /** The capture limit cut the message: questions are known, answers may be missing. */
  captureTruncated: boolean;
}

/** Why a message was rejected; a small fixed set, so it can be a metric attribute. */
export type MalformedReason = 'too_short' | 'tcp_length' | 'bad_count' | 'bad_name' | 'bad_record';

export type DecodeResult = { ok: true; message: DnsMessage } | { ok: false; reason: MalformedReason };

/**
 * Decodes a captured payload. `payloadLength` is the length on the wire; when the
 * capture holds less, a message that does not decode whole is decoded again for
 * its header and questions only.
 */
export function decodeMessage(payload: Buffer, transport: 'udp' | 'tcp', payloadLength = payload.length): DecodeResult {
  let bytes = payload;
  let wireLength = payloadLength;
  if (transport === 'tcp') {
    // DNS over TCP: a two-byte length, then the message (RFC 1035 4.2.2).
    if (payload.length < 2) return { ok: false, reason: 'tcp_length' };
    const length = payload.readUInt16BE(0);
    if (length < HEADER_BYTES) return { ok: false, reason: 'tcp_length' };
    bytes = payload.subarray(2, 2 + length);
    wireLength = length; // more than we hold when the capture limit or a segment boundary cut it
  }
  if (bytes.length < HEADER_BYTES) return { ok: false, reason: 'too_short' };
  const cut = bytes.length < wireLength;
  // Counts that cannot fit are rejected before decoding: the library would allocate
  // arrays of up to 65535 entries per section first, a cheap way to burn our CPU.
  const body = bytes.length - HEADER_BYTES;
  const questions = bytes.readUInt16BE(4);
  const records = bytes.readUInt16BE(6) + bytes.readUInt16BE(8) + bytes.readUInt16BE(10);
  if (questions * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES <= body) {
    try {
      return { ok: true, message: normalize(dnsPacket.decode(bytes), bytes, false) };
    } catch (err) {
      if (!cut) return { ok: false, reason: classify(err) };
    }
  } else if (!cut) {
    return { ok: false, reason: 'bad_count' };
  }
  // Cut short by the capture limit or a TCP segment: keep the header and questions.
  if (questions * MIN_QUESTION_BYTES > body) return { ok: false, reason: 'bad_count' };
  const headerAndQuestions = Buffer.from(bytes);
  headerAndQuestions.fill(0, 6, HEADER_BYTES); // no answer, authority or additional records
  try {
    return { ok: true, message: normalize(dnsPacket.decode(headerAndQuestions), bytes, true) };
  } catch (err) {
    return { ok: false, reason: classify(err) };
  }
}

function classify(err: unknown): MalformedReason {
  const text = err instanceof Error ? err.message : String(err);
  return /name/i.test(text) ? 'bad_name' : 'bad_record';
}

function normalize(packet: dnsPacket.Packet, bytes: Buffer, captureTruncated: boolean): DnsMessage {
  return {
    id: packet.id ?? 0,
    isResponse: packet.type === 'response',
    opcode: packet.opcode ?? 'QUERY',
    rcode: packet.rcode ?? 'NOERROR',
    truncated: packet.flag_tc === true,
    questions: (packet.questions ?? []).map((q) => ({ name: q.name, type: q.type, class: q.class ?? 'IN' })),
    answers: (packet.answers ?? []).map((a) => ({ name: a.name, type: a.type, data: formatData(a.type, a.data) })),
    answerCount: bytes.readUInt16BE(6),
    captureTruncated,
  };
}

/** Record data as a person would search for it: `10.0.0.1`, `10 mx.example.`, `"text"`. */
export function formatData(type: string, data: unknown): string {
  if (data === undefined || data === null) return '';
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('hex');
  if (Array.isArray(data)) {
    // TXT: character strings
    return data.map((part) => `"${Buffer.isBuffer(part) ? part.toString('latin1') : String(part)}"`).join(' ');
  }
  const d = data as Record<string, unknown>;
  switch (type) {
    case 'MX': return `${d.preference} ${d.exchange}`;
    case 'SRV': return `${d.priority} ${d.weight} ${d.port} ${d.target}`;
    case 'SOA': return `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case 'CAA': return `${d.flags} ${d.tag} "${d.value}"`;
    default: return JSON.stringify(data, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v));
  }
}
