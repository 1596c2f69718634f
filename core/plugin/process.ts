/**
 * The process behind a socket (struct np_process in bpf/netprobe.h, decoded from the
 * object's BTF) and the attributes it becomes: the same names and types on every
 * record that carries one (connection records, flow records and top-flow series).
 */
import type { Decoded } from '../bpf/layout';
import type { Attributes } from './types';

export interface SocketProcess {
  pid: number;
  /** The task's name (comm): the executable's name, at most 15 bytes. */
  name: string;
  /** Its cgroup v2, by id (the directory's inode number). */
  cgroupId: number;
}

export const PROCESS_ATTRIBUTES = ['process.pid', 'process.executable.name', 'process.linux.cgroup'] as const;

/** A decoded struct np_process; undefined when no process was noted (pid 0). */
export function decodeProcess(p: Decoded | undefined): SocketProcess | undefined {
  const pid = p?.pid as number | undefined;
  if (!p || !pid) return undefined;
  const comm = p.comm as Buffer;
  const end = comm.indexOf(0);
  return { pid, name: comm.toString('utf8', 0, end < 0 ? comm.length : end), cgroupId: p.cgroup_id as number };
}

/**
 * The process attributes (semantic conventions' process.*), when the socket's process is known.
 * `cgroupPath` turns a cgroup id into its path in the hierarchy (e.g. `/system.slice/nginx.service`).
 */
export function withProcess(attributes: Attributes, p: SocketProcess | undefined, cgroupPath: (id: number) => string | undefined): Attributes {
  if (!p) return attributes;
  attributes['process.pid'] = p.pid;
  attributes['process.executable.name'] = p.name;
  const cgroup = cgroupPath(p.cgroupId);
  if (cgroup !== undefined) attributes['process.linux.cgroup'] = cgroup;
  return attributes;
}
