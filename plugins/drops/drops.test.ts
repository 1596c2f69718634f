/**
 * drops in the kernel: real packets between two test namespaces, dropped in nsB for
 * known reasons (a closed UDP port, a netfilter DROP rule, a full socket receive queue,
 * a bad IP checksum, no route), each checked for its reason, 5-tuple and exact count,
 * against the probe running in nsB (its network namespace is its scope).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { kernelAtLeast, kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness, type EmittedEvent, type Point } from '../../test/helpers/harness';
import { frame } from '../../test/helpers/packets';
import { distRoot } from '../../test/helpers/paths';
import type { Attributes } from '../../core/plugin/types';
import { patience } from '../../test/helpers/slowdown';
import { DROP_EVENT } from './plugin';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** skb:kfree_skb carries the drop reason from Linux 5.17; before, the probe reports every drop as `unknown`. */
const KERNEL_HAS_REASONS = kernelAtLeast(5, 17);
const reason = (name: string) => (KERNEL_HAS_REASONS ? name : 'unknown');

function config(options = ''): string {
  return `
probes:
  drops: { ${options} }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [drops], exporters: [debug] }, logs: { probes: [drops], exporters: [debug] } } }
`;
}

async function setup(t: TestContext, options?: { ipv6?: boolean; probe?: string }): Promise<{ net: TestNet; harness: ProbeHarness }> {
  const net = TestNet.create({ ipv6: options?.ipv6 });
  t.after(() => net.cleanup());
  const { harness } = await ProbeHarness.start(net, net.nsB, config(options?.probe));
  t.after(() => harness.process.kill('SIGKILL'));
  return { net, harness };
}

/** Drop records until `count` match `where`, then a little longer to catch any extra; the others are discarded. */
async function recordsUntil(harness: ProbeHarness, count: number, where: (a: Attributes) => boolean): Promise<EmittedEvent[]> {
  const events: EmittedEvent[] = [];
  const matching = () => events.filter((e) => e.name === DROP_EVENT && where(e.attributes));
  for (const deadline = Date.now() + patience(5000); Date.now() < deadline && matching().length < count;) {
    events.push(...(await harness.events()));
    await sleep(50);
  }
  await sleep(patience(200));
  events.push(...(await harness.events()));
  return matching();
}

function dropCount(points: Point[], reason: string, attributes: Attributes = {}): number {
  return points.filter((p) => p.metric === 'netprobe.drop.packet.count' && p.attributes['netprobe.drop.reason'] === reason
    && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + (p.value as number), 0);
}

/** Every drop the probe counted, by reason (to show that nothing else was dropped). */
function reasonsSeen(points: Point[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points) if (p.metric === 'netprobe.drop.packet.count') out[String(p.attributes['netprobe.drop.reason'])] = (out[String(p.attributes['netprobe.drop.reason'])] ?? 0) + (p.value as number);
  return out;
}

function assertTuple(a: Attributes, net: TestNet, tuple: { src: string; dst: string; dstPort: number; transport?: string }): void {
  assert.equal(a['source.address'], tuple.src);
  assert.equal(a['destination.address'], tuple.dst);
  assert.equal(a['destination.port'], tuple.dstPort);
  assert.equal(typeof a['source.port'], 'number');
  assert.equal(a['network.transport'], tuple.transport ?? 'udp');
  assert.equal(a['network.io.direction'], 'receive');
  assert.equal(a['network.interface.name'], net.vB);
}

