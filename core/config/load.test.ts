import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ErrorObject } from 'ajv';
import { loadConfigFile, parseConfig, ConfigError, collectorSchemaFor, newAjv } from './load';
import { formatAjvErrors } from './errors';
import { routes } from '../telemetry/telemetry';
import { plugins } from '../../plugins/registry';
import { repoRoot, testdata } from '../../test/helpers/paths';

const badDir = testdata('config', 'bad');
const badFiles = fs.readdirSync(badDir).filter((f) => f.endsWith('.yaml')).sort();

test('at least 15 named bad configs are checked', () => {
  assert.ok(badFiles.length >= 15, `only ${badFiles.length} bad configs`);
});

for (const file of badFiles) {
  test(`bad config ${file} is rejected with its path and message`, () => {
    const text = fs.readFileSync(path.join(badDir, file), 'utf8');
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]!);
    assert.ok(expected.length > 0, `${file} has no '# expect:' line`);
    const err = (() => {
      try {
        parseConfig(text, file, plugins, {});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError, `${file} was accepted`);
    assert.equal(err.code, 'NETPROBE_ERR_CONFIG');
    assert.deepEqual([...err.problems].sort(), [...expected].sort());
  });
}

test('the default collector.yaml is valid and gets defaults', () => {
  const config = loadConfigFile(path.join(repoRoot, 'collector.yaml'), plugins, {});
  const probe = config.probes.xdp_counter as Record<string, unknown>;
  assert.equal(probe.interfaces, 'auto');
  assert.deepEqual(probe.size_buckets, [64, 128, 256, 512, 1024, 1518, 9000]);
  assert.equal(config.service.intervalMs, 10_000);
  assert.equal((config.exporters.otlp_http as { endpoint: string }).endpoint, 'http://localhost:4318');
});

test('a validated config is frozen', () => {
  const config = loadConfigFile(path.join(repoRoot, 'collector.yaml'), plugins, {});
  assert.ok(Object.isFrozen(config.probes.xdp_counter));
  assert.throws(() => {
    (config.service as { interval: string }).interval = '1s';
  }, TypeError);
});

test('components may have names and empty bodies', () => {
  const config = parseConfig(
    `probes:
  xdp_counter/a: { interfaces: [veth0] }
  xdp_counter/b:
exporters:
  debug/verbose: { verbosity: detailed }
  otlp_http/backup:
service:
  pipelines:
    metrics: { probes: [xdp_counter/a, xdp_counter/b], exporters: [debug/verbose, otlp_http/backup] }
    logs/events: { probes: [xdp_counter/a], exporters: [otlp_http/backup] }
`, 'inline', plugins, {});
  assert.deepEqual((config.probes['xdp_counter/b'] as { interfaces: unknown }).interfaces, 'auto');
  assert.equal((config.exporters['otlp_http/backup'] as { protocol: string }).protocol, 'http/protobuf');
});

test('each pipeline\'s signal is parsed once from its name, and routes follow it', () => {
  const config = parseConfig(
    `probes:
  xdp_counter/a: { interfaces: [veth0] }
exporters:
  debug/self:
  otlp_http/backup:
service:
  pipelines:
    metrics/self: { probes: [], exporters: [debug/self] }
    logs/events: { probes: [xdp_counter/a], exporters: [otlp_http/backup] }
`, 'inline', plugins, {});
  assert.equal(config.service.pipelines['metrics/self']!.signal, 'metrics');
  assert.equal(config.service.pipelines['logs/events']!.signal, 'logs');
  const r = routes(config);
  assert.deepEqual(r.get('debug/self'), { metrics: new Set(), logs: new Set(), exportsMetrics: true }, 'a metrics pipeline without probes still exports self metrics');
  assert.deepEqual(r.get('otlp_http/backup'), { metrics: new Set(), logs: new Set(['xdp_counter/a']), exportsMetrics: false });
});

test('env substitution fills typed values and defaults', () => {
  const config = parseConfig(
    `exporters:
  prometheus: { port: "\${env:NP_PORT}", host: "\${env:NP_HOST:-0.0.0.0}" }
  otlp_http: { endpoint: "http://\${env:NP_OTLP_HOST}:4318", headers: { x-cost: "$$5" } }
service:
  pipelines:
    metrics: { exporters: [prometheus, otlp_http] }
`, 'inline', plugins, { NP_PORT: '9999', NP_OTLP_HOST: 'collector.local' });
  assert.equal((config.exporters.prometheus as { port: unknown }).port, 9999);
  assert.equal((config.exporters.prometheus as { host: unknown }).host, '0.0.0.0');
  assert.equal((config.exporters.otlp_http as { endpoint: unknown }).endpoint, 'http://collector.local:4318');
  assert.deepEqual((config.exporters.otlp_http as { headers: unknown }).headers, { 'x-cost': '$5' });
});

test('a missing file is a config error naming the file', () => {
  assert.throws(() => loadConfigFile('/nonexistent/netprobe.yaml', plugins, {}), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /\/nonexistent\/netprobe\.yaml/);
    assert.match(err.problems[0]!, /cannot read file/);
    return true;
  });
});

test('the build precompiled the registry\'s schema, and it finds exactly what a fresh compile finds', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const precompiled = require('./schema-validate.js') as ((data: unknown) => boolean) & { key: string; errors?: ErrorObject[] };
  const { schema, key } = collectorSchemaFor(plugins);
  assert.equal(precompiled.key, key, 'dist/core/config/schema-validate.js is stale: npm run build');
  const fresh = newAjv().compile(schema);
  const yamlOf = (file: string) => {
    try {
      return parseYaml(fs.readFileSync(file, 'utf8')) as unknown;
    } catch {
      return undefined; // refused as YAML (e.g. an alias bomb), before any schema
    }
  };
  const inputs = [...badFiles.map((f) => path.join(badDir, f)), path.join(repoRoot, 'collector.yaml')].filter((f) => yamlOf(f) !== undefined);
  assert.ok(inputs.length > 10);
  for (const file of inputs) {
    const [a, b] = [yamlOf(file), yamlOf(file)];
    assert.equal(precompiled(a), fresh(b), file);
    assert.deepEqual(a, b, `${file}: the same defaults`);
    assert.deepEqual(formatAjvErrors(precompiled.errors ?? [], a), formatAjvErrors(fresh.errors ?? [], b), file);
  }
});
