/**
 * Open connections by state and network type, counted from one batched read of
 * the kernel's connection table. Only two fields of each entry are looked at,
 * at offsets from BTF, so this stays cheap with many connections.
 */
import { readInt, type EnumLabels, type ProbeMap } from '../../core/plugin';
import { TimeSlice } from '../../core/plugin/time-slice';

export interface OpenCount { state: string; type: 'ipv4' | 'ipv6'; count: number }

export class ConnectionTable {
  private readonly stateField: { offset: number; size: number };
  private readonly addrOffset: number;
  /** Every (state, type) ever seen, so a count drops to 0 instead of vanishing. */
  private readonly seen = new Set<number>();

  /** `map`: conntrack_table, its value (struct conntrack_conn) laid out from the map's BTF. */
  constructor(private readonly map: ProbeMap, private readonly states: EnumLabels) {
    const layout = map.valueLayout();
    const state = layout.field('state');
    this.stateField = { offset: state.offset, size: state.size };
    this.addrOffset = layout.field('local_addr').offset;
  }

  /** One batch of the table at a time, yielding between batches: 65,536 entries must not stall the loop. */
  async countOpen(): Promise<OpenCount[]> {
    const counts = new Map<number, number>(); // state << 1 | (IPv6 ? 1 : 0)
    for (const key of this.seen) counts.set(key, 0);
    const stride = this.map.entryValueBytes;
    const slice = new TimeSlice();
    for (const { count, values } of this.map.batches()) {
      for (let i = 0; i < count; i++) {
        const base = i * stride;
        const state = readInt(values, base + this.stateField.offset, this.stateField.size, false);
        // IPv4-mapped (::ffff:a.b.c.d): ten zero bytes, then 0xff 0xff.
        const a = base + this.addrOffset;
        const v4 = values.readUInt32LE(a) === 0 && values.readUInt32LE(a + 4) === 0 && values.readUInt32LE(a + 8) === 0xffff0000;
        const key = (state << 1) | (v4 ? 0 : 1);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      await slice.pause();
    }
    for (const key of counts.keys()) this.seen.add(key);
    return [...counts].map(([key, n]) => ({ state: this.states.name(key >> 1), type: key & 1 ? 'ipv6' : 'ipv4', count: n }));
  }
}
