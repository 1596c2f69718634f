/**
 * What an exporter kind provides. A new kind (say OTLP/gRPC) is one file that
 * exports an ExporterKind, plus its line in ./registry and its schema under
 * `exporters` in schemas/collector.schema.json. Core wraps every push exporter in
 * its own bounded queue with a deadline, so a kind only says how to send.
 */
import type { MetricProducer, MetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { Env } from '../../config/env';

export interface ExporterContext {
  /** The component id, e.g. `otlp_http/vm`. */
  id: string;
  /** This exporter's validated config (the kind's own shape). */
  config: unknown;
  env: Env;
  /** State an exporter's signals share (the debug exporter's one summary of metrics and logs). */
  shared: Record<string, unknown>;
}

export interface PushTarget<E> {
  exporter: E;
  /** Where it sends, for the startup banner: `http://vm:8428/v1/metrics (http/protobuf)`. */
  target: string;
  /** Deadline for one export, retries and connecting included. */
  timeoutMs: number;
}

export interface ExporterKind {
  type: string;
  /** A kind the backend pulls from (Prometheus): it serves the producers' metrics itself. */
  pullMetrics?(ctx: ExporterContext, producers: MetricProducer[]): Promise<{ reader: MetricReader; target: string }>;
  pushMetrics?(ctx: ExporterContext): PushTarget<PushMetricExporter>;
  /** Log records; `maxQueueSize` bounds the records waiting for this exporter. */
  logs?(ctx: ExporterContext): PushTarget<LogRecordExporter> & { maxQueueSize: number };
}
