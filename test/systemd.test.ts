/**
 * deploy/systemd/netprobe.service: systemd-analyze verify accepts it, and its ExecStartPre and
 * ExecStart run as the unit would run them: an unprivileged user (a DynamicUser uid, no
 * groups), only the unit's ambient capabilities and bounding set, no new privileges, a clean
 * environment and the cgroup v2 hierarchy read-only (ProtectControlGroups). All four probes
 * must attach and export to VictoriaMetrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { repoRoot } from './helpers/paths';
import { exited, until } from './helpers/collector';
import { backendsAvailable, VictoriaMetrics } from './helpers/backends';
import { readUnitFile, setprivCaps, unitValue } from './helpers/unit-file';

const unitPath = path.join(repoRoot, 'deploy', 'systemd', 'netprobe.service');
/** Where the unit expects the package and its config; the test maps them to this checkout and a temp file. */
const INSTALLED = '/usr/lib/netprobe';
const CONFIG = '/etc/netprobe/collector.yaml';

test('systemd-analyze verify accepts the unit without a warning', (t) => {
  const which = spawnSync('systemd-analyze', ['--version']);
  if (which.error) {
    if (process.env.CI) throw new Error('systemd-analyze (package systemd) is missing');
    t.skip('systemd-analyze is not installed');
    return;
  }
  const r = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'no warnings');
});

test('the unit\'s ExecStart, unprivileged with only its capabilities, attaches all four probes and exports', async (t) => {
  if (!kernelTestsPossible(t) || !backendsAvailable(t)) return;
  const unit = readUnitFile(unitPath);
  const service = 'Service';
  assert.equal(unitValue(unit, service, 'DynamicUser'), 'yes');
  assert.equal(unitValue(unit, service, 'NoNewPrivileges'), 'yes');
  const ambient = setprivCaps(unitValue(unit, service, 'AmbientCapabilities'));
  const bounding = setprivCaps(unitValue(unit, service, 'CapabilityBoundingSet'));
  assert.equal(ambient, 'bpf,net_admin,perfmon');

  const net = TestNet.create();
  t.after(() => net.cleanup());
  const vm = await VictoriaMetrics.start(net, net.nsB);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-unit-'));
  fs.chmodSync(dir, 0o755); // the dynamic user must read the config
  const config = path.join(dir, 'collector.yaml');
  fs.writeFileSync(config, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
  flow_stats: { interfaces: [${net.vB}], ingress_hook: tc }
  dns: { interfaces: [${net.vB}] }
  conntrack:
exporters:
  otlp_http:
    endpoint: \${env:OTEL_EXPORTER_OTLP_ENDPOINT}
service:
  interval: 1s
  pipelines:
    metrics: { probes: [xdp_counter, flow_stats, dns, conntrack], exporters: [otlp_http] }
`, { mode: 0o644 });
  const argv = (line: string) => line.split(/\s+/).map((a) => a.replace(INSTALLED, repoRoot).replace(CONFIG, config));
  const uid = 61184 + (process.pid % 4000); // systemd's DynamicUser range, no passwd entry
  const setpriv = [
    'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups',
    `--inh-caps=-all,+${ambient.replace(/,/g, ',+')}`, `--ambient-caps=-all,+${ambient.replace(/,/g, ',+')}`,
    `--bounding-set=-all,+${bounding.replace(/,/g, ',+')}`, '--no-new-privs',
  ];
  // `ip netns exec` gives a private mount namespace with a fresh /sys: the cgroup v2 hierarchy is mounted there read-only.
  const asTheUnit = (line: string) => ['sh', '-c', 'mount -t cgroup2 -o ro none /sys/fs/cgroup && exec "$@"', 'sh', ...setpriv, ...argv(line)];
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', OTEL_EXPORTER_OTLP_ENDPOINT: vm.otlpEndpoint };

  const pre = spawnSync('ip', ['netns', 'exec', net.nsB, ...asTheUnit(unitValue(unit, service, 'ExecStartPre'))], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(pre.status, 0, `ExecStartPre: ${pre.stdout}${pre.stderr}`);

  const child = net.spawn(net.nsB, asTheUnit(unitValue(unit, service, 'ExecStart')), { env });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const state = await until('the collector to run', 30_000, () => (child.exitCode !== null ? 'exited' : output.includes(' running with ') ? 'running' : undefined), 100);
  assert.equal(state, 'running', `exited with ${child.exitCode}:\n${output}`);
  const status = fs.readFileSync(`/proc/${await until('the node process', 5_000, () => nodePid(child.pid!))}/status`, 'utf8');
  assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s`, 'm'), 'runs as the unprivileged uid');
  assert.match(status, /^CapEff:\s+000000c000001000$/m, 'effective: exactly CAP_NET_ADMIN, CAP_PERFMON, CAP_BPF');

  for (const kind of ['xdp (mode=', 'tc/ingress', 'sock_ops']) assert.ok(output.includes(kind), `${kind} in:\n${output}`);
  net.sendUdp([100, 100, 100]);
  net.sendUdp([40], net.ipB, 53); // not DNS: counted as malformed by the dns probe
  net.tcpExchange(1000, 2000);
  const probes = ['xdp_counter', 'flow_stats', 'dns', 'conntrack'];
  await until('every probe\'s metrics in VictoriaMetrics', 30_000, () => {
    const seen = new Set(vm.series('').map((s) => s.metric['netprobe.probe.id']));
    return probes.every((p) => seen.has(p)) ? true : undefined;
  }, 500);
  assert.equal(vm.latest('system.network.packet.count', net.vB)! >= 3, true);

  // ExecReload, as the same unprivileged user: conntrack leaves the config and detaches, the rest runs on
  // (the pipelines change, so the exporters are replaced too).
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(/^  conntrack:\n/m, '').replace(', conntrack]', ']'));
  const mainPid = nodePid(child.pid!)!;
  const reloadLine = unitValue(unit, service, 'ExecReload').replace('$MAINPID', String(mainPid));
  const reload = spawnSync(setpriv[0]!, [...setpriv.slice(1), ...reloadLine.split(/\s+/)], { env, encoding: 'utf8', timeout: 10_000 });
  assert.equal(reload.status, 0, `ExecReload: ${reload.stdout}${reload.stderr}`);
  const reloaded = await until('the reload', 30_000, () => / reloaded [^\n]*/.exec(output)?.[0], 100);
  assert.match(reloaded, /kept=xdp_counter,flow_stats,dns stopped=conntrack started=- exporters=replaced/); // the pipelines changed

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output);
});

/** setpriv execs node in place; `ip netns exec` and sh exec too, so the spawned pid becomes node. */
function nodePid(pid: number): number | undefined {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('netprobe.js') ? pid : undefined;
}
