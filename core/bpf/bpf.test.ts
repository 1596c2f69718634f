import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { BpfObject } from './object';
import { BpfLoadError } from '../errors';
import { testRun } from './test-run';

const testdata = (name: string) => path.join(__dirname, 'testdata', name);

test('a program the verifier rejects fails to load with the verifier log', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = BpfObject.open(testdata('verifier_reject.bpf.o'));
  t.after(() => object.close());
  assert.throws(() => object.load(), (err: unknown) => {
    assert.ok(err instanceof BpfLoadError);
    assert.equal(err.code, 'NETPROBE_ERR_BPF_LOAD');
    assert.match(err.verifierLog, /invalid access to packet/);
    assert.match(err.message, /loading .*verifier_reject\.bpf\.o \(program verifier_reject\)/);
    assert.equal(err.program, 'verifier_reject');
    return true;
  });
});

test('a map with 20,000 entries is read whole in batches', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = BpfObject.open(testdata('maps_test.bpf.o'));
  t.after(() => object.close());
  object.load();
  const map = object.map('maps_test_hash');
  const layout = object.layout('maps_test_value');
  map.expectLayout(layout, 4);
  const n = 20_000;
  const keys = Buffer.alloc(n * 4);
  const values = Buffer.alloc(n * map.valueSize);
  for (let i = 0; i < n; i++) {
    keys.writeUInt32LE(i * 7, i * 4);
    values.writeUInt32LE(i, i * map.valueSize); // packets = i
  }
  map.updateBatch(keys, values);
  const entries = map.readDecoded(layout);
  assert.equal(entries.length, n);
  const byKey = new Map(entries.map((e) => [e.key.readUInt32LE(0), e.value.packets as number]));
  for (let i = 0; i < n; i += 997) assert.equal(byKey.get(i * 7), i);
  assert.equal(map.deleteBatch(keys.subarray(0, 100 * 4)), 100);
  assert.equal(map.readAll().count, n - 100);
  assert.equal(map.readAndDeleteAll().count, n - 100);
  assert.equal(map.readAll().count, 0);
});

test('batches() hands out every entry exactly once, a syscall at a time, in one batch-sized buffer', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = BpfObject.open(testdata('maps_test.bpf.o'));
  t.after(() => object.close());
  object.load();
  const map = object.map('maps_test_hash');
  const n = 20_000;
  const keys = Buffer.alloc(n * 4);
  const values = Buffer.alloc(n * map.valueSize);
  for (let i = 0; i < n; i++) {
    keys.writeUInt32LE(i * 7, i * 4);
    values.writeUInt32LE(i, i * map.valueSize);
  }
  map.updateBatch(keys, values);
  const seen = new Map<number, number>();
  let batches = 0;
  let buffer: ArrayBufferLike | undefined;
  for (const batch of map.batches()) {
    batches++;
    assert.ok(batch.count <= 4096, `a batch holds at most one syscall's entries (${batch.count})`);
    buffer ??= batch.keys.buffer;
    assert.equal(batch.keys.buffer, buffer, 'every batch reuses the same buffer');
    for (let i = 0; i < batch.count; i++) {
      const key = batch.keys.readUInt32LE(i * 4);
      assert.equal(seen.has(key), false, `key ${key} seen twice`);
      seen.set(key, batch.values.readUInt32LE(i * map.entryValueBytes));
    }
  }
  assert.ok(batches >= 5, `${batches} batches`);
  assert.equal(seen.size, n);
  for (let i = 0; i < n; i += 997) assert.equal(seen.get(i * 7), i);
});

test('per-CPU values are summed over CPUs', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = BpfObject.open(testdata('maps_test.bpf.o'));
  t.after(() => object.close());
  object.load();
  const map = object.map('maps_test_percpu');
  const layout = object.layout('maps_test_value');
  const key = Buffer.alloc(4);
  // One value per CPU: CPU i has packets = i + 1 and last_seen = 100 * (i + 1).
  const value = Buffer.alloc(map.entryValueBytes);
  for (let cpu = 0; cpu < map.cpus; cpu++) {
    value.writeUInt32LE(cpu + 1, cpu * map.valueStride);
    value.writeUInt32LE(100 * (cpu + 1), cpu * map.valueStride + 8);
  }
  map.update(key, value);
  testRun(object.programFd('maps_test'), Buffer.alloc(64), 5); // +5 on whichever CPU runs it
  const [entry] = map.readDecoded(layout);
  const cpus = map.cpus;
  assert.equal(entry!.value.packets, (cpus * (cpus + 1)) / 2 + 5);
  assert.equal(entry!.value.last_seen, 100 * cpus, 'timestamps take the latest copy, not the sum');
});

test('knobs and map sizes can only change before load', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = BpfObject.open(path.join(__dirname, '..', '..', 'plugins', 'xdp-counter', 'xdp_counter.bpf.o'));
  t.after(() => object.close());
  assert.throws(() => object.setKnob('size_bounds', new Array(17).fill(1)), /do not fit \(capacity 16\)/);
  assert.throws(() => object.setKnob('no_such_knob', 1), /no const volatile variable no_such_knob/);
  object.load();
  assert.throws(() => object.setKnob('size_bounds_len', 1), /only possible before load/);
  assert.throws(() => object.map('no_such_map'), /no map named no_such_map/);
});
