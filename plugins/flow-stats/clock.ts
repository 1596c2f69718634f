/**
 * Flow times. The kernel stamps packets with bpf_ktime_get_coarse_ns(), which is
 * CLOCK_MONOTONIC as of the last tick; Node's hrtime reads the same clock, so a
 * stamp needs no rate and no calibration (the jiffies this replaced needed HZ,
 * which had to be guessed). Only the offset to the wall clock is measured, once
 * per reading, so a stepped wall clock is followed while durations never jump.
 */

/** A moment on both clocks: monotonic ns and wall-clock ms since the epoch. */
export interface ClockReference {
  monoNs: number;
  epochMs: number;
}

/** CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_coarse_ns() reads in the kernel. */
export function monotonicNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * Both clocks at (nearly) the same moment: the wall clock read between two
 * monotonic reads, taken at their midpoint. Date.now() truncates to whole ms, so
 * the middle of that ms is the unbiased estimate (error at most 0.5 ms plus the
 * few µs between the reads).
 */
export function clockReference(): ClockReference {
  const before = process.hrtime.bigint();
  const epochMs = Date.now() + 0.5;
  const after = process.hrtime.bigint();
  return { monoNs: Number(before + (after - before) / 2n), epochMs };
}

/** Wall-clock ms since the epoch of a kernel monotonic stamp. */
export function toEpochMs(monoNs: number, ref: ClockReference): number {
  return ref.epochMs - (ref.monoNs - monoNs) / 1e6;
}
