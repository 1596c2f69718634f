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

/** HTTP GET from inside nsB (the backends listen on that namespace's loopback). Node 18 has fetch. */
export function httpGet(net: TestNet, url: string): string {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(2));`;
  return net.exec(net.nsB, [process.execPath, '-e', script]);
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/**
 * Starts `netprobe run` with `yaml` inside `ns`; resolves once it printed that it runs.
 * `keepMounts` enters only the network namespace, so the cgroup v2 mount stays visible.
 */
export async function startCollector(net: TestNet, ns: string, yaml: string, options: { keepMounts?: boolean } = {}): Promise<{ child: ChildProcess; output: () => string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-run-')), 'collector.yaml');
  fs.writeFileSync(file, yaml);
  const args = [process.execPath, cliPath, 'run', '--config', file];
  const child = options.keepMounts ? net.spawnKeepingMounts(ns, args) : net.spawn(ns, args);
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
