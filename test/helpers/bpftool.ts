/** What the kernel says is loaded and attached, through bpftool (the independent witness). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Link { id: number; type: string | number; prog_id?: number }

/** Live bpf_links whose program has the given name (links are kernel-wide, not per namespace). */
export function linksOfProgram(name: string): Link[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as Array<{ id: number; name?: string }>;
  const ids = new Set(progs.filter((p) => p.name === name).map((p) => p.id));
  const links = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Link[];
  return links.filter((l) => ids.has(l.prog_id ?? -1));
}

/** Ids of the bpf_links a process holds open (from /proc/<pid>/fdinfo: exact, whoever else runs). */
export function linksHeldBy(pid: number): number[] {
  const ids: number[] = [];
  for (const fd of readdirOrEmpty(`/proc/${pid}/fdinfo`)) {
    try {
      const id = /^link_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
      if (id) ids.push(Number(id));
    } catch {
      // the fd closed meanwhile
    }
  }
  return ids;
}

/** Ids of every live bpf_link, kernel-wide. */
export function liveLinkIds(): Set<number> {
  return new Set((JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Link[]).map((l) => l.id));
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
