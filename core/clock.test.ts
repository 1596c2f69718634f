import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wallClockOffsetNs } from './clock';

test('the wall-clock offset is the wall clock to within a ms, and the same to within 100 us from call to call', () => {
  const offsets: bigint[] = [];
  for (let i = 0; i < 40; i++) offsets.push(wallClockOffsetNs());
  const wallNs = process.hrtime.bigint() + offsets[0]!;
  const dateNs = BigInt(Date.now()) * 1_000_000n;
  assert.ok(wallNs - dateNs > -2_000_000n && wallNs - dateNs < 2_000_000n, `offset disagrees with Date.now() by ${wallNs - dateNs} ns`);
  const sorted = offsets.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Only a clock step (NTP) between two calls could move it further; a method with whole-ms
  // reads or one the scheduler can interrupt spreads by up to a millisecond.
  assert.ok(sorted[sorted.length - 1]! - sorted[0]! < 100_000n, `offsets spread over ${sorted[sorted.length - 1]! - sorted[0]!} ns`);
});

/** Clocks that replay tries of [monotonic before, realtime, monotonic after]. */
function replay(tries: Array<[number, number, number]>) {
  const reads = tries.flatMap(([before, real, after]) => [before, real, after]).map(BigInt);
  let at = 0;
  return { monotonicNs: () => reads[at++]!, realtimeNs: () => reads[at++]!, left: () => reads.length - at };
}

test('a try the scheduler interrupted loses to a tight one: the offset is the tight try\'s', () => {
  // Interrupted between the reads (2 ms wide, the wall clock read late): taken alone, 1 ms off.
  const clocks = replay([[1_000, 10_003_000, 2_001_000], [3_000_000, 13_000_500, 3_001_000]]);
  assert.equal(wallClockOffsetNs(clocks), 10_000_000n);
  assert.equal(clocks.left(), 0, 'stops at the first tight try');
  // All wide (1 ms, narrowing by 2 ns a try), only the last and tightest read on time: its offset.
  const wide = Array.from({ length: 20 }, (_, i): [number, number, number] =>
    [i * 1_000_000, i * 1_000_000 + 500_000 - i + 10_000_000 + (i === 19 ? 0 : 333_000), i * 1_000_000 + 1_000_000 - 2 * i]);
  assert.equal(wallClockOffsetNs(replay(wide)), 10_000_000n);
});
