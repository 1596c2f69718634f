/**
 * netprobe capture against tcpdump -w, live, on the same veth in one run: packets
 * per second the link delivers while each captures on the receiving end, and how
 * many packets each actually captured, at the same snaplen, for all traffic and
 * for a filter that matches 1% of it (UDP port 53 in a stream to port 9). Every
 * figure is compared with the bare link (or tcpdump) measured in the same run.
 * Empty programs on tcx ingress and on XDP give the floor of each hook: what any
 * probe there costs the link before it does any work.
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { summarize, type BenchContext, type BenchSuite, type Figure } from '../types';
import { measure, udpFrameHex } from '../live-overhead';
import { TestNet } from '../../test/helpers/netns';
import { exited, until } from '../../test/helpers/collector';
import { cliPath } from '../../test/helpers/paths';

const SNAPLEN = 256;
const MATCH_EVERY = 100;

interface Capturer {
  name: string;
  /** Not a capture: a reference run only with all packets (the bare link, empty programs on the hooks). */
  reference?: boolean;
  /** Starts capturing on the receiving end; the stop function returns the packets captured. */
  start(net: TestNet, filtered: boolean): Promise<() => Promise<number>>;
}

async function spawnUntilReady(net: TestNet, args: string[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = net.spawn(net.nsB, args);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let code: number | null | undefined;
  child.once('exit', (c) => (code = c));
  await until(args[0]!, 30_000, () => {
    if (code !== undefined) throw new Error(`exited with ${code}: ${err}`);
    return /listening on/.test(err) ? true : undefined;
  }, 50);
  return { child, stderr: () => err };
}

/** An empty program on the receiving end's ingress: what the hook costs before a probe does any work. */
const emptyHook = (hook: 'tc' | 'xdp'): Capturer => ({
  name: hook === 'tc' ? 'empty program on tcx ingress' : 'empty program on XDP',
  reference: true,
  async start(net) {
    const { child } = await spawnUntilReady(net, [process.execPath, path.join(__dirname, '..', 'attach-empty.js'), net.vB, hook]);
    return async () => {
      child.kill('SIGINT');
      await exited(child);
      return 0;
    };
  },
});

const capturers: Capturer[] = [
  { name: 'bare link', reference: true, start: async () => async () => 0 },
  emptyHook('tc'),
  emptyHook('xdp'),
  {
    name: 'tcpdump -w',
    async start(net, filtered) {
      const { child, stderr } = await spawnUntilReady(net, ['tcpdump', '-i', net.vB, '-s', String(SNAPLEN), '-w', '/dev/null', ...(filtered ? ['udp', 'port', '53'] : [])]);
      return async () => {
        // libpcap hands packets over a block at a time, a block once full or after its 1 s timeout:
        // a stop sooner would not count the last, partly filled block (all of a 1% filter's packets
        // in a short run).
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        child.kill('SIGINT');
        await exited(child);
        return Number(/(\d+) packets? captured/.exec(stderr())?.[1] ?? NaN);
      };
    },
  },
  {
    name: 'netprobe capture',
    async start(net, filtered) {
      const { child, stderr } = await spawnUntilReady(net, [process.execPath, cliPath, 'capture', '-i', net.vB, '-s', String(SNAPLEN), '-w', '/dev/null',
        '--ring-bytes', String(64 << 20), ...(filtered ? ['--proto', 'udp', '--port', '53'] : [])]);
      return async () => {
        child.kill('SIGINT');
        await exited(child);
        return Number(/written=(\d+)/.exec(stderr())?.[1] ?? NaN);
      };
    },
  },
];

const TCPDUMP = capturers.find((c) => c.name === 'tcpdump -w')!;

export const captureVsTcpdump: BenchSuite = {
  name: 'netprobe capture vs tcpdump -w through a veth pair',
  kernel: true,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const net = TestNet.create();
    try {
      net.exec(net.nsB, ['ethtool', '-K', net.vB, 'gro', 'on']);
      const stream = udpFrameHex(net, 9);
      const mix = { hex: udpFrameHex(net, 53), every: MATCH_EVERY };
      const count = ctx.quick ? 20_000 : 1_000_000;
      const runs = ctx.quick ? 1 : 5;
      const key = (c: Capturer, filtered: boolean) => `${c.name}${filtered ? ', filter matching 1%' : ', all packets'}`;
      const results = new Map<string, { pps: number[]; captured: number[] }>();
      for (let round = 0; round < runs; round++) {
        for (const filtered of [false, true]) {
          for (const c of capturers) {
            if (c.reference && filtered) continue;
            ctx.log(`capture: round ${round + 1}, ${key(c, filtered)}`);
            const stop = await c.start(net, filtered);
            let m: { pps: number; delivered: number };
            try {
              m = await measure(net, stream, count, filtered ? mix : undefined);
            } finally {
              const captured = await stop();
              const r = results.get(key(c, filtered)) ?? { pps: [], captured: [] };
              r.pps.push(m!?.pps ?? NaN);
              r.captured.push(captured / (m!?.delivered || 1));
              results.set(key(c, filtered), r);
            }
          }
        }
      }
      const bare = summarize(results.get(key(capturers[0]!, false))!.pps).median / 1000;
      const figures: Figure[] = [];
      for (const filtered of [false, true]) {
        const tcpdump = results.get(key(TCPDUMP, filtered))!;
        const tcpdumpRate = summarize(tcpdump.pps.map((p, i) => (p * tcpdump.captured[i]!) / 1000)).median;
        for (const c of capturers) {
          const r = results.get(key(c, filtered));
          if (!r) continue;
          const s = summarize(r.pps.map((p) => p / 1000));
          figures.push({
            name: `${key(c, filtered)}: 64 B UDP frames delivered by the link`, unit: 'kpps', ...s,
            baseline: { name: 'bare link', median: bare }, ratio: s.median / bare,
            ...(filtered && c.name === 'netprobe capture' ? { target: '>= 0.95 of the bare link' } : {}),
            note: `${count.toLocaleString('en')} frames per run, snaplen ${SNAPLEN}`,
          });
          if (c.reference) continue;
          // Captured packets per second: the link's rate times the share of delivered packets captured.
          const rate = summarize(r.pps.map((p, i) => (p * r.captured[i]!) / 1000));
          figures.push({
            name: `${key(c, filtered)}: packets captured`, unit: 'kpps', ...rate,
            baseline: { name: 'tcpdump -w', median: tcpdumpRate }, ratio: rate.median / tcpdumpRate,
            ...(!filtered && c.name === 'netprobe capture' ? { target: '>= 2x tcpdump' } : {}),
            // What the 2x goal asks, against the ceiling no capture passes: the bare link's rate.
            note: `captured/delivered median ${summarize(r.captured).median.toFixed(3)}${filtered ? ` (the filter matches ${(1 / MATCH_EVERY).toFixed(2)})` : ''}`
              + (!filtered && c.name === 'netprobe capture' ? `; 2x tcpdump = ${(2 * tcpdumpRate).toFixed(0)} kpps = ${((2 * tcpdumpRate) / bare).toFixed(2)} of the bare link` : ''),
          });
        }
      }
      return figures;
    } finally {
      net.cleanup();
    }
  },
};

export const suites: readonly BenchSuite[] = [captureVsTcpdump];
