/** `debug`: a human-readable view on stdout (see ../debug-exporter). */
import type { DebugConfig } from '../../config/load';
import { DebugLogExporter, DebugMetricExporter } from '../debug-exporter';
import type { ExporterKind } from './kind';

/** stdout never hangs for long; the bound only keeps the contract every push exporter has. */
const TIMEOUT_MS = 10_000;
/** As otlp_http's default max_queue_size: one interval's burst of flow ends fits. */
const MAX_QUEUE_SIZE = 32768;

export const debugKind: ExporterKind = {
  type: 'debug',
  pushMetrics: ({ id, config }) => ({ exporter: new DebugMetricExporter(id, config as DebugConfig), target: 'stdout', timeoutMs: TIMEOUT_MS }),
  logs: ({ id, config }) => ({ exporter: new DebugLogExporter(id, config as DebugConfig), target: 'stdout', timeoutMs: TIMEOUT_MS, maxQueueSize: MAX_QUEUE_SIZE }),
};
