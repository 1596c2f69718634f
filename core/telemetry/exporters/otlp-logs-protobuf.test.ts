import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { EncodedLogRecord, LogRecordPacker, OtlpProtoLogExporter, serializeLogs } from './otlp-logs-protobuf';
import { EventLogRecord } from '../log-record';
import { buildResource } from '../resource';

const resource = buildResource({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=bench,k8s.node.name=n%C3%A9' });
const tricky = {
  'an ascii string': 'www.example.test', 'unicode': 'é名 😀', 'empty': '', 'long': 'x'.repeat(200), 'very long': 'y'.repeat(20_000),
  'lone surrogate': '\ud800', 'zero': 0, 'port': 53, 'negative': -1, 'big': 2 ** 40, 'big negative': -(2 ** 40) - 7, 'max safe': Number.MAX_SAFE_INTEGER,
  'beyond int64': 2 ** 63, 'int64 min': -(2 ** 63), 'half': 0.5, 'negative double': -1.25e-300, 'nan': Number.NaN, 'infinity': Infinity,
  'true': true, 'false': false, 'ключ': 'значение',
};

/** Ours, from the records as they are and as packed when queued (every other one, so requests mix both), equals the SDK's. */
function sameBytes(records: ReadableLogRecord[]): void {
  const sdk = Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!);
  const packer = new LogRecordPacker();
  const packed = records.map((r) => packer.pack(r));
  const mixed = records.map((r, i) => (i % 2 ? packed[i]! : r));
  for (const [what, input] of [['plain', records], ['packed', packed], ['mixed', mixed]] as const) {
    const ours = Buffer.from(serializeLogs(input));
    assert.equal(ours.length, sdk.length, what);
    assert.ok(ours.equals(sdk), `${what}: byte-identical to the SDK serializer`);
  }
}

test('log records serialize to exactly the bytes of the SDK serializer', () => {
  const records: ReadableLogRecord[] = [
    new EventLogRecord(resource, 'netprobe.dns.exchange', tricky, 'www.example.test A -> NOERROR, 2 answers in 0.012 ms', 'netprobe.probe.id', 'dns'),
    new EventLogRecord(resource, 'netprobe.flow.end', { a: 1 }, undefined, 'netprobe.probe.id', 'flow_stats/eth0'),
    new EventLogRecord(resource, 'netprobe.big', Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, i])), 'é'.repeat(300), 'netprobe.probe.id', 'p'),
    new EventLogRecord(resourceFromAttributes({ 'service.name': 'other' }), '', {}, '', 'netprobe.probe.id', 'p'),
  ];
  // Records of the SDK's own Logger (a LogRecordImpl, other scope, other severities) in the same request.
  const captured: ReadableLogRecord[] = [];
  const logger = new LoggerProvider({ resource, processors: [{ onEmit: (r) => captured.push(r), forceFlush: async () => {}, shutdown: async () => {} }] })
    .getLogger('other.scope', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', attributes: { 'scope.attr': 'v', n: 3 } });
  logger.emit({ eventName: 'e', severityNumber: 17, severityText: 'ERROR', body: 'b', attributes: tricky, timestamp: 1_700_000_000_123.456 });
  logger.emit({ attributes: { x: 'y' }, timestamp: [4_294_967_296, 999_999_999] });
  sameBytes([...records, ...captured, records[0]!]);
  sameBytes(Array.from({ length: 512 }, (_, i) => records[i % 3]!));
  sameBytes([]);
  // Enough packed records to fill several chunks.
  sameBytes(Array.from({ length: 3000 }, (_, i) => new EventLogRecord(resource, 'e', { ...tricky, 'very long': 'short', i }, `body ${i}`, 'netprobe.probe.id', 'p')));
  const packer = new LogRecordPacker();
  assert.ok(packer.pack(records[0]!) instanceof EncodedLogRecord, 'netprobe\'s own records are packed');
});

test('records the fast path does not cover (arrays, objects, bytes, undefined, a span context) go to the SDK serializer', () => {
  const captured: ReadableLogRecord[] = [];
  const logger = new LoggerProvider({ resource, processors: [{ onEmit: (r) => captured.push(r), forceFlush: async () => {}, shutdown: async () => {} }] }).getLogger('s');
  logger.emit({ attributes: { list: ['a', 1, true], map: { k: 'v' }, bytes: new Uint8Array([1, 2]), none: undefined }, body: { structured: 1 } });
  const plain = new EventLogRecord(resource, 'e', { a: 'b' }, 'x', 'netprobe.probe.id', 'p');
  sameBytes([plain, ...captured]);
  assert.equal(new LogRecordPacker().pack(captured[0]!), captured[0], 'a record the fast path does not cover waits as it is');
  sameBytes([{ ...plain, attributes: plain.attributes, spanContext: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 } } as ReadableLogRecord]);
});

