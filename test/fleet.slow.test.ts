/**
 * A simulated fleet: NETPROBE_FLEET_SIZE (default 20) collectors, each in its own network
 * namespace with its own host.name and service.instance.id, export to one VictoriaMetrics.
 * Every host's series stay apart and exact (agent i sees exactly i+2 packets), and the
 * backend's ingest per agent per interval is measured, series and wire bytes (the export
 * link carries nothing else), without and with gzip: the numbers README.md gives for sizing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { kernelTestsPossible } from './helpers/kernel';
import { cliPath } from './helpers/paths';
import { exited, sleep, until } from './helpers/collector';
import { backendsAvailable, VictoriaMetrics, type VmSeries } from './helpers/backends';
import { Fleet, type Agent } from './helpers/fleet';

const SIZE = Number(process.env.NETPROBE_FLEET_SIZE ?? 20);
const INTERVAL_S = 2;
const MEASURED_INTERVALS = 5;

const hostName = (a: Agent) => `fleet-host-${a.index}`;
const gzip = (a: Agent) => a.index % 2 === 1;

test(`${SIZE} collectors to one VictoriaMetrics: every host apart and exact; ingest per agent measured`, { timeout: 15 * 60_000 }, async (t) => {
  if (!kernelTestsPossible(t) || !backendsAvailable(t)) return;
  const fleet = Fleet.create(SIZE);
  t.after(() => fleet.cleanup());
  const vm = await VictoriaMetrics.start(fleet, fleet.hub, 8428, '');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-fleet-'));
  const collectors: Array<{ agent: Agent; child: ChildProcess; output: () => string }> = [];
  for (const agent of fleet.agents) {
    const config = path.join(dir, `agent-${agent.index}.yaml`);
    fs.writeFileSync(config, `
probes:
  xdp_counter: { interfaces: [${agent.dataIf}] }
  flow_stats: { interfaces: [${agent.dataIf}], ingress_hook: tc }
exporters:
  otlp_http: { endpoint: http://${agent.hubExportIp}:8428/opentelemetry, compression: ${gzip(agent) ? 'gzip' : 'none'} }
service:
  interval: ${INTERVAL_S}s
  pipelines:
    metrics: { probes: [xdp_counter, flow_stats], exporters: [otlp_http] }
`);
    const child = fleet.spawn(agent.ns, [process.execPath, cliPath, 'run', '--config', config], {
      env: { ...process.env, OTEL_RESOURCE_ATTRIBUTES: `host.name=${hostName(agent)},service.instance.id=fleet-${agent.index}` },
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    collectors.push({ agent, child, output: () => output });
  }
  for (const c of collectors) {
    const state = await until(`collector ${c.agent.index} to run`, 300_000, () => (c.child.exitCode !== null ? 'exited' : c.output().includes(' running with ') ? 'running' : undefined), 250);
    assert.equal(state, 'running', `collector ${c.agent.index}:\n${c.output()}`);
  }

  // Agent i receives exactly i+2 datagrams on its data link, all sent from the hub.
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    const targets = ${JSON.stringify(fleet.agents.map((a) => [a.dataIp, a.index + 2]))};
    (async () => {
      for (const [ip, n] of targets) for (let k = 0; k < n; k++) await new Promise((ok, fail) => s.send(Buffer.alloc(100, 0x61), 9, ip, (e) => e ? fail(e) : ok()));
      s.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  fleet.exec(fleet.hub, [process.execPath, '-e', script]);

  const byHost = <T>(all: T[], labels: (s: T) => Record<string, string>) => {
    const out = new Map<string, T[]>();
    for (const s of all) out.set(labels(s)['host.name'] ?? '', [...(out.get(labels(s)['host.name'] ?? '') ?? []), s]);
    return out;
  };
  const packets = (series: VmSeries[] | undefined, agent: Agent) =>
    series?.find((s) => s.metric.__name__?.startsWith('system.network.packet.count') && s.metric['network.interface.name'] === agent.dataIf)?.values.at(-1);
  await until('every host\'s exact packet count', 120_000, () => {
    const hosts = byHost(vm.series('system.network.packet.count'), (s) => s.metric);
    return fleet.agents.every((a) => packets(hosts.get(hostName(a)), a) === a.index + 2) ? true : undefined;
  }, 1000);

  // Apart: each host's series name only its own interface and its own instance id.
  const all = byHost(vm.seriesLabels(), (s) => s);
  assert.equal([...all.keys()].filter((h) => h.startsWith('fleet-host-')).length, SIZE);
  for (const a of fleet.agents) {
    for (const s of all.get(hostName(a)) ?? []) {
      const iface = s['network.interface.name'];
      if (iface !== undefined) assert.equal(iface, a.dataIf, `${hostName(a)} has a series of ${iface}`);
      assert.equal(s['service.instance.id'], `fleet-${a.index}`);
    }
  }

  // Ingest per agent per interval: wire bytes on the export link, series stored per host.
  const before = fleet.agents.map((a) => fleet.exportBytes(a));
  await sleep(MEASURED_INTERVALS * INTERVAL_S * 1000);
  const bytes = fleet.agents.map((a, i) => (fleet.exportBytes(a) - before[i]!) / MEASURED_INTERVALS);
  const series = all; // series per host as stored above (a second full listing is slow on a loaded machine)
  const summary = (pick: (a: Agent) => boolean) => {
    const agents = fleet.agents.filter(pick);
    const b = agents.map((a) => bytes[a.index]!);
    const n = agents.map((a) => series.get(hostName(a))?.length ?? 0);
    return { agents: agents.length, seriesPerAgent: [Math.min(...n), Math.max(...n)], bytesPerAgentPerInterval: [Math.round(Math.min(...b)), Math.round(Math.max(...b))] };
  };
  const report = { intervalSeconds: INTERVAL_S, probes: ['xdp_counter', 'flow_stats'], uncompressed: summary((a) => !gzip(a)), gzip: summary(gzip) };
  t.diagnostic(`fleet ingest: ${JSON.stringify(report)}`);
  for (const b of bytes) assert.ok(b > 0, 'every agent exported during the window');

  for (const c of collectors) c.child.kill('SIGTERM');
  for (const c of collectors) assert.equal(await exited(c.child), 0, `collector ${c.agent.index}:\n${c.output()}`);
});
