/**
 * Kernel cost per packet of every probe program, with BPF_PROG_TEST_RUN over a fixed
 * corpus of frames, each beside an empty program of the same type measured in the
 * same run (the kernel's own per-run overhead is in both; the difference is ours).
 */
import path from 'node:path';
import { BpfObject } from '../core/bpf/object';
import { testRun } from '../core/bpf/test-run';
import { frame } from '../test/helpers/packets';
import { summarize, type BenchContext, type BenchSuite, type Figure } from './types';

const dist = path.resolve(__dirname, '..');
const objectPath = (...p: string[]) => path.join(dist, ...p);

export const corpus = {
  ipv4Udp64: frame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 40000, dst: 8080 }, payload: 22 }),
  ipv4Tcp1500: frame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', src: 40000, dst: 443 }, payload: 1446 }),
  ipv6Udp: frame({ ip: { version: 6, src: 'fd00::1', dst: 'fd00::2' }, l4: { kind: 'udp', src: 40000, dst: 8080 }, payload: 64 }),
  ipv6TcpExt: frame({ ip: { version: 6, src: 'fd00::1', dst: 'fd00::2', extensions: [{ type: 0 }, { type: 60 }] }, l4: { kind: 'tcp', src: 40000, dst: 443 }, payload: 200 }),
  arp: frame({ etherType: 0x0806, payload: 28 }),
};

function repeatFor(ctx: BenchContext): number {
  return ctx.quick ? 2_000 : 1_000_000;
}

function runsFor(ctx: BenchContext): number {
  return ctx.quick ? 2 : 7;
}

/** ns per run, as the kernel timed it, over `runs` batches of `repeat` runs. */
export function nsPerPacket(fd: number, packet: Buffer, ctx: BenchContext): { median: number; min: number; max: number; runs: number } {
  const repeat = repeatFor(ctx);
  testRun(fd, packet, repeat); // warm-up: caches, map entries
  return summarize(Array.from({ length: runsFor(ctx) }, () => testRun(fd, packet, repeat).durationNs));
}

/**
 * A program's ns per run and what it adds over the empty program, measured in
 * alternating batches (empty, program, empty, program...): this VM's speed drifts
 * by half within a minute, so only a baseline measured right beside each batch
 * gives a difference that means something.
 */
export function nsOverBaseline(fd: number, baseFd: number, packet: Buffer, ctx: BenchContext): {
  program: ReturnType<typeof summarize>; baseline: ReturnType<typeof summarize>; over: ReturnType<typeof summarize>;
} {
  const repeat = repeatFor(ctx);
  testRun(fd, packet, repeat); // warm-up: caches, map entries
  testRun(baseFd, packet, repeat);
  const program: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runsFor(ctx); i++) {
    baseline.push(testRun(baseFd, packet, repeat).durationNs);
    program.push(testRun(fd, packet, repeat).durationNs);
  }
  return { program: summarize(program), baseline: summarize(baseline), over: summarize(program.map((p, i) => p - baseline[i]!)) };
}

function load(file: string, setup?: (o: BpfObject) => void): BpfObject {
  const o = BpfObject.open(file);
  setup?.(o);
  o.load();
  return o;
}

