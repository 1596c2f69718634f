/**
 * The `debug` exporter: a human-readable view on stdout, like the OpenTelemetry
 * Collector's. basic: a short summary of the network per interval (interface
 * rates, top flows, a DNS and a TCP line, from the metrics and the log records);
 * normal: one line per data point or log record; detailed: also histogram
 * buckets and resource attributes.
 */
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import { DataPointType, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { DebugConfig } from '../config/load';
import type { Attributes, HistogramValue } from '../plugin/types';
import { NetworkSummarizer, type SummaryPoint } from '../summary/network-summary';
import { summaryText } from '../summary/text';
import { countDataPoints } from './push-reader';
import { PROBE_ID_ATTRIBUTE } from './probe-metrics';

type Write = (line: string) => void;
const stdout: Write = (line) => process.stdout.write(line + '\n');

function attrs(a: Record<string, unknown>): string {
  const parts = Object.entries(a).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? `{${parts.join(', ')}}` : '';
}

/** An export's data points by probe, as the summary reads them. */
export function summaryPoints(metrics: ResourceMetrics): Array<{ probeId: string; points: SummaryPoint[] }> {
  const byProbe = new Map<string, SummaryPoint[]>();
  for (const scope of metrics.scopeMetrics) {
    for (const m of scope.metrics) {
      for (const p of m.dataPoints) {
        const probeId = String(p.attributes[PROBE_ID_ATTRIBUTE] ?? '');
        let value: number | HistogramValue;
        if (m.dataPointType === DataPointType.HISTOGRAM) {
          const h = p.value as { count: number; sum?: number; buckets: { boundaries: number[]; counts: number[] } };
          value = { boundaries: h.buckets.boundaries, counts: h.buckets.counts, sum: h.sum ?? 0, count: h.count };
        } else value = p.value as number;
        const list = byProbe.get(probeId) ?? [];
        list.push({ metric: m.descriptor.name, attributes: p.attributes as Attributes, value });
        byProbe.set(probeId, list);
      }
    }
  }
  return [...byProbe].map(([probeId, points]) => ({ probeId, points }));
}

/** One per debug exporter: its metric and log halves feed the same summary. */
export function debugSummarizer(): NetworkSummarizer {
  const summarizer = new NetworkSummarizer();
  summarizer.update([]); // counters start at 0 now: the first export already has rates
  return summarizer;
}

export class DebugMetricExporter implements PushMetricExporter {
  constructor(
    private readonly id: string,
    private readonly config: DebugConfig,
    private readonly write: Write = stdout,
    private readonly summarizer: NetworkSummarizer = debugSummarizer(),
  ) {}

  export(metrics: ResourceMetrics, done: (r: ExportResult) => void): void {
    if (this.config.verbosity === 'basic') {
      const summary = this.summarizer.update(summaryPoints(metrics));
      if (summary) for (const line of summaryText(summary)) this.write(`${this.id}: ${line}`);
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    const count = metrics.scopeMetrics.reduce((n, s) => n + s.metrics.length, 0);
    this.write(`${this.id}: metrics: ${count} metrics, ${countDataPoints(metrics)} data points`);
    if (this.config.verbosity === 'detailed') this.write(`  resource ${attrs(metrics.resource.attributes)}`);
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
    done({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

export class DebugLogExporter implements LogRecordExporter {
  constructor(
    private readonly id: string,
    private readonly config: DebugConfig,
    private readonly write: Write = stdout,
    private readonly summarizer: NetworkSummarizer = debugSummarizer(),
  ) {}

  export(records: ReadableLogRecord[], done: (r: ExportResult) => void): void {
    if (this.config.verbosity === 'basic') {
      // DNS names and retransmitting peers go into the metrics' summary.
      for (const r of records) if (r.eventName) this.summarizer.event(r.eventName, r.attributes as Attributes);
    } else {
      this.write(`${this.id}: logs: ${records.length} log records`);
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
