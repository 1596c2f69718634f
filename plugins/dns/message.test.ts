import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { decodeMessage, type DecodeResult, type DnsMessage } from './message';
import { formatIpv6 } from '../../core/net/address';

function ok(r: DecodeResult): DnsMessage {
  assert.ok(r.ok, `expected a message, got ${JSON.stringify(r)}`);
  return r.message;
}

const header = (id: number, flags: number, qd: number, an: number, ns = 0, ar = 0) => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0); h.writeUInt16BE(flags, 2); h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6); h.writeUInt16BE(ns, 8); h.writeUInt16BE(ar, 10);
  return h;
};
const labels = (...parts: string[]) => Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])), Buffer.from([0])]);
const u16 = (...v: number[]) => Buffer.concat(v.map((x) => { const b = Buffer.alloc(2); b.writeUInt16BE(x); return b; }));

test('a query: id, flags, question name, type and class', () => {
  const m = ok(decodeMessage(dnsPacket.encode({ id: 4711, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'Www.Example.Test', type: 'AAAA' }] }), 'udp'));
  assert.equal(m.id, 4711);
  assert.equal(m.isResponse, false);
  assert.deepEqual(m.questions, [{ name: 'Www.Example.Test', type: 'AAAA', class: 'IN' }]);
  assert.equal(m.answerCount, 0);
  assert.equal(m.captureTruncated, false);
});

test('a response with compressed names, a CNAME chain, several record types and EDNS0', () => {
  // Hand-built so the compression pointers are exactly what a server writes.
  const q = labels('www', 'example', 'test'); // at offset 12
  const msg = Buffer.concat([
    header(7, 0x8180, 1, 5, 0, 1),
    q, u16(1, 1),
    u16(0xc00c, 5, 1), Buffer.from([0, 0, 0, 60]), u16(6), Buffer.from([3, 0x77, 0x65, 0x62]), u16(0xc010), // www.example.test CNAME web.example.test
    u16(0xc02e, 1, 1), Buffer.from([0, 0, 0, 60]), u16(4), Buffer.from([192, 0, 2, 1]),                      // web... A
    u16(0xc02e, 28, 1), Buffer.from([0, 0, 0, 60]), u16(16), Buffer.from('20010db8000000000000000000000001', 'hex'),
    u16(0xc010, 15, 1), Buffer.from([0, 0, 0, 60]), u16(4), u16(10), u16(0xc02e),                         // example.test MX 10 web...
    u16(0xc010, 16, 1), Buffer.from([0, 0, 0, 60]), u16(9), Buffer.from([3, 0x61, 0x62, 0x63, 4, 0x64, 0x65, 0x66, 0x67]),
    Buffer.from([0]), u16(41, 1232), Buffer.from([0, 0, 0, 0]), u16(0), // OPT
  ]);
  const m = ok(decodeMessage(msg, 'udp'));
  assert.equal(m.isResponse, true);
  assert.equal(m.rcode, 'NOERROR');
  assert.equal(m.answerCount, 5);
  assert.deepEqual(m.answers.map((a) => `${a.name} ${a.type} ${a.data}`), [
    'www.example.test CNAME web.example.test',
    'web.example.test A 192.0.2.1',
    'web.example.test AAAA 2001:db8::1',
    'example.test MX 10 web.example.test',
    'example.test TXT "abc" "defg"',
  ]);
  assert.deepEqual(m.answers.map((a) => a.ttl), [60, 60, 60, 60, 60]);
});

test('response codes and the TC flag', () => {
  const nx = ok(decodeMessage(Buffer.concat([header(1, 0x8183, 1, 0), labels('nx', 'test'), u16(1, 1)]), 'udp'));
  assert.equal(nx.rcode, 'NXDOMAIN');
  const fail = ok(decodeMessage(Buffer.concat([header(1, 0x8182, 1, 0), labels('x', 'test'), u16(1, 1)]), 'udp'));
  assert.equal(fail.rcode, 'SERVFAIL');
  const tc = ok(decodeMessage(Buffer.concat([header(1, 0x8380, 1, 0), labels('big', 'test'), u16(16, 1)]), 'udp'));
  assert.equal(tc.truncated, true);
});

