/**
 * conntrack in the kernel: real TCP between two test namespaces, from processes in a
 * test cgroup, with the probe attached to that cgroup. Counts, bytes and roles are
 * compared exactly; durations and RTT within the stated tolerance.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelAtLeast, kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { TestCgroup } from '../../test/helpers/cgroup';
import { ProbeHarness, type EmittedEvent, type Point } from '../../test/helpers/harness';
import { linksOfProgram } from '../../test/helpers/bpftool';
import { BpfObject } from '../../core/bpf/object';
import { attachCgroup } from '../../core/bpf/link';
import type { Attributes, HistogramValue } from '../../core/plugin/types';
import { startServer, runClient, failingConnect, holdConnections, type Exchange } from '../../test/helpers/tcp';
import { CLOSED_EVENT, FAILED_EVENT } from './plugin';
import { patience } from '../../test/helpers/slowdown';
import { until } from '../../test/helpers/collector';
import { NetworkSummarizer } from '../../core/summary/network-summary';

/** How far a measured duration may exceed the time the test held the connection (shared, noisy machine). */
const DURATION_SLACK_S = patience(1000) / 1000; // the kernel's clock: longer under emulation
/** RTT on a veth pair between namespaces: above zero, far below this. */
const MAX_LOCAL_RTT_S = patience(50) / 1000;
/** As bpftool names it (the full name, from BTF). */
const SOCK_OPS_PROGRAM = 'conntrack_sock_ops';

function config(cgroup: TestCgroup, probes: Record<string, string> = { conntrack: '' }): string {
  const ids = Object.keys(probes);
  return `
probes:
${ids.map((id) => `  ${id}: { cgroup: ${cgroup.path}${probes[id]} }`).join('\n')}
exporters: { debug: }
service: { pipelines: { metrics: { probes: [${ids}], exporters: [debug] }, logs: { probes: [${ids}], exporters: [debug] } } }
`;
}

interface Setup { net: TestNet; cgroup: TestCgroup }

function setup(t: TestContext, options: { ipv6?: boolean } = {}): Setup {
  const net = TestNet.create({ ipv6: options.ipv6 });
  let cgroup: TestCgroup;
  try {
    cgroup = TestCgroup.create();
  } catch (err) {
    net.cleanup();
    throw err;
  }
  t.after(() => {
    net.cleanup();
    cgroup.remove();
  });
  return { net, cgroup };
}

async function startProbe(s: Setup, probes?: Record<string, string>): Promise<ProbeHarness> {
  const { harness } = await ProbeHarness.start(s.net, s.net.nsB, config(s.cgroup, probes), { keepMounts: true });
  return harness;
}

