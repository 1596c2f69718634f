import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTracker } from './flow-tracker';
import { wordsOf } from './flow-index';
import type { FlowCounters, FlowKeyInfo } from './flow-codec';
import { tcpFlagNames } from './flow-record';

const key = (over: Partial<FlowKeyInfo> = {}): FlowKeyInfo => ({
  ifindex: 2, direction: 'receive', ipVersion: 4, protocol: 6, src: '10.0.0.1', dst: '10.0.0.2', srcPort: 40000, dstPort: 443, fragment: false, ...over,
});
const c = (packets: number, bytes: number, lastSeen = 100, syns = 0): FlowCounters => ({ packets, bytes, syns, firstSeen: 1, lastSeen, tcpFlags: 0 });

/** A tracker whose raw keys are short ids (16 bytes) naming keys registered by see(). */
class Tracker extends FlowTracker {
  private readonly keys: Map<string, FlowKeyInfo>;
  constructor(portSeriesLimit: number, ephemeralPorts?: readonly [number, number], nameOf?: (key: FlowKeyInfo) => string | undefined) {
    const keys = new Map<string, FlowKeyInfo>();
    super({ keySize: 16, portSeriesLimit, ephemeralPorts, keyOf: (raw, at) => ({ ...keys.get(idOf(raw, at))! }), nameOf });
    this.keys = keys;
  }

  see(id: string, counters: FlowCounters, k: FlowKeyInfo = key(), nowMs = 0): number {
    if (!this.keys.has(id)) this.keys.set(id, k);
    return this.observe(raw(id), 0, counters, nowMs);
  }

  slot(id: string): number {
    return this.find(raw(id), 0);
  }

  flow(id: string) {
    return this.get(this.slot(id));
  }

  endId(id: string, final: FlowCounters | undefined, reason: 'idle' | 'evicted' | 'collector_stop') {
    return this.end(this.slot(id), final, reason);
  }

  ids(slots: number[]): string[] {
    return slots.map((s) => idOf(this.keyBytes(s), 0));
  }
}
const raw = (id: string) => {
  const b = Buffer.alloc(16);
  b.write(id, 'latin1');
  return wordsOf(b);
};
const idOf = (b: Buffer, at: number) => b.toString('latin1', at, at + 16).replace(/\0+$/, '');

test('growth between reads becomes traffic, port and connection totals', () => {
  const t = new Tracker(100);
  t.beginInterval();
  t.see('a', c(10, 1000, 100, 1), key(), 0);
  t.beginInterval();
  t.see('a', c(15, 1600, 200, 1), key(), 0);
  const traffic = [...t.traffic.values()];
  assert.deepEqual(traffic.map((x) => [x.packets, x.bytes]), [[15, 1600]]);
  const port = [...t.ports.values()][0]!;
  assert.deepEqual([port.key.port, port.packets, port.bytes, port.connections], [443, 15, 1600, 1]);
  assert.equal(t.flow('a')!.intervalBytes, 600, 'interval growth only');
});

test('an entry that shrank was re-created by the kernel and counts in full', () => {
  const t = new Tracker(100);
  t.see('a', c(10, 1000), key(), 0);
  t.see('a', c(3, 300), key(), 0);
  assert.equal([...t.traffic.values()][0]!.packets, 13);
});

test('ending a flow adds what arrived since the last read, once', () => {
  const t = new Tracker(100);
  t.see('a', c(10, 1000), key(), 0);
  const ended = t.endId('a', c(12, 1200), 'idle')!;
  assert.equal(ended.counters.packets, 12);
  assert.equal([...t.traffic.values()][0]!.packets, 12);
  assert.equal(t.endId('a', c(12, 1200), 'idle'), undefined, 'a flow ends once');
  assert.equal(t.ended.idle, 1);
});

test('local ports: ephemeral ones and those past the limit are grouped', () => {
  const t = new Tracker(2, [32768, 60999]);
  t.see('in-443', c(1, 100), key({ dstPort: 443 }), 0);
  t.see('in-80', c(1, 100), key({ dstPort: 80 }), 0);
  t.see('in-22', c(1, 100), key({ dstPort: 22 }), 0); // past the limit of 2
  t.see('out', c(1, 100), key({ direction: 'transmit', srcPort: 45000, dstPort: 443 }), 0); // local port is ephemeral
  assert.deepEqual([...t.ports.values()].map((p) => p.key.port).sort(), [443, 80]);
  assert.deepEqual([...t.groupedPorts.values()].map((g) => [g.group, g.packets]).sort(), [['ephemeral', 1], ['other', 1]]);
});

