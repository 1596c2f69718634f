/**
 * The kernel stamps packets with CLOCK_MONOTONIC (bpf_ktime_get_ns); pcap-ng wants
 * the wall clock. The offset between the two is measured at the instant Date.now()
 * ticks to a new millisecond, which pins it to a few microseconds, and measured
 * again now and then so a clock step (NTP) is followed.
 */
export function wallClockOffsetNs(): bigint {
  const start = Date.now();
  let now = start;
  // At most about a millisecond of spinning: Date.now() ticks every millisecond.
  for (let i = 0; i < 1_000_000 && now === start; i++) now = Date.now();
  return BigInt(now) * 1_000_000n - process.hrtime.bigint();
}
