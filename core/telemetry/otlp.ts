/**
 * The OTLP exporters: `otlp` (gRPC on 4317 by default, as the OpenTelemetry Collector names it)
 * and `otlp_http` (HTTP on 4318), built from the official OpenTelemetry JS exporters.
 * Which wire protocol, and where to, follows the OTLP exporter specification: what the
 * config says, else the OTEL_EXPORTER_OTLP_* variables, else the exporter type's default.
 */
import { Metadata } from '@grpc/grpc-js';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPLogExporter as OtlpGrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as OtlpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as OtlpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { OtlpConfig, OtlpProtocol } from '../config/load';
import { parseDuration } from '../config/duration';
import type { Env } from '../config/env';

export type OtlpSignal = 'metrics' | 'logs';
export type OtlpExporterType = 'otlp' | 'otlp_http';

const HTTP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];
const ALL_PROTOCOLS: readonly OtlpProtocol[] = ['grpc', ...HTTP_PROTOCOLS];

/**
 * The protocol one exporter speaks for one signal: the config's `protocol`, else
 * OTEL_EXPORTER_OTLP_{METRICS,LOGS}_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else
 * grpc for `otlp` and http/protobuf for `otlp_http`. `otlp_http` ignores a variable naming grpc.
 */
export function otlpProtocol(type: OtlpExporterType, config: OtlpConfig, signal: OtlpSignal, env: Env): OtlpProtocol {
  if (config.protocol) return config.protocol;
  const allowed = type === 'otlp' ? ALL_PROTOCOLS : HTTP_PROTOCOLS;
  for (const name of [`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = env[name]?.trim() as OtlpProtocol | undefined;
    if (value && allowed.includes(value)) return value;
  }
  return type === 'otlp' ? 'grpc' : 'http/protobuf';
}

/**
 * Where one signal goes. HTTP: the base endpoint with /v1/<signal> appended, or the
 * signal's own variable as is. gRPC: the endpoint as is (the service path is in the protocol).
 */
export function otlpUrl(config: OtlpConfig, signal: OtlpSignal, env: Env, protocol: OtlpProtocol = 'http/protobuf'): string {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
  if (!config.endpoint && specific) return specific;
  const grpc = protocol === 'grpc';
  const base = (config.endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? (grpc ? 'http://localhost:4317' : 'http://localhost:4318')).replace(/\/+$/, '');
  return grpc ? base : `${base}/v1/${signal}`;
}

export function otlpMetricExporter(type: OtlpExporterType, config: OtlpConfig, env: Env): { exporter: PushMetricExporter; target: string } {
  const protocol = otlpProtocol(type, config, 'metrics', env);
  const url = otlpUrl(config, 'metrics', env, protocol);
  const exporter = protocol === 'grpc'
    ? new OtlpGrpcMetricExporter(grpcOptions(config, url))
    : protocol === 'http/json' ? new OtlpJsonMetricExporter(httpOptions(config, url)) : new OtlpProtoMetricExporter(httpOptions(config, url));
  return { exporter, target: `${url} (${protocol})` };
}

export function otlpLogExporter(type: OtlpExporterType, config: OtlpConfig, env: Env): { exporter: LogRecordExporter; target: string } {
  const protocol = otlpProtocol(type, config, 'logs', env);
  const url = otlpUrl(config, 'logs', env, protocol);
  const exporter = protocol === 'grpc'
    ? new OtlpGrpcLogExporter(grpcOptions(config, url))
    : protocol === 'http/json' ? new OtlpJsonLogExporter(httpOptions(config, url)) : new OtlpProtoLogExporter(httpOptions(config, url));
  return { exporter, target: `${url} (${protocol})` };
}

/** Options left unset in the config are left to the SDK, which reads OTEL_EXPORTER_OTLP_* for them. */
function commonOptions(c: OtlpConfig, url: string) {
  return {
    url,
    ...(c.timeout ? { timeoutMillis: parseDuration(c.timeout) } : {}),
    ...(c.compression ? { compression: c.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE } : {}),
  };
}

function httpOptions(c: OtlpConfig, url: string) {
  return { ...commonOptions(c, url), ...(Object.keys(c.headers).length ? { headers: { ...c.headers } } : {}) };
}

/** http:// means plaintext and https:// TLS; the exporter derives the credentials from the URL. */
function grpcOptions(c: OtlpConfig, url: string) {
  const entries = Object.entries(c.headers);
  if (entries.length === 0) return commonOptions(c, url);
  const metadata = new Metadata();
  for (const [key, value] of entries) metadata.set(key, value);
  return { ...commonOptions(c, url), metadata };
}
