/**
 * The dns probe in the kernel, end to end: dnsmasq (Debian's dnsmasq-base) serves
 * in one test namespace, dig (bind9-dnsutils) asks from the other, the probe runs
 * on the client's interface, and tshark records the same link. Each exchange must
 * arrive as the right log record and metrics, matching what was asked and what
 * tshark decoded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness, type LogEvent, type Point } from '../../test/helpers/harness';
import type { HistogramValue } from '../../core/plugin/types';
import { dns } from './plugin';
import { CASES, dig, sleep, startDnsServer, toolsAvailable, waitForStderr } from '../../test/helpers/dns/dns-lab';

interface SharkFrame {
  time: number; src: string; dst: string; srcPort: number; dstPort: number; tcp: boolean;
  id: number; response: boolean; name: string; type: number; rcode: number; answerCount: number; truncated: boolean;
  a: string[]; aaaa: string[]; cname: string[]; mx: string[]; txt: string[];
}

const SHARK_FIELDS = ['frame.time_epoch', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'udp.srcport', 'tcp.srcport', 'udp.dstport', 'tcp.dstport',
  'dns.id', 'dns.flags.response', 'dns.qry.name', 'dns.qry.type', 'dns.flags.rcode', 'dns.count.answers', 'dns.flags.truncated',
  'dns.a', 'dns.aaaa', 'dns.cname', 'dns.mx.mail_exchange', 'dns.txt'];

/** Every DNS message in the capture, as tshark decodes it (5353 decoded as DNS, not mDNS). */
function sharkFrames(pcap: string): SharkFrame[] {
  const out = spawnSync('tshark', ['-r', pcap, '-d', 'udp.port==5353,dns', '-Y', 'dns', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=;',
    ...SHARK_FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(out.status, 0, `tshark -r failed: ${out.stderr}`);
  const list = (s: string | undefined) => (s ? s.split(';') : []);
  const bool = (s: string | undefined) => s === '1' || s === 'True' || s === 'true';
  return out.stdout.trim().split('\n').filter(Boolean).map((line) => {
    const f = line.split('|');
    return {
      time: Number(f[0]), src: f[1] || f[2]!, dst: f[3] || f[4]!, srcPort: Number(f[5] || f[6]), dstPort: Number(f[7] || f[8]), tcp: !f[5],
      id: Number(f[9]), response: bool(f[10]), name: f[11]!, type: Number(f[12]), rcode: Number(f[13] || 0), answerCount: Number(f[14] || 0),
      truncated: bool(f[15]), a: list(f[16]), aaaa: list(f[17]), cname: list(f[18]), mx: list(f[19]), txt: list(f[20]),
    };
  });
}

const TYPE_NUMBERS: Record<string, number> = { A: 1, CNAME: 5, MX: 15, TXT: 16, AAAA: 28 };
const RCODE_NUMBERS: Record<string, number> = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 };

function sum(points: Point[], metric: string, match: Record<string, string> = {}): number {
  return points.filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((a, p) => a + (typeof p.value === 'number' ? p.value : p.value.count), 0);
}

test('dig against dnsmasq: every exchange arrives as the right log record and metrics, as tshark saw it', async (t) => {
  if (!kernelTestsPossible(t) || !toolsAvailable(t)) return;
  const net = TestNet.create(1500, { ipv6: true });
  t.after(() => net.cleanup());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-dns-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  await startDnsServer(net, dir);

  // xdp_counter on the same interface: tcx hooks are shared, so both attach and both see traffic.
  const { harness, ready } = await ProbeHarness.start(net, net.nsA, `
probes:
  xdp_counter: { interfaces: [${net.vA}] }
  dns:
    interfaces: [${net.vA}]
    ports: [53, 5353]
    query_timeout: 1s
    query_name_attribute: true
exporters: { debug: }
service: { pipelines: { metrics: { probes: [dns, xdp_counter], exporters: [debug] }, logs: { probes: [dns], exporters: [debug] } } }
`);
  assert.deepEqual((ready as Array<{ probe: string; kind: string; target: string }>).map((r) => `${r.probe} ${r.kind} ${r.target}`).sort(),
    [`dns tc/egress ${net.vA}`, `dns tc/ingress ${net.vA}`, `xdp_counter xdp ${net.vA}`]);
  const pcap = path.join(dir, 'link.pcap');
  // -P prints each packet as it is written: once a UDP packet to port 9 (not DNS) shows up,
  // the capture is running and will see every query that follows.
  const shark = net.spawn(net.nsA, ['tshark', '-l', '-P', '-i', net.vA, '-w', pcap, '-f', 'port 53 or port 5353 or port 9']);
  await waitForStderr(shark, /Capturing on/, 'tshark');
  let sharkOutput = '';
  shark.stdout!.on('data', (d: Buffer) => (sharkOutput += d.toString()));
  for (let i = 0; !sharkOutput.trim(); i++) {
    assert.ok(i < 100, 'tshark never saw the sync packet');
    net.sendUdp([1], net.ipB, 9);
    await sleep(100);
  }

  for (const c of CASES) dig(net, c);
  await sleep(1600); // past query_timeout, and several ring-buffer polls
  const events: LogEvent[] = await harness.events();
  const points = await harness.collect();
  shark.kill('SIGINT');
  await new Promise((r) => (shark.exitCode !== null ? r(null) : shark.once('exit', r)));
  await harness.stop();

  const frames = sharkFrames(pcap);
  const exchanges = events.filter((e) => e.name === 'netprobe.dns.exchange');
  assert.equal(exchanges.length, CASES.length, `one log record per exchange; got ${exchanges.map((e) => e.body).join('\n')}`);

  for (const c of CASES) {
    const what = `${c.name} ${c.type}${c.tcp ? ' tcp' : ''}${c.v6 ? ' ipv6' : ''}`;
    const server = c.v6 ? net.ip6B! : net.ipB;
    const mine = exchanges.filter((e) => e.attributes['dns.question.name'] === c.name && e.attributes['netprobe.dns.question.type'] === c.type
      && e.attributes['network.transport'] === (c.tcp ? 'tcp' : 'udp') && e.attributes['server.address'] === server
      && e.attributes['server.port'] === (c.port ?? 53));
    assert.equal(mine.length, 1, `${what}: exactly one log record`);
    const a = mine[0]!.attributes;
    // What tshark saw for the same exchange: the query from our client port with our id, and its response.
    const query = frames.find((f) => !f.response && f.id === a['netprobe.dns.transaction_id'] && f.srcPort === a['client.port'] && f.tcp === !!c.tcp);
    assert.ok(query, `${what}: tshark saw the query`);
    assert.equal(query.name, c.name, `${what}: name as tshark decoded it`);
    assert.equal(query.type, TYPE_NUMBERS[c.type]);
    assert.equal(query.src, a['client.address']);
    assert.equal(query.dst, server);
    assert.equal(a['client.address'], c.v6 ? net.ip6A : net.ipA);
    assert.equal(a['network.type'], c.v6 ? 'ipv6' : 'ipv4');
    assert.equal(a['network.interface.name'], net.vA);
    assert.equal(a['network.io.direction'], 'transmit', 'the client sends its queries');
    assert.equal(a['netprobe.dns.question.class'], 'IN');
    const response = frames.find((f) => f.response && f.id === query.id && f.dstPort === query.srcPort && f.tcp === query.tcp);
    if (c.unanswered) {
      assert.equal(response, undefined, `${what}: tshark saw no response`);
      assert.equal(a['netprobe.dns.outcome'], 'timeout');
      assert.equal(a['netprobe.dns.response_code'], undefined);
      continue;
    }
    assert.ok(response, `${what}: tshark saw the response`);
    assert.equal(a['netprobe.dns.outcome'], 'answered', what);
    assert.equal(a['netprobe.dns.response_code'], c.rcode ?? 'NOERROR', what);
    assert.equal(response.rcode, RCODE_NUMBERS[a['netprobe.dns.response_code'] as string]);
    assert.equal(a['netprobe.dns.answer_count'], response.answerCount, `${what}: answer count`);
    assert.equal(a['netprobe.dns.truncated'], c.truncated ?? false, `${what}: TC flag`);
    assert.equal(response.truncated, a['netprobe.dns.truncated']);
    const answers = String(a['netprobe.dns.answers']);
    if (c.answers) assert.equal(answers, c.answers.join('; '), `${what}: answers`);
    for (const ip of response.a) assert.ok(answers.includes(`A ${ip}`), `${what}: tshark's A ${ip}`);
    for (const ip of response.aaaa) assert.ok(answers.includes(`AAAA ${ip}`), `${what}: tshark's AAAA ${ip}`);
    for (const n of response.cname) assert.ok(answers.includes(`CNAME ${n}`), `${what}: tshark's CNAME ${n}`);
    for (const n of response.mx) assert.ok(answers.includes(` ${n}`), `${what}: tshark's MX ${n}`);
    for (const s of response.txt) assert.ok(answers.includes(`"${s}"`), `${what}: tshark's TXT ${s}`);
    // The probe stamps the query before the capture tap and the response after it.
    const seen = response.time - query.time;
    const duration = (a['netprobe.dns.duration'] as number) / 1e9;
    assert.ok(duration >= seen - 0.0005 && duration <= seen + 0.05, `${what}: duration ${duration} s vs tshark ${seen} s`);
  }

  // Metrics: counts by type and response code agree with what tshark saw on the link.
  const queriesSeen = frames.filter((f) => !f.response);
  const responsesSeen = frames.filter((f) => f.response);
  for (const type of ['A', 'AAAA', 'MX', 'TXT']) {
    assert.equal(sum(points, 'netprobe.dns.queries', { 'netprobe.dns.question.type': type }), queriesSeen.filter((f) => f.type === TYPE_NUMBERS[type]).length, `queries of type ${type}`);
  }
  assert.equal(sum(points, 'netprobe.dns.queries'), CASES.length);
  for (const rcode of ['NOERROR', 'NXDOMAIN', 'SERVFAIL']) {
    assert.equal(sum(points, 'netprobe.dns.responses', { 'netprobe.dns.response_code': rcode }), responsesSeen.filter((f) => f.rcode === RCODE_NUMBERS[rcode]).length, `responses ${rcode}`);
  }
  assert.equal(sum(points, 'netprobe.dns.responses', { 'netprobe.dns.response_code': 'NXDOMAIN' }), 1);
  assert.equal(sum(points, 'netprobe.dns.responses', { 'netprobe.dns.response_code': 'SERVFAIL' }), 1);
  assert.equal(sum(points, 'dns.lookup.duration'), CASES.length - 1, 'one latency per answered query');
  assert.equal(sum(points, 'dns.lookup.duration', { 'error.type': 'nxdomain' }), 1);
  assert.equal(sum(points, 'dns.lookup.duration', { 'error.type': 'servfail' }), 1);
  const histogram = points.find((p) => p.metric === 'dns.lookup.duration')!.value as HistogramValue;
  assert.deepEqual(histogram.boundaries, [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
  assert.equal(sum(points, 'netprobe.dns.timeouts'), 1);
  assert.equal(sum(points, 'netprobe.dns.timeouts', { 'network.transport': 'udp', 'dns.question.name': 'a.test' }), 1);
  // Names are lower-cased in metrics: A.TeSt counts as a.test (5 queries for it in all).
  assert.equal(sum(points, 'netprobe.dns.queries', { 'dns.question.name': 'a.test' }), 5);
  assert.equal(sum(points, 'netprobe.dns.malformed'), 0);
  assert.equal(sum(points, 'netprobe.dns.ringbuf.dropped'), 0);
  assert.ok(sum(points, 'system.network.packet.count', { 'network.interface.name': net.vA }) >= responsesSeen.length, 'xdp_counter kept counting beside dns');
  // Every DNS message on the link was copied by the kernel once (TCP: segments with payload).
  assert.equal(sum(points, 'netprobe.dns.captured'), frames.length);

  // With real DNS traffic, every metric, attribute and log-record attribute is declared.
  for (const p of points.filter((x) => x.probe === 'dns')) {
    const spec = dns.metrics.find((m) => m.name === p.metric);
    assert.ok(spec, `undeclared metric ${p.metric}`);
    for (const key of Object.keys(p.attributes)) assert.ok(spec.attributes.includes(key) || key === 'netprobe.probe.id', `${p.metric}: undeclared ${key}`);
  }
  const declared = dns.logRecords.find((r) => r.eventName === 'netprobe.dns.exchange')!.attributes;
  for (const e of exchanges) for (const key of Object.keys(e.attributes)) assert.ok(declared.includes(key), `log record: undeclared ${key}`);
});
