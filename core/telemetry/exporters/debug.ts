/** `debug`: a human-readable view on stdout (see ../debug-exporter). */
import type { DebugConfig } from '../../config/load';
import { DebugLogExporter, DebugMetricExporter, debugSummarizer } from '../debug-exporter';
import type { NetworkSummarizer } from '../../summary/network-summary';
import type { ExporterContext, ExporterKind } from './kind';

/** stdout never hangs for long; the bound only keeps the contract every push exporter has. */
const TIMEOUT_MS = 10_000;
/** As otlp_http's default max_queue_size: one interval's burst of flow ends fits. */
const MAX_QUEUE_SIZE = 32768;

/** A debug exporter's metrics and logs feed one network summary. */
function summaryOf(ctx: ExporterContext): NetworkSummarizer {
  return (ctx.shared.summary ??= debugSummarizer()) as NetworkSummarizer;
}

export const debugKind: ExporterKind = {
  type: 'debug',
  pushMetrics: (ctx) => ({
    exporter: new DebugMetricExporter(ctx.id, ctx.config as DebugConfig, undefined, summaryOf(ctx)), target: 'stdout', timeoutMs: TIMEOUT_MS,
  }),
  logs: (ctx) => ({
    exporter: new DebugLogExporter(ctx.id, ctx.config as DebugConfig, undefined, summaryOf(ctx)), target: 'stdout', timeoutMs: TIMEOUT_MS, maxQueueSize: MAX_QUEUE_SIZE,
  }),
};