/** Collects log records until `done` says enough (bounded), then a little longer to catch extras. */
async function eventsUntil(harness: ProbeHarness, done: (events: EmittedEvent[]) => boolean, timeoutMs = 10_000): Promise<EmittedEvent[]> {
  const events: EmittedEvent[] = [];
  const deadline = Date.now() + patience(timeoutMs);
  while (Date.now() < deadline && !done(events)) {
    events.push(...(await harness.events()));
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
  events.push(...(await harness.events()));
  return events;
}

function value(points: Point[], metric: string, attributes: Attributes, probe?: string): number | HistogramValue | undefined {
  const found = points.filter((p) => p.metric === metric && (!probe || p.probe === probe)
    && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  assert.ok(found.length <= 1, `${metric} ${JSON.stringify(attributes)}: ${found.length} series match`);
  return found[0]?.value;
}

/** The namespace's own count of retransmitted TCP segments (RetransSegs in its /proc/net/snmp). */
function retransSegs(net: TestNet, ns: string): number {
  const [names, values] = net.exec(ns, ['cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Tcp:'));
  return Number(values!.split(' ')[names!.split(' ').indexOf('RetransSegs')]);
}

/**
 * Retransmissions happen on a loaded machine (a delayed ACK past the RTO, a tail-loss
 * probe): the records' counts are checked against the kernel's own counters instead of 0.
 * Clients run in nsA and servers in nsB, and nothing else speaks TCP there.
 */
function retransmissionsSince(s: Setup): () => { client: number; server: number } {
  const before = { client: retransSegs(s.net, s.net.nsA), server: retransSegs(s.net, s.net.nsB) };
  return () => ({ client: retransSegs(s.net, s.net.nsA) - before.client, server: retransSegs(s.net, s.net.nsB) - before.server });
}

function assertRetransmits(events: EmittedEvent[], counted: { client: number; server: number }): void {
  for (const role of ['client', 'server'] as const) {
    const sum = closed(events).filter((e) => e.attributes['netprobe.connection.role'] === role).reduce((n, e) => n + (e.attributes['netprobe.connection.retransmits'] as number), 0);
    assert.equal(sum, counted[role], `${role} retransmissions in the records against the namespace's RetransSegs`);
  }
}

const closed = (events: EmittedEvent[]) => events.filter((e) => e.name === CLOSED_EVENT);
const byRole = (events: EmittedEvent[], role: string, clientPort: number) =>
  closed(events).filter((e) => e.attributes['netprobe.connection.role'] === role && e.attributes['client.port'] === clientPort);

function assertExchange(events: EmittedEvent[], x: Exchange, clientPort: number, ends: { client: string; server: string; serverPort: number; type: string }): void {
  const [client] = byRole(events, 'client', clientPort);
  const [server] = byRole(events, 'server', clientPort);
  assert.ok(client && server, `a close event for each end of connection ${clientPort}`);
  for (const [e, sent, received] of [[client, x.request, x.response], [server, x.response, x.request]] as const) {
    const a = e.attributes;
    assert.equal(a['network.transport'], 'tcp');
    assert.equal(a['network.type'], ends.type);
    assert.equal(a['client.address'], ends.client);
    assert.equal(a['server.address'], ends.server);
    assert.equal(a['server.port'], ends.serverPort);
    assert.equal(a['netprobe.connection.close_reason'], 'normal');
    assert.equal(a['netprobe.connection.preexisting'], false);
    assert.equal(a['netprobe.connection.bytes_sent'], sent, `${a['netprobe.connection.role']} bytes sent`);
    assert.equal(a['netprobe.connection.bytes_received'], received, `${a['netprobe.connection.role']} bytes received`);
    assert.ok(Number.isInteger(a['netprobe.connection.retransmits']) && (a['netprobe.connection.retransmits'] as number) >= 0);
    assert.ok((a['netprobe.connection.segments_sent'] as number) > 0 && (a['netprobe.connection.segments_received'] as number) > 0);
    const duration = (a['netprobe.connection.duration'] as number) / 1e9;
    assert.ok(duration >= x.holdMs / 1000 && duration < x.holdMs / 1000 + DURATION_SLACK_S, `duration ${duration}s for a ${x.holdMs} ms hold`);
    const rtt = (a['netprobe.connection.rtt'] as number) / 1e9;
    assert.ok(rtt > 0 && rtt < MAX_LOCAL_RTT_S, `rtt ${rtt}s`);
  }
  assert.equal(client.attributes['netprobe.connection.last_state'], 'fin_wait_2', 'the client closed first');
  assert.equal(server.attributes['netprobe.connection.last_state'], 'last_ack');
}

test('IPv4: every connection closes with its exact bytes each way, role, duration and RTT', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ipB, 7001);
  const harness = await startProbe(s);
  const plan: Exchange[] = [
    { request: 1000, response: 5000, holdMs: 300, end: 'close' },
    { request: 20_000, response: 300_000, holdMs: 0, end: 'close' },
    { request: 8, response: 1, holdMs: 600, end: 'close' },
  ];
  const retransmissions = retransmissionsSince(s);
  const ports = runClient(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7001, plan);
  const events = await eventsUntil(harness, (e) => closed(e).length >= 2 * plan.length);
  assert.equal(closed(events).length, 2 * plan.length, 'one close event per end of each connection, no more');
  const retransmitted = retransmissions();
  assertRetransmits(events, retransmitted);
  assert.equal(events.filter((e) => e.name === FAILED_EVENT).length, 0);
  plan.forEach((x, i) => assertExchange(events, x, ports[i]!, { client: s.net.ipA, server: s.net.ipB, serverPort: 7001, type: 'ipv4' }));

  const points = await harness.collect();
  for (const role of ['client', 'server']) {
    assert.equal(value(points, 'netprobe.tcp.connection.opened', { 'netprobe.connection.role': role }), plan.length);
    assert.equal(value(points, 'netprobe.tcp.connection.closed', { 'netprobe.connection.role': role, 'netprobe.connection.close_reason': 'normal' }), plan.length);
    assert.equal(value(points, 'netprobe.tcp.connection.closed', { 'netprobe.connection.role': role, 'netprobe.connection.close_reason': 'reset' }), 0);
    assert.equal(value(points, 'netprobe.tcp.retransmits', { 'netprobe.connection.role': role }), retransmitted[role as 'client' | 'server']);
    const duration = value(points, 'netprobe.tcp.connection.duration', { 'netprobe.connection.role': role, 'netprobe.connection.close_reason': 'normal' }) as HistogramValue;
    assert.equal(duration.count, plan.length);
    const holds = plan.reduce((sum, x) => sum + x.holdMs / 1000, 0);
    assert.ok(duration.sum >= holds && duration.sum < holds + plan.length * DURATION_SLACK_S, `duration sum ${duration.sum}s`);
    assert.equal((value(points, 'netprobe.tcp.rtt', { 'netprobe.connection.role': role }) as HistogramValue).count, plan.length);
  }
  assert.equal(value(points, 'netprobe.conntrack.events.dropped', {}), 0);
  assert.equal(value(points, 'netprobe.conntrack.table.insert_failed', { 'netprobe.conntrack.failure': 'table_full' }), 0);
  assert.equal(value(points, 'system.network.connection.count', { 'network.connection.state': 'established' }), undefined, 'nothing open');
  await harness.stop();
});

