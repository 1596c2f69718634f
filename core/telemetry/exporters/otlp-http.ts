/**
 * `otlp_http`: OTLP over HTTP (protobuf or JSON) through the OpenTelemetry JS exporters,
 * and what every OTLP kind shares (`otlp`, gRPC, is ./otlp): which protocol and where
 * to, per the OTLP exporter specification: the config, else OTEL_EXPORTER_OTLP_*, else
 * the kind's own default.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPLogExporter as OtlpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { OtlpConfig, OtlpProtocol } from '../../config/load';
import { parseDuration } from '../../config/duration';
import type { Env } from '../../config/env';
import type { ExporterContext, ExporterKind } from './kind';
import { OtlpProtoLogExporter } from './otlp-logs-protobuf';

const DEFAULT_TIMEOUT_MS = 10_000;

export type OtlpSignal = 'metrics' | 'logs';

const HTTP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];
const ALL_PROTOCOLS: readonly OtlpProtocol[] = ['grpc', ...HTTP_PROTOCOLS];

/**
 * The protocol one exporter speaks for one signal: the config's `protocol`, else
 * OTEL_EXPORTER_OTLP_{METRICS,LOGS}_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else
 * grpc for `otlp` and http/protobuf for `otlp_http`. `otlp_http` ignores a variable naming grpc.
 */
export function otlpProtocol(type: 'otlp' | 'otlp_http', config: OtlpConfig, signal: OtlpSignal, env: Env): OtlpProtocol {
  if (config.protocol) return config.protocol;
  const allowed = type === 'otlp' ? ALL_PROTOCOLS : HTTP_PROTOCOLS;
  for (const name of [`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = env[name]?.trim() as OtlpProtocol | undefined;
    if (value && allowed.includes(value)) return value;
  }
  return type === 'otlp' ? 'grpc' : 'http/protobuf';
}

/**
 * Where one signal goes: the configured endpoint, else the OTEL_EXPORTER_OTLP_* variables.
 * HTTP appends /v1/<signal> to a base endpoint (a signal's own variable is used as is);
 * gRPC uses the endpoint as is (the service path is in the protocol), 4317 by default.
 */
export function otlpUrl(config: OtlpConfig, signal: OtlpSignal, env: Env, protocol: OtlpProtocol = 'http/protobuf'): string {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
  if (!config.endpoint && specific) return specific;
  const grpc = protocol === 'grpc';
  const base = (config.endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? (grpc ? 'http://localhost:4317' : 'http://localhost:4318')).replace(/\/+$/, '');
  return grpc ? base : `${base}/v1/${signal}`;
}

/** `timeout` from the config, else OTEL_EXPORTER_OTLP_{SIGNAL_,}TIMEOUT (milliseconds), else 10 s. */
export function otlpTimeoutMs(config: OtlpConfig, signal: OtlpSignal, env: Env): number {
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
function exporterOptions(c: OtlpConfig, url: string, timeoutMs: number, agents: http.Agent[]) {
  return {
    url,
    timeoutMillis: timeoutMs,
    httpAgentOptions: (protocol: string) => {
      const agent = connectTimeoutAgent(protocol, timeoutMs);
      agents.push(agent);
      return agent;
    },
    ...(Object.keys(c.headers).length ? { headers: { ...c.headers } } : {}),
    ...(c.compression ? { compression: c.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE } : {}),
  };
}

/** An OTLP/HTTP exporter pair for one signal, in the HTTP `protocol` chosen (also `otlp` told to speak HTTP). */
export function httpMetricExporter(config: OtlpConfig, env: Env, protocol: OtlpProtocol) {
  const { options, agents, target, timeoutMs } = prepare(config, env, 'metrics', protocol);
  const exporter = protocol === 'http/json' ? new OtlpJsonMetricExporter(options) : new OtlpProtoMetricExporter(options);
  return { exporter: closingAgents(exporter, agents), target, timeoutMs };
}

export function httpLogExporter(config: OtlpConfig, env: Env, protocol: OtlpProtocol) {
  const { options, agents, target, timeoutMs } = prepare(config, env, 'logs', protocol);
  const exporter = protocol === 'http/json' ? new OtlpJsonLogExporter(options) : new OtlpProtoLogExporter(options);
  return { exporter: closingAgents(exporter, agents), target, timeoutMs, maxQueueSize: config.max_queue_size };
}

function prepare(c: OtlpConfig, env: Env, signal: OtlpSignal, protocol: OtlpProtocol) {
  const url = otlpUrl(c, signal, env, protocol);
  const timeoutMs = otlpTimeoutMs(c, signal, env);
  const agents: http.Agent[] = [];
  return { options: exporterOptions(c, url, timeoutMs, agents), agents, target: `${url} (${protocol})`, timeoutMs };
}

/**
 * The SDK's shutdown leaves its agent's keep-alive connection open; an exporter retired by
 * a reload would hold it (one socket per reload) until the backend hangs up. Destroy it.
 */
function closingAgents<E extends { shutdown(): Promise<void> }>(exporter: E, agents: http.Agent[]): E {
  const shutdown = exporter.shutdown.bind(exporter);
  exporter.shutdown = async () => {
    try {
      await shutdown();
    } finally {
      for (const agent of agents.splice(0)) agent.destroy();
    }
  };
  return exporter;
}

export const otlpHttpKind: ExporterKind = {
  type: 'otlp_http',
  pushMetrics({ config, env }: ExporterContext) {
    const c = config as OtlpConfig;
    return httpMetricExporter(c, env, otlpProtocol('otlp_http', c, 'metrics', env));
  },
  logs({ config, env }: ExporterContext) {
    const c = config as OtlpConfig;
    return httpLogExporter(c, env, otlpProtocol('otlp_http', c, 'logs', env));
  },
};
