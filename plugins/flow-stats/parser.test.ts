/**
 * The flow programs on crafted frames (BPF_PROG_TEST_RUN): every frame passes, and
 * lands in exactly the flow or reason it should, at every layer's truncation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { iterations } from '../../test/helpers/slowdown';
import { frame, truncate, type FrameSpec } from '../../test/helpers/packets';
import { openProbeObject } from '../../core/plugin/object';
import { numPossibleCpus } from '../../core/bpf/map';
import { FlowCodec, type FlowKeyInfo } from './flow-codec';
import { flushHotSlots } from './hot-slots';

const XDP_PASS = 2;
const TC_ACT_UNSPEC = 0xffffffff;
const v4 = { version: 4 as const, src: '10.0.0.1', dst: '10.0.0.2' };
const v6 = { version: 6 as const, src: 'fd00::1', dst: 'fd00::2' };
const udp = { kind: 'udp' as const, src: 1111, dst: 53 };
const tcp = { kind: 'tcp' as const, src: 40000, dst: 443, flags: 0x02 };

interface Expect {
  /** Parse reason counted (not ok). */
  reason?: string;
  /** The flow, if one is tracked. */
  flow?: Partial<FlowKeyInfo>;
  untracked?: string;
  /**
   * The kernel's skb test harness refuses frames whose IP header is cut short (it pulls
   * the header before running the program), so such frames are fed to XDP only; on a
   * real egress path the stack itself built the header.
   */
  xdpOnly?: boolean;
}

const udpFlow4 = { ipVersion: 4 as const, protocol: 17, src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1111, dstPort: 53 };
const udpFlow6 = { ...udpFlow4, ipVersion: 6 as const, src: 'fd00::1', dst: 'fd00::2' };
const full = (spec: FrameSpec) => frame({ payload: 16, ...spec });