test('IPv6: addresses, network.type and bytes of a connection over IPv6', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t, { ipv6: true });
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ip6B, 7002);
  const harness = await startProbe(s);
  const plan: Exchange[] = [{ request: 3000, response: 70_000, holdMs: 200, end: 'close' }];
  const retransmissions = retransmissionsSince(s);
  const ports = runClient(s.net, s.cgroup, s.net.nsA, s.net.ip6B, 7002, plan);
  const events = await eventsUntil(harness, (e) => closed(e).length >= 2);
  assert.equal(closed(events).length, 2);
  assertRetransmits(events, retransmissions());
  assertExchange(events, plan[0]!, ports[0]!, { client: s.net.ip6A, server: s.net.ip6B, serverPort: 7002, type: 'ipv6' });
  await harness.stop();
});

test('open connections are counted by state and network type while they are open', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t, { ipv6: true });
  await startServer(s.net, s.cgroup, s.net.nsB, '::', 7003);
  const harness = await startProbe(s);
  const v4 = await holdConnections(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7003, { count: 3, request: 100, response: 100 });
  const v6 = await holdConnections(s.net, s.cgroup, s.net.nsA, s.net.ip6B, 7003, { count: 2, request: 100, response: 100 });
  const open = await harness.collect();
  // Both ends of each connection are in the cgroup.
  assert.equal(value(open, 'system.network.connection.count', { 'network.connection.state': 'established', 'network.type': 'ipv4' }), 6);
  assert.equal(value(open, 'system.network.connection.count', { 'network.connection.state': 'established', 'network.type': 'ipv6' }), 4);
  await v4.close();
  await v6.close();
  await eventsUntil(harness, (e) => closed(e).length >= 10);
  const after = await harness.collect();
  assert.equal(value(after, 'system.network.connection.count', { 'network.connection.state': 'established', 'network.type': 'ipv4' }), 0, 'drops to 0, stays reported');
  assert.equal(value(after, 'system.network.connection.count', { 'network.connection.state': 'established', 'network.type': 'ipv6' }), 0);
  await harness.stop();
});

