import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { DnsConsumer, DURATION_BUCKETS, EXCHANGE_EVENT } from './consumer';
import { buildRecord, eventDecoder, eventLayout } from '../../test/helpers/dns/test-records';
import type { Attributes, HistogramValue } from '../../core/plugin/types';

const layout = eventLayout();
const MS = 1e6;

function setup(options: { timeoutMs?: number; maxPending?: number; names?: boolean; limit?: number } = {}) {
  const events: Array<{ name: string; attributes: Attributes; body: string }> = [];
  const consumer = new DnsConsumer(eventDecoder(), {
    timeoutNs: (options.timeoutMs ?? 1000) * MS,
    maxPending: options.maxPending ?? 100,
    nameAttribute: { enabled: options.names ?? false, limit: options.limit ?? 10 },
    interfaceName: (i) => `eth${i}`,
    emit: (name, attributes, body) => events.push({ name, attributes, body }),
  });
  const points = () => {
    const out: Array<{ metric: string; attributes: Attributes; value: number | HistogramValue }> = [];
    consumer.report({ record: (metric, attributes, value) => out.push({ metric, attributes, value }) });
    return out;
  };
  return { consumer, events, points };
}

const CLIENT = { source: '10.1.0.1', sourcePort: 40000, destination: '10.1.0.53', destinationPort: 53 };
const REVERSE = { source: '10.1.0.53', sourcePort: 53, destination: '10.1.0.1', destinationPort: 40000 };

function query(id: number, name: string, type = 'A') {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
}
function answer(id: number, name: string, rcode = 0, data = ['10.9.9.9']) {
  return dnsPacket.encode({
    id, type: 'response', flags: 0x8180 | rcode, questions: [{ name, type: 'A' }],
    answers: rcode ? [] : data.map((d) => ({ name, type: 'A', ttl: 5, data: d })),
  });
}

test('a response is matched to its query: one log record with the latency and addressing', () => {
  const { consumer, events, points } = setup();
  consumer.handle(buildRecord(layout, { timestampNs: 1_000 * MS, egress: true, ...CLIENT, payload: query(77, 'Host.Test') }));
  consumer.handle(buildRecord(layout, { timestampNs: 1_003 * MS, ...REVERSE, payload: answer(77, 'Host.Test', 0, ['10.9.9.9', '10.9.9.8']) }));
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.equal(e.name, EXCHANGE_EVENT);
  assert.deepEqual(e.attributes, {
    'netprobe.dns.outcome': 'answered',
    'client.address': '10.1.0.1', 'client.port': 40000, 'server.address': '10.1.0.53', 'server.port': 53,
    'network.transport': 'udp', 'network.type': 'ipv4', 'network.interface.name': 'eth1', 'network.io.direction': 'transmit',
    'netprobe.dns.transaction_id': 77, 'dns.question.name': 'Host.Test', 'netprobe.dns.question.type': 'A',
    'netprobe.dns.question.class': 'IN', 'netprobe.dns.question_count': 1,
    'netprobe.dns.response_code': 'NOERROR', 'netprobe.dns.answer_count': 2, 'netprobe.dns.answers': 'A 10.9.9.9; A 10.9.9.8',
    'netprobe.dns.truncated': false, 'netprobe.dns.capture_truncated': false, 'netprobe.dns.duration': 3_000_000,
  });
  assert.equal(consumer.pending, 0);
  const p = points();
  const duration = p.find((x) => x.metric === 'dns.lookup.duration')!.value as HistogramValue;
  assert.deepEqual(duration.boundaries, DURATION_BUCKETS);
  assert.equal(duration.count, 1);
  assert.equal(duration.counts[0], 1, '3 ms lands in the first bucket (<= 5 ms)');
  assert.equal(p.find((x) => x.metric === 'netprobe.dns.queries')!.value, 1);
  assert.deepEqual(p.find((x) => x.metric === 'netprobe.dns.responses')!.attributes['netprobe.dns.response_code'], 'NOERROR');
});

test('a response from another server, port or id does not match', () => {
  const { consumer, events } = setup();
  consumer.handle(buildRecord(layout, { timestampNs: 0, ...CLIENT, payload: query(5, 'a.test') }));
  consumer.handle(buildRecord(layout, { timestampNs: MS, ...REVERSE, source: '10.1.0.54', payload: answer(5, 'a.test') }));
  consumer.handle(buildRecord(layout, { timestampNs: MS, ...REVERSE, destinationPort: 40001, payload: answer(5, 'a.test') }));
  consumer.handle(buildRecord(layout, { timestampNs: MS, ...REVERSE, payload: answer(6, 'a.test') }));
  consumer.handle(buildRecord(layout, { timestampNs: MS, ...REVERSE, tcp: true, payload: Buffer.concat([Buffer.from([0, answer(5, 'a.test').length]), answer(5, 'a.test')]) }));
  assert.deepEqual(events.map((e) => e.attributes['netprobe.dns.outcome']), ['unmatched', 'unmatched', 'unmatched', 'unmatched']);
  assert.equal(events[0]!.attributes['client.address'], '10.1.0.1', 'an unmatched response still names its client');
  assert.equal(consumer.pending, 1);
});