export const kernelCost: BenchSuite = {
  name: 'kernel cost per packet (BPF_PROG_TEST_RUN)',
  kernel: true,
  async run(ctx) {
    const opened: BpfObject[] = [];
    const open = (file: string, setup?: (o: BpfObject) => void) => {
      const o = load(file, setup);
      opened.push(o);
      return o;
    };
    try {
      const xdpEmpty = open(objectPath('core', 'doctor', 'xdp_pass.bpf.o'));
      const xdpCounter = open(objectPath('plugins', 'xdp-counter', 'xdp_counter.bpf.o'));
      const flows = open(objectPath('plugins', 'flow-stats', 'flow_stats.bpf.o'));
      const manyFlows = open(objectPath('plugins', 'flow-stats', 'flow_stats.bpf.o'), (o) => o.setKnob('bench_flow_spread', 100_000));
      const naive = open(objectPath('bench', 'programs', 'naive_flow.bpf.o'));
      const articleCounter = open(objectPath('bench', 'programs', 'xdp_packet_counter.bpf.o'));
      const articleStats = open(objectPath('bench', 'programs', 'traffic_stats.bpf.o'));

      const xdpEmptyFd = xdpEmpty.programFd('xdp_pass');
      const tcEmptyFd = flows.programFd('flow_stats_tc_empty');
      const xdpBase = { name: 'empty XDP program', fd: xdpEmptyFd, ...nsPerPacket(xdpEmptyFd, corpus.ipv4Udp64, ctx) };
      const tcBase = { name: 'empty TC program', fd: tcEmptyFd, ...nsPerPacket(tcEmptyFd, corpus.ipv4Udp64, ctx) };
      const figures: Figure[] = [
        { name: xdpBase.name, unit: 'ns/packet', median: xdpBase.median, min: xdpBase.min, max: xdpBase.max, runs: xdpBase.runs },
        { name: tcBase.name, unit: 'ns/packet', median: tcBase.median, min: tcBase.min, max: tcBase.max, runs: tcBase.runs },
      ];
      const add = (name: string, fd: number, packet: Buffer, base: typeof xdpBase, target?: string) => {
        const { program, baseline, over } = nsOverBaseline(fd, base.fd, packet, ctx);
        figures.push({
          name, unit: 'ns/packet', ...program, baseline: { name: `${base.name}, alternating batches`, median: baseline.median }, ratio: program.median / baseline.median,
          note: `${over.median.toFixed(0)} ns over the empty program (paired batches: ${over.min.toFixed(0)} to ${over.max.toFixed(0)})`, target,
        });
        return over;
      };
      ctx.log('measuring xdp_counter');
      add('xdp_counter, IPv4 UDP 64 B', xdpCounter.programFd('xdp_counter'), corpus.ipv4Udp64, xdpBase, '<= 8 ns over empty');
      add('xdp_counter, IPv4 TCP 1500 B', xdpCounter.programFd('xdp_counter'), corpus.ipv4Tcp1500, xdpBase, '<= 8 ns over empty');
      ctx.log('measuring flow_stats');
      add('flow_stats XDP, IPv4 UDP, one hot flow', flows.programFd('flow_stats_xdp'), corpus.ipv4Udp64, xdpBase, '< 40 ns/packet');
      add('flow_stats XDP, IPv6 TCP + 2 ext headers, one hot flow', flows.programFd('flow_stats_xdp'), corpus.ipv6TcpExt, xdpBase);
      add('flow_stats XDP, IPv6 UDP, one hot flow', flows.programFd('flow_stats_xdp'), corpus.ipv6Udp, xdpBase);
      add('flow_stats XDP, non-IP (ARP)', flows.programFd('flow_stats_xdp'), corpus.arp, xdpBase, '<= 10 ns over empty');
      add('flow_stats XDP, IPv4 UDP, 100,000 flows', manyFlows.programFd('flow_stats_xdp'), corpus.ipv4Udp64, xdpBase);
      add('flow_stats TC egress, IPv4 UDP, one hot flow', flows.programFd('flow_stats_tc_egress'), corpus.ipv4Udp64, tcBase);
      add('comparison: one shared hash, atomics, clock read (IPv4 UDP)', naive.programFd('naive_flow'), corpus.ipv4Udp64, xdpBase);
      ctx.log("measuring the background article's programs (reference rows)");
      add("reference: the article's xdp_packet_counter (one total, no bytes or sizes), IPv4 UDP 64 B", articleCounter.programFd('count_packets'), corpus.ipv4Udp64, xdpBase);
      add("reference: the article's traffic_stats, IPv4 UDP, one hot flow", articleStats.programFd('collect_stats'), corpus.ipv4Udp64, xdpBase);
      add("reference: the article's traffic_stats, non-IP (ARP)", articleStats.programFd('collect_stats'), corpus.arp, xdpBase);
      return figures;
    } finally {
      for (const o of opened) o.close();
    }
  },
};
