import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { decodeAddress } from './address';
import { addressBytes } from '../../core/net/address';
import { CumulativeHistogram } from './histogram';
import { openProbeObject } from '../../core/plugin/object';
import { conntrack, cgroupLevel, type ConntrackConfig } from './plugin';
import { cgroupDirectory } from '../../core/net/cgroup';
import { closedAttributes, closedSummary, endpointAttributes, failedAttributes, failedSummary, type ClosedConnection } from './close-event';

const bytes = (...b: number[]) => Buffer.from(b);

test('addresses: IPv4-mapped becomes dotted IPv4, IPv6 the RFC 5952 text', () => {
  assert.deepEqual(decodeAddress(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 251, 7, 1)), { text: '10.251.7.1', type: 'ipv4' });
  assert.deepEqual(decodeAddress(bytes(0xfd, 0, 2, 0x51, 0, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), { text: 'fd00:251:bf::1', type: 'ipv6' });
  assert.deepEqual(decodeAddress(Buffer.alloc(16)), { text: '::', type: 'ipv6' });
  assert.equal(decodeAddress(addressBytes('0:0:0:0:0:0:0:1')!).text, '::1');
  assert.equal(decodeAddress(addressBytes('1:0:0:1:0:0:0:1')!).text, '1:0:0:1::1', 'the longest zero run');
  assert.equal(decodeAddress(addressBytes('2001:db8:0:1:1:1:1:1')!).text, '2001:db8:0:1:1:1:1:1', 'a single zero group stays');
  assert.throws(() => decodeAddress(Buffer.alloc(4)), /16/);
});

test('histogram buckets are (previous, boundary], like OpenTelemetry', () => {
  const h = new CumulativeHistogram([0.001, 0.01]);
  for (const v of [0.0005, 0.001, 0.0011, 0.01, 5]) h.record(v);
  assert.deepEqual(h.value().counts, [2, 2, 1]);
  assert.equal(h.value().count, 5);
});

test('enum names come from the object\'s BTF', () => {
  const spec = openProbeObject(path.join(__dirname, 'conntrack.bpf.o'));
  try {
    assert.deepEqual(spec.enum('conntrack_role').labels('CONNTRACK_ROLE_').names, ['client', 'server', 'unknown']);
    assert.deepEqual(spec.enum('conntrack_close_reason').labels('CONNTRACK_CLOSE_').names, ['normal', 'reset', 'timeout', 'refused', 'connect_failed']);
    assert.deepEqual(spec.enum('conntrack_adopt_outcome').labels('CONNTRACK_ADOPT_', ['CONNTRACK_ADOPT_MAX']).names, ['given', 'refused', 'unknown_cgroup']);
    const states = spec.enum('conntrack_tcp_state').labels('CONNTRACK_TCP_');
    // The kernel's numbering (include/net/tcp_states.h), named as network.connection.state values.
    assert.equal(states.name(1), 'established');
    assert.equal(states.name(3), 'syn_received');
    assert.equal(states.name(4), 'fin_wait_1');
    assert.equal(states.name(11), 'closing');
    assert.equal(states.name(99), 'unknown_99');
  } finally {
    spec.close();
  }
});

test('endpoints: client.* and server.* by role; local and peer when the role is unknown', () => {
  const c = {
    local: { text: '10.0.0.1', type: 'ipv4' }, localPort: 40000, peer: { text: '10.0.0.2', type: 'ipv4' }, peerPort: 80,
  } as ClosedConnection;
  assert.deepEqual(endpointAttributes({ ...c, role: 'client' }), { 'client.address': '10.0.0.1', 'client.port': 40000, 'server.address': '10.0.0.2', 'server.port': 80 });
  assert.deepEqual(endpointAttributes({ ...c, role: 'server' }), { 'client.address': '10.0.0.2', 'client.port': 80, 'server.address': '10.0.0.1', 'server.port': 40000 });
  assert.deepEqual(Object.keys(endpointAttributes({ ...c, role: 'unknown' })), ['network.local.address', 'network.local.port', 'network.peer.address', 'network.peer.port']);
});

test('config checks: ascending buckets, a power-of-two ring, a cgroup inside the hierarchy', () => {
  const base: ConntrackConfig = {
    cgroup: '/', max_connections: 16, ring_buffer_size: 4096, rtt_callbacks: true, preexisting: true, process_identity: true, duration_buckets: [1, 2], rtt_buckets: [1, 2],
  };
  assert.deepEqual(conntrack.validate!(base), []);
  assert.deepEqual(conntrack.validate!({ ...base, ring_buffer_size: 5000, rtt_buckets: [2, 2] }), [
    { path: ['rtt_buckets', '[1]'], message: 'must be greater than the previous boundary (2)' },
    { path: ['ring_buffer_size'], message: 'must be a power of two' },
  ]);
  assert.equal(cgroupDirectory('/a/b', '/sys/fs/cgroup'), '/sys/fs/cgroup/a/b');
  assert.equal(cgroupDirectory('/', '/sys/fs/cgroup'), '/sys/fs/cgroup');
  assert.equal(cgroupDirectory('/../etc', '/sys/fs/cgroup'), '/sys/fs/cgroup/etc', 'cannot climb out');
  assert.deepEqual(['/', '/a', '/a/b/', '/a//b/../c'].map(cgroupLevel), [0, 1, 2, 2]);
});

test('closed and failed records: durations and RTT in whole ns whatever their value, and a one-line body', () => {
  const base: ClosedConnection = {
    role: 'client', reason: 'normal', lastState: 'fin_wait_2', established: true, preexisting: false,
    local: { text: '10.0.0.1', type: 'ipv4' }, localPort: 40000, peer: { text: '10.0.0.2', type: 'ipv4' }, peerPort: 80,
    durationS: 1.5, durationNs: 1_500_000_000, bytesSent: 100, bytesReceived: 2000, segmentsSent: 5, segmentsReceived: 6, retransmits: 0, rttS: 0.00012, rttNs: 120_000, error: '',
  };
  for (const c of [base, { ...base, durationS: 0, durationNs: 0, rttS: 0, rttNs: 0 }]) {
    for (const attrs of [closedAttributes(c), failedAttributes(c)]) {
      for (const name of ['netprobe.connection.duration', 'netprobe.connection.rtt']) {
        if (name in attrs) assert.ok(Number.isInteger(attrs[name]), `${name} = ${attrs[name]} is sent as an int`);
      }
    }
  }
  assert.equal(closedSummary(base), 'tcp client 10.0.0.1:40000 > 10.0.0.2:80 closed (normal) after 1.500 s: sent 100 B, received 2000 B, rtt 0.120 ms');
  assert.equal(closedSummary({ ...base, role: 'server', reason: 'reset', error: 'ECONNRESET', retransmits: 2, rttNs: 0 }),
    'tcp server 10.0.0.2:80 > 10.0.0.1:40000 closed (reset, ECONNRESET) after 1.500 s: sent 100 B, received 2000 B, 2 retransmits');
  assert.equal(failedSummary({ ...base, established: false, reason: 'refused', error: 'ECONNREFUSED', durationNs: 1_000_000, peer: { text: 'fd00::2', type: 'ipv6' }, local: { text: 'fd00::1', type: 'ipv6' } }),
    'tcp connect [fd00::1]:40000 > [fd00::2]:80 failed (refused, ECONNREFUSED) after 0.001 s');
});
