import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { BpfObject } from './object';
import { RingBufferReader } from './ringbuf';
import { testRun } from './test-run';
import { patience } from '../../test/helpers/slowdown';

const OBJECT = path.join(__dirname, 'testdata', 'ringbuf_test.bpf.o');
const PACKET = Buffer.alloc(64, 0);

function open(ringBytes?: number): BpfObject {
  const object = BpfObject.open(OBJECT);
  if (ringBytes) object.setMaxEntries('ringbuf_test_events', ringBytes);
  object.load();
  return object;
}

function counters(object: BpfObject): { submitted: number; dropped: number } {
  const [entry] = object.map('ringbuf_test_counters').readDecoded(object.layout('ringbuf_test_counters'));
  return entry!.value as { submitted: number; dropped: number };
}

test('every record arrives once, in order, with its content', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open();
  t.after(() => object.close());
  const layout = object.layout('ringbuf_test_record');
  const seen: Array<{ seq: number; len: number }> = [];
  const reader = new RingBufferReader('events', object.map('ringbuf_test_events').fd, (r) => {
    seen.push(layout.decode(r) as { seq: number; len: number });
  });
  t.after(() => reader.close());
  assert.equal(reader.drain(), 0, 'an empty ring drains nothing');
  testRun(object.programFd('ringbuf_test'), PACKET, 1000);
  assert.equal(reader.drain(), 1000);
  assert.equal(seen.length, 1000);
  assert.deepEqual(seen.map((r) => r.seq), [...Array(1000).keys()]);
  assert.ok(seen.every((r) => r.len === PACKET.length));
  assert.equal(counters(object).dropped, 0);
});

test('a full ring drops in the kernel and counts it; nothing is lost silently', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open(4096);
  t.after(() => object.close());
  let received = 0;
  const reader = new RingBufferReader('events', object.map('ringbuf_test_events').fd, () => received++);
  t.after(() => reader.close());
  testRun(object.programFd('ringbuf_test'), PACKET, 1000);
  reader.drain();
  const { submitted, dropped } = counters(object);
  assert.ok(dropped > 0, 'a 4 KiB ring should overflow with 1000 records');
  assert.equal(submitted, received);
  assert.equal(received + dropped, 1000);
});

test('polling delivers records on a timer while the event loop stays free', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open();
  t.after(() => object.close());
  let received = 0;
  const reader = new RingBufferReader('events', object.map('ringbuf_test_events').fd, () => received++);
  t.after(() => reader.close());
  reader.poll(10, (err) => assert.fail(String(err)));
  testRun(object.programFd('ringbuf_test'), PACKET, 50);
  let ticks = 0;
  const deadline = Date.now() + patience(5000);
  while (received < 50 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    ticks++;
  }
  assert.equal(received, 50);
  assert.ok(ticks >= 1);
});

test('an exception in a record handler surfaces from drain() and does not crash', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open();
  t.after(() => object.close());
  const reader = new RingBufferReader('events', object.map('ringbuf_test_events').fd, () => {
    throw new Error('bad record');
  });
  t.after(() => reader.close());
  testRun(object.programFd('ringbuf_test'), PACKET, 3);
  assert.throws(() => reader.drain(), /bad record/);
  assert.equal(reader.drain(), 0, 'the failing records were consumed, not re-delivered');
});

test('records handed out stay valid after the ring is consumed again and closed', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open(4096);
  t.after(() => object.close());
  const layout = object.layout('ringbuf_test_record');
  const kept: Buffer[] = [];
  const reader = new RingBufferReader('events', object.map('ringbuf_test_events').fd, (r) => kept.push(r));
  for (let round = 0; round < 3; round++) {
    // A small ring: later rounds reuse its memory. Each round's frames have their own length.
    testRun(object.programFd('ringbuf_test'), Buffer.alloc(64 + round), 10);
    reader.drain();
  }
  reader.close();
  const records = kept.map((r) => layout.decode(r) as { seq: number; len: number });
  assert.deepEqual(records.map((r) => r.len), [...Array(30).keys()].map((i) => 64 + Math.floor(i / 10)));
  // Sequence numbers are per CPU, and a round may run on either CPU: consecutive within a round.
  for (let round = 0; round < 3; round++) {
    const seqs = records.slice(round * 10, round * 10 + 10).map((r) => r.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i));
  }
});
