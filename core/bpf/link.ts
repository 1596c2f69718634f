/**
 * Attachments as bpf_links: the kernel detaches a link's program when the last
 * file descriptor to it closes, so nothing stays attached after the collector
 * exits, however it exits (SIGKILL included). close() is safe to call twice.
 */
import fs from 'node:fs';
import { libbpf, describeErrno } from './libbpf';
import { buildOpts, bpfLinkCreateOpts, bpfTcHook, bpfTcOpts, BPF_TC_INGRESS, BPF_TC_EGRESS } from './libbpf-opts';
import { NetprobeError } from '../errors';

const BPF_XDP = 37;
const BPF_TCX_INGRESS = 46;
const BPF_TCX_EGRESS = 47;
const XDP_FLAGS_SKB_MODE = 1 << 1;
const XDP_FLAGS_DRV_MODE = 1 << 2;

export type XdpMode = 'auto' | 'native' | 'generic';

/** Something attached that can be detached; close() is safe to call twice. */
export interface Attached {
  readonly description: string;
  close(): void;
}

export class BpfLink implements Attached {
  private fd: number;

  constructor(fd: number, readonly description: string) {
    this.fd = fd;
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd < 0) return;
    libbpf().close(this.fd);
    this.fd = -1;
  }
}

/** bpf_link_create_opts with only `flags` set. */
function linkOpts(flags: number): Buffer {
  return buildOpts(bpfLinkCreateOpts, { flags });
}

export function interfaceIndex(name: string): number {
  const index = libbpf().if_nametoindex(name) as number;
  if (!index) throw new NetprobeError('NETPROBE_ERR_ATTACH', `interface ${name} does not exist`);
  return index;
}

/**
 * Attaches an XDP program to an interface. `auto` tries the driver's native
 * mode and falls back to generic (skb) mode; the mode actually used is returned.
 */
/** An interface by name (looked up now), or as core resolved it (name and ifindex: not looked up again). */
export type InterfaceTarget = string | { readonly name: string; readonly index: number };

function resolveTarget(target: InterfaceTarget): { ifname: string; ifindex: number } {
  return typeof target === 'string' ? { ifname: target, ifindex: interfaceIndex(target) } : { ifname: target.name, ifindex: target.index };
}

export function attachXdp(progFd: number, target: InterfaceTarget, mode: XdpMode): { link: BpfLink; mode: 'native' | 'generic' } {
  const { ifname, ifindex } = resolveTarget(target);
  const tries: Array<'native' | 'generic'> = mode === 'auto' ? ['native', 'generic'] : [mode];
  const failures: string[] = [];
  for (const m of tries) {
    const flags = m === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    const fd = libbpf().bpf_link_create(progFd, ifindex, BPF_XDP, linkOpts(flags)) as number;
    if (fd >= 0) return { link: new BpfLink(fd, `xdp/${m} on ${ifname}`), mode: m };
    failures.push(`${m}: ${describeErrno(fd)}`);
  }
  const busy = failures.some((f) => f.includes('EBUSY') || f.includes('EEXIST'));
  throw new NetprobeError(
    'NETPROBE_ERR_ATTACH',
    `attaching XDP to ${ifname} (${failures.join('; ')})${busy ? ': another XDP program is already attached to this interface' : ''}`,
  );
}

export type TcDirection = 'ingress' | 'egress';
/** auto: tcx where the kernel has it (6.6+), else a classic clsact filter. */
export type TcMode = 'auto' | 'tcx' | 'classic';

const EINVAL = 22;
const EEXIST = 17;
/** Classic filters: netprobe's handle, and the priorities it picks from. */
const CLASSIC_HANDLE = 0x6e70;
const CLASSIC_PRIORITIES = { first: 0x6e00, last: 0x6eff };

/**
 * Attaches a `SEC("tc")` program. tcx (kernel 6.6+) is a bpf_link on a shared hook:
 * it never displaces another tool's program and goes away with the process. Older
 * kernels get a classic clsact filter (direct action), detached on close(); unlike
 * a link it stays attached if the process is killed with SIGKILL.
 */
export function attachTc(progFd: number, target: InterfaceTarget, direction: TcDirection, mode: TcMode = 'auto'): Attached & { mode: 'tcx' | 'classic' } {
  const { ifname, ifindex } = resolveTarget(target);
  if (mode !== 'classic') {
    const fd = libbpf().bpf_link_create(progFd, ifindex, direction === 'ingress' ? BPF_TCX_INGRESS : BPF_TCX_EGRESS, linkOpts(0)) as number;
    if (fd >= 0) return Object.assign(new BpfLink(fd, `tcx/${direction} on ${ifname}`), { mode: 'tcx' as const });
    if (mode === 'tcx' || fd !== -EINVAL) {
      const hint = fd === -EINVAL ? ' (tcx needs Linux 6.6 or newer; use the classic TC mode)' : '';
      throw new NetprobeError('NETPROBE_ERR_ATTACH', `attaching TC ${direction} to ${ifname}: ${describeErrno(fd)}${hint}`);
    }
  }
  return Object.assign(attachClassicTc(progFd, ifindex, ifname, direction), { mode: 'classic' as const });
}