const cases: Array<[string, Buffer, Expect]> = [
  ['IPv4 UDP', full({ ip: v4, l4: udp }), { flow: udpFlow4 }],
  ['IPv4 TCP SYN', full({ ip: v4, l4: tcp }), { flow: { protocol: 6, srcPort: 40000, dstPort: 443 } }],
  ['IPv4 ICMP echo: type and code in place of ports', full({ ip: v4, l4: { kind: 'icmp', type: 8, code: 0 } }), { flow: { protocol: 1, srcPort: 8, dstPort: 0 } }],
  ['802.1Q VLAN', full({ vlans: [{ id: 10 }], ip: v4, l4: udp }), { flow: udpFlow4 }],
  ['QinQ (802.1ad + 802.1Q)', full({ vlans: [{ tpid: 0x88a8, id: 100 }, { id: 10 }], ip: v4, l4: udp }), { flow: udpFlow4 }],
  ['three VLAN tags', full({ vlans: [{ tpid: 0x88a8, id: 1 }, { id: 2 }, { id: 3 }], ip: v4, l4: udp }), { reason: 'vlan_too_deep', untracked: 'parse_error' }],
  ['IPv4 options', full({ ip: { ...v4, options: 12 }, l4: udp }), { flow: udpFlow4 }],
  ['IPv4 first fragment has ports', full({ ip: { ...v4, moreFragments: true }, l4: udp }), { flow: { ...udpFlow4, fragment: false } }],
  ['IPv4 later fragment: no ports, a fragments flow', full({ ip: { ...v4, fragmentOffset: 1480, protocol: 17 } }), { reason: 'fragment', flow: { protocol: 17, srcPort: 0, dstPort: 0, fragment: true } }],
  ['IPv4 ICMP echo request, first fragment: type 8', full({ ip: { ...v4, moreFragments: true }, l4: { kind: 'icmp', type: 8, code: 0 } }), { flow: { protocol: 1, srcPort: 8, dstPort: 0, fragment: false } }],
  ['IPv4 ICMP later fragment: not type 0 (echo reply), a fragments flow', full({ ip: { ...v4, fragmentOffset: 1480, protocol: 1 } }), { reason: 'fragment', flow: { protocol: 1, fragment: true } }],
  ['IPv4 IHL below 5', full({ ip: { ...v4, ihl: 3 }, l4: udp }), { reason: 'bad_ipv4', untracked: 'parse_error' }],
  ['IPv6 UDP', full({ ip: v6, l4: udp }), { flow: udpFlow6 }],
  ['IPv6 hop-by-hop, destination options, routing', full({ ip: { ...v6, extensions: [{ type: 0 }, { type: 60, length: 1 }, { type: 43 }] }, l4: udp }), { flow: udpFlow6 }],
  ['IPv6 first fragment has ports', full({ ip: { ...v6, extensions: [{ type: 44 }] }, l4: udp }), { flow: { ...udpFlow6, fragment: false } }],
  ['IPv6 later fragment: no ports, a fragments flow', full({ ip: { ...v6, protocol: 17, extensions: [{ type: 44, fragmentOffset: 1448 }] } }), { reason: 'fragment', flow: { ipVersion: 6, protocol: 17, srcPort: 0, fragment: true } }],
  ['ICMPv6 later fragment: a fragments flow', full({ ip: { ...v6, protocol: 58, extensions: [{ type: 44, fragmentOffset: 1448 }] } }), { reason: 'fragment', flow: { ipVersion: 6, protocol: 58, fragment: true } }],
  ['IPv6 AH', full({ ip: { ...v6, extensions: [{ type: 51, length: 4 }] }, l4: tcp }), { flow: { ipVersion: 6, protocol: 6, srcPort: 40000, dstPort: 443 } }],
  ['IPv6 seven extension headers', full({ ip: { ...v6, extensions: Array.from({ length: 7 }, () => ({ type: 60 })) }, l4: udp }), { reason: 'ipv6_ext_too_deep', untracked: 'parse_error' }],
  ['ICMPv6 echo', full({ ip: v6, l4: { kind: 'icmp', type: 128, code: 0 } }), { flow: { ipVersion: 6, protocol: 58, srcPort: 128, dstPort: 0 } }],
  ['ARP is not IP', full({ etherType: 0x0806 }), { reason: 'non_ip', untracked: 'non_ip' }],
  ['802.1Q-tagged ARP is not IP', full({ vlans: [{ id: 10 }], etherType: 0x0806 }), { reason: 'non_ip', untracked: 'non_ip' }],
  ['runt: Ethernet header only', truncate(frame({ ip: v4, l4: udp }), 14), { reason: 'trunc_ipv4', untracked: 'parse_error', xdpOnly: true }],
  ['VLAN tag cut short', truncate(frame({ vlans: [{ id: 10 }], ip: v4, l4: udp }), 16), { reason: 'trunc_vlan', untracked: 'parse_error' }],
  ['IPv4 header cut short', truncate(frame({ ip: v4, l4: udp }), 30), { reason: 'trunc_ipv4', untracked: 'parse_error', xdpOnly: true }],
  ['IPv4 options cut short', truncate(frame({ ip: { ...v4, options: 40 }, l4: udp }), 40), { reason: 'trunc_ipv4', untracked: 'parse_error' }],
  ['TCP header cut short: a flow without ports', truncate(frame({ ip: v4, l4: tcp }), 14 + 20 + 10), { reason: 'trunc_l4', flow: { protocol: 6, srcPort: 0, dstPort: 0 } }],
  ['UDP header cut short', truncate(frame({ ip: v4, l4: udp }), 14 + 20 + 4), { reason: 'trunc_l4', flow: { protocol: 17, srcPort: 0 } }],
  ['IPv6 header cut short', truncate(frame({ ip: v6, l4: udp }), 14 + 30), { reason: 'trunc_ipv6', untracked: 'parse_error', xdpOnly: true }],
  ['IPv6 extension header cut short', truncate(frame({ ip: { ...v6, extensions: [{ type: 0 }] }, l4: udp }), 14 + 40 + 4), { reason: 'trunc_ipv6_ext', untracked: 'parse_error' }],
];

const OBJECT = path.join(__dirname, 'flow_stats.bpf.o');

