import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveness, readiness, type HealthSource } from './health';

const source = (s: Partial<HealthSource>): HealthSource => ({ ready: false, lastCollectAt: undefined, startedAt: undefined, intervalMs: 10_000, ...s });

test('readiness: starting, ready, stopping', () => {
  assert.deepEqual(readiness(source({})), { status: 503, body: { status: 'starting' } });
  assert.deepEqual(readiness(source({ ready: true, startedAt: 1 })), { status: 200, body: { status: 'ready' } });
  assert.deepEqual(readiness(source({ ready: false, startedAt: 1 })), { status: 503, body: { status: 'stopping' } });
});

test('liveness: alive while starting and while collections keep coming; stalled after three intervals (30 s at least)', () => {
  const now = 1_000_000;
  assert.equal(liveness(source({}), now).status, 200, 'a slow start is not a stall');
  assert.equal(liveness(source({ startedAt: now - 29_000 }), now).status, 200, 'no collection yet, within 30 s');
  assert.deepEqual(liveness(source({ startedAt: now - 31_000 }), now), { status: 503, body: { status: 'stalled', last_collection_age_s: 31 } });
  assert.equal(liveness(source({ startedAt: 0, lastCollectAt: now - 20_000 }), now).status, 200);
  assert.equal(liveness(source({ startedAt: 0, lastCollectAt: now - 31_000 }), now).status, 503);
  assert.equal(liveness(source({ startedAt: 0, lastCollectAt: now - 50_000, intervalMs: 20_000 }), now).status, 200, 'three 20 s intervals');
});