function tcHook(ifindex: number, direction: TcDirection | 'both'): Buffer {
  // BPF_TC_INGRESS | BPF_TC_EGRESS: both together name the clsact qdisc itself (for destroy)
  const attachPoint = direction === 'ingress' ? BPF_TC_INGRESS : direction === 'egress' ? BPF_TC_EGRESS : BPF_TC_INGRESS | BPF_TC_EGRESS;
  return buildOpts(bpfTcHook, { ifindex, attach_point: attachPoint });
}

/**
 * clsact qdiscs this process created, by ifindex, with how many of our classic
 * filters use each: the last filter to go removes the qdisc, so stopping leaves an
 * interface as it was. A qdisc that was there before is never touched.
 */
const ownedClsact = new Map<number, number>();

function holdClsact(ifindex: number): void {
  const users = ownedClsact.get(ifindex);
  if (users !== undefined) ownedClsact.set(ifindex, users + 1);
}

function releaseClsact(ifindex: number): void {
  const users = ownedClsact.get(ifindex);
  if (users === undefined) return;
  if (users > 1) {
    ownedClsact.set(ifindex, users - 1);
    return;
  }
  ownedClsact.delete(ifindex);
  libbpf().bpf_tc_hook_destroy(tcHook(ifindex, 'both')); // fails harmlessly if the interface is gone
}

function tcOpts(progFd: number, priority: number): Buffer {
  return buildOpts(bpfTcOpts, { prog_fd: progFd, handle: CLASSIC_HANDLE, priority });
}

function attachClassicTc(progFd: number, ifindex: number, ifname: string, direction: TcDirection): Attached {
  const lib = libbpf();
  const hook = tcHook(ifindex, direction);
  const created = lib.bpf_tc_hook_create(hook) as number; // the clsact qdisc; it may exist already
  if (created < 0 && created !== -EEXIST) {
    throw new NetprobeError('NETPROBE_ERR_ATTACH', `creating the clsact qdisc on ${ifname}: ${describeErrno(created)}`);
  }
  if (created === 0) ownedClsact.set(ifindex, 0);
  // Another netprobe program may hold a priority already: take the next free one.
  for (let priority = CLASSIC_PRIORITIES.first; priority <= CLASSIC_PRIORITIES.last; priority++) {
    const err = lib.bpf_tc_attach(hook, tcOpts(progFd, priority)) as number;
    if (err === -EEXIST) continue;
    if (err < 0) {
      if (ownedClsact.get(ifindex) === 0) releaseClsact(ifindex);
      throw new NetprobeError('NETPROBE_ERR_ATTACH', `attaching a classic TC ${direction} filter to ${ifname}: ${describeErrno(err)}`);
    }
    holdClsact(ifindex);
    let attached = true;
    return {
      description: `tc/${direction} (classic, priority ${priority}) on ${ifname}`,
      close: () => {
        if (!attached) return;
        attached = false;
        lib.bpf_tc_detach(hook, tcOpts(0, priority)); // an interface that went away took the filter with it
        releaseClsact(ifindex);
      },
    };
  }
  if (ownedClsact.get(ifindex) === 0) releaseClsact(ifindex);
  throw new NetprobeError('NETPROBE_ERR_ATTACH', `attaching a classic TC ${direction} filter to ${ifname}: no free priority`);
}

/**
 * Attaches a BTF-typed tracepoint program (`SEC("tp_btf/<name>")`: the target was fixed
 * at load) through a raw-tracepoint fd, which detaches when closed, like a link.
 */
export function attachTracing(progFd: number, tracepoint: string): BpfLink {
  const fd = libbpf().bpf_raw_tracepoint_open(null, progFd) as number;
  if (fd < 0) throw new NetprobeError('NETPROBE_ERR_ATTACH', `attaching to tracepoint ${tracepoint}: ${describeErrno(fd)}`);
  return new BpfLink(fd, `tracepoint ${tracepoint}`);
}

/** Cgroup attach points (enum bpf_attach_type) by the name the plugins use. */
const CGROUP_ATTACH_TYPES = {
  sock_create: 2, // BPF_CGROUP_INET_SOCK_CREATE: socket(), in the creating process
  sock_ops: 3, // BPF_CGROUP_SOCK_OPS
  connect4: 10, // BPF_CGROUP_INET4_CONNECT: connect(), in the connecting process
  connect6: 11, // BPF_CGROUP_INET6_CONNECT
} as const;

export type CgroupAttachType = keyof typeof CGROUP_ATTACH_TYPES;

/**
 * Attaches a cgroup program through a link. Link-based cgroup attachments are
 * always multi-attach: other programs on the same cgroup keep working.
 */
export function attachCgroup(progFd: number, cgroupPath: string, type: CgroupAttachType): BpfLink {
  let cgroupFd: number;
  try {
    cgroupFd = fs.openSync(cgroupPath, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    throw new NetprobeError('NETPROBE_ERR_ATTACH', `opening cgroup ${cgroupPath}: ${(err as Error).message}`);
  }
  try {
    const fd = libbpf().bpf_link_create(progFd, cgroupFd, CGROUP_ATTACH_TYPES[type], linkOpts(0)) as number;
    if (fd < 0) throw new NetprobeError('NETPROBE_ERR_ATTACH', `attaching ${type} to cgroup ${cgroupPath}: ${describeErrno(fd)}`);
    return new BpfLink(fd, `${type} on cgroup ${cgroupPath}`);
  } finally {
    fs.closeSync(cgroupFd);
  }
}