test('a chunk\'s space is reused only once every record packed into it was released', () => {
  const packer = new LogRecordPacker();
  const record = (i: number) => new EventLogRecord(resource, 'e', { ...tricky, 'very long': 'z'.repeat(2000), i }, `body ${i}`, 'netprobe.probe.id', 'p');
  const first = Array.from({ length: 2000 }, (_, i) => packer.pack(record(i)) as EncodedLogRecord);
  const firstChunk = first[0]!.chunk;
  const kept = first.filter((r) => r.chunk === firstChunk);
  assert.ok(kept.length > 1 && kept.length < first.length, 'the records fill more than one chunk');
  const survivor = kept[kept.length - 1]!;
  packer.release(first.filter((r) => r !== survivor));
  // The first chunk still holds a record waiting for its export: new records go elsewhere.
  const second = Array.from({ length: 2000 }, (_, i) => packer.pack(record(10_000 + i)) as EncodedLogRecord);
  assert.ok(second.every((r) => r.chunk !== firstChunk), 'a chunk with a live record is not written');
  // The same record as the SDK would write it (its own timestamps: the record was made again).
  const again = record(kept.length - 1);
  const sdkSurvivor = ProtobufLogsSerializer.serializeRequest([{ ...again, attributes: again.attributes, hrTime: survivor.hrTime, hrTimeObserved: survivor.hrTimeObserved } as ReadableLogRecord])!;
  assert.ok(Buffer.from(serializeLogs([survivor])).equals(Buffer.from(sdkSurvivor)), 'the waiting record\'s bytes are intact');
  packer.release([survivor]);
  packer.release(second);
  const third = Array.from({ length: 2000 }, (_, i) => packer.pack(record(20_000 + i)) as EncodedLogRecord);
  const made = new Set([...first, ...second].map((r) => r.chunk));
  assert.ok(third.every((r) => made.has(r.chunk)), 'emptied chunks are reused: no new one is made');
  assert.throws(() => serializeLogs([survivor]), /after its export ended/, 'a released record is never written again');
});

test('requests in flight at once each arrive whole, while their buffers and chunks are reused after each export', async () => {
  const bodies: Buffer[] = [];
  let answered = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    // Answers come late and out of order, so two requests are always on the way together.
    req.on('end', () => setTimeout(() => {
      bodies.push(Buffer.concat(chunks));
      answered++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    }, answered % 2 ? 5 : 30));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const exporter = new OtlpProtoLogExporter({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs` });
  try {
    const expected: string[] = [];
    const exportOnce = (batch: number) => {
      const records = Array.from({ length: 600 }, (_, i) => new EventLogRecord(resource, 'e', { ...tricky, 'very long': `batch ${batch}`, i }, `b${batch}`, 'netprobe.probe.id', 'p'));
      expected.push(Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!).toString('base64'));
      return new Promise<ExportResult>((resolve) => exporter.export(records.map((r) => exporter.pack(r)), resolve));
    };
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all([exportOnce(2 * round), exportOnce(2 * round + 1)]);
      assert.deepEqual(results.map((r) => r.code), [ExportResultCode.SUCCESS, ExportResultCode.SUCCESS]);
    }
    // Each batch arrived once, byte-identical to the SDK's request for it (in whatever order).
    assert.deepEqual(bodies.map((b) => b.toString('base64')).sort(), expected.sort());
  } finally {
    await exporter.shutdown();
    server.close();
  }
});

test('an export whose request cannot be written gives back its writer and its records\' chunk space', async () => {
  const exporter = new OtlpProtoLogExporter({ url: 'http://127.0.0.1:9/v1/logs' }); // never reached
  try {
    const make = (i: number) => exporter.pack(new EventLogRecord(resource, 'e', { i }, 'b', 'netprobe.probe.id', 'p')) as EncodedLogRecord;
    const [a, b] = [make(1), make(2)];
    b.released = true; // a record whose bytes may already be rewritten: writing it throws
    assert.throws(() => exporter.export([a, b], () => assert.fail('no request was made, no callback')), /after its export ended/);
    assert.equal(a.released, true, 'the batch\'s other records are released');
    assert.equal((exporter as unknown as { writers: { lent: Map<unknown, unknown> } }).writers.lent.size, 0, 'the writer is not left lent');
  } finally {
    await exporter.shutdown();
  }
});
