/**
 * Interfaces that come and go while `netprobe run` runs (issue #17, item 7): real veth
 * pairs created and deleted in the test's namespaces. A new interface that the selection
 * picks is attached and counted exactly; a deleted one is released (no link left in the
 * collector), its series retired after its final values; one created again under the
 * same name is attached again (a new ifindex). Each change is logged and the attached
 * set is the `netprobe.interface.attached` gauge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { exited, httpGet, startCollector, until } from './helpers/collector';

/** The ifindexes of the XDP links the process holds (bpf_link fds; their fdinfo names the link type and interface). */
function xdpLinkIfindexes(pid: number): number[] {
  const found: number[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    if (!/^link_type:\s+xdp$/m.test(info)) continue;
    found.push(Number(/^ifindex:\s+(\d+)$/m.exec(info)?.[1] ?? -1));
  }
  return found.sort((a, b) => a - b);
}

/** A Prometheus sample of `metric` with `network_interface_name="<iface>"`, or undefined. */
function sampleFor(text: string, metric: string, iface: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`network_interface_name="${iface}"`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

function ifindexIn(net: TestNet, ns: string, name: string): number {
  return Number(net.exec(ns, ['cat', `/sys/class/net/${name}/ifindex`]).trim());
}

const COLLECTOR = (probes: string) => `
probes:
  ${probes}
exporters:
  prometheus: { host: 127.0.0.1, port: 9464 }
service:
  interval: 500ms
  pipelines:
    metrics: { probes: [xdp_counter], exporters: [prometheus] }
`;

test('interfaces: auto attaches an interface that appears, releases one that goes, and attaches it again when it comes back', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const { child, output } = await startCollector(net, net.nsB, COLLECTOR('xdp_counter: { interfaces: auto }'));
  const pid = child.pid!;
  const scrape = () => httpGet(net, 'http://127.0.0.1:9464/metrics');
  const packets = (iface: string) => sampleFor(scrape(), 'system_network_packet_count_total', iface);
  assert.deepEqual(xdpLinkIfindexes(pid), [ifindexIn(net, net.nsB, net.vB)]);

  // Counted before the change, on the interface that stays: its total must run on across the restart.
  net.sendUdp([10, 10]);
  await until(`${net.vB} to count 2`, 10_000, () => (packets(net.vB) === 2 ? true : undefined));

  const pair = net.addLinkPair();
  await until('the new interface to be attached', 10_000, () => (new RegExp(`interface appeared: attaching to it[^\\n]*interface=${pair.b}`).test(output()) ? true : undefined), 100);
  await until('its XDP link', 10_000, () => (xdpLinkIfindexes(pid).includes(ifindexIn(net, net.nsB, pair.b)) ? true : undefined), 100);
  await until('the attached gauge to show it', 10_000, () => (sampleFor(scrape(), 'netprobe_interface_attached', pair.b) === 1 ? true : undefined));
  net.sendUdp([20, 20, 20, 20, 20], pair.ipB);
  net.sendUdp([10]);
  await until(`exactly 5 packets on ${pair.b}`, 10_000, () => (packets(pair.b) === 5 && packets(net.vB) === 3 ? true : undefined));

  const goneIndex = ifindexIn(net, net.nsB, pair.b);
  net.removeLinkPair(pair);
  await until('the deletion to be logged', 10_000, () => (new RegExp(`interface gone: releasing it[^\\n]*interface=${pair.b}`).test(output()) ? true : undefined), 100);
  await until('its link to be released', 10_000, () => (!xdpLinkIfindexes(pid).includes(goneIndex) ? true : undefined), 100);
  assert.deepEqual(xdpLinkIfindexes(pid), [ifindexIn(net, net.nsB, net.vB)], 'only the remaining interface keeps a link');
  await until(`${pair.b}'s series to be retired`, 10_000, () => (packets(pair.b) === undefined && sampleFor(scrape(), 'netprobe_interface_attached', pair.b) === undefined ? true : undefined));
  assert.equal(packets(net.vB), 3, 'the remaining interface keeps its total across the probe\'s restart');

  net.restoreLinkPair(pair);
  const newIndex = ifindexIn(net, net.nsB, pair.b);
  assert.notEqual(newIndex, goneIndex);
  await until('the re-created interface to be attached', 10_000, () => (xdpLinkIfindexes(pid).includes(newIndex) ? true : undefined), 100);
  net.sendUdp([30, 30, 30], pair.ipB);
  await until(`exactly 3 packets on the re-created ${pair.b}`, 10_000, () => (packets(pair.b) === 3 ? true : undefined));
  assert.equal(packets(net.vB), 3);

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output());
});

test('a named interface that is deleted is released and logged, and attached again when it is created again', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const pair = net.addLinkPair();
  const { child, output } = await startCollector(net, net.nsB, COLLECTOR(`xdp_counter: { interfaces: [${pair.b}] }`));
  const pid = child.pid!;
  const scrape = () => httpGet(net, 'http://127.0.0.1:9464/metrics');
  const packets = (iface: string) => sampleFor(scrape(), 'system_network_packet_count_total', iface);
  net.sendUdp([10, 10, 10, 10], pair.ipB);
  await until(`4 packets on ${pair.b}`, 10_000, () => (packets(pair.b) === 4 ? true : undefined));

  const goneIndex = ifindexIn(net, net.nsB, pair.b);
  net.removeLinkPair(pair);
  await until('the deletion to be logged', 10_000, () => (new RegExp(`interface gone: releasing it[^\\n]*interface=${pair.b}`).test(output()) ? true : undefined), 100);
  await until('no XDP link left', 10_000, () => (xdpLinkIfindexes(pid).length === 0 ? true : undefined), 100);
  await until('the wait to be logged', 5_000, () => (/none of the probe's interfaces is left: it waits for one probe=xdp_counter/.test(output()) ? true : undefined), 100);
  await until('its series to be retired', 10_000, () => (packets(pair.b) === undefined ? true : undefined));
  // Traffic elsewhere is not its business: nothing attaches to the interface that stays.
  assert.equal(sampleFor(scrape(), 'netprobe_interface_attached', net.vB), undefined);

  net.restoreLinkPair(pair);
  const newIndex = ifindexIn(net, net.nsB, pair.b);
  assert.notEqual(newIndex, goneIndex, 'the kernel gives the re-created interface a new ifindex');
  await until('the re-created interface to be attached', 10_000, () => (xdpLinkIfindexes(pid).join() === String(newIndex) ? true : undefined), 100);
  const appeared = new RegExp(`interface appeared: attaching to it[^\\n]*interface=${pair.b}[^\\n]*ifindex=${newIndex}`);
  await until('the re-attachment to be logged', 5_000, () => (appeared.test(output()) ? true : undefined), 100);
  net.sendUdp([10, 10], pair.ipB);
  await until(`2 packets on the re-created ${pair.b}`, 10_000, () => (packets(pair.b) === 2 ? true : undefined));
  assert.equal(sampleFor(scrape(), 'netprobe_interface_attached', pair.b), 1);

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output());
});
