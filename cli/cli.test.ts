import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliPath, repoRoot, testdata } from '../test/helpers/paths';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('validate accepts the default config with a one-line summary, named as an option or alone', () => {
  const r = cli('validate');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'collector.yaml: valid (4 probes, 2 exporters, 2 pipelines, interval 10s)\n');
  assert.equal(cli('validate', 'collector.yaml').stdout, r.stdout);
  assert.equal(cli('validate', 'a.yaml', 'b.yaml').code, 2);
});

test('top: bad flags and a bad interval exit 2 with the usage, attaching nothing', () => {
  const r = cli('top', '--interval', '10');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--interval: expected a duration of at least 100ms/);
  assert.match(r.stderr, /usage: netprobe top/);
  assert.equal(cli('top', '--bogus').code, 2);
  assert.equal(cli('top', '--config', testdata('config', 'bad', 'bad-xdp-mode.yaml')).code, 2);
  assert.match(cli('top', '--help').stdout, /keys: q or Ctrl-C quit/);
});

test('validate reports every error and exits 2', () => {
  const r = cli('validate', '--config', testdata('config', 'bad', 'several-errors.yaml'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /probes::xdp_counter::mode: must be one of auto, native, generic/);
  assert.match(r.stderr, /probes::xdp_counter::max_interfaces: expected integer 1\.\.65536/);
  assert.match(r.stderr, /exporters::debug::verbosity: must be one of basic, normal, detailed/);
});

test('run with a bad config attaches nothing and exits 2', () => {
  const r = cli('run', '--config', testdata('config', 'bad', 'bad-xdp-mode.yaml'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /probes::xdp_counter::mode/);
  assert.doesNotMatch(r.stdout, /running/);
});

test('validate of a missing file names it', () => {
  const missing = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'np-')), 'none.yaml');
  const r = cli('validate', '--config', missing);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(missing));
});

test('plugins lists each probe with what it attaches and emits', () => {
  const r = cli('plugins');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^xdp_counter$/m);
  assert.match(r.stdout, /attaches: XDP/);
  assert.match(r.stdout, /system\.network\.packet\.count \(counter, \{packet\}\)/);
  assert.match(r.stdout, /netprobe\.packet\.size \(histogram, By\)/);
});

test('unknown commands and options are usage errors', () => {
  assert.equal(cli('frobnicate').code, 2);
  assert.equal(cli('validate', '--nope').code, 2);
  assert.equal(cli().code, 2);
  assert.equal(cli('--help').code, 0);
});
