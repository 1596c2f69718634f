/**
 * tshark on a test link, as an independent witness of what crossed it: frames
 * grouped into flows the way flow_stats keys them (direction, protocol, addresses,
 * ports or ICMP type/code).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { sh, type TestNet } from './netns';
import { patience, slowdown } from './slowdown';

export interface CapturedFlow { direction: 'receive' | 'transmit'; protocol: number; src: string; dst: string; srcPort: number; dstPort: number; fragment: boolean; packets: number; bytes: number }

export class Capture {
  private constructor(private readonly child: ChildProcess, private readonly file: string) {}

  /** Starts capturing on `dev` inside `ns`; resolves once tshark is capturing. */
  static async start(net: TestNet, ns: string, dev: string): Promise<Capture> {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-pcap-')), 'link.pcap');
    // A 64 MiB buffer: the default 2 MiB drops frames of a multi-MiB transfer on a busy machine.
    const child = net.spawn(ns, ['tshark', '-q', '-n', '-B', '64', '-i', dev, '-w', file]);
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tshark did not start: ${err}`)), patience(40_000)); // slow on a loaded machine
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/Capturing on/.test(err)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`tshark exited: ${err}`)));
    });
    // Under software emulation a 6.1 guest's tshark missed the first 10 frames sent right after
    // "Capturing on": give the capture a moment there (none on real hardware).
    if (slowdown > 1) await new Promise((r) => setTimeout(r, 100 * slowdown));
    return new Capture(child, file);
  }

  /** Stops capturing; returns one record per frame with the given tshark fields (first value of each). */
  async stopFrames(fields: readonly string[]): Promise<Array<Record<string, string>>> {
    await new Promise((r) => setTimeout(r, 300)); // let the last frames reach the file
    const exited = new Promise((r) => this.child.on('exit', r));
    this.child.kill('SIGINT');
    await exited;
    // No reassembly: each fragment is its own frame, and only the first shows the transport header.
    const out = sh('tshark', ['-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-r', this.file, '-T', 'fields', '-E', 'separator=;', ...fields.flatMap((f) => ['-e', f])]);
    // ICMP errors quote the offending packet: tshark then lists outer and inner values; keep the outer.
    return out.split('\n').filter(Boolean).map((line) => Object.fromEntries(line.split(';').map((x, i) => [fields[i]!, x.split(',')[0]!])));
  }

  /**
   * Stops and returns the flows, with `localMac` telling received from transmitted frames.
   * IP fragments after the first (no transport header) are flows of their own, `fragment: true`.
   */
  async stop(localMac: string): Promise<CapturedFlow[]> {
    const fields = ['eth.dst', 'frame.len', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.proto', 'ipv6.nxt',
      'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'icmp.type', 'icmp.code', 'icmpv6.type', 'icmpv6.code',
      'ip.frag_offset', 'ipv6.fraghdr.offset', 'ipv6.fraghdr.nxt'];
    const flows = new Map<string, CapturedFlow>();
    for (const v of await this.stopFrames(fields)) {
      const src = v['ip.src'] || v['ipv6.src'];
      if (!src) continue; // not IP
      const fragment = Number(v['ip.frag_offset'] || v['ipv6.fraghdr.offset'] || 0) > 0;
      // An IPv6 fragment header's next header is the transport protocol.
      const protocol = Number(v['ipv6.fraghdr.nxt'] || v['ip.proto'] || v['ipv6.nxt']);
      const icmp = protocol === 1 || protocol === 58;
      const srcPort = fragment ? 0 : Number((icmp ? v['icmp.type'] || v['icmpv6.type'] : v['tcp.srcport'] || v['udp.srcport']) || 0);
      const dstPort = fragment ? 0 : Number((icmp ? v['icmp.code'] || v['icmpv6.code'] : v['tcp.dstport'] || v['udp.dstport']) || 0);
      const direction = v['eth.dst'] === localMac ? 'receive' : 'transmit';
      const dst = v['ip.dst'] || v['ipv6.dst'];
      const id = `${direction}/${protocol}/${src}/${dst}/${srcPort}/${dstPort}/${fragment}`;
      const f = flows.get(id) ?? { direction, protocol, src, dst: dst!, srcPort, dstPort, fragment, packets: 0, bytes: 0 };
      f.packets++;
      f.bytes += Number(v['frame.len']);
      flows.set(id, f);
    }
    return [...flows.values()];
  }
}
