/**
 * The collector's metrics about itself: what each exporter sent, failed to send
 * (by error.type), and dropped because its queue was full or shutdown came first
 * (nothing is lost silently: every drop is counted here and exported like any other
 * metric), how long collecting each probe and exporting take, and how many
 * collections were skipped because the previous one was still running.
 */
import type { Meter, Counter, Histogram, ObservableCounter } from '@opentelemetry/api';

/** Seconds, from half a millisecond up: collections and exports are short. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Signal = 'metrics' | 'logs';

/** One probe program's cumulative kernel cost. */
export interface KernelCost { probe: string; program: string; runCount: number; runTimeNs: number; recursionMisses: number }

export class SelfMetrics {
  private sent?: Counter;
  private failed?: Counter;
  private dropped?: Counter;
  private collectDuration?: Histogram;
  private exportDuration?: Histogram;
  private collectSkipped?: Counter;
  private readonly queues = new Map<string, { exporter: string; signal: Signal; size: () => number }>();
  private kernelCost: () => KernelCost[] = () => [];

  /** Instruments exist once the meter provider does; counts before that are not possible. */
  bind(meter: Meter): void {
    this.sent = meter.createCounter('netprobe.exporter.sent', {
      description: 'Items (metric data points, log records) the backend accepted.', unit: '{item}',
    });
    this.failed = meter.createCounter('netprobe.exporter.send_failed', {
      description: 'Items an export attempt failed to deliver after its retries, by error.type.', unit: '{item}',
    });
    this.dropped = meter.createCounter('netprobe.exporter.enqueue_failed', {
      description: 'Items dropped before an export: the queue was full, or shutdown came first.', unit: '{item}',
    });
    this.collectDuration = meter.createHistogram('netprobe.probe.collect.duration', {
      description: 'Time to read one probe\'s kernel state and report its metrics, per interval.', unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.exportDuration = meter.createHistogram('netprobe.exporter.export.duration', {
      description: 'Time from the start of an export to the backend\'s answer (retries included).', unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.bindKernelCost(meter);
    this.collectSkipped = meter.createCounter('netprobe.collection.skipped', {
      description: 'Intervals skipped because the previous collection was still running.', unit: '{collection}',
    });
    meter.createObservableGauge('netprobe.exporter.queue.size', {
      description: 'Items waiting to be exported (log records; data points of queued metric snapshots).', unit: '{item}',
    }).addCallback((result) => {
      for (const { exporter, signal, size } of this.queues.values()) result.observe(size(), { exporter, signal });
    });
  }

  /** Where each probe program's kernel cost is read, at each collection. */
  watchKernelCost(read: () => KernelCost[]): void {
    this.kernelCost = read;
  }

  private bindKernelCost(meter: Meter): void {
    const runs: ObservableCounter = meter.createObservableCounter('netprobe.probe.kernel.run.count', {
      description: 'Times a probe\'s BPF program ran, while BPF run-time statistics were on.', unit: '{run}',
    });
    const time: ObservableCounter = meter.createObservableCounter('netprobe.probe.kernel.run.time', {
      description: 'Kernel time a probe\'s BPF program took, while BPF run-time statistics were on.', unit: 's',
    });
    const missed: ObservableCounter = meter.createObservableCounter('netprobe.probe.kernel.run.missed', {
      description: 'Runs of a probe\'s BPF program the kernel skipped because it was already running on that CPU.', unit: '{run}',
    });
    meter.addBatchObservableCallback((result) => {
      for (const c of this.kernelCost()) {
        const attributes = { 'netprobe.probe.id': c.probe, 'netprobe.probe.program': c.program };
        result.observe(runs, c.runCount, attributes);
        result.observe(time, c.runTimeNs / 1e9, attributes);
        result.observe(missed, c.recursionMisses, attributes);
      }
    }, [runs, time, missed]);
  }

  recordSent(exporter: string, signal: Signal, items: number): void {
    if (items > 0) this.sent?.add(items, { exporter, signal });
  }

  recordFailed(exporter: string, signal: Signal, items: number, errorType: string): void {
    if (items > 0) this.failed?.add(items, { exporter, signal, 'error.type': errorType });
  }

  /** `eventName`: for log records, which kind was lost. */
  recordDropped(exporter: string, signal: Signal, items: number, eventName?: string): void {
    if (items > 0) this.dropped?.add(items, { exporter, signal, ...(eventName ? { 'netprobe.event.name': eventName } : {}) });
  }

  recordCollect(probe: string, seconds: number): void {
    this.collectDuration?.record(seconds, { 'netprobe.probe.id': probe });
  }

  recordCollectSkipped(): void {
    this.collectSkipped?.add(1);
  }

  recordExport(exporter: string, signal: Signal, seconds: number): void {
    this.exportDuration?.record(seconds, { exporter, signal });
  }

  watchQueue(exporter: string, signal: Signal, size: () => number): void {
    this.queues.set(`${exporter}\u0000${signal}`, { exporter, signal, size });
  }
}
