import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../core/config/load';
import { plugins } from '../registry';

function problems(probe: string): string[] {
  const text = `probes:\n  dns: ${probe}\nexporters: { debug: }\nservice: { pipelines: { logs: { probes: [dns], exporters: [debug] } } }\n`;
  try {
    parseConfig(text, 'dns', plugins, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.problems];
  }
  return [];
}

test('defaults: port 53, 512 bytes, 5 s timeout, query names off metrics', () => {
  const config = parseConfig('probes:\n  dns: {}\nexporters: { debug: }\nservice: { pipelines: { logs: { probes: [dns], exporters: [debug] } } }\n', 'dns', plugins, {});
  assert.deepEqual(config.probes.dns, {
    interfaces: 'auto', ports: [53], capture_bytes: 512, query_timeout: '5s', max_pending: 10000,
    query_name_attribute: false, query_name_limit: 100, ring_buffer_bytes: 4194304, publish_names: true, name_min_ttl: '5m',
  });
});

test('bad settings are rejected with their path', () => {
  assert.deepEqual(problems('{ ring_buffer_bytes: 100000 }'), ['probes::dns::ring_buffer_bytes: must be a power of two']);
  assert.equal(problems('{ ports: [53, 70000] }').length, 1);
  assert.match(problems('{ ports: [53, 70000] }')[0]!, /^probes::dns::ports\[1\]: /);
  assert.match(problems('{ capture_bytes: 4096 }')[0]!, /^probes::dns::capture_bytes: /);
  assert.match(problems('{ query_timeout: 5 }')[0]!, /^probes::dns::query_timeout: /);
  assert.match(problems('{ name_min_ttl: soon }')[0]!, /^probes::dns::name_min_ttl: /);
  assert.match(problems('{ publish_names: 1 }')[0]!, /^probes::dns::publish_names: /);
  assert.match(problems('{ port: 53 }')[0]!, /^probes::dns/);
  assert.deepEqual(problems('{ ports: [53, 5353], capture_bytes: 2048, query_name_attribute: true, query_name_limit: 10 }'), []);
});
