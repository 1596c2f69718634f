/**
 * The collector service: starts exporters first, then probes. Collection runs on the
 * service's own clock and hands each exporter a snapshot for its own bounded queue;
 * no exporter's backend can hold up collection or another exporter. On shutdown: a
 * last collection, probes detached in reverse order (their final log records
 * emitted), then every exporter sends what it can within SHUTDOWN_FLUSH_MS.
 */
import { Telemetry } from './telemetry/telemetry';
import type { KernelCost } from './telemetry/self-metrics';
import { settledBy } from './telemetry/deadline';
import { buildResource } from './telemetry/resource';
import { ProbeRunner, type ProbeFinished } from './plugin/runner';
import { createSharedFacts } from './facts/shared-facts';
import { enableRunStats, programCost, statsSysctlEnabled } from './bpf/prog-stats';
import { componentType, type CollectorConfig } from './config/load';
import type { Env } from './config/env';
import type { Logger } from './log';
import type { Attributes, HistogramValue, MetricSink, MetricSpec, ProbePlugin } from './plugin/types';
import { ATTACH_TARGET_ATTRIBUTE, type Attachment } from './plugin/host';
import { InterfaceWatcher, interfaceSelection, resolveAtStart, sameInterfaces, type NetInterface } from './net/interface-watcher';
import { wrapError } from './errors';

/** One value a probe reported in a collection (cumulative for counters, as the probe reported it). */
export interface CollectedPoint {
  metric: string;
  attributes: Attributes;
  value: number | HistogramValue;
}

/**
 * Another face of the service (`netprobe top`, ...): it sees, in-process, every probe's
 * collection and every log record, from the same probes that feed the exporters.
 * Called on the service's own clock; it must be quick and never throw.
 */
export interface ServiceObserver {
  /** One probe's points of one collection. */
  collected?(probeId: string, points: readonly CollectedPoint[]): void;
  /** Every probe was read once; `at` is the epoch ms of the end of the collection. */
  collectionDone?(at: number): void;
  event?(probeId: string, eventName: string, attributes: Attributes, body?: string): void;
}

/** The attached set, one series per probe and interface it is attached to now. */
const INTERFACE_ATTACHED: MetricSpec = {
  name: 'netprobe.interface.attached',
  description: 'Interfaces a probe is attached to now: 1 per probe and interface (an interface that went away leaves the set).',
  unit: '{interface}',
  kind: 'gauge',
  attributes: ['network.interface.name'],
};

/** How long shutdown waits for the last collection, and then for the exporters to send what they hold (a dead backend would retry for longer). */
export const SHUTDOWN_FLUSH_MS = 3000;

export class Service {
  private telemetry: Telemetry | undefined;
  private readonly runners: ProbeRunner[] = [];
  private timer: NodeJS.Timeout | undefined;
  private collecting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly collectErrorsLogged = new Set<string>();
  /** Called when a probe has done what it was asked (ProbeHost.finished): a command face stops here; by default it is logged. */
  onProbeFinished: ProbeFinished = (probe, reason) => this.log.info('probe finished', { probe, reason });
  private runStats: { close(): void } | undefined;
  private readonly observers: ServiceObserver[] = [];
  private interfaceWatcher: InterfaceWatcher | undefined;
  private emit: (probe: string, name: string, attrs: Attributes, body?: string) => void = () => undefined;

  constructor(
    private readonly config: CollectorConfig,
    private readonly plugins: readonly ProbePlugin[],
    private readonly log: Logger,
    private readonly env: Env = process.env,
  ) {}

  /** Probe ids in config order that some pipeline uses; the others are not attached. */
  usedProbeIds(): string[] {
    const used = new Set(Object.values(this.config.service.pipelines).flatMap((p) => p.probes));
    return Object.keys(this.config.probes).filter((id) => used.has(id));
  }

  /** Adds a face that sees each collection and every log record (before start, to see everything). */
  observe(observer: ServiceObserver): void {
    this.observers.push(observer);
  }

  private notify(call: (o: ServiceObserver) => void): void {
    for (const o of this.observers) {
      try {
        call(o);
      } catch (err) {
        this.log.error('a service observer failed', { error: err });
      }
    }
  }

  get exporterDescriptions(): readonly string[] {
    return this.telemetry?.description ?? [];
  }

  get attachments(): Attachment[] {
    return this.runners.flatMap((r) => r.attachments);
  }

