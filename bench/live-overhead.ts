/**
 * Live overhead: packets per second delivered through a veth pair between two test
 * namespaces with nothing attached, with each probe, with all probes, and with
 * tcpdump writing to /dev/null, all in one run; every figure is a ratio to the bare
 * link measured in the same run. Traffic comes from XDP live-frames test runs.
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { TestNet } from '../test/helpers/netns';
import { ProbeHarness } from '../test/helpers/harness';
import { frame } from '../test/helpers/packets';
import { summarize, type BenchContext, type BenchSuite, type Figure } from './types';

interface Variant {
  name: string;
  /** Starts what is measured on the receiving side; returns how to stop it. */
  start(net: TestNet): Promise<() => Promise<void>>;
}

/**
 * Probes in harness processes inside the receiving namespace. Interface probes see
 * that namespace's /sys; conntrack needs the host's mounts (for cgroup v2), so it
 * runs in a harness of its own.
 */
const probes = (name: string, yaml: (net: TestNet) => string, cgroupYaml?: string): Variant => ({
  name,
  async start(net) {
    const config = (body: string) => `${body}
exporters: { debug: }
service: { pipelines: { metrics: { probes: [${probeIds(body)}], exporters: [debug] } } }`;
    const started = [(await ProbeHarness.start(net, net.nsB, config(yaml(net)))).harness];
    if (cgroupYaml) started.push((await ProbeHarness.start(net, net.nsB, config(cgroupYaml), { keepMounts: true })).harness);
    return async () => {
      for (const h of started) await h.stop();
    };
  },
});

function probeIds(yaml: string): string {
  return [...yaml.matchAll(/^ {2}([a-z_]+(?:\/[\w.-]+)?):/gm)].map((m) => m[1]).join(', ');
}

export const variants: Variant[] = [
  { name: 'bare link (nothing attached)', start: async () => async () => undefined },
  probes('xdp_counter', (net) => `probes:\n  xdp_counter: { interfaces: [${net.vB}] }`),
  probes('flow_stats (XDP in, tcx out)', (net) => `probes:\n  flow_stats: { interfaces: [${net.vB}] }`),
  probes('dns (tcx both ways)', (net) => `probes:\n  dns: { interfaces: [${net.vB}] }`),
  probes(
    'all probes (xdp_counter, flow_stats on tcx, dns, conntrack)',
    (net) => `probes:\n  xdp_counter: { interfaces: [${net.vB}] }\n  flow_stats: { interfaces: [${net.vB}], ingress_hook: tc }\n  dns: { interfaces: [${net.vB}] }`,
    'probes:\n  conntrack: {}',
  ),
  {
    name: 'tcpdump -w /dev/null',
    async start(net) {
      const child: ChildProcess = net.spawn(net.nsB, ['tcpdump', '-i', net.vB, '-w', '/dev/null', '-s', '0']);
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          if (/listening on/.test(err)) resolve();
        });
        child.on('exit', () => reject(new Error(`tcpdump exited: ${err}`)));
      });
      return async () => {
        child.kill('SIGINT');
        await new Promise((r) => child.on('exit', r));
      };
    },
  },
];

/** A 64-byte UDP frame from A to B (to `port`), addressed to B's MAC, in hex for the sender. */
export function udpFrameHex(net: TestNet, port: number): string {
  const f = frame({ ip: { version: 4, src: net.ipA, dst: net.ipB }, l4: { kind: 'udp', src: 40000, dst: port }, payload: 22 });
  Buffer.from(net.mac(net.nsB, net.vB).replace(/:/g, ''), 'hex').copy(f, 0);
  Buffer.from(net.mac(net.nsA, net.vA).replace(/:/g, ''), 'hex').copy(f, 6);
  return f.toString('hex');
}

function rxPackets(net: TestNet): number {
  return Number(net.exec(net.nsB, ['cat', `/sys/class/net/${net.vB}/statistics/rx_packets`]));
}

/**
 * Sends `count` frames (with `mix`, one in `mix.every` is `mix.hex`); returns delivered packets
 * per second over the sender's own sending window.
 *
 * The window is the sender's: live-frames test runs hand each batch to the peer's NAPI and
 * run its softirq before the next batch (on the sending CPU), so when the last batch returns
 * every frame has been received, save at most one batch still in the peer's queue. Timing
 * from here instead would add the sender's exit and a process spawn to read the counter,
 * 50-150 ms on this machine: rates read 24-30% low, more so for fewer frames.
 * Frames that arrive after the window (a deferred softirq) still count as delivered, and
 * stretch the window to when they were seen.
 */
export async function measure(net: TestNet, hexFrame: string, count: number, mix?: { hex: string; every: number }): Promise<{ pps: number; delivered: number }> {
  const before = rxPackets(net);
  const out = net.exec(net.nsA, [process.execPath, path.join(__dirname, 'sender.js'), net.vA, String(count), hexFrame, ...(mix ? ['0', mix.hex, String(mix.every)] : [])]);
  const { startMs, endMs } = JSON.parse(out) as { startMs: number; endMs: number };
  const atEnd = rxPackets(net);
  let last = atEnd;
  let lastChange = endMs;
  for (let i = 0; i < 200 && Date.now() - lastChange < 100; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const now = rxPackets(net);
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
  }
  const delivered = last - before;
  return { pps: delivered / (Math.max(1, lastChange - startMs) / 1000), delivered };
}

export const liveOverhead: BenchSuite = {
  name: 'live overhead through a veth pair',
  kernel: true,
  async run(ctx: BenchContext) {
    const net = TestNet.create();
    try {
      // NAPI on the receiving end, so frames are received with or without XDP there.
      net.exec(net.nsB, ['ethtool', '-K', net.vB, 'gro', 'on']);
      const hex = udpFrameHex(net, 9);
      const count = ctx.quick ? 20_000 : 2_000_000;
      const runs = ctx.quick ? 1 : 7;
      const results = new Map<string, { pps: number[]; delivered: number[] }>(variants.map((v) => [v.name, { pps: [], delivered: [] }]));
      // Rounds over every variant, so the machine's drift spreads evenly over all of them.
      for (let round = 0; round < runs; round++) {
        for (const variant of variants) {
          ctx.log(`live: round ${round + 1}, ${variant.name}`);
          const stop = await variant.start(net);
          try {
            const m = await measure(net, hex, count);
            results.get(variant.name)!.pps.push(m.pps);
            results.get(variant.name)!.delivered.push(m.delivered);
          } finally {
            await stop();
          }
        }
      }
      const bare = summarize(results.get(variants[0]!.name)!.pps);
      const figures: Figure[] = [];
      for (const [name, r] of results) {
        const s = summarize(r.pps.map((p) => p / 1000));
        const lost = count - summarize(r.delivered).median;
        figures.push({
          name: `${name}: 64 B UDP frames delivered`, unit: 'kpps', ...s,
          baseline: { name: 'bare link', median: bare.median / 1000 }, ratio: s.median / (bare.median / 1000),
          note: `${count.toLocaleString('en')} frames per run${lost > 0 ? `, ${lost} not delivered (median)` : ''}`,
        });
      }
      return figures;
    } finally {
      net.cleanup();
    }
  },
};
