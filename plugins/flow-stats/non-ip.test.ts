/**
 * Untagged non-IP frames leave the flow programs before any parsing and are counted
 * in a per-CPU array, one slot per (interface, direction): checked here on crafted
 * frames (both hooks) and on real frames through two interfaces of one instance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { frame } from '../../test/helpers/packets';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness, type Point } from '../../test/helpers/harness';
import { distRoot } from '../../test/helpers/paths';
import { BpfObject } from '../../core/bpf/object';
import { testRun } from '../../core/bpf/test-run';

const OBJECT = path.join(__dirname, 'flow_stats.bpf.o');
/** IEEE 802 local experimental EtherType: nothing in the stack answers it. */
const LOCAL_EXPERIMENTAL = 0x88b5;

test('crafted non-IP frames land in their (interface, direction) slot with their bytes', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = BpfObject.open(OBJECT);
  t.after(() => object.close());
  object.load(); // default table: one interface slot (mask 0), receive and transmit
  const arp = frame({ etherType: 0x0806, payload: 28 });
  for (let i = 0; i < 3; i++) testRun(object.programFd('flow_stats_xdp'), arp);
  testRun(object.programFd('flow_stats_tc_egress'), arp);
  const slots = object.map('flow_stats_non_ip').readDecoded(object.layout('untracked_value'));
  assert.deepEqual(slots.map((s) => [s.key.readUInt32LE(0), s.value.packets, s.value.bytes]), [[0, 3, 3 * arp.length], [1, 1, arp.length]]);
  assert.equal(object.map('flow_stats_untracked').readAll().count, 0, 'untagged non-IP frames stay out of the untracked hash');
});

function untrackedNonIp(points: Point[], iface: string): { packets: number; bytes: number } {
  const mine = (metric: string, extra: (p: Point) => boolean) => points
    .filter((p) => p.metric === metric && p.attributes['network.interface.name'] === iface && p.attributes['network.io.direction'] === 'receive' && extra(p))
    .reduce((n, p) => n + (p.value as number), 0);
  return {
    packets: mine('netprobe.flow.untracked.packet.count', (p) => p.attributes['netprobe.untracked.reason'] === 'non_ip'),
    bytes: mine('netprobe.traffic.io', (p) => !('network.type' in p.attributes)),
  };
}

test('real non-IP frames on two interfaces of one instance are counted per interface', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const second = net.addLinkPair();
  const { harness } = await ProbeHarness.start(net, net.nsB, `
probes:
  flow_stats: { interfaces: [${net.vB}, ${second.b}], directions: [ingress] }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] } } }
`);
  const send = (dev: string, dstMac: string, count: number, payload: number) => {
    const f = frame({ etherType: LOCAL_EXPERIMENTAL, payload });
    Buffer.from(dstMac.replace(/:/g, ''), 'hex').copy(f, 0);
    net.exec(net.nsA, [process.execPath, path.join(distRoot, 'bench', 'sender.js'), dev, String(count), f.toString('hex')]);
    return f.length;
  };
  const lenA = send(net.vA, net.mac(net.nsB, net.vB), 50, 46);
  const lenB = send(second.a, net.mac(net.nsB, second.b), 7, 100);
  const points = await harness.collect();
  await harness.stop();
  assert.deepEqual(untrackedNonIp(points, net.vB), { packets: 50, bytes: 50 * lenA });
  assert.deepEqual(untrackedNonIp(points, second.b), { packets: 7, bytes: 7 * lenB });
});
