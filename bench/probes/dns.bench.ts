/**
 * Benchmarks of the dns probe: the TC program's cost per packet (BPF_PROG_TEST_RUN
 * with repeat, the kernel's own timing) beside an empty TC program, and how many
 * DNS events per second the collector's consumer drains, decodes, matches and
 * exports as OTLP log records to a local sink, without loss.
 */
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import * as dnsPacket from 'dns-packet';
import { sized, summarize, type BenchContext, type BenchSuite, type Figure } from '../types';
import { BpfObject } from '../../core/bpf/object';
import { RingBufferReader } from '../../core/bpf/ringbuf';
import { recordViewReader } from '../../core/bpf/ringbuf-mapped';
import { testRun } from '../../core/bpf/test-run';
import { DnsConsumer } from '../../plugins/dns/consumer';
import { EventDecoder } from '../../plugins/dns/event';
import { dnsFrame } from '../../test/helpers/dns/frames';
import { DNS_OBJECT, eventDirections } from '../../test/helpers/dns/test-records';
import { Telemetry } from '../../core/telemetry/telemetry';
import { MAX_BATCH } from '../../core/telemetry/log-processor';
import { buildResource } from '../../core/telemetry/resource';
import { createLogger } from '../../core/log';
import type { CollectorConfig } from '../../core/config/load';
import type { SinkReport } from '../otlp-sink';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as SdkProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { BatchLogProcessor } from '../../core/telemetry/log-processor';
import { SelfMetrics } from '../../core/telemetry/self-metrics';
import { FailureLog } from '../../core/telemetry/failure-log';
import { PROBE_ID_ATTRIBUTE } from '../../core/telemetry/probe-metrics';
import type { Attributes } from '../../core/plugin/types';

const BASELINE_OBJECT = path.join(__dirname, '..', 'programs', 'dns_baseline.bpf.o');

const CLIENT = { source: '10.9.0.1', sourcePort: 40000, destination: '10.9.0.53', destinationPort: 53 };
const SERVER = { source: '10.9.0.53', sourcePort: 53, destination: '10.9.0.1', destinationPort: 40000 };
const QUERY = dnsPacket.encode({ id: 0x4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'www.example.test', type: 'A' }] });
const RESPONSE = dnsPacket.encode({
  id: 0x4242, type: 'response', flags: 0x8180, questions: [{ name: 'www.example.test', type: 'A' }],
  answers: [
    { name: 'www.example.test', type: 'CNAME', ttl: 60, data: 'web.example.test' },
    { name: 'web.example.test', type: 'A', ttl: 60, data: '192.0.2.10' },
  ],
});
/** A 64-byte frame of ordinary UDP traffic (not on a DNS port): the early-exit path. */
const NON_DNS = dnsFrame({ source: '10.9.0.1', destination: '10.9.0.2', sourcePort: 40000, destinationPort: 443, payload: Buffer.alloc(22) });

function loadDns(ringBytes: number): BpfObject {
  const object = BpfObject.open(DNS_OBJECT);
  object.setKnob('ports', [53]);
  object.setKnob('ports_len', 1);
  object.setMaxEntries('dns_events', ringBytes);
  object.load();
  return object;
}

function loadBaseline(): BpfObject {
  const object = BpfObject.open(BASELINE_OBJECT);
  object.load();
  return object;
}

function dropped(object: BpfObject): number {
  const [entry] = object.map('dns_counters').readDecoded(object.layout('dns_counters'));
  return (entry?.value as { ringbuf_dropped: number } | undefined)?.ringbuf_dropped ?? 0;
}

function figure(name: string, unit: string, values: number[], extra: Partial<Figure> = {}): Figure {
  return { name, unit, ...summarize(values), ...extra };
}

