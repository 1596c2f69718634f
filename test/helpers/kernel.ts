/**
 * Kernel-test guard: without root these tests skip with a reason, but under CI
 * (CI=true, as root) a kernel test that cannot run is a failure.
 */
import type { TestContext } from 'node:test';

export function kernelTestsPossible(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI) throw new Error('kernel tests must run as root under CI');
  t.skip('needs root (CAP_BPF, CAP_NET_ADMIN) to load BPF programs');
  return false;
}
