/**
 * The TC program in the kernel, driven by BPF_PROG_TEST_RUN with crafted frames:
 * what it copies, what it ignores, that it always lets the packet pass, that no
 * malformed frame makes it misbehave, and that a full ring buffer is counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { iterations } from '../../test/helpers/slowdown';
import { BpfObject } from '../../core/bpf/object';
import { RingBufferReader } from '../../core/bpf/ringbuf';
import { testRun } from '../../core/bpf/test-run';
import { EventDecoder, type DnsCapture } from './event';
import { DNS_OBJECT, eventDirections, prng } from '../../test/helpers/dns/test-records';
import { dnsFrame, payloadOffset, type FrameSpec } from '../../test/helpers/dns/frames';

const TC_ACT_UNSPEC = 0xffffffff; // -1 as the kernel returns it

/**
 * BPF_PROG_TEST_RUN itself refuses (EINVAL) an IPv4 or IPv6 frame shorter than its
 * IP header, before the program runs; such inputs come back as 'refused'.
 */
type Verdict = number | 'refused';

interface Loaded { object: BpfObject; captures: DnsCapture[]; run(frame: Buffer, program?: 'dns_ingress' | 'dns_egress'): Verdict; counters(): { events: number; ringbuf_dropped: number }; close(): void }

function load(knobs: { ports?: number[]; captureBytes?: number; ringBytes?: number } = {}): Loaded {
  const object = BpfObject.open(DNS_OBJECT);
  const ports = knobs.ports ?? [53, 5353];
  object.setKnob('ports', ports);
  object.setKnob('ports_len', ports.length);
  object.setKnob('capture_bytes', knobs.captureBytes ?? 512);
  if (knobs.ringBytes) object.setMaxEntries('dns_events', knobs.ringBytes);
  object.load();
  const decoder = new EventDecoder(object.layout('dns_event'), eventDirections());
  const captures: DnsCapture[] = [];
  const reader = new RingBufferReader('dns_events', object.map('dns_events').fd, (r) => captures.push(decoder.decode(r)!));
  const countersLayout = object.layout('dns_counters');
  return {
    object,
    captures,
    run(frame, program = 'dns_ingress') {
      let verdict: Verdict;
      try {
        verdict = testRun(object.programFd(program), frame).retval;
      } catch (err) {
        if (!/EINVAL/.test((err as Error).message)) throw err;
        verdict = 'refused';
      }
      reader.drain();
      return verdict;
    },
    counters() {
      return object.map('dns_counters').readDecoded(countersLayout)[0]!.value as { events: number; ringbuf_dropped: number };
    },
    close() {
      reader.close();
      object.close();
    },
  };
}

const QUERY = dnsPacket.encode({ id: 0x1234, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'bpf.test', type: 'A' }] });
const V4: FrameSpec = { source: '10.9.0.1', destination: '10.9.0.53', sourcePort: 33333, destinationPort: 53, payload: QUERY };

test('an IPv4 UDP query is copied whole, with its addressing and direction', (t) => {
  if (!kernelTestsPossible(t)) return;
  const bpf = load();
  t.after(() => bpf.close());
  assert.equal(bpf.run(dnsFrame(V4)), TC_ACT_UNSPEC);
  assert.equal(bpf.run(dnsFrame(V4), 'dns_egress'), TC_ACT_UNSPEC);
  assert.equal(bpf.captures.length, 2);
  const [ingress, egress] = bpf.captures;
  assert.deepEqual({ ...ingress!, timestampNs: 0, ifindex: 0, payload: ingress!.payload.toString('hex') }, {
    timestampNs: 0, ifindex: 0, direction: 'receive', networkType: 'ipv4', transport: 'udp',
    source: '10.9.0.1', sourcePort: 33333, destination: '10.9.0.53', destinationPort: 53,
    payloadLength: QUERY.length, payload: QUERY.toString('hex'),
  });
  assert.equal(egress!.direction, 'transmit');
  assert.ok(egress!.timestampNs >= ingress!.timestampNs && ingress!.timestampNs > 0);
  assert.deepEqual(bpf.counters(), { events: 2, ringbuf_dropped: 0 });
});

test('IPv6, TCP with options, IPv4 options, the second configured port and answers (DNS port on the source side only) are all captured', (t) => {
  if (!kernelTestsPossible(t)) return;
  const bpf = load();
  t.after(() => bpf.close());
  const tcpPayload = Buffer.concat([Buffer.from([0, QUERY.length]), QUERY]);
  const cases: FrameSpec[] = [
    { source: 'fd00:9::53', destination: 'fd00:9::1', sourcePort: 5353, destinationPort: 5353, payload: QUERY },
    { ...V4, tcp: true, tcpOptionWords: 3, payload: tcpPayload },
    { source: 'fd00:9::1', destination: 'fd00:9::53', sourcePort: 40000, destinationPort: 53, tcp: true, payload: tcpPayload },
    { ...V4, ipOptionWords: 2 },
    { source: '10.9.0.53', destination: '10.9.0.1', sourcePort: 53, destinationPort: 40001, payload: QUERY }, // an answer
  ];
  for (const spec of cases) assert.equal(bpf.run(dnsFrame(spec)), TC_ACT_UNSPEC);
  assert.equal(bpf.captures.length, cases.length);
  cases.forEach((spec, i) => {
    const c = bpf.captures[i]!;
    assert.equal(c.source, spec.source);
    assert.equal(c.destination, spec.destination);
    assert.equal(c.sourcePort, spec.sourcePort);
    assert.equal(c.destinationPort, spec.destinationPort);
    assert.equal(c.transport, spec.tcp ? 'tcp' : 'udp');
    assert.equal(c.networkType, spec.source.includes(':') ? 'ipv6' : 'ipv4');
    assert.deepEqual(c.payload, spec.payload, `case ${i}: payload`);
  });
});

