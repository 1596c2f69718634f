/**
 * OTLP/HTTP protobuf log export with a faster serializer for the records probes
 * emit. The SDK's serializer (otlp-transformer) walks every request twice (a size
 * estimate, then the write) and was ~6.7 us per DNS exchange record, more than
 * decoding the DNS messages; this one writes the same bytes in one pass, about
 * 2.4 us for the same record. Requests with a record it does not cover (an attribute or body that is not a string,
 * number or boolean; a span context) go to the SDK's serializer whole, and a
 * test checks that both give identical bytes. Transport, retries, headers,
 * compression and timeouts are the SDK's (createOtlpHttpExportDelegate), exactly
 * as in its OTLPLogExporter.
 */
import { OTLPExporterBase, type OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import { LogsExporterMetricsHelper, ProtobufLogsSerializer, type IExportLogsServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { EventLogRecord } from '../log-record';

// A subpath of the package's exports map, which this project's moduleResolution (node10) does not read: typed from its file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = require('@opentelemetry/otlp-exporter-base/node-http') as typeof import('@opentelemetry/otlp-exporter-base/build/src/index-node-http');

/** A growable buffer with protobuf's wire encodings; lengths are written like the SDK's writer (1 byte reserved, moved when longer). */
class Writer {
  /** Reused from request to request (see RequestWriters). */
  buf = new Uint8Array(1 << 20);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** An unsigned value below 2^32. */
  varint32(v: number): void {
    this.reserve(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** Any integer in int64's range, two's complement when negative (10 bytes), as int64 fields are. */
  varint64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) {
      this.varint32(value);
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    this.reserve(10);
    const buf = this.buf;
    let pos = this.pos;
    while (high > 0 || low > 0x7f) {
      buf[pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[pos++] = low;
    this.pos = pos;
  }

  string(s: string): void {
    const len = s.length;
    this.reserve(len + 5);
    let pos = this.pos;
    // Length first, assuming ASCII (one byte per character), checked while copying.
    const buf = this.buf;
    const lenBytes = len < 0x80 ? 1 : len < 0x4000 ? 2 : 3;
    if (lenBytes === 3) {
      this.utf8(s);
      return;
    }
    const start = pos + lenBytes;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.utf8(s);
        return;
      }
      buf[start + i] = c;
    }
    if (lenBytes === 1) buf[pos] = len;
    else {
      buf[pos] = (len & 0x7f) | 0x80;
      buf[pos + 1] = len >>> 7;
    }
    pos = start + len;
    this.pos = pos;
  }

  private utf8(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.varint32(bytes.length);
    this.raw(bytes);
  }

  /** Bytes already encoded (a field, a record), copied as they are. */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Opens a length-delimited field's body: returns where its length goes. */
  begin(): number {
    this.reserve(1);
    return this.pos++;
  }

  end(at: number): void {
    const length = this.pos - at - 1;
    if (length < 0x80) {
      this.buf[at] = length;
      return;
    }
    const extra = length < 0x4000 ? 1 : length < 0x200000 ? 2 : length < 0x10000000 ? 3 : 4;
    this.reserve(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    this.pos += extra;
    let v = length;
    let p = at;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  fixed64(low: number, high: number): void {
    this.reserve(8);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = low; buf[p + 1] = low >>> 8; buf[p + 2] = low >>> 16; buf[p + 3] = low >>> 24;
    buf[p + 4] = high; buf[p + 5] = high >>> 8; buf[p + 6] = high >>> 16; buf[p + 7] = high >>> 24;
    this.pos = p + 8;
  }

  double(value: number): void {
    this.reserve(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.pos, value, true);
    this.pos += 8;
  }
}

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** A value the fast path does not write (not a string, number or boolean): the request goes to the SDK's serializer. */
class NotCovered extends Error {}
const NOT_COVERED = new NotCovered('not covered');

/** AnyValue of a string, number (int_value when an int64, else double_value) or boolean. */
function anyValue(w: Writer, value: unknown): void {
  if (typeof value === 'string') {
    w.varint32(0x0a); // string_value
    w.string(value);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
      w.varint32(0x18); // int_value
      w.varint64(value);
    } else {
      w.varint32(0x21); // double_value
      w.double(value);
    }
  } else if (typeof value === 'boolean') {
    w.varint32(0x10); // bool_value
    w.varint32(value ? 1 : 0);
  } else throw NOT_COVERED;
}

/**
 * KeyValue.key fields (tag, length, UTF-8) of attribute keys seen so far: keys are
 * few and repeat on every record, so each is encoded once. Bounded, in case a
 * probe ever made keys from data.
 */
const keyFields = new Map<string, Uint8Array>();
const MAX_KEY_FIELDS = 4096;

function keyField(w: Writer, key: string): void {
  let bytes = keyFields.get(key);
  if (!bytes) {
    const start = w.pos;
    w.varint32(0x0a);
    w.string(key);
    if (keyFields.size < MAX_KEY_FIELDS) keyFields.set(key, w.buf.slice(start, w.pos));
    return;
  }
  const n = bytes.length;
  w.reserve(n);
  const buf = w.buf;
  const pos = w.pos;
  for (let i = 0; i < n; i++) buf[pos + i] = bytes[i]!;
  w.pos = pos + n;
}

/** One KeyValue of a repeated `tag` field (tag byte given) of a primitive value. */
function keyValue(w: Writer, tag: number, key: string, value: unknown): void {
  w.varint32(tag);
  const kv = w.begin();
  keyField(w, key);
  w.varint32(0x12); // value
  const v = w.begin();
  anyValue(w, value);
  w.end(v);
  w.end(kv);
}

/** Repeated KeyValue `field` (tag byte given) of primitive values. */
function attributes(w: Writer, tag: number, attrs: Record<string, unknown> | undefined): void {
  for (const key in attrs) keyValue(w, tag, key, attrs[key]);
}

/** LogRecord.attributes (field 6) entry. */
function logAttribute(w: Writer, key: string, value: unknown): void {
  keyValue(w, 0x32, key, value);
}

/** Nanoseconds since the epoch of an HrTime, as fixed64 (split so every product stays exact; as the SDK does). */
function hrTime(w: Writer, t: readonly [number, number]): void {
  const [seconds, nanos] = t;
  const lowerNanos = (seconds & 0xffff) * 1e9;
  const upperNanos = ((seconds / 0x10000) >>> 0) * 1e9;
  const low = (lowerNanos >>> 0) + (((upperNanos & 0xffff) * 0x10000) >>> 0) + nanos;
  const high = (Math.floor(lowerNanos / 0x100000000) + ((upperNanos / 0x10000) >>> 0) + Math.floor(low / 0x100000000)) >>> 0;
  w.fixed64(low >>> 0, high);
}

function logRecord(w: Writer, r: ReadableLogRecord): void {
  if (r.spanContext || (r.body !== undefined && typeof r.body !== 'string')) throw NOT_COVERED;
  w.varint32(0x12); // ScopeLogs.log_records
  const at = w.begin();
  w.varint32(0x09); // time_unix_nano
  hrTime(w, r.hrTime);
  if (r.severityNumber !== undefined && r.severityNumber !== 0) {
    w.varint32(0x10);
    w.varint32(r.severityNumber);
  }
  if (r.severityText) {
    w.varint32(0x1a);
    w.string(r.severityText);
  }
  if (r.body !== undefined) {
    w.varint32(0x2a);
    const b = w.begin();
    anyValue(w, r.body);
    w.end(b);
  }
  // A probe's event is written from the probe's own attributes, without the merged copy.
  if (r instanceof EventLogRecord) r.forEachAttribute(w, logAttribute);
  else attributes(w, 0x32, r.attributes);
  w.varint32(0x38); // dropped_attributes_count, always written
  w.varint32(r.droppedAttributesCount);
  w.varint32(0x59); // observed_time_unix_nano
  hrTime(w, r.hrTimeObserved);
  if (r.eventName) {
    w.varint32(0x62);
    w.string(r.eventName);
  }
  w.end(at);
}

/**
 * Packed records' bytes, reused once every record in it was exported: on the VMs we
 * measured, fresh memory costs a page fault per 4 KiB (0.6-2.4 ms per new MiB against
 * 8-36 us to rewrite a used one), several times the encoding itself at DNS rates.
 */
class Chunk {
  readonly bytes: Uint8Array;
  used = 0;
  /** Records written here and not yet released. */
  live = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }
}

/**
 * A record already written as its LogRecord field (tag, length and bytes) when it
 * was queued: what waits in the queue is a few hundred bytes in a shared chunk
 * instead of an attributes object and its strings, which at DNS rates survived
 * into the old generation and made the garbage collector and the later write
 * cost several times the write itself. Its attributes live only in those bytes:
 * only this module's serializer reads it.
 */
export class EncodedLogRecord implements ReadableLogRecord {
  readonly attributes = NO_ATTRIBUTES;
  readonly hrTime: ReadableLogRecord['hrTime'];
  readonly hrTimeObserved: ReadableLogRecord['hrTimeObserved'];
  readonly severityNumber: ReadableLogRecord['severityNumber'];
  readonly severityText: ReadableLogRecord['severityText'];
  readonly eventName: ReadableLogRecord['eventName'];
  readonly resource: ReadableLogRecord['resource'];
  readonly instrumentationScope: ReadableLogRecord['instrumentationScope'];
  readonly droppedAttributesCount: number;
  /** Its chunk's space may be reused: set once, by LogRecordPacker.release. */
  released = false;

  constructor(r: ReadableLogRecord, readonly chunk: Chunk, readonly start: number, readonly end: number) {
    this.hrTime = r.hrTime;
    this.hrTimeObserved = r.hrTimeObserved;
    this.severityNumber = r.severityNumber;
    this.severityText = r.severityText;
    this.eventName = r.eventName;
    this.resource = r.resource;
    this.instrumentationScope = r.instrumentationScope;
    this.droppedAttributesCount = r.droppedAttributesCount;
  }
}
const NO_ATTRIBUTES = Object.freeze({});

/** The fast path covers a resource or scope whose attributes are all strings, numbers or booleans. */
function coveredAttributes(attrs: Record<string, unknown> | undefined): boolean {
  for (const key in attrs) {
    const t = typeof attrs[key];
    if (t !== 'string' && t !== 'number' && t !== 'boolean') return false;
  }
  return true;
}

/**
 * The first length-delimited field `field` between `from` and `to` (every field
 * on the way to a LogRecord is length-delimited, with a one-byte tag).
 */
function findField(bytes: Uint8Array, from: number, to: number, field: number): { tagAt: number; bodyAt: number; end: number } {
  let pos = from;
  while (pos < to) {
    const tagAt = pos;
    const tag = bytes[pos++]!;
    let len = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = bytes[pos++]!;
      len += (b & 0x7f) * scale;
      if (b < 0x80) break;
    }
    if (tag === ((field << 3) | 2)) return { tagAt, bodyAt: pos, end: pos + len };
    pos += len;
  }
  throw new Error(`field ${field} not found in the SDK's log request`);
}

/** The LogRecord field of one record as the SDK's serializer writes it, cut out of a one-record request. */
function sdkLogRecordField(r: ReadableLogRecord): Uint8Array {
  const bytes = ProtobufLogsSerializer.serializeRequest([r])!;
  // ExportLogsServiceRequest { 1: resource_logs { 2: scope_logs { 2: log_records } } }
  const resourceLogs = findField(bytes, 0, bytes.length, 1);
  const scopeLogs = findField(bytes, resourceLogs.bodyAt, resourceLogs.end, 2);
  const logRecord = findField(bytes, scopeLogs.bodyAt, scopeLogs.end, 2);
  return bytes.slice(logRecord.tagAt, logRecord.end);
}

const scratch = new Writer();

/** Writes one record's LogRecord field: the fast path, else the SDK's own bytes for it. */
function writeRecord(w: Writer, r: ReadableLogRecord): void {
  if (r instanceof EncodedLogRecord) {
    if (r.released) throw new Error('a packed log record was written after its export ended');
    w.raw(r.chunk.bytes.subarray(r.start, r.end));
    return;
  }
  const at = w.pos;
  try {
    logRecord(w, r);
  } catch (err) {
    if (err !== NOT_COVERED) throw err;
    w.pos = at;
    w.raw(sdkLogRecordField(r));
  }
}

/** Queued records packed into chunks of this size: one allocation per few thousand records, and those reused. */
const CHUNK_BYTES = 1 << 20;
/** Emptied chunks kept for reuse; beyond these the garbage collector takes them. */
const MAX_SPARE_CHUNKS = 8;

/**
 * Encodes records as they are queued (see EncodedLogRecord); one per exporter. The
 * exporter releases each record when its export has ended (sent, failed or given up
 * by the SDK, retries included), and a chunk whose records are all released is reused.
 */
export class LogRecordPacker {
  private chunk = new Chunk(CHUNK_BYTES);
  private readonly spare: Chunk[] = [];
  private readonly checked = new WeakSet<object>();

  /** The record as it should wait in the queue: encoded, or as it is when the fast path does not cover it. */
  pack(r: ReadableLogRecord): ReadableLogRecord {
    if (!this.covers(r.resource) || !this.covers(r.instrumentationScope)) return r;
    scratch.pos = 0;
    try {
      logRecord(scratch, r);
    } catch (err) {
      if (err !== NOT_COVERED) throw err;
      return r;
    }
    const n = scratch.pos;
    let chunk = this.chunk;
    if (chunk.used + n > chunk.bytes.length) chunk = this.chunk = this.nextChunk(n);
    chunk.bytes.set(scratch.buf.subarray(0, n), chunk.used);
    const packed = new EncodedLogRecord(r, chunk, chunk.used, chunk.used + n);
    chunk.used += n;
    chunk.live++;
    return packed;
  }

  /** Records whose export has ended: nothing reads their bytes again. */
  release(records: readonly ReadableLogRecord[]): void {
    for (const r of records) {
      if (!(r instanceof EncodedLogRecord) || r.released) continue;
      r.released = true;
      const chunk = r.chunk;
      if (--chunk.live > 0) continue;
      if (chunk === this.chunk) chunk.used = 0;
      else if (chunk.bytes.length === CHUNK_BYTES && this.spare.length < MAX_SPARE_CHUNKS) {
        chunk.used = 0;
        this.spare.push(chunk);
      }
    }
  }

  private nextChunk(n: number): Chunk {
    return (n <= CHUNK_BYTES ? this.spare.pop() : undefined) ?? new Chunk(Math.max(CHUNK_BYTES, n));
  }

  private covers(owner: { attributes?: Record<string, unknown> }): boolean {
    if (this.checked.has(owner)) return true;
    if (!coveredAttributes(owner.attributes)) return false;
    this.checked.add(owner);
    return true;
  }
}

const writer = new Writer();

/** ExportLogsServiceRequest bytes, identical to the SDK serializer's (a copy the caller owns). */
export function serializeLogs(records: readonly ReadableLogRecord[]): Uint8Array {
  return serializeWith(writer, records).slice();
}

/** The request written by `w` (a view of its buffer), or the SDK serializer's bytes for what the fast path does not cover. */
function serializeWith(w: Writer, records: readonly ReadableLogRecord[]): Uint8Array {
  try {
    return write(w, records);
  } catch (err) {
    // Only a resource or scope attribute the fast path does not write; the packer never encodes such records.
    if (err !== NOT_COVERED || records.some((r) => r instanceof EncodedLogRecord)) throw err;
    return ProtobufLogsSerializer.serializeRequest(records as ReadableLogRecord[])!;
  }
}

/** Writes an ExportLogsServiceRequest into `w`; a view of its buffer. */
function write(w: Writer, records: readonly ReadableLogRecord[]): Uint8Array {
  w.pos = 0;
  // Grouped by resource, then scope, in order of first appearance, as the SDK does.
  const groups = new Map<ReadableLogRecord['resource'], Map<ReadableLogRecord['instrumentationScope'], ReadableLogRecord[]>>();
  for (const r of records) {
    let scopes = groups.get(r.resource);
    if (!scopes) groups.set(r.resource, (scopes = new Map()));
    let list = scopes.get(r.instrumentationScope);
    if (!list) scopes.set(r.instrumentationScope, (list = []));
    list.push(r);
  }
  for (const [resource, scopes] of groups) {
    w.varint32(0x0a); // resource_logs
    const rl = w.begin();
    w.varint32(0x0a); // resource
    const res = w.begin();
    attributes(w, 0x0a, resource.attributes);
    w.varint32(0x10); // dropped_attributes_count: 0
    w.varint32(0);
    w.end(res);
    for (const [scope, list] of scopes) {
      w.varint32(0x12); // scope_logs
      const sl = w.begin();
      w.varint32(0x0a); // scope
      const sc = w.begin();
      w.varint32(0x0a);
      w.string(scope.name);
      if (scope.version) {
        w.varint32(0x12);
        w.string(scope.version);
      }
      attributes(w, 0x1a, scope.attributes);
      if (scope.droppedAttributesCount) {
        w.varint32(0x20);
        w.varint32(scope.droppedAttributesCount);
      }
      w.end(sc);
      for (const r of list) writeRecord(w, r);
      if (scope.schemaUrl) {
        w.varint32(0x1a);
        w.string(scope.schemaUrl);
      }
      w.end(sl);
    }
    if (resource.schemaUrl) {
      w.varint32(0x1a);
      w.string(resource.schemaUrl);
    }
    w.end(rl);
  }
  return w.buf.subarray(0, w.pos);
}

/**
 * Emptied request writers kept for reuse: the log queue keeps two requests on the way
 * (log-processor.ts), more only while requests it gave up on are still with the SDK.
 */
const MAX_SPARE_WRITERS = 3;
/** A writer that grew beyond this for one big request is left to the garbage collector. */
const MAX_SPARE_WRITER_BYTES = 4 << 20;

/**
 * The exporter's serializer: each request is written into a writer's reused buffer
 * (not a fresh copy, see Chunk) that stays lent to that request until its export
 * ends. If a backend answers before reading the whole body, the rest of the body may
 * be rewritten by the next request while it is still being sent: the backend has
 * answered already and only skips those bytes.
 */
class RequestWriters implements ISerializer<ReadableLogRecord[], IExportLogsServiceResponse> {
  private readonly spare: Writer[] = [];
  private readonly lent = new Map<readonly ReadableLogRecord[], Writer>();

  serializeRequest(records: ReadableLogRecord[]): Uint8Array {
    // The same batch twice at once (never done by the log queue): the second gets its own writer, not lent.
    if (this.lent.has(records)) return serializeWith(new Writer(), records);
    const w = this.spare.pop() ?? new Writer();
    this.lent.set(records, w); // given back by OtlpProtoLogExporter.export when the export ends, or throws
    return serializeWith(w, records);
  }

  deserializeResponse(data: Uint8Array): IExportLogsServiceResponse {
    return ProtobufLogsSerializer.deserializeResponse(data);
  }

  /** The export of `records` has ended: its writer may write the next request. */
  release(records: readonly ReadableLogRecord[]): void {
    const w = this.lent.get(records);
    if (!w) return;
    this.lent.delete(records);
    if (this.spare.length < MAX_SPARE_WRITERS && w.buf.length <= MAX_SPARE_WRITER_BYTES) this.spare.push(w);
  }
}

/** The SDK's OTLPLogExporter (exporter-logs-otlp-proto), with the serializer above. */
export class OtlpProtoLogExporter extends OTLPExporterBase<ReadableLogRecord[]> implements LogRecordExporter {
  private readonly packer = new LogRecordPacker();
  private readonly writers: RequestWriters;

  /** Called by the log queue as it takes a record (core/telemetry/log-processor.ts). */
  pack(record: ReadableLogRecord): ReadableLogRecord {
    return this.packer.pack(record);
  }

  constructor(config: OTLPExporterNodeConfigBase = {}) {
    const writers = new RequestWriters();
    super(createOtlpHttpExportDelegate(
      convertLegacyHttpOptions(config, 'LOGS', 'v1/logs', { 'Content-Type': 'application/x-protobuf' }),
      writers, 'otlp_http_log_exporter', LogsExporterMetricsHelper, undefined,
    ));
    this.writers = writers;
  }

  /** As the SDK's, then the request's buffer and the records' chunk space are reused (the SDK is done with them). */
  override export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    try {
      super.export(records, (result) => {
        this.release(records);
        resultCallback(result);
      });
    } catch (err) {
      this.release(records); // no request was made, so no callback comes
      throw err;
    }
  }

  /** The export of `records` has ended: nothing reads their request or their bytes again. */
  private release(records: readonly ReadableLogRecord[]): void {
    this.writers.release(records);
    this.packer.release(records);
  }
}
