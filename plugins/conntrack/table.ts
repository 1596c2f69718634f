/**
 * One batched read of the kernel's connection table per collection: open
 * connections by state and network type, and the live connections that
 * retransmitted most. Only three fields of each entry are looked at, at offsets
 * from BTF, so this stays cheap with many connections; an entry is decoded in
 * full only while it is among the busiest retransmitters.
 */
import { readInt, type EnumLabels, type ProbeMap, type StructLayout } from '../../core/plugin';
import { TimeSlice } from '../../core/plugin/time-slice';
import { decodeAddress, type Address } from './address';

export interface OpenCount { state: string; type: 'ipv4' | 'ipv6'; count: number }

/** A connection still in the table, with the segments it retransmitted so far. */
export interface RetransmittingConnection {
  role: string;
  local: Address;
  localPort: number;
  peer: Address;
  peerPort: number;
  /** Since the connection was tracked (a pre-existing one: since it was picked up). */
  retransmits: number;
}

export interface TableScan { open: OpenCount[]; retransmitting: RetransmittingConnection[] }

type Field = { offset: number; size: number };

export class ConnectionTable {
  private readonly layout: StructLayout;
  private readonly stateField: Field;
  private readonly retransmitsField: Field;
  private readonly addrOffset: number;
  /** Every (state, type) ever seen, so a count drops to 0 instead of vanishing. */
  private readonly seen = new Set<number>();

  /** `map`: conntrack_table, its value (struct conntrack_conn) laid out from the map's BTF. */
  constructor(private readonly map: ProbeMap, private readonly labels: { states: EnumLabels; roles: EnumLabels }) {
    this.layout = map.valueLayout();
    const field = (name: string) => {
      const f = this.layout.field(name);
      return { offset: f.offset, size: f.size };
    };
    this.stateField = field('state');
    this.retransmitsField = field('retransmits');
    this.addrOffset = this.layout.field('local_addr').offset;
  }

  async countOpen(): Promise<OpenCount[]> {
    return (await this.scan(0)).open;
  }

  /**
   * One batch of the table at a time, yielding between batches: 65,536 entries must not stall the loop.
   * `top`: how many of the connections with retransmits to return, most first.
   */
  async scan(top: number): Promise<TableScan> {
    const counts = new Map<number, number>(); // state << 1 | (IPv6 ? 1 : 0)
    for (const key of this.seen) counts.set(key, 0);
    const busiest: RetransmittingConnection[] = []; // most first, at most `top`
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
        const retransmits = readInt(values, base + this.retransmitsField.offset, this.retransmitsField.size, false);
        if (retransmits > 0 && top > 0 && (busiest.length < top || retransmits > busiest[busiest.length - 1]!.retransmits)) {
          insertBusiest(busiest, this.decode(values, base, retransmits), top);
        }
      }
      await slice.pause();
    }
    for (const key of counts.keys()) this.seen.add(key);
    const open = [...counts].map(([key, n]): OpenCount => ({ state: this.labels.states.name(key >> 1), type: key & 1 ? 'ipv6' : 'ipv4', count: n }));
    return { open, retransmitting: busiest };
  }

  private decode(values: Buffer, base: number, retransmits: number): RetransmittingConnection {
    const c = this.layout.decode(values, base);
    return {
      role: this.labels.roles.name(c.role as number),
      local: decodeAddress(c.local_addr as Buffer),
      localPort: c.local_port as number,
      peer: decodeAddress(c.peer_addr as Buffer),
      peerPort: c.peer_port as number,
      retransmits,
    };
  }
}

/** Keeps `list` sorted, most retransmits first, and at most `top` long. */
function insertBusiest(list: RetransmittingConnection[], c: RetransmittingConnection, top: number): void {
  let at = list.findIndex((x) => x.retransmits < c.retransmits);
  if (at < 0) at = list.length;
  list.splice(at, 0, c);
  if (list.length > top) list.pop();
}
