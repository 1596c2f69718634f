/**
 * Each probe's kernel cost as self-metrics, from a running collector: statistics are on
 * while it runs, and netprobe.probe.kernel.run.count counts exactly the runs of the
 * probe's program (XDP on a test link: one run per frame), read from OTLP/JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { exited, startCapturedRun, until } from './helpers/collector';
import { dataPoints, latestMetrics } from './helpers/otlp-json';

const latestPoints = (dir: string, metric: string) => dataPoints(latestMetrics(dir), metric);

test('netprobe.probe.kernel.*: each program\'s runs and run time, counted while the collector runs', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const { capture, child, output } = await startCapturedRun(net, net.nsB, {
    probes: { xdp_counter: `{ interfaces: [${net.vB}] }` }, service: 'telemetry: { kernel_stats: true }', logs: false,
  });
  const frames = 37;
  net.sendUdp(new Array(frames).fill(10));
  const runs = await until('the runs of the XDP program', 20_000, () => {
    const p = latestPoints(capture, 'netprobe.probe.kernel.run.count').find((x) => x.attributes['netprobe.probe.id'] === 'xdp_counter');
    return p && p.value >= frames ? p : undefined;
  });
  assert.equal(runs.value, frames, 'one run per frame, no more');
  assert.equal(runs.attributes['netprobe.probe.program'], 'xdp_counter');
  const time = latestPoints(capture, 'netprobe.probe.kernel.run.time').find((x) => x.attributes['netprobe.probe.id'] === 'xdp_counter');
  assert.ok(time && time.value > 0 && time.value < 0.01, `run time ${time?.value}s for ${frames} runs`);
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output());
});
