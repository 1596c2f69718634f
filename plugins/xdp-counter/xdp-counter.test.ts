import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness, type Point } from '../../test/helpers/harness';
import type { HistogramValue } from '../../core/plugin/types';

const BOUNDS = [64, 128, 256, 512, 1024, 1518, 9000];

/** Expected histogram counts for frame sizes, with OTel's (previous, bound] buckets. */
function expectedBuckets(frames: number[]): number[] {
  const counts = new Array<number>(BOUNDS.length + 1).fill(0);
  for (const f of frames) {
    const i = BOUNDS.findIndex((b) => f <= b);
    counts[i < 0 ? BOUNDS.length : i]!++;
  }
  return counts;
}

function pointsFor(points: Point[], iface: string) {
  const mine = points.filter((p) => p.attributes['network.interface.name'] === iface);
  const get = (m: string) => mine.find((p) => p.metric === m);
  return {
    packets: get('system.network.packet.count')?.value as number | undefined,
    bytes: get('system.network.io')?.value as number | undefined,
    histogram: get('netprobe.packet.size')?.value as HistogramValue | undefined,
    attributes: get('system.network.packet.count')?.attributes,
  };
}

function xdpAttached(net: TestNet, dev: string): boolean {
  const out = JSON.parse(net.exec(net.nsB, ['bpftool', '-j', 'net', 'show', 'dev', dev])) as Array<{ xdp?: unknown[] }>;
  return out.some((entry) => (entry.xdp ?? []).length > 0);
}

test('xdp_counter counts exactly the frames, bytes and sizes sent', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create(9500);
  t.after(() => net.cleanup());
  const { harness, ready } = await ProbeHarness.start(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [xdp_counter], exporters: [debug] } } }
`);
  assert.equal(ready.length, 1);
  assert.ok(xdpAttached(net, net.vB), 'XDP program not attached');

  // Payloads chosen so frames (payload + 42) land in every bucket, overflow included.
  const payloads = [1, 10, 22, 23, 50, 86, 87, 200, 214, 400, 900, 982, 1400, 1476, 3000, 8958, 8959, 9100];
  const sent: number[] = [];
  for (let round = 0; round < 3; round++) sent.push(...net.sendUdp(payloads));
  const points = await harness.collect();
  const got = pointsFor(points, net.vB);
  assert.equal(got.packets, sent.length);
  assert.equal(got.bytes, sent.reduce((a, b) => a + b, 0));
  assert.deepEqual(got.histogram?.counts, expectedBuckets(sent));
  assert.deepEqual(got.histogram?.boundaries, BOUNDS);
  assert.equal(got.histogram?.count, sent.length);
  assert.equal(got.attributes?.['network.io.direction'], 'receive');
  assert.match(String(got.attributes?.['netprobe.xdp.mode']), /^(native|generic)$/);

  // Counters are cumulative: another batch adds to them.
  const more = net.sendUdp([100, 100]);
  const again = pointsFor(await harness.collect(), net.vB);
  assert.equal(again.packets, sent.length + more.length);

  await harness.stop();
  assert.equal(xdpAttached(net, net.vB), false, 'XDP program still attached after stop');
});

test('one instance on two interfaces counts each in its own slot', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const second = net.addLinkPair();
  const { harness } = await ProbeHarness.start(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}, ${second.b}] }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [xdp_counter], exporters: [debug] } } }
`);
  const onA = net.sendUdp([10, 20, 30]);
  const onB = net.sendUdp([500, 1200], second.ipB);
  const points = await harness.collect();
  const a = pointsFor(points, net.vB);
  const b = pointsFor(points, second.b);
  assert.equal(a.packets, onA.length);
  assert.equal(a.bytes, onA.reduce((x, y) => x + y, 0));
  assert.equal(b.packets, onB.length);
  assert.equal(b.bytes, onB.reduce((x, y) => x + y, 0));
  assert.deepEqual(b.histogram?.counts, expectedBuckets(onB));
  await harness.stop();
});

test('two instances on two interfaces count separately; a shared interface is refused', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const second = net.addLinkPair();
  const { harness } = await ProbeHarness.start(net, net.nsB, `
probes:
  xdp_counter/a: { interfaces: [${net.vB}], mode: generic }
  xdp_counter/b: { interfaces: [${second.b}], size_buckets: [100, 1000] }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [xdp_counter/a, xdp_counter/b], exporters: [debug] } } }
`);
  const onA = net.sendUdp([10, 20, 30]);
  const onB = net.sendUdp([500, 1200], second.ipB);
  const points = await harness.collect();
  const a = pointsFor(points, net.vB);
  const b = pointsFor(points, second.b);
  assert.equal(a.packets, onA.length);
  assert.deepEqual(new Set(points.filter((p) => p.attributes['network.interface.name'] === net.vB).map((p) => p.probe)), new Set(['xdp_counter/a']));
  assert.equal(a.attributes?.['netprobe.xdp.mode'], 'generic');
  assert.equal(b.packets, onB.length);
  assert.deepEqual(b.histogram?.counts, [0, 1, 1]);
  await harness.stop();

  await assert.rejects(
    ProbeHarness.start(net, net.nsB, `
probes:
  xdp_counter/a: { interfaces: [${net.vB}] }
  xdp_counter/b: { interfaces: [${net.vB}] }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [xdp_counter/a, xdp_counter/b], exporters: [debug] } } }
`),
    /interface .* already has XDP from xdp_counter\/a/,
  );
  assert.equal(xdpAttached(net, net.vB), false, 'the failed start left XDP attached');
});
