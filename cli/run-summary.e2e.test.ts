/**
 * The default run as a new user sees it: `netprobe run` with every probe and `debug` at
 * `basic` prints the startup banner, then within one interval the busiest flow with the
 * peer's DNS name, the DNS line and the TCP line on stdout. OTLP goes to a port where
 * nothing listens, which must stay a quiet warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { execFileSync } from 'node:child_process';
import { kernelTestsPossible } from '../test/helpers/kernel';
import { TestNet } from '../test/helpers/netns';
import { cliPath } from '../test/helpers/paths';
import { exited, until } from '../test/helpers/collector';

test('netprobe run with every probe and debug basic prints the banner, then flows with DNS names, DNS and TCP lines', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-run-summary-'));
  fs.writeFileSync(path.join(dir, 'dnsmasq.conf'), ['no-resolv', 'no-hosts', 'bind-interfaces', `listen-address=${net.ipB}`, `host-record=db.summary.test,${net.ipB}`].join('\n') + '\n');
  net.spawn(net.nsB, ['dnsmasq', '--keep-in-foreground', `--conf-file=${path.join(dir, 'dnsmasq.conf')}`, `--pid-file=${path.join(dir, 'pid')}`, `--log-facility=${path.join(dir, 'log')}`]);
  await until('dnsmasq', 10_000, () => (net.exec(net.nsA, ['dig', `@${net.ipB}`, 'db.summary.test', '+short', '+tries=1', '+time=1']).includes(net.ipB) ? true : undefined));

  const probes = ['xdp_counter', 'flow_stats', 'dns', 'conntrack'];
  const yaml = `
probes:
  xdp_counter: { interfaces: [${net.vA}] }
  flow_stats: { interfaces: [${net.vA}], ingress_hook: tc }
  dns: { interfaces: [${net.vA}] }
  conntrack: {}
exporters:
  otlp_http: { endpoint: "http://127.0.0.1:9" }
  debug: { verbosity: basic }
service:
  interval: 3s
  pipelines:
    metrics: { probes: [${probes}], exporters: [otlp_http, debug] }
    logs: { probes: [${probes}], exporters: [otlp_http, debug] }
`;
  const file = path.join(dir, 'collector.yaml');
  fs.writeFileSync(file, yaml);
  // ip netns exec mounts a /sys without cgroup v2: mount it in that private mount namespace for conntrack.
  const child = net.spawn(net.nsA, ['sh', '-c', `mount -t cgroup2 none /sys/fs/cgroup && exec ${process.execPath} ${cliPath} run --config ${file}`]);
  let stdout = '';
  let stderr = '';
  readline.createInterface({ input: child.stdout! }).on('line', (l) => (stdout += l + '\n'));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await until('the banner', 30_000, () => (stdout.includes('Ctrl-C stops') ? true : undefined));
  assert.match(stdout, new RegExp(`^    flow_stats\\s+tc/ingress \\(tcx\\), tc/egress \\(tcx\\) on ${net.vA}$`, 'm'), stdout);
  assert.match(stdout, /^    conntrack\s+sock_ops /m);
  assert.match(stdout, /^    live view\s+sudo netprobe top/m);

  net.exec(net.nsA, ['dig', `@${net.ipB}`, 'db.summary.test', '+tries=1', '+time=1']);
  net.tcpExchange(200_000, 100_000, net.ipB, 7500);
  const flow = new RegExp(`^debug:     tcp ${net.ipA.replace(/\./g, '\\.')}:\\d+ <-> db\\.summary\\.test \\(${net.ipB.replace(/\./g, '\\.')}:7500\\)  \\S+b/s / \\S+b/s$`, 'm');
  await until('a summary with the named flow', 15_000, () => (flow.test(stdout) ? true : undefined));
  assert.match(stdout, new RegExp(`^debug:   ${net.vA}: rx \\S+b/s \\S+/s pkt, tx \\S+b/s \\S+/s pkt$`, 'm'));
  await until('the DNS and TCP lines of that interval', 10_000, () => (/^debug:   dns: .*NOERROR 1\b/m.test(stdout) && /^debug:   tcp: .*opened/m.test(stdout) ? true : undefined));
  assert.doesNotMatch(stdout, /data points/, 'basic prints the summary, not counts of data points');

  child.kill('SIGINT');
  assert.equal(await exited(child), 0, stderr);
  // Nothing listens on :9; the failure is logged, but not every interval for each signal.
  const warnings = stderr.split('\n').filter((l) => l.includes('export failed')).length;
  assert.ok(warnings >= 1 && warnings <= 4, `export failure warnings: ${warnings}\n${stderr}`);
  assert.equal(JSON.parse(execFileSync('ip', ['netns', 'exec', net.nsA, 'bpftool', '-j', 'net', 'show', 'dev', net.vA], { encoding: 'utf8' }))[0].xdp.length, 0);
});
