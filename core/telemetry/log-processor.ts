/**
 * A log record processor with a bounded queue: records wait here while the
 * backend is slow or down, and when the queue is full new records are dropped
 * and counted (netprobe.exporter.enqueue_failed), so memory stays bounded.
 * Only records from the probes routed to this exporter are taken.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { SelfMetrics } from './self-metrics';
import type { FailureLog } from './failure-log';
import { PROBE_ID_ATTRIBUTE } from './probe-metrics';

const MAX_BATCH = 512;

export class BoundedLogProcessor implements LogRecordProcessor {
  private queue: ReadableLogRecord[] = [];
  private exporting: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly exporter: LogRecordExporter,
    private readonly exporterId: string,
    private readonly probeIds: ReadonlySet<string>,
    private readonly maxQueueSize: number,
    flushIntervalMs: number,
    private readonly self: SelfMetrics,
    private readonly failures: FailureLog,
  ) {
    self.watchQueue(exporterId, () => this.queue.length);
    this.timer = setInterval(() => void this.exportBatch(), flushIntervalMs);
    this.timer.unref();
  }

  onEmit(record: SdkLogRecord): void {
    if (this.stopped || !this.probeIds.has(String(record.attributes[PROBE_ID_ATTRIBUTE]))) return;
    if (this.queue.length >= this.maxQueueSize) {
      this.self.recordDropped(this.exporterId, 1);
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= MAX_BATCH) void this.exportBatch();
  }

  /** Exports one batch; at most one export runs at a time. Never rejects. */
  private exportBatch(): Promise<void> {
    if (this.exporting || this.queue.length === 0) return this.exporting ?? Promise.resolve();
    const batch = this.queue.splice(0, MAX_BATCH);
    this.exporting = new Promise<void>((resolve) => {
      const done = (ok: boolean, error?: unknown) => {
        if (ok) this.self.recordSent(this.exporterId, 'logs', batch.length);
        else {
          this.self.recordFailed(this.exporterId, 'logs', batch.length);
          this.failures.failed('logs', batch.length, error);
        }
        resolve();
      };
      try {
        this.exporter.export(batch, (r) => done(r.code === ExportResultCode.SUCCESS, r.error));
      } catch (err) {
        done(false, err);
      }
    }).finally(() => {
      this.exporting = undefined;
    });
    return this.exporting;
  }

  async forceFlush(): Promise<void> {
    // Bounded: each pass either empties a batch or the backend failed it.
    for (let guard = 0; guard < 1000 && (this.queue.length > 0 || this.exporting); guard++) {
      await (this.exporting ?? this.exportBatch());
    }
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    await this.forceFlush();
    this.stopped = true;
    clearInterval(this.timer);
    await this.exporter.shutdown();
  }
}
