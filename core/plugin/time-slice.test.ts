import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeSlice } from './time-slice';

test('a slice that has run its budget lets waiting callbacks run before it goes on', async () => {
  const slice = new TimeSlice(0);
  let ran = false;
  setImmediate(() => (ran = true));
  await slice.pause();
  assert.equal(ran, true);
});

test('within its budget a slice goes on without yielding', async () => {
  const slice = new TimeSlice(60_000);
  let ran = false;
  setImmediate(() => (ran = true));
  await slice.pause();
  assert.equal(ran, false);
});
