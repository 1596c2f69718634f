/**
 * The container image (deploy/container): built without pulling any base image, run by podman
 * with the host network (here: a test namespace, which is podman's "host"), only CAP_BPF,
 * CAP_NET_ADMIN and CAP_PERFMON (every other capability dropped, not --privileged) and the
 * host's cgroup v2 mounted read-only. It attaches, answers its health endpoint, exports exact
 * counts to VictoriaMetrics, and leaves no link behind when stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { kernelTestsPossible } from './helpers/kernel';
import { repoRoot } from './helpers/paths';
import { TestNet } from './helpers/netns';
import { exited, httpGet, until } from './helpers/collector';
import { backendsAvailable, VictoriaMetrics } from './helpers/backends';
import { linksHeldBy, liveLinkIds } from './helpers/bpftool';
import { buildImage, containerToolsAvailable, podman } from './helpers/podman';
import { cgroupV2Root } from '../core/net/cgroup';

const IMAGE = 'localhost/netprobe:test';

test('the image runs with three capabilities, attaches, exports exactly and leaves nothing attached', { timeout: 40 * 60_000 }, async (t) => {
  if (!kernelTestsPossible(t) || !backendsAvailable(t) || !containerToolsAvailable(t)) return;
  const built = buildImage(IMAGE);
  t.diagnostic(built.trim().split('\n').join(' | '));

  const net = TestNet.create();
  t.after(() => net.cleanup());
  const vm = await VictoriaMetrics.start(net, net.nsB);
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-image-'));
  fs.chmodSync(configDir, 0o755);
  fs.writeFileSync(path.join(configDir, 'collector.yaml'), `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
  conntrack:
exporters:
  otlp_http: { endpoint: ${vm.otlpEndpoint} }
extensions:
  health_check: { host: 127.0.0.1, port: 13133 }
service:
  interval: 1s
  pipelines:
    metrics: { probes: [xdp_counter, conntrack], exporters: [otlp_http] }
`, { mode: 0o644 });

  // Debian 12's podman allows bpf() only with CAP_SYS_ADMIN; the profile gates it by CAP_BPF as Docker and containerd do.
  const seccomp = path.join(configDir, 'seccomp.json');
  execFileSync(process.execPath, [path.join(repoRoot, 'deploy', 'container', 'seccomp-profile.js')], { stdio: ['ignore', fs.openSync(seccomp, 'w'), 'inherit'] });
  const name = `netprobe-test-${process.pid}`;
  const cgroup = cgroupV2Root();
  assert.ok(cgroup, 'cgroup v2 is mounted');
  const child = net.spawnKeepingMounts(net.nsB, [...podman, 'run', '--rm', '--name', name,
    '--network', 'host', '--cap-drop', 'all', '--cap-add', 'BPF,NET_ADMIN,PERFMON', '--security-opt', `seccomp=${seccomp}`,
    '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024',
    '-v', `${cgroup}:/sys/fs/cgroup:ro`, '-v', `${configDir}:/etc/netprobe:ro`,
    IMAGE]);
  t.after(() => execFileSync(podman[0]!, [...podman.slice(1), 'rm', '-f', '--ignore', name], { stdio: 'ignore' }));
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const state = await until('the container to run', 120_000, () => (child.exitCode !== null ? 'exited' : output.includes(' running with ') ? 'running' : undefined), 200);
  assert.equal(state, 'running', `podman exited with ${child.exitCode}:\n${output}`);
  assert.match(output, new RegExp(`xdp_counter\\s+xdp \\(mode=\\w+\\) on ${net.vB}`));
  assert.match(output, /conntrack\s+[^\n]*sock_ops[^\n]* on \/sys\/fs\/cgroup/);
  assert.equal(httpGet(net, 'http://127.0.0.1:13133/readyz').trim(), '{"status":"ready"}');

  const pid = Number(execFileSync(podman[0]!, [...podman.slice(1), 'inspect', '--format', '{{.State.Pid}}', name], { encoding: 'utf8' }).trim());
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, /^CapEff:\s+000000c000001000$/m, 'exactly CAP_NET_ADMIN, CAP_PERFMON, CAP_BPF');
  const links = linksHeldBy(pid);
  // One link per attachment the banner lists: XDP, and conntrack's cgroup programs (sock_create, connect4/6, sock_ops).
  const conntrackPrograms = (/conntrack\s+([^\n]*) on \/sys\/fs\/cgroup/.exec(output)?.[1] ?? '').split('), ').length;
  assert.equal(links.length, 1 + conntrackPrograms, `one XDP and ${conntrackPrograms} cgroup links, got ${links.join(', ')}`);

  const N = 21;
  net.sendUdp(Array.from({ length: N }, () => 200));
  await until(`${N} packets in VictoriaMetrics`, 30_000, () => (vm.latest('system.network.packet.count', net.vB) === N ? true : undefined), 500);

  execFileSync(podman[0]!, [...podman.slice(1), 'stop', '--time', '15', name], { stdio: 'ignore' });
  assert.equal(await exited(child), 0, `the collector did not exit cleanly on SIGTERM:\n${output}`);
  const live = liveLinkIds();
  assert.deepEqual(links.filter((id) => live.has(id)), [], 'links left after stop');
  const xdp = JSON.parse(net.exec(net.nsB, ['bpftool', '-j', 'net', 'show', 'dev', net.vB])) as Array<{ xdp?: unknown[] }>;
  assert.deepEqual(xdp.flatMap((e) => e.xdp ?? []), [], 'XDP left on the interface');
});
