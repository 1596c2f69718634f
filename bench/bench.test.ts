/** Smoke: every benchmark suite still runs and yields sane figures (quick mode; numbers not judged). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suites } from './suites';
import { table } from './run';
import { kernelTestsPossible } from '../test/helpers/kernel';

for (const suite of suites) {
  test(`bench smoke: ${suite.name}`, async (t) => {
    if (suite.kernel && !kernelTestsPossible(t)) return;
    const figures = await suite.run({ quick: true, log: () => undefined });
    assert.ok(figures.length > 0);
    for (const f of figures) {
      // A smoke run is short: a cost over the empty program can round to 0 ns, and a 1% filter can
      // match nothing in 20,000 packets. It must measure something finite, never NaN or negative.
      assert.ok(Number.isFinite(f.median) && f.median >= 0, `${f.name}: median ${f.median}`);
      assert.ok(f.min <= f.median && f.median <= f.max, `${f.name}: min <= median <= max`);
      if (f.baseline) assert.ok(f.ratio !== undefined && Number.isFinite(f.ratio), `${f.name}: ratio`);
    }
    assert.match(table(figures.map((f) => ({ ...f, suite: suite.name }))), /\| median \|/);
  });
}
