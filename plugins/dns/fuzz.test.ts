import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { patience } from '../../test/helpers/slowdown';

interface FuzzResult {
  total: number; ok: number; malformed: number; thrown: number; consumerMalformed: number; consumerMessages: number;
  /** Messages both this decoder and dns-packet decoded, and where they disagreed. */
  libraryAgreements: number; differences: string[];
}

/**
 * How long the worker may go without finishing its next 100 messages (it reports every
 * 100): about a thousand times what they take on an idle machine, so only a decoder that
 * spins (never finishes a message) trips it, not a loaded machine. The run itself is
 * bounded by its message count, not by wall time.
 */
const STALL_MS = patience(30_000);

/** Runs the fuzz worker; a decoder that spins stops making progress, is stopped and fails the test. */
function fuzz(seed: number, random: number, mutated: number): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, '..', '..', 'test', 'helpers', 'dns', 'fuzz-worker.js'), { workerData: { seed, random, mutated } });
    let done = 0;
    const stalled = () => {
      void worker.terminate();
      reject(new Error(`fuzz run (seed ${seed}) made no progress for ${STALL_MS} ms after message ${done}: the decoder loops`));
    };
    let timer = setTimeout(stalled, STALL_MS);
    worker.on('message', (m: FuzzResult | { progress: number }) => {
      clearTimeout(timer);
      if ('progress' in m) {
        done = m.progress;
        timer = setTimeout(stalled, STALL_MS);
        return;
      }
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

for (const seed of [1, 0x5eed]) {
  test(`fuzz (seed ${seed}): 3000 random and 5000 mutated messages never throw, never spin, are all accounted for, and agree with dns-packet`, async () => {
    const r = await fuzz(seed, 3000, 5000);
    assert.equal(r.total, 8000);
    assert.equal(r.thrown, 0, 'nothing thrown out of the decoder or the consumer');
    assert.equal(r.ok + r.malformed, r.total);
    // The consumer agrees with the decoder: every message is a query, a response, or malformed.
    assert.equal(r.consumerMalformed, r.malformed);
    assert.equal(r.consumerMessages, r.ok);
    // Random bytes are mostly not DNS, mutations of valid messages often still are: both paths ran.
    assert.ok(r.malformed > 3000 * 0.5, `malformed: ${r.malformed}`);
    assert.ok(r.ok > 500, `decoded: ${r.ok}`);
    // Where dns-packet also decodes a message, both agree on ids, flags, names, types and data.
    assert.deepEqual(r.differences, []);
    assert.ok(r.libraryAgreements > 300, `compared with dns-packet: ${r.libraryAgreements}`);
  });
}
