/**
 * Benchmarks of the dns probe: the TC program's cost per packet (BPF_PROG_TEST_RUN
 * with repeat, the kernel's own timing) beside an empty TC program, and how many
 * DNS events per second the collector's consumer drains and decodes.
 */
import path from 'node:path';
import * as dnsPacket from 'dns-packet';
import { sized, summarize, type BenchContext, type BenchSuite, type Figure } from '../types';
import { BpfObject } from '../../core/bpf/object';
import { RingBufferReader } from '../../core/bpf/ringbuf';
import { testRun } from '../../core/bpf/test-run';
import { DnsConsumer } from '../../plugins/dns/consumer';
import { EventDecoder } from '../../plugins/dns/event';
import { dnsFrame } from '../../test/helpers/dns/frames';
import { DNS_OBJECT, eventDirections } from '../../test/helpers/dns/test-records';

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

const consumerThroughput: BenchSuite = {
  name: 'dns consumer, events/s drained and decoded',
  kernel: true,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const { runs, pairsPerChunk, chunks } = sized(ctx, { runs: [1, 5], pairsPerChunk: [2_000, 10_000], chunks: [1, 5] });
    // The probe's default ring size: a chunk (2 records per pair, ~150 bytes each) fits.
    const object = loadDns(4 << 20);
    const decoder = new EventDecoder(object.layout('dns_event'), eventDirections());
    let emitted = 0;
    let handled = 0;
    const consumer = new DnsConsumer(decoder, {
      timeoutNs: 5e9, maxPending: 10_000, nameAttribute: { enabled: false, limit: 100 }, // the default config
      interfaceName: () => 'bench0', emit: () => { emitted++; },
    });
    let mode: 'raw' | 'decode' = 'raw';
    const reader = new RingBufferReader('dns_events', object.map('dns_events').fd, (record) => {
      handled++;
      if (mode === 'decode') consumer.handle(record);
    });
    try {
      const fd = object.programFd('dns_egress');
      const fdIn = object.programFd('dns_ingress');
      const query = dnsFrame({ ...CLIENT, payload: QUERY });
      const response = dnsFrame({ ...SERVER, payload: RESPONSE });
      /** Fills the ring with query/response pairs, then times draining it; returns events/s. */
      const measure = (m: 'raw' | 'decode'): number => {
        mode = m;
        let events = 0;
        let ns = 0n;
        for (let c = 0; c < chunks; c++) {
          for (let i = 0; i < pairsPerChunk; i++) {
            testRun(fd, query, 1);
            testRun(fdIn, response, 1);
          }
          const before = handled;
          const started = process.hrtime.bigint();
          reader.drain();
          ns += process.hrtime.bigint() - started;
          events += handled - before;
        }
        if (events !== 2 * pairsPerChunk * chunks) throw new Error(`drained ${events} of ${2 * pairsPerChunk * chunks} events`);
        return events / (Number(ns) / 1e9);
      };
      const raw: number[] = [];
      const decoded: number[] = [];
      for (let r = 0; r < runs; r++) {
        raw.push(measure('raw'));
        decoded.push(measure('decode'));
      }
      const lost = dropped(object);
      const exchanges = emitted;
      ctx.log(`dns consumer: ${runs} runs of ${chunks} x ${2 * pairsPerChunk} events; ${exchanges} exchanges emitted; ring drops ${lost}`);
      const rawMedian = summarize(raw).median;
      return [
        figure('ring buffer drained, records copied out, no decoding (baseline)', 'events/s', raw),
        figure('dns events drained, decoded, matched, log record built', 'events/s', decoded, {
          baseline: { name: 'drain only', median: rawMedian }, ratio: summarize(decoded).median / rawMedian,
          target: '>= 200000 events/s without loss', note: `ring-buffer drops: ${lost}; log records are built but not exported`,
        }),
      ];
    } finally {
      reader.close();
      object.close();
    }
  },
};

export const suites: BenchSuite[] = [programCost, consumerThroughput];
