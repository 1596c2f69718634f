/**
 * Process identity in the kernel: a server and a client, each in a test cgroup of its
 * own with a known PID, open and accept a connection; each end's record carries the
 * PID, executable name and cgroup of its process (the client: the one that connected;
 * the server: the one that created the listening socket).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { TestCgroup } from '../../test/helpers/cgroup';
import { ProbeHarness, type EmittedEvent } from '../../test/helpers/harness';
import { CLOSED_EVENT } from './plugin';
import { patience } from '../../test/helpers/slowdown';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The shell moves itself into the cgroup (its directory is $0), then becomes the command. */
const ENTER = 'echo $$ > "$0/cgroup.procs" && exec "$@"';

const SERVER = `
require('node:net').createServer((s) => { s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); s.on('error', () => {}); })
  .listen(Number(process.argv[2]), process.argv[1], () => console.log('up'));`;
const CLIENT = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let got = 0, port = 0;
s.on('connect', () => { port = s.localPort; s.write(Buffer.alloc(100)); });
s.on('data', (d) => { got += d.length; if (got === 100) s.end(); });
s.on('close', () => console.log(JSON.stringify({ pid: process.pid, port })));`;

test('connection records carry the PID, executable name and cgroup of the process at each end', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  const parent = TestCgroup.create();
  const dirs = { srv: path.join(parent.dir, 'srv'), cli: path.join(parent.dir, 'cli') };
  for (const d of Object.values(dirs)) fs.mkdirSync(d);
  t.after(() => {
    net.cleanup();
    for (const d of Object.values(dirs)) {
      try {
        fs.writeFileSync(path.join(d, 'cgroup.kill'), '1');
      } catch { /* Linux < 5.14: the namespaces' cleanup killed them */ }
    }
    for (let i = 0; i < 50; i++) {
      try {
        for (const d of Object.values(dirs)) if (fs.existsSync(d)) fs.rmdirSync(d);
        break;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    parent.remove();
  });

  const { harness } = await ProbeHarness.start(net, net.nsB, `
probes:
  conntrack: { cgroup: ${parent.path} }
exporters: { debug: }
service: { pipelines: { logs: { probes: [conntrack], exporters: [debug] } } }
`, { keepMounts: true });
  // The listener is created after the probe started: its socket() is seen.
  const server = net.spawnKeepingMounts(net.nsB, ['sh', '-c', ENTER, dirs.srv, process.execPath, '-e', SERVER, net.ipB, '7300']);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), patience(10_000));
    server.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const clients = [0, 1].map(() => JSON.parse(net.execKeepingMounts(net.nsA, ['sh', '-c', ENTER, dirs.cli, process.execPath, '-e', CLIENT, net.ipB, '7300'])) as { pid: number; port: number });

  const events: EmittedEvent[] = [];
  const closed = () => events.filter((e) => e.name === CLOSED_EVENT);
  for (let i = 0; i < 100 && closed().length < 4; i++) {
    events.push(...(await harness.events()));
    await sleep(50);
  }
  const name = path.basename(process.execPath).slice(0, 15);
  for (const c of clients) {
    const ends = closed().filter((e) => e.attributes['client.port'] === c.port);
    const client = ends.find((e) => e.attributes['netprobe.connection.role'] === 'client');
    const srv = ends.find((e) => e.attributes['netprobe.connection.role'] === 'server');
    assert.ok(client && srv, `both ends of connection ${c.port}`);
    assert.equal(client.attributes['process.pid'], c.pid, 'the client process');
    assert.equal(client.attributes['process.executable.name'], name);
    assert.equal(client.attributes['process.linux.cgroup'], `${parent.path}/cli`);
    assert.equal(srv.attributes['process.pid'], server.pid, 'the listening process');
    assert.equal(srv.attributes['process.executable.name'], name);
    assert.equal(srv.attributes['process.linux.cgroup'], `${parent.path}/srv`);
  }
  assert.notEqual(clients[0]!.pid, clients[1]!.pid);
  await harness.stop();
});
