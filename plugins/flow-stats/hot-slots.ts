/**
 * Each CPU keeps the last flow it saw in a slot (see struct hot_slot); before the
 * table is read, every CPU moves its slot into the table, in its own context.
 */
import type { ProbeObject } from '../../core/plugin';

/** Tries per CPU when the flush keeps finding the slot busy (it interrupted a packet). */
const BUSY_RETRIES = 100;

/** Flushes every CPU's slot; returns the CPUs whose slot stayed busy (counted next time). */
export function flushHotSlots(object: ProbeObject, cpus: number): number[] {
  const busy: number[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    let result = object.runOnCpu('flow_stats_flush', cpu);
    for (let i = 0; result === 1 && i < BUSY_RETRIES; i++) result = object.runOnCpu('flow_stats_flush', cpu);
    if (result === 1) busy.push(cpu);
  }
  return busy;
}
