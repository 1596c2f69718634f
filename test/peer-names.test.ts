/**
 * Names across probes, in the kernel: dig asks dnsmasq (in nsB) for names, the dns probe
 * publishes the answers' addresses, and flows (flow_stats) and connections (conntrack)
 * to those addresses carry the name that was asked in netprobe.peer.name; an address
 * no answer named carries none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { TestCgroup } from './helpers/cgroup';
import { ProbeHarness, type EmittedEvent } from './helpers/harness';
import { startServer, runClient } from './helpers/tcp';
import { startDnsServer, toolsAvailable, sleep } from './helpers/dns/dns-lab';

const PEER_NAME = 'netprobe.peer.name';
const PORT = 7001;

async function eventsUntil(harness: ProbeHarness, done: (events: EmittedEvent[]) => boolean): Promise<EmittedEvent[]> {
  const events: EmittedEvent[] = [];
  for (let i = 0; i < 200 && !done(events); i++) {
    events.push(...(await harness.events()));
    await sleep(50);
  }
  return events;
}

test('flows and connections carry the name their peer was resolved from, and only then', async (t) => {
  if (!kernelTestsPossible(t) || !toolsAvailable(t)) return;
  const net = TestNet.create({ ipv6: true });
  const cgroup = TestCgroup.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-names-'));
  t.after(() => {
    net.cleanup();
    cgroup.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const second = net.addLinkPair();
  // www.test is a CNAME of web.test (on the second link); web6.test is nsB's IPv6 address.
  // net.ipB serves DNS but no answer ever names it.
  await startDnsServer(net, dir, [`host-record=web.test,${second.ipB}`, 'cname=www.test,web.test', `host-record=web6.test,${net.ip6B}`]);
  for (const host of [second.ipB, net.ip6B, net.ipB]) await startServer(net, cgroup, net.nsB, host, PORT);

  const yaml = `
probes:
  dns: { interfaces: [${net.vA}] }
  flow_stats: { interfaces: [${net.vA}, ${second.a}], ingress_hook: tc, idle_timeout: 30s }
  conntrack: { cgroup: ${cgroup.path} }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [dns, flow_stats, conntrack], exporters: [debug] }, logs: { probes: [dns, flow_stats, conntrack], exporters: [debug] } } }
`;
  const { harness } = await ProbeHarness.start(net, net.nsA, yaml, { mountCgroup: true });
  net.exec(net.nsA, ['dig', `@${net.ipB}`, 'WWW.test', 'A', '+tries=1', '+time=2']);
  net.exec(net.nsA, ['dig', `@${net.ipB}`, 'web6.test', 'AAAA', '+tries=1', '+time=2']);
  const exchanges = await eventsUntil(harness, (e) => e.filter((x) => x.name === 'netprobe.dns.exchange').length >= 2);
  assert.deepEqual(exchanges.filter((x) => x.name === 'netprobe.dns.exchange').map((x) => x.attributes['netprobe.dns.answers']),
    [`CNAME web.test; A ${second.ipB}`, `AAAA ${net.ip6B}`]);

  const plan = [{ request: 100, response: 1000, holdMs: 0, end: 'close' as const }];
  const [namedPort] = runClient(net, cgroup, net.nsA, second.ipB, PORT, plan);
  const [named6Port] = runClient(net, cgroup, net.nsA, net.ip6B, PORT, plan);
  const [plainPort] = runClient(net, cgroup, net.nsA, net.ipB, PORT, plan);

  // Connections: the client end names its server; the server end's peer (the client) was never resolved.
  const closed = (e: EmittedEvent[]) => e.filter((x) => x.name === 'netprobe.tcp.connection.closed');
  const events = await eventsUntil(harness, (e) => closed(e).length >= 6);
  const connection = (role: string, port: number) => {
    const found = closed(events).filter((x) => x.attributes['netprobe.connection.role'] === role && x.attributes['client.port'] === port);
    assert.equal(found.length, 1, `one ${role} record for client port ${port}`);
    return found[0]!.attributes;
  };
  assert.equal(connection('client', namedPort!)[PEER_NAME], 'www.test', 'the asked name, not the CNAME target, lower-cased');
  assert.equal(connection('client', named6Port!)[PEER_NAME], 'web6.test');
  assert.equal(PEER_NAME in connection('client', plainPort!), false, 'an address no answer named');
  for (const port of [namedPort!, named6Port!, plainPort!]) assert.equal(PEER_NAME in connection('server', port), false);

  // Top flows (metrics): both directions of the named connections carry the name.
  const points = await harness.collect();
  const published = points.find((p) => p.metric === 'netprobe.dns.names.published');
  assert.equal(published?.value, 2);
  const flowPoints = points.filter((p) => p.metric === 'netprobe.flow.io' && p.attributes['network.transport'] === 'tcp');
  const named = (peer: string, port: number) => flowPoints.filter((p) =>
    (p.attributes['destination.address'] === peer && p.attributes['source.port'] === port)
    || (p.attributes['source.address'] === peer && p.attributes['destination.port'] === port));
  for (const [peer, port, name] of [[second.ipB, namedPort, 'www.test'], [net.ip6B, named6Port, 'web6.test'], [net.ipB, plainPort, undefined]] as const) {
    const flows = named(peer, port!);
    assert.equal(flows.length, 2, `both directions of the flow to ${peer} are top flows`);
    for (const f of flows) assert.equal(f.attributes[PEER_NAME], name, `${f.attributes['network.io.direction']} flow with ${peer}`);
  }

  // Flow records: every flow with a named peer carries the name, every other flow none.
  const ended = (await harness.stop()).filter((e) => e.name === 'netprobe.flow.end');
  const names = new Map<string, string>([[second.ipB, 'www.test'], [net.ip6B, 'web6.test']]);
  let withName = 0;
  for (const f of ended) {
    const a = f.attributes;
    const peer = String(a['network.io.direction'] === 'receive' ? a['source.address'] : a['destination.address']);
    assert.equal(a[PEER_NAME], names.get(peer), `flow record ${a['source.address']} -> ${a['destination.address']} (${a['network.transport']})`);
    if (a[PEER_NAME] !== undefined) withName++;
  }
  assert.equal(withName, 4, 'two flows (one each way) for each of the two named connections');
  assert.ok(ended.some((f) => f.attributes['destination.address'] === net.ipB && f.attributes['destination.port'] === 53), 'the DNS flows are there, without a name');
});