const programCost: BenchSuite = {
  name: 'dns TC program, ns/packet (BPF_PROG_TEST_RUN)',
  kernel: true,
  async run(ctx: BenchContext): Promise<Figure[]> {
    // DNS packets each write a record (dnsRepeat): as many as the ring holds, drained between runs.
    const { runs, repeat, dnsRepeat } = sized(ctx, { runs: [3, 15], repeat: [20_000, 1_000_000], dnsRepeat: [2_000, 20_000] });
    const dns = loadDns(8 << 20);
    const baseline = loadBaseline();
    const reader = new RingBufferReader('dns_events', dns.map('dns_events').fd, () => {});
    try {
      const dnsFd = dns.programFd('dns_ingress');
      const baseFd = baseline.programFd('dns_baseline');
      const query = dnsFrame({ ...CLIENT, payload: QUERY });
      const base: number[] = [];
      const nonDns: number[] = [];
      const nonDnsOwn: number[] = [];
      const baseSmall: number[] = [];
      const dnsCost: number[] = [];
      for (let i = 0; i < runs; i++) {
        // Interleaved, so drift of the machine affects program and baseline alike.
        const b = testRun(baseFd, NON_DNS, repeat).durationNs;
        const n = testRun(dnsFd, NON_DNS, repeat).durationNs;
        base.push(b);
        nonDns.push(n);
        nonDnsOwn.push(Math.max(0, n - b));
        baseSmall.push(testRun(baseFd, query, dnsRepeat).durationNs);
        dnsCost.push(testRun(dnsFd, query, dnsRepeat).durationNs);
        reader.drain();
      }
      const baseMedian = summarize(base).median;
      const baseSmallMedian = summarize(baseSmall).median;
      const lost = dropped(dns);
      ctx.log(`dns program: ${runs} runs of ${repeat} non-DNS and ${dnsRepeat} DNS packets; ring drops ${lost}`);
      return [
        figure('empty TC program (baseline), 64 B UDP', 'ns/packet', base),
        figure('dns, non-DNS 64 B UDP (early exit)', 'ns/packet', nonDns, {
          baseline: { name: 'empty TC program', median: baseMedian }, ratio: summarize(nonDns).median / baseMedian, target: '< 10 ns/packet',
        }),
        figure('dns, non-DNS: own cost above the empty program', 'ns/packet', nonDnsOwn, { target: '< 10 ns/packet' }),
        figure(`dns, DNS query (${QUERY.length} B message copied to the ring)`, 'ns/packet', dnsCost, {
          baseline: { name: 'empty TC program, same frame', median: baseSmallMedian }, ratio: summarize(dnsCost).median / baseSmallMedian,
          note: `ring-buffer drops: ${lost}`,
        }),
      ];
    } finally {
      reader.close();
      dns.close();
      baseline.close();
    }
  },
};

/** A local OTLP/HTTP sink in a child process (bench/otlp-sink.ts) and the cumulative counts it reports. */
async function startSink(): Promise<{ child: ChildProcess; port: number; latest: () => SinkReport; waitFor: (records: number, timeoutMs: number) => Promise<SinkReport> }> {
  const child = fork(path.join(__dirname, '..', 'otlp-sink.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let report: SinkReport = { requests: 0, records: 0, events: {}, droppedAttributes: 0, rejected: 0 };
  let waiter: (() => void) | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`otlp sink exited (${code})`)));
    child.on('message', (m: SinkReport | { port: number }) => {
      if ('port' in m) resolve(m.port);
      else {
        report = m;
        waiter?.();
      }
    });
  });
  const waitFor = (records: number, timeoutMs: number) => new Promise<SinkReport>((resolve) => {
    const timer = setTimeout(() => { waiter = undefined; resolve(report); }, timeoutMs);
    waiter = () => {
      if (report.records < records) return;
      clearTimeout(timer);
      waiter = undefined;
      resolve(report);
    };
    waiter();
  });
  return { child, port, latest: () => report, waitFor };
}

/** The collector's telemetry with one otlp_http exporter (protobuf, the default) taking the dns probe's log records. */
function sinkTelemetry(port: number): Promise<Telemetry> {
  const config = {
    probes: { dns: {} }, extensions: {},
    exporters: { otlp_http: { endpoint: `http://127.0.0.1:${port}`, protocol: 'http/protobuf', headers: {}, max_queue_size: 32768 } },
    service: {
      interval: '10s', intervalMs: 10_000, pipelines: { logs: { probes: ['dns'], exporters: ['otlp_http'], signal: 'logs' } },
      telemetry: { logs: { level: 'warn' }, kernel_stats: false },
    },
  } as unknown as CollectorConfig;
  return Telemetry.start(config, buildResource({}), createLogger('bench'), {});
}

