/**
 * Attachments as bpf_links: the kernel detaches a link's program when the last
 * file descriptor to it closes, so nothing stays attached after the collector
 * exits, however it exits (SIGKILL included). close() is safe to call twice.
 */
import fs from 'node:fs';
import { libbpf, describeErrno } from './libbpf';
import { NetprobeError } from '../errors';

const BPF_CGROUP_SOCK_OPS = 3;
const BPF_XDP = 37;
const BPF_TCX_INGRESS = 46;
const BPF_TCX_EGRESS = 47;
const XDP_FLAGS_SKB_MODE = 1 << 1;
const XDP_FLAGS_DRV_MODE = 1 << 2;

export type XdpMode = 'auto' | 'native' | 'generic';

export class BpfLink {
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

/** bpf_link_create_opts with only `sz` and `flags` set (libbpf accepts a shorter struct). */
function linkOpts(flags: number): Buffer {
  const opts = Buffer.alloc(16);
  opts.writeBigUInt64LE(16n, 0);
  opts.writeUInt32LE(flags, 8);
  return opts;
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
export function attachXdp(progFd: number, ifname: string, mode: XdpMode): { link: BpfLink; mode: 'native' | 'generic' } {
  const ifindex = interfaceIndex(ifname);
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

/**
 * Attaches a `SEC("tc")` program through tcx (kernel 6.6+): several programs can
 * share a hook, so this never displaces another tool's TC program.
 */
export function attachTcx(progFd: number, ifname: string, direction: TcDirection): BpfLink {
  const ifindex = interfaceIndex(ifname);
  const fd = libbpf().bpf_link_create(progFd, ifindex, direction === 'ingress' ? BPF_TCX_INGRESS : BPF_TCX_EGRESS, linkOpts(0)) as number;
  if (fd < 0) {
    const hint = fd === -22 ? ' (tcx needs Linux 6.6 or newer)' : '';
    throw new NetprobeError('NETPROBE_ERR_ATTACH', `attaching TC ${direction} to ${ifname}: ${describeErrno(fd)}${hint}`);
  }
  return new BpfLink(fd, `tcx/${direction} on ${ifname}`);
}

export type CgroupAttachType = 'sock_ops';

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
    const fd = libbpf().bpf_link_create(progFd, cgroupFd, BPF_CGROUP_SOCK_OPS, linkOpts(0)) as number;
    if (fd < 0) throw new NetprobeError('NETPROBE_ERR_ATTACH', `attaching ${type} to cgroup ${cgroupPath}: ${describeErrno(fd)}`);
    return new BpfLink(fd, `${type} on cgroup ${cgroupPath}`);
  } finally {
    fs.closeSync(cgroupFd);
  }
}
