/**
 * The collector service: starts exporters first, then probes; reads every probe
 * and exports at each interval; on shutdown does a last collection and flush,
 * detaches everything (probes in reverse order) and stops the exporters.
 */
import { Telemetry } from './telemetry/telemetry';
import { buildResource } from './telemetry/resource';
import { ProbeRunner } from './plugin/runner';
import { createSharedFacts } from './facts/shared-facts';
import { componentType, type CollectorConfig } from './config/load';
import { planReload, usedProbeIds, type ReloadPlan } from './config/reload-plan';
import type { Resource } from '@opentelemetry/resources';
import type { Env } from './config/env';
import type { Logger } from './log';
import type { Attributes, HistogramValue, MetricSink, ProbePlugin } from './plugin/types';
import type { Attachment } from './plugin/host';
import type { HealthSource } from './health';

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

/** How long shutdown waits, in all, for the last export and the exporters' flush (a dead backend would retry for longer). */
const FINAL_FLUSH_MS = 3000;

export interface ReloadResult extends ReloadPlan {
  failed: Array<{ probe: string; error: string }>;
}

export class Service implements HealthSource {
  /** For the health endpoint: when start finished and when a collection last did. */
  startedAt: number | undefined;
  lastCollectAt: number | undefined;
  private telemetry: Telemetry | undefined;
  private readonly runners: ProbeRunner[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly collectErrorsLogged = new Set<string>();
  private readonly observers: ServiceObserver[] = [];

  private resource: Resource | undefined;
  private xdpClaims = new Map<string, string>();
  private facts = createSharedFacts();
  /** The reload in progress, if any: reloads run one after the other. */
  private reloading: Promise<unknown> | undefined;
  private intervalMsRunning = 0;
  private applying = false;

  constructor(
    private config: CollectorConfig,
    private readonly plugins: readonly ProbePlugin[],
    private readonly log: Logger,
    private readonly env: Env = process.env,
  ) {}

  /** Probe ids in config order that some pipeline uses; the others are not attached. */
  usedProbeIds(): string[] {
    return usedProbeIds(this.config);
  }

  get ready(): boolean {
    return this.startedAt !== undefined && !this.stopping;
  }

  get intervalMs(): number {
    return this.config.service.intervalMs;
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
    this.resource = buildResource(this.env);
    this.telemetry = await Telemetry.start(this.config, this.resource, this.log, this.env);
    const used = this.usedProbeIds();
    for (const id of Object.keys(this.config.probes)) {
      if (!used.includes(id)) this.log.warn('probe is in no pipeline; not attaching it', { probe: id });
    }
    try {
      for (const id of used) await this.startProbe(id);
    } catch (err) {
      await this.shutdown({ finalCollect: false });
      throw err;
    }
    this.timer = setInterval(() => void this.tick(), this.config.service.intervalMs);
    this.intervalMsRunning = this.config.service.intervalMs;
    this.startedAt = Date.now();
  }

  private emit = (probe: string, name: string, attrs: Attributes, body?: string): void => {
    this.telemetry?.emitEvent(probe, name, attrs, body);
    if (this.observers.length) this.notify((o) => o.event?.(probe, name, attrs, body));
  };

  /** Attaches one probe of this.config and announces its attachments as log records. */
  private async startProbe(id: string): Promise<void> {
    const plugin = this.plugins.find((p) => p.type === componentType(id))!;
    const runner = new ProbeRunner(id, plugin, this.config.probes[id], this.log.child(id), this.emit, this.xdpClaims, this.facts);
    this.runners.push(runner);
    await runner.start();
    for (const a of runner.attachments) {
      this.emit(id, 'netprobe.probe.attached', {
        'netprobe.attach.kind': a.kind,
        [a.targetKind === 'cgroup' ? 'netprobe.attach.cgroup' : 'network.interface.name']: a.target,
        'netprobe.attach.detail': a.detail,
      });
    }
  }

  /**
   * Applies a new, already validated config by difference (core/config/reload-plan.ts):
   * unchanged probes keep running and keep their counters; changed and removed ones detach,
   * added ones attach; new exporters start before the old ones are retired, and the old
   * ones send what they still hold (their queued log records) within SHUTDOWN_FLUSH_MS.
   * New exporters that cannot start (a port in use) leave everything as it was.
   * A probe that fails to attach is reported in `failed`; the rest of the reload stands.
   */
  reload(next: CollectorConfig): Promise<ReloadResult> {
    const run = (this.reloading ?? Promise.resolve()).then(() => this.applyReload(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: CollectorConfig): Promise<ReloadResult> {
    if (this.stopping || !this.telemetry || !this.resource) throw new Error('the collector is not running');
    this.applying = true;
    try {
      if (this.ticking) await this.ticking;
      return await this.applyPlan(next, this.telemetry, this.resource);
    } finally {
      this.applying = false;
    }
  }

  private async applyPlan(next: CollectorConfig, old: Telemetry, resource: Resource): Promise<ReloadResult> {
    const plan = planReload(this.config, next);
    const replacement = plan.exporters ? await Telemetry.start(next, resource, this.log, this.env, old.probeMetrics) : undefined;
    for (const id of plan.stop) {
      const runner = this.runners.find((r) => r.id === id);
      if (!runner) continue;
      await runner.stop();
      this.runners.splice(this.runners.indexOf(runner), 1);
      old.probeMetrics.forget(id);
    }
    if (replacement) this.telemetry = replacement;
    this.config = next;
    const failed: Array<{ probe: string; error: string }> = [];
    for (const id of plan.start) {
      try {
        await this.startProbe(id);
      } catch (err) {
        this.runners.splice(this.runners.findIndex((r) => r.id === id), 1);
        failed.push({ probe: id, error: (err as Error).message });
      }
    }
    if (next.service.intervalMs !== this.intervalMsRunning) {
      if (this.timer) clearInterval(this.timer);
      this.timer = setInterval(() => void this.tick(), next.service.intervalMs);
      this.intervalMsRunning = next.service.intervalMs;
    }
    if (replacement) await this.withDeadline(old.shutdown(), 'the replaced exporters to send what they held', Date.now() + FINAL_FLUSH_MS);
    return { ...plan, failed };
  }

  /** Reads every probe and exports once; overlapping calls share one run. */
  tick(): Promise<void> {
    if (this.applying) return Promise.resolve(); // the reload reads nothing half-swapped; the next interval collects
    this.ticking ??= this.collectAndExport().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async collectAndExport(): Promise<void> {
    const telemetry = this.telemetry;
    if (!telemetry) return;
    for (const runner of this.runners) {
      if (!runner.running) continue;
      const sink = telemetry.probeMetrics.beginCollect(runner.id, runner.plugin.metrics);
      const points: CollectedPoint[] = [];
      try {
        const started = process.hrtime.bigint();
        runner.collect(this.observers.length ? teeSink(sink, points) : sink);
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
    this.lastCollectAt = Date.now();
    if (this.observers.length) {
      const at = this.lastCollectAt;
      this.notify((o) => o.collectionDone?.(at));
    }
    await telemetry.exportMetrics();
  }

  /** Safe before start and safe twice. */
  shutdown(options: { finalCollect?: boolean } = {}): Promise<void> {
    this.stopping ??= this.doShutdown(options.finalCollect ?? true);
    return this.stopping;
  }

  private async doShutdown(finalCollect: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const deadline = Date.now() + FINAL_FLUSH_MS;
    if (this.ticking) await this.withDeadline(this.ticking, 'the export in progress', deadline);
    if (finalCollect) await this.withDeadline(this.tick(), 'the last export', deadline);
    for (const runner of [...this.runners].reverse()) await runner.stop();
    if (this.telemetry) await this.withDeadline(this.telemetry.shutdown(), 'flushing the exporters', deadline);
  }

  /** Waits for `work` until `deadline`: a backend that does not answer must not hold up the exit. */
  private async withDeadline(work: Promise<unknown>, what: string, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()));
      timer.unref();
    });
    const late = await Promise.race([work.then(() => false, () => false), gaveUp]);
    clearTimeout(timer);
    if (late) this.log.warn(`stopped waiting for ${what} (${FINAL_FLUSH_MS / 1000}s for the whole shutdown); what it had not sent is lost`);
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
