/**
 * The capture program in the kernel, fed crafted frames with BPF_PROG_TEST_RUN
 * (nothing is attached): what passes the filter reaches the ring buffer byte for
 * byte and nothing else does; sampling, both budgets and a full ring are counted
 * exactly, packet for packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { frame } from '../../test/helpers/packets';
import { detachedHost } from '../../test/helpers/detached-host';
import { loadedBpf } from '../../core/plugin/object';
import type { ProbeObject } from '../../core/plugin';
import { MappedRingBuffer, type InPlaceRecordHandler } from '../../core/bpf/ringbuf-mapped';
import type { BpfObject } from '../../core/bpf/object';
import { parseConfig } from '../../core/config/load';
import { createLogger } from '../../core/log';
import { plugins } from '../registry';
import { CaptureRun, packetCapture, type PacketCaptureConfig } from './plugin';

const TC_ACT_UNSPEC = -1 >>> 0;

interface Lab {
  run: CaptureRun;
  /** Frames the program copied, read from the ring buffer (drains it first). */
  records(): Buffer[];
  send(packet: Buffer, repeat?: number, direction?: 'ingress' | 'egress'): void;
  outcome(name: string): number;
}

function lab(t: { after(fn: () => Promise<void>): void }, probe: string): Lab {
  const config = parseConfig(`probes: { packet_capture: ${probe} }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [packet_capture], exporters: [debug] } } }`, 'test', plugins, {}).probes.packet_capture as PacketCaptureConfig;
  const opened: BpfObject[] = [];
  const readers: MappedRingBuffer[] = [];
  const frames: Buffer[] = [];
  const host = {
    ...detachedHost(packetCapture, opened),
    // The reader the probe asks for (records in place), drained by the test instead of on a timer.
    consumeRingBufferInPlace(object: ProbeObject, map: string, onRecord: InPlaceRecordHandler) {
      const ring = loadedBpf(object).map(map);
      const reader = new MappedRingBuffer(map, ring.fd, ring.maxEntries, onRecord);
      readers.push(reader);
      return reader;
    },
  };
  const quiet = createLogger('test');
  const run = new CaptureRun(config, host, { info: () => undefined, error: quiet.error });
  const original = run.handleInPlace.bind(run);
  run.handleInPlace = (ring, words, offset, length) => {
    frames.push(Buffer.from(ring.subarray(offset, offset + length))); // in place: valid only during the call
    original(ring, words, offset, length);
  };
  t.after(async () => {
    await run.stop();
    readers.forEach((r) => r.close());
    opened.forEach((o) => o.close());
  });
  const header = run.object.layout('capture_event');
  return {
    run,
    records() {
      readers.forEach((r) => r.drain());
      const out = frames.map((r) => r.subarray(header.size, header.size + r.readUInt32LE(header.field('captured').offset)));
      frames.length = 0;
      return out;
    },
    send(packet, repeat = 1, direction = 'ingress') {
      const result = run.object.testRun(direction === 'ingress' ? 'capture_ingress' : 'capture_egress', packet, repeat);
      assert.equal(result.retval, TC_ACT_UNSPEC, 'the program never changes traffic');
    },
    outcome: (name) => run.outcomeCounts().get(name)!.packets,
  };
}

const udp = (src: string, dst: string, dport: number, payload = 10) =>
  frame({ ip: { version: src.includes(':') ? 6 : 4, src, dst }, l4: { kind: 'udp', src: 40000, dst: dport }, payload });
const tcp = (src: string, dst: string, dport: number) => frame({ ip: { version: src.includes(':') ? 6 : 4, src, dst }, l4: { kind: 'tcp', src: 40001, dst: dport }, payload: 5 });
const icmp = (src: string, dst: string) => frame({ ip: { version: src.includes(':') ? 6 : 4, src, dst }, l4: { kind: 'icmp', type: 8, code: 0 } });

function expectOnly(l: Lab, cases: Array<[Buffer, boolean]>): void {
  for (const [packet] of cases) l.send(packet);
  const want = cases.filter(([, kept]) => kept).map(([p]) => p.toString('hex'));
  assert.deepEqual(l.records().map((r) => r.toString('hex')), want, 'the ring holds exactly the matching frames, whole');
  assert.equal(l.outcome('captured'), want.length);
  assert.equal(l.outcome('filtered_out'), cases.length - want.length);
}

test('address and port filters: what matches is captured whole, nothing else', (t) => {
  if (!kernelTestsPossible(t)) return;
  const l = lab(t, '{ filter: { include_cidrs: [10.1.0.0/16, "fd00:1::/32"], exclude_cidrs: [10.1.9.0/24], exclude_ports: [9] } }');
  expectOnly(l, [
    [udp('10.1.0.1', '192.0.2.1', 53), true], // source included
    [udp('192.0.2.1', '10.1.200.7', 53), true], // destination included
    [udp('192.0.2.1', '192.0.2.2', 53), false], // neither included
    [udp('10.1.9.5', '192.0.2.1', 53), false], // included, but in an excluded /24
    [udp('10.1.0.1', '192.0.2.1', 9), false], // excluded port
    [udp('fd00:1::5', 'fd00:2::1', 53), true], // IPv6 include
    [udp('fd00:3::5', 'fd00:2::1', 53), false],
    [frame({ etherType: 0x0806, payload: 28 }), false], // ARP: no address to match
  ]);
});

