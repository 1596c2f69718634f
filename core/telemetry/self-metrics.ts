/**
 * The collector's metrics about itself (netprobe.exporter.*): what each exporter
 * sent, failed to send, and dropped because its queue was full. Nothing is lost
 * silently: every drop is counted here and exported like any other metric.
 */
import type { Meter, Counter } from '@opentelemetry/api';

export type Signal = 'metrics' | 'logs';

export class SelfMetrics {
  private sent?: Counter;
  private failed?: Counter;
  private dropped?: Counter;
  private readonly queues = new Map<string, () => number>();

  /** Instruments exist once the meter provider does; counts before that are not possible. */
  bind(meter: Meter): void {
    this.sent = meter.createCounter('netprobe.exporter.sent', {
      description: 'Items (metric data points, log records) the backend accepted.', unit: '{item}',
    });
    this.failed = meter.createCounter('netprobe.exporter.send_failed', {
      description: 'Items an export attempt failed to deliver after its retries.', unit: '{item}',
    });
    this.dropped = meter.createCounter('netprobe.exporter.enqueue_failed', {
      description: 'Log records dropped because the export queue was full.', unit: '{item}',
    });
    meter.createObservableGauge('netprobe.exporter.queue.size', {
      description: 'Log records waiting to be exported.', unit: '{item}',
    }).addCallback((result) => {
      for (const [exporter, size] of this.queues) result.observe(size(), { exporter, signal: 'logs' });
    });
  }

  recordSent(exporter: string, signal: Signal, items: number): void {
    if (items > 0) this.sent?.add(items, { exporter, signal });
  }

  recordFailed(exporter: string, signal: Signal, items: number): void {
    if (items > 0) this.failed?.add(items, { exporter, signal });
  }

  recordDropped(exporter: string, items: number): void {
    if (items > 0) this.dropped?.add(items, { exporter, signal: 'logs' });
  }

  watchQueue(exporter: string, size: () => number): void {
    this.queues.set(exporter, size);
  }
}