  async start(): Promise<void> {
    this.telemetry = await Telemetry.start(this.config, buildResource(this.env), this.log, this.env);
    const xdpClaims = new Map<string, string>();
    const facts = createSharedFacts();
    const emit = (this.emit = (probe: string, name: string, attrs: Attributes, body?: string) => {
      this.telemetry?.emitEvent(probe, name, attrs, body);
      if (this.observers.length) this.notify((o) => o.event?.(probe, name, attrs, body));
    });
    const watcher = (this.interfaceWatcher = new InterfaceWatcher(() => void this.followInterfaces()));
    const used = this.usedProbeIds();
    for (const id of Object.keys(this.config.probes)) {
      if (!used.includes(id)) this.log.warn('probe is in no pipeline; not attaching it', { probe: id });
    }
    try {
      for (const id of used) {
        const plugin = this.plugins.find((p) => p.type === componentType(id))!;
        let interfaces: NetInterface[];
        try {
          interfaces = resolveAtStart(this.config.probes[id], watcher.interfaces);
        } catch (err) {
          throw wrapError(`starting probe ${id}`, err);
        }
        const runner = new ProbeRunner(id, plugin, this.config.probes[id], this.log.child(id), emit, xdpClaims, facts, (probe, reason) => this.onProbeFinished(probe, reason), interfaces);
        this.runners.push(runner);
        await runner.start();
        this.announceAttachments(runner);
      }
    } catch (err) {
      await this.shutdown({ finalCollect: false });
      throw err;
    }
    this.watchKernelCost();
    watcher.start();
    this.timer = setInterval(() => void this.tick(), this.config.service.intervalMs);
  }

  /**
   * One interval: reads every probe into the metric store, then hands every push
   * exporter a snapshot for its own queue. Never waits for a backend: a slow or dead
   * one delays neither collection nor the other exporters. A collection still running
   * when the next interval comes (a probe's collect may be async) makes that interval skip.
   */
  tick(): Promise<void> {
    if (this.collecting) {
      this.telemetry?.self.recordCollectSkipped();
      return this.collecting;
    }
    this.collecting = this.collectProbes()
      .then(() => this.telemetry?.offerMetrics())
      .finally(() => {
        this.collecting = undefined;
      });
    return this.collecting;
  }

  private async collectProbes(): Promise<void> {
    const telemetry = this.telemetry;
    if (!telemetry) return;
    for (const runner of this.runners) {
      if (runner.running) await this.collectRunner(runner);
    }
    if (this.observers.length) {
      const at = Date.now();
      this.notify((o) => o.collectionDone?.(at));
    }
  }

  private announceAttachments(runner: ProbeRunner): void {
    for (const a of runner.attachments) {
      this.emit(runner.id, 'netprobe.probe.attached', {
        'netprobe.attach.kind': a.kind,
        [ATTACH_TARGET_ATTRIBUTE[a.targetKind]]: a.target,
        'netprobe.attach.detail': a.detail,
      });
    }
  }

  /**
   * The interfaces changed (core/net/interface-watcher): every probe whose selection now
   * resolves differently exports its last values once (a vanished interface's final
   * counts), releases its links, and starts again on the new set; its counters continue
   * where they were. Runs in the collection's place, so it never overlaps a collection.
   */
  private async followInterfaces(): Promise<void> {
    while (this.collecting) await this.collecting.catch(() => undefined);
    if (this.stopping || !this.telemetry) return;
    this.collecting = this.reattachChanged().finally(() => {
      this.collecting = undefined;
    });
    await this.collecting;
  }

  private async reattachChanged(): Promise<void> {
    const telemetry = this.telemetry!;
    let changed = false;
    for (const runner of this.runners) {
      const selection = interfaceSelection(this.config.probes[runner.id]);
      if (!selection || runner.plugin.followsInterfaces === false) continue;
      const next = this.interfaceWatcher!.select(selection);
      if (sameInterfaces(next, runner.interfaces)) continue;
      const key = (i: NetInterface) => `${i.name}#${i.index}`;
      const nextKeys = new Set(next.map(key));
      const oldKeys = new Set(runner.interfaces.map(key));
      for (const i of runner.interfaces) if (!nextKeys.has(key(i))) this.log.info('interface gone: releasing it', { probe: runner.id, interface: i.name, ifindex: i.index });
      for (const i of next) if (!oldKeys.has(key(i))) this.log.info('interface appeared: attaching to it', { probe: runner.id, interface: i.name, ifindex: i.index });
      if (runner.running) await this.collectRunner(runner); // the last values on the old set, exported below
      telemetry.probeMetrics.carryOver(runner.id);
      changed = true;
      try {
        await runner.reattach(next);
        this.announceAttachments(runner);
        if (runner.running) this.log.info('probe attached again', { probe: runner.id, interfaces: next.map((i) => i.name).join(',') });
        else this.log.info('none of the probe\'s interfaces is left: it waits for one', { probe: runner.id });
      } catch (err) {
        this.log.error('attaching to the changed interfaces failed; the probe waits for the next change', { probe: runner.id, error: err });
      }
    }
    if (!changed) return;
    await telemetry.offerMetrics();
    // A probe left with no interface reports nothing: its series end here, after their final values went out.
    for (const runner of this.runners) if (!runner.running) telemetry.probeMetrics.forget(runner.id);
  }

