/**
 * The per-CPU slot for the last flow: counts wait there until another flow or a flush
 * moves them into the table, and nothing is lost or counted twice on the way, also
 * while a flush is running on the CPU (the busy flag sends packets to the table).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { frame } from '../../test/helpers/packets';
import { openProbeObject, type LoadedObject } from '../../core/plugin/object';
import { numPossibleCpus } from '../../core/bpf/map';
import { FlowCodec } from './flow-codec';
import { flushHotSlots } from './hot-slots';

const OBJECT = path.join(__dirname, 'flow_stats.bpf.o');
const udp = (sport: number) => frame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: sport, dst: 53 }, payload: 10 });

function table(object: LoadedObject): Map<number, number> {
  const flows = object.map('flow_stats_flows');
  const codec = new FlowCodec(flows.keyLayout(), flows.valueLayout(), object.enum('flow_direction').labels('FLOW_'));
  const { count, keys, values } = flows.readAll();
  const out = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    out.set(codec.decodeKey(keys, i * flows.keySize).srcPort, codec.decodeValue(values, i * flows.entryValueBytes, flows.valueStride, flows.cpus).packets);
  }
  return out;
}

function open(t: { after(fn: () => void): void }): LoadedObject {
  const spec = openProbeObject(OBJECT);
  t.after(() => spec.close());
  return spec.load() as LoadedObject;
}

test('a flow\'s counts wait in the slot until another flow or a flush moves them, exactly once', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open(t);
  object.testRun('flow_stats_xdp', udp(1000), 5);
  assert.equal(table(object).size, 0, 'the first flow waits in the slot');
  object.testRun('flow_stats_xdp', udp(2000), 3); // another flow: flow 1000 goes to the table
  object.testRun('flow_stats_xdp', udp(1000), 2); // and back: flow 2000 goes to the table
  flushHotSlots(object, numPossibleCpus());
  assert.deepEqual([...table(object)].sort(), [[1000, 7], [2000, 3]]);
  flushHotSlots(object, numPossibleCpus()); // an empty slot flushes nothing
  assert.deepEqual([...table(object)].sort(), [[1000, 7], [2000, 3]]);
});

test('while the slot is busy, packets go to the table and the flush asks to be run again', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open(t);
  const hot = object.map('flow_stats_hot');
  const busyAt = object.layout('hot_slot').field('busy').offset;
  const slots = Buffer.alloc(hot.entryValueBytes);
  for (let cpu = 0; cpu < hot.cpus; cpu++) slots.writeUInt32LE(1, cpu * hot.valueStride + busyAt);
  hot.update(Buffer.alloc(4), slots); // as if a flush were running on every CPU
  object.testRun('flow_stats_xdp', udp(3000), 4);
  assert.deepEqual([...table(object)], [[3000, 4]], 'counted straight into the table');
  for (let cpu = 0; cpu < numPossibleCpus(); cpu++) assert.notEqual(object.runOnCpu('flow_stats_flush', cpu), 0, 'busy: run me again');
  hot.update(Buffer.alloc(4), Buffer.alloc(hot.entryValueBytes));
  for (let cpu = 0; cpu < numPossibleCpus(); cpu++) assert.equal(object.runOnCpu('flow_stats_flush', cpu), 0);
});

test('a flow\'s last_seen follows its packets in the slot (the clock is read again once jiffies moved)', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = open(t);
  const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const started = process.hrtime.bigint();
  object.testRun('flow_stats_xdp', udp(4000), 1);
  pause(60); // many ticks at any HZ
  object.testRun('flow_stats_xdp', udp(4000), 1); // the same flow: the slot's hot path
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  flushHotSlots(object, numPossibleCpus());
  const flows = object.map('flow_stats_flows');
  const codec = new FlowCodec(flows.keyLayout(), flows.valueLayout(), object.enum('flow_direction').labels('FLOW_'));
  const { count, values } = flows.readAll();
  assert.equal(count, 1);
  const v = codec.decodeValue(values, 0, flows.valueStride, flows.cpus);
  const spanMs = (v.lastSeen - v.firstSeen) / 1e6;
  // Tick resolution: up to two ticks (20 ms at HZ=100) either way.
  assert.ok(spanMs >= 60 - 20 && spanMs <= elapsedMs + 20, `last_seen - first_seen = ${spanMs} ms after ${elapsedMs} ms`);
});
