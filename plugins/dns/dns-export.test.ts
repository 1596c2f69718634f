/**
 * The dns probe through `netprobe run`: its log records and metrics leave over
 * OTLP/HTTP with the event name, typed attributes and histogram buckets declared,
 * and SIGTERM detaches both TC programs (tcx links, classic filters before Linux 6.6). Log records go to two exporters: JSON, and
 * protobuf (the default, with netprobe's own serializer), decoded here by protoc
 * with the official protos.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { startCapturedRun, startOtlpCapture, until } from '../../test/helpers/collector';
import { attr, capturedLogRecords as logRecords, latestMetrics, total } from '../../test/helpers/otlp-json';
import { linksHeldBy, tcAttachments } from '../../test/helpers/bpftool';
import { backendsAvailable, protoInclude } from '../../test/helpers/backends';
import { execFileSync } from 'node:child_process';
import { dig, startDnsServer, toolsAvailable } from '../../test/helpers/dns/dns-lab';
import { DURATION_BUCKETS } from './consumer';


test('netprobe run exports dns exchanges as OTLP log records and metrics, and detaches on SIGTERM', async (t) => {
  if (!kernelTestsPossible(t) || !toolsAvailable(t) || !backendsAvailable(t)) return;
  const net = TestNet.create(1500, { ipv6: true });
  t.after(() => net.cleanup());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-dns-export-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  await startDnsServer(net, dir);
  // OTLP/HTTP receivers in the collector's namespace store each request body: JSON on 4319, protobuf on 4321.
  const protoCaptureDir = startOtlpCapture(net, net.nsA, 4321);
  t.after(() => fs.rmSync(protoCaptureDir, { recursive: true, force: true }));
  const { capture: captureDir, child, output } = await startCapturedRun(net, net.nsA, {
    probes: { dns: `{ interfaces: [${net.vA}], query_timeout: 1s }` }, interval: '500ms',
    moreLogsExporters: { 'otlp_http/proto': '{ endpoint: http://127.0.0.1:4321 }' },
  });
  // Links are kernel-wide and other dns collectors may run: count only this collector's.
  const held = new Set(linksHeldBy(child.pid!));
  const ours = (direction: 'ingress' | 'egress') => tcAttachments(net, net.nsA, net.vA, direction, `dns_${direction}`, held);
  assert.equal(ours('ingress'), 1, 'one TC program on ingress (tcx link, or classic filter before 6.6)');
  assert.equal(ours('egress'), 1, 'one TC program on egress (tcx link, or classic filter before 6.6)');

  dig(net, { name: 'a.test', type: 'A' });
  dig(net, { name: 'nx.test', type: 'A' });

  const exchanges = await until('two exchange log records', 15_000, () => {
    const found = logRecords(captureDir).filter((r) => r.eventName === 'netprobe.dns.exchange');
    return found.length >= 2 ? found : undefined;
  });
  assert.equal(exchanges.length, 2);
  const answered = exchanges.find((r) => attr(r.attributes, 'dns.question.name')?.stringValue === 'a.test')!;
  assert.ok(answered, 'the a.test exchange');
  assert.equal(attr(answered.attributes, 'netprobe.dns.answers')?.stringValue, 'A 10.0.0.1');
  assert.equal(attr(answered.attributes, 'netprobe.dns.response_code')?.stringValue, 'NOERROR');
  assert.equal(Number(attr(answered.attributes, 'server.port')?.intValue), 53, 'ports are integers');
  assert.equal(attr(answered.attributes, 'client.address')?.stringValue, net.ipA);
  assert.equal(attr(answered.attributes, 'netprobe.dns.truncated')?.boolValue ?? false, false);
  assert.ok(Number(attr(answered.attributes, 'netprobe.dns.duration')?.intValue) > 0, 'the duration is an integer (ns)');
  assert.equal(attr(answered.attributes, 'netprobe.probe.id')?.stringValue, 'dns');
  assert.match(String(answered.body?.stringValue), /^a\.test A -> NOERROR, 1 answer in \d+\.\d{3} ms$/);

  // The same records over protobuf, decoded with the official protos.
  const decoded = await until('two exchange records over protobuf', 15_000, () => {
    const text = fs.readdirSync(protoCaptureDir).filter((f) => f.includes('v1_logs')).map((f) => execFileSync('protoc', [
      `--proto_path=${protoInclude}`, '--decode=opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
      'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    ], { input: fs.readFileSync(path.join(protoCaptureDir, f)), encoding: 'utf8' })).join('\n');
    return (text.match(/event_name: "netprobe.dns.exchange"/g) ?? []).length >= 2 ? text : undefined;
  });
  const protoRecords = decoded.split(/\n\s*log_records \{/).slice(1).map((r) => r.split(/\n {4}\}/)[0]!) // to the record's closing brace
    .filter((r) => r.includes('event_name: "netprobe.dns.exchange"'));
  assert.equal(protoRecords.length, 2);
  const protoAnswered = protoRecords.find((r) => /key: "dns.question.name"\s+value \{\s+string_value: "a.test"/.test(r))!;
  assert.ok(protoAnswered, 'the a.test exchange over protobuf');
  const kv = (key: string) => new RegExp(`key: "${key.replace(/\./g, '\\.')}"\\s+value \\{\\s+([a-z_]+): ([^\\n]+)`).exec(protoAnswered)?.slice(1, 3).join(' ');
  assert.equal(kv('netprobe.dns.answers'), 'string_value "A 10.0.0.1"');
  assert.equal(kv('server.port'), 'int_value 53');
  assert.equal(kv('client.address'), `string_value "${net.ipA}"`);
  assert.equal(kv('netprobe.dns.truncated'), 'bool_value false');
  assert.match(kv('netprobe.dns.duration') ?? '', /^int_value [1-9]\d*$/);
  assert.equal(kv('netprobe.probe.id'), 'string_value "dns"');
  assert.match(protoAnswered, /severity_number: SEVERITY_NUMBER_INFO\s+severity_text: "INFO"/);
  assert.match(protoAnswered, /body \{\s+string_value: "a\.test A -> NOERROR, 1 answer in \d+\.\d{3} ms"/);
  const [, time] = /time_unix_nano: (\d+)/.exec(protoAnswered)!;
  assert.ok(Math.abs(Number(BigInt(time!) / 1_000_000n) - Date.now()) < 60_000, 'timestamped at export time, in ns');
  assert.match(decoded, /scope \{\s+name: "netprobe"\s+version: "/);
  assert.equal((protoAnswered.match(/\bkey: /g) ?? []).length, answered.attributes.length, 'the same attributes over JSON and protobuf');

  // Metrics are cumulative: wait for an export that has both responses.
  const metrics = await until('metrics with both responses', 15_000, () => {
    const m = latestMetrics(captureDir);
    return total(m, 'netprobe.dns.responses') === 2 ? m : undefined;
  });
  const duration = metrics.find((m) => m.name === 'dns.lookup.duration')!;
  assert.equal(duration.unit, 's');
  const points = duration.histogram!.dataPoints;
  assert.deepEqual(points[0]!.explicitBounds, [...DURATION_BUCKETS]);
  assert.equal(points.reduce((a, p) => a + Number(p.count), 0), 2);
  assert.deepEqual(points.map((p) => attr(p.attributes, 'error.type')?.stringValue).sort(), ['nxdomain', undefined]);
  const responses = metrics.find((m) => m.name === 'netprobe.dns.responses')!.sum!.dataPoints;
  assert.deepEqual(responses.map((p) => attr(p.attributes, 'netprobe.dns.response_code')?.stringValue).sort(), ['NOERROR', 'NXDOMAIN']);
  assert.ok(metrics.some((m) => m.name === 'netprobe.dns.ringbuf.dropped'), 'ring-buffer drops are exported');
  assert.equal(total(metrics, 'netprobe.dns.ringbuf.dropped'), 0);

  child.kill('SIGTERM');
  const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
  assert.equal(code, 0, `collector did not exit cleanly:\n${output()}`);
  assert.equal(ours('ingress') + ours('egress'), 0, 'TC programs gone after SIGTERM');
});