  private async collectRunner(runner: ProbeRunner): Promise<void> {
    const telemetry = this.telemetry!;
    const sink = telemetry.probeMetrics.beginCollect(runner.id, [...runner.plugin.metrics, INTERFACE_ATTACHED]);
    const points: CollectedPoint[] = [];
    try {
      const started = process.hrtime.bigint();
      await runner.collect(this.observers.length ? teeSink(sink, points) : sink);
      // Beside the probe's own series, so it goes where they go and ends when they end.
      for (const i of runner.interfaces) sink.record(INTERFACE_ATTACHED.name, { 'network.interface.name': i.name }, 1);
      sink.commit();
      if (this.observers.length) this.notify((o) => o.collected?.(runner.id, points));
      telemetry.self.recordCollect(runner.id, Number(process.hrtime.bigint() - started) / 1e9);
      this.collectErrorsLogged.delete(runner.id);
    } catch (err) {
      // Keep the previous values; log once until the probe recovers.
      if (!this.collectErrorsLogged.has(runner.id)) this.log.error('collecting probe failed', { probe: runner.id, error: err });
      this.collectErrorsLogged.add(runner.id);
    }
  }

  /** Each probe program's run count and time as self-metrics; statistics on while running, if configured. */
  private watchKernelCost(): void {
    if (this.config.service.telemetry.kernel_stats && !statsSysctlEnabled()) {
      try {
        this.runStats = enableRunStats();
      } catch (err) {
        this.log.warn('BPF run-time statistics could not be turned on: netprobe.probe.kernel.* stay at 0', { error: err });
      }
    }
    this.telemetry?.self.watchKernelCost(() => this.kernelCost());
  }

  /**
   * Each running probe program's cumulative run count and time (zeros while run-time
   * statistics are off): the self-metrics read it, and so can a face (`netprobe top`).
   */
  kernelCost(): KernelCost[] {
    return this.runners.flatMap((r) => r.programs().flatMap(({ name, fd }) => {
      try {
        return [{ probe: r.id, program: name, ...programCost(fd) }];
      } catch {
        return []; // unloaded meanwhile
      }
    }));
  }

  /** Whether the kernel keeps run-time statistics now (this service turned them on, or the sysctl). */
  get kernelStatsOn(): boolean {
    return this.runStats !== undefined || statsSysctlEnabled();
  }

  /** Safe before start and safe twice. */
  shutdown(options: { finalCollect?: boolean } = {}): Promise<void> {
    this.stopping ??= this.doShutdown(options.finalCollect ?? true);
    return this.stopping;
  }

  private async doShutdown(finalCollect: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.interfaceWatcher?.stop();
    const collectBy = Date.now() + SHUTDOWN_FLUSH_MS;
    if (this.collecting && !(await settledBy(this.collecting, collectBy))) this.log.warn('stopped waiting for the collection in progress');
    // The last values go into the store; the exporters' last snapshot (after the probes' final log records) sends them.
    if (finalCollect && !(await settledBy(this.collectProbes(), collectBy))) this.log.warn('stopped waiting for the last collection');
    for (const runner of [...this.runners].reverse()) await runner.stop();
    this.runStats?.close();
    // The exporters' time starts once the probes' last records exist: ending many flows takes a moment.
    await this.telemetry?.shutdown(Date.now() + SHUTDOWN_FLUSH_MS);
  }
}

/** A sink that also keeps what the probe reported, for the observers. */
function teeSink(sink: MetricSink, points: CollectedPoint[]): MetricSink {
  return {
    record(metric, attributes, value) {
      sink.record(metric, attributes, value);
      points.push({ metric, attributes, value });
    },
  };
}
