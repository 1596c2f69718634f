/**
 * The OpenTelemetry side of the collector: one MeterProvider and one LoggerProvider
 * for the whole process, and one reader or log processor per configured exporter,
 * each serving only the probes that the pipelines route to it.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';
import { MeterProvider, type MetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { LoggerProvider, type LogRecordExporter, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { componentType, type CollectorConfig, type DebugConfig, type OtlpConfig, type PrometheusConfig } from '../config/load';
import type { Env } from '../config/env';
import type { Logger } from '../log';
import type { Attributes } from '../plugin/types';
import { NetprobeError } from '../errors';
import { VERSION } from '../version';
import { ProbeMetricStore, PROBE_ID_ATTRIBUTE } from './probe-metrics';
import { SelfMetrics } from './self-metrics';
import { FailureLog } from './failure-log';
import { PushReader } from './push-reader';
import { BoundedLogProcessor } from './log-processor';
import { DebugLogExporter, DebugMetricExporter, debugSummarizer } from './debug-exporter';
import type { NetworkSummarizer } from '../summary/network-summary';
import { otlpLogExporter, otlpMetricExporter, type OtlpExporterType } from './otlp';

/** Which probes each exporter serves, per signal, from service.pipelines. */
export function routes(config: CollectorConfig): Map<string, { metrics: Set<string>; logs: Set<string> }> {
  const out = new Map<string, { metrics: Set<string>; logs: Set<string> }>();
  for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
    const signal = name.startsWith('logs') ? 'logs' : 'metrics';
    for (const exporter of pipeline.exporters) {
      const route = out.get(exporter) ?? { metrics: new Set<string>(), logs: new Set<string>() };
      for (const probe of pipeline.probes) route[signal].add(probe);
      if (signal === 'metrics') route.metrics.add(''); // marks "in a metrics pipeline" even with no probes
      out.set(exporter, route);
    }
  }
  return out;
}

export class Telemetry {
  readonly probeMetrics: ProbeMetricStore;
  readonly self = new SelfMetrics();
  /** One line per exporter: what it sends where. */
  readonly description: string[] = [];
  private readonly pushReaders: PushReader[] = [];
  private readonly meterProvider: MeterProvider;
  private readonly loggerProvider: LoggerProvider | undefined;
  private readonly logger;
  private stopped = false;

  private constructor(readers: MetricReader[], pushReaders: PushReader[], logProcessors: LogRecordProcessor[], store: ProbeMetricStore, self: SelfMetrics, resource: Resource, description: string[]) {
    this.probeMetrics = store;
    this.self = self;
    this.pushReaders = pushReaders;
    this.description = description;
    this.meterProvider = new MeterProvider({ resource, readers });
    self.bind(this.meterProvider.getMeter('netprobe.self', VERSION));
    this.loggerProvider = logProcessors.length ? new LoggerProvider({ resource, processors: logProcessors }) : undefined;
    this.logger = this.loggerProvider?.getLogger('netprobe', VERSION);
  }

  /** Starts every exporter that is in a pipeline. A port already in use fails here, before any probe attaches. */
  /** `store`: the probes' series of the exporters this one replaces on a reload (their start times go on). */
  static async start(config: CollectorConfig, resource: Resource, log: Logger, env: Env = process.env, store = new ProbeMetricStore(resource)): Promise<Telemetry> {
    const self = new SelfMetrics();
    const readers: MetricReader[] = [];
    const pushReaders: PushReader[] = [];
    const processors: LogRecordProcessor[] = [];
    const description: string[] = [];
    const interval = config.service.intervalMs;
    const summaries = new Map<string, NetworkSummarizer>(); // a debug exporter's metrics and logs make one summary
    for (const [id, route] of routes(config)) {
      if (componentType(id) === 'debug') summaries.set(id, debugSummarizer());
      const type = componentType(id);
      const exporterConfig = config.exporters[id]!;
      const failures = new FailureLog(log.child('exporter'), id, interval);
      if (route.metrics.size > 0) {
        const producers = [store.producer(route.metrics)];
        if (type === 'prometheus') {
          const c = exporterConfig as PrometheusConfig;
          readers.push(await startPrometheus(id, c, producers));
          description.push(`${id}: metrics served at http://${c.host}:${c.port}/metrics`);
        } else {
          const { exporter, target } = metricExporter(id, type, exporterConfig, env, summaries.get(id));
          const reader = new PushReader(exporter, id, self, failures, producers);
          readers.push(reader);
          pushReaders.push(reader);
          description.push(`${id}: metrics to ${target}`);
        }
      }
      if (route.logs.size > 0) {
        const { exporter, target } = logExporter(id, type, exporterConfig, env, summaries.get(id));
        const maxQueue = type === 'otlp' || type === 'otlp_http' ? (exporterConfig as OtlpConfig).max_queue_size : 2048;
        processors.push(new BoundedLogProcessor(exporter, id, route.logs, maxQueue, Math.min(interval, 1000), self, failures));
        description.push(`${id}: logs to ${target}`);
      }
    }
    return new Telemetry(readers, pushReaders, processors, store, self, resource, description);
  }

  emitEvent(probeId: string, eventName: string, attributes: Attributes, body?: string): void {
    if (this.stopped) return;
    this.logger?.emit({
      eventName,
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      attributes: { ...attributes, [PROBE_ID_ATTRIBUTE]: probeId },
      body,
    });
  }

  /** Exports the current metrics through every push exporter; resolves when all answered. */
  async exportMetrics(): Promise<void> {
    await Promise.all(this.pushReaders.map((r) => r.exportNow()));
  }

  /** Last export, then shuts every exporter down. Safe to call twice. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.loggerProvider?.shutdown();
    await this.meterProvider.shutdown();
  }
}

function metricExporter(id: string, type: string, config: unknown, env: Env, summary?: NetworkSummarizer): { exporter: PushMetricExporter; target: string } {
  if (type === 'debug') return { exporter: new DebugMetricExporter(id, config as DebugConfig, undefined, summary), target: 'stdout' };
  return otlpMetricExporter(type as OtlpExporterType, config as OtlpConfig, env);
}

function logExporter(id: string, type: string, config: unknown, env: Env, summary?: NetworkSummarizer): { exporter: LogRecordExporter; target: string } {
  if (type === 'debug') return { exporter: new DebugLogExporter(id, config as DebugConfig, undefined, summary), target: 'stdout' };
  return otlpLogExporter(type as OtlpExporterType, config as OtlpConfig, env);
}

function startPrometheus(id: string, c: PrometheusConfig, metricProducers: ReturnType<ProbeMetricStore['producer']>[]): Promise<MetricReader> {
  return new Promise((resolve, reject) => {
    const exporter: PrometheusExporter = new PrometheusExporter({ host: c.host, port: c.port, metricProducers }, (err) => {
      if (err) {
        reject(new NetprobeError('NETPROBE_ERR_CONFIG', `exporters::${id}: cannot listen on ${c.host}:${c.port}: ${err.message}`));
      } else resolve(exporter);
    });
  });
}
