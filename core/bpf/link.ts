/**
 * Attachments as bpf_links: the kernel detaches a link's program when the last
 * file descriptor to it closes, so nothing stays attached after the collector
 * exits, however it exits (SIGKILL included). close() is safe to call twice.
 */
import { libbpf, describeErrno } from './libbpf';
import { NetprobeError } from '../errors';

const BPF_XDP = 37;
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
