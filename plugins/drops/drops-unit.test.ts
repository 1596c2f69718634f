import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DropReasons } from './reasons';
import { openProbeObject } from '../../core/plugin/object';
import { dropRecord, type DropEvent } from './event';
import { KernelSymbols } from '../../core/bpf/kallsyms';

/** DROPS_REASON_UNKNOWN as the built object declares it (enum drops_reason_marker in drops.h). */
const REASON_UNKNOWN = (() => {
  const spec = openProbeObject(path.join(__dirname, 'drops.bpf.o'));
  try {
    return spec.enum('drops_reason_marker').value('DROPS_REASON_UNKNOWN');
  } finally {
    spec.close();
  }
})();

const KERNEL_ENUM = [
  { name: 'SKB_NOT_DROPPED_YET', value: 0 }, { name: 'SKB_CONSUMED', value: 1 },
  { name: 'SKB_DROP_REASON_NOT_SPECIFIED', value: 2 }, { name: 'SKB_DROP_REASON_NO_SOCKET', value: 3 },
  { name: 'SKB_DROP_REASON_MAX', value: 4 }, { name: 'SKB_DROP_REASON_SUBSYS_MASK', value: 0xffff0000 },
];

test('reason names come from the kernel enum, lower-cased without the prefix', () => {
  const r = new DropReasons(KERNEL_ENUM, REASON_UNKNOWN);
  assert.equal(r.known, true);
  assert.equal(r.name(3), 'no_socket');
  assert.equal(r.name(2), 'not_specified');
  assert.equal(r.name(0x10005), 'unknown_65541', 'a subsystem reason the enum lacks');
  assert.equal(r.name(REASON_UNKNOWN), 'unknown');
  assert.equal(REASON_UNKNOWN, 0xffffffff, 'read from BTF as the unsigned value the program writes into a __u32');
  assert.equal(r.value('no_socket'), 3);
  assert.equal(r.value('SKB_DROP_REASON_NOT_SPECIFIED'), 2);
  assert.equal(r.value('MAX'), undefined, 'MAX is a bound, not a reason');
  assert.equal(r.value('consumed'), undefined, 'not a drop reason');
});

test('a kernel without the enum (before 5.17): every drop is unknown', () => {
  const r = new DropReasons(undefined, REASON_UNKNOWN);
  assert.equal(r.known, false);
  assert.equal(r.name(REASON_UNKNOWN), 'unknown');
});

const context = {
  reasonName: (v: number) => new DropReasons(KERNEL_ENUM, REASON_UNKNOWN).name(v),
  interfaceName: (i: number) => (i === 7 ? 'eth0' : undefined),
  symbol: (a: bigint) => (a === 0xffffffff81000010n ? 'udp_rcv+0x10' : undefined),
  peerName: (a: string) => (a === '192.0.2.1' ? 'peer.test' : undefined),
};

test('a drop record: flat attributes and a one-line body', () => {
  const e: DropEvent = {
    location: 0xffffffff81000010n, reason: 3, ifindex: 7, length: 60, direction: 'receive', ipVersion: 4, protocol: 17,
    ports: { src: 5353, dst: 53 }, src: '192.0.2.1', dst: '192.0.2.2',
  };
  const { attributes, body } = dropRecord(e, context);
  assert.deepEqual(attributes, {
    'netprobe.drop.reason': 'no_socket', 'network.io.direction': 'receive', 'network.type': 'ipv4', 'netprobe.drop.length': 60,
    'network.interface.name': 'eth0', 'netprobe.drop.location': 'udp_rcv+0x10', 'network.transport': 'udp',
    'source.address': '192.0.2.1', 'destination.address': '192.0.2.2', 'source.port': 5353, 'destination.port': 53,
    'netprobe.peer.name': 'peer.test',
  });
  assert.equal(body, 'no_socket: udp 192.0.2.1:5353 -> 192.0.2.2:53 (receive on eth0, 60 bytes, in udp_rcv+0x10)');
});

test('a drop without a readable header or known interface keeps what is known', () => {
  const e: DropEvent = { location: 0n, reason: REASON_UNKNOWN, ifindex: 0, length: 90, direction: 'transmit', ipVersion: 6, protocol: 0, src: '', dst: '' };
  const { attributes, body } = dropRecord(e, context);
  assert.deepEqual(attributes, { 'netprobe.drop.reason': 'unknown', 'network.io.direction': 'transmit', 'network.type': 'ipv6', 'netprobe.drop.length': 90 });
  assert.equal(body, 'unknown: ipv6 (transmit, 90 bytes)');
});

test('ICMP carries type and code; IPv6 ports are bracketed in the body', () => {
  const icmp = dropRecord({ location: 0n, reason: 3, ifindex: 7, length: 84, direction: 'transmit', ipVersion: 4, protocol: 1, ports: { src: 8, dst: 0 }, src: '192.0.2.2', dst: '192.0.2.1' }, context);
  assert.equal(icmp.attributes['netprobe.icmp.type'], 8);
  assert.equal(icmp.attributes['source.port'], undefined);
  assert.equal(icmp.attributes['netprobe.peer.name'], 'peer.test', 'sent to the named peer');
  const v6 = dropRecord({ location: 0n, reason: 3, ifindex: 7, length: 48, direction: 'receive', ipVersion: 6, protocol: 6, ports: { src: 1, dst: 2 }, src: 'fd00::1', dst: 'fd00::2' }, context);
  assert.match(v6.body, /^no_socket: tcp \[fd00::1\]:1 -> \[fd00::2\]:2 /);
});

test('kernel symbols: function+offset for an address, nothing outside or when addresses are hidden', () => {
  const k = KernelSymbols.parse([
    'ffffffff81000000 T _stext',
    'ffffffff81000100 t udp_rcv',
    'ffffffff81000200 D some_data',
    'ffffffffc0001000 t mod_fn\t[mymod]',
    'ffffffff81000180 T tcp_v4_rcv',
  ].join('\n'));
  assert.equal(k.size, 4);
  assert.equal(k.name(0xffffffff81000104n), 'udp_rcv+0x4');
  assert.equal(k.name(0xffffffff81000180n), 'tcp_v4_rcv');
  assert.equal(k.name(0xffffffff81000250n), 'tcp_v4_rcv+0xd0', 'data symbols are not functions');
  assert.equal(k.name(0xffffffffc0001010n), 'mod_fn+0x10');
  assert.equal(k.name(0xffffffff80000000n), undefined);
  assert.equal(KernelSymbols.parse('0000000000000000 T _stext\n0000000000000000 t udp_rcv\n').name(0x10n), undefined);
});
