/** The captured-run config the export tests share is a valid collector.yaml that means what they ask. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugins } from '../../plugins/registry';
import { parseConfig } from '../../core/config/load';
import { capturedRunConfig } from './collector';

test('capturedRunConfig: every probe feeds the capture (metrics and logs), extra exporters only metrics', () => {
  const config = parseConfig(capturedRunConfig({
    probes: { 'xdp_counter/a': '{ interfaces: [veth9] }', flow_stats: '{ interfaces: [veth9], idle_timeout: 2s }' },
    interval: '500ms',
    port: 4320,
    moreMetricsExporters: { prometheus: '{ host: 127.0.0.1, port: 9464 }' },
    service: 'telemetry: { kernel_stats: true }',
  }), 'test', plugins, {});
  assert.deepEqual(Object.keys(config.probes), ['xdp_counter/a', 'flow_stats']);
  assert.equal((config.exporters.otlp_http as { endpoint: string }).endpoint, 'http://127.0.0.1:4320');
  assert.equal(config.service.intervalMs, 500);
  assert.equal(config.service.telemetry.kernel_stats, true);
  assert.deepEqual(config.service.pipelines.metrics, { probes: ['xdp_counter/a', 'flow_stats'], exporters: ['otlp_http', 'prometheus'], signal: 'metrics' });
  assert.deepEqual(config.service.pipelines.logs, { probes: ['xdp_counter/a', 'flow_stats'], exporters: ['otlp_http'], signal: 'logs' });
});

test('capturedRunConfig: logs: false leaves the logs pipeline out; the defaults are 1s and port 4319', () => {
  const config = parseConfig(capturedRunConfig({ probes: { xdp_counter: '{ interfaces: [veth9] }' }, logs: false }), 'test', plugins, {});
  assert.equal(config.service.pipelines.logs, undefined);
  assert.equal(config.service.intervalMs, 1000);
  assert.equal((config.exporters.otlp_http as { endpoint: string }).endpoint, 'http://127.0.0.1:4319');
});
