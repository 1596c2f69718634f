/** `otlp_http`: OTLP over HTTP (protobuf or JSON) through the OpenTelemetry JS exporters. */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPLogExporter as OtlpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as OtlpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { OtlpHttpConfig } from '../../config/load';
import { parseDuration } from '../../config/duration';
import type { Env } from '../../config/env';
import type { ExporterContext, ExporterKind } from './kind';

const DEFAULT_TIMEOUT_MS = 10_000;

/** The OTLP URL for one signal: the configured endpoint, else the OTEL_EXPORTER_OTLP_* variables. */
export function otlpUrl(config: OtlpHttpConfig, signal: 'metrics' | 'logs', env: Env): string {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
  if (!config.endpoint && specific) return specific;
  const base = config.endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

/** `timeout` from the config, else OTEL_EXPORTER_OTLP_{SIGNAL_,}TIMEOUT (milliseconds), else 10 s. */
export function otlpTimeoutMs(config: OtlpHttpConfig, signal: 'metrics' | 'logs', env: Env): number {
  if (config.timeout) return parseDuration(config.timeout);
  for (const name of [`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_TIMEOUT`, 'OTEL_EXPORTER_OTLP_TIMEOUT']) {
    const ms = Number(env[name]);
    if (env[name] && Number.isFinite(ms) && ms > 0) return ms;
  }
  return DEFAULT_TIMEOUT_MS;
}

/**
 * An agent whose sockets give up connecting after `timeoutMs`. Node's request
 * timeout starts only once connected, so without this a SYN that is never answered
 * holds a socket (and the SDK's retry loop) for the kernel's two minutes.
 */
function connectTimeoutAgent(protocol: string, timeoutMs: number): http.Agent {
  const agent = protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const agentWithConnect = agent as unknown as { createConnection: (options: unknown, cb: unknown) => net.Socket };
  const create = agentWithConnect.createConnection.bind(agent);
  agentWithConnect.createConnection = (options, cb) => {
    const socket = create(options, cb);
    if (!socket.connecting) return socket;
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`connect timed out after ${timeoutMs}ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    timer.unref();
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return socket;
  };
  return agent;
}

/** Options left unset in the config are left to the SDK, which reads OTEL_EXPORTER_OTLP_* for them. */
function exporterOptions(c: OtlpHttpConfig, url: string, timeoutMs: number) {
  return {
    url,
    timeoutMillis: timeoutMs,
    httpAgentOptions: (protocol: string) => connectTimeoutAgent(protocol, timeoutMs),
    ...(Object.keys(c.headers).length ? { headers: { ...c.headers } } : {}),
    ...(c.compression ? { compression: c.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE } : {}),
  };
}

function prepare({ config, env }: ExporterContext, signal: 'metrics' | 'logs') {
  const c = config as OtlpHttpConfig;
  const url = otlpUrl(c, signal, env);
  const timeoutMs = otlpTimeoutMs(c, signal, env);
  return { c, options: exporterOptions(c, url, timeoutMs), target: `${url} (${c.protocol})`, timeoutMs };
}

export const otlpHttpKind: ExporterKind = {
  type: 'otlp_http',
  pushMetrics(ctx) {
    const { c, options, target, timeoutMs } = prepare(ctx, 'metrics');
    const exporter = c.protocol === 'http/json' ? new OtlpJsonMetricExporter(options) : new OtlpProtoMetricExporter(options);
    return { exporter, target, timeoutMs };
  },
  logs(ctx) {
    const { c, options, target, timeoutMs } = prepare(ctx, 'logs');
    const exporter = c.protocol === 'http/json' ? new OtlpJsonLogExporter(options) : new OtlpProtoLogExporter(options);
    return { exporter, target, timeoutMs, maxQueueSize: c.max_queue_size };
  },
};
