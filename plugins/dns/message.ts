/**
 * DNS messages as the probe reports them: the header, the questions and the
 * answer records (authority and additional records, EDNS0's OPT among them, are
 * counted in the header but not decoded: nothing reported comes from them).
 * Whatever the bytes, decodeMessage returns a result and never throws: a
 * malformed message comes back with the reason it was rejected.
 */
import { WireError, className, nameEnd, opcodeName, rcodeName, rdataText, readName, typeName, type MalformedReason } from './wire';

export type { MalformedReason } from './wire';

const HEADER_BYTES = 12;
/** The smallest question: the root name (1 byte), type and class. */
const MIN_QUESTION_BYTES = 5;
/** The smallest resource record: root name, type, class, TTL, RDLENGTH. */
const MIN_RECORD_BYTES = 11;

export interface DnsQuestion { name: string; type: string; class: string }
export interface DnsAnswer {
  name: string;
  type: string;
  /** Seconds the answer may be cached. */
  ttl: number;
  data: string;
}

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: string;
  /** e.g. NOERROR, NXDOMAIN, SERVFAIL. */
  rcode: string;
  /** The TC flag: the server truncated the answer (the client should retry over TCP). */
  truncated: boolean;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
  /** ANCOUNT from the header (answers may hold fewer when the capture was cut short). */
  answerCount: number;
  /** The capture limit (or a TCP segment boundary) cut the message: answers may be missing. */
  captureTruncated: boolean;
}

export type DecodeResult = { ok: true; message: DnsMessage } | { ok: false; reason: MalformedReason };

/**
 * Decodes a captured payload. `payloadLength` is the length on the wire; when the
 * capture holds less, the answers that are complete are kept.
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
  try {
    return { ok: true, message: parse(bytes, bytes.length < wireLength) };
  } catch (err) {
    if (err instanceof WireError) return { ok: false, reason: err.reason };
    return { ok: false, reason: 'bad_record' }; // not expected: every read is checked
  }
}

function parse(bytes: Buffer, cut: boolean): DnsMessage {
  const flags = bytes.readUInt16BE(2);
  const questionCount = bytes.readUInt16BE(4);
  const answerCount = bytes.readUInt16BE(6);
  const records = answerCount + bytes.readUInt16BE(8) + bytes.readUInt16BE(10);
  // Counts that cannot fit are rejected before any work (unless the capture was cut).
  const body = bytes.length - HEADER_BYTES;
  if (questionCount * MIN_QUESTION_BYTES > body || (!cut && questionCount * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES > body)) {
    throw new WireError('bad_count');
  }
  let pos = HEADER_BYTES;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < questionCount; i++) {
    const name = readName(bytes, pos);
    pos = nameEnd;
    if (pos + 4 > bytes.length) throw new WireError('bad_record');
    questions.push({ name, type: typeName(bytes.readUInt16BE(pos)), class: className(bytes.readUInt16BE(pos + 2)) });
    pos += 4;
  }
  const answers: DnsAnswer[] = [];
  let captureTruncated = false;
  for (let i = 0; i < answerCount; i++) {
    try {
      const name = readName(bytes, pos);
      pos = nameEnd;
      if (pos + 10 > bytes.length) throw new WireError('bad_record');
      const type = bytes.readUInt16BE(pos);
      const length = bytes.readUInt16BE(pos + 8);
      if (pos + 10 + length > bytes.length) throw new WireError('bad_record');
      answers.push({ name, type: typeName(type), ttl: bytes.readUInt32BE(pos + 4), data: rdataText(bytes, type, pos + 10, length) });
      pos += 10 + length;
    } catch (err) {
      if (!cut) throw err;
      captureTruncated = true; // the rest of the answers lie beyond what was captured
      break;
    }
  }
  return {
    id: bytes.readUInt16BE(0),
    isResponse: (flags & 0x8000) !== 0,
    opcode: opcodeName((flags >> 11) & 0xf),
    rcode: rcodeName(flags & 0xf),
    truncated: (flags & 0x0200) !== 0,
    questions,
    answers,
    answerCount,
    captureTruncated: captureTruncated || cut,
  };
}
