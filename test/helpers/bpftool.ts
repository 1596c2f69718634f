/** What the kernel says is loaded and attached, through bpftool (the independent witness). */
import { execFileSync } from 'node:child_process';

export interface Link { id: number; type: string | number; prog_id?: number }

/** Live bpf_links whose program has the given name (links are kernel-wide, not per namespace). */
export function linksOfProgram(name: string): Link[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as Array<{ id: number; name?: string }>;
  const ids = new Set(progs.filter((p) => p.name === name).map((p) => p.id));
  const links = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Link[];
  return links.filter((l) => ids.has(l.prog_id ?? -1));
}
