import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planSlots, MAX_SLOTS } from './ifindex-slots';

test('one interface: a one-slot table', () => {
  const plan = planSlots([7]);
  assert.deepEqual([plan.mask, plan.size], [0, 1]);
  assert.equal(plan.slotOf.get(7), 0);
});

test('dense indexes: the smallest table that gives each its own slot', () => {
  assert.deepEqual([planSlots([2, 3, 4, 5]).size, planSlots([2, 3, 4, 6]).size], [4, 8]); // 6 & 3 === 2 & 3
  const plan = planSlots([2, 3, 4, 6]);
  assert.equal(plan.mask, 7);
  assert.deepEqual([...plan.slotOf.values()].sort(), [2, 3, 4, 6]);
});

test('indexes equal in their low bits get a table wide enough to tell them apart', () => {
  const plan = planSlots([5, 1029]); // 1029 = 1024 + 5
  assert.equal(plan.size, 2048);
  assert.notEqual(plan.slotOf.get(5), plan.slotOf.get(1029));
  for (const [ifindex, slot] of plan.slotOf) assert.equal(ifindex & plan.mask, slot);
});

test('a repeated index is one interface', () => {
  const plan = planSlots([3, 3]);
  assert.equal(plan.size, 1);
});

test('indexes that differ only above the table limit are refused, naming them', () => {
  assert.throws(() => planSlots([1, 1 + MAX_SLOTS]), /interface indexes 1, 65537 share a slot/);
});