/**
 * For comparison in the same run: the path before this wave, the SDK's Logger.emit
 * (LogRecordImpl) and its OTLPLogExporter with its own protobuf serializer, behind
 * the same log queue.
 */
function sdkLogPath(port: number): { emit: (name: string, attributes: Attributes, body: string) => void; shutdown: () => Promise<void> } {
  const log = createLogger('bench');
  const queue = new BatchLogProcessor(new SdkProtoLogExporter({ url: `http://127.0.0.1:${port}/v1/logs` }), {
    exporterId: 'sdk', probeIds: new Set(['dns']), maxQueueSize: 32768, delayMs: 10_000, timeoutMs: 10_000,
  }, new SelfMetrics(), new FailureLog(log, 'sdk', 10_000), log);
  const provider = new LoggerProvider({ resource: buildResource({}), processors: [queue] });
  const logger = provider.getLogger('netprobe');
  return {
    emit: (eventName, attributes, body) => logger.emit({
      eventName, severityNumber: SeverityNumber.INFO, severityText: 'INFO', attributes: { ...attributes, [PROBE_ID_ATTRIBUTE]: 'dns' }, body,
    }),
    shutdown: () => provider.shutdown(),
  };
}

const consumerThroughput: BenchSuite = {
  name: 'dns consumer, events/s drained and decoded',
  kernel: true,
  async run(ctx: BenchContext): Promise<Figure[]> {
    // Whole export batches (MAX_BATCH exchanges, 2 events each), so no partial batch waits out the batch delay.
    const { runs, pairsPerChunk, chunks } = sized(ctx, { runs: [1, 5], pairsPerChunk: [4 * MAX_BATCH, 20 * MAX_BATCH], chunks: [1, 5] });
    // The probe's default ring size: a chunk (2 records per pair, ~150 bytes each) fits.
    const object = loadDns(4 << 20);
    const sink = await startSink();
    const telemetry = await sinkTelemetry(sink.port);
    const sdk = sdkLogPath(sink.port);
    const decoder = new EventDecoder(object.layout('dns_event'), eventDirections());
    type Mode = 'raw' | 'built' | 'exported' | 'sdk';
    let mode: Mode = 'raw';
    let emitted = 0;
    const consumer = new DnsConsumer(decoder, {
      timeoutNs: 5e9, maxPending: 10_000, nameAttribute: { enabled: false, limit: 100 }, // the default config
      interfaceName: () => 'bench0',
      emit: (name, attributes, body) => {
        emitted++;
        if (mode === 'exported') telemetry.emitEvent('dns', name, attributes, body);
        else if (mode === 'sdk') sdk.emit(name, attributes, body);
      },
    });
    let handled = 0;
    // Read as the probe reads it (plugin.ts, transientRecords): in place, each record a view of the ring.
    const reader = recordViewReader('dns_events', object.map('dns_events').fd, 4 << 20, (record) => {
      handled++;
      if (mode !== 'raw') consumer.handle(record);
    });
    try {
      const fd = object.programFd('dns_egress');
      const fdIn = object.programFd('dns_ingress');
      const query = dnsFrame({ ...CLIENT, payload: QUERY });
      const response = dnsFrame({ ...SERVER, payload: RESPONSE });
      const losses: string[] = [];
      /**
       * Fills the ring with query/response pairs, then times draining it (and, when
       * exporting, until the sink has every record); events/s, or 0 when anything was lost.
       */
      const measure = async (m: Mode): Promise<number> => {
        mode = m;
        let events = 0;
        let ns = 0n;
        const ringDropsBefore = dropped(object);
        const emittedBefore = emitted;
        const sinkBefore = sink.latest();
        for (let c = 0; c < chunks; c++) {
          for (let i = 0; i < pairsPerChunk; i++) {
            testRun(fd, query, 1);
            testRun(fdIn, response, 1);
          }
          const before = handled;
          const started = process.hrtime.bigint();
          while (reader.drain() > 0); // in place, a drain stops at its byte budget
          if (m === 'exported' || m === 'sdk') await sink.waitFor(sinkBefore.records + emitted - emittedBefore, 30_000);
          ns += process.hrtime.bigint() - started;
          events += handled - before;
        }
        const ringDrops = dropped(object) - ringDropsBefore;
        const exchanges = emitted - emittedBefore;
        const lost: string[] = [];
        if (ringDrops) lost.push(`${ringDrops} ring-buffer drops`);
        if (events !== 2 * pairsPerChunk * chunks) lost.push(`drained ${events} of ${2 * pairsPerChunk * chunks} events`);
        if (m !== 'raw' && exchanges !== pairsPerChunk * chunks) lost.push(`${exchanges} of ${pairsPerChunk * chunks} exchanges built`);
        if (m === 'exported' || m === 'sdk') {
          const after = sink.latest();
          const arrived = after.records - sinkBefore.records;
          if (arrived !== exchanges) lost.push(`${exchanges - arrived} of ${exchanges} log records not received`);
          if (after.droppedAttributes !== sinkBefore.droppedAttributes) lost.push(`${after.droppedAttributes - sinkBefore.droppedAttributes} attributes dropped`);
          if (after.rejected !== sinkBefore.rejected) lost.push(`${after.rejected - sinkBefore.rejected} requests rejected`);
        }
        if (lost.length) {
          losses.push(`${m}: ${lost.join(', ')}`);
          return 0;
        }
        return events / (Number(ns) / 1e9);
      };
      const raw: number[] = [];
      const built: number[] = [];
      const exported: number[] = [];
      const viaSdk: number[] = [];
      for (let r = 0; r < runs; r++) {
        raw.push(await measure('raw'));
        built.push(await measure('built'));
        exported.push(await measure('exported'));
        if (r < 3) viaSdk.push(await measure('sdk')); // slow: three runs show it
      }
      const final = sink.latest();
      ctx.log(`dns consumer: ${runs} runs of ${chunks} x ${2 * pairsPerChunk} events per mode; ${emitted} exchanges built; sink got ${final.records} records in ${final.requests} requests; losses: ${losses.join('; ') || 'none'}`);
      for (const loss of losses) ctx.log(`LOSS ${loss}`);
      const rawMedian = summarize(raw).median;
      const lossNote = losses.length ? `; runs with loss count as 0: ${losses.join('; ')}` : '';
      return [
        figure('ring buffer drained in place, no decoding (baseline)', 'events/s', raw),
        figure('dns events drained, decoded, matched, log record built (not exported)', 'events/s', built, {
          baseline: { name: 'drain only', median: rawMedian }, ratio: summarize(built).median / rawMedian,
          note: `ring-buffer drops, events not drained or exchanges not built: 0${lossNote}`,
        }),
        figure('dns events drained, decoded, matched, exported as OTLP/HTTP protobuf log records (all received)', 'events/s', exported, {
          baseline: { name: 'drain only', median: rawMedian }, ratio: summarize(exported).median / rawMedian,
          target: '>= 400000 events/s without loss',
          note: `ring-buffer drops, records the pipeline dropped, attributes dropped and records the sink did not get: 0${lossNote}`,
        }),
        figure('the same through the SDK\'s Logger.emit and OTLPLogExporter (the path before this wave)', 'events/s', viaSdk, {
          baseline: { name: 'netprobe\'s export path', median: summarize(exported).median }, ratio: summarize(viaSdk).median / summarize(exported).median,
          note: `same sink, same checks${lossNote}`,
        }),
      ];
    } finally {
      reader.close();
      object.close();
      await telemetry.shutdown(Date.now() + 5000);
      await sdk.shutdown();
      sink.child.disconnect();
    }
  },
};

export const suites: BenchSuite[] = [programCost, consumerThroughput];
