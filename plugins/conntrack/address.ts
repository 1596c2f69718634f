/** Socket addresses as the kernel program stores them: 16 bytes, IPv4 mapped into IPv6. */
import { formatAddress, isIpv4Mapped } from '../../core/net/address';

export interface Address {
  text: string;
  /** network.type: `ipv4` for IPv4 and IPv4-mapped IPv6 (IPv4 on the wire), else `ipv6`. */
  type: 'ipv4' | 'ipv6';
}

export function decodeAddress(raw: Buffer): Address {
  if (raw.length !== 16) throw new Error(`address is ${raw.length} bytes, expected 16`);
  return { text: formatAddress(raw), type: isIpv4Mapped(raw) ? 'ipv4' : 'ipv6' };
}
