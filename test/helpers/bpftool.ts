/** What the kernel says is loaded and attached, through bpftool (the independent witness). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { TestNet } from './netns';

export interface Link { id: number; type: string | number; prog_id?: number }

/** Live bpf_links whose program has the given name (links are kernel-wide, not per namespace). */
export function linksOfProgram(name: string): Link[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as Array<{ id: number; name?: string }>;
  const ids = new Set(progs.filter((p) => p.name === name).map((p) => p.id));
  const links = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Link[];
  return links.filter((l) => ids.has(l.prog_id ?? -1));
}

/**
 * How many times `program` is attached to TC `direction` of `dev` (in `ns`), either way netprobe
 * attaches it: tcx links (only those in `links` when given: links are kernel-wide) and classic
 * clsact filters with netprobe's handle (0x6e70). Both are counted whatever the kernel's version,
 * as the product picks by what the kernel accepts (a vendor kernel may have tcx before 6.6).
 * 0 when nothing is attached, so an assertion on it fails on every kernel.
 */
export function tcAttachments(net: TestNet, ns: string, dev: string, direction: 'ingress' | 'egress', program: string, links?: ReadonlySet<number>): number {
  const tcx = linksOfProgram(program).filter((l) => !links || links.has(l.id)).length;
  const filters = net.exec(ns, ['tc', 'filter', 'show', 'dev', dev, direction]);
  return tcx + filters.split('\n').filter((line) => line.includes(`handle 0x6e70 ${program}:`)).length;
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

/**
 * A process's open fds counted by what they are: tcp, udp, netlink, unix (sockets by protocol),
 * pipe, anon_inode:bpf-map, anon_inode:bpf-prog, anon_inode:bpf_link, file...
 */
export function fdKinds(pid: number): Record<string, number> {
  const protocols = socketProtocols(pid);
  const kinds: Record<string, number> = {};
  for (const fd of readdirOrEmpty(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    const kind = socket ? `socket:${protocols.get(socket[1]!) ?? 'other'}` : /^(pipe|anon_inode:\S+)/.exec(target)?.[1] ?? 'file';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** Socket inode -> protocol (and TCP state), from the process's network namespace tables. */
function socketProtocols(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  const tcpStates: Record<string, string> = { '01': 'established', '06': 'time_wait', '08': 'close_wait', '0A': 'listen' };
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'netlink', 'unix']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) continue;
      if (table.startsWith('tcp') || table.startsWith('udp')) out.set(f[9]!, table.startsWith('tcp') ? `tcp-${tcpStates[f[3]!] ?? f[3]}` : 'udp');
      else if (table === 'netlink') out.set(f[9]!, 'netlink');
      else out.set(f[6]!, 'unix');
    }
  }
  return out;
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
