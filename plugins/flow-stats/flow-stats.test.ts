/**
 * flow_stats on real traffic between test namespaces, compared flow by flow with
 * what tshark captured on the same link; and a flow table too small for the traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness, type Point } from '../../test/helpers/harness';
import { Capture, type CapturedFlow } from '../../test/helpers/capture';

const NUMERIC_ATTRS = ['source.port', 'destination.port', 'netprobe.icmp.type', 'netprobe.icmp.code'];

function flowId(f: { direction: string; protocol: number | string; src: string; dst: string; srcPort: number; dstPort: number; fragment: boolean }): string {
  return `${f.direction} ${f.protocol} ${f.src}:${f.srcPort} > ${f.dst}:${f.dstPort}${f.fragment ? ' fragments' : ''}`;
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, 'ipv6-icmp': 58 };

test('TCP, UDP, ICMP and ICMPv6 over IPv4 and IPv6, both directions, fragmented pings too, match a tshark capture exactly', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create({ ipv6: true });
  t.after(() => net.cleanup());
  // Offloads off on both ends: every frame on the wire is one packet for tshark and for us.
  for (const [ns, dev] of [[net.nsA, net.vA], [net.nsB, net.vB]] as const) net.exec(ns, ['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  const { harness } = await ProbeHarness.start(net, net.nsB, `
probes:
  flow_stats: { interfaces: [${net.vB}], idle_timeout: 60s }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] }, logs: { probes: [flow_stats], exporters: [debug] } } }
`);
  const capture = await Capture.start(net, net.nsB, net.vB);

  net.sendUdp([10, 100, 1000, 1400, 20]);
  net.sendUdp([10, 200, 1200], net.ip6B, 5353);
  net.tcpExchange(3000, 50_000);
  net.tcpExchange(1000, 2000, net.ip6B, 7002);
  net.ping(net.ipB, 3);
  net.ping(net.ip6B, 3);
  // Echo requests and replies of 3,000 bytes: each in three IP fragments, two without an ICMP header.
  net.ping(net.ipB, 2, 3000);
  net.ping(net.ip6B, 2, 3000);

  // Between the test addresses only: IPv6 also sends multicast listener reports on its own.
  const testAddresses = [net.ipA, net.ipB, net.ip6A, net.ip6B];
  const between = (f: { src: string; dst: string }) => testAddresses.includes(f.src) && testAddresses.includes(f.dst);
  const captured = (await capture.stop(net.mac(net.nsB, net.vB))).filter(between);
  const points: Point[] = await harness.collect();
  const events = await harness.stop();

  // At stop every live flow ends with its totals: the probe's complete account.
  const ours = events.filter((e) => e.name === 'netprobe.flow.end').map((e) => {
    const a = e.attributes;
    return {
      direction: a['network.io.direction'] as string,
      protocol: PROTOCOLS[a['network.transport'] as string] ?? a['network.transport'],
      src: a['source.address'] as string, dst: a['destination.address'] as string,
      srcPort: Number(a['source.port'] ?? a['netprobe.icmp.type'] ?? 0), dstPort: Number(a['destination.port'] ?? a['netprobe.icmp.code'] ?? 0),
      fragment: a['netprobe.flow.fragments'] === true,
      packets: a['netprobe.flow.packets'] as number, bytes: a['netprobe.flow.bytes'] as number,
    };
  }).filter(between);
  const expected = new Map(captured.map((f: CapturedFlow) => [flowId(f), `${f.packets} packets, ${f.bytes} bytes`]));
  const got = new Map(ours.map((f) => [flowId(f), `${f.packets} packets, ${f.bytes} bytes`]));
  assert.deepEqual(got, expected);

  // Every kind of traffic was there, in both directions.
  const kinds = new Set(captured.map((f) => `${f.protocol}/${f.src.includes(':') ? 6 : 4}/${f.direction}`));
  for (const p of [6, 17, 1, 58]) for (const dir of ['receive', 'transmit']) {
    if (p === 17 && dir === 'transmit') continue; // nobody answers UDP port 9 / 5353 (ICMP unreachable does)
    assert.ok([...kinds].some((k) => k.startsWith(`${p}/`) && k.endsWith(dir)), `no ${p} ${dir} traffic`);
  }

  // Trailing fragments are their own flows, never ICMP type 0 (echo reply) in the echo requests' direction.
  const received = (version: string) => events.filter((e) => e.name === 'netprobe.flow.end' && e.attributes['network.io.direction'] === 'receive'
    && e.attributes['network.transport'] === (version === 'ipv4' ? 'icmp' : 'ipv6-icmp') && e.attributes['network.type'] === version
    && between({ src: e.attributes['source.address'] as string, dst: e.attributes['destination.address'] as string }));
  for (const version of ['ipv4', 'ipv6']) {
    const kinds = received(version).map((e) => (e.attributes['netprobe.flow.fragments'] ? 'fragments' : `type ${e.attributes['netprobe.icmp.type']}`));
    assert.deepEqual(kinds.sort(), version === 'ipv4' ? ['fragments', 'type 8'] : ['fragments', 'type 128'], `${version}: received ICMP flows`);
  }

  // Traffic metrics add up to the same totals.
  const traffic = points.filter((p) => p.metric === 'netprobe.traffic.packet.count');
  const sum = (dir: string, transport: string) => traffic.filter((p) => p.attributes['network.io.direction'] === dir && p.attributes['network.transport'] === transport).reduce((n, p) => n + (p.value as number), 0);
  const capturedSum = (dir: string, proto: number) => captured.filter((f) => f.direction === dir && f.protocol === proto).reduce((n, f) => n + f.packets, 0);
  assert.equal(sum('receive', 'tcp'), capturedSum('receive', 6));
  assert.equal(sum('transmit', 'tcp'), capturedSum('transmit', 6));
  // The server's port saw the two inbound connections.
  const conns = points.filter((p) => p.metric === 'netprobe.port.connection.count' && [7001, 7002].includes(p.attributes['network.local.port'] as number));
  assert.deepEqual(conns.map((p) => p.value), [1, 1]);
  for (const p of points) for (const a of NUMERIC_ATTRS) if (a in p.attributes) assert.equal(typeof p.attributes[a], 'number');
});

test('a flow table smaller than the traffic: nothing crashes, overflow and evictions are counted, totals add up', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const { harness } = await ProbeHarness.start(net, net.nsB, `
probes:
  flow_stats: { interfaces: [${net.vB}], directions: [ingress], max_flows: 16 }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] }, logs: { probes: [flow_stats], exporters: [debug] } } }
`);
  const sent = net.sendUdp(Array.from({ length: 40 }, () => 50), net.ipB, 9, { socketPerDatagram: true });
  const points = await harness.collect();
  const value = (metric: string, match: Record<string, unknown> = {}) => points
    .filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (p.value as number), 0);
  assert.equal(value('netprobe.traffic.packet.count', { 'network.transport': 'udp' }), 40, 'every packet counted, tracked or not');
  assert.equal(value('netprobe.traffic.io', { 'network.transport': 'udp' }), sent.reduce((a, b) => a + b, 0));
  assert.equal(value('netprobe.flow.untracked.packet.count', { 'netprobe.untracked.reason': 'table_full' }), 40 - 16);
  // Above 90% full, the least recently active flows end early, down to 80%.
  assert.equal(value('netprobe.flow.ended', { 'netprobe.flow.end_reason': 'evicted' }), 16 - 12);
  assert.equal(value('netprobe.flow.active'), 12);
  const events = await harness.stop();
  const ended = events.filter((e) => e.name === 'netprobe.flow.end');
  assert.equal(ended.filter((e) => e.attributes['netprobe.flow.end_reason'] === 'evicted').length, 4);
  assert.equal(ended.reduce((n, e) => n + (e.attributes['netprobe.flow.packets'] as number), 0), 16, 'the tracked flows account for the rest');
});
