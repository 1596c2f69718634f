/** Drives test/harness/probe-harness.js inside a namespace, one JSON line per exchange. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { TestNet } from './netns';
import { distRoot } from './paths';
import type { Attributes, HistogramValue } from '../../core/plugin/types';
import { patience } from './slowdown';

export interface EmittedEvent { probe: string; name: string; attributes: Attributes; body?: string }
export type LogEvent = EmittedEvent;
export interface Point { probe: string; metric: string; attributes: Attributes; value: number | HistogramValue }

export class ProbeHarness {
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  private started = false;

  private constructor(private readonly child: ChildProcess) {
    this.lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /**
   * Starts the harness in `ns` with the given YAML; resolves once the probes are attached.
   * `keepMounts`: enter only the network namespace, so the cgroup v2 mount stays visible.
   * `mountCgroup`: enter it like `ip netns exec` (its own /sys, so the namespace's interfaces
   * are seen) and mount cgroup v2 at /sys/fs/cgroup there, for probes on interfaces and cgroups at once.
   */
  static async start(net: TestNet, ns: string, yaml: string, options: { keepMounts?: boolean; mountCgroup?: boolean } = {}): Promise<{ harness: ProbeHarness; ready: unknown[] }> {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-test-')), 'config.yaml');
    fs.writeFileSync(file, yaml);
    let args = [process.execPath, path.join(distRoot, 'test', 'harness', 'probe-harness.js'), file];
    if (options.mountCgroup) args = ['sh', '-c', 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"', 'sh', ...args];
    const child = options.keepMounts ? net.spawnKeepingMounts(ns, args) : net.spawn(ns, args);
    const harness = new ProbeHarness(child);
    const first = await harness.next();
    harness.started = true;
    if (!('ready' in first)) throw new Error(`harness failed: ${JSON.stringify(first)}\n${harness.stderr}`);
    return { harness, ready: first.ready as unknown[] };
  }

  /**
   * Starts the harness with --fail-after-attach: each probe fails right after its first
   * attachment. Resolves with the harness's answer (error, code, released) once it exited.
   */
  static async failedStart(net: TestNet, ns: string, yaml: string, options: { keepMounts?: boolean } = {}): Promise<Record<string, unknown>> {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-test-')), 'config.yaml');
    fs.writeFileSync(file, yaml);
    const args = [process.execPath, path.join(distRoot, 'test', 'harness', 'probe-harness.js'), file, '--fail-after-attach'];
    const child = options.keepMounts ? net.spawnKeepingMounts(ns, args) : net.spawn(ns, args);
    const harness = new ProbeHarness(child);
    const reply = await harness.next();
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    return { ...reply, stderr: harness.stderr };
  }

  /** Stops every probe, then starts them again as new runners; resolves with the new attachments. */
  async restart(): Promise<unknown[]> {
    this.child.stdin!.write('restart\n');
    return (await this.next()).ready as unknown[];
  }

  private async next(): Promise<Record<string, unknown>> {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`harness timed out; stderr:\n${this.stderr}`)), patience(20_000)).unref());
    const r = await Promise.race([this.lines.next(), timeout]);
    if (r.done) throw new Error(`harness exited; stderr:\n${this.stderr}`);
    const reply = JSON.parse(r.value) as Record<string, unknown>;
    // A failed command (e.g. a collect the kernel refused) says why, instead of an undefined result.
    if ('error' in reply && !('ready' in reply) && this.started) throw new Error(`harness: ${String(reply.error)}\n${this.stderr}`);
    return reply;
  }

  async collect(): Promise<Point[]> {
    this.child.stdin!.write('collect\n');
    return (await this.next()).points as Point[];
  }

  /** Log records the probes emitted since the previous call. */
  async events(): Promise<EmittedEvent[]> {
    this.child.stdin!.write('events\n');
    return (await this.next()).events as EmittedEvent[];
  }

  /** What the probes logged (the collector's diagnostic log, on stderr) so far. */
  get log(): string {
    return this.stderr;
  }

  /** The harness process, e.g. to kill it the hard way. */
  get process(): ChildProcess {
    return this.child;
  }

  /** Stops the probes; returns the log records emitted since the last events() call, stop included. */
  async stop(): Promise<EmittedEvent[]> {
    this.child.stdin!.write('stop\n');
    return (await this.next()).events as EmittedEvent[];
  }
}
