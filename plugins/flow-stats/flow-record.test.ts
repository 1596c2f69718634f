import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowAttributes, flowRecord } from './flow-record';
import { toEpochMs, type ClockReference } from './clock';
import type { FlowCounters, FlowKeyInfo } from './flow-codec';

const key = (over: Partial<FlowKeyInfo> = {}): FlowKeyInfo => ({
  ifindex: 2, direction: 'receive', ipVersion: 4, protocol: 6, src: '10.0.0.1', dst: '10.0.0.2', srcPort: 40000, dstPort: 443, fragment: false, ...over,
});
const counters = (firstSeen: number, lastSeen: number, over: Partial<FlowCounters> = {}): FlowCounters => ({ packets: 3, bytes: 1500, syns: 0, firstSeen, lastSeen, tcpFlags: 0x12, ...over });
const ref: ClockReference = { monoNs: 10_000_000_000, epochMs: 1_700_000_000_000 };

/** How the OTLP encoder types a value (a number is an int when it is integral, whatever was meant). */
const otlpType = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'double') : typeof v);

test('a flow record keeps one type per attribute: duration is whole nanoseconds, 0 or not', () => {
  const types = new Map<string, Set<string>>();
  for (const [first, last] of [[5e9, 5e9], [5e9, 5_003_333_251], [1, 7_250_000_001]]) {
    for (const k of [key(), key({ protocol: 1, srcPort: 8, dstPort: 0 }), key({ protocol: 17, fragment: true })]) {
      const { attributes } = flowRecord(k, counters(first!, last!), 'idle', ref, 'eth0');
      for (const [name, v] of Object.entries(attributes)) types.set(name, (types.get(name) ?? new Set()).add(otlpType(v)));
    }
  }
  for (const [name, seen] of types) assert.equal(seen.size, 1, `${name}: ${[...seen].join(' and ')}`);
  assert.equal(flowRecord(key(), counters(5e9, 5_003_333_251), undefined, ref, 'eth0').attributes['netprobe.flow.duration'], 3_333_251);
});

test('flow times are the kernel stamps moved onto the wall clock, to the nanosecond', () => {
  const { attributes } = flowRecord(key(), counters(9_000_000_000, 9_500_000_000), undefined, ref, 'eth0');
  assert.equal(attributes['netprobe.flow.start_time'], new Date(1_700_000_000_000 - 1000).toISOString());
  assert.equal(attributes['netprobe.flow.end_time'], new Date(1_700_000_000_000 - 500).toISOString());
  assert.equal(toEpochMs(10_250_000_000, ref), 1_700_000_000_250);
});

test('trailing IP fragments are their own kind of flow: no ports, no ICMP type/code', () => {
  const icmpFragments = flowAttributes(key({ protocol: 1, srcPort: 0, dstPort: 0, fragment: true }), 'eth0');
  assert.equal(icmpFragments['netprobe.flow.fragments'], true);
  assert.ok(!('netprobe.icmp.type' in icmpFragments) && !('netprobe.icmp.code' in icmpFragments), 'not an echo reply (type 0)');
  const udpFragments = flowAttributes(key({ protocol: 17, srcPort: 0, dstPort: 0, fragment: true }), 'eth0');
  assert.ok(!('source.port' in udpFragments) && !('destination.port' in udpFragments), 'no port 0');
  assert.equal(flowAttributes(key({ fragment: true }), 'eth0', 'peer.test')['netprobe.peer.name'], 'peer.test');
  const echo = flowAttributes(key({ protocol: 1, srcPort: 8, dstPort: 0 }), 'eth0');
  assert.deepEqual([echo['netprobe.icmp.type'], echo['netprobe.icmp.code'], 'netprobe.flow.fragments' in echo], [8, 0, false]);
});

test('a flow record has a one-line summary body', () => {
  assert.equal(flowRecord(key(), counters(5e9, 6_234_000_000), 'idle', ref, 'eth0').body,
    'tcp 10.0.0.1:40000 > 10.0.0.2:443 receive on eth0: 3 packets, 1,500 bytes in 1.234 s [SYN|ACK] (idle)');
  assert.equal(flowRecord(key({ ipVersion: 6, protocol: 17, src: 'fd00::1', dst: 'fd00::2', srcPort: 5353, dstPort: 53, direction: 'transmit' }), counters(5e9, 5e9, { packets: 1, bytes: 90 }), undefined, ref, 'eth1').body,
    'udp [fd00::1]:5353 > [fd00::2]:53 transmit on eth1: 1 packet, 90 bytes in 0.000 s');
  assert.equal(flowRecord(key({ protocol: 1, srcPort: 8, dstPort: 0 }), counters(5e9, 5e9), 'collector_stop', ref, 'eth0').body,
    'icmp 10.0.0.1 > 10.0.0.2 type 8 code 0 receive on eth0: 3 packets, 1,500 bytes in 0.000 s (collector_stop)');
  assert.match(flowRecord(key({ protocol: 1, fragment: true }), counters(5e9, 5e9), undefined, ref, 'eth0').body, /^icmp 10\.0\.0\.1 > 10\.0\.0\.2 \(trailing IP fragments\) receive/);
});
