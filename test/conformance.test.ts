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
import { startServer, runClient } from './helpers/tcp';
import { PROBE_ID_ATTRIBUTE } from '../core/telemetry/probe-metrics';
import { stringify } from 'yaml';

const METRIC_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

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

  test(`${plugin.type}: stop is safe before start and twice; a failed start releases everything`, async () => {
    const log = createLogger('conformance');
    const config = parseConfig(configFor(plugin.type, plugin.exampleConfig({ interfaces: ['np-absent0'], cgroup: '/np-absent0' })), 'c', plugins, {}).probes[plugin.type];
    const unstarted = new ProbeRunner(plugin.type, plugin, config, log, () => {}, new Map());
    await unstarted.stop();
    await unstarted.stop();
    const failing = new ProbeRunner(plugin.type, plugin, config, log, () => {}, new Map());
    await assert.rejects(failing.start(), /np-absent0/);
    assert.equal(failing.attachments.length, 0);
    await failing.stop();
  });

  test(`${plugin.type}: in the kernel, collect reports only declared metrics and attributes`, async (t) => {
    if (!kernelTestsPossible(t)) return;
    const net = TestNet.create();
    const cgroup = TestCgroup.create();
    t.after(() => {
      net.cleanup();
      cgroup.remove();
    });
    const example = plugin.exampleConfig({ interfaces: [net.vB], cgroup: cgroup.path });
    // ip netns exec hides the cgroup v2 mount; a probe given the cgroup enters only the network namespace.
    const { harness, ready } = await ProbeHarness.start(net, net.nsB, configFor(plugin.type, example), { keepMounts: 'cgroup' in example });
    assert.ok(ready.length > 0, 'attached somewhere');
    net.sendUdp([100, 200]);
    await startServer(net, cgroup, net.nsB, net.ipB, 7100);
    runClient(net, cgroup, net.nsA, net.ipB, 7100, [{ request: 100, response: 100, holdMs: 0, end: 'close' }]);
    const points = await harness.collect();
    assert.ok(points.length > 0, 'reported something after traffic');
    for (const p of points) {
      const spec = plugin.metrics.find((m) => m.name === p.metric);
      assert.ok(spec, `undeclared metric ${p.metric}`);
      for (const key of Object.keys(p.attributes)) {
        assert.ok(spec.attributes.includes(key) || key === PROBE_ID_ATTRIBUTE, `${p.metric}: undeclared attribute ${key}`);
      }
    }
    // Log records the traffic caused (closes arrive through a ring buffer drained on a timer).
    await new Promise((r) => setTimeout(r, 300));
    for (const e of await harness.events()) {
      const spec = plugin.logRecords.find((r) => r.eventName === e.name);
      assert.ok(spec, `undeclared log record ${e.name}`);
      for (const key of Object.keys(e.attributes)) assert.ok(spec.attributes.includes(key), `${e.name}: undeclared attribute ${key}`);
    }
    await harness.stop();
  });
}
