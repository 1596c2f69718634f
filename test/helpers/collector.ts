/**
 * Running the real `netprobe run` in a test namespace, and a minimal OTLP/HTTP receiver
 * beside it that stores every request body as it arrived on the wire.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { TestNet } from './netns';
import { cliPath } from './paths';
import { patience } from './slowdown';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (bounded by `timeoutMs`). */
export async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined, pollMs = 200): Promise<T> {
  const deadline = Date.now() + patience(timeoutMs);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** What runs commands in namespaces: a TestNet, a Fleet. */
export interface Namespaces {
  exec(ns: string, args: string[]): string;
  spawn(ns: string, args: string[]): ChildProcess;
}

/** HTTP GET from inside namespace `ns` (backends listen on its loopback). Node 18 has fetch. */
export function httpGetIn(net: Namespaces, ns: string, url: string): string {
  // Exit only once stdout is flushed: a big answer through a pipe would be cut short.
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => { const ok = r.ok; process.stdout.write(await r.text(), () => process.exit(ok ? 0 : 1)); }, () => process.exit(2));`;
  return net.exec(ns, [process.execPath, '-e', script]);
}

/** HTTP GET from inside nsB, where the single-host tests' backends listen. */
export function httpGet(net: TestNet, url: string): string {
  return httpGetIn(net, net.nsB, url);
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/**
 * Starts `netprobe run` with `yaml` inside `ns`; resolves once it printed that it runs.
 * `keepMounts` enters only the network namespace, so the cgroup v2 mount stays visible;
 * `env` adds environment variables.
 */
export async function startCollector(net: TestNet, ns: string, yaml: string, options: { keepMounts?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<{ child: ChildProcess; output: () => string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-run-')), 'collector.yaml');
  fs.writeFileSync(file, yaml);
  const args = [process.execPath, cliPath, 'run', '--config', file];
  const spawnOptions = options.env ? { env: { ...process.env, ...options.env } } : {};
  const child = options.keepMounts ? net.spawnKeepingMounts(ns, args, spawnOptions) : net.spawn(ns, args, spawnOptions);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => (output += line + '\n'));
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  await until('the collector to run', 20_000, () => {
    if (exitCode !== undefined) throw new Error(`collector exited with ${exitCode}:\n${output}`);
    return output.includes(' running with ') ? true : undefined;
  }, 50);
  return { child, output: () => output };
}

/**
 * An OTLP/HTTP receiver on `ns`'s 127.0.0.1:`port` that stores each request body in a
 * new directory (files `<n>-_v1_logs` / `<n>-_v1_metrics`) and answers 200.
 */
export function startOtlpCapture(net: TestNet, ns: string, port: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-otlp-'));
  net.spawn(ns, [process.execPath, '-e', `
    let n = 0;
    require('node:http').createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        require('node:fs').writeFileSync(${JSON.stringify(dir)} + '/' + (n++) + '-' + req.url.replace(/\\W/g, '_'), Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': req.headers['content-type'] || 'application/x-protobuf' }).end(req.headers['content-type'] === 'application/json' ? '{}' : '');
      });
    }).listen(${port}, '127.0.0.1');`]);
  return dir;
}

/** The OTLP/HTTP JSON request bodies a capture stored for one signal, in arrival order. */
export function capturedJson(dir: string, signal: 'logs' | 'metrics'): unknown[] {
  return fs.readdirSync(dir).filter((f) => f.includes(`v1_${signal}`)).sort((a, b) => parseInt(a) - parseInt(b))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as unknown);
}

export interface CapturedRunOptions {
  /** Each probe's id and its config in YAML flow style (`{ interfaces: [veth0] }`). */
  probes: Record<string, string>;
  /** The collection interval (default 1s). */
  interval?: string;
  /** Whether log records are exported too (default true). */
  logs?: boolean;
  /** The capture's port on the namespace's loopback (default 4319). */
  port?: number;
  /** More exporters (id: flow-style config) that the metrics pipeline feeds beside the capture. */
  moreMetricsExporters?: Record<string, string>;
  /** More exporters (id: flow-style config) that the logs pipeline feeds beside the capture. */
  moreLogsExporters?: Record<string, string>;
  /** More lines under `service:`, e.g. `telemetry: { kernel_stats: true }`. */
  service?: string;
  keepMounts?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** A collector.yaml whose probes export metrics (and log records) over OTLP/HTTP JSON to 127.0.0.1:`port`. */
export function capturedRunConfig(o: CapturedRunOptions): string {
  const ids = Object.keys(o.probes).join(', ');
  const metricsExporters = ['otlp_http', ...Object.keys(o.moreMetricsExporters ?? {})].join(', ');
  const logsExporters = ['otlp_http', ...Object.keys(o.moreLogsExporters ?? {})].join(', ');
  return [
    'probes:',
    ...Object.entries(o.probes).map(([id, config]) => `  ${id}: ${config}`),
    'exporters:',
    `  otlp_http: { endpoint: http://127.0.0.1:${o.port ?? 4319}, protocol: http/json }`,
    ...Object.entries({ ...o.moreMetricsExporters, ...o.moreLogsExporters }).map(([id, config]) => `  ${id}: ${config}`),
    'service:',
    `  interval: ${o.interval ?? '1s'}`,
    ...(o.service ? [`  ${o.service}`] : []),
    '  pipelines:',
    `    metrics: { probes: [${ids}], exporters: [${metricsExporters}] }`,
    ...(o.logs === false ? [] : [`    logs: { probes: [${ids}], exporters: [${logsExporters}] }`]),
    '',
  ].join('\n');
}

/**
 * An OTLP/HTTP capture (startOtlpCapture) in `ns` and `netprobe run` beside it exporting
 * to it. `capture` is the capture's directory; `yaml` the config, to start the collector again.
 */
export async function startCapturedRun(net: TestNet, ns: string, o: CapturedRunOptions): Promise<{ capture: string; yaml: string; child: ChildProcess; output: () => string }> {
  const capture = startOtlpCapture(net, ns, o.port ?? 4319);
  const yaml = capturedRunConfig(o);
  const { child, output } = await startCollector(net, ns, yaml, { keepMounts: o.keepMounts, env: o.env });
  return { capture, yaml, child, output };
}
