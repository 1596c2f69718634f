/**
 * The host side of the kernel matrix (scripts/kernels/run-matrix.js) and of the test runner it
 * drives in the guests: every suite names test files that exist, and --one-process runs
 * several files in one node process with the totals and exit status of all of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { distRoot, repoRoot } from './helpers/paths';

const runTests = path.join(repoRoot, 'scripts', 'run-tests.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SUITES, suiteCommand } = require(path.join(repoRoot, 'scripts', 'kernels', 'run-matrix.js')) as {
  SUITES: { name: string; limit: number; files: string[] }[];
  suiteCommand: (s: { files: string[] }) => string;
};

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? testFiles(full) : e.name.endsWith('.test.js') ? [full] : [];
  });
}

test('every kernel-matrix suite names test files that exist, each probe has its real-traffic suite', () => {
  const files = testFiles(distRoot);
  for (const suite of SUITES) {
    assert.ok(suite.limit > 0 && suite.limit <= 1800, `${suite.name}: a bounded limit`);
    for (const f of suite.files) assert.ok(files.some((x) => x.includes(f)), `${suite.name}: no test file matches ${f}`);
    assert.match(suiteCommand(suite), /^node scripts\/run-tests\.js --one-process /);
  }
  const all = SUITES.flatMap((s) => s.files).join(' ');
  for (const probe of ['conformance', 'xdp-counter', 'flow-stats', 'dns', 'conntrack', 'drops', 'packet-capture', 'no-btf', 'link.test']) {
    assert.ok(all.includes(probe), `the matrix runs ${probe}`);
  }
  assert.equal(new Set(SUITES.map((s) => s.name)).size, SUITES.length, 'suite names are unique');
});

test('run-tests --one-process: several files in one process, totals and failures of all of them', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'np-run-tests-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), `const { test } = require('node:test');\n${body}\n`);
  // Each file records the process it ran in: one process means one pid. b2's long error
  // (like a verifier log) comes after the runner's summary lines, which must still be read.
  write('a.test.js', `test('a1', () => { require('node:fs').appendFileSync(${JSON.stringify(path.join(dir, 'pids'))}, process.pid + '\\n'); });\ntest('a2', () => {});`);
  write('b.test.js', `test('b1', () => { require('node:fs').appendFileSync(${JSON.stringify(path.join(dir, 'pids'))}, process.pid + '\\n'); });\ntest('b2', () => { throw new Error('b2 fails' + ' after a long verifier log'.repeat(400)); });`);
  // Without this runner's NODE_TEST_CONTEXT, which would make the children report in its binary protocol.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = (...args: string[]) => spawnSync(process.execPath, [runTests, ...args], { encoding: 'utf8', env: { ...env, NETPROBE_TESTS_DIR: dir } });
  const pids = () => new Set(fs.readFileSync(path.join(dir, 'pids'), 'utf8').trim().split('\n')).size;

  const one = run('--one-process', 'a.test', 'b.test');
  assert.equal(one.status, 1, one.stdout + one.stderr);
  assert.match(one.stdout, /b2 fails/);
  assert.match(one.stdout, /tests: 3 passed, 1 failed, 0 skipped/);
  assert.equal(pids(), 1, 'both files ran in one process');

  fs.rmSync(path.join(dir, 'pids'));
  const each = run('a.test', 'b.test');
  assert.equal(each.status, 1);
  assert.match(each.stdout, /tests: 3 passed, 1 failed, 0 skipped/);
  assert.equal(pids(), 2, 'without --one-process each file has its own process');

  const passing = run('--one-process', 'a.test');
  assert.equal(passing.status, 0, passing.stdout);
  assert.match(passing.stdout, /tests: 2 passed, 0 failed, 0 skipped/);
});
