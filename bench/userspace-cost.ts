/**
 * Userspace cost of one flow_stats collection with 10,000 and 100,000 live flows:
 * the kernel table is filled with real entries (batch update), then collect() reads,
 * decodes and accounts them exactly as in production. CPU time and RSS of this process.
 */
import { flowStats, FlowStatsRunner, READ_BATCH, type FlowStatsConfig } from '../plugins/flow-stats/plugin';
import { parseConfig } from '../core/config/load';
import { plugins } from '../plugins/registry';
import { BpfObject } from '../core/bpf/object';
import { addressBytes } from '../core/net/address';
import type { MetricSink } from '../core/plugin/types';
import { detachedHost } from '../test/helpers/detached-host';
import { monotonicNs } from '../plugins/flow-stats/clock';
import { summarize, type BenchSuite, type Figure } from './types';
import { measureStall, idleStall } from './loop-stall';

export function fill(runner: FlowStatsRunner, count: number, nowNs: number): void {
  // In batches of 4096, so the bench's own buffers stay out of the RSS it reports.
  for (let from = 0; from < count; from += 4096) fillRange(runner, from, Math.min(count, from + 4096), nowNs);
}

function fillRange(runner: FlowStatsRunner, from: number, to: number, nowNs: number): void {
  const map = runner.flows;
  const key = runner.object.layout('flow_key');
  const value = runner.object.layout('flow_value');
  const at = (l: typeof key, f: string) => l.field(f).offset;
  const keys = Buffer.alloc((to - from) * map.keySize);
  const values = Buffer.alloc((to - from) * map.entryValueBytes);
  const src = addressBytes('10.0.0.1')!;
  for (let i = from; i < to; i++) {
    const k = (i - from) * map.keySize;
    keys.writeUInt32LE(2, k + at(key, 'ifindex'));
    keys[k + at(key, 'ip_version')] = 4;
    keys[k + at(key, 'protocol')] = 6;
    src.copy(keys, k + at(key, 'src'));
    addressBytes(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)!.copy(keys, k + at(key, 'dst'));
    keys.writeUInt16LE(1024 + (i % 60000), k + at(key, 'src_port'));
    keys.writeUInt16LE(443, k + at(key, 'dst_port'));
    const v = (i - from) * map.entryValueBytes; // CPU 0's copy; the others stay zero
    values.writeUInt32LE(10 + (i % 100), v + at(value, 'packets'));
    values.writeUInt32LE(15_000 + i, v + at(value, 'bytes'));
    values.writeBigUInt64LE(BigInt(nowNs), v + at(value, 'first_seen'));
    values.writeBigUInt64LE(BigInt(nowNs), v + at(value, 'last_seen'));
  }
  map.updateBatch(keys, values);
}

/** Grows every flow's counters a little, as a busy interval would. */
export function touch(runner: FlowStatsRunner): void {
  const map = runner.flows;
  const off = runner.object.layout('flow_value').field('packets').offset;
  for (const { count, keys, values } of map.batches()) {
    for (let i = 0; i < count; i++) values.writeUInt32LE(values.readUInt32LE(i * map.entryValueBytes + off) + 1, i * map.entryValueBytes + off);
    map.updateBatch(keys, values); // existing keys only: the walk's order does not change
  }
}

const noSink: MetricSink = { record: () => undefined };

export const userspaceCost: BenchSuite = {
  name: 'userspace cost of a collection (flow_stats)',
  kernel: true,
  async run(ctx) {
    const figures: Figure[] = [];
    for (const flows of ctx.quick ? [1_000] : [10_000, 100_000]) {
      const opened: BpfObject[] = [];
      const config = parseConfig(`probes: { flow_stats: { max_flows: 131072, idle_timeout: 1h } }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] } } }`, 'bench', plugins, {}).probes.flow_stats as FlowStatsConfig;
      try {
        const runner = new FlowStatsRunner(config, detachedHost(flowStats, opened));
        fill(runner, flows, monotonicNs());
        await runner.collect(noSink); // first sight of every flow: decodes every key
        const cpu: number[] = [];
        const wall: number[] = [];
        const stall: number[] = [];
        for (let run = 0; run < (ctx.quick ? 2 : 7); run++) {
          touch(runner);
          global.gc?.();
          const c0 = process.cpuUsage();
          const s = await measureStall(() => runner.collect(noSink));
          wall.push(s.wallMs);
          stall.push(s.maxStallMs);
          const c = process.cpuUsage(c0);
          cpu.push((c.user + c.system) / 1000);
        }
        // The kernel's share: the same table read in the same batches, nothing decoded.
        const readOnly: number[] = [];
        for (let run = 0; run < (ctx.quick ? 2 : 7); run++) {
          const c0 = process.cpuUsage();
          for (const batch of runner.flows.batches(READ_BATCH)) void batch;
          const c = process.cpuUsage(c0);
          readOnly.push((c.user + c.system) / 1000);
        }
        const idle: number[] = [];
        for (let run = 0; run < 3; run++) idle.push((await idleStall(summarize(wall).median)).maxStallMs);
        const rss = process.memoryUsage().rss / 2 ** 20;
        figures.push({
          name: `collect, ${flows.toLocaleString('en')} live flows: CPU`, unit: 'ms', ...summarize(cpu), target: flows === 100_000 ? '<= 100 ms' : undefined,
          baseline: { name: 'batched read of the table alone', median: summarize(readOnly).median }, ratio: summarize(cpu).median / Math.max(0.01, summarize(readOnly).median),
          note: 'user + system CPU of this process',
        });
        figures.push({ name: `collect, ${flows.toLocaleString('en')} live flows: wall`, unit: 'ms', ...summarize(wall), note: 'includes the yields to the event loop' });
        figures.push({
          name: `longest event-loop stall during a collect, ${flows.toLocaleString('en')} live flows`, unit: 'ms', ...summarize(stall),
          baseline: { name: 'idle over the same time', median: summarize(idle).median }, ratio: summarize(stall).median / Math.max(0.01, summarize(idle).median),
          target: flows === 100_000 ? '<= 20 ms' : undefined,
          note: 'perf_hooks.monitorEventLoopDelay max',
        });
        figures.push({ name: `collector RSS with ${flows.toLocaleString('en')} live flows`, unit: 'MB', median: rss, min: rss, max: rss, runs: 1, target: flows === 100_000 ? '<= 150 MB' : undefined });
        ctx.log(`${flows} flows: ${summarize(cpu).median.toFixed(1)} ms CPU, ${rss.toFixed(0)} MB RSS`);
      } finally {
        for (const o of opened) o.close();
      }
    }
    return figures;
  },
};
