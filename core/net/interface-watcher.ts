/**
 * The collector's one view of its network interfaces: resolved once at start (name and
 * ifindex), then followed as links come and go.
 *
 * How it follows them: `ip -o monitor link` (iproute2, which the kernel's netlink
 * RTM_NEWLINK/RTM_DELLINK notifications reach without a native addon) only says *that*
 * something changed; each burst of lines triggers one re-read of /sys/class/net, which is
 * the truth (name, ifindex, up). If `ip` cannot run, or its monitor ends, a slow re-read
 * on a timer takes over. No npm netlink library fits: the maintained ones are native
 * addons or need Node 20. A delete and re-create under one name between two reads is
 * still seen, because the re-created interface has a new ifindex.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { listInterfaces, type InterfaceInfo } from './interfaces';
import { NetprobeError } from '../errors';

/** One network interface as the collector resolved it. */
export interface NetInterface {
  readonly name: string;
  readonly index: number;
}

/** How a probe chooses interfaces: `auto` (every up, non-loopback one) or names. */
export type InterfaceSelection = 'auto' | readonly string[];

/** A burst of monitor lines (a veth pair makes several) is one re-read, this long after the first line. */
const SETTLE_MS = 100;
/** Without the monitor: how often /sys/class/net is re-read. */
const POLL_MS = 2000;
/** With the monitor: a safety re-read, in case a notification was missed. */
const SAFETY_POLL_MS = 30_000;

/** The interfaces `selection` picks from `all`, in `all`'s order for auto and in the selection's order for names. */
export function selectInterfaces(selection: InterfaceSelection, all: readonly InterfaceInfo[]): NetInterface[] {
  if (selection === 'auto') return all.filter((i) => i.up && !i.loopback).map(({ name, index }) => ({ name, index }));
  const byName = new Map(all.map((i) => [i.name, i]));
  return selection.flatMap((name) => {
    const found = byName.get(name);
    return found ? [{ name, index: found.index }] : [];
  });
}

/** A probe's `interfaces` config when it selects interfaces (`auto` or names); `all` and other shapes select none. */
export function interfaceSelection(probeConfig: unknown): InterfaceSelection | undefined {
  const value = (probeConfig as { interfaces?: unknown } | undefined)?.interfaces;
  if (value === 'auto') return 'auto';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/**
 * The interfaces a probe's config selects at start. Every named interface must exist and
 * `auto` must find one: a typo fails loudly rather than waiting for an interface.
 */
export function resolveAtStart(probeConfig: unknown, all: readonly InterfaceInfo[] = listInterfaces()): NetInterface[] {
  const selection = interfaceSelection(probeConfig);
  if (!selection) return [];
  const found = selectInterfaces(selection, all);
  if (selection === 'auto' && found.length === 0) {
    throw new NetprobeError('NETPROBE_ERR_ATTACH', 'interfaces: auto found no interface that is up (other than loopback)');
  }
  if (selection !== 'auto') {
    const missing = selection.filter((name) => !found.some((i) => i.name === name));
    if (missing.length) throw new NetprobeError('NETPROBE_ERR_ATTACH', `interface${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found`);
  }
  return found;
}

/** True when both lists name the same interfaces with the same indexes. */
export function sameInterfaces(a: readonly NetInterface[], b: readonly NetInterface[]): boolean {
  if (a.length !== b.length) return false;
  const key = (l: readonly NetInterface[]) => l.map((i) => `${i.name}#${i.index}`).sort().join(',');
  return key(a) === key(b);
}

export class InterfaceWatcher {
  private all: InterfaceInfo[];
  private monitor: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly onChange: () => void, private readonly list: () => InterfaceInfo[] = listInterfaces) {
    this.all = this.list();
  }

  /** Every interface as last read. */
  get interfaces(): readonly InterfaceInfo[] {
    return this.all;
  }

  select(selection: InterfaceSelection): NetInterface[] {
    return selectInterfaces(selection, this.all);
  }

  /** Starts following changes; onChange is called after a re-read that found a difference. */
  start(): void {
    try {
      const child = spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.on('error', () => this.fallBackToPolling()); // no `ip` binary
      child.on('exit', () => this.fallBackToPolling());
      child.stdout!.on('data', () => this.soon());
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      this.monitor = child;
      this.every(SAFETY_POLL_MS);
    } catch {
      this.fallBackToPolling();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.settle) clearTimeout(this.settle);
    this.monitor?.removeAllListeners('exit');
    this.monitor?.kill();
    this.monitor = undefined;
  }

  /** Re-reads now; returns whether anything changed (and tells onChange if so). */
  refresh(): boolean {
    if (this.stopped) return false;
    const now = this.list();
    const key = (l: InterfaceInfo[]) => l.map((i) => `${i.name}#${i.index}#${i.up}`).join(',');
    if (key(now) === key(this.all)) return false;
    this.all = now;
    this.onChange();
    return true;
  }

  private soon(): void {
    this.settle ??= setTimeout(() => {
      this.settle = undefined;
      this.refresh();
    }, SETTLE_MS);
    this.settle.unref();
  }

  private fallBackToPolling(): void {
    if (this.stopped) return;
    this.monitor = undefined;
    this.every(POLL_MS);
  }

  private every(ms: number): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), ms);
    this.timer.unref();
  }
}
