/**
 * The running collector as a user runs it: `netprobe run` in a test namespace with
 * xdp_counter, flow_stats and dns on the link, exporting every second over OTLP to a
 * local sink and serving Prometheus. Measures the process's CPU and RSS at idle and
 * under a steady paced load, and the export and collection times it reports about
 * itself (netprobe.exporter.export.duration, netprobe.probe.collect.duration).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { TestNet } from '../test/helpers/netns';
import { frame } from '../test/helpers/packets';
import { summarize, type BenchContext, type BenchSuite, type Figure } from './types';

const CLI = path.resolve(__dirname, '..', 'cli', 'netprobe.js');
const CLOCK_TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU percent of one core over a window, sampled every second (one value per second). */
async function cpuPercent(pid: number, seconds: number): Promise<number[]> {
  const samples: number[] = [];
  let last = cpuSeconds(pid);
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    const now = cpuSeconds(pid);
    samples.push((now - last) * 100);
    last = now;
  }
  return samples;
}

/** Mean of a Prometheus histogram (sum/count) for series matching `labels`. */
function histogramMean(text: string, name: string, labels: string): number {
  const pick = (suffix: string) => text.split('\n')
    .filter((l) => l.startsWith(`${name}_${suffix}{`) && l.includes(labels))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  return pick('sum') / Math.max(1, pick('count'));
}

export const collectorProcess: BenchSuite = {
  name: 'collector process (netprobe run)',
  kernel: true,
  async run(ctx: BenchContext) {
    const net = TestNet.create();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-bench-'));
    try {
      net.exec(net.nsB, ['ethtool', '-K', net.vB, 'gro', 'on']);
      // An OTLP/HTTP sink on the namespace's loopback that accepts and discards.
      net.spawn(net.nsB, [process.execPath, '-e', "require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end()); }).listen(4318, '127.0.0.1')"]);
      const config = path.join(dir, 'collector.yaml');
      fs.writeFileSync(config, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
  flow_stats: { interfaces: [${net.vB}], ingress_hook: tc }
  dns: { interfaces: [${net.vB}] }
exporters:
  otlp_http: { endpoint: http://127.0.0.1:4318 }
  prometheus: { host: 127.0.0.1, port: 9464 }
service:
  interval: 1s
  pipelines:
    metrics: { probes: [xdp_counter, flow_stats, dns], exporters: [otlp_http, prometheus] }
    logs: { probes: [xdp_counter, flow_stats, dns], exporters: [otlp_http] }
`);
      const child = net.spawn(net.nsB, [process.execPath, CLI, 'run', '--config', config]);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('collector did not start')), 20_000);
        readline.createInterface({ input: child.stdout! }).on('line', (l) => {
          if (l.includes(' running with ')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const pid = child.pid!;
      const window = ctx.quick ? 2 : 10;
      await sleep(2000); // first intervals: JIT warm-up
      ctx.log('collector: idle');
      const idle = await cpuPercent(pid, window);
      const idleRss = rssMb(pid);

      const f = frame({ ip: { version: 4, src: net.ipA, dst: net.ipB }, l4: { kind: 'udp', src: 40000, dst: 9 }, payload: 22 });
      Buffer.from(net.mac(net.nsB, net.vB).replace(/:/g, ''), 'hex').copy(f, 0);
      Buffer.from(net.mac(net.nsA, net.vA).replace(/:/g, ''), 'hex').copy(f, 6);
      const pps = 100_000;
      ctx.log(`collector: under a steady ${pps} packets/s`);
      const sender = net.spawn(net.nsA, [process.execPath, path.join(__dirname, 'sender.js'), net.vA, String(pps * (window + 2)), f.toString('hex'), String(pps)]);
      await sleep(1000);
      const loaded = await cpuPercent(pid, window);
      const loadedRss = rssMb(pid);
      sender.kill();

      const scrape = net.exec(net.nsB, [process.execPath, '-e', "fetch('http://127.0.0.1:9464/metrics').then(async (r) => process.stdout.write(await r.text()))"]);
      const exportMs = histogramMean(scrape, 'netprobe_exporter_export_duration', 'exporter="otlp_http"') * 1000;
      const collectMs = (probe: string) => histogramMean(scrape, 'netprobe_probe_collect_duration', `netprobe_probe_id="${probe}"`) * 1000;
      child.kill('SIGTERM');

      const one = (name: string, unit: string, value: number, note?: string): Figure => ({ name, unit, median: value, min: value, max: value, runs: 1, note });
      return [
        { name: 'collector CPU at idle (3 probes, 1 s interval, OTLP + Prometheus)', unit: '% of a core', ...summarize(idle), note: 'one sample per second' },
        { name: `collector CPU under ${pps.toLocaleString('en')} packets/s`, unit: '% of a core', ...summarize(loaded), baseline: { name: 'idle', median: summarize(idle).median }, ratio: summarize(loaded).median / Math.max(0.01, summarize(idle).median), note: 'the kernel programs\' cost is not in this process' },
        one('collector RSS at idle', 'MB', idleRss),
        one(`collector RSS under ${pps.toLocaleString('en')} packets/s`, 'MB', loadedRss),
        one('OTLP/HTTP metrics export per interval (mean, to a local sink)', 'ms', exportMs),
        one('collection per interval: xdp_counter (mean)', 'ms', collectMs('xdp_counter')),
        one('collection per interval: flow_stats (mean)', 'ms', collectMs('flow_stats')),
        one('collection per interval: dns (mean)', 'ms', collectMs('dns')),
      ];
    } finally {
      net.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