function run(packet: Buffer, program: string) {
  const spec = openProbeObject(OBJECT);
  try {
    const object = spec.load();
    const { retval } = object.testRun(program, packet);
    flushHotSlots(object, numPossibleCpus());
    const flows = object.map('flow_stats_flows');
    const codec = new FlowCodec(flows.keyLayout(), flows.valueLayout(), object.enum('flow_direction').labels('FLOW_'));
    const { count, keys, values } = flows.readAll();
    const tracked = Array.from({ length: count }, (_, i) => ({
      key: codec.decodeKey(keys, i * flows.keySize),
      counters: codec.decodeValue(values, i * flows.entryValueBytes, flows.valueStride, flows.cpus),
    }));
    const reasonNames = new Map(object.enum('flow_reason').enumerators.map((e) => [e.value, e.name]));
    const reasons = object.map('flow_stats_reasons').readDecoded(object.layout('reason_value'))
      .filter((r) => (r.value.packets as number) > 0)
      .map((r) => reasonNames.get(r.key.readUInt32LE(0))!.replace('FLOW_', '').toLowerCase());
    const untrackedNames = new Map(object.enum('untracked_reason').enumerators.map((e) => [e.value, e.name]));
    const untrackedKey = object.layout('untracked_key');
    const untracked = object.map('flow_stats_untracked').readDecoded(object.layout('untracked_value'))
      .map((u) => untrackedNames.get((untrackedKey.decode(u.key) as { reason: number }).reason)!.replace('UNTRACKED_', '').toLowerCase());
    // Untagged non-IP frames are counted in their own per-interface array (see non-ip.test.ts).
    for (const n of object.map('flow_stats_non_ip').readDecoded(object.layout('untracked_value'))) if ((n.value.packets as number) > 0) untracked.push('non_ip');
    return { retval, tracked, reasons, untracked };
  } finally {
    spec.close();
  }
}

for (const [name, packet, expect] of cases) {
  test(`crafted frame: ${name}`, (t) => {
    if (!kernelTestsPossible(t)) return;
    const programs = [['flow_stats_xdp', XDP_PASS, 'receive'], ['flow_stats_tc_egress', TC_ACT_UNSPEC, 'transmit']] as const;
    for (const [program, verdict, direction] of expect.xdpOnly ? programs.slice(0, 1) : programs) {
      const got = run(packet, program);
      assert.equal(got.retval, verdict, `${program} must let the frame continue`);
      assert.deepEqual(got.reasons, expect.reason ? [expect.reason] : [], `${program}: parse reasons`);
      assert.deepEqual(got.untracked, expect.untracked ? [expect.untracked] : [], `${program}: untracked`);
      if (expect.flow) {
        assert.equal(got.tracked.length, 1, `${program}: one flow`);
        const { key, counters } = got.tracked[0]!;
        assert.equal(key.direction, direction);
        for (const [field, value] of Object.entries(expect.flow)) assert.equal(key[field as keyof FlowKeyInfo], value, `${program}: ${field}`);
        assert.equal(counters.packets, 1);
        assert.equal(counters.bytes, packet.length);
      } else {
        assert.equal(got.tracked.length, 0, `${program}: no flow`);
      }
    }
  });
}

test('a TCP SYN counts as a connection attempt and its flags are kept', (t) => {
  if (!kernelTestsPossible(t)) return;
  const got = run(frame({ ip: v4, l4: tcp }), 'flow_stats_xdp');
  assert.equal(got.tracked[0]!.counters.syns, 1);
  assert.equal(got.tracked[0]!.counters.tcpFlags, 0x02);
  const synAck = run(frame({ ip: v4, l4: { ...tcp, flags: 0x12 } }), 'flow_stats_xdp');
  assert.equal(synAck.tracked[0]!.counters.syns, 0, 'SYN+ACK is an answer, not an attempt');
});

test('random bytes never make the programs misbehave', (t) => {
  if (!kernelTestsPossible(t)) return;
  const spec = openProbeObject(OBJECT);
  t.after(() => spec.close());
  const object = spec.load();
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
  let refusedByHarness = 0;
  const base = [frame({ ip: v4, l4: tcp, payload: 40 }), frame({ ip: { ...v6, extensions: [{ type: 0 }, { type: 44 }] }, l4: udp, payload: 40 })];
  const n = iterations(2000);
  for (let i = 0; i < n; i++) {
    const packet = Buffer.from(base[i % 2]!);
    for (let j = 0; j < 1 + (i % 8); j++) packet[12 + (rand() % (packet.length - 12))] = rand(); // mutate headers
    const cut = truncate(packet, 14 + (rand() % (packet.length - 13)));
    assert.equal(object.testRun('flow_stats_xdp', cut).retval, XDP_PASS);
    let tc: number | undefined;
    try {
      tc = object.testRun('flow_stats_tc_egress', cut).retval;
    } catch (err) {
      assert.match(String(err), /EINVAL/); // the skb harness refused a frame with a cut IP header
      refusedByHarness++;
    }
    if (tc !== undefined) assert.equal(tc, TC_ACT_UNSPEC);
  }
  assert.ok(refusedByHarness < n / 2, `the TC program ran on most frames (${n - refusedByHarness} of ${n})`);
});
