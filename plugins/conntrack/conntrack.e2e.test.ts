/**
 * conntrack through the real collector: `netprobe run` exports a closed connection as an
 * OTLP log record (captured as OTLP/HTTP JSON) and its counters as OTLP metrics; nothing
 * stays attached after SIGTERM or SIGKILL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { TestCgroup } from '../../test/helpers/cgroup';
import { linksOfProgram } from '../../test/helpers/bpftool';
import { cliPath } from '../../test/helpers/paths';
import { startServer, runClient } from '../../test/helpers/tcp';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `netprobe run` in nsB, entering only its network namespace (the cgroup v2 mount stays visible). */
async function startCollector(net: TestNet, yaml: string): Promise<{ child: ChildProcess; output: () => string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-conntrack-')), 'collector.yaml');
  fs.writeFileSync(file, yaml);
  const child = net.spawnKeepingMounts(net.nsB, [process.execPath, cliPath, 'run', '--config', file]);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const lines = readline.createInterface({ input: child.stdout! });
  lines.on('line', (line) => (output += line + '\n'));
  await until('the collector to run', 20_000, () => (output.includes(' running with ') ? true : undefined));
  return { child, output: () => output };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

interface OtlpLogRecord { eventName?: string; attributes: Array<{ key: string; value: Record<string, unknown> }> }

/** Every log record in the captured OTLP/HTTP JSON requests, attributes flattened. */
function capturedLogRecords(dir: string): Array<{ eventName?: string; attributes: Record<string, unknown> }> {
  return fs.readdirSync(dir).filter((f) => f.includes('v1_logs')).flatMap((f) => {
    const body = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as {
      resourceLogs: Array<{ scopeLogs: Array<{ logRecords: OtlpLogRecord[] }> }>;
    };
    return body.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords)).map((r) => ({
      eventName: r.eventName,
      attributes: Object.fromEntries(r.attributes.map((a) => [a.key, Object.values(a.value)[0]])),
    }));
  });
}

test('netprobe run exports closed connections over OTLP and detaches on SIGTERM and SIGKILL', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  const cgroup = TestCgroup.create();
  t.after(() => {
    net.cleanup();
    cgroup.remove();
  });
  const captureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-otlp-'));
  net.spawn(net.nsB, [process.execPath, '-e', `
    let n = 0;
    require('node:http').createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        require('node:fs').writeFileSync(${JSON.stringify(captureDir)} + '/' + (n++) + '-' + req.url.replace(/\\W/g, '_') + '.json', Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    }).listen(4319, '127.0.0.1');`]);
  await startServer(net, cgroup, net.nsB, net.ipB, 7300);
  // preexisting off: the collector runs in nsB, but keep it from touching any socket it did not see start.
  const yaml = `
probes:
  conntrack: { cgroup: ${cgroup.path}, preexisting: false }
exporters:
  otlp_http: { endpoint: http://127.0.0.1:4319, protocol: http/json }
service:
  interval: 500ms
  pipelines:
    metrics: { probes: [conntrack], exporters: [otlp_http] }
    logs: { probes: [conntrack], exporters: [otlp_http] }
`;
  const { child, output } = await startCollector(net, yaml);
  assert.equal(linksOfProgram('conntrack_sock_ops').length, 1, 'attached through a bpf_link');

  const [clientPort] = runClient(net, cgroup, net.nsA, net.ipB, 7300, [{ request: 1234, response: 4321, holdMs: 0, end: 'close' }]);
  const closes = await until('two close log records over OTLP', 15_000, () => {
    const found = capturedLogRecords(captureDir).filter((r) => r.eventName === 'netprobe.tcp.connection.closed');
    return found.length >= 2 ? found : undefined;
  });
  assert.equal(closes.length, 2);
  const client = closes.find((r) => r.attributes['netprobe.connection.role'] === 'client')!;
  const server = closes.find((r) => r.attributes['netprobe.connection.role'] === 'server')!;
  assert.equal(Number(client.attributes['client.port']), clientPort);
  assert.equal(Number(client.attributes['netprobe.connection.bytes_sent']), 1234);
  assert.equal(Number(client.attributes['netprobe.connection.bytes_received']), 4321);
  assert.equal(Number(server.attributes['netprobe.connection.bytes_sent']), 4321);
  assert.equal(server.attributes['server.address'], net.ipB);
  assert.equal(server.attributes['netprobe.probe.id'], 'conntrack');
  const attached = capturedLogRecords(captureDir).find((r) => r.eventName === 'netprobe.probe.attached');
  assert.equal(attached?.attributes['netprobe.attach.cgroup'], cgroup.dir, 'a cgroup attachment names its cgroup');
  assert.equal(attached?.attributes['network.interface.name'], undefined);

  // The opened counter arrives as an OTLP sum.
  await until('netprobe.tcp.connection.opened in an OTLP metrics request', 10_000, () => (fs.readdirSync(captureDir)
    .filter((f) => f.includes('v1_metrics'))
    .some((f) => /"name":"netprobe\.tcp\.connection\.opened"/.test(fs.readFileSync(path.join(captureDir, f), 'utf8'))) ? true : undefined));

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, `collector did not exit cleanly:\n${output()}`);
  assert.equal(linksOfProgram('conntrack_sock_ops').length, 0, 'detached on SIGTERM');

  const again = await startCollector(net, yaml);
  assert.equal(linksOfProgram('conntrack_sock_ops').length, 1);
  again.child.kill('SIGKILL');
  await exited(again.child);
  await until('the kernel to drop the link after SIGKILL', 5_000, () => (linksOfProgram('conntrack_sock_ops').length === 0 ? true : undefined));
});