test('names at the limits: 63-byte labels and a 255-byte name decode; longer ones are malformed', () => {
  const l63 = 'a'.repeat(63);
  const m = ok(decodeMessage(Buffer.concat([header(1, 0x0100, 1, 0), labels(l63, 'test'), u16(1, 1)]), 'udp'));
  assert.equal(m.questions[0]!.name, `${l63}.test`);
  // 4 labels of 63 bytes = 4 * 64 + 1 = 257 bytes on the wire: over the 255 limit.
  const tooLong = decodeMessage(Buffer.concat([header(1, 0x0100, 1, 0), labels(l63, l63, l63, l63), u16(1, 1)]), 'udp');
  assert.deepEqual(tooLong, { ok: false, reason: 'bad_name' });
  // 3 * 64 + 62 + 1 = 255 bytes on the wire: the longest legal name.
  const longest = ok(decodeMessage(Buffer.concat([header(1, 0x0100, 1, 0), labels(l63, l63, l63, 'b'.repeat(61)), u16(1, 1)]), 'udp'));
  assert.equal(longest.questions[0]!.name.length, 253);
  // 0x40 and 0x80 label types do not exist: a 64-byte "label" is malformed.
  assert.deepEqual(decodeMessage(Buffer.concat([header(1, 0x0100, 1, 0), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0]), u16(1, 1)]), 'udp'), { ok: false, reason: 'bad_name' });
});

test('compression pointer loops are rejected, not followed', () => {
  const self = Buffer.concat([header(1, 0x0100, 1, 0), u16(0xc00c), u16(1, 1)]);
  assert.deepEqual(decodeMessage(self, 'udp'), { ok: false, reason: 'bad_name' });
  // Two names pointing at each other.
  const pair = Buffer.concat([header(1, 0x8180, 1, 1), Buffer.from([1, 0x61]), u16(0xc01a), u16(1, 1), Buffer.from([1, 0x62]), u16(0xc00c), u16(1, 1), Buffer.from([0, 0, 0, 1]), u16(0)]);
  assert.deepEqual(decodeMessage(pair, 'udp'), { ok: false, reason: 'bad_name' });
});

test('TCP messages carry a two-byte length first', () => {
  const msg = dnsPacket.encode({ id: 9, type: 'query', questions: [{ name: 'tcp.test', type: 'TXT' }] });
  const m = ok(decodeMessage(Buffer.concat([u16(msg.length), msg]), 'tcp'));
  assert.equal(m.questions[0]!.name, 'tcp.test');
  assert.deepEqual(decodeMessage(Buffer.from([0]), 'tcp'), { ok: false, reason: 'tcp_length' });
  assert.deepEqual(decodeMessage(u16(3, 0, 0), 'tcp'), { ok: false, reason: 'tcp_length' });
});

test('a message cut by the capture limit keeps its header and questions', () => {
  const full = dnsPacket.encode({
    id: 3, type: 'response', flags: 0x8180, questions: [{ name: 'many.test', type: 'A' }],
    answers: Array.from({ length: 40 }, (_, i) => ({ name: 'many.test', type: 'A', ttl: 1, data: `10.0.0.${i}` })),
  });
  const m = ok(decodeMessage(full.subarray(0, 100), 'udp', full.length));
  assert.equal(m.captureTruncated, true);
  assert.equal(m.answerCount, 40);
  assert.deepEqual(m.questions, [{ name: 'many.test', type: 'A', class: 'IN' }]);
  // 12 + 15 bytes of header and question, then 25-byte answers (names not compressed): two complete ones are kept.
  assert.deepEqual(m.answers.map((a) => a.data), ['10.0.0.0', '10.0.0.1']);
  // The same bytes without the knowledge that more was on the wire are malformed.
  assert.equal(decodeMessage(full.subarray(0, 100), 'udp').ok, false);
  assert.deepEqual(decodeMessage(Buffer.alloc(11), 'udp'), { ok: false, reason: 'too_short' });
  // Counts that cannot fit in the bytes are rejected before any decoding.
  assert.deepEqual(decodeMessage(Buffer.concat([header(1, 0x8180, 1, 65535), labels('a', 'test'), u16(1, 1)]), 'udp'), { ok: false, reason: 'bad_count' });
  assert.deepEqual(decodeMessage(Buffer.concat([header(1, 0x8180, 9, 0), labels('a', 'test'), u16(1, 1)]), 'udp', 500), { ok: false, reason: 'bad_count' });
});

