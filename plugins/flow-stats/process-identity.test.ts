/**
 * Process identity on flows, in the kernel: processes with known PIDs, each in a test
 * cgroup, in a test namespace, open TCP and UDP flows (a client of each, and a server
 * that accepts); flow records and top-flow series of both directions carry the local
 * process. A flow with no local socket, and one whose process is outside the watched
 * cgroup, carry none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { TestCgroup } from '../../test/helpers/cgroup';
import { ProbeHarness, type EmittedEvent } from '../../test/helpers/harness';
import { patience } from '../../test/helpers/slowdown';

const TCP_ECHO = `
require('node:net').createServer((s) => { s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); s.on('error', () => {}); })
  .listen(Number(process.argv[2]), process.argv[1], () => console.log('up'));`;
const UDP_ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(process.argv[2]), process.argv[1], () => console.log('up'));`;
/** Prints {pid, port} once 100 bytes came back over TCP. */
const TCP_CLIENT = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let got = 0, port = 0;
s.on('connect', () => { port = s.localPort; s.write(Buffer.alloc(100)); });
s.on('data', (d) => { got += d.length; if (got === 100) s.end(); });
s.on('close', () => console.log(JSON.stringify({ pid: process.pid, port })));`;
/** Prints {pid, port} once its datagram came back over UDP. */
const UDP_CLIENT = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', () => { console.log(JSON.stringify({ pid: process.pid, port: s.address().port })); s.close(); });
s.send(Buffer.alloc(100), Number(process.argv[2]), process.argv[1]);
setTimeout(() => process.exit(1), 10000).unref();`;

interface Flow { direction: string; transport: string; localPort: number; attributes: EmittedEvent['attributes'] }

function started(child: import('node:child_process').ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), patience(10_000));
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('flows of local TCP and UDP sockets carry their process (client and server), flows without one carry none', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  const parent = TestCgroup.create();
  const cli = parent.child('cli');
  const srv = parent.child('srv');
  t.after(() => {
    net.cleanup();
    cli.remove();
    srv.remove();
    parent.remove();
  });

  const { harness } = await ProbeHarness.start(net, net.nsA, `
probes:
  flow_stats: { interfaces: [${net.vA}], idle_timeout: 60s, process_identity: true, process_cgroup: ${parent.path} }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] }, logs: { probes: [flow_stats], exporters: [debug] } } }
`, { mountCgroup: true });

  // Peers in nsB, outside the watched cgroup; a local TCP server in nsA, in srv.
  const peers = [net.spawn(net.nsB, [process.execPath, '-e', TCP_ECHO, net.ipB, '7300']), net.spawn(net.nsB, [process.execPath, '-e', UDP_ECHO, net.ipB, '7301'])];
  const local = srv.spawn(net, net.nsA, [process.execPath, '-e', TCP_ECHO, net.ipA, '7302']);
  await Promise.all([...peers, local].map(started));
  const tcp = JSON.parse(cli.exec(net, net.nsA, [process.execPath, '-e', TCP_CLIENT, net.ipB, '7300'])) as { pid: number; port: number };
  const udp = JSON.parse(cli.exec(net, net.nsA, [process.execPath, '-e', UDP_CLIENT, net.ipB, '7301'])) as { pid: number; port: number };
  // A client in nsB (no process of ours) connects to the local server.
  const remote = JSON.parse(net.exec(net.nsB, [process.execPath, '-e', TCP_CLIENT, net.ipA, '7302'])) as { pid: number; port: number };
  // No local socket: UDP to a closed port of nsA. Outside the cgroup: the test's own sender.
  net.exec(net.nsB, [process.execPath, '-e', `const s = require('node:dgram').createSocket('udp4'); s.send(Buffer.alloc(10), 9, '${net.ipA}', () => s.close());`]);
  net.sendUdp([10], net.ipB, 7399);

  const points = await harness.collect();
  const events = await harness.stop();
  const flows: Flow[] = events.filter((e) => e.name === 'netprobe.flow.end').map((e) => {
    const a = e.attributes;
    const direction = a['network.io.direction'] as string;
    return { direction, transport: a['network.transport'] as string, localPort: Number(direction === 'transmit' ? a['source.port'] : a['destination.port']), attributes: a };
  });
  const both = (transport: string, localPort: number) => {
    const found = flows.filter((f) => f.transport === transport && f.localPort === localPort);
    assert.deepEqual(found.map((f) => f.direction).sort(), ['receive', 'transmit'], `${transport} flows of local port ${localPort}: ${JSON.stringify(flows)}\n${harness.log}`);
    return found;
  };
  const name = path.basename(process.execPath).slice(0, 15);
  const expectProcess = (found: Flow[], pid: number, cgroup: string) => {
    for (const f of found) {
      assert.equal(f.attributes['process.pid'], pid, `${f.transport} ${f.direction} ${f.localPort}`);
      assert.equal(f.attributes['process.executable.name'], name);
      assert.equal(f.attributes['process.linux.cgroup'], cgroup);
    }
  };
  expectProcess(both('tcp', tcp.port), tcp.pid, cli.path);
  expectProcess(both('udp', udp.port), udp.pid, cli.path);
  expectProcess(both('tcp', 7302), local.pid!, srv.path); // accepted: the listener's process
  assert.notEqual(tcp.pid, udp.pid);
  assert.ok(remote.port > 0);

  const unowned = flows.filter((f) => f.transport === 'udp' && (f.localPort === 9 || (f.direction === 'transmit' && f.attributes['destination.port'] === 7399)));
  assert.equal(unowned.length, 2, `the closed-port and outside-cgroup flows: ${JSON.stringify(flows)}`);
  for (const f of unowned) for (const a of ['process.pid', 'process.executable.name', 'process.linux.cgroup']) assert.equal(f.attributes[a], undefined, `${a} on ${JSON.stringify(f.attributes)}`);

  // The top-flow series carry the same attributes, one type each.
  const series = points.filter((p) => p.metric === 'netprobe.flow.io' && p.attributes['source.port'] === tcp.port);
  assert.ok(series.length > 0, 'the TCP client flow is a top flow');
  for (const p of series) assert.equal(p.attributes['process.pid'], tcp.pid);
});

test('a process_cgroup that does not exist fails the start with NETPROBE_ERR_ATTACH, naming it', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const missing = `/netprobe-no-such-cgroup-${process.pid}`;
  await assert.rejects(ProbeHarness.start(net, net.nsA, `
probes:
  flow_stats: { interfaces: [${net.vA}], process_identity: true, process_cgroup: ${missing} }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] } } }
`, { mountCgroup: true }), (err: Error) => {
    assert.match(err.message, new RegExp(`"code":"NETPROBE_ERR_ATTACH"`));
    assert.match(err.message, new RegExp(`cgroup ${missing} not found`));
    return true;
  });
});