test('port, protocol and VLAN filters (tcpdump: port 53, tcp or icmp, vlan 100)', (t) => {
  if (!kernelTestsPossible(t)) return;
  const ports = lab(t, '{ filter: { include_ports: [53] } }');
  expectOnly(ports, [
    [udp('10.0.0.1', '10.0.0.2', 53), true],
    [tcp('fd00::1', 'fd00::2', 53), true],
    [udp('10.0.0.1', '10.0.0.2', 54), false],
    [icmp('10.0.0.1', '10.0.0.2'), false], // no ports
    // A later fragment has no transport header, so no port (tcpdump's `port` skips it too).
    [frame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, fragmentOffset: 1480 }, payload: 8 }), false],
    // IPv6 extension headers are walked to the transport header.
    [frame({ ip: { version: 6, src: 'fd00::1', dst: 'fd00::2', extensions: [{ type: 0 }, { type: 60 }] }, l4: { kind: 'udp', src: 1, dst: 53 } }), true],
  ]);
  const protocols = lab(t, '{ filter: { protocols: [tcp, icmp, icmpv6] } }');
  expectOnly(protocols, [
    [tcp('10.0.0.1', '10.0.0.2', 80), true],
    [icmp('10.0.0.1', '10.0.0.2'), true],
    [icmp('fd00::1', 'fd00::2'), true],
    [udp('10.0.0.1', '10.0.0.2', 80), false],
    [frame({ etherType: 0x0806, payload: 28 }), false],
  ]);
  const vlans = lab(t, '{ filter: { vlans: [100] } }');
  const tagged = (id: number) => frame({ vlans: [{ id }], ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2 } });
  expectOnly(vlans, [
    [tagged(100), true],
    [tagged(101), false],
    [frame({ vlans: [{ tpid: 0x88a8, id: 100 }, { id: 7 }], ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' } }), true], // outer tag
    [udp('10.0.0.1', '10.0.0.2', 53), false], // untagged
  ]);
});

test('snaplen: the first bytes are copied, the length on the wire is kept', (t) => {
  if (!kernelTestsPossible(t)) return;
  const l = lab(t, '{ snaplen: 64 }');
  const big = udp('10.0.0.1', '10.0.0.2', 53, 500);
  l.send(big, 1, 'egress');
  const [record] = l.records();
  assert.deepEqual(record, big.subarray(0, 64));
  assert.equal(l.run.outcomeCounts().get('captured')!.bytes, big.length);
});

test('1-in-N sampling: every matching packet is either captured or counted as sampled out', (t) => {
  if (!kernelTestsPossible(t)) return;
  const l = lab(t, '{ sample_rate: 4, ring_buffer_bytes: 4194304 }');
  l.send(udp('10.0.0.1', '10.0.0.2', 53), 20_000);
  const captured = l.records().length;
  assert.equal(l.outcome('captured'), captured);
  assert.equal(captured + l.outcome('sampled_out'), 20_000);
  assert.ok(Math.abs(captured - 5_000) < 5_000 * 0.08, `captured ${captured} of 20,000 at 1 in 4`);
});

test('budgets: packets and captured bytes per second, the excess counted exactly', (t) => {
  if (!kernelTestsPossible(t)) return;
  // 1,000 runs take far less than the one-second window.
  const packets = lab(t, '{ max_packets_per_second: 100 }');
  packets.send(udp('10.0.0.1', '10.0.0.2', 53), 1_000);
  assert.equal(packets.records().length, 100);
  assert.equal(packets.outcome('captured'), 100);
  assert.equal(packets.outcome('over_packet_budget'), 900);

  const bytes = lab(t, '{ snaplen: 100, max_bytes_per_second: 1000 }');
  bytes.send(udp('10.0.0.1', '10.0.0.2', 53, 200), 50); // 100 captured bytes each
  assert.equal(bytes.records().length, 10);
  assert.equal(bytes.outcome('over_byte_budget'), 40);
});

test('a full ring buffer: every packet that did not fit is counted, the rest arrive', (t) => {
  if (!kernelTestsPossible(t)) return;
  const l = lab(t, '{ ring_buffer_bytes: 65536 }');
  l.send(udp('10.0.0.1', '10.0.0.2', 53, 1000), 200); // about 60 records fit in 64 KiB
  const ringFull = l.outcome('ring_full');
  const arrived = l.records().length;
  assert.ok(ringFull > 100, `ring_full ${ringFull}`);
  assert.equal(arrived, l.outcome('captured'));
  assert.equal(arrived + ringFull, 200);
});

test('the ring is read across its end, record after record, with nothing lost or torn', (t) => {
  if (!kernelTestsPossible(t)) return;
  const l = lab(t, '{ ring_buffer_bytes: 65536 }');
  let sent = 0;
  for (let round = 0; round < 12; round++) {
    // 45 records of 1,082 bytes per round: the 64 KiB ring wraps every round or so.
    const packets = Array.from({ length: 45 }, (_, i) => udp('10.0.0.1', '10.0.0.2', 1000 + ((round * 45 + i) % 60000), 1000));
    for (const p of packets) l.send(p);
    sent += packets.length;
    assert.deepEqual(l.records().map((r) => r.toString('hex')), packets.map((p) => p.toString('hex')), `round ${round}`);
  }
  assert.equal(l.outcome('captured'), sent);
  assert.equal(l.outcome('ring_full'), 0);
});
