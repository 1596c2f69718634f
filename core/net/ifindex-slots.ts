/**
 * Which kernel table slot counts each interface: slot = ifindex & mask, with the
 * smallest mask (2^k - 1) under which the interfaces' slots are all different. A
 * BPF program then finds an interface's per-CPU counters with one array lookup (the
 * verifier inlines it), no hashing. Interface indexes are small and dense on most
 * hosts, so the table stays small. Used by xdp_counter and flow_stats (non-IP frames).
 */

/** Most slots the kernel table may have (2^16: 65,536 × the value size × CPUs). */
export const MAX_SLOTS = 1 << 16;

export interface SlotPlan {
  /** Written to the program's slot_mask knob. */
  mask: number;
  /** Entries in the per-CPU table: mask + 1. */
  size: number;
  /** ifindex -> slot */
  slotOf: Map<number, number>;
}

export function planSlots(ifindexes: readonly number[]): SlotPlan {
  const unique = [...new Set(ifindexes)];
  for (let size = 1; size <= MAX_SLOTS; size *= 2) {
    const mask = size - 1;
    const slotOf = new Map<number, number>();
    const taken = new Set<number>();
    for (const ifindex of unique) {
      const slot = ifindex & mask;
      if (taken.has(slot)) break;
      taken.add(slot);
      slotOf.set(ifindex, slot);
    }
    if (slotOf.size === unique.length) return { mask, size, slotOf };
  }
  throw new Error(`interface indexes ${ifindexes.join(', ')} share a slot in a table of ${MAX_SLOTS}: they differ only in bits above the 16th`);
}
