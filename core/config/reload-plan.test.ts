import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load';
import { planReload } from './reload-plan';
import { plugins } from '../../plugins/registry';

const config = (yaml: string) => parseConfig(yaml, 'inline', plugins, {});
const base = `
probes:
  xdp_counter: { interfaces: [eth0] }
  flow_stats: { interfaces: [eth0], ingress_hook: tc }
  dns: { interfaces: [eth0] }
exporters: { debug: {} }
service:
  pipelines:
    metrics: { probes: [xdp_counter, flow_stats, dns], exporters: [debug] }
`;

test('the same config changes nothing', () => {
  assert.deepEqual(planReload(config(base), config(base)), { keep: ['xdp_counter', 'flow_stats', 'dns'], stop: [], start: [], exporters: false, ignored: [] });
});

test('unchanged probes keep running; changed ones restart, removed ones stop (reverse order), added ones start', () => {
  const next = config(`
probes:
  xdp_counter: { interfaces: [eth0] }
  flow_stats: { interfaces: [eth0, eth1], ingress_hook: tc }
  conntrack:
exporters: { debug: {} }
service:
  pipelines:
    metrics: { probes: [xdp_counter, flow_stats, conntrack], exporters: [debug] }
`);
  // The pipelines name other probes, so the exporters' routes change too.
  assert.deepEqual(planReload(config(base), next), { keep: ['xdp_counter'], stop: ['dns', 'flow_stats'], start: ['flow_stats', 'conntrack'], exporters: true, ignored: [] });
  const sameRoutes = config(base.replace('dns: { interfaces: [eth0] }', 'dns: { interfaces: [eth1] }'));
  assert.deepEqual(planReload(config(base), sameRoutes), { keep: ['xdp_counter', 'flow_stats'], stop: ['dns'], start: ['dns'], exporters: false, ignored: [] });
});

test('a probe taken out of every pipeline stops; exporters, pipelines and the interval swap the exporters', () => {
  const next = config(base.replace('[xdp_counter, flow_stats, dns]', '[xdp_counter, flow_stats]').replace('pipelines:', 'interval: 5s\n  pipelines:'));
  assert.deepEqual(planReload(config(base), next), { keep: ['xdp_counter', 'flow_stats'], stop: ['dns'], start: [], exporters: true, ignored: [] });
  assert.equal(planReload(config(base), config(base.replace('debug: {}', 'debug: { verbosity: normal }'))).exporters, true);
});

test('what a reload cannot apply is named', () => {
  const next = config(`${base}  telemetry: { logs: { level: debug }, kernel_stats: true }\nextensions: { health_check: {} }\n`);
  assert.deepEqual(planReload(config(base), next).ignored, ['extensions', 'service::telemetry::logs', 'service::telemetry::kernel_stats']);
});
