/**
 * Test networks: two network namespaces the test creates, joined by a veth pair,
 * with addresses that exist only inside them. IPv6 is disabled and neighbours are
 * pinned, so the only frames crossing the link are the ones a test sends.
 * Every name is unique to the process, and cleanup() removes everything.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

let serial = 0;

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
}

export class TestNet {
  readonly nsA: string;
  readonly nsB: string;
  readonly vA: string;
  readonly vB: string;
  readonly ipA: string;
  readonly ipB: string;
  /** IPv6 addresses on the first link, only with `create(mtu, { ipv6: true })`. */
  ip6A?: string;
  ip6B?: string;
  private readonly children: ChildProcess[] = [];
  private links = 0;

  private constructor(tag: string, subnet: number) {
    this.nsA = `np-${tag}-a`;
    this.nsB = `np-${tag}-b`;
    this.vA = `np${tag}a0`;
    this.vB = `np${tag}b0`;
    this.ipA = `10.251.${subnet}.1`;
    this.ipB = `10.251.${subnet}.2`;
  }

  /**
   * nsA --(vA/vB)-- nsB, both ends up, mtu set, IPv6 off, neighbours pinned, lo up in both.
   * With `ipv6`, the first link (only) also gets ULA addresses without DAD and pinned
   * IPv6 neighbours, and sends no router solicitations.
   */
  static create(mtu = 1500, options: { ipv6?: boolean } = {}): TestNet {
    serial++;
    const tag = `${process.pid % 10000}x${serial}`;
    const net = new TestNet(tag, (process.pid + serial) % 250);
    try {
      for (const ns of [net.nsA, net.nsB]) {
        sh('ip', ['netns', 'add', ns]);
        net.exec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
        net.exec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
        net.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
      }
      net.addLink(net.vA, net.vB, net.ipA, net.ipB, mtu);
      if (options.ipv6) net.enableIpv6((process.pid + serial) % 250);
    } catch (err) {
      net.cleanup();
      throw err;
    }
    return net;
  }

  /** Another veth pair between the same namespaces (for multi-interface tests). */
  addLinkPair(mtu = 1500): { a: string; b: string; ipA: string; ipB: string } {
    this.links++;
    const a = `${this.vA.slice(0, -1)}${this.links}`;
    const b = `${this.vB.slice(0, -1)}${this.links}`;
    const third = Number(this.ipA.split('.')[2]);
    const ipA = `10.252.${third}.${this.links * 4 + 1}`;
    const ipB = `10.252.${third}.${this.links * 4 + 2}`;
    this.addLink(a, b, ipA, ipB, mtu);
    return { a, b, ipA, ipB };
  }

  private addLink(a: string, b: string, ipA: string, ipB: string, mtu: number): void {
    sh('ip', ['link', 'add', a, 'mtu', String(mtu), 'netns', this.nsA, 'type', 'veth', 'peer', 'name', b, 'mtu', String(mtu), 'netns', this.nsB]);
    this.exec(this.nsA, ['ip', 'addr', 'add', `${ipA}/30`, 'dev', a]);
    this.exec(this.nsB, ['ip', 'addr', 'add', `${ipB}/30`, 'dev', b]);
    this.exec(this.nsA, ['ip', 'link', 'set', a, 'up']);
    this.exec(this.nsB, ['ip', 'link', 'set', b, 'up']);
    const macA = this.mac(this.nsA, a);
    const macB = this.mac(this.nsB, b);
    this.exec(this.nsA, ['ip', 'neigh', 'replace', ipB, 'lladdr', macB, 'dev', a, 'nud', 'permanent']);
    this.exec(this.nsB, ['ip', 'neigh', 'replace', ipA, 'lladdr', macA, 'dev', b, 'nud', 'permanent']);
  }

  private enableIpv6(subnet: number): void {
    this.ip6A = `fd00:251:${subnet.toString(16)}::1`;
    this.ip6B = `fd00:251:${subnet.toString(16)}::2`;
    const ends = [
      { ns: this.nsA, dev: this.vA, ip: this.ip6A, peer: this.ip6B, peerMac: this.mac(this.nsB, this.vB) },
      { ns: this.nsB, dev: this.vB, ip: this.ip6B, peer: this.ip6A, peerMac: this.mac(this.nsA, this.vA) },
    ];
    for (const e of ends) {
      this.exec(e.ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${e.dev}.router_solicitations=0`]);
      this.exec(e.ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${e.dev}.accept_ra=0`]);
      this.exec(e.ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${e.dev}.disable_ipv6=0`]);
      this.exec(e.ns, ['ip', '-6', 'addr', 'add', `${e.ip}/64`, 'dev', e.dev, 'nodad']);
      this.exec(e.ns, ['ip', '-6', 'neigh', 'replace', e.peer, 'lladdr', e.peerMac, 'dev', e.dev, 'nud', 'permanent']);
    }
  }

  mac(ns: string, dev: string): string {
    return this.exec(ns, ['cat', `/sys/class/net/${dev}/address`]).trim();
  }

  exec(ns: string, args: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', ns, ...args], input);
  }

  /** Starts a long-running process inside a namespace; it is killed at cleanup. */
  spawn(ns: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.children.push(child);
    return child;
  }

  /**
   * Sends UDP datagrams from nsA to `dst` (default ipB), one per payload size, in order,
   * each waiting for the kernel to take it. Returns the Ethernet frame sizes sent.
   */
  sendUdp(payloadSizes: readonly number[], dst = this.ipB, port = 9): number[] {
    const script = `
      const dgram = require('node:dgram');
      const sizes = ${JSON.stringify(payloadSizes)};
      const s = dgram.createSocket('udp4');
      (async () => {
        for (const n of sizes) await new Promise((ok, fail) => s.send(Buffer.alloc(n, 0x61), ${port}, ${JSON.stringify(dst)}, (e) => e ? fail(e) : ok()));
        s.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    this.exec(this.nsA, [process.execPath, '-e', script]);
    return payloadSizes.map((n) => n + 8 + 20 + 14); // UDP + IPv4 + Ethernet headers
  }

  cleanup(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const ns of [this.nsA, this.nsB]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  }
}
