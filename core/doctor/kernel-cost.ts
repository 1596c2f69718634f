/**
 * Doctor's view of what netprobe's programs cost the kernel right now: whether BPF
 * run-time statistics are on, and for each netprobe program loaded (by a running
 * collector) its runs and average time per run.
 */
import { loadedPrograms, statsSysctlEnabled, type ProgramInfo } from '../bpf/prog-stats';
import type { Check } from './doctor';

/** The kernel keeps program names to 15 bytes. */
const KERNEL_NAME_BYTES = 15;

/**
 * `ours`: program name -> probe type, for every program of every plugin.
 * `programs` and `sysctl` are injectable for tests.
 */
export function kernelCostChecks(
  ours: ReadonlyMap<string, string>,
  programs: () => ProgramInfo[] = loadedPrograms,
  sysctl: () => boolean = statsSysctlEnabled,
): Check[] {
  const byKernelName = new Map([...ours].map(([name, probe]) => [name.slice(0, KERNEL_NAME_BYTES), { name, probe }]));
  const checks: Check[] = [sysctl()
    ? { status: 'OK', what: 'BPF run-time statistics', detail: 'on for every program (sysctl kernel.bpf_stats_enabled=1)' }
    : { status: 'OK', what: 'BPF run-time statistics', detail: 'off system-wide; a collector with service.telemetry.kernel_stats: true keeps them on while it runs' }];
  let loaded: ProgramInfo[];
  try {
    loaded = programs();
  } catch (err) {
    return [...checks, { status: 'WARN', what: 'kernel cost', detail: `cannot list BPF programs: ${(err as Error).message}`, fix: 'run as root (CAP_SYS_ADMIN lists programs)' }];
  }
  const mine = loaded.filter((p) => byKernelName.has(p.name));
  if (mine.length === 0) return [...checks, { status: 'OK', what: 'kernel cost', detail: 'no netprobe program is loaded (no collector running)' }];
  // One line per program name: several collectors (or probe instances) may have it loaded.
  const byName = new Map<string, { probe: string; loaded: number; runs: number; ns: number; missed: number }>();
  for (const p of mine) {
    const { name, probe } = byKernelName.get(p.name)!;
    const sum = byName.get(name) ?? { probe, loaded: 0, runs: 0, ns: 0, missed: 0 };
    sum.loaded++;
    sum.runs += p.runCount;
    sum.ns += p.runTimeNs;
    sum.missed += p.recursionMisses;
    byName.set(name, sum);
  }
  for (const [name, s] of byName) {
    const copies = s.loaded > 1 ? `${s.loaded} loaded, ` : '';
    const detail = s.runs > 0
      ? `${copies}${s.runs} runs, ${(s.ns / s.runs).toFixed(0)} ns per run, ${(s.ns / 1e9).toFixed(3)} s in all`
      : `${copies}no runs counted (statistics off, or nothing to do yet)`;
    checks.push({ status: 'OK', what: `kernel cost ${s.probe}/${name}`, detail: s.missed ? `${detail}, ${s.missed} runs missed` : detail });
  }
  return checks;
}