test('idle flows, least recently active flows and the top by interval bytes', () => {
  const t = new Tracker(100);
  t.beginInterval();
  t.see('old', c(1, 10, 100), key({ srcPort: 1 }), 0);
  t.see('mid', c(1, 5000, 500), key({ srcPort: 2 }), 0);
  t.see('new', c(1, 20, 900), key({ srcPort: 3 }), 0);
  assert.deepEqual(t.ids(t.idleFlows(1000, 450)), ['old', 'mid']);
  assert.deepEqual(t.ids(t.leastRecent(2, new Set([t.slot('old')]))), ['mid', 'new']);
  const { top, rest } = t.top(1);
  assert.deepEqual(top.map((f) => f.key.srcPort), [2]);
  assert.deepEqual(rest, { packets: 2, bytes: 30, flows: 2 });
});

test('update records come due once per interval per flow', () => {
  const t = new Tracker(100);
  t.see('a', c(1, 1), key(), 1000);
  assert.equal(t.dueForUpdate(30_000, 60_000).length, 0);
  assert.equal(t.dueForUpdate(61_000, 60_000).length, 1);
  assert.equal(t.dueForUpdate(62_000, 60_000).length, 0);
});

test('TCP flags print by name', () => {
  assert.equal(tcpFlagNames(0x12), 'SYN|ACK');
  assert.equal(tcpFlagNames(0x11), 'FIN|ACK');
  assert.equal(tcpFlagNames(0), '');
});

test('the peer name is looked up once, when a flow is first seen, and kept', () => {
  const names = ['first.example', 'second.example'];
  const t = new Tracker(100, undefined, () => names.shift());
  t.see('a', c(1, 100), key());
  t.see('a', c(2, 200), key());
  assert.equal(t.flow('a')!.key.peerName, 'first.example');
  assert.equal(t.endId('a', undefined, 'idle')!.key.peerName, 'first.example');
  assert.deepEqual(names, ['second.example'], 'one lookup for the whole flow');
});

test('slots freed by ended flows are reused without leaking their counters', () => {
  const t = new Tracker(100);
  const totals = () => [...t.traffic.values()].reduce((n, x) => n + x.packets, 0);
  // Enough flows to grow the slot arrays twice; end every other one, then new flows take their slots.
  for (let i = 0; i < 3000; i++) t.see(`f${i}`, c(10, 1000, i), key({ srcPort: i }));
  for (let i = 0; i < 3000; i += 2) t.endId(`f${i}`, undefined, 'idle');
  assert.equal(t.size, 1500);
  t.beginInterval();
  for (let i = 3000; i < 4500; i++) t.see(`f${i}`, c(1, 7, i), key({ srcPort: i }));
  assert.equal(t.size, 3000);
  assert.equal(totals(), 3000 * 10 + 1500 * 1, 'every flow counted once, in full');
  const fresh = t.flow('f3001')!;
  assert.deepEqual([fresh.counters.packets, fresh.intervalPackets, fresh.intervalBytes, fresh.key.srcPort], [1, 1, 7, 3001]);
  assert.equal(t.slot('f0'), -1);
  assert.equal(t.flow('f0'), undefined);
  const idle = Array.from({ length: 50 }, (_, i) => `f${2 * i + 1}`); // last seen <= 100, and live
  assert.deepEqual(t.ids(t.idleFlows(4500, 4400)).sort(), idle.sort(), 'only live flows are idle');
  const { top, rest } = t.top(2);
  assert.deepEqual(top.map((f) => f.intervalBytes), [7, 7]);
  assert.deepEqual(rest, { packets: 1498, bytes: 1498 * 7, flows: 1498 });
});

test('a walk in another order than the last one still finds every flow', () => {
  const t = new Tracker(100);
  t.beginInterval();
  ['a', 'b', 'c'].forEach((id, i) => t.see(id, c(1, 10), key({ srcPort: i })));
  t.endId('b', undefined, 'idle');
  t.see('d', c(5, 50), key({ srcPort: 9 })); // takes b's slot
  t.beginInterval();
  // The kernel's order changed (a rehash): 'd' now sits where 'b' was expected, 'c' first.
  t.see('c', c(2, 20));
  t.see('d', c(6, 60));
  t.see('a', c(3, 30));
  assert.equal(t.size, 3);
  assert.deepEqual(['a', 'c', 'd'].map((id) => [t.flow(id)!.counters.packets, t.flow(id)!.intervalPackets]), [[3, 2], [2, 1], [6, 1]]);
  assert.equal([...t.traffic.values()][0]!.packets, 3 + 2 + 6 + 1, 'b counted once, nothing twice');
});
