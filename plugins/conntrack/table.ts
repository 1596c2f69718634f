/**
 * Open connections by state and network type, counted from one batched read of
 * the kernel's connection table. Only two fields of each entry are looked at,
 * at offsets from BTF, so this stays cheap with many connections.
 */
import type { BpfMap } from '../../core/bpf/map';
import type { StructLayout } from '../../core/bpf/layout';
import { readInt } from '../../core/bpf/layout';
import type { EnumNames } from './names';

export interface OpenCount { state: string; type: 'ipv4' | 'ipv6'; count: number }

export class ConnectionTable {
  private readonly stateField: { offset: number; size: number };
  private readonly addrOffset: number;
  /** Every (state, type) ever seen, so a count drops to 0 instead of vanishing. */
  private readonly seen = new Set<string>();

  constructor(private readonly map: BpfMap, layout: StructLayout, private readonly states: EnumNames) {
    map.expectLayout(layout, 8);
    const state = layout.field('state');
    this.stateField = { offset: state.offset, size: state.size };
    this.addrOffset = layout.field('local_addr').offset;
  }

  countOpen(): OpenCount[] {
    const { count, values } = this.map.readAll();
    const counts = new Map<string, number>();
    for (const key of this.seen) counts.set(key, 0);
    const stride = this.map.entryValueBytes;
    for (let i = 0; i < count; i++) {
      const base = i * stride;
      const state = readInt(values, base + this.stateField.offset, this.stateField.size, false);
      // IPv4-mapped (::ffff:a.b.c.d): ten zero bytes, then 0xff 0xff.
      const a = base + this.addrOffset;
      const v4 = values.readUInt32LE(a) === 0 && values.readUInt32LE(a + 4) === 0 && values.readUInt32LE(a + 8) === 0xffff0000;
      const key = `${state}/${v4 ? 'ipv4' : 'ipv6'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      this.seen.add(key);
    }
    return [...counts].map(([key, n]) => {
      const [state, type] = key.split('/');
      return { state: this.states.name(Number(state)), type: type as 'ipv4' | 'ipv6', count: n };
    });
  }
}
