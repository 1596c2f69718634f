/**
 * conntrack benchmarks:
 *  - close events drained from the ring buffer and decoded, end to end, from real
 *    TCP connections between test namespaces (and that none was lost);
 *  - the same decoding alone, on one recorded event, against plain struct decoding;
 *  - collect() with many open connections: the table filled from userspace with
 *    synthetic entries, against the bare batched read it is built on.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { summarize, type BenchContext, type BenchSuite, type Figure } from '../types';
import { BpfObject } from '../../core/bpf/object';
import { attachCgroup } from '../../core/bpf/link';
import { RingBufferReader } from '../../core/bpf/ringbuf';
import { openProbeObject } from '../../core/plugin/object';
import { ProbeRunner } from '../../core/plugin/runner';
import { createLogger } from '../../core/log';
import { TestNet } from '../../test/helpers/netns';
import { TestCgroup } from '../../test/helpers/cgroup';
import { startServer, holdConnections } from '../../test/helpers/tcp';
import { conntrack, CLOSED_EVENT, type ConntrackConfig } from '../../plugins/conntrack/plugin';
import { CloseEventDecoder, closedAttributes } from '../../plugins/conntrack/close-event';
import { ConnectionTable } from '../../plugins/conntrack/table';
import { measureStall, idleStall, type StallRun } from '../loop-stall';

const OBJECT = path.join(__dirname, '..', '..', 'plugins', 'conntrack', 'conntrack.bpf.o');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function defaults(overrides: Partial<ConntrackConfig>): ConntrackConfig {
  return {
    cgroup: '/', max_connections: 65536, ring_buffer_size: 1 << 20, rtt_callbacks: true, preexisting: false, process_identity: true,
    duration_buckets: [0.001, 0.01, 0.1, 1, 10], rtt_buckets: [0.0001, 0.001, 0.01, 0.1], ...overrides,
  };
}

/** Opens `connections` connections, then closes them all at once; returns events/s and what was lost. */
async function closeBurst(ctx: BenchContext, connections: number): Promise<{ rate: number; received: number; dropped: number; expected: number }> {
  const net = TestNet.create();
  const cgroup = TestCgroup.create();
  try {
    await startServer(net, cgroup, net.nsB, net.ipB, 7200);
    let received = 0;
    let last = 0;
    const emit = (_probe: string, name: string) => {
      if (name === CLOSED_EVENT) {
        received++;
        last = performance.now();
      }
    };
    const runner = new ProbeRunner('conntrack/bench', conntrack, defaults({ cgroup: cgroup.path }), createLogger('bench'), emit, new Map());
    await runner.start();
    try {
      const held = await holdConnections(net, cgroup, net.nsA, net.ipB, 7200, { count: connections, request: 8, response: 8 });
      const start = performance.now();
      await held.close();
      const expected = 2 * connections;
      for (let i = 0; i < 200 && received < expected; i++) await sleep(25);
      let dropped = 0;
      await runner.collect({ record: (metric, _a, value) => { if (metric === 'netprobe.conntrack.events.dropped') dropped = value as number; } });
      ctx.log(`  ${connections} connections: ${received}/${expected} close events, ${dropped} dropped`);
      return { rate: received / ((last - start) / 1000), received, dropped, expected };
    } finally {
      await runner.stop();
    }
  } finally {
    net.cleanup();
    cgroup.remove();
  }
}

/** One realistic close record, produced by the kernel (the first of a tiny burst). */
async function recordedEvent(): Promise<Buffer> {
  const net = TestNet.create();
  const cgroup = TestCgroup.create();
  try {
    await startServer(net, cgroup, net.nsB, net.ipB, 7201);
    const object = BpfObject.open(OBJECT);
    try {
      object.load();
      const link = attachCgroup(object.programFd('conntrack_sock_ops'), cgroup.dir, 'sock_ops');
      const records: Buffer[] = [];
      const reader = new RingBufferReader('conntrack_events', object.map('conntrack_events').fd, (r) => records.push(r));
      try {
        const held = await holdConnections(net, cgroup, net.nsA, net.ipB, 7201, { count: 1, request: 100, response: 100 });
        await held.close();
        for (let i = 0; i < 100 && records.length === 0; i++) {
          reader.drain();
          await sleep(10);
        }
        if (!records.length) throw new Error('no close event recorded');
        return records[0]!;
      } finally {
        reader.close();
        link.close();
      }
    } finally {
      object.close();
    }
  } finally {
    net.cleanup();
    cgroup.remove();
  }
}