test('a closed UDP port: no_socket, with the 5-tuple, the kernel function and the exact count (IPv4 and IPv6)', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const { net, harness } = await setup(t, { ipv6: true });
  net.sendUdp([10, 20, 30], net.ipB, 4444);
  net.sendUdp([40, 50], net.ip6B, 4446);
  const all = await recordsUntil(harness, 5, (a) => a['destination.port'] === 4444 || a['destination.port'] === 4446);
  const v4 = all.filter((e) => e.attributes['destination.port'] === 4444);
  const v6 = all.filter((e) => e.attributes['destination.port'] === 4446);
  assert.equal(v4.length, 3);
  assert.equal(v6.length, 2);
  for (const e of v4) {
    assert.equal(e.attributes['netprobe.drop.reason'], reason('no_socket'));
    assertTuple(e.attributes, net, { src: net.ipA, dst: net.ipB, dstPort: 4444 });
    assert.equal(e.attributes['network.type'], 'ipv4');
    assert.match(String(e.attributes['netprobe.drop.location']), /^__udp4_lib_rcv\+0x[0-9a-f]+$/);
  }
  assert.deepEqual(v4.map((e) => e.attributes['netprobe.drop.length']), [10, 20, 30].map((n) => n + 8 + 20), 'IP length of each datagram');
  for (const e of v6) {
    assert.equal(e.attributes['netprobe.drop.reason'], reason('no_socket'));
    assertTuple(e.attributes, net, { src: net.ip6A, dst: net.ip6B, dstPort: 4446 });
    assert.equal(e.attributes['network.type'], 'ipv6');
  }
  const points = await harness.collect();
  assert.equal(dropCount(points, reason('no_socket'), { 'network.type': 'ipv4', 'network.transport': 'udp', 'network.interface.name': net.vB, 'network.io.direction': 'receive' }), 3);
  assert.equal(dropCount(points, reason('no_socket'), { 'network.type': 'ipv6', 'network.transport': 'udp' }), 2);
  assert.equal(points.find((p) => p.metric === 'netprobe.drop.io' && p.attributes['network.type'] === 'ipv4')?.value, 60 + 3 * 28);
  // A fresh IPv6 namespace may drop a control packet of its own (neighbour discovery, MLD: seen
  // once as not_specified in a clean root), which is not the test's: of UDP, nothing else was dropped.
  const udp = points.filter((p) => p.attributes['network.transport'] === 'udp');
  assert.deepEqual(reasonsSeen(udp), { [reason('no_socket')]: 5 }, 'no other UDP drop');
  if (!KERNEL_HAS_REASONS) assert.match(harness.log, /carries no drop reason: drops are reported as unknown/, 'the missing reasons are logged');
});

test('a netfilter DROP rule: netfilter_drop, counted exactly', async (t) => {
  if (!kernelTestsPossible(t)) return;
  if (spawnSync('sh', ['-c', 'command -v iptables']).status !== 0) {
    if (process.env.CI) throw new Error('needs the Debian package iptables');
    t.skip('needs the Debian package iptables');
    return;
  }
  const { net, harness } = await setup(t);
  net.exec(net.nsB, ['iptables', '-A', 'INPUT', '-p', 'udp', '--dport', '5555', '-j', 'DROP']);
  net.sendUdp([1, 2, 3, 4], net.ipB, 5555);
  const records = await recordsUntil(harness, 4, (a) => a['destination.port'] === 5555);
  assert.equal(records.length, 4);
  for (const e of records) {
    assert.equal(e.attributes['netprobe.drop.reason'], reason('netfilter_drop'));
    assertTuple(e.attributes, net, { src: net.ipA, dst: net.ipB, dstPort: 5555 });
  }
  assert.deepEqual(reasonsSeen(await harness.collect()), { [reason('netfilter_drop')]: 4 });
});

/** A UDP socket that reads nothing while stopped (SIGSTOP); once continued, prints how many datagrams it got. */
const SLOW_RECEIVER = `
const s = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: 4096 });
let got = 0, timer;
s.on('message', () => { got++; clearTimeout(timer); timer = setTimeout(() => { console.log(got); process.exit(0); }, 300); });
s.bind(6666, process.argv[1], () => console.log('ready'));`;

test('a full socket receive queue: socket_rcvbuff, exactly the datagrams the socket never got', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const { net, harness } = await setup(t);
  const receiver = net.spawn(net.nsB, [process.execPath, '-e', SLOW_RECEIVER, net.ipB]);
  let out = '';
  receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  for (const deadline = Date.now() + patience(5000); Date.now() < deadline && !out.includes('ready');) await sleep(50);
  assert.ok(out.includes('ready'), 'the receiver is up');
  receiver.kill('SIGSTOP');
  const sent = 40;
  net.sendUdp(new Array(sent).fill(1000), net.ipB, 6666);
  receiver.kill('SIGCONT');
  const exited = new Promise((r) => receiver.once('exit', r));
  await Promise.race([exited, sleep(patience(10_000))]);
  const received = Number(out.split('\n')[1]);
  assert.ok(received > 0 && received < sent, `the queue held some but not all: ${received} of ${sent}`);
  const records = await recordsUntil(harness, sent - received, (a) => a['destination.port'] === 6666);
  assert.equal(records.length, sent - received);
  for (const e of records) {
    assert.equal(e.attributes['netprobe.drop.reason'], reason('socket_rcvbuff'));
    assertTuple(e.attributes, net, { src: net.ipA, dst: net.ipB, dstPort: 6666 });
  }
  assert.deepEqual(reasonsSeen(await harness.collect()), { [reason('socket_rcvbuff')]: sent - received });
});