/** One connection that sends 20,000 bytes per line on stdin and ends with stdin; prints `up <local port>`. */
const STREAMING_CLIENT = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
s.on('connect', () => console.log('up ' + s.localPort));
process.stdin.on('data', () => s.write(Buffer.alloc(20000, 0x61)));
process.stdin.on('end', () => s.end());
s.on('error', () => {});`;

test('an open connection that retransmits is reported while open, with the namespace\'s own retransmit count', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  const port = 7012;
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ipB, port);
  const harness = await startProbe(s);
  const client = s.cgroup.spawn(s.net, s.net.nsA, [process.execPath, '-e', STREAMING_CLIENT, s.net.ipB, String(port)]);
  t.after(() => client.kill());
  let out = '';
  client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const clientPort = Number(await until('the client to connect', 5000, () => /up (\d+)/.exec(out)?.[1]));
  const counted = retransmissionsSince(s);
  // The server's side drops the client's segments for a while: the client retransmits them (RTO, backing off).
  const rule = ['INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP'];
  s.net.exec(s.net.nsB, ['iptables', '-I', ...rule]);
  client.stdin!.write('send\n');
  await new Promise((r) => setTimeout(r, patience(1500)));
  s.net.exec(s.net.nsB, ['iptables', '-D', ...rule]);
  const live = (points: Point[], role: string) => points
    .filter((p) => p.metric === 'netprobe.tcp.connection.retransmits' && p.attributes['netprobe.connection.role'] === role && p.attributes['client.port'] === clientPort);
  const sum = (points: Point[], role: string) => live(points, role).reduce((n, p) => n + (p.value as number), 0);
  // Retransmissions go on (backed off) after the rule is gone: wait until the kernel's count and ours agree.
  let points: Point[] = [];
  let kernel = counted();
  const deadline = Date.now() + patience(10_000);
  do {
    await new Promise((r) => setTimeout(r, 200));
    points = await harness.collect();
    kernel = counted();
  } while (Date.now() < deadline && !(kernel.client > 0 && sum(points, 'client') === kernel.client && sum(points, 'server') === kernel.server));
  t.diagnostic(`retransmits: client ${kernel.client}, server ${kernel.server} (RetransSegs); reported ${sum(points, 'client')}, ${sum(points, 'server')}`);
  assert.ok(kernel.client > 0, 'dropping its segments made the client retransmit');
  assert.equal(value(points, 'system.network.connection.count', { 'network.connection.state': 'established', 'network.type': 'ipv4' }), 2, 'the connection is still open');
  const [row] = live(points, 'client');
  assert.ok(row, 'the open connection is reported');
  assert.deepEqual({ ...row.attributes }, {
    'network.transport': 'tcp', 'network.type': 'ipv4', 'netprobe.connection.role': 'client',
    'client.address': s.net.ipA, 'client.port': clientPort, 'server.address': s.net.ipB, 'server.port': port,
  });
  assert.equal(row.value, kernel.client, 'retransmits of the open client connection against the namespace\'s RetransSegs');
  assert.equal(sum(points, 'server'), kernel.server, 'server retransmits against its namespace\'s RetransSegs');
  // What netprobe top shows: the summary lists the peer while the connection is open.
  const summarizer = new NetworkSummarizer();
  summarizer.update([{ probeId: 'conntrack', points }], 1000);
  const summary = summarizer.update([{ probeId: 'conntrack', points }], 2000);
  const top = summary!.tcp!.topRetransmitters.find((r) => r.peer === s.net.ipB);
  assert.deepEqual(top, { peer: s.net.ipB, retransmits: kernel.client, connections: 1 });
  client.stdin!.end();
  await harness.stop();
});

test('a refused connect, a timed-out connect and resets each have their reason', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ipB, 7004);
  const harness = await startProbe(s);

  // Nothing listens on 7999: nsB answers the SYN with RST.
  assert.equal(failingConnect(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7999), 'ECONNREFUSED');
  // An address routed over the test link to nsB, which does not have it: the SYN is dropped;
  // with tcp_syn_retries=1 the connect gives up with ETIMEDOUT after about 3 s.
  const blackhole = s.net.ipB.replace(/\.2$/, '.100');
  s.net.exec(s.net.nsA, ['sysctl', '-q', '-w', 'net.ipv4.tcp_syn_retries=1']);
  s.net.exec(s.net.nsA, ['ip', 'route', 'add', `${blackhole}/32`, 'dev', s.net.vA]);
  s.net.exec(s.net.nsA, ['ip', 'neigh', 'replace', blackhole, 'lladdr', s.net.mac(s.net.nsB, s.net.vB), 'dev', s.net.vA, 'nud', 'permanent']);
  const retransBefore = retransSegs(s.net, s.net.nsA);
  assert.equal(failingConnect(s.net, s.cgroup, s.net.nsA, blackhole, 7004), 'ETIMEDOUT');
  const synRetransmits = retransSegs(s.net, s.net.nsA) - retransBefore;
  // The client aborts (SO_LINGER 0): it sends RST; the server receives it.
  const [resetPort] = runClient(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7004, [{ request: 500, response: 700, holdMs: 0, end: 'reset' }]);

  const events = await eventsUntil(harness, (e) => e.filter((x) => x.name === FAILED_EVENT).length >= 2 && closed(e).length >= 2);
  const failed = events.filter((e) => e.name === FAILED_EVENT);
  assert.equal(failed.length, 2);
  const refused = failed.find((e) => e.attributes['server.port'] === 7999)!;
  assert.equal(refused.attributes['netprobe.connection.close_reason'], 'refused');
  assert.equal(refused.attributes['error.type'], 'ECONNREFUSED');
  assert.equal(refused.attributes['server.address'], s.net.ipB);
  assert.equal(refused.attributes['client.address'], s.net.ipA);
  assert.equal(refused.attributes['netprobe.connection.retransmits'], 0);
  const timedOut = failed.find((e) => e.attributes['server.address'] === blackhole)!;
  assert.equal(timedOut.attributes['netprobe.connection.close_reason'], 'timeout');
  assert.equal(timedOut.attributes['error.type'], 'ETIMEDOUT');
  // The socket's count against the namespace's own TCP counter (the only retransmissions in nsA).
  assert.equal(timedOut.attributes['netprobe.connection.retransmits'], synRetransmits);
  assert.ok(synRetransmits >= 1);
  const waited = (timedOut.attributes['netprobe.connection.duration'] as number) / 1e9;
  assert.ok(waited >= 2.9 && waited < 3 + DURATION_SLACK_S, `gave up after ${waited}s; SYN at 0 s, retry at 1 s, timeout at 3 s`);

  const [client] = byRole(events, 'client', resetPort!);
  const [server] = byRole(events, 'server', resetPort!);
  assert.equal(closed(events).length, 2);
  assert.equal(client?.attributes['netprobe.connection.close_reason'], 'reset');
  assert.equal(client?.attributes['netprobe.connection.last_state'], 'established');
  assert.equal(client?.attributes['netprobe.connection.bytes_received'], 700);
  assert.equal(server?.attributes['netprobe.connection.close_reason'], 'reset');
  assert.equal(server?.attributes['error.type'], 'ECONNRESET');
  assert.equal(server?.attributes['netprobe.connection.bytes_received'], 500);

  const points = await harness.collect();
  assert.equal(value(points, 'netprobe.tcp.connect.failed', { 'netprobe.connection.close_reason': 'refused' }), 1);
  assert.equal(value(points, 'netprobe.tcp.connect.failed', { 'netprobe.connection.close_reason': 'timeout' }), 1);
  assert.equal(value(points, 'netprobe.tcp.connect.failed', { 'netprobe.connection.close_reason': 'connect_failed' }), 0);
  assert.equal(value(points, 'netprobe.tcp.connection.opened', { 'netprobe.connection.role': 'client' }), 1, 'failed connects never opened');
  for (const role of ['client', 'server']) {
    assert.equal(value(points, 'netprobe.tcp.connection.closed', { 'netprobe.connection.role': role, 'netprobe.connection.close_reason': 'reset' }), 1);
    assert.equal(value(points, 'netprobe.tcp.connection.closed', { 'netprobe.connection.role': role, 'netprobe.connection.close_reason': 'normal' }), 0);
  }
  // The SYN retries are retransmissions on a client socket.
  assert.equal(value(points, 'netprobe.tcp.retransmits', { 'netprobe.connection.role': 'client' }), synRetransmits);
  await harness.stop();
});

test('connections open before the probe started are picked up when they next act, and marked', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ipB, 7005);
  // Opened before either probe: each sent 100 bytes and got 2000 back.
  const early = await holdConnections(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7005, { count: 2, request: 100, response: 2000, more: 50 });
  // The probe runs in nsB: its start-up iterator sees the server ends there (not the clients in nsA).
  const harness = await startProbe(s, { 'conntrack/adopting': '', 'conntrack/not_adopting': ', preexisting: false, rtt_callbacks: false' });
  if (!kernelAtLeast(6, 11)) {
    // Before 6.11 the kernel refuses the callbacks (before 6.2 it cannot even tell a socket's
    // cgroup): the probe says which, and tracks only new connections.
    const said = /(refused callbacks for pre-existing connections \(needs Linux 6\.11\+\).* connections=2|cannot tell which cgroup a pre-existing connection belongs to \(needs Linux 6\.2\+\).* connections=2|cannot give pre-existing connections callbacks \(needs Linux 6\.11\+\))/;
    await until('the probe to say why nothing was adopted', 5000, () => (said.test(harness.log) ? true : undefined));
    await early.close();
    const [marker] = runClient(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7005, [{ request: 8, response: 8, holdMs: 0, end: 'close' }]);
    const events = await eventsUntil(harness, (e) => closed(e).filter((x) => x.probe === 'conntrack/adopting').length >= 2);
    assert.deepEqual(closed(events).filter((e) => e.probe === 'conntrack/adopting').map((e) => e.attributes['client.port']), [marker, marker]);
    assert.equal(value(await harness.collect(), 'netprobe.tcp.connection.preexisting', {}, 'conntrack/adopting'), 0);
    await harness.stop();
    return;
  }
  await early.close();
  const events = await eventsUntil(harness, (e) => closed(e).filter((x) => x.probe === 'conntrack/adopting').length >= 2);
  const adopted = closed(events).filter((e) => e.probe === 'conntrack/adopting');
  assert.equal(adopted.length, 2, 'both server ends picked up');
  for (const e of adopted) {
    const a = e.attributes;
    assert.equal(a['netprobe.connection.preexisting'], true);
    assert.equal(a['netprobe.connection.role'], 'unknown');
    assert.equal(a['network.local.address'], s.net.ipB);
    assert.equal(a['network.local.port'], 7005);
    assert.equal(a['network.peer.address'], s.net.ipA);
    assert.ok(early.ports.includes(a['network.peer.port'] as number));
    assert.equal(a['client.address'], undefined, 'no role, so no client.*/server.*');
    // Totals over the connection's life (a passive socket counts no SYN): 100 + 50 in, 2000 out.
    assert.equal(a['netprobe.connection.bytes_received'], 150);
    assert.equal(a['netprobe.connection.bytes_sent'], 2000);
    assert.equal(a['netprobe.connection.close_reason'], 'normal');
  }
  // The instance that does not adopt still sees them: the other instance gave the sockets callbacks.
  // What it must not do is report them as its own starts.
  const other = closed(events).filter((e) => e.probe === 'conntrack/not_adopting');
  assert.ok(other.every((e) => e.attributes['netprobe.connection.preexisting'] === true));
  const points = await harness.collect();
  assert.equal(value(points, 'netprobe.tcp.connection.preexisting', {}, 'conntrack/adopting'), 2);
  assert.equal(value(points, 'netprobe.tcp.connection.opened', { 'netprobe.connection.role': 'server' }, 'conntrack/adopting'), 0);
  assert.equal(value(points, 'netprobe.tcp.connection.closed', { 'netprobe.connection.role': 'unknown', 'netprobe.connection.close_reason': 'normal' }, 'conntrack/adopting'), 2);
  assert.equal(value(points, 'netprobe.tcp.connection.duration', { 'netprobe.connection.role': 'unknown', 'netprobe.connection.close_reason': 'normal' }, 'conntrack/adopting'), undefined, 'no duration without a start');
  await harness.stop();
});

test('without adopting, connections open before the start stay unseen', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ipB, 7006);
  const early = await holdConnections(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7006, { count: 2, request: 100, response: 100, more: 10 });
  const harness = await startProbe(s, { conntrack: ', preexisting: false' });
  await early.close();
  // A connection made after the start, as a marker that events flow.
  const [port] = runClient(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7006, [{ request: 8, response: 8, holdMs: 0, end: 'close' }]);
  const events = await eventsUntil(harness, (e) => closed(e).length >= 2);
  assert.deepEqual(closed(events).map((e) => e.attributes['client.port']), [port, port]);
  assert.equal(value(await harness.collect(), 'netprobe.tcp.connection.preexisting', {}), 0);
  await harness.stop();
});

test('the start-up pass gives callbacks only to connections of the watched cgroup', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  const other = TestCgroup.create();
  t.after(() => other.remove());
  await startServer(s.net, other, s.net.nsB, s.net.ipB, 7009);
  const early = await holdConnections(s.net, other, s.net.nsA, s.net.ipB, 7009, { count: 2, request: 100, response: 100, more: 10 });
  // One instance adopts for the test cgroup; another watches the other cgroup and adopts nothing.
  // Had the first given the other cgroup's sockets callbacks, the second would pick them up.
  const { harness } = await ProbeHarness.start(s.net, s.net.nsB, `