function timePerItem(runs: number, items: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    out.push(((performance.now() - t0) * 1e6) / items);
  }
  return out;
}

export const suites: BenchSuite[] = [
  {
    name: 'conntrack close events',
    kernel: true,
    async run(ctx) {
      const figures: Figure[] = [];
      const connections = ctx.quick ? 200 : 2000;
      const rates: number[] = [];
      let lost = 0;
      for (let run = 0; run < (ctx.quick ? 1 : 3); run++) {
        const r = await closeBurst(ctx, connections);
        rates.push(r.rate);
        lost += r.expected - r.received;
      }
      figures.push({
        name: `close events drained, decoded and emitted, ${connections} connections closed at once`,
        unit: 'events/s', ...summarize(rates),
        note: `${lost} events lost in all runs; the rate is bounded by how fast the test client closes connections`,
      });

      const record = await recordedEvent();
      const object = openProbeObject(OBJECT);
      try {
        const decoder = new CloseEventDecoder(object);
        const layout = object.layout('conntrack_close_event');
        const n = ctx.quick ? 10_000 : 200_000;
        const plain = summarize(timePerItem(ctx.quick ? 1 : 5, n, () => { for (let i = 0; i < n; i++) layout.decode(record); }));
        const full = summarize(timePerItem(ctx.quick ? 1 : 5, n, () => { for (let i = 0; i < n; i++) closedAttributes(decoder.decode(record)); }));
        figures.push({
          name: 'close event: decode, name and build log-record attributes', unit: 'ns/event', ...full,
          baseline: { name: 'StructLayout.decode only', median: plain.median }, ratio: full.median / plain.median,
          note: `${Math.round(1e9 / full.median)} events/s on one core`,
        });
      } finally {
        object.close();
      }
      return figures;
    },
  },
  {
    name: 'conntrack collect with many open connections',
    kernel: true,
    async run(ctx) {
      const figures: Figure[] = [];
      for (const entries of ctx.quick ? [1000] : [10_000, 65_536]) {
        const spec = openProbeObject(OBJECT);
        try {
          spec.setMaxEntries('conntrack_table', entries);
          const object = spec.load();
          const map = object.map('conntrack_table');
          const layout = map.valueLayout();
          const decoder = new CloseEventDecoder(object);
          const state = layout.field('state');
          const addr = layout.field('local_addr');
          const keys = Buffer.alloc(entries * 8);
          const values = Buffer.alloc(entries * map.valueSize);
          for (let i = 0; i < entries; i++) {
            keys.writeBigUInt64LE(BigInt(i + 1), i * 8);
            const base = i * map.valueSize;
            values.writeUInt32LE(1 + (i % 11), base + state.offset);
            if (i % 2 === 0) values.writeUInt32LE(0xffff0000, base + addr.offset + 8); // IPv4-mapped
          }
          map.updateBatch(keys, values);
          const table = new ConnectionTable(map, decoder);
          const runs = ctx.quick ? 3 : 15;
          const read = summarize(timePerItem(runs, 1, () => map.readAll()).map((ns) => ns / 1e6));
          const stalls: StallRun[] = [];
          for (let r = 0; r < runs; r++) {
            stalls.push(await measureStall(async () => {
              const open = await table.countOpen();
              if (open.reduce((a, o) => a + o.count, 0) !== entries) throw new Error('miscounted');
            }));
          }
          const counted = summarize(stalls.map((s) => s.wallMs));
          figures.push({
            name: `collect: open connections by state, ${entries} entries`, unit: 'ms', ...counted,
            baseline: { name: 'batched read of the table alone', median: read.median }, ratio: counted.median / read.median,
          });
          const idleRuns: number[] = [];
          for (let r = 0; r < 3; r++) idleRuns.push((await idleStall(counted.median)).maxStallMs);
          const idle = summarize(idleRuns);
          figures.push({
            name: `longest event-loop stall during that collect, ${entries} entries`, unit: 'ms', ...summarize(stalls.map((s) => s.maxStallMs)),
            baseline: { name: 'idle over the same time', median: idle.median }, ratio: summarize(stalls.map((s) => s.maxStallMs)).median / Math.max(0.01, idle.median),
            target: entries > 60_000 ? '<= 20 ms' : undefined,
            note: 'perf_hooks.monitorEventLoopDelay max',
          });
        } finally {
          spec.close();
        }
      }
      return figures;
    },
  },
];
