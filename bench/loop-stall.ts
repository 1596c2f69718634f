/**
 * The longest event-loop stall while some work runs, as Node itself measures it
 * (perf_hooks.monitorEventLoopDelay: a 1 ms timer, and how late it fires), and the
 * same over an idle stretch of the same length: the VM's own noise, same run.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StallRun {
  /** Wall time of the work, ms. */
  wallMs: number;
  /** Longest stall while it ran, ms. */
  maxStallMs: number;
}

export async function measureStall(work: () => Promise<unknown>): Promise<StallRun> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(5); // let the timer start
  h.reset();
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  await sleep(2); // the timer's view of the last slice
  h.disable();
  return { wallMs, maxStallMs: h.max / 1e6 };
}

/** The longest stall over `ms` of doing nothing. */
export function idleStall(ms: number): Promise<StallRun> {
  return measureStall(() => sleep(ms));
}