probes:
  conntrack/watched: { cgroup: ${s.cgroup.path} }
  conntrack/other: { cgroup: ${other.path}, preexisting: false }
exporters: { debug: }
service: { pipelines: { logs: { probes: [conntrack/watched, conntrack/other], exporters: [debug] } } }
`, { keepMounts: true });
  await early.close();
  const [marker] = runClient(s.net, other, s.net.nsA, s.net.ipB, 7009, [{ request: 8, response: 8, holdMs: 0, end: 'close' }]);
  const events = await eventsUntil(harness, (e) => closed(e).length >= 2);
  assert.deepEqual(closed(events).map((e) => [e.probe, e.attributes['client.port'], e.attributes['netprobe.connection.preexisting']]),
    [['conntrack/other', marker, false], ['conntrack/other', marker, false]]);
  await harness.stop();
});

test('a full table and a full ring buffer are counted, and what is tracked stays exact', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ipB, 7007);
  const harness = await startProbe(s, { 'conntrack/small_table': ', max_connections: 16', 'conntrack/small_ring': ', ring_buffer_size: 4096' });
  // 12 connections, 24 sockets: the first 16 (8 connections, both ends) fit the small table.
  const held = await holdConnections(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7007, { count: 12, request: 64, response: 64 });
  const open = await harness.collect();
  assert.equal(value(open, 'system.network.connection.count', { 'network.connection.state': 'established' }, 'conntrack/small_table'), 16);
  const otherFailures = value(open, 'netprobe.conntrack.table.insert_failed', { 'netprobe.conntrack.failure': 'other' }, 'conntrack/small_table');
  assert.equal(value(open, 'netprobe.conntrack.table.insert_failed', { 'netprobe.conntrack.failure': 'table_full' }, 'conntrack/small_table'), 8,
    `refusals of a full table (inserts that failed for another reason: ${otherFailures})`);
  assert.equal(value(open, 'system.network.connection.count', { 'network.connection.state': 'established' }, 'conntrack/small_ring'), 24);
  await held.close();
  // 100 more connections closing at once: 200 close events at a time, far beyond a 4 KiB ring.
  // The small table again takes the first 8 connections and refuses the other 92 (184 sockets).
  const burst = await holdConnections(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7007, { count: 100, request: 8, response: 8 });
  await burst.close();
  const events = await eventsUntil(harness, () => false, 1500);
  const points = await harness.collect();
  const small = closed(events).filter((e) => e.probe === 'conntrack/small_table');
  assert.equal(small.length, 16 + 16, 'every tracked socket closed with an event; the refused ones never');
  assert.equal(value(points, 'netprobe.conntrack.table.insert_failed', { 'netprobe.conntrack.failure': 'table_full' }, 'conntrack/small_table'), 8 + 184, 'each refusal counted once');
  const ring = closed(events).filter((e) => e.probe === 'conntrack/small_ring').length;
  const dropped = value(points, 'netprobe.conntrack.events.dropped', {}, 'conntrack/small_ring') as number;
  assert.equal(ring + dropped, 24 + 200, `received ${ring} + dropped ${dropped} = every close`);
  assert.ok(dropped > 0, 'a 4 KiB ring overflowed');
  const closedCount = ['client', 'server'].reduce((n, role) => n + (value(points, 'netprobe.tcp.connection.closed',
    { 'netprobe.connection.role': role, 'netprobe.connection.close_reason': 'normal' }, 'conntrack/small_ring') as number), 0);
  assert.equal(closedCount, 224, 'the kernel counts closes whether or not their event fit');
  await harness.stop();
});

test('two instances and a foreign sock_ops program share the cgroup; nothing stays attached after stop or SIGKILL', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const s = setup(t);
  const foreign = BpfObject.open(path.join(__dirname, '..', '..', 'core', 'bpf', 'testdata', 'attach_test.bpf.o'));
  t.after(() => foreign.close());
  foreign.load();
  const foreignLink = attachCgroup(foreign.programFd('attach_test_sock_ops'), s.cgroup.dir, 'sock_ops');
  t.after(() => foreignLink.close());
  const foreignCalls = () => (foreign.map('attach_test_counts').readDecoded(foreign.layout('attach_test_counts'))[0]!.value.sock_ops as number);
  await startServer(s.net, s.cgroup, s.net.nsB, s.net.ipB, 7008);

  const harness = await startProbe(s, { 'conntrack/one': '', 'conntrack/two': '' });
  assert.equal(linksOfProgram(SOCK_OPS_PROGRAM).length, 2, 'one link per instance');
  const before = foreignCalls();
  const ports = runClient(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7008, [
    { request: 10, response: 20, holdMs: 0, end: 'close' },
    { request: 30, response: 40, holdMs: 0, end: 'close' },
  ]);
  const events = await eventsUntil(harness, (e) => closed(e).length >= 8);
  for (const probe of ['conntrack/one', 'conntrack/two']) {
    const mine = closed(events).filter((e) => e.probe === probe);
    assert.equal(mine.length, 4, `${probe}: both ends of both connections`);
    assert.deepEqual(new Set(mine.map((e) => e.attributes['client.port'])), new Set(ports));
  }
  assert.ok(foreignCalls() > before, 'the foreign program kept being called');
  await harness.stop();
  assert.equal(linksOfProgram(SOCK_OPS_PROGRAM).length, 0, 'detached on stop');

  const killed = await startProbe(s);
  assert.equal(linksOfProgram(SOCK_OPS_PROGRAM).length, 1);
  killed.process.kill('SIGKILL');
  for (let i = 0; i < 100 && linksOfProgram(SOCK_OPS_PROGRAM).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(linksOfProgram(SOCK_OPS_PROGRAM).length, 0, 'the kernel dropped the link with the killed process');
  const stillCalled = foreignCalls();
  runClient(s.net, s.cgroup, s.net.nsA, s.net.ipB, 7008, [{ request: 8, response: 8, holdMs: 0, end: 'close' }]);
  assert.ok(foreignCalls() > stillCalled, 'the foreign program still works');
});
