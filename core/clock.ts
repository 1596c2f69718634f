/**
 * From the kernel's monotonic clock to the wall clock. BPF programs stamp with
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC, which Node's hrtime reads too); files and
 * records want the wall clock. The offset between the two is read as CLOCK_REALTIME
 * between two monotonic reads, keeping the tightest of a few tries: a try the
 * scheduler interrupted is wide and loses. Date.now() alone gives whole ms, and
 * waiting for it to tick was off by up to 0.9 ms on a busy 2-core VM (measured
 * spread over 40 calls), which a capture's timestamps then carried.
 */
import { libbpf } from './bpf/libbpf';

const CLOCK_REALTIME = 0;
/** A bracket this tight pins the offset to half of it; most tries on an idle machine take ~1 us. */
const GOOD_ENOUGH_NS = 20_000n;
const MAX_TRIES = 20;

/** The two clocks in ns (the system's, or a test's). */
export interface Clocks {
  monotonicNs(): bigint;
  realtimeNs(): bigint;
}

const systemClocks: Clocks = {
  monotonicNs: () => process.hrtime.bigint(),
  realtimeNs() {
    const ts: { tv_sec?: number | bigint; tv_nsec?: number | bigint } = {};
    if (libbpf().clock_gettime(CLOCK_REALTIME, ts) !== 0) throw new Error('clock_gettime(CLOCK_REALTIME) failed');
    return BigInt(ts.tv_sec!) * 1_000_000_000n + BigInt(ts.tv_nsec!);
  },
};

/** Wall-clock ns since the epoch minus CLOCK_MONOTONIC ns, at this moment. */
export function wallClockOffsetNs(clocks: Clocks = systemClocks): bigint {
  let best: { width: bigint; offset: bigint } | undefined;
  for (let i = 0; i < MAX_TRIES; i++) {
    const before = clocks.monotonicNs();
    const realNs = clocks.realtimeNs();
    const after = clocks.monotonicNs();
    const width = after - before;
    if (!best || width < best.width) best = { width, offset: realNs - (before + width / 2n) };
    if (width <= GOOD_ENOUGH_NS) break;
  }
  return best!.offset;
}
