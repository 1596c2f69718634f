import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { DataPointType, MeterProvider, MetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ProbeMetricStore, PROBE_ID_ATTRIBUTE } from './probe-metrics';
import { BatchLogProcessor, type LogQueueOptions } from './log-processor';
import { EventLogRecord } from './log-record';
import { VERSION } from '../version';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { MetricExportQueue, METRIC_QUEUE_SNAPSHOTS } from './metric-queue';
import { errorType, exportWithin } from './deadline';
import { SelfMetrics } from './self-metrics';
import { FailureLog } from './failure-log';
import { DebugMetricExporter } from './debug-exporter';
import { otlpUrl } from './telemetry';
import { parseResourceAttributes, buildResource } from './resource';
import { createLogger, type Logger } from '../log';
import type { MetricSpec } from '../plugin/types';

const resource = resourceFromAttributes({ 'service.name': 'test' });
const specs: MetricSpec[] = [
  { name: 'a.count', description: 'a', unit: '{packet}', kind: 'counter', attributes: ['x'] },
  { name: 'a.size', description: 's', unit: 'By', kind: 'histogram', attributes: ['x'] },
  { name: 'a.ratio', description: 'r', unit: '1', kind: 'gauge', valueType: 'double', attributes: [] },
];

async function collect(store: ProbeMetricStore, probes: string[]): Promise<ResourceMetrics> {
  return (await store.producer(new Set(probes)).collect()).resourceMetrics;
}

test('probe values become cumulative OTel data with a stable start time per series', async () => {
  const store = new ProbeMetricStore(resource);
  let sink = store.beginCollect('p/1', specs);
  sink.record('a.count', { x: 'eth0' }, 5);
  sink.record('a.size', { x: 'eth0' }, { boundaries: [10, 20], counts: [1, 2, 3], sum: 100, count: 6 });
  sink.record('a.ratio', {}, 0.5);
  sink.commit();
  const first = await collect(store, ['p/1']);
  const count1 = first.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'a.count')!;
  assert.equal(count1.dataPointType, DataPointType.SUM);
  assert.equal(count1.dataPoints[0]!.value, 5);
  assert.equal(count1.dataPoints[0]!.attributes[PROBE_ID_ATTRIBUTE], 'p/1');
  const hist = first.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'a.size')!;
  assert.deepEqual(hist.dataPoints[0]!.value, { buckets: { boundaries: [10, 20], counts: [1, 2, 3] }, sum: 100, count: 6 });

  await new Promise((r) => setTimeout(r, 5));
  sink = store.beginCollect('p/1', specs);
  sink.record('a.count', { x: 'eth0' }, 9);
  sink.commit();
  const second = await collect(store, ['p/1']);
  const metrics = second.scopeMetrics[0]!.metrics;
  assert.deepEqual(metrics.map((m) => m.descriptor.name), ['a.count'], 'series not reported again are forgotten');
  assert.deepEqual(metrics[0]!.dataPoints[0]!.startTime, count1.dataPoints[0]!.startTime);
  assert.equal(metrics[0]!.dataPoints[0]!.value, 9);
});

test('a probe started again on new interfaces carries its counters and histograms on; a vanished series ends', async () => {
  const store = new ProbeMetricStore(resource);
  let sink = store.beginCollect('p/1', specs);
  sink.record('a.count', { x: 'eth0' }, 5);
  sink.record('a.count', { x: 'veth1' }, 7);
  sink.record('a.size', { x: 'eth0' }, { boundaries: [10, 20], counts: [1, 2, 3], sum: 100, count: 6 });
  sink.record('a.ratio', {}, 0.5);
  sink.commit();
  store.carryOver('p/1');
  // The new instance's kernel counters start at zero; veth1 is gone.
  sink = store.beginCollect('p/1', specs);
  sink.record('a.count', { x: 'eth0' }, 2);
  sink.record('a.size', { x: 'eth0' }, { boundaries: [10, 20], counts: [0, 1, 0], sum: 15, count: 1 });
  sink.record('a.ratio', {}, 0.25);
  sink.commit();
  for (let round = 0; round < 2; round++) { // the base stays for every later collection
    const metrics = (await collect(store, ['p/1'])).scopeMetrics[0]!.metrics;
    const count = metrics.find((m) => m.descriptor.name === 'a.count')!;
    assert.deepEqual(count.dataPoints.map((p) => [p.attributes.x, p.value]), [['eth0', 7 + round]]);
    assert.deepEqual(metrics.find((m) => m.descriptor.name === 'a.size')!.dataPoints[0]!.value,
      { buckets: { boundaries: [10, 20], counts: [1, 3 + round, 3] }, sum: 115 + round * 15, count: 7 + round });
    assert.equal(metrics.find((m) => m.descriptor.name === 'a.ratio')!.dataPoints[0]!.value, 0.25, 'a gauge is not carried');
    sink = store.beginCollect('p/1', specs);
    sink.record('a.count', { x: 'eth0' }, 3);
    sink.record('a.size', { x: 'eth0' }, { boundaries: [10, 20], counts: [0, 2, 0], sum: 30, count: 2 });
    sink.record('a.ratio', {}, 0.25);
    sink.commit();
  }
});

