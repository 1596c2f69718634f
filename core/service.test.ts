import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Service } from './service';
import { parseConfig } from './config/load';
import { plugins } from '../plugins/registry';
import { createLogger } from './log';

const config = parseConfig(`
exporters: { debug: }
service: { interval: 1s, pipelines: { metrics: { exporters: [debug] } } }
`, 'inline', plugins, {});

test('shutdown is safe before start and twice', async () => {
  const service = new Service(config, plugins, createLogger('test'), {});
  await service.shutdown();
  await service.shutdown();
});

test('a started service stops cleanly, twice', async () => {
  const service = new Service(config, plugins, createLogger('test'), {});
  await service.start();
  assert.deepEqual(service.exporterDescriptions, ['debug: metrics to stdout']);
  await Promise.all([service.shutdown(), service.shutdown()]);
});
