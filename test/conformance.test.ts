/**
 * Contracts every probe plugin must keep, run for each entry in the registry:
 * a schema whose defaults validate, conventional metric names, a BPF object that
 * has the maps it declares, and a lifecycle where stop is safe before start and
 * twice, a failed start releases everything, and collect reports only declared data.
 * Probes watch interfaces or a cgroup: the kernel test offers both, and sends UDP and
 * one TCP exchange from processes in the test cgroup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { plugins } from '../plugins/registry';
import { parseConfig } from '../core/config/load';
import { BpfObject } from '../core/bpf/object';
import { ProbeRunner } from '../core/plugin/runner';
import { createLogger } from '../core/log';
import { kernelTestsPossible } from './helpers/kernel';
import { TestNet } from './helpers/netns';
import { ProbeHarness } from './helpers/harness';
import { TestCgroup } from './helpers/cgroup';
import { startServer, runClient, failingConnect } from './helpers/tcp';
import type { EmittedEvent } from './helpers/harness';
import type { Attributes, LogRecordSpec } from '../core/plugin/types';
import { PROBE_ID_ATTRIBUTE } from '../core/telemetry/probe-metrics';
import type { NetprobeError } from '../core/errors';
import { stringify } from 'yaml';
import { patience, slowdown } from './helpers/slowdown';
import { parseDuration } from '../core/config/duration';

/**
 * Declared log-record attributes that the traffic below cannot cause, and why. Everything
 * else a plugin declares must show up, so a declared attribute that is never emitted fails.
 */
const PEER_NAME = 'netprobe.peer.name'; // needs the dns probe running beside: test/peer-names.test.ts
const NOT_PRODUCED_HERE: Record<string, readonly string[]> = {
  // Pre-existing connections (opened before the probe started) only; and a socket error at close.
  'netprobe.tcp.connection.closed': ['network.local.address', 'network.local.port', 'network.peer.address', 'network.peer.port', 'error.type', PEER_NAME],
  'netprobe.tcp.connect.failed': [PEER_NAME],
  // Flows' process.* needs process_identity, off in the example (the probe sees the namespace's
  // /sys, without the cgroup mount): plugins/flow-stats/process-identity.test.ts covers them.
  'netprobe.flow.end': [PEER_NAME, 'process.pid', 'process.executable.name', 'process.linux.cgroup'],
  'netprobe.flow.update': [PEER_NAME, 'process.pid', 'process.executable.name', 'process.linux.cgroup'],
  // The test link carries no VLAN tags and, its neighbours pinned, no ARP.
  'netprobe.capture.packet': ['netprobe.capture.vlan.id', 'netprobe.capture.ether_type'],
  // No ICMP packet is dropped by this traffic (pings are answered), and no dns probe names peers.
  'netprobe.drop': ['netprobe.icmp.type', 'netprobe.icmp.code', PEER_NAME],
};

/** How OTLP encodes a value: the SDK sends an integral number as an int, any other as a double. */
const otlpType = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'double') : typeof v);
/** Attribute name -> type -> where it was first seen with that type, over every probe. */
const attributeTypes = new Map<string, Map<string, string>>();
function noteTypes(attributes: Attributes, where: string): void {
  for (const [name, value] of Object.entries(attributes)) {
    const types = attributeTypes.get(name) ?? new Map<string, string>();
    if (!types.has(otlpType(value))) types.set(otlpType(value), `${where} (${JSON.stringify(value)})`);
    attributeTypes.set(name, types);
  }
}
const typeConflicts = () => [...attributeTypes].filter(([, types]) => types.size > 1).map(([name, types]) => `${name}: ${[...types].map(([type, where]) => `${type} in ${where}`).join(' vs ')}`);

/**
 * Traffic that makes every probe report everything it can: UDP, a TCP exchange and a
 * refused connect from the test cgroup, pings (one in IP fragments) over IPv4 and IPv6,
 * and a DNS query with its answer.
 */
async function sendEveryKindOfTraffic(net: TestNet, cgroup: TestCgroup): Promise<void> {
  net.sendUdp([100, 200]);
  await startServer(net, cgroup, net.nsB, net.ipB, 7100);
  runClient(net, cgroup, net.nsA, net.ipB, 7100, [{ request: 100, response: 100, holdMs: 0, end: 'close' }]);
  assert.equal(failingConnect(net, cgroup, net.nsA, net.ipB, 7101), 'ECONNREFUSED');
  net.ping(net.ipB, 2);
  net.ping(net.ip6B, 2);
  net.ping(net.ipB, 1, 2000);
  net.ping(net.ip6B, 1, 2000);
  // A DNS server that answers every query with no records (the query with its QR bit set).
  const server = net.spawn(net.nsB, [process.execPath, '-e', `
    const s = require('node:dgram').createSocket('udp4');
    s.on('message', (m, from) => { m[2] |= 0x80; s.send(m, from.port, from.address); });
    s.bind(53, '${net.ipB}', () => console.log('up'));`]);
  await new Promise((r) => server.stdout!.once('data', r));
  const question = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from('\x0bconformance\x04test\x00', 'latin1'), Buffer.from([0, 1, 0, 1])]);
  net.exec(net.nsA, [process.execPath, '-e', `
    const s = require('node:dgram').createSocket('udp4');
    s.on('message', () => s.close());
    s.send(Buffer.from('${question.toString('hex')}', 'hex'), 53, '${net.ipB}');
    setTimeout(() => process.exit(1), 5000).unref();`]);
  server.kill();
}

