/** Every benchmark suite, in the order they run. */
import type { BenchSuite } from './types';
import { kernelCost } from './kernel-cost';
import { userspaceCost } from './userspace-cost';
import { liveOverhead } from './live-overhead';

export const suites: readonly BenchSuite[] = [
  kernelCost,
  userspaceCost,
  liveOverhead,
];
