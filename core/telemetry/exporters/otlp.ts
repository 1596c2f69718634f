/**
 * `otlp`: OTLP over gRPC (port 4317), as the OpenTelemetry Collector names it, through the
 * official OpenTelemetry JS gRPC exporters. The protocol follows OTEL_EXPORTER_OTLP_PROTOCOL
 * like every OTLP exporter: told to speak HTTP, it is the `otlp_http` kind with `otlp`'s id.
 */
import { Metadata } from '@grpc/grpc-js';
import { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPLogExporter as OtlpGrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { OtlpConfig } from '../../config/load';
import type { Env } from '../../config/env';
import type { ExporterContext, ExporterKind } from './kind';
import { httpLogExporter, httpMetricExporter, otlpProtocol, otlpTimeoutMs, otlpUrl, type OtlpSignal } from './otlp-http';

/** http:// means plaintext and https:// TLS: the exporter derives the credentials from the URL. */
function grpcOptions(c: OtlpConfig, env: Env, signal: OtlpSignal) {
  const url = otlpUrl(c, signal, env, 'grpc');
  const timeoutMs = otlpTimeoutMs(c, signal, env);
  const headers = Object.entries(c.headers);
  let metadata: Metadata | undefined;
  if (headers.length) {
    metadata = new Metadata();
    for (const [key, value] of headers) metadata.set(key, value);
  }
  const options = {
    url,
    timeoutMillis: timeoutMs,
    ...(metadata ? { metadata } : {}),
    ...(c.compression ? { compression: c.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE } : {}),
  };
  return { options, target: `${url} (grpc)`, timeoutMs };
}

export const otlpKind: ExporterKind = {
  type: 'otlp',
  pushMetrics({ config, env }: ExporterContext) {
    const c = config as OtlpConfig;
    const protocol = otlpProtocol('otlp', c, 'metrics', env);
    if (protocol !== 'grpc') return httpMetricExporter(c, env, protocol);
    const { options, target, timeoutMs } = grpcOptions(c, env, 'metrics');
    return { exporter: new OtlpGrpcMetricExporter(options), target, timeoutMs };
  },
  logs({ config, env }: ExporterContext) {
    const c = config as OtlpConfig;
    const protocol = otlpProtocol('otlp', c, 'logs', env);
    if (protocol !== 'grpc') return httpLogExporter(c, env, protocol);
    const { options, target, timeoutMs } = grpcOptions(c, env, 'logs');
    return { exporter: new OtlpGrpcLogExporter(options), target, timeoutMs, maxQueueSize: c.max_queue_size };
  },
};
