/**
 * Flow times against a packet capture, over many collector starts: a clock that
 * depended on a guess made at start (the old jiffies calibration) was wrong on some
 * starts and right on others, so one start proves nothing.
 */
import { test } from 'node:test';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness } from '../../test/helpers/harness';
import { Capture } from '../../test/helpers/capture';

const STARTS = 20;
const TOLERANCE_MS = 20;
/** Three datagrams per start, this far apart: the flow lasts twice this. */
const GAP_MS = 150;
const FIRST_PORT = 21000;

test(`flow start and end times agree with tshark within ${TOLERANCE_MS} ms on each of ${STARTS} consecutive starts`, { timeout: 300_000 }, async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const capture = await Capture.start(net, net.nsB, net.vB);
  const yaml = `
probes:
  flow_stats: { interfaces: [${net.vB}], directions: [ingress], idle_timeout: 60s }
exporters: { debug: }
service: { pipelines: { logs: { probes: [flow_stats], exporters: [debug] } } }
`;
  // One sender for all starts (a process per start would cost a second each).
  const sender = net.spawn(net.nsA, [process.execPath, '-e', `
    const dgram = require('node:dgram');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    require('node:readline').createInterface({ input: process.stdin }).on('line', async (port) => {
      const s = dgram.createSocket('udp4');
      await new Promise((r) => s.bind(Number(port), r));
      for (let n = 0; n < 3; n++) {
        if (n) await sleep(${GAP_MS});
        await new Promise((ok, fail) => s.send(Buffer.alloc(32), 9, '${net.ipB}', (e) => (e ? fail(e) : ok())));
      }
      s.close();
      process.stdout.write('sent\\n');
    });`]);
  const reported = new Map<number, { start: number; end: number; durationNs: number }>();
  for (let i = 0; i < STARTS; i++) {
    const port = FIRST_PORT + i;
    const { harness } = await ProbeHarness.start(net, net.nsB, yaml);
    // One flow per start (its own source port), spread over time so start, end and duration all matter.
    sender.stdin!.write(`${port}\n`);
    await once(sender.stdout!, 'data');
    const events = await harness.stop();
    const flow = events.find((e) => e.name === 'netprobe.flow.end' && e.attributes['source.port'] === port);
    assert.ok(flow, `start ${i + 1}: no record of the flow from port ${port}`);
    reported.set(port, {
      start: Date.parse(flow.attributes['netprobe.flow.start_time'] as string),
      end: Date.parse(flow.attributes['netprobe.flow.end_time'] as string),
      durationNs: flow.attributes['netprobe.flow.duration'] as number,
    });
  }

  const frames = await capture.stopFrames(['ip.proto', 'udp.srcport', 'frame.time_epoch']);
  const failures: string[] = [];
  let worst = 0;
  for (const [port, ours] of reported) {
    // UDP frames only, not the ICMP errors that quote them.
    const times = frames.filter((f) => f['ip.proto'] === '17' && Number(f['udp.srcport']) === port).map((f) => Number(f['frame.time_epoch']) * 1000);
    assert.equal(times.length, 3, `port ${port}: frames captured`);
    const [first, last] = [Math.min(...times), Math.max(...times)];
    const off = { start: ours.start - first, end: ours.end - last, duration: ours.durationNs / 1e6 - (last - first) };
    worst = Math.max(worst, ...Object.values(off).map(Math.abs));
    if (!Object.values(off).every((ms) => Math.abs(ms) <= TOLERANCE_MS)) {
      failures.push(`start ${port - FIRST_PORT + 1}: start ${off.start.toFixed(1)} ms, end ${off.end.toFixed(1)} ms, duration ${off.duration.toFixed(1)} ms off`);
    }
  }
  t.diagnostic(`worst difference from the capture over ${reported.size} starts: ${worst.toFixed(1)} ms`);
  assert.deepEqual(failures, [], `flow times off by more than ${TOLERANCE_MS} ms`);
});
