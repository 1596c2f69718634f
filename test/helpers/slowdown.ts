/**
 * How many times slower than native this machine runs: the kernel matrix sets
 * NETPROBE_TEST_SLOWDOWN in guests under software emulation (TCG). Every wait for
 * something that must happen is stretched by it; no test ever asserts on speed.
 */
export const slowdown = Math.max(1, Number(process.env.NETPROBE_TEST_SLOWDOWN) || 1);

/** `ms` of patience, stretched on a slow machine. */
export const patience = (ms: number): number => ms * slowdown;

/**
 * `n` iterations of a randomized loop, fewer on a slow machine (never below `min`): the same
 * checks on fewer inputs, so a guest under emulation runs the loop instead of skipping it.
 */
export const iterations = (n: number, min = 100): number => Math.max(Math.min(n, min), Math.ceil(n / slowdown));
