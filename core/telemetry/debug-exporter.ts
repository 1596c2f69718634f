/**
 * The `debug` exporter: a human-readable view on stdout, like the OpenTelemetry
 * Collector's. basic: one summary line per export; normal: one line per data
 * point or log record; detailed: also histogram buckets and resource attributes.
 */
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import { DataPointType, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { DebugConfig } from '../config/load';
import { countDataPoints } from './metric-queue';

type Write = (line: string) => void;
const stdout: Write = (line) => process.stdout.write(line + '\n');

function attrs(a: Record<string, unknown>): string {
  const parts = Object.entries(a).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? `{${parts.join(', ')}}` : '';
}

export class DebugMetricExporter implements PushMetricExporter {
  constructor(private readonly id: string, private readonly config: DebugConfig, private readonly write: Write = stdout) {}

  export(metrics: ResourceMetrics, done: (r: ExportResult) => void): void {
    const count = metrics.scopeMetrics.reduce((n, s) => n + s.metrics.length, 0);
    this.write(`${this.id}: metrics: ${count} metrics, ${countDataPoints(metrics)} data points`);
    if (this.config.verbosity === 'detailed') this.write(`  resource ${attrs(metrics.resource.attributes)}`);
    if (this.config.verbosity !== 'basic') {
      for (const scope of metrics.scopeMetrics) {
        for (const m of scope.metrics) {
          for (const p of m.dataPoints) {
            const unit = m.descriptor.unit ? ` ${m.descriptor.unit}` : '';
            if (m.dataPointType === DataPointType.HISTOGRAM) {
              const h = p.value as { count: number; sum?: number; buckets: { boundaries: number[]; counts: number[] } };
              const buckets = this.config.verbosity === 'detailed' ? ` buckets=${h.buckets.boundaries.map((b, i) => `<=${b}:${h.buckets.counts[i]}`).join(' ')} >:${h.buckets.counts.at(-1)}` : '';
              this.write(`  ${m.descriptor.name}${attrs(p.attributes)} count=${h.count} sum=${h.sum ?? 0}${unit}${buckets}`);
            } else {
              this.write(`  ${m.descriptor.name}${attrs(p.attributes)} ${String(p.value)}${unit}`);
            }
          }
        }
      }
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

export class DebugLogExporter implements LogRecordExporter {
  constructor(private readonly id: string, private readonly config: DebugConfig, private readonly write: Write = stdout) {}

  export(records: ReadableLogRecord[], done: (r: ExportResult) => void): void {
    this.write(`${this.id}: logs: ${records.length} log records`);
    if (this.config.verbosity !== 'basic') {
      for (const r of records) {
        const time = new Date(hrTimeToMilliseconds(r.hrTime)).toISOString();
        this.write(`  ${time} ${r.eventName ?? ''} ${attrs(r.attributes)}${r.body !== undefined ? ` ${String(r.body)}` : ''}`);
      }
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
