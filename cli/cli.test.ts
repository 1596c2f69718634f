import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliPath, repoRoot, testdata } from '../test/helpers/paths';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' }, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
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

test('hostile or unreadable configs are config errors: exit 2, a short message naming the file, no stack trace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'np-hostile-'));
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  };
  // Printable garbage in lines of 80, no NUL: thousands of YAML errors.
  let seed = 7;
  const garbage = Buffer.from(Buffer.alloc(900 * 1024, 0).map((_, i) => (i % 81 === 80 ? 10 : 32 + ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 95))));
  const cases: Array<[string, string, RegExp]> = [
    ['alias bomb', testdata('config', 'bad', 'alias-bomb.yaml'), /alias/],
    ['deep flow nesting', write('flow.yaml', `probes: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`), /nested/],
    ['deep block nesting', write('block.yaml', Array.from({ length: 500 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + '\n'), /nested/],
    ['2 MiB file', write('big.yaml', `# ${'x'.repeat(2 * 1024 * 1024)}\n`), /larger than 1 MiB/],
    ['/dev/zero', '/dev/zero', /larger than 1 MiB/],
    ['binary', write('bin.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2])), /not a text file/],
    ['printable garbage', write('garbage.yaml', garbage), /line \d+, column \d+/],
    ['a directory', dir, /directory/],
  ];
  for (const [what, file, expected] of cases) {
    // `run` reads configs the same way; two cases show it, the rest keep the test short.
    for (const command of what === 'alias bomb' || what === '/dev/zero' ? ['validate', 'run'] : ['validate']) {
      const r = cli(command, '--config', file);
      assert.equal(r.code, 2, `${what} (${command}): exit ${r.code}\n${r.stderr.slice(0, 500)}`);
      assert.ok(r.stderr.includes(file), `${what}: names the file`);
      assert.match(r.stderr, expected, what);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
      assert.ok(r.stderr.length < 5_000, `${what}: ${r.stderr.length} bytes on stderr`);
      assert.ok(r.stderr.split('\n').length <= 23, `${what}: at most 20 problems and a summary line`);
      assert.doesNotMatch(r.stdout, /running/);
    }
  }
});
