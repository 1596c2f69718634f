import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiringTable } from './expiring-table';
import { createSharedFacts } from './shared-facts';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('an entry lives for its TTL, then is gone', () => {
  const c = clock();
  const table = new ExpiringTable<string, string>(10, c.now);
  table.publish('10.0.0.1', 'a.test', 1000);
  assert.equal(table.lookup('10.0.0.1'), 'a.test');
  c.advance(999);
  assert.equal(table.lookup('10.0.0.1'), 'a.test');
  c.advance(1);
  assert.equal(table.lookup('10.0.0.1'), undefined);
  assert.equal(table.size, 0, 'an expired entry found by a lookup is removed');
  assert.equal(table.lookup('10.0.0.2'), undefined, 'never published');
});

test('a later publication replaces the value and restarts the TTL', () => {
  const c = clock();
  const table = new ExpiringTable<string, string>(10, c.now);
  table.publish('k', 'first', 100);
  c.advance(90);
  table.publish('k', 'second', 100);
  c.advance(90);
  assert.equal(table.lookup('k'), 'second');
  assert.equal(table.size, 1);
});

test('a TTL of zero or less publishes nothing', () => {
  const table = new ExpiringTable<string, string>(10, clock().now);
  table.publish('k', 'v', 0);
  table.publish('k', 'v', -5);
  table.publish('k', 'v', Number.NaN);
  assert.equal(table.size, 0);
});

test('a full table drops what expired first, then the oldest publication, and counts only the latter', () => {
  const c = clock();
  const table = new ExpiringTable<string, number>(3, c.now);
  table.publish('short', 1, 500);
  table.publish('a', 2, 10_000);
  table.publish('b', 3, 10_000);
  c.advance(2000); // 'short' expired, not yet looked up
  table.publish('c', 4, 10_000);
  assert.equal(table.size, 3);
  assert.equal(table.evicted, 0, 'an expired entry making room is not an eviction');
  assert.equal(table.lookup('a'), 2);
  table.publish('d', 5, 10_000);
  assert.equal(table.evicted, 1);
  assert.equal(table.lookup('a'), undefined, 'the oldest publication made room');
  assert.deepEqual(['b', 'c', 'd'].map((k) => table.lookup(k)), [3, 4, 5]);
  // Re-publishing 'b' makes it the newest: 'c' is now the oldest.
  table.publish('b', 6, 10_000);
  table.publish('e', 7, 10_000);
  assert.equal(table.lookup('c'), undefined);
  assert.equal(table.lookup('b'), 6);
  assert.equal(table.size, 3);
  assert.equal(table.evicted, 2);
});

test('the table never holds more than its capacity, whatever is published', () => {
  const table = new ExpiringTable<number, number>(100, clock().now);
  for (let i = 0; i < 10_000; i++) table.publish(i, i, 60_000);
  assert.equal(table.size, 100);
  assert.equal(table.evicted, 9_900);
  assert.equal(table.lookup(9_999), 9_999);
  assert.equal(table.lookup(9_899), undefined);
});

test('a bad capacity is refused', () => {
  assert.throws(() => new ExpiringTable(0), /capacity must be a positive integer/);
});

test('shared facts: one address-name table with the documented capacity', () => {
  const facts = createSharedFacts();
  assert.equal(facts.addressNames.capacity, 65_536);
  facts.addressNames.publish('fd00::1', 'v6.test', 1000);
  assert.equal(facts.addressNames.lookup('fd00::1'), 'v6.test');
});
