/**
 * Hot reload (SIGHUP): an invalid config is rejected with every error and the collector runs
 * on; a valid one is applied by difference: the unchanged probe keeps running and its counter
 * never drops in VictoriaMetrics, an added probe attaches, a removed one detaches, exporters
 * are replaced without losing a queued log record; 50 reloads leak no link, no program, no
 * file descriptor and no live heap (a full GC in the collector tells garbage from a leak).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { cliPath } from './helpers/paths';
import { exited, startOtlpCapture, until } from './helpers/collector';
import { capturedLogRecords } from './helpers/otlp-json';
import { heapSamples } from './helpers/heap-probe';
import { backendsAvailable, VictoriaMetrics } from './helpers/backends';
import { fdKinds, linksHeldBy, liveLinkIds } from './helpers/bpftool';

const RELOADS = 50;

test('SIGHUP: invalid rejected, valid applied by difference, counters never drop, nothing leaks over 50 reloads', { timeout: 20 * 60_000 }, async (t) => {
  if (!kernelTestsPossible(t) || !backendsAvailable(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const vm = await VictoriaMetrics.start(net, net.nsB);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-reload-'));
  const file = path.join(dir, 'collector.yaml');
  const captureDir = startOtlpCapture(net, net.nsB, 4319);
  const config = (opts: { flow?: boolean; timeout?: string }) => `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
${opts.flow ? `  flow_stats: { interfaces: [${net.vB}], ingress_hook: tc }\n` : ''}exporters:
  otlp_http: { endpoint: ${vm.otlpEndpoint}, timeout: ${opts.timeout ?? '10s'} }
  otlp_http/logs: { endpoint: http://127.0.0.1:4319, protocol: http/json, timeout: ${opts.timeout ?? '10s'} }
service:
  interval: 500ms
  pipelines:
    metrics: { probes: [xdp_counter${opts.flow ? ', flow_stats' : ''}], exporters: [otlp_http] }
    logs: { probes: [xdp_counter${opts.flow ? ', flow_stats' : ''}], exporters: [otlp_http/logs] }
`;
  fs.writeFileSync(file, config({}));
  const heapFile = path.join(dir, 'heap.jsonl');
  const heapProbe = path.join(__dirname, 'helpers', 'heap-probe.js');
  const child = net.spawn(net.nsB, [process.execPath, '--expose-gc', '--require', heapProbe, cliPath, 'run', '--config', file], {
    env: { ...process.env, NETPROBE_HEAP_PROBE_FILE: heapFile },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const running = await until('the collector to run', 60_000, () => (child.exitCode !== null ? 'exited' : output.includes(' running with ') ? 'running' : undefined), 100);
  assert.equal(running, 'running', output);
  const pid = child.pid!;

  let sent = 0;
  const send = async (n: number) => {
    net.sendUdp(Array.from({ length: n }, () => 64));
    sent += n;
    await until(`${sent} packets in VictoriaMetrics`, 30_000, () => (vm.latest('system.network.packet.count', net.vB) === sent ? true : undefined), 250);
  };
  const reloads = () => output.split('\n').filter((l) => l.includes(' reloaded ')).length;
  const hup = async (what: string, expect: RegExp) => {
    const before = output.length;
    child.kill('SIGHUP');
    return until(what, 60_000, () => expect.exec(output.slice(before))?.[0], 50);
  };
  await send(10);

  // Invalid: every error reported, nothing changes.
  fs.writeFileSync(file, config({}).replace(`interfaces: [${net.vB}] }`, `interfaces: [${net.vB}], mode: warp }`).replace('interval: 500ms', 'interval: soon'));
  const rejected = await hup('the reload to be rejected', /reload rejected[^\n]*/);
  assert.match(rejected, /probes::xdp_counter::mode/);
  assert.match(rejected, /service::interval/);
  assert.equal(child.exitCode, null);
  const links = linksHeldBy(pid);
  await send(5);

  // Valid: xdp_counter unchanged (kept), flow_stats added, exporters replaced (another timeout).
  fs.writeFileSync(file, config({ flow: true, timeout: '5s' }));
  const applied = await hup('the reload to apply', /reloaded [^\n]*/);
  assert.match(applied, /kept=xdp_counter stopped=- started=flow_stats exporters=replaced/);
  assert.deepEqual(linksHeldBy(pid).filter((id) => links.includes(id)), links, 'xdp_counter kept its link');
  await send(5);
  // Each start of flow_stats announces its attachments in log records; how many per start:
  const attachRecords = () => capturedLogRecords(captureDir).filter((r) => r.eventName === 'netprobe.probe.attached'
    && r.attributes.some((a) => a.key === 'netprobe.probe.id' && a.value.stringValue === 'flow_stats')).length;
  const perStart = await until('flow_stats\'s attach records', 30_000, () => attachRecords() || undefined, 250);
  let flowStarts = 1;
  await until('flow_stats series', 30_000, () => (vm.series('netprobe.traffic').some((s) => s.metric['netprobe.probe.id'] === 'flow_stats') ? true : undefined), 500);

  // Leaks: 50 reloads taking flow_stats away and back, and replacing both exporters each time
  // (a different timeout), while log records are queued for the exporters being retired.
  const fds = () => fs.readdirSync(`/proc/${pid}/fd`).length;
  const liveHeap = async () => {
    const n = heapSamples(heapFile).length;
    child.kill('SIGUSR2');
    return (await until('a heap sample', 30_000, () => heapSamples(heapFile)[n], 50)).heapUsed;
  };
  const reloadTimes: number[] = [];
  const reload = async (i: number) => {
    const withFlow = i % 2 === 0;
    fs.writeFileSync(file, config({ flow: withFlow, timeout: withFlow ? '5s' : '6s' }));
    if (withFlow) flowStarts++;
    const count = reloads();
    const started = Date.now();
    child.kill('SIGHUP');
    await until(`reload ${i}`, 60_000, () => (reloads() > count ? true : undefined), 20);
    reloadTimes.push(Date.now() - started);
    assert.equal(child.exitCode, null, output);
  };
  // Warm up first: the first reloads fill caches (modules, BTF) that stay.
  for (let i = 1; i <= 10; i++) await reload(i);
  const baseline = { links: linksHeldBy(pid).length, fds: fds(), kinds: fdKinds(pid), heap: await liveHeap() };
  const linksSeen = new Set(linksHeldBy(pid));
  for (let i = 11; i <= 10 + RELOADS; i++) {
    await reload(i);
    for (const id of linksHeldBy(pid)) linksSeen.add(id);
  }
  await send(7);
  const after = { links: linksHeldBy(pid).length, fds: fds(), kinds: fdKinds(pid), heap: await liveHeap() };
  const ms = [...reloadTimes].sort((a, b) => a - b);
  t.diagnostic(`${RELOADS} reloads: links ${baseline.links} -> ${after.links}, fds ${baseline.fds} -> ${after.fds}, live heap ${(baseline.heap / 1e6).toFixed(1)} -> ${(after.heap / 1e6).toFixed(1)} MB; reload took ${ms[ms.length >> 1]} ms (median), ${ms.at(-1)} ms (max)`);
  t.diagnostic(`fds by kind: ${JSON.stringify(baseline.kinds)} -> ${JSON.stringify(after.kinds)}`);
  assert.equal(after.links, baseline.links, 'bpf links held');
  // Every kind of fd stays level; TCP connections are at most the two live exporters' keep-alives.
  const tcp = (kinds: Record<string, number>) => Object.entries(kinds).filter(([k]) => k.startsWith('socket:tcp')).reduce((n, [, v]) => n + v, 0);
  const notTcp = (kinds: Record<string, number>) => Object.fromEntries(Object.entries(kinds).filter(([k]) => !k.startsWith('socket:tcp')));
  assert.deepEqual(notTcp(after.kinds), notTcp(baseline.kinds), 'open fds by kind (maps, programs, links, pipes...)');
  assert.ok(tcp(after.kinds) <= 2, `TCP connections after the reloads: ${tcp(after.kinds)} (the 2 live exporters hold one each at most)`);
  // One retired exporter pair or probe kept alive per reload is well over 30 kB; 1.5 MB over 50 is noise.
  assert.ok(after.heap - baseline.heap < 1.5e6, `live heap grew ${((after.heap - baseline.heap) / 1e6).toFixed(2)} MB over ${RELOADS} reloads`);

  // Retired exporters sent what they held: every start of flow_stats announced its attachments, none lost.
  await until(`${flowStarts * perStart} attach records of flow_stats`, 30_000, () => (attachRecords() === flowStarts * perStart ? true : undefined), 250);

  // The kept counter never dropped: every stored sample is at least the one before it.
  const samples = vm.series('system.network.packet.count').find((s) => s.metric['network.interface.name'] === net.vB)!.values;
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i]! >= samples[i - 1]!, `sample ${i}: ${samples[i - 1]} -> ${samples[i]}`);
  assert.equal(samples.at(-1), sent);

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output);
  const live = liveLinkIds();
  assert.deepEqual([...linksSeen].filter((id) => live.has(id)), [], 'every link the collector held is gone after it stopped');
});
