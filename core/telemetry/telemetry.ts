/**
 * The OpenTelemetry side of the collector: one MeterProvider for the whole process,
 * log records built for the SDK's log exporters (./log-record.ts), and per configured exporter its own path: a pull reader
 * (Prometheus), or for a push exporter a bounded metric snapshot queue and a bounded
 * log batch queue, each export under the exporter's own deadline. Exporters never
 * wait for each other, and the service never waits for any of them.
 */
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import { componentType, type CollectorConfig } from '../config/load';
import type { Env } from '../config/env';
import type { Logger } from '../log';
import type { Attributes } from '../plugin/types';
import { VERSION } from '../version';
import { ProbeMetricStore, PROBE_ID_ATTRIBUTE } from './probe-metrics';
import { SelfMetrics } from './self-metrics';
import { FailureLog } from './failure-log';
import { MetricExportQueue } from './metric-queue';
import { BatchLogProcessor } from './log-processor';
import { EventLogRecord } from './log-record';
import { settledBy } from './deadline';
import { exporterKinds } from './exporters/registry';

export { otlpUrl } from './exporters/otlp-http';

/** Share of the shutdown time given to log records; the rest is for the last metrics, which count what logs lost. */
const LOGS_SHARE_OF_SHUTDOWN = 2 / 3;

/** What one exporter serves: the probes of each signal, and whether it is in a metrics pipeline at all (self metrics). */
export interface ExporterRoute {
  metrics: Set<string>;
  logs: Set<string>;
  /** In a metrics pipeline, even one with no probes: it exports the collector's own metrics. */
  exportsMetrics: boolean;
}

/** Which probes each exporter serves, per signal, from service.pipelines. */
export function routes(config: CollectorConfig): Map<string, ExporterRoute> {
  const out = new Map<string, ExporterRoute>();
  for (const pipeline of Object.values(config.service.pipelines)) {
    for (const exporter of pipeline.exporters) {
      const route = out.get(exporter) ?? { metrics: new Set<string>(), logs: new Set<string>(), exportsMetrics: false };
      for (const probe of pipeline.probes) route[pipeline.signal].add(probe);
      if (pipeline.signal === 'metrics') route.exportsMetrics = true;
      out.set(exporter, route);
    }
  }
  return out;
}

interface Exporters {
  readers: MetricReader[];
  metricQueues: MetricExportQueue[];
  logQueues: BatchLogProcessor[];
  description: string[];
}

export class Telemetry {
  /** One line per exporter: what it sends where. */
  readonly description: readonly string[];
  private readonly meterProvider: MeterProvider;
  /** Per probe id, the log queues of the exporters its log records go to. */
  private readonly logRoutes = new Map<string, BatchLogProcessor[]>();
  private stopped = false;

  private constructor(readonly probeMetrics: ProbeMetricStore, readonly self: SelfMetrics, private readonly exporters: Exporters, private readonly resource: Resource) {
    this.description = exporters.description;
    this.meterProvider = new MeterProvider({ resource, readers: exporters.readers });
    self.bind(this.meterProvider.getMeter('netprobe.self', VERSION));
    for (const queue of exporters.logQueues) {
      for (const probe of queue.probeIds) this.logRoutes.set(probe, [...(this.logRoutes.get(probe) ?? []), queue]);
    }
  }

  /**
   * Starts every exporter that is in a pipeline. A port already in use fails here, before any probe attaches.
   * `store`: on a reload, the probes' series of the exporters this one replaces (their start times go on).
   */
  static async start(config: CollectorConfig, resource: Resource, log: Logger, env: Env = process.env, store = new ProbeMetricStore(resource)): Promise<Telemetry> {
    const self = new SelfMetrics();
    const exporters: Exporters = { readers: [], metricQueues: [], logQueues: [], description: [] };
    const interval = config.service.intervalMs;
    for (const [id, route] of routes(config)) {
      const kind = exporterKinds.get(componentType(id));
      if (!kind) throw new Error(`exporter ${id}: no exporter kind ${componentType(id)}`);
      const ctx = { id, config: config.exporters[id], env, shared: {} }; // one `shared` per exporter, for both signals
      const failures = new FailureLog(log.child('exporter'), id, interval);
      if (route.exportsMetrics) {
        const producers = [store.producer(route.metrics)];
        if (kind.pullMetrics) {
          const { reader, target } = await kind.pullMetrics(ctx, producers);
          exporters.readers.push(reader);
          exporters.description.push(`${id}: metrics ${target}`);
        } else if (kind.pushMetrics) {
          const { exporter, target, timeoutMs } = kind.pushMetrics(ctx);
          const queue = new MetricExportQueue(exporter, id, timeoutMs, self, failures, producers);
          exporters.readers.push(queue);
          exporters.metricQueues.push(queue);
          exporters.description.push(`${id}: metrics to ${target}`);
        }
      }
      if (route.logs.size > 0 && kind.logs) {
        const { exporter, target, timeoutMs, maxQueueSize } = kind.logs(ctx);
        exporters.logQueues.push(new BatchLogProcessor(exporter, {
          exporterId: id, probeIds: route.logs, maxQueueSize, delayMs: Math.min(interval, 1000), timeoutMs,
        }, self, failures, log.child('exporter')));
        exporters.description.push(`${id}: logs to ${target}`);
      }
    }
    return new Telemetry(store, self, exporters, resource);
  }

  emitEvent(probeId: string, eventName: string, attributes: Attributes, body?: string): void {
    if (this.stopped) return;
    const queues = this.logRoutes.get(probeId);
    if (!queues) return;
    const record = new EventLogRecord(this.resource, eventName, attributes, body, PROBE_ID_ATTRIBUTE, probeId);
    for (const queue of queues) queue.offer(record);
  }

  /** After a collection: every push exporter takes a snapshot into its own queue. Waits for no backend. */
  async offerMetrics(): Promise<void> {
    await Promise.all(this.exporters.metricQueues.map((q) => q.enqueueSnapshot()));
  }

  /**
   * Shutdown by `deadlineAt`, each exporter on its own: first the log records (what
   * cannot be sent is counted and logged by kind), then a last metrics snapshot, which
   * carries those counts. A backend that does not answer costs at most the deadline.
   * Safe to call twice.
   */
  async shutdown(deadlineAt: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const logsBy = Date.now() + Math.max(0, deadlineAt - Date.now()) * LOGS_SHARE_OF_SHUTDOWN;
    await Promise.all(this.exporters.logQueues.map((q) => q.close(logsBy)));
    await Promise.all(this.exporters.metricQueues.map((q) => q.drain(deadlineAt)));
    // The SDK's own shutdown waits for requests in flight; a dead backend must not hold the exit.
    await settledBy(Promise.all([...this.exporters.logQueues.map((q) => q.shutdown()), this.meterProvider.shutdown()]), deadlineAt);
  }
}
