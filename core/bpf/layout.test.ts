import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { Btf } from './btf';
import { BpfObject } from './object';

// Opening an object only parses the ELF: no kernel, no privileges.
const object = BpfObject.open(path.join(__dirname, 'testdata', 'maps_test.bpf.o'));
const layout = object.layout('maps_test_value');

test('struct layout comes from BTF, with semantic typedefs', () => {
  assert.equal(layout.size, 48); // 44 bytes of fields, padded to 8
  const fields = Object.fromEntries(layout.fields.map((f) => [f.name, f]));
  assert.equal(fields.packets!.offset, 0);
  assert.equal(fields.packets!.semantic, 'np_counter_t');
  assert.equal(fields.last_seen!.semantic, 'np_ktime_t');
  assert.equal(fields.addr!.kind, 'bytes');
  assert.equal(fields.addr!.offset, 16);
  assert.equal(fields.ports!.kind, 'int-array');
  assert.equal(fields.inner!.kind, 'struct');
});

test('decode reads every field kind', () => {
  const buf = Buffer.alloc(layout.size);
  buf.writeUInt32LE(0xffffffff, 0);
  buf.writeUInt32LE(1, 4); // packets = 2^32 + 2^32-1
  buf.writeUInt32LE(7, 8);
  buf.fill(0xab, 16, 32);
  buf.writeUInt32LE(53, 32);
  buf.writeUInt32LE(443, 36);
  const v = layout.decode(buf);
  assert.equal(v.packets, 2 ** 33 - 1);
  assert.equal(v.last_seen, 7);
  assert.deepEqual(v.addr, Buffer.alloc(16, 0xab));
  assert.deepEqual(v.ports, [53, 443]);
});

test('per-CPU merge: counters add, timestamps take the latest, bytes keep the set copy', () => {
  const stride = layout.size;
  const buf = Buffer.alloc(stride * 3);
  buf.writeUInt32LE(1, 0);
  buf.writeUInt32LE(50, 8);
  buf.writeUInt32LE(2, stride);
  buf.writeUInt32LE(90, stride + 8);
  buf.fill(0x01, stride + 16, stride + 32);
  buf.writeUInt32LE(4, 2 * stride);
  buf.writeUInt32LE(10, 2 * stride + 8);
  const v = layout.decodePerCpu(buf, 0, stride, 3);
  assert.equal(v.packets, 7);
  assert.equal(v.last_seen, 90);
  assert.deepEqual(v.addr, Buffer.alloc(16, 0x01));
});

test('the xdp_counter value layout matches the C header', () => {
  const xdp = BpfObject.open(path.join(__dirname, '..', '..', 'plugins', 'xdp-counter', 'xdp_counter.bpf.o'));
  try {
    const l = xdp.layout('xdp_counter_value');
    const buckets = l.field('size_buckets');
    assert.equal(buckets.kind, 'int-array');
    assert.equal(buckets.kind === 'int-array' && buckets.length, xdp.knobCapacity('size_bounds') + 1);
    assert.equal(l.size, 8 * (2 + xdp.knobCapacity('size_bounds') + 1));
  } finally {
    xdp.close();
  }
});

test('BTF that is not BTF is refused', () => {
  assert.throws(() => new Btf(Buffer.alloc(64)), /bad magic/);
  const real = fs.readFileSync(path.join(__dirname, 'testdata', 'maps_test.bpf.o'));
  assert.throws(() => new Btf(real.subarray(0, 10)), /bad magic/);
});

test('a missing struct names itself', () => {
  assert.throws(() => object.layout('no_such_struct'), /struct no_such_struct not found in BTF/);
});
