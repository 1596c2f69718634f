/**
 * Kernel-test guard: without root these tests skip with a reason, but under CI
 * (CI=true, as root) a kernel test that cannot run is a failure.
 */
import os from 'node:os';
import type { TestContext } from 'node:test';
import { parseKernelVersion } from '../../core/doctor/doctor';

export function kernelTestsPossible(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI) throw new Error('kernel tests must run as root under CI');
  t.skip('needs root (CAP_BPF, CAP_NET_ADMIN) to load BPF programs');
  return false;
}

/** Whether the running kernel is at least major.minor (features a test checks it degrades without). */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [ma, mi] = parseKernelVersion(os.release());
  return ma > major || (ma === major && mi >= minor);
}
