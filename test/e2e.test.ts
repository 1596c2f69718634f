/**
 * End to end: `netprobe run` in a test namespace exports to a real VictoriaMetrics
 * (OTLP/HTTP protobuf) on that namespace's 127.0.0.1, and its OTLP log requests
 * are decoded with the official protos by protoc. Also: nothing stays attached
 * after SIGTERM or SIGKILL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { exited, startCollector, startOtlpCapture, until } from './helpers/collector';
import { linksOfProgram } from './helpers/bpftool';
import { backendsAvailable, httpGet as httpGetIn, protoInclude, VictoriaMetrics } from './helpers/backends';

/** HTTP GET from inside nsB, where the backends listen. */
const httpGet = (net: TestNet, url: string): string => httpGetIn(net, net.nsB, url);

/**
 * XDP program ids on the interface (per namespace) and live bpf_links of those programs
 * (kernel-wide). `known` keeps counting the links of programs seen attached earlier.
 */
function xdpState(net: TestNet, dev: string, known: number[] = []): { attached: number[]; links: number } {
  const shown = JSON.parse(net.exec(net.nsB, ['bpftool', '-j', 'net', 'show', 'dev', dev])) as Array<{ xdp?: Array<{ id: number }> }>;
  const attached = shown.flatMap((e) => (e.xdp ?? []).map((x) => x.id));
  const ids = new Set([...known, ...attached]);
  return { attached, links: linksOfProgram('xdp_counter').filter((l) => ids.has(l.prog_id ?? -1)).length };
}

test('packets counted in the kernel arrive in VictoriaMetrics exactly, and log records decode with the official protos', async (t) => {
  if (!kernelTestsPossible(t) || !backendsAvailable(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());

  const vm = await VictoriaMetrics.start(net, net.nsB);

  // A minimal OTLP/HTTP receiver for logs: stores each request body as it arrived on the wire.
  const captureDir = startOtlpCapture(net, net.nsB, 4319);

  const { child, output } = await startCollector(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
exporters:
  otlp_http/vm: { endpoint: http://127.0.0.1:8428/opentelemetry }
  otlp_http/capture: { endpoint: http://127.0.0.1:4319 }
service:
  interval: 1s
  pipelines:
    metrics: { probes: [xdp_counter], exporters: [otlp_http/vm] }
    logs: { probes: [xdp_counter], exporters: [otlp_http/capture] }
`);
  assert.match(output(), new RegExp(`probe xdp_counter: xdp on ${net.vB} \\(mode=(native|generic)\\)`));

  const N = 25;
  const frames = net.sendUdp(Array.from({ length: N }, (_, i) => 10 + i * 40));
  const bytes = frames.reduce((a, b) => a + b, 0);

  const latest = (metric: string) => vm.latest(metric, net.vB);
  await until(`VictoriaMetrics to show ${N} packets`, 30_000, () => (latest('system.network.packet.count') === N ? true : undefined));
  assert.equal(latest('system.network.io'), bytes);

  // Log records: decode what went over the wire with the official .proto files.
  const logRequest = await until('an OTLP logs request', 15_000, () => fs.readdirSync(captureDir).find((f) => f.includes('v1_logs')));
  const decoded = execFileSync('protoc', [
    `--proto_path=${protoInclude}`,
    '--decode=opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
    'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  ], { input: fs.readFileSync(path.join(captureDir, logRequest)), encoding: 'utf8' });
  assert.match(decoded, /event_name: "netprobe.probe.attached"/);
  assert.match(decoded, new RegExp(`string_value: "${net.vB}"`));
  assert.match(decoded, /key: "service.name"\s+value \{\s+string_value: "netprobe"/);
  assert.match(decoded, /key: "netprobe.probe.id"\s+value \{\s+string_value: "xdp_counter"/);

  const before = xdpState(net, net.vB);
  assert.equal(before.attached.length, 1);
  assert.equal(before.links, 1, 'attached through a bpf_link');
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, `collector did not exit cleanly:\n${output()}`);
  assert.deepEqual(xdpState(net, net.vB, before.attached), { attached: [], links: 0 });
});

test('nothing stays attached after the collector is killed with SIGKILL', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const { child } = await startCollector(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [xdp_counter], exporters: [debug] } } }
`);
  const before = xdpState(net, net.vB);
  assert.equal(before.attached.length, 1);
  assert.equal(before.links, 1, 'attached through a bpf_link');
  child.kill('SIGKILL');
  await exited(child);
  await until('the kernel to drop the link', 5_000, () => {
    const s = xdpState(net, net.vB, before.attached);
    return s.attached.length === 0 && s.links === 0 ? true : undefined;
  });
});

test('a backend that is down is retried and logged, never fatal', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const { child, output } = await startCollector(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
exporters:
  otlp_http: { endpoint: http://127.0.0.1:9, timeout: 1s }
  prometheus: { host: 127.0.0.1, port: 9464 }
service:
  interval: 500ms
  pipelines:
    metrics: { probes: [xdp_counter], exporters: [otlp_http, prometheus] }
`);
  net.sendUdp([100, 100, 100]);
  // The failures surface as a rate-limited log line and as exported self-metrics.
  const scrape = await until('failed exports to be counted', 20_000, () => {
    const text = httpGet(net, 'http://127.0.0.1:9464/metrics');
    return /netprobe_exporter_send_failed[^\n]*exporter="otlp_http"[^\n]* [1-9]/.test(text) ? text : undefined;
  });
  assert.match(scrape, new RegExp(`system_network_packet_count[^\\n]*network_interface_name="${net.vB}"[^\\n]* 3\\b`));
  // stderr reaches us on its own schedule; the line must come, but not necessarily before the scrape.
  await until('the failure to be logged', 10_000, () => (/export failed; retrying quietly exporter=otlp_http/.test(output()) ? true : undefined));
  assert.equal(child.exitCode, null, 'collector exited');
  const failureLines = output().split('\n').filter((l) => l.includes('export failed')).length;
  assert.ok(failureLines <= 6, `failures should be logged at most once per interval, got ${failureLines} lines`);
  child.kill('SIGINT');
  assert.equal(await exited(child), 0);
});
