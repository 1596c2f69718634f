/**
 * The attributes of one captured frame for its log record: addresses, ports,
 * protocol, lengths, TCP flags. Reads only what was captured and never throws: a
 * frame cut short by snaplen or malformed simply yields fewer attributes.
 */
import type { Attributes } from '../../core/plugin/types';
import { formatIpv4, formatIpv6 } from '../../core/net/address';

const PROTOCOL_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 47: 'gre', 50: 'esp', 51: 'ah' };
const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
const IPV6_EXTENSIONS = new Set([0, 43, 44, 51, 60, 135]);

export function frameAttributes(data: Buffer): Attributes {
  const a: Attributes = {};
  let at = 12;
  let type = data.length >= 14 ? data.readUInt16BE(12) : 0;
  for (let tags = 0; tags < 2 && (type === 0x8100 || type === 0x88a8) && data.length >= at + 6; tags++) {
    if (tags === 0) a['netprobe.capture.vlan.id'] = data.readUInt16BE(at + 2) & 0x0fff;
    at += 4;
    type = data.readUInt16BE(at);
  }
  at += 2;
  let protocol: number;
  let l4: number | undefined;
  if (type === 0x0800 && data.length >= at + 20) {
    a['network.type'] = 'ipv4';
    protocol = data[at + 9]!;
    a['source.address'] = formatIpv4(data, at + 12);
    a['destination.address'] = formatIpv4(data, at + 16);
    const fragmentOffset = data.readUInt16BE(at + 6) & 0x1fff;
    if (fragmentOffset === 0) l4 = at + (data[at]! & 0x0f) * 4;
  } else if (type === 0x86dd && data.length >= at + 40) {
    a['network.type'] = 'ipv6';
    a['source.address'] = formatIpv6(data, at + 8);
    a['destination.address'] = formatIpv6(data, at + 24);
    protocol = data[at + 6]!;
    let cursor = at + 40;
    for (let i = 0; i < 6 && IPV6_EXTENSIONS.has(protocol) && data.length >= cursor + 8; i++) {
      if (protocol === 44 && (data.readUInt16BE(cursor + 2) & 0xfff8) !== 0) {
        protocol = data[cursor]!;
        cursor = -1; // a later fragment: no transport header
        break;
      }
      const length = protocol === 51 ? (data[cursor + 1]! + 2) * 4 : protocol === 44 ? 8 : (data[cursor + 1]! + 1) * 8;
      protocol = data[cursor]!;
      cursor += length;
    }
    if (cursor >= 0 && !IPV6_EXTENSIONS.has(protocol)) l4 = cursor;
  } else {
    a['netprobe.capture.ether_type'] = type;
    return a;
  }
  a['network.transport'] = PROTOCOL_NAMES[protocol] ?? String(protocol);
  if (l4 !== undefined && (protocol === 6 || protocol === 17 || protocol === 132) && data.length >= l4 + 4) {
    a['source.port'] = data.readUInt16BE(l4);
    a['destination.port'] = data.readUInt16BE(l4 + 2);
    if (protocol === 6 && data.length >= l4 + 14) a['netprobe.tcp.flags'] = TCP_FLAGS.filter((_, i) => data[l4 + 13]! & (1 << i)).join('|');
  } else if (l4 !== undefined && (protocol === 1 || protocol === 58) && data.length >= l4 + 2) {
    a['netprobe.icmp.type'] = data[l4]!;
    a['netprobe.icmp.code'] = data[l4 + 1]!;
  }
  return a;
}
