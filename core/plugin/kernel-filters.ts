/**
 * Address and port filters evaluated in the kernel, loaded from a probe's config: one
 * helper for every probe that filters (flow_stats, packet_capture). The C side has an
 * LPM trie per CIDR list (key: { prefixlen, addr[16] }, IPv4 as IPv4-mapped IPv6), an
 * array indexed by port whose value holds include/exclude bits, and a `filter_flags`
 * knob saying which filters are configured; the bits come from the probe's C enums.
 */
import { parseCidr } from '../net/address';
import { NetprobeError } from '../errors';
import type { EnumLabels, ProbeObject } from './types';

export interface KernelFilterConfig {
  include_cidrs: readonly string[];
  exclude_cidrs: readonly string[];
  include_ports: readonly number[];
  exclude_ports: readonly number[];
}

/** The probe's map names for each filter. */
export interface KernelFilterMaps {
  includeCidrs: string;
  excludeCidrs: string;
  ports: string;
}

/**
 * The `filter_flags` knob: the bit of every filter list that is configured, by name
 * (`include_cidrs` -> the enum's INCLUDE_CIDRS label), so a probe's own filters
 * (e.g. `protocols`, `vlans`) are covered by the same rule.
 */
export function kernelFilterFlags(filter: object, flagBits: EnumLabels): number {
  let flags = 0;
  for (const [bit, label] of flagBits.entries()) {
    const list = (filter as Record<string, unknown>)[label];
    if (Array.isArray(list) && list.length > 0) flags |= bit;
  }
  return flags;
}

/** Fills the CIDR tries and the port array; `portBits` labels are `include` and `exclude`. */
export function loadKernelFilters(object: ProbeObject, filter: KernelFilterConfig, maps: KernelFilterMaps, portBits: EnumLabels): void {
  const cidrs = (list: readonly string[], mapName: string) => {
    if (list.length === 0) return;
    const map = object.map(mapName);
    const key = map.keyLayout().offsets({ prefixlen: 4, addr: 16 });
    for (const text of list) {
      const cidr = parseCidr(text);
      if (!cidr) throw new NetprobeError('NETPROBE_ERR_CONFIG', `${text}: expected an IPv4 or IPv6 CIDR`);
      const k = Buffer.alloc(map.keySize);
      k.writeUInt32LE(cidr.prefixLength, key.prefixlen);
      cidr.bytes.copy(k, key.addr);
      const present = Buffer.alloc(map.valueSize);
      present[0] = 1;
      map.update(k, present);
    }
  };
  cidrs(filter.include_cidrs, maps.includeCidrs);
  cidrs(filter.exclude_cidrs, maps.excludeCidrs);

  const ports = new Map<number, number>();
  for (const p of filter.include_ports) ports.set(p, (ports.get(p) ?? 0) | portBits.value('include'));
  for (const p of filter.exclude_ports) ports.set(p, (ports.get(p) ?? 0) | portBits.value('exclude'));
  if (ports.size === 0) return;
  const map = object.map(maps.ports);
  if (map.keySize !== 4) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `map ${maps.ports}: key is ${map.keySize} bytes, expected a 4-byte port index`);
  const keys = Buffer.alloc(ports.size * 4);
  const values = Buffer.alloc(ports.size * map.valueSize);
  [...ports].forEach(([port, bits], i) => {
    keys.writeUInt32LE(port, i * 4);
    values[i * map.valueSize] = bits;
  });
  map.updateBatch(keys, values);
}
