/**
 * A metric reader that exports when the service says so (after the probes were
 * read), instead of on a timer of its own. At most one export is in flight:
 * while a slow or dead backend is being retried, later intervals are skipped
 * rather than queued, which loses nothing because every value is cumulative.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { MetricReader, type MetricProducer, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { SelfMetrics } from './self-metrics';
import type { FailureLog } from './failure-log';

export function countDataPoints(metrics: ResourceMetrics): number {
  let n = 0;
  for (const scope of metrics.scopeMetrics) for (const m of scope.metrics) n += m.dataPoints.length;
  return n;
}

export class PushReader extends MetricReader {
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly exporter: PushMetricExporter,
    private readonly exporterId: string,
    private readonly self: SelfMetrics,
    private readonly failures: FailureLog,
    metricProducers: MetricProducer[],
  ) {
    super({ aggregationTemporalitySelector: exporter.selectAggregationTemporality?.bind(exporter), metricProducers });
  }

  /** Collects and exports once; resolves when the backend answered (or gave up). Never rejects. */
  exportNow(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.collectAndExport().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async collectAndExport(): Promise<void> {
    let metrics: ResourceMetrics;
    try {
      metrics = (await this.collect()).resourceMetrics;
    } catch (err) {
      this.failures.failed('metrics', 0, err);
      return;
    }
    const points = countDataPoints(metrics);
    if (points === 0) return;
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      try {
        this.exporter.export(metrics, (result) => {
          this.self.recordExport(this.exporterId, 'metrics', Number(process.hrtime.bigint() - started) / 1e9);
          if (result.code === ExportResultCode.SUCCESS) this.self.recordSent(this.exporterId, 'metrics', points);
          else {
            this.self.recordFailed(this.exporterId, 'metrics', points);
            this.failures.failed('metrics', points, result.error);
          }
          resolve();
        });
      } catch (err) {
        this.self.recordFailed(this.exporterId, 'metrics', points);
        this.failures.failed('metrics', points, err);
        resolve();
      }
    });
  }

  protected override async onForceFlush(): Promise<void> {
    await this.exportNow();
    await this.exporter.forceFlush();
  }

  protected override async onShutdown(): Promise<void> {
    await this.exporter.shutdown();
  }
}
