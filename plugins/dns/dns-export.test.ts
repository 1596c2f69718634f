/**
 * The dns probe through `netprobe run`: its log records and metrics leave over
 * OTLP/HTTP (JSON here, so the test reads them without protoc) with the event
 * name, typed attributes and histogram buckets declared, and SIGTERM detaches
 * both tcx links.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { startCapturedRun, until } from '../../test/helpers/collector';
import { attr, capturedLogRecords as logRecords, latestMetrics, total } from '../../test/helpers/otlp-json';
import { linksOfProgram } from '../../test/helpers/bpftool';
import { dig, startDnsServer, toolsAvailable } from '../../test/helpers/dns/dns-lab';
import { DURATION_BUCKETS } from './consumer';


test('netprobe run exports dns exchanges as OTLP log records and metrics, and detaches on SIGTERM', async (t) => {
  if (!kernelTestsPossible(t) || !toolsAvailable(t)) return;
  const net = TestNet.create(1500, { ipv6: true });
  t.after(() => net.cleanup());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-dns-export-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  await startDnsServer(net, dir);
  // An OTLP/HTTP receiver in the collector's namespace stores each request body.
  const { capture: captureDir, child, output } = await startCapturedRun(net, net.nsA, {
    probes: { dns: `{ interfaces: [${net.vA}], query_timeout: 1s }` }, interval: '500ms',
  });
  assert.equal(linksOfProgram('dns_ingress').length, 1, 'one tcx link on ingress');
  assert.equal(linksOfProgram('dns_egress').length, 1, 'one tcx link on egress');

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
  assert.equal(linksOfProgram('dns_ingress').length + linksOfProgram('dns_egress').length, 0, 'tcx links gone after SIGTERM');
});
