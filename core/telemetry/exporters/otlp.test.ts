import { test } from 'node:test';
import assert from 'node:assert/strict';
import { otlpProtocol, otlpUrl } from './otlp-http';

const base = { headers: {}, max_queue_size: 1 } as const;

test('otlp speaks gRPC unless the config or OTEL_EXPORTER_OTLP_*PROTOCOL say otherwise', () => {
  assert.equal(otlpProtocol('otlp', base, 'metrics', {}), 'grpc');
  assert.equal(otlpProtocol('otlp', base, 'metrics', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }), 'http/protobuf');
  assert.equal(otlpProtocol('otlp', base, 'logs', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }), 'http/json');
  assert.equal(otlpProtocol('otlp', base, 'metrics', { OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }), 'grpc', 'another signal\'s variable does not apply');
  assert.equal(otlpProtocol('otlp', { ...base, protocol: 'grpc' }, 'metrics', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), 'grpc', 'the config wins');
  assert.equal(otlpProtocol('otlp', base, 'metrics', { OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' }), 'grpc', 'an unknown value is ignored');
});

test('otlp_http stays on HTTP: a variable naming grpc does not apply to it', () => {
  assert.equal(otlpProtocol('otlp_http', base, 'metrics', {}), 'http/protobuf');
  assert.equal(otlpProtocol('otlp_http', base, 'metrics', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), 'http/protobuf');
  assert.equal(otlpProtocol('otlp_http', base, 'metrics', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), 'http/json');
});

test('gRPC endpoints are used as given, with 4317 by default', () => {
  assert.equal(otlpUrl(base, 'metrics', {}, 'grpc'), 'http://localhost:4317');
  assert.equal(otlpUrl(base, 'logs', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw:4317/' }, 'grpc'), 'https://gw:4317');
  assert.equal(otlpUrl({ ...base, endpoint: 'http://agent:4317' }, 'metrics', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4317' }, 'grpc'), 'http://agent:4317');
  assert.equal(otlpUrl(base, 'metrics', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4317' }, 'grpc'), 'http://m:4317');
  assert.equal(otlpUrl(base, 'metrics', {}, 'http/protobuf'), 'http://localhost:4318/v1/metrics');
});
