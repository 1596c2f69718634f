/**
 * What each loaded BPF program costs the kernel: its run count and run time, as the
 * kernel keeps them in bpf_prog_info while run-time statistics are on (BPF_ENABLE_STATS,
 * held through a file descriptor, or the kernel.bpf_stats_enabled sysctl). Field offsets
 * come from the kernel's own BTF (`struct bpf_prog_info`), not from a copy here.
 */
import fs from 'node:fs';
import { libbpf, describeErrno } from './libbpf';
import { BpfLink } from './link';
import { KernelBtf } from './kernel-btf';

const BPF_STATS_RUN_TIME = 0;
const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

export interface ProgramCost {
  runCount: number;
  runTimeNs: number;
  /** Runs skipped because the program was already running on that CPU (tracing programs). */
  recursionMisses: number;
}

export interface ProgramInfo extends ProgramCost {
  id: number;
  /** As the kernel keeps it: at most 15 bytes. */
  name: string;
}

interface InfoLayout { size: number; name: number; id: number; runTimeNs: number; runCount: number; recursionMisses?: number }
let layout: InfoLayout | undefined;

/** Offsets in struct bpf_prog_info, from the running kernel's BTF. */
function infoLayout(): InfoLayout {
  if (layout) return layout;
  const btf = KernelBtf.load();
  try {
    const m = btf.memberOffsets('bpf_prog_info');
    const need = (f: string) => {
      const at = m?.get(f);
      if (at === undefined) throw new Error(`the kernel's struct bpf_prog_info has no ${f} (run-time statistics need Linux 5.1+)`);
      return at;
    };
    const recursion = m?.get('recursion_misses');
    layout = { name: need('name'), id: need('id'), runTimeNs: need('run_time_ns'), runCount: need('run_cnt'), recursionMisses: recursion, size: 0 };
    layout.size = Math.max(...[layout.runCount, layout.runTimeNs, recursion ?? 0].map((o) => o + 8));
  } finally {
    btf.close();
  }
  return layout;
}

/** Run count and time of the program behind `fd`. */
export function programCost(fd: number): ProgramCost {
  return readInfo(fd);
}

/** The kernel's id of the program behind `fd` (ids are never reused while it lives). */
export function programId(fd: number): number {
  return readInfo(fd).id;
}

function readInfo(fd: number): ProgramInfo {
  const l = infoLayout();
  const info = Buffer.alloc(l.size);
  const len = [l.size];
  const err = libbpf().bpf_obj_get_info_by_fd(fd, info, len) as number;
  if (err < 0) throw new Error(`reading program info: ${describeErrno(err)}`);
  const u64 = (at: number) => Number(info.readBigUInt64LE(at));
  const nameEnd = info.indexOf(0, l.name);
  return {
    id: info.readUInt32LE(l.id),
    name: info.toString('latin1', l.name, nameEnd < 0 || nameEnd > l.name + 16 ? l.name + 16 : nameEnd),
    runCount: u64(l.runCount),
    runTimeNs: u64(l.runTimeNs),
    recursionMisses: l.recursionMisses !== undefined && len[0]! >= l.recursionMisses + 8 ? u64(l.recursionMisses) : 0,
  };
}

/** Every BPF program loaded in the kernel (by anyone), with its cost. */
export function loadedPrograms(): ProgramInfo[] {
  const lib = libbpf();
  const out: ProgramInfo[] = [];
  const next = [0];
  for (let id = 0; (lib.bpf_prog_get_next_id(id, next) as number) === 0; id = next[0]!) {
    const fd = lib.bpf_prog_get_fd_by_id(next[0]!) as number;
    if (fd < 0) continue; // unloaded meanwhile
    try {
      out.push(readInfo(fd));
    } finally {
      lib.close(fd);
    }
  }
  return out;
}

/** Whether the kernel.bpf_stats_enabled sysctl is on (statistics kept for everyone). */
export function statsSysctlEnabled(): boolean {
  try {
    return fs.readFileSync(SYSCTL, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * Turns run-time statistics on until the returned handle is closed (or the process
 * exits): every BPF program on the machine then pays two clock reads per run.
 */
export function enableRunStats(): BpfLink {
  const fd = libbpf().bpf_enable_stats(BPF_STATS_RUN_TIME) as number;
  if (fd < 0) throw new Error(`enabling BPF run-time statistics: ${describeErrno(fd)}`);
  return new BpfLink(fd, 'BPF run-time statistics');
}
