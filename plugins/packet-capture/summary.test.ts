/** What a packet's log record says about it, from the captured bytes alone; short or odd frames give fewer attributes, never an exception. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, truncate } from '../../test/helpers/packets';
import { frameAttributes } from './summary';

test('TCP over IPv4 behind a VLAN tag: addresses, ports, flags, the tag', () => {
  const f = frame({ vlans: [{ id: 42 }], ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', src: 40000, dst: 443, flags: 0x12 } });
  assert.deepEqual(frameAttributes(f), {
    'netprobe.capture.vlan.id': 42, 'network.type': 'ipv4', 'network.transport': 'tcp',
    'source.address': '10.0.0.1', 'destination.address': '10.0.0.2', 'source.port': 40000, 'destination.port': 443, 'netprobe.tcp.flags': 'SYN|ACK',
  });
});

test('UDP over IPv6 after extension headers; ICMPv6 type and code', () => {
  const udp = frame({ ip: { version: 6, src: 'fd00::1', dst: 'fd00::2', extensions: [{ type: 0 }, { type: 60, length: 1 }] }, l4: { kind: 'udp', src: 5353, dst: 53 } });
  assert.deepEqual(frameAttributes(udp), {
    'network.type': 'ipv6', 'network.transport': 'udp', 'source.address': 'fd00::1', 'destination.address': 'fd00::2', 'source.port': 5353, 'destination.port': 53,
  });
  const icmp = frameAttributes(frame({ ip: { version: 6, src: 'fd00::1', dst: 'fd00::2' }, l4: { kind: 'icmp', type: 128, code: 0 } }));
  assert.equal(icmp['network.transport'], 'icmpv6');
  assert.equal(icmp['netprobe.icmp.type'], 128);
});

test('a later fragment has no ports; non-IP frames name their EtherType; short frames give what they hold', () => {
  const later = frameAttributes(frame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, fragmentOffset: 1480 }, payload: 20 }));
  assert.equal(later['network.transport'], 'udp');
  assert.equal(later['source.port'], undefined);
  assert.deepEqual(frameAttributes(frame({ etherType: 0x0806, payload: 28 })), { 'netprobe.capture.ether_type': 0x0806 });
  const tcp = frame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', src: 1, dst: 2 } });
  for (let n = 0; n <= tcp.length; n++) assert.doesNotThrow(() => frameAttributes(truncate(tcp, n)), `cut at ${n}`);
  assert.equal(frameAttributes(truncate(tcp, 40))['source.address'], '10.0.0.1');
  assert.equal(frameAttributes(truncate(tcp, 40))['netprobe.tcp.flags'], undefined);
});