test('non-DNS traffic and frames without a DNS payload are passed and not copied', (t) => {
  if (!kernelTestsPossible(t)) return;
  const bpf = load();
  t.after(() => bpf.close());
  const arp = Buffer.concat([Buffer.from('ffffffffffff0200000000010806', 'hex'), Buffer.alloc(28)]);
  const icmp = dnsFrame(V4);
  icmp[14 + 9] = 1;
  const frames = [
    dnsFrame({ ...V4, destinationPort: 54 }),
    dnsFrame({ ...V4, tcp: true, payload: Buffer.alloc(0) }), // a bare ACK on port 53
    dnsFrame({ ...V4, fragmentOffset: 100 }), // a later fragment: bytes at 28 are not a UDP header
    arp,
    icmp,
    Buffer.alloc(14),
  ];
  for (const f of frames) assert.equal(bpf.run(f), TC_ACT_UNSPEC);
  assert.equal(bpf.captures.length, 0);
  assert.deepEqual(bpf.counters(), { events: 0, ringbuf_dropped: 0 });
});

test('the copy is bounded by capture_bytes and by the frame, whatever the headers claim', (t) => {
  if (!kernelTestsPossible(t)) return;
  const bpf = load({ captureBytes: 64 });
  t.after(() => bpf.close());
  const big = Buffer.alloc(300, 7);
  QUERY.copy(big);
  bpf.run(dnsFrame({ ...V4, payload: big }));
  assert.equal(bpf.captures[0]!.payload.length, 64);
  assert.equal(bpf.captures[0]!.payloadLength, 300);
  assert.deepEqual(bpf.captures[0]!.payload, big.subarray(0, 64));

  // Every truncation of a valid frame: always passed; copied only past the headers, never beyond the frame.
  const frame = dnsFrame(V4);
  const headers = payloadOffset(V4);
  bpf.captures.length = 0;
  for (let len = 14 + 20; len <= frame.length; len++) assert.equal(bpf.run(frame.subarray(0, len)), TC_ACT_UNSPEC);
  assert.deepEqual(bpf.captures.map((c) => c.payload.length), Array.from({ length: frame.length - headers }, (_, i) => i + 1));
  bpf.captures.forEach((c) => assert.equal(c.payloadLength, QUERY.length, 'the UDP length is reported as the header says'));
});

test('random and mutated frames never change the verdict, and every record is well-formed', (t) => {
  if (!kernelTestsPossible(t)) return;
  const bpf = load({ ports: [53] });
  t.after(() => bpf.close());
  const rand = prng(7);
  const int = (n: number) => Math.floor(rand() * n);
  const valid = [dnsFrame(V4), dnsFrame({ ...V4, tcp: true, payload: Buffer.concat([Buffer.from([0, QUERY.length]), QUERY]) }),
    dnsFrame({ source: 'fd00::1', destination: 'fd00::2', sourcePort: 53, destinationPort: 9999, payload: QUERY })];
  const total = iterations(3000);
  let frames = 0;
  let refused = 0;
  for (let i = 0; i < total; i++) {
    let f: Buffer;
    if (i % 3 === 0) {
      f = Buffer.from(Array.from({ length: 14 + int(200) }, () => int(256)));
      f.writeUInt16BE(rand() < 0.5 ? 0x0800 : 0x86dd, 12);
    } else {
      f = Buffer.from(valid[int(valid.length)]!);
      for (let k = 0, n = 1 + int(6); k < n; k++) f[14 + int(f.length - 14)] = int(256); // headers and payload alike
      if (rand() < 0.3) f = f.subarray(0, 14 + int(f.length - 13));
    }
    const verdict = bpf.run(f);
    if (verdict === 'refused') refused++;
    else assert.equal(verdict, TC_ACT_UNSPEC, `frame ${i}: ${f.toString('hex')}`);
    frames++;
  }
  assert.equal(frames, total);
  assert.ok(refused < total / 5, `test-run refused ${refused} frames as shorter than their IP header`);
  assert.ok(bpf.captures.length > total / 6, `mutated DNS frames mostly still look like DNS (${bpf.captures.length})`);
  for (const c of bpf.captures) {
    assert.ok(c.payload.length >= 1 && c.payload.length <= 512);
    assert.ok(c.payload.length <= c.payloadLength);
    assert.ok(c.sourcePort === 53 || c.destinationPort === 53);
  }
  assert.equal(bpf.counters().events, bpf.captures.length);
});

test('a full ring buffer drops in the kernel and counts it', (t) => {
  if (!kernelTestsPossible(t)) return;
  const bpf = load({ ringBytes: 4096 });
  t.after(() => bpf.close());
  const frame = dnsFrame({ ...V4, payload: Buffer.concat([QUERY, Buffer.alloc(150)]) });
  const { retval } = testRun(bpf.object.programFd('dns_ingress'), frame, 200);
  assert.equal(retval, TC_ACT_UNSPEC);
  bpf.run(Buffer.alloc(14)); // drains
  const { events, ringbuf_dropped: dropped } = bpf.counters();
  assert.ok(dropped > 0, 'a 4 KiB ring cannot hold 200 records of ~250 bytes');
  assert.equal(events + dropped, 200);
  assert.equal(bpf.captures.length, events);
});
