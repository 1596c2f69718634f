/**
 * One push exporter's metrics path. After every collection the service hands each
 * exporter a snapshot of the metrics (taken at once, so collection never waits for
 * a backend); snapshots wait in a small bounded queue and are exported one at a
 * time, each export bounded by the exporter's deadline (connecting included).
 * When a backend falls behind, the oldest snapshot is dropped and its data points
 * counted: values are cumulative, so the newer snapshot carries the totals.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { MetricReader, type MetricProducer, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { SelfMetrics } from './self-metrics';
import type { FailureLog } from './failure-log';
import { errorType, exportWithin, settledBy } from './deadline';

/** Snapshots an exporter may hold while its backend is slow: enough to ride out a hiccup, small enough to bound memory. */
export const METRIC_QUEUE_SNAPSHOTS = 3;

export function countDataPoints(metrics: ResourceMetrics): number {
  let n = 0;
  for (const scope of metrics.scopeMetrics) for (const m of scope.metrics) n += m.dataPoints.length;
  return n;
}

interface Snapshot { metrics: ResourceMetrics; points: number }

export class MetricExportQueue extends MetricReader {
  private readonly queue: Snapshot[] = [];
  private exporting: Promise<void> | undefined;

  constructor(
    private readonly exporter: PushMetricExporter,
    private readonly exporterId: string,
    private readonly timeoutMs: number,
    private readonly self: SelfMetrics,
    private readonly failures: FailureLog,
    metricProducers: MetricProducer[],
    private readonly maxSnapshots = METRIC_QUEUE_SNAPSHOTS,
  ) {
    super({ aggregationTemporalitySelector: exporter.selectAggregationTemporality?.bind(exporter), metricProducers });
    self.watchQueue(exporterId, 'metrics', () => this.queue.reduce((n, s) => n + s.points, 0));
  }

  /** Takes a snapshot now and queues it for export. Resolves once queued, never waits for the backend. */
  async enqueueSnapshot(): Promise<void> {
    let metrics: ResourceMetrics;
    try {
      metrics = (await this.collect()).resourceMetrics;
    } catch (err) {
      this.failures.failed('metrics', 0, err);
      return;
    }
    const points = countDataPoints(metrics);
    if (points === 0) return;
    this.queue.push({ metrics, points });
    while (this.queue.length > this.maxSnapshots) this.self.recordDropped(this.exporterId, 'metrics', this.queue.shift()!.points);
    this.pump();
  }

  /** True while snapshots wait or one is being exported. */
  get busy(): boolean {
    return this.exporting !== undefined || this.queue.length > 0;
  }

  private pump(): void {
    if (this.exporting || this.queue.length === 0) return;
    const next = this.queue.shift()!;
    this.exporting = this.send(next).finally(() => {
      this.exporting = undefined;
      this.pump();
    });
  }

  private async send({ metrics, points }: Snapshot): Promise<void> {
    const started = process.hrtime.bigint();
    const result = await exportWithin(this.timeoutMs, (done) => this.exporter.export(metrics, done));
    this.self.recordExport(this.exporterId, 'metrics', Number(process.hrtime.bigint() - started) / 1e9);
    if (result.code === ExportResultCode.SUCCESS) {
      this.self.recordSent(this.exporterId, 'metrics', points);
    } else {
      this.self.recordFailed(this.exporterId, 'metrics', points, errorType(result.error));
      this.failures.failed('metrics', points, result.error);
    }
  }

  /** Queues a last snapshot and exports what waits, until `deadlineAt`; true if all was sent. */
  async drain(deadlineAt: number): Promise<boolean> {
    await this.enqueueSnapshot();
    while (this.exporting && Date.now() < deadlineAt) await settledBy(this.exporting, deadlineAt);
    return !this.busy;
  }

  protected override async onForceFlush(): Promise<void> {
    await this.drain(Date.now() + this.timeoutMs);
  }

  protected override async onShutdown(): Promise<void> {
    await this.exporter.shutdown();
  }
}
