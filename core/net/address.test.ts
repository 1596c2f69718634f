import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { addressBytes, formatAddress, parseCidr } from './address';

test('IPv4 is stored IPv4-mapped and printed dotted', () => {
  const b = addressBytes('10.1.2.3')!;
  assert.equal(b.toString('hex'), '00000000000000000000ffff0a010203');
  assert.equal(formatAddress(b), '10.1.2.3');
});

test('IPv6 round-trips in RFC 5952 form', () => {
  for (const a of ['fd00::1', '2001:db8::8:800:200c:417a', '::', '::1', 'fe80::', '2001:db8:0:1:1:1:1:1', '1:0:0:2::3']) {
    assert.equal(formatAddress(addressBytes(a)!), a, a);
  }
  assert.equal(formatAddress(addressBytes('2001:DB8:0:0:0:0:0:1')!), '2001:db8::1');
  assert.equal(formatAddress(addressBytes('::ffff:1.2.3.4')!), '1.2.3.4');
});

test('random addresses round-trip through node:net\'s own parser', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xffff;
  for (let i = 0; i < 2000; i++) {
    const groups = Array.from({ length: 8 }, () => (rand() % 3 === 0 ? 0 : rand()));
    const text = groups.map((g) => g.toString(16)).join(':');
    const formatted = formatAddress(addressBytes(text)!);
    assert.ok(net.isIP(formatted), formatted);
    assert.deepEqual(addressBytes(formatted), addressBytes(text));
  }
});

test('CIDRs become 128-bit prefixes', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8')?.prefixLength, 104);
  assert.deepEqual(parseCidr('fd00::/8')?.prefixLength, 8);
  for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'x/8', '10.0.0/8']) assert.equal(parseCidr(bad), undefined, bad);
});
