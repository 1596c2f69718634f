import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { decodeMessage, type DnsMessage } from './message';
import { resolvedAddresses } from './resolved';

function response(question: string, answers: dnsPacket.Answer[], rcode = 0): DnsMessage {
  const bytes = dnsPacket.encode({ id: 1, type: 'response', flags: 0x8180 | rcode, questions: [{ name: question, type: 'A' }], answers });
  const decoded = decodeMessage(bytes, 'udp');
  assert.ok(decoded.ok);
  return decoded.message;
}

test('each A and AAAA address gets the asked name and its TTL', () => {
  const m = response('Web.Test', [
    { name: 'web.test', type: 'A', ttl: 30, data: '192.0.2.1' },
    { name: 'web.test', type: 'AAAA', ttl: 40, data: '2001:db8::1' },
  ]);
  assert.deepEqual(resolvedAddresses(m), [
    { address: '192.0.2.1', name: 'web.test', ttl: 30 },
    { address: '2001:db8::1', name: 'web.test', ttl: 40 },
  ]);
});

test('a CNAME chain keeps the asked name, with the smallest TTL along the chain', () => {
  const m = response('www.test', [
    { name: 'www.test', type: 'CNAME', ttl: 20, data: 'cdn.test' },
    { name: 'cdn.test', type: 'CNAME', ttl: 300, data: 'edge.test' },
    { name: 'edge.test', type: 'A', ttl: 60, data: '192.0.2.7' },
  ]);
  assert.deepEqual(resolvedAddresses(m), [{ address: '192.0.2.7', name: 'www.test', ttl: 20 }]);
});

test('records off the chain name nothing', () => {
  const m = response('www.test', [
    { name: 'www.test', type: 'A', ttl: 60, data: '192.0.2.1' },
    { name: 'other.test', type: 'A', ttl: 60, data: '192.0.2.99' },
    { name: 'www.test', type: 'TXT', ttl: 60, data: 'x' },
  ]);
  assert.deepEqual(resolvedAddresses(m).map((r) => r.address), ['192.0.2.1']);
});

test('queries, errors and answers without a question publish nothing', () => {
  assert.deepEqual(resolvedAddresses(response('nx.test', [], 3)), []);
  const query = decodeMessage(dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'q.test', type: 'A' }] }), 'udp');
  assert.ok(query.ok);
  assert.deepEqual(resolvedAddresses(query.message), []);
  const noQuestion = decodeMessage(dnsPacket.encode({ id: 1, type: 'response', flags: 0x8180, answers: [{ name: 'a.test', type: 'A', ttl: 1, data: '192.0.2.1' }] }), 'udp');
  assert.ok(noQuestion.ok);
  assert.deepEqual(resolvedAddresses(noQuestion.message), []);
});