test('an unanswered query times out once, after the timeout and not before', () => {
  const { consumer, events, points } = setup({ timeoutMs: 500 });
  consumer.handle(buildRecord(layout, { timestampNs: 10_000 * MS, ...CLIENT, payload: query(1, 'slow.test', 'MX') }));
  consumer.expire(10_499 * MS);
  assert.equal(events.length, 0);
  consumer.expire(10_500 * MS);
  consumer.expire(20_000 * MS);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.attributes['netprobe.dns.outcome'], 'timeout');
  assert.equal(events[0]!.attributes['netprobe.dns.response_code'], undefined);
  const t = points().find((p) => p.metric === 'netprobe.dns.timeouts')!;
  assert.equal(t.value, 1);
  assert.equal(t.attributes['netprobe.dns.question.type'], 'MX');
  // A late response is now unmatched.
  consumer.handle(buildRecord(layout, { timestampNs: 20_001 * MS, ...REVERSE, payload: answer(1, 'slow.test') }));
  assert.equal(events[1]!.attributes['netprobe.dns.outcome'], 'unmatched');
});

test('the pending table is bounded: the oldest query is given up and counted', () => {
  const { consumer, points } = setup({ maxPending: 3 });
  for (let id = 0; id < 5; id++) consumer.handle(buildRecord(layout, { timestampNs: id, ...CLIENT, payload: query(id, 'x.test') }));
  assert.equal(consumer.pending, 3);
  assert.equal(points().find((p) => p.metric === 'netprobe.dns.pending.evicted')!.value, 2);
});

test('query names as metric attributes only when enabled, lower-cased, and beyond the limit as "other"', () => {
  const off = setup();
  off.consumer.handle(buildRecord(layout, { timestampNs: 0, ...CLIENT, payload: query(1, 'a.test') }));
  assert.equal(off.points().find((p) => p.metric === 'netprobe.dns.queries')!.attributes['dns.question.name'], undefined);

  const on = setup({ names: true, limit: 2 });
  ['A.test', 'a.TEST', 'b.test', 'c.test', 'd.test'].forEach((name, id) =>
    on.consumer.handle(buildRecord(layout, { timestampNs: id, ...CLIENT, sourcePort: 1000 + id, payload: query(id, name) })));
  const byName = Object.fromEntries(on.points().filter((p) => p.metric === 'netprobe.dns.queries').map((p) => [p.attributes['dns.question.name'], p.value]));
  assert.deepEqual(byName, { 'a.test': 2, 'b.test': 1, other: 2 });
});

test('malformed messages are counted by reason and never reach the matcher', () => {
  const { consumer, events, points } = setup();
  consumer.handle(buildRecord(layout, { timestampNs: 0, ...CLIENT, payload: Buffer.alloc(5) }));
  consumer.handle(buildRecord(layout, { timestampNs: 0, ...CLIENT, payload: Buffer.from('000100000001000000000000c00c00010001', 'hex') }));
  consumer.handle(buildRecord(layout, { timestampNs: 0, ...CLIENT, tcp: true, payload: Buffer.from([1]) }));
  consumer.handle(Buffer.alloc(3)); // not a record at all
  const reasons = Object.fromEntries(points().filter((p) => p.metric === 'netprobe.dns.malformed').map((p) => [p.attributes['error.type'], p.value]));
  assert.deepEqual(reasons, { too_short: 1, bad_name: 1, tcp_length: 1 });
  assert.equal(consumer.badRecords, 1);
  assert.equal(consumer.pending, 0);
  assert.equal(events.length, 0);
});

test('error responses carry error.type on the latency histogram', () => {
  const { consumer, points } = setup();
  consumer.handle(buildRecord(layout, { timestampNs: 0, ...CLIENT, payload: query(1, 'nx.test') }));
  consumer.handle(buildRecord(layout, { timestampNs: 2_000 * MS, ...REVERSE, payload: answer(1, 'nx.test', 3) }));
  const h = points().find((p) => p.metric === 'dns.lookup.duration')!;
  assert.equal(h.attributes['error.type'], 'nxdomain');
  assert.deepEqual((h.value as HistogramValue).counts, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], '2 s lands in (1, 2.5]');
});

test('IPv6 addresses and TCP are reported as such', () => {
  const { consumer, events } = setup();
  const q = query(2, 'v6.test');
  const a = answer(2, 'v6.test');
  const len = (b: Buffer) => Buffer.from([b.length >> 8, b.length & 0xff]);
  consumer.handle(buildRecord(layout, { timestampNs: 0, tcp: true, source: 'fd00:1::1', sourcePort: 5000, destination: 'fd00:1::53', destinationPort: 53, payload: Buffer.concat([len(q), q]) }));
  consumer.handle(buildRecord(layout, { timestampNs: MS, tcp: true, source: 'fd00:1::53', sourcePort: 53, destination: 'fd00:1::1', destinationPort: 5000, payload: Buffer.concat([len(a), a]) }));
  assert.equal(events.length, 1);
  assert.equal(events[0]!.attributes['client.address'], 'fd00:1::1');
  assert.equal(events[0]!.attributes['network.type'], 'ipv6');
  assert.equal(events[0]!.attributes['network.transport'], 'tcp');
});