test('labels print as in zone files; unknown types, classes and codes get RFC 3597 names', () => {
  const odd = Buffer.concat([header(1, 0x810f, 1, 1), Buffer.from([5, 0x61, 0x2e, 0x5c, 0x00, 0xff, 4, 0x74, 0x65, 0x73, 0x74, 0]), u16(65280, 7),
    u16(0xc00c, 65280, 1), Buffer.from([0x12, 0x34, 0x56, 0x78]), u16(3), Buffer.from([1, 2, 3])]);
  const m = ok(decodeMessage(odd, 'udp'));
  assert.equal(m.questions[0]!.name, 'a\\.\\\\\\000\\255.test');
  assert.equal(m.questions[0]!.type, 'TYPE65280');
  assert.equal(m.questions[0]!.class, 'CLASS7');
  assert.equal(m.rcode, 'RCODE15');
  assert.deepEqual(m.answers, [{ name: 'a\\.\\\\\\000\\255.test', type: 'TYPE65280', ttl: 0x12345678, data: '010203' }]);
});

test('SRV and SOA data; record data that does not match its type is malformed', () => {
  const m = ok(decodeMessage(dnsPacket.encode({
    id: 1, type: 'response', flags: 0x8180, questions: [{ name: 'x.test', type: 'SRV' }],
    answers: [
      { name: 'x.test', type: 'SRV', ttl: 1, data: { priority: 1, weight: 2, port: 53, target: 'ns.x.test' } },
      { name: 'x.test', type: 'SOA', ttl: 1, data: { mname: 'ns.x.test', rname: 'h.x.test', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 } },
    ],
  }), 'udp'));
  assert.deepEqual(m.answers.map((a) => a.data), ['1 2 53 ns.x.test', 'ns.x.test h.x.test 7 1 2 3 4']);
  const shortA = Buffer.concat([header(1, 0x8180, 1, 1), labels('a', 'test'), u16(1, 1), u16(0xc00c, 1, 1), Buffer.from([0, 0, 0, 1]), u16(3), Buffer.from([1, 2, 3])]);
  assert.deepEqual(decodeMessage(shortA, 'udp'), { ok: false, reason: 'bad_record' });
  const overrun = Buffer.concat([header(1, 0x8180, 1, 1), labels('a', 'test'), u16(1, 1), u16(0xc00c, 1, 1), Buffer.from([0, 0, 0, 1]), u16(40), Buffer.from([1, 2, 3, 4])]);
  assert.deepEqual(decodeMessage(overrun, 'udp'), { ok: false, reason: 'bad_record' });
  // RDLENGTH is authoritative: a CNAME whose name does not fill its data is malformed.
  const padded = Buffer.concat([header(1, 0x8180, 1, 1), labels('a', 'test'), u16(1, 1), u16(0xc00c, 5, 1), Buffer.from([0, 0, 0, 1]), u16(4), u16(0xc00c), Buffer.from([1, 0x61])]);
  assert.deepEqual(decodeMessage(padded, 'udp'), { ok: false, reason: 'bad_record' });
});

test('IPv6 text form follows RFC 5952', () => {
  const cases: Array<[string, string]> = [
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['fd000000000000010000000000000000', 'fd00:0:0:1::'],
    ['20010db8000100000001000000000001', '2001:db8:1:0:1::1'],
    ['20010db8000000010000000000010001', '2001:db8:0:1::1:1'],
    ['fe800000000000000211223344556677', 'fe80::211:2233:4455:6677'],
  ];
  for (const [hex, text] of cases) assert.equal(formatIpv6(Buffer.from(hex, 'hex')), text);
});
