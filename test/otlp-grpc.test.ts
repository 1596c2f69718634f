/**
 * The `otlp` exporter end to end: `netprobe run` in a test namespace exports over gRPC to a
 * receiver built from the official opentelemetry-proto service definitions, and
 * OTEL_EXPORTER_OTLP_PROTOCOL switches the same exporter to OTLP/HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { capturedJson, exited, startCollector, startOtlpCapture, until } from './helpers/collector';
import { backendsAvailable } from './helpers/backends';
import { grpcExports, startOtlpGrpcReceiver } from './helpers/otlp-grpc';

type KeyValue = { key: string; value: Record<string, unknown> };
const attr = (attrs: KeyValue[] | undefined, key: string) => attrs?.find((a) => a.key === key)?.value;

/** The latest value of `metric` for `iface` across the exported requests (OTLP proto3 JSON or proto-loader objects). */
function latestPoint(requests: any[], metric: string, iface: string): number | undefined {
  let latest: number | undefined;
  for (const r of requests) {
    for (const rm of r.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) {
      if (m.name !== metric) continue;
      for (const p of m.sum?.dataPoints ?? []) {
        if (attr(p.attributes, 'network.interface.name')?.stringValue === iface) latest = Number(p.asInt ?? p.asDouble);
      }
    }
  }
  return latest;
}

test('the otlp exporter sends metrics and log records over gRPC, with its headers as metadata', async (t) => {
  if (!kernelTestsPossible(t) || !backendsAvailable(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const dir = await startOtlpGrpcReceiver(net, net.nsB, 4317);
  const { child, output } = await startCollector(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
exporters:
  otlp: { endpoint: http://127.0.0.1:4317, headers: { x-tenant: team-a } }
service:
  interval: 500ms
  pipelines:
    metrics: { probes: [xdp_counter], exporters: [otlp] }
    logs: { probes: [xdp_counter], exporters: [otlp] }
`);
  assert.match(output(), /otlp: metrics to http:\/\/127\.0\.0\.1:4317 \(grpc\)/);
  const N = 17;
  net.sendUdp(Array.from({ length: N }, () => 64));
  await until(`${N} packets over gRPC`, 20_000, () => (latestPoint(grpcExports(dir, 'metrics').map((e) => e.request), 'system.network.packet.count', net.vB) === N ? true : undefined));
  const [first] = grpcExports(dir, 'metrics');
  assert.equal(first!.metadata['x-tenant'], 'team-a');
  assert.equal(attr(first!.request.resourceMetrics[0].resource.attributes, 'service.name')?.stringValue, 'netprobe');

  const records = await until('the attach log record over gRPC', 10_000, () => {
    const all = grpcExports(dir, 'logs').flatMap((e) => e.request.resourceLogs.flatMap((rl: any) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords)));
    return all.length ? all : undefined;
  });
  const attached = records.find((r: any) => r.eventName === 'netprobe.probe.attached');
  assert.ok(attached, 'netprobe.probe.attached record');
  assert.equal(attr(attached.attributes, 'network.interface.name')?.stringValue, net.vB);
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output());
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=http/json turns the otlp exporter into OTLP/HTTP JSON', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const dir = startOtlpCapture(net, net.nsB, 4318);
  const { child, output } = await startCollector(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
exporters:
  otlp:
service:
  interval: 500ms
  pipelines:
    metrics: { probes: [xdp_counter], exporters: [otlp] }
`, { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } });
  assert.match(output(), /otlp: metrics to http:\/\/127\.0\.0\.1:4318\/v1\/metrics \(http\/json\)/);
  net.sendUdp([64, 64, 64]);
  await until('3 packets as OTLP/HTTP JSON', 20_000, () => (latestPoint(capturedJson(dir, 'metrics'), 'system.network.packet.count', net.vB) === 3 ? true : undefined));
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output());
});
