import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowIndex, wordsOf } from './flow-index';

const bytesOf = (n: number) => {
  const b = Buffer.alloc(44);
  b.writeUInt32LE(n % 7, 0); // shared prefixes, like a real flow table (few interfaces)
  b.writeUInt32LE(n, 24);
  return b;
};
const keyOf = (n: number) => wordsOf(bytesOf(n));

test('finds every key under churn as a Map would (inserts, deletes, growth, probe runs)', () => {
  const index = new FlowIndex(44, 0);
  const reference = new Map<number, number>(); // key number -> slot
  const free: number[] = [];
  let next = 0;
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let step = 0; step < 60_000; step++) {
    const n = Math.floor(rand() * 20_000);
    const present = reference.get(n);
    if (present === undefined) {
      const slot = free.pop() ?? next++;
      index.reserve(slot + 1);
      index.insert(keyOf(n), 0, slot);
      reference.set(n, slot);
    } else if (rand() < 0.5) {
      index.remove(present);
      reference.delete(n);
      free.push(present);
    }
  }
  assert.equal(index.size, reference.size);
  for (let n = 0; n < 20_000; n++) assert.equal(index.find(keyOf(n), 0), reference.get(n) ?? -1, `key ${n}`);
  for (const [n, slot] of reference) assert.deepEqual(index.key(slot), bytesOf(n));
});

test('a key is found at any offset of a batch buffer, aligned or not', () => {
  const index = new FlowIndex(44, 4);
  index.insert(keyOf(1), 0, 3);
  const bytes = Buffer.concat([Buffer.alloc(1), bytesOf(2), bytesOf(1)]).subarray(1); // unaligned, as a pooled buffer can be
  const batch = wordsOf(bytes);
  assert.equal(index.find(batch, 11), 3);
  assert.equal(index.find(batch, 0), -1);
});
