/**
 * packet_capture through `netprobe run`: per-packet log records leave over OTLP/HTTP
 * (JSON, read without protoc) at most log_records.max_per_second, the rest counted in
 * netprobe.capture.log_records.dropped; the kernel's outcome counts and the pcap-ng
 * file agree; SIGTERM detaches both TC programs (tcx links, classic filters before Linux 6.6).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { startCapturedRun, until } from '../../test/helpers/collector';
import { attr, capturedLogRecords, latestMetrics, total as value } from '../../test/helpers/otlp-json';
import { tcAttachments } from '../../test/helpers/bpftool';


test('netprobe run: rate-limited packet log records over OTLP, outcome counts, pcap-ng file, detach on SIGTERM', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-capture-export-'));
  t.after(() => {
    net.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = path.join(dir, 'run.pcapng');
  const { capture: captureDir, child, output } = await startCapturedRun(net, net.nsA, {
    probes: {
      packet_capture: `{ interfaces: [${net.vA}], filter: { protocols: [icmp] }, pcapng: { path: ${file} }, log_records: { enabled: true, max_per_second: 3 } }`,
    },
    interval: '500ms',
    port: 4320,
  });
  const attached = (direction: 'ingress' | 'egress') => tcAttachments(net, net.nsA, net.vA, direction, `capture_${direction}`);
  assert.equal(attached('ingress'), 1, 'one TC program on ingress (tcx link, or classic filter before 6.6)');
  assert.equal(attached('egress'), 1, 'one TC program on egress (tcx link, or classic filter before 6.6)');

  net.ping(net.ipB, 5); // 10 ICMP packets in about 0.25 s: one second's budget of 3 records
  net.sendUdp([10, 20]); // filtered out (the ICMP errors they cause are not)
  const metrics = await until('metrics with the pings and the datagrams', 15_000, () => {
    const m = latestMetrics(captureDir);
    // The kernel counts a packet captured when it enters the ring; it is written when the ring is
    // next drained, so one snapshot may show it captured and not yet written: wait until they agree.
    const written = value(m, 'netprobe.capture.written');
    const done = written >= 10 && written === value(m, 'netprobe.capture.packet.count', { 'netprobe.capture.outcome': 'captured' })
      && value(m, 'netprobe.capture.packet.count', { 'netprobe.capture.outcome': 'filtered_out' }) >= 2;
    return done ? m : undefined;
  });
  const captured = value(metrics, 'netprobe.capture.packet.count', { 'netprobe.capture.outcome': 'captured' });
  assert.ok(captured >= 10, `captured ${captured}`);
  assert.equal(value(metrics, 'netprobe.capture.written'), captured, 'every captured packet was written');
  assert.equal(value(metrics, 'netprobe.capture.dropped'), 0);

  // Every captured packet becomes a record or a counted drop (records and metrics arrive on their own schedules).
  const records = await until('a record or a counted drop for every packet', 15_000, () => {
    const r = capturedLogRecords(captureDir).filter((x) => x.eventName === 'netprobe.capture.packet');
    const m = latestMetrics(captureDir);
    const all = value(m, 'netprobe.capture.packet.count', { 'netprobe.capture.outcome': 'captured' });
    return r.length >= 3 && r.length + value(m, 'netprobe.capture.log_records.dropped') === all ? r : undefined;
  });
  const echoes = records.filter((r) => [0, 8].includes(Number(attr(r.attributes, 'netprobe.icmp.type')?.intValue)));
  assert.equal(echoes.length, 3, 'the pings took 0.25 s: 3 records, the other 7 dropped');
  const request = records.find((r) => attr(r.attributes, 'source.address')?.stringValue === net.ipA)!;
  assert.ok(request, 'an echo request record');
  assert.equal(attr(request.attributes, 'destination.address')?.stringValue, net.ipB);
  assert.equal(attr(request.attributes, 'network.transport')?.stringValue, 'icmp');
  assert.equal(attr(request.attributes, 'network.io.direction')?.stringValue, 'transmit');
  assert.equal(Number(attr(request.attributes, 'netprobe.icmp.type')?.intValue), 8);
  assert.equal(Number(attr(request.attributes, 'netprobe.capture.length')?.intValue), 98);

  child.kill('SIGTERM');
  const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
  assert.equal(code, 0, `collector did not exit cleanly:\n${output()}`);
  assert.equal(attached('ingress') + attached('egress'), 0, 'TC programs gone after SIGTERM');
  const read = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'icmp.type'], { encoding: 'utf8' });
  assert.equal(read.status, 0, read.stderr);
  const final = latestMetrics(captureDir); // the last export, at shutdown
  assert.equal(read.stdout.trim().split('\n').length, value(final, 'netprobe.capture.written'), 'the file holds every packet written');
  assert.equal(value(final, 'netprobe.capture.written'), value(final, 'netprobe.capture.packet.count', { 'netprobe.capture.outcome': 'captured' }));
});
