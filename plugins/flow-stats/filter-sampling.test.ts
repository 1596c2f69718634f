/**
 * Filters and sampling, in the kernel: the configured filters keep packets out of the
 * flow table (counted as filtered), and 1-in-N sampling scales what it counts by N.
 * The programs are fed crafted frames with BPF_PROG_TEST_RUN; nothing is attached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { frame } from '../../test/helpers/packets';
import { BpfObject } from '../../core/bpf/object';
import { parseConfig } from '../../core/config/load';
import { plugins } from '../registry';
import { flowStats, FlowStatsRunner, type FlowStatsConfig } from './plugin';
import type { MetricSink } from '../../core/plugin/types';
import { detachedHost } from '../../test/helpers/detached-host';
import type { Point } from '../../test/helpers/harness';

function runner(probe: string, opened: BpfObject[]): FlowStatsRunner {
  const config = parseConfig(`probes: { flow_stats: ${probe} }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] } } }`, 'test', plugins, {}).probes.flow_stats as FlowStatsConfig;
  return new FlowStatsRunner(config, detachedHost(flowStats, opened));
}

async function collect(r: FlowStatsRunner): Promise<Point[]> {
  const points: Point[] = [];
  const sink: MetricSink = { record: (metric, attributes, value) => points.push({ probe: 'flow_stats', metric, attributes, value }) };
  await r.collect(sink);
  return points;
}

const sum = (points: Point[], metric: string, match: Record<string, unknown> = {}) => points
  .filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
  .reduce((n, p) => n + (p.value as number), 0);

const udp = (src: string, dst: string, dport: number) => frame({ ip: { version: src.includes(':') ? 6 : 4, src, dst }, l4: { kind: 'udp', src: 40000, dst: dport }, payload: 10 });

test('filters keep excluded or not-included packets out of the flow table, and count them', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const opened: BpfObject[] = [];
  t.after(() => opened.forEach((o) => o.close()));
  const r = runner(`{ filter: { include_cidrs: [10.1.0.0/16, "fd00:1::/32"], exclude_cidrs: [10.1.9.0/24], exclude_ports: [9] } }`, opened);

  const cases: Array<[Buffer, boolean]> = [
    [udp('10.1.0.1', '192.0.2.1', 53), true], // source included
    [udp('192.0.2.1', '10.1.200.7', 53), true], // destination included
    [udp('192.0.2.1', '192.0.2.2', 53), false], // neither included
    [udp('10.1.9.5', '192.0.2.1', 53), false], // included, but in an excluded /24
    [udp('10.1.0.1', '192.0.2.1', 9), false], // excluded port
    [udp('fd00:1::5', 'fd00:2::1', 53), true], // IPv6 include
    [udp('fd00:3::5', 'fd00:2::1', 53), false],
  ];
  for (const [packet] of cases) assert.equal(r.object.testRun('flow_stats_xdp', packet).retval, 2);
  const points = await collect(r);
  assert.equal(sum(points, 'netprobe.flow.active'), cases.filter(([, kept]) => kept).length);
  assert.equal(sum(points, 'netprobe.flow.untracked.packet.count', { 'netprobe.untracked.reason': 'filtered' }), cases.filter(([, kept]) => !kept).length);
  assert.equal(sum(points, 'netprobe.traffic.packet.count'), cases.length, 'filtered packets still count in the traffic totals');
});

test('1-in-N sampling counts about one packet in N, each weighted by N, and exports the rate', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const opened: BpfObject[] = [];
  t.after(() => opened.forEach((o) => o.close()));
  const r = runner('{ sample_rate: 8 }', opened);
  const packet = udp('10.0.0.1', '10.0.0.2', 53);
  r.object.testRun('flow_stats_xdp', packet, 80_000);
  const points = await collect(r);
  const packets = sum(points, 'netprobe.traffic.packet.count');
  assert.equal(packets % 8, 0, 'every counted packet weighs 8');
  assert.ok(Math.abs(packets - 80_000) < 80_000 * 0.05, `estimated ${packets} of 80,000 packets`);
  assert.equal(sum(points, 'netprobe.traffic.io'), packets * packet.length);
  assert.equal(sum(points, 'netprobe.flow.sample_rate'), 8);
});
