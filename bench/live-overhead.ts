/**
 * Live overhead: packets per second delivered through a veth pair between two test
 * namespaces with nothing attached, with each probe, with all probes, with empty programs
 * at each probe's hooks (its floor), and with tcpdump writing to /dev/null, all in one run;
 * every figure is a ratio to the bare link measured in the same run. Traffic comes from XDP
 * live-frames test runs.
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
  /** Empty programs at the same hooks: the part of the cost that is not this variant's own work. */
  floor?: Variant;
}

/**
 * Probes in harness processes inside the receiving namespace. Interface probes see
 * that namespace's /sys; conntrack needs the host's mounts (for cgroup v2), so it
 * runs in a harness of its own.
 */
const probes = (name: string, yaml: (net: TestNet) => string, cgroupYaml: string | undefined, floor: Variant): Variant => ({
  name,
  floor,
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

/** A process in the receiving namespace, measured once its output matches `ready`; stopped with SIGINT. */
function spawned(name: string, command: (net: TestNet) => string[], ready: RegExp): Variant {
  return {
    name,
    async start(net) {
      const child: ChildProcess = net.spawn(net.nsB, command(net));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const seen = (d: Buffer) => {
          out += d.toString();
          if (ready.test(out)) resolve();
        };
        child.stdout!.on('data', seen);
        child.stderr!.on('data', seen);
        child.on('exit', () => reject(new Error(`${command(net)[0]} exited: ${out}`)));
      });
      return async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.on('exit', r));
        child.kill('SIGINT');
        await exited;
      };
    },
  };
}

/** Empty programs at `hooks` of the receiving end (see attach-empty.ts). */
function floor(name: string, hooks: string[]): Variant {
  return spawned(name, (net) => [process.execPath, path.join(__dirname, 'attach-empty.js'), net.vB, ...hooks], /listening on/);
}

function probeIds(yaml: string): string {
  return [...yaml.matchAll(/^ {2}([a-z_]+(?:\/[\w.-]+)?):/gm)].map((m) => m[1]).join(', ');
}

const floors = {
  xdp: floor('floor: empty XDP (xdp_counter\'s hook)', ['xdp']),
  xdpTcxOut: floor('floor: empty XDP in, empty tcx out (flow_stats\' hooks)', ['xdp', 'tcx-egress']),
  tcxBoth: floor('floor: empty tcx both ways (dns\' hooks)', ['tcx-ingress', 'tcx-egress']),
  all: floor('floor: empty XDP, 2 empty tcx in, 2 empty tcx out (all probes\' hooks)', ['xdp', 'tcx-ingress', 'tcx-ingress', 'tcx-egress', 'tcx-egress']),
};

/**
 * Each probe follows its floor (empty programs at the same hooks): what a probe costs
 * beyond its floor is its own work, the floor is what the hooks cost.
 */
export const variants: Variant[] = [
  { name: 'bare link (nothing attached)', start: async () => async () => undefined },
  floors.xdp,
  probes('xdp_counter', (net) => `probes:\n  xdp_counter: { interfaces: [${net.vB}] }`, undefined, floors.xdp),
  floors.xdpTcxOut,
  probes('flow_stats (XDP in, tcx out)', (net) => `probes:\n  flow_stats: { interfaces: [${net.vB}] }`, undefined, floors.xdpTcxOut),
  floors.tcxBoth,
  probes('dns (tcx both ways)', (net) => `probes:\n  dns: { interfaces: [${net.vB}] }`, undefined, floors.tcxBoth),
  floors.all,
  probes(
    'all probes (xdp_counter, flow_stats on tcx, dns, conntrack)',
    (net) => `probes:\n  xdp_counter: { interfaces: [${net.vB}] }\n  flow_stats: { interfaces: [${net.vB}], ingress_hook: tc }\n  dns: { interfaces: [${net.vB}] }`,
    'probes:\n  conntrack: {}',
    floors.all,
  ),
  spawned('tcpdump -w /dev/null', (net) => ['tcpdump', '-i', net.vB, '-w', '/dev/null', '-s', '0'], /listening on/),
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
export async function measure(net: TestNet, hexFrame: string, count: number, mix?: { hex: string; every: number }): Promise<{ pps: number; delivered: number; cpuNsPerFrame: number }> {
  const before = rxPackets(net);
  const out = net.exec(net.nsA, [process.execPath, path.join(__dirname, 'sender.js'), net.vA, String(count), hexFrame, ...(mix ? ['0', mix.hex, String(mix.every)] : [])]);
  const { startMs, endMs, cpuUs } = JSON.parse(out) as { startMs: number; endMs: number; cpuUs: number };
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
  return { pps: delivered / (Math.max(1, lastChange - startMs) / 1000), delivered, cpuNsPerFrame: (cpuUs * 1000) / count };
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
      const results = new Map<string, { pps: number[]; delivered: number[]; cpu: number[] }>(variants.map((v) => [v.name, { pps: [], delivered: [], cpu: [] }]));
      // Rounds over every variant, so the machine's drift spreads evenly over all of them.
      for (let round = 0; round < runs; round++) {
        for (const variant of variants) {
          ctx.log(`live: round ${round + 1}, ${variant.name}`);
          const stop = await variant.start(net);
          try {
            const m = await measure(net, hex, count);
            results.get(variant.name)!.pps.push(m.pps);
            results.get(variant.name)!.delivered.push(m.delivered);
            results.get(variant.name)!.cpu.push(m.cpuNsPerFrame);
          } finally {
            await stop();
          }
        }
      }
      const bare = summarize(results.get(variants[0]!.name)!.pps);
      const nsPerPacket = (v: Variant) => 1e9 / summarize(results.get(v.name)!.pps).median;
      const cpuNs = (v: Variant) => summarize(results.get(v.name)!.cpu).min;
      const figures: Figure[] = [];
      for (const variant of variants) {
        const r = results.get(variant.name)!;
        const s = summarize(r.pps.map((p) => p / 1000));
        const lost = count - summarize(r.delivered).median;
        // Per-packet time over the bare link's (and over the floor's): where the ratio's loss goes.
        const over = (v: Variant) => (nsPerPacket(variant) - nsPerPacket(v)).toFixed(0);
        const cost = variant === variants[0] ? `${nsPerPacket(variant).toFixed(0)} ns/packet` : `${over(variants[0]!)} ns/packet over the bare link${variant.floor ? `, ${over(variant.floor)} over its floor` : ''}`;
        // The sender's CPU time per frame (its softirq runs the receiver): the least of the rounds,
        // since other tenants and the hypervisor only ever add to it. Steadier than the rate on a busy machine.
        const cpuOver = (v: Variant) => { const d = cpuNs(variant) - cpuNs(v); return `${d >= 0 ? '+' : ''}${d.toFixed(0)}`; };
        const cpuCost = variant === variants[0] ? `${cpuNs(variant).toFixed(0)} ns` : `${cpuOver(variants[0]!)} ns${variant.floor ? ` (${cpuOver(variant.floor)} over its floor)` : ''}`;
        figures.push({
          name: `${variant.name}: 64 B UDP frames delivered`, unit: 'kpps', ...s,
          baseline: { name: 'bare link', median: bare.median / 1000 }, ratio: s.median / (bare.median / 1000),
          note: `${cost}; CPU per frame ${cpuCost}; ${count.toLocaleString('en')} frames per run${lost > 0 ? `, ${lost} not delivered (median)` : ''}`,
        });
      }
      return figures;
    } finally {
      net.cleanup();
    }
  },
};
