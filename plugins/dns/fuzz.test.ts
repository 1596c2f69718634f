import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

interface FuzzResult {
  total: number; ok: number; malformed: number; thrown: number; slowestMs: number; consumerMalformed: number; consumerMessages: number;
  /** Messages both this decoder and dns-packet decoded, and where they disagreed. */
  libraryAgreements: number; differences: string[];
}

/** Runs the fuzz worker; a decoder that spins is stopped at the deadline and fails the test. */
function fuzz(seed: number, random: number, mutated: number, deadlineMs: number): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, '..', '..', 'test', 'helpers', 'dns', 'fuzz-worker.js'), { workerData: { seed, random, mutated } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`fuzz run (seed ${seed}) did not finish within ${deadlineMs} ms: the decoder loops`));
    }, deadlineMs);
    worker.once('message', (r: FuzzResult) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(r);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

for (const seed of [1, 0x5eed]) {
  test(`fuzz (seed ${seed}): 3000 random and 5000 mutated messages never throw, never spin, are all accounted for, and agree with dns-packet`, async () => {
    const r = await fuzz(seed, 3000, 5000, 60_000);
    assert.equal(r.total, 8000);
    assert.equal(r.thrown, 0, 'nothing thrown out of the decoder or the consumer');
    assert.equal(r.ok + r.malformed, r.total);
    // The consumer agrees with the decoder: every message is a query, a response, or malformed.
    assert.equal(r.consumerMalformed, r.malformed);
    assert.equal(r.consumerMessages, r.ok);
    // Random bytes are mostly not DNS, mutations of valid messages often still are: both paths ran.
    assert.ok(r.malformed > 3000 * 0.5, `malformed: ${r.malformed}`);
    assert.ok(r.ok > 500, `decoded: ${r.ok}`);
    assert.ok(r.slowestMs < 250, `slowest message took ${r.slowestMs} ms`);
    // Where dns-packet also decodes a message, both agree on ids, flags, names, types and data.
    assert.deepEqual(r.differences, []);
    assert.ok(r.libraryAgreements > 300, `compared with dns-packet: ${r.libraryAgreements}`);
  });
}