/** Sends a crafted frame `count` times from nsA out of vA (XDP live frames; vB needs GRO to take them). */
function sendFrames(net: TestNet, bytes: Buffer, count: number): void {
  net.exec(net.nsB, ['ethtool', '-K', net.vB, 'gro', 'on']);
  net.exec(net.nsA, [process.execPath, path.join(distRoot, 'bench', 'sender.js'), net.vA, String(count), bytes.toString('hex')]);
}

test('a bad IP header checksum: ip_csum, with the addresses and ports of the frame', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const { net, harness } = await setup(t);
  const f = frame({ ip: { version: 4, src: net.ipA, dst: net.ipB }, l4: { kind: 'udp', src: 1111, dst: 2222 }, payload: 32 });
  Buffer.from(net.mac(net.nsB, net.vB).replace(/:/g, ''), 'hex').copy(f, 0); // to vB, or it is dropped as otherhost
  f.writeUInt16BE(0xbad0, 14 + 10); // the header checksum: wrong for this header
  sendFrames(net, f, 3);
  const records = await recordsUntil(harness, 3, (a) => a['destination.port'] === 2222);
  assert.equal(records.length, 3);
  for (const e of records) {
    assert.equal(e.attributes['netprobe.drop.reason'], reason('ip_csum'));
    assertTuple(e.attributes, net, { src: net.ipA, dst: net.ipB, dstPort: 2222 });
    assert.equal(e.attributes['source.port'], 1111);
  }
  assert.deepEqual(reasonsSeen(await harness.collect()), { [reason('ip_csum')]: 3 });
});

test('no route: a packet nsB should forward but has no route for', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const { net, harness } = await setup(t);
  const nowhere = `10.253.${Number(net.ipB.split('.')[2])}.9`;
  net.exec(net.nsB, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  net.exec(net.nsA, ['ip', 'route', 'add', `${nowhere}/32`, 'via', net.ipB]);
  net.sendUdp([5, 6], nowhere, 7777);
  const records = await recordsUntil(harness, 2, (a) => a['destination.port'] === 7777);
  assert.equal(records.length, 2);
  for (const e of records) {
    assert.equal(e.attributes['netprobe.drop.reason'], reason('ip_innoroutes'));
    assertTuple(e.attributes, net, { src: net.ipA, dst: nowhere, dstPort: 7777 });
  }
  assert.deepEqual(reasonsSeen(await harness.collect()), { [reason('ip_innoroutes')]: 2 });
});

test('the record budget: every drop counted, records capped, the ones not sent counted', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const { net, harness } = await setup(t, { probe: 'records_per_second: 1' });
  const sent = 300;
  net.sendUdp(new Array(sent).fill(1), net.ipB, 4447);
  await sleep(patience(300));
  const records = (await harness.events()).filter((e) => e.name === DROP_EVENT);
  const points = await harness.collect();
  const suppressed = points.find((p) => p.metric === 'netprobe.drop.records.suppressed')!.value as number;
  assert.equal(dropCount(points, reason('no_socket')), sent, 'the metrics count every drop');
  assert.ok(records.length >= 1 && records.length <= 4, `a budget of 1/s (1 per CPU) sends a few records, not ${records.length}`);
  assert.equal(records.length + suppressed, sent, 'each drop is either a record or counted as suppressed');
  assert.equal(points.find((p) => p.metric === 'netprobe.drop.records.lost')!.value, 0);
});

test('ignore_reasons: an ignored reason is not counted; an unknown name fails the start with its path (before 5.17: logged, all counted)', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const { net, harness } = await setup(t, { probe: 'ignore_reasons: [NO_SOCKET]' });
  net.sendUdp([1, 2], net.ipB, 4448);
  if (!KERNEL_HAS_REASONS) {
    // Nothing to ignore by before 5.17: the same config runs, says so, and counts every drop.
    await recordsUntil(harness, 2, (a) => a['destination.port'] === 4448);
    assert.match(harness.log, /ignore_reasons \(NO_SOCKET\) cannot apply on this kernel \(drop reasons need Linux 5\.17\+\)/);
    assert.deepEqual(reasonsSeen(await harness.collect()), { unknown: 2 });
    return;
  }
  await sleep(patience(300));
  assert.equal((await harness.events()).filter((e) => e.name === DROP_EVENT).length, 0);
  assert.deepEqual(reasonsSeen(await harness.collect()), {});
  await assert.rejects(ProbeHarness.start(net, net.nsB, config('ignore_reasons: [NO_SUCH_REASON]')), /ignore_reasons\[0\]: the running kernel has no drop reason NO_SUCH_REASON/);
});
