/**
 * Each CPU keeps the last flow it saw in a slot (see struct hot_slot); before the
 * table is read, every CPU moves its slot into the table, in its own context.
 */
import type { BpfObject } from '../../core/bpf/object';
import { numPossibleCpus } from '../../core/bpf/map';
import { runOnCpu } from '../../core/bpf/test-run';

/** Tries per CPU when the flush keeps finding the slot busy (it interrupted a packet). */
const BUSY_RETRIES = 100;

/** Flushes every CPU's slot; returns the CPUs whose slot stayed busy (counted next time). */
export function flushHotSlots(object: BpfObject): number[] {
  const fd = object.programFd('flow_stats_flush');
  const busy: number[] = [];
  for (let cpu = 0; cpu < numPossibleCpus(); cpu++) {
    let result = runOnCpu(fd, cpu);
    for (let i = 0; result === 1 && i < BUSY_RETRIES; i++) result = runOnCpu(fd, cpu);
    if (result === 1) busy.push(cpu);
  }
  return busy;
}
