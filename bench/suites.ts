/** Every benchmark suite, in the order they run. */
import type { BenchSuite } from './types';
import { kernelCost } from './kernel-cost';
import { userspaceCost } from './userspace-cost';
import { liveOverhead } from './live-overhead';
import { collectorProcess } from './collector-process';
import { suites as dnsSuites } from './probes/dns.bench';
import { suites as conntrackSuites } from './probes/conntrack.bench';
import { suites as captureSuites } from './probes/capture.bench';
import { suites as dropsSuites } from './probes/drops.bench';

export const suites: readonly BenchSuite[] = [
  kernelCost,
  userspaceCost,
  liveOverhead,
  collectorProcess,
  ...dnsSuites,
  ...conntrackSuites,
  ...captureSuites,
  ...dropsSuites,
];
