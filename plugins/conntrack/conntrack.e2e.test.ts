/**
 * conntrack through the real collector: `netprobe run` exports a closed connection as an
 * OTLP log record (captured as OTLP/HTTP JSON) and its counters as OTLP metrics; nothing
 * stays attached after SIGTERM or SIGKILL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { TestCgroup } from '../../test/helpers/cgroup';
import { linksOfProgram } from '../../test/helpers/bpftool';
import { exited, startCapturedRun, startCollector, until } from '../../test/helpers/collector';
import { capturedLogRecords, capturedMetrics, plainAttributes } from '../../test/helpers/otlp-json';
import { startServer, runClient } from '../../test/helpers/tcp';

/** Every captured log record, attributes flattened to their values. */
function closeRecords(dir: string): Array<{ eventName?: string; attributes: Record<string, unknown> }> {
  return capturedLogRecords(dir).map((r) => ({ eventName: r.eventName, attributes: plainAttributes(r.attributes) }));
}

test('netprobe run exports closed connections over OTLP and detaches on SIGTERM and SIGKILL', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  const cgroup = TestCgroup.create();
  t.after(() => {
    net.cleanup();
    cgroup.remove();
  });
  await startServer(net, cgroup, net.nsB, net.ipB, 7300);
  // preexisting off: the collector runs in nsB, but keep it from touching any socket it did not see start.
  const { capture: captureDir, yaml, child, output } = await startCapturedRun(net, net.nsB, {
    probes: { conntrack: `{ cgroup: ${cgroup.path}, preexisting: false }` }, interval: '500ms', keepMounts: true,
  });
  assert.equal(linksOfProgram('conntrack_sock_ops').length, 1, 'attached through a bpf_link');

  const [clientPort] = runClient(net, cgroup, net.nsA, net.ipB, 7300, [{ request: 1234, response: 4321, holdMs: 0, end: 'close' }]);
  const closes = await until('two close log records over OTLP', 15_000, () => {
    const found = closeRecords(captureDir).filter((r) => r.eventName === 'netprobe.tcp.connection.closed');
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
  const attached = closeRecords(captureDir).find((r) => r.eventName === 'netprobe.probe.attached');
  assert.equal(attached?.attributes['netprobe.attach.cgroup'], cgroup.dir, 'a cgroup attachment names its cgroup');
  assert.equal(attached?.attributes['network.interface.name'], undefined);

  // The opened counter arrives as an OTLP sum: monotonic, cumulative, one connection opened as client.
  const opened = await until('netprobe.tcp.connection.opened in an OTLP metrics request', 10_000, () => capturedMetrics(captureDir)
    .filter((m) => m.name === 'netprobe.tcp.connection.opened').pop());
  assert.ok(opened.sum, `an OTLP sum, not ${Object.keys(opened).join(', ')}`);
  assert.equal(opened.sum.isMonotonic, true);
  assert.equal(opened.sum.aggregationTemporality, 2, 'cumulative');
  const asClient = opened.sum.dataPoints.find((p) => p.attributes?.some((a) => a.key === 'netprobe.connection.role' && a.value.stringValue === 'client'));
  assert.equal(Number(asClient?.asInt), 1, 'one connection opened as client');

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, `collector did not exit cleanly:\n${output()}`);
  assert.equal(linksOfProgram('conntrack_sock_ops').length, 0, 'detached on SIGTERM');

  const again = await startCollector(net, net.nsB, yaml, { keepMounts: true });
  assert.equal(linksOfProgram('conntrack_sock_ops').length, 1);
  again.child.kill('SIGKILL');
  await exited(again.child);
  await until('the kernel to drop the link after SIGKILL', 5_000, () => (linksOfProgram('conntrack_sock_ops').length === 0 ? true : undefined));
});
