/**
 * One exporter's log records, exported in batches as they come, like the SDK's
 * BatchLogRecordProcessor: a full batch goes at once, with at most two batches on
 * the way, the next as soon as one was answered; a partial batch waits at most `delayMs`. The queue
 * is bounded: when the backend is slow or down and it is full, new records are
 * dropped and counted by event name (netprobe.exporter.enqueue_failed). Every export
 * has the exporter's deadline. At shutdown, what can be sent before the deadline is
 * sent, and the rest is counted and logged by event name.
 * Only records from the probes routed to this exporter are taken.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { Logger } from '../log';
import type { SelfMetrics } from './self-metrics';
import type { FailureLog } from './failure-log';
import { PROBE_ID_ATTRIBUTE } from './probe-metrics';
import { errorType, exportWithin, settledBy } from './deadline';

export const MAX_BATCH = 512;
/** Two batches on the way at once: one is written or answered while the next is sent, so neither the network round trip nor the backend's time leaves the queue idle. */
export const MAX_IN_FLIGHT = 2;

export interface LogQueueOptions {
  exporterId: string;
  probeIds: ReadonlySet<string>;
  maxQueueSize: number;
  /** Longest a record waits for its batch to fill. */
  delayMs: number;
  /** Deadline for one export, connecting and retries included. */
  timeoutMs: number;
}

/** `{ 'netprobe.flow.end': 3 }`: how many records of each event name. */
export function countByEvent(records: readonly ReadableLogRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    const name = r.eventName ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** An exporter that turns a record into a compact form of its own as it is queued (otlp-logs-protobuf.ts). */
export interface PackingExporter extends LogRecordExporter {
  pack(record: ReadableLogRecord): ReadableLogRecord;
}

export class BatchLogProcessor implements LogRecordProcessor {
  private readonly pack: ((record: ReadableLogRecord) => ReadableLogRecord) | undefined;
  private queue: ReadableLogRecord[] = [];
  /** Batches sent and not yet answered, at most MAX_IN_FLIGHT, with the promise of each. */
  private readonly inFlight = new Map<ReadableLogRecord[], Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Batches still in flight at the shutdown deadline: already counted as lost, so their late answers are not counted again. */
  private readonly abandoned = new Set<ReadableLogRecord[]>();

  constructor(
    private readonly exporter: LogRecordExporter,
    private readonly options: LogQueueOptions,
    private readonly self: SelfMetrics,
    private readonly failures: FailureLog,
    private readonly log: Logger,
  ) {
    self.watchQueue(options.exporterId, 'logs', () => this.queue.length);
    const packing = exporter as Partial<PackingExporter>;
    this.pack = packing.pack?.bind(exporter);
  }

  /** The probes whose log records this exporter takes. */
  get probeIds(): ReadonlySet<string> {
    return this.options.probeIds;
  }

  /** From an SDK LoggerProvider: only records of this exporter's probes are taken. */
  onEmit(record: SdkLogRecord): void {
    if (this.options.probeIds.has(String(record.attributes[PROBE_ID_ATTRIBUTE]))) this.offer(record);
  }

  /** A record of one of this exporter's probes (Telemetry routes them); dropped and counted when the queue is full. */
  offer(record: ReadableLogRecord): void {
    if (this.closed) return;
    if (this.queue.length >= this.options.maxQueueSize) {
      this.self.recordDropped(this.options.exporterId, 'logs', 1, record.eventName);
      return;
    }
    this.queue.push(this.pack ? this.pack(record) : record);
    if (this.queue.length >= MAX_BATCH) this.exportNext();
    else this.timer ??= setTimeout(() => this.exportNext(), this.options.delayMs).unref();
  }

  /**
   * Starts the next batch (a partial one too: the timer or shutdown called) and then
   * further full ones, up to MAX_IN_FLIGHT; chains itself while records wait.
   */
  private exportNext(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let partialAllowed = true;
    while (this.inFlight.size < MAX_IN_FLIGHT && this.queue.length > 0 && (partialAllowed || this.queue.length >= MAX_BATCH || this.closed)) {
      partialAllowed = false;
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight.set(batch, this.send(batch).finally(() => {
        this.inFlight.delete(batch);
        if (this.queue.length >= MAX_BATCH || (this.closed && this.queue.length > 0)) this.exportNext();
        else if (this.queue.length > 0) this.timer ??= setTimeout(() => this.exportNext(), this.options.delayMs).unref();
      }));
    }
  }

  private async send(batch: ReadableLogRecord[]): Promise<void> {
    const { exporterId, timeoutMs } = this.options;
    const started = process.hrtime.bigint();
    const result = await exportWithin(timeoutMs, (done) => this.exporter.export(batch, done));
    if (this.abandoned.has(batch)) return;
    this.self.recordExport(exporterId, 'logs', Number(process.hrtime.bigint() - started) / 1e9);
    if (result.code === ExportResultCode.SUCCESS) {
      this.self.recordSent(exporterId, 'logs', batch.length);
    } else {
      this.self.recordFailed(exporterId, 'logs', batch.length, errorType(result.error));
      this.failures.failed('logs', batch.length, result.error);
    }
  }

  /** Sends every waiting batch until `deadlineAt`; true if nothing is left. */
  async flushUntil(deadlineAt: number): Promise<boolean> {
    for (;;) {
      if (this.inFlight.size < MAX_IN_FLIGHT) this.exportNext();
      if (this.inFlight.size === 0) return true;
      if (!(await settledBy(Promise.race(this.inFlight.values()), deadlineAt))) return false;
    }
  }

  /**
   * Shutdown: takes no new records, sends what it can until `deadlineAt`, then counts
   * and logs what is left (waiting, or sent without an answer) by event name.
   */
  async close(deadlineAt: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushUntil(deadlineAt);
    for (const batch of this.inFlight.keys()) this.abandoned.add(batch);
    const lost = [...[...this.abandoned].flat(), ...this.queue];
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    if (lost.length === 0) return;
    const byEvent = countByEvent(lost);
    for (const [name, n] of byEvent) this.self.recordDropped(this.options.exporterId, 'logs', n, name);
    this.log.warn('log records not delivered before the shutdown deadline', {
      exporter: this.options.exporterId, records: lost.length,
      ...Object.fromEntries([...byEvent].map(([name, n]) => [name || '(no event name)', n])),
    });
  }

  async forceFlush(): Promise<void> {
    await this.flushUntil(Date.now() + this.options.timeoutMs);
  }

  async shutdown(): Promise<void> {
    await this.close(Date.now() + this.options.timeoutMs);
    await this.exporter.shutdown();
  }
}