const METRIC_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/**
 * Under emulation (the kernel matrix) sending the traffic takes longer than an example's
 * idle_timeout: flows would end idle at the first collect, before their first update record
 * is due. The timeout is stretched like every other wait; the update interval is not.
 */
function stretchIdleTimeout(example: Record<string, unknown>): Record<string, unknown> {
  if (slowdown === 1 || typeof example.idle_timeout !== 'string') return example;
  return { ...example, idle_timeout: `${(parseDuration(example.idle_timeout) * slowdown) / 1000}s` };
}

function configFor(type: string, probe: Record<string, unknown>): string {
  return stringify({
    probes: { [type]: probe },
    exporters: { debug: {} },
    service: { pipelines: { metrics: { probes: [type], exporters: ['debug'] }, logs: { probes: [type], exporters: ['debug'] } } },
  });
}

test('the registry has unique plugin types', () => {
  const types = plugins.map((p) => p.type);
  assert.equal(new Set(types).size, types.length);
});

for (const plugin of plugins) {
  /** A test network and cgroup (removed after the test), and the plugin's example config on them. */
  const testbed = (t: { after(fn: () => void): void }) => {
    const net = TestNet.create({ ipv6: true });
    const cgroup = TestCgroup.create();
    t.after(() => {
      net.cleanup();
      cgroup.remove();
    });
    const example = stretchIdleTimeout(plugin.exampleConfig({ interfaces: [net.vB], cgroup: cgroup.path }));
    // ip netns exec hides the cgroup v2 mount; a probe given the cgroup enters only the network namespace.
    return { net, cgroup, yaml: configFor(plugin.type, example), keepMounts: 'cgroup' in example };
  };

  test(`${plugin.type}: an empty config gets defaults that pass the plugin's own checks`, () => {
    const config = parseConfig(configFor(plugin.type, {}), 'conformance', plugins, {});
    const defaults = config.probes[plugin.type];
    assert.ok(defaults && Object.keys(defaults).length > 0, 'schema declares defaults');
    assert.deepEqual(plugin.validate?.(defaults) ?? [], []);
    parseConfig(configFor(plugin.type, plugin.exampleConfig({ interfaces: ['eth9'] })), 'example', plugins, {});
  });

  test(`${plugin.type}: metrics and log records follow the naming conventions`, () => {
    assert.match(plugin.type, /^[a-z][a-z0-9_]*$/);
    assert.ok(plugin.description.length > 10);
    const names = plugin.metrics.map((m) => m.name);
    assert.equal(new Set(names).size, names.length, 'metric names are unique');
    for (const m of plugin.metrics) {
      assert.match(m.name, METRIC_NAME);
      assert.doesNotMatch(m.name, /_total$|\.total$/, `${m.name}: no _total suffix (OTel names)`);
      assert.ok(m.unit.length > 0 && !/\s/.test(m.unit), `${m.name}: UCUM unit`);
      assert.ok(m.description.length > 0, `${m.name}: description`);
      for (const a of m.attributes) assert.match(a, ATTRIBUTE_NAME);
    }
    for (const r of plugin.logRecords) {
      assert.match(r.eventName, METRIC_NAME);
      for (const a of r.attributes) assert.match(a, ATTRIBUTE_NAME);
    }
  });

  test(`${plugin.type}: the BPF object has BTF and every map it declares`, () => {
    // Opening parses the ELF and BTF without touching the kernel.
    const object = BpfObject.open(path.join(plugin.directory, plugin.object));
    try {
      for (const name of [...plugin.reads.maps, ...plugin.reads.ringBuffers]) {
        assert.ok(object.btf.types.some((t) => t.name === name), `map ${name} not in ${plugin.object}`);
      }
    } finally {
      object.close();
    }
  });

  test(`${plugin.type}: stop is safe before start and twice; a start that fails at once is an error with a code`, async () => {
    const log = createLogger('conformance');
    const config = parseConfig(configFor(plugin.type, plugin.exampleConfig({ interfaces: ['np-absent0'], cgroup: '/np-absent0' })), 'c', plugins, {}).probes[plugin.type];
    const unstarted = new ProbeRunner(plugin.type, plugin, config, log, () => {}, new Map());
    await unstarted.stop();
    await unstarted.stop();
    const failing = new ProbeRunner(plugin.type, plugin, config, log, () => {}, new Map());
    await assert.rejects(failing.start(), (err: NetprobeError) => /np-absent0/.test(err.message) && /^NETPROBE_ERR_/.test(err.code));
    assert.equal(failing.attachments.length, 0);
    await failing.stop();
  });

  test(`${plugin.type}: in the kernel, a start that fails after attaching releases everything; start, stop, start again works`, { timeout: patience(120_000) }, async (t) => {
    if (!kernelTestsPossible(t)) return;
    const { net, yaml, keepMounts } = testbed(t);
    const failed = await ProbeHarness.failedStart(net, net.nsB, yaml, { keepMounts });
    assert.match(String(failed.error), /injected failure after attaching/, String(failed.stderr));
    assert.equal(failed.code, 'NETPROBE_ERR_ATTACH', 'the failure keeps its code through the runner');
    const released = failed.released as { programIds: number[]; stillLoaded: number[]; attachments: number };
    assert.ok(released.programIds.length > 0, 'the probe had loaded programs and attached one when it failed');
    assert.deepEqual(released.stillLoaded, [], 'every program it loaded is gone from the kernel (so no link or filter holds one)');
    assert.equal(released.attachments, 0);

    const { harness, ready } = await ProbeHarness.start(net, net.nsB, yaml, { keepMounts });
    try {
      assert.ok(ready.length > 0, 'attached');
      const again = await harness.restart();
      assert.deepEqual(again, ready, 'stopped and started again, it attaches the same way');
      net.sendUdp([100]);
      assert.ok((await harness.collect()).length > 0, 'and reports');
    } finally {
      await harness.stop();
    }
  });

  test(`${plugin.type}: in the kernel, it reports exactly the metrics, log records and attributes it declares, each attribute with one type`, { timeout: patience(120_000) }, async (t) => {
    if (!kernelTestsPossible(t)) return;
    const { net, cgroup, yaml, keepMounts } = testbed(t);
    const { harness, ready } = await ProbeHarness.start(net, net.nsB, yaml, { keepMounts });
    assert.ok(ready.length > 0, 'attached somewhere');
    await sendEveryKindOfTraffic(net, cgroup);
    const points = await harness.collect();
    assert.ok(points.length > 0, 'reported something after traffic');
    for (const p of points) {
      const spec = plugin.metrics.find((m) => m.name === p.metric);
      assert.ok(spec, `undeclared metric ${p.metric}`);
      for (const key of Object.keys(p.attributes)) {
        assert.ok(spec.attributes.includes(key) || key === PROBE_ID_ATTRIBUTE, `${p.metric}: undeclared attribute ${key}`);
      }
      noteTypes(p.attributes, `${plugin.type} metric ${p.metric}`);
    }

    // Log records: poll (collect drives flow updates, ring buffers drain on timers) until every
    // declared attribute of every declared record has shown up, within a bound; stop adds the
    // records of the end.
    const events: EmittedEvent[] = [];
    const missing = (spec: LogRecordSpec) => {
      const seen = new Set(events.filter((e) => e.name === spec.eventName).flatMap((e) => Object.keys(e.attributes)));
      return spec.attributes.filter((a) => !seen.has(a) && !NOT_PRODUCED_HERE[spec.eventName]?.includes(a));
    };
    for (const deadline = Date.now() + patience(15_000); Date.now() < deadline && plugin.logRecords.some((spec) => missing(spec).length > 0);) {
      await new Promise((r) => setTimeout(r, 250));
      await harness.collect();
      events.push(...(await harness.events()));
    }
    events.push(...(await harness.stop()));
    for (const spec of plugin.logRecords) {
      const records = events.filter((e) => e.name === spec.eventName);
      assert.ok(records.length > 0, `no ${spec.eventName} record after traffic that causes one`);
      assert.deepEqual(missing(spec), [], `${spec.eventName}: declared but never emitted`);
      for (const e of records) assert.ok(typeof e.body === 'string' && e.body.length > 0, `${spec.eventName}: a one-line body`);
    }
    for (const e of events) {
      const spec = plugin.logRecords.find((r) => r.eventName === e.name);
      assert.ok(spec, `undeclared log record ${e.name}`);
      for (const key of Object.keys(e.attributes)) assert.ok(spec.attributes.includes(key), `${e.name}: undeclared attribute ${key}`);
      noteTypes(e.attributes, `${plugin.type} record ${e.name}`);
    }
    assert.deepEqual(typeConflicts(), [], 'an attribute changes type (a backend keeps the first type it sees)');
  });
}
