/**
 * Test networks: two network namespaces the test creates, joined by a veth pair,
 * with addresses that exist only inside them. IPv6 is disabled and neighbours are
 * pinned, so the only frames crossing the link are the ones a test sends.
 * Every name is unique to the process, and cleanup() removes everything.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { patience } from './slowdown';

let serial = 0;

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: patience(30_000) });
}

export class TestNet {
  readonly nsA: string;
  readonly nsB: string;
  readonly vA: string;
  readonly vB: string;
  readonly ipA: string;
  readonly ipB: string;
  /** IPv6 (ULA) addresses on vA and vB, set only with create({ ipv6: true }). */
  readonly ip6A: string;
  readonly ip6B: string;
  private readonly children: ChildProcess[] = [];
  private links = 0;

  private constructor(tag: string, subnet: number) {
    this.nsA = `np-${tag}-a`;
    this.nsB = `np-${tag}-b`;
    this.vA = `np${tag}a0`;
    this.vB = `np${tag}b0`;
    this.ipA = `10.251.${subnet}.1`;
    this.ipB = `10.251.${subnet}.2`;
    this.ip6A = `fd00:251:${subnet.toString(16)}::1`;
    this.ip6B = `fd00:251:${subnet.toString(16)}::2`;
  }

  /**
   * nsA --(vA/vB)-- nsB, both ends up, mtu set, IPv6 off, neighbours pinned, lo up in both.
   * `ipv6`: IPv6 on vA/vB only, with ip6A/ip6B (no DAD, no link-local address, pinned neighbours).
   */
  static create(mtuOrOptions: number | { mtu?: number; ipv6?: boolean } = 1500, more: { ipv6?: boolean } = {}): TestNet {
    const { mtu = 1500, ipv6: wanted = false } = typeof mtuOrOptions === 'number' ? { mtu: mtuOrOptions } : mtuOrOptions;
    const ipv6 = wanted || (more.ipv6 ?? false);
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
      if (ipv6) net.enableIpv6();
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

  /** Deletes a pair addLinkPair made (both ends go: a veth takes its peer with it). */
  removeLinkPair(pair: { a: string }): void {
    this.exec(this.nsA, ['ip', 'link', 'del', pair.a]);
  }

  /** Creates a removed pair again, under the same names and addresses (the kernel gives it new ifindexes). */
  restoreLinkPair(pair: { a: string; b: string; ipA: string; ipB: string }, mtu = 1500): void {
    this.addLink(pair.a, pair.b, pair.ipA, pair.ipB, mtu);
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

  private enableIpv6(): void {
    const ends = [[this.nsA, this.vA, this.ip6A, this.ip6B, this.vB, this.nsB], [this.nsB, this.vB, this.ip6B, this.ip6A, this.vA, this.nsA]] as const;
    for (const [ns, dev] of ends) {
      this.exec(ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${dev}.addr_gen_mode=1`]); // no link-local address
      this.exec(ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${dev}.accept_ra=0`]);
      this.exec(ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${dev}.disable_ipv6=0`]);
    }
    for (const [ns, dev, mine, peer, peerDev, peerNs] of ends) {
      this.exec(ns, ['ip', '-6', 'addr', 'add', `${mine}/64`, 'dev', dev, 'nodad']);
      this.exec(ns, ['ip', '-6', 'neigh', 'replace', peer, 'lladdr', this.mac(peerNs, peerDev), 'dev', dev, 'nud', 'permanent']);
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
   * Like exec and spawn, but only the network namespace changes (nsenter): `ip netns exec`
   * remounts /sys, which hides the cgroup v2 mount below it; these keep the host's mounts.
   */
  execKeepingMounts(ns: string, args: string[], input?: string): string {
    return sh('nsenter', [`--net=/run/netns/${ns}`, '--', ...args], input);
  }

  spawnKeepingMounts(ns: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.children.push(child);
    return child;
  }

  /**
   * Sends UDP datagrams from nsA to `dst` (default ipB), one per payload size, in order,
   * each waiting for the kernel to take it. Returns the Ethernet frame sizes sent.
   */
  sendUdp(payloadSizes: readonly number[], dst = this.ipB, port = 9, options: { socketPerDatagram?: boolean } = {}): number[] {
    const v6 = dst.includes(':');
    const script = `
      const dgram = require('node:dgram');
      const sizes = ${JSON.stringify(payloadSizes)};
      const open = () => dgram.createSocket('${v6 ? 'udp6' : 'udp4'}');
      let s = open();
      (async () => {
        for (const n of sizes) {
          await new Promise((ok, fail) => s.send(Buffer.alloc(n, 0x61), ${port}, ${JSON.stringify(dst)}, (e) => e ? fail(e) : ok()));
          if (${Boolean(options.socketPerDatagram)}) { s.close(); s = open(); } // a new source port: a new flow
        }
        s.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    this.exec(this.nsA, [process.execPath, '-e', script]);
    return payloadSizes.map((n) => n + 8 + (v6 ? 40 : 20) + 14); // UDP + IP + Ethernet headers
  }

  /**
   * One TCP connection from nsA to a server in nsB: the client sends `upload` bytes, the
   * server answers with `download` bytes and both close. Returns the client's source port.
   */
  tcpExchange(upload: number, download: number, dst = this.ipB, port = 7001): number {
    const server = `
      const srv = require('node:net').createServer((c) => {
        let got = 0;
        c.on('data', (d) => { got += d.length; if (got >= ${upload}) c.end(Buffer.alloc(${download}, 0x62)); });
      });
      srv.listen(${port}, ${JSON.stringify(dst)});
      setTimeout(() => process.exit(0), 20000).unref();
      srv.on('connection', () => srv.close());`;
    const client = `
      const c = require('node:net').connect(${port}, ${JSON.stringify(dst)});
      let srcPort = 0, got = 0;
      c.on('connect', () => { srcPort = c.localPort; c.write(Buffer.alloc(${upload}, 0x61)); });
      c.on('data', (d) => { got += d.length; });
      c.on('close', () => { if (got !== ${download}) process.exit(1); process.stdout.write(String(srcPort)); });
      c.on('error', (e) => { console.error(e); process.exit(1); });`;
    const srv = this.spawn(this.nsB, [process.execPath, '-e', server]);
    // Wait for the listener (bounded), then run the client to completion.
    const deadline = Date.now() + patience(10_000);
    while (Date.now() < deadline) {
      try {
        this.exec(this.nsB, ['sh', '-c', `ss -Hltn | grep -q ':${port} '`]);
        break;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    }
    const out = this.exec(this.nsA, [process.execPath, '-e', client]).trim();
    srv.kill();
    return Number(out);
  }

  /**
   * `count` echo requests from nsA (answered by nsB): ICMP or ICMPv6 by the address family.
   * `size`: payload bytes; above the MTU, requests and replies travel as IP fragments.
   */
  ping(dst: string, count: number, size = 56): void {
    this.exec(this.nsA, ['ping', '-q', '-n', '-c', String(count), '-s', String(size), '-i', '0.05', '-W', '2', dst]);
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