test('each exporter sees only the probes routed to it', async () => {
  const store = new ProbeMetricStore(resource);
  for (const id of ['p/1', 'p/2']) {
    const sink = store.beginCollect(id, specs);
    sink.record('a.count', { x: id }, 1);
    sink.commit();
  }
  const only2 = await collect(store, ['p/2']);
  assert.deepEqual(only2.scopeMetrics[0]!.metrics[0]!.dataPoints.map((p) => p.attributes.x), ['p/2']);
});

test('a metric the probe did not declare is refused', () => {
  const store = new ProbeMetricStore(resource);
  const sink = store.beginCollect('p/1', specs);
  assert.throws(() => sink.record('b.undeclared', {}, 1), /does not declare/);
});

class StuckExporter implements LogRecordExporter {
  exported: ReadableLogRecord[][] = [];
  pending: Array<(r: ExportResult) => void> = [];
  constructor(private readonly result?: ExportResult) {}
  export(records: ReadableLogRecord[], done: (r: ExportResult) => void): void {
    this.exported.push(records);
    if (this.result) done(this.result);
    else this.pending.push(done);
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

/** Answers every export successfully on the next turn of the event loop, like a fast local backend. */
class PromptExporter implements LogRecordExporter {
  received = 0;
  export(records: ReadableLogRecord[], done: (r: ExportResult) => void): void {
    setImmediate(() => {
      this.received += records.length;
      done({ code: ExportResultCode.SUCCESS });
    });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

class ManualReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Self-metrics through a real MeterProvider, read back by a manual reader. */
function selfMetrics(): { self: SelfMetrics; reader: ManualReader } {
  const reader = new ManualReader();
  const self = new SelfMetrics();
  self.bind(new MeterProvider({ readers: [reader] }).getMeter('test'));
  return { self, reader };
}

/** Sum of a metric's points, optionally only those whose attributes include `where`. */
async function sumOf(reader: ManualReader, name: string, where: Record<string, string> = {}): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  let total = 0;
  for (const s of resourceMetrics.scopeMetrics) {
    for (const m of s.metrics) {
      if (m.descriptor.name !== name) continue;
      for (const p of m.dataPoints) if (Object.entries(where).every(([k, v]) => p.attributes[k] === v)) total += p.value as number;
    }
  }
  return total;
}

const quietLog = createLogger('test');

function logQueue(exporter: LogRecordExporter, self: SelfMetrics, options: Partial<LogQueueOptions> = {}, log: Logger = quietLog) {
  const o: LogQueueOptions = { exporterId: 'x', probeIds: new Set(['p/1']), maxQueueSize: 100, delayMs: 60_000, timeoutMs: 60_000, ...options };
  return new BatchLogProcessor(exporter, o, self, new FailureLog(log, o.exporterId, 60_000), log);
}

test('a stuck backend bounds the log queue and counts every dropped record', async (t) => {
  const { self, reader } = selfMetrics();
  const exporter = new StuckExporter();
  const processor = logQueue(exporter, self, { exporterId: 'otlp_http' });
  t.after(() => {
    for (const done of exporter.pending) done({ code: ExportResultCode.SUCCESS });
  });
  const logger = new LoggerProvider({ resource, processors: [processor] }).getLogger('t');
  for (let i = 0; i < 1000; i++) logger.emit({ eventName: 'e', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/1', i } });
  logger.emit({ eventName: 'other-probe', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/9' } });
  // The queue filled to 100 before a batch could start; the rest was dropped and counted by event name.
  const inFlight = exporter.exported.flat().length;
  const dropped = await sumOf(reader, 'netprobe.exporter.enqueue_failed', { signal: 'logs', 'netprobe.event.name': 'e' });
  const queued = await sumOf(reader, 'netprobe.exporter.queue.size', { signal: 'logs' });
  assert.ok(queued <= 100, `queue grew to ${queued}`);
  assert.equal(inFlight + queued + dropped, 1000, 'every record is exported, queued or counted as dropped');
  assert.ok(dropped >= 900);
  assert.ok(exporter.exported.flat().every((r) => r.attributes[PROBE_ID_ATTRIBUTE] === 'p/1'));
});

test('log records are exported in batches as they come: a fast backend loses none of a steady flood', async () => {
  const { self, reader } = selfMetrics();
  const exporter = new PromptExporter();
  // The timer is a minute: only full batches, chained one after another, can keep up.
  const processor = logQueue(exporter, self, { maxQueueSize: 2048 });
  const logger = new LoggerProvider({ resource, processors: [processor] }).getLogger('t');
  const bursts = 30;
  for (let b = 0; b < bursts; b++) {
    for (let i = 0; i < 1000; i++) logger.emit({ eventName: 'e', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/1', i } });
    await new Promise((r) => setTimeout(r, 10)); // like a ring buffer drained on a timer: 100,000 records/s
  }
  assert.ok(await processor.flushUntil(Date.now() + 10_000));
  assert.equal(await sumOf(reader, 'netprobe.exporter.enqueue_failed'), 0);
  assert.equal(exporter.received, bursts * 1000);
  assert.equal(await sumOf(reader, 'netprobe.exporter.sent', { signal: 'logs' }), bursts * 1000);
});

test('a partial batch waits at most delayMs', async () => {
  const { self } = selfMetrics();
  const exporter = new PromptExporter();
  const processor = logQueue(exporter, self, { delayMs: 50 });
  const logger = new LoggerProvider({ resource, processors: [processor] }).getLogger('t');
  for (let i = 0; i < 3; i++) logger.emit({ eventName: 'e', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/1' } });
  for (let i = 0; i < 100 && exporter.received < 3; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(exporter.received, 3);
});

test('failed log exports are counted as send_failed with their error.type', async () => {
  const { self, reader } = selfMetrics();
  const exporter = new StuckExporter({ code: ExportResultCode.FAILED, error: Object.assign(new Error('down'), { code: 'ECONNREFUSED' }) });
  const processor = logQueue(exporter, self);
  const logger = new LoggerProvider({ resource, processors: [processor] }).getLogger('t');
  for (let i = 0; i < 7; i++) logger.emit({ eventName: 'e', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/1' } });
  await processor.forceFlush();
  assert.equal(await sumOf(reader, 'netprobe.exporter.send_failed', { 'error.type': 'ECONNREFUSED' }), 7);
  await processor.shutdown();
  await processor.shutdown(); // safe twice
});

test('an export that never answers fails at the deadline, counted as error.type=timeout', async () => {
  const { self, reader } = selfMetrics();
  const exporter = new StuckExporter();
  const processor = logQueue(exporter, self, { timeoutMs: 100 });
  const logger = new LoggerProvider({ resource, processors: [processor] }).getLogger('t');
  for (let i = 0; i < 5; i++) logger.emit({ eventName: 'e', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/1' } });
  const started = Date.now();
  assert.ok(await processor.flushUntil(Date.now() + 5_000), 'the stuck export was given up');
  assert.ok(Date.now() - started < 2_000);
  assert.equal(await sumOf(reader, 'netprobe.exporter.send_failed', { 'error.type': 'timeout' }), 5);
});

test('at shutdown what cannot be sent by the deadline is counted and logged by event name', async () => {
  const { self, reader } = selfMetrics();
  const exporter = new StuckExporter();
  const lines: string[] = [];
  const log: Logger = { ...quietLog, warn: (msg, fields) => lines.push(`${msg} ${JSON.stringify(fields)}`), child: () => log };
  const processor = logQueue(exporter, self, { maxQueueSize: 5000 }, log);
  const logger = new LoggerProvider({ resource, processors: [processor] }).getLogger('t');
  for (let i = 0; i < 700; i++) logger.emit({ eventName: 'netprobe.flow.end', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/1' } });
  for (let i = 0; i < 30; i++) logger.emit({ eventName: 'netprobe.dns.exchange', attributes: { [PROBE_ID_ATTRIBUTE]: 'p/1' } });
  const started = Date.now();
  await processor.close(Date.now() + 300);
  assert.ok(Date.now() - started < 1_500, 'shutdown kept its deadline');
  assert.equal(await sumOf(reader, 'netprobe.exporter.enqueue_failed', { 'netprobe.event.name': 'netprobe.flow.end' }), 700);
  assert.equal(await sumOf(reader, 'netprobe.exporter.enqueue_failed', { 'netprobe.event.name': 'netprobe.dns.exchange' }), 30);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /"records":730/);
  assert.match(lines[0]!, /"netprobe.flow.end":700/);
  // The late answer to the abandoned batch is not counted a second time.
  for (const done of exporter.pending) done({ code: ExportResultCode.SUCCESS });
  assert.equal(await sumOf(reader, 'netprobe.exporter.sent'), 0);
});

/** A metric exporter that holds every export until released. */
class HeldMetricExporter implements PushMetricExporter {
  pending: Array<(r: ExportResult) => void> = [];
  exported: ResourceMetrics[] = [];
  export(metrics: ResourceMetrics, done: (r: ExportResult) => void): void {
    this.exported.push(metrics);
    this.pending.push(done);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

test('metric snapshots queue per exporter, bounded: a held backend never makes enqueueing wait', async () => {
  const { self, reader } = selfMetrics();
  const store = new ProbeMetricStore(resource);
  const exporter = new HeldMetricExporter();
  const queue = new MetricExportQueue(exporter, 'held', 60_000, self, new FailureLog(quietLog, 'held', 60_000), [store.producer(new Set(['p/1']))]);
  new MeterProvider({ readers: [queue] });
  for (let i = 1; i <= 10; i++) {
    const sink = store.beginCollect('p/1', specs);
    sink.record('a.count', { x: 'eth0' }, i);
    sink.commit();
    await queue.enqueueSnapshot(); // resolves although the backend holds the first export
  }
  assert.equal(exporter.exported.length, 1, 'one export in flight');
  assert.equal(await sumOf(reader, 'netprobe.exporter.queue.size', { signal: 'metrics' }), METRIC_QUEUE_SNAPSHOTS);
  assert.equal(await sumOf(reader, 'netprobe.exporter.enqueue_failed', { signal: 'metrics' }), 10 - 1 - METRIC_QUEUE_SNAPSHOTS);
  // Released, the queue sends its snapshots in order, ending with the latest totals.
  while (exporter.pending.length) {
    exporter.pending.shift()!({ code: ExportResultCode.SUCCESS });
    await new Promise((r) => setImmediate(r));
  }
  const last = exporter.exported.at(-1)!.scopeMetrics[0]!.metrics[0]!.dataPoints[0]!.value;
  assert.equal(last, 10);
  assert.equal(exporter.exported.length, 1 + METRIC_QUEUE_SNAPSHOTS);
});

test('exportWithin gives up at its deadline and ignores the late answer', async () => {
  let late: ((r: ExportResult) => void) | undefined;
  const started = Date.now();
  const result = await exportWithin(50, (done) => (late = done));
  assert.ok(Date.now() - started < 1000);
  assert.equal(result.code, ExportResultCode.FAILED);
  assert.equal(errorType(result.error), 'timeout');
  late!({ code: ExportResultCode.SUCCESS }); // no effect, no throw
  assert.equal((await exportWithin(50, () => { throw new Error('sync'); })).code, ExportResultCode.FAILED);
});

test('the debug exporter prints each point with verbosity normal', async () => {
  const store = new ProbeMetricStore(resource);
  const sink = store.beginCollect('p/1', specs);
  sink.record('a.count', { x: 'eth0' }, 5);
  sink.commit();
  const metrics = await collect(store, ['p/1']);
  const lines: string[] = [];
  new DebugMetricExporter('d', { verbosity: 'normal' }, (l) => lines.push(l)).export(metrics, (r) => assert.equal(r.code, ExportResultCode.SUCCESS));
  assert.deepEqual(lines, ['d: metrics: 1 metrics, 1 data points', '  a.count{x=eth0, netprobe.probe.id=p/1} 5 {packet}']);
});

test('the debug exporter at basic prints a network summary: rates since the start, flows with the peer name', async () => {
  const store = new ProbeMetricStore(resource);
  const flowSpecs = [
    { name: 'netprobe.traffic.io', description: '', unit: 'By', kind: 'counter', attributes: [] },
    { name: 'netprobe.flow.io', description: '', unit: 'By', kind: 'gauge', attributes: [] },
    { name: 'netprobe.flow.packet.count', description: '', unit: '{packet}', kind: 'gauge', attributes: [] },
  ] as const;
  const sink = store.beginCollect('flow_stats', flowSpecs);
  sink.record('netprobe.traffic.io', { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }, 1_000_000);
  const flowAttrs = {
    'network.interface.name': 'eth0', 'network.io.direction': 'receive', 'network.transport': 'udp',
    'source.address': '192.0.2.1', 'source.port': 53, 'destination.address': '10.0.0.2', 'destination.port': 4000, 'netprobe.peer.name': 'ns.example',
  };
  sink.record('netprobe.flow.io', flowAttrs, 1_000_000);
  sink.record('netprobe.flow.packet.count', flowAttrs, 1000);
  sink.commit();
  const metrics = await collect(store, ['flow_stats']);
  const lines: string[] = [];
  new DebugMetricExporter('d', { verbosity: 'basic' }, (l) => lines.push(l)).export(metrics, (r) => assert.equal(r.code, ExportResultCode.SUCCESS));
  assert.match(lines[0]!, /^d: network over the last \d+\.\ds:$/);
  assert.match(lines[1]!, /^d:   eth0: rx \S+b\/s \S+\/s pkt$/);
  assert.equal(lines[2], 'd:   top flows (tx/rx):');
  assert.match(lines[3]!, /^d:     udp 10\.0\.0\.2:4000 <-> ns\.example \(192\.0\.2\.1:53\)  0b\/s \/ \S+b\/s$/);
  assert.equal(lines.length, 4);
});

test('OTLP URLs follow the config, then the OTEL_EXPORTER_OTLP_* variables', () => {
  const base = { protocol: 'http/protobuf', headers: {}, timeout: '10s', compression: 'none', max_queue_size: 1 } as const;
  assert.equal(otlpUrl({ ...base, endpoint: 'http://vm:8428/opentelemetry/' }, 'metrics', {}), 'http://vm:8428/opentelemetry/v1/metrics');
  assert.equal(otlpUrl(base, 'logs', {}), 'http://localhost:4318/v1/logs');
  assert.equal(otlpUrl(base, 'logs', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4318' }), 'https://c:4318/v1/logs');
  assert.equal(otlpUrl(base, 'metrics', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m/x' }), 'http://m/x');
  assert.equal(otlpUrl({ ...base, endpoint: 'http://cfg' }, 'metrics', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m/x' }), 'http://cfg/v1/metrics');
});

test('resource attributes: defaults, OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME', () => {
  assert.deepEqual(parseResourceAttributes('a=1, b=x%20y,bad,=z'), { a: '1', b: 'x y' });
  const r = buildResource({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=fromattrs' });
  assert.equal(r.attributes['service.name'], 'fromattrs');
  assert.equal(r.attributes['deployment.environment'], 'prod');
  assert.ok(r.attributes['host.name']);
  assert.ok(r.attributes['service.instance.id']);
  assert.ok(r.attributes['service.version']);
  assert.equal(buildResource({ OTEL_SERVICE_NAME: 'edge', OTEL_RESOURCE_ATTRIBUTES: 'service.name=x' }).attributes['service.name'], 'edge');
  assert.equal(buildResource({}).attributes['service.name'], 'netprobe');
});

test('export failures are logged at once, then with a doubling gap, and the gap starts over after a quiet spell', () => {
  const logged: Array<Record<string, unknown> | undefined> = [];
  const log = { ...createLogger('test'), warn: (_m: string, f?: Record<string, unknown>) => void logged.push(f) };
  let now = 1_000_000;
  const failures = new FailureLog(log, 'otlp_http', 10_000, () => now);
  // A dead backend: one failure per 10 s interval for 5 minutes.
  const at: number[] = [];
  for (let i = 0; i < 30; i++, now += 10_000) {
    const before = logged.length;
    failures.failed('metrics', 1, new Error('ECONNREFUSED'));
    if (logged.length > before) at.push(i);
  }
  assert.deepEqual(at, [0, 1, 3, 7, 15], 'gaps of 1, 2, 4, 8 intervals');
  assert.equal(logged[4]!.failures_since_last_report, 7);
  now += 10 * 60_000; // the backend came back; later it fails again
  failures.failed('metrics', 1, new Error('ECONNREFUSED'));
  assert.equal(logged.length, 6);
  assert.equal(logged[5]!.next_report_in_s, 10);
});

test('an event log record has the content the SDK Logger.emit gives it', async () => {
  const attributes = { 'a.string': 'x', 'a.int': 53, 'a.double': 0.5, 'a.bool': false, '': 'dropped by the SDK' };
  const captured: ReadableLogRecord[] = [];
  const capture = { onEmit: (r: ReadableLogRecord) => captured.push(r), forceFlush: async () => {}, shutdown: async () => {} };
  const sdk = new LoggerProvider({ resource, processors: [capture] }).getLogger('netprobe', VERSION);
  for (const [attrs, body] of [[attributes, 'a body'], [Object.fromEntries(Array.from({ length: 140 }, (_, i) => [`k${i}`, i])), undefined]] as const) {
    const before = Date.now();
    sdk.emit({ eventName: 'netprobe.test', severityNumber: SeverityNumber.INFO, severityText: 'INFO', attributes: { ...attrs, [PROBE_ID_ATTRIBUTE]: 'p/1' }, body });
    const ours = new EventLogRecord(resource, 'netprobe.test', attrs, body, PROBE_ID_ATTRIBUTE, 'p/1');
    const theirs = captured.pop()!;
    const after = Date.now();
    for (const r of [ours, theirs]) {
      const ms = r.hrTime[0] * 1000 + r.hrTime[1] / 1e6;
      assert.ok(ms >= before && ms <= after, 'the emit time, in ms');
      assert.deepEqual(r.hrTimeObserved, r.hrTime);
    }
    const content = (r: ReadableLogRecord) => ({
      eventName: r.eventName, body: r.body, severityNumber: r.severityNumber, severityText: r.severityText, spanContext: r.spanContext,
      resource: r.resource, droppedAttributesCount: r.droppedAttributesCount,
      scope: { name: r.instrumentationScope.name, version: r.instrumentationScope.version, schemaUrl: r.instrumentationScope.schemaUrl },
      // In order: the serializer writes them as it iterates.
      attributes: Object.entries(r.attributes),
    });
    assert.deepEqual(content(ours), content(theirs));
  }
});

test('at most two log batches are on the way at once; the next goes when one is answered', async () => {
  const { self } = selfMetrics();
  const exporter = new PromptlessExporter();
  const processor = logQueue(exporter, self, { maxQueueSize: 5000 });
  for (let i = 0; i < 4 * 512; i++) processor.offer(new EventLogRecord(resource, 'e', { i }, undefined, PROBE_ID_ATTRIBUTE, 'p/1'));
  assert.deepEqual(exporter.exported.map((b) => b.length), [512, 512], 'two full batches sent, two waiting');
  exporter.answerOne();
  await new Promise((r) => setImmediate(r));
  assert.equal(exporter.exported.length, 3, 'an answer lets the next batch go');
  exporter.answerAll = true;
  while (exporter.pending.length) exporter.answerOne();
  assert.ok(await processor.flushUntil(Date.now() + 5_000));
  assert.equal(exporter.exported.flat().length, 4 * 512);
});

/** Holds each export until answerOne(), or answers at once once answerAll is set. */
class PromptlessExporter implements LogRecordExporter {
  exported: ReadableLogRecord[][] = [];
  pending: Array<(r: ExportResult) => void> = [];
  answerAll = false;
  export(records: ReadableLogRecord[], done: (r: ExportResult) => void): void {
    this.exported.push(records);
    if (this.answerAll) done({ code: ExportResultCode.SUCCESS });
    else this.pending.push(done);
  }
  answerOne(): void {
    this.pending.shift()?.({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}
