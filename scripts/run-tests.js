#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner, one file at a
// time: kernel tests share interfaces and attach points, so they must not overlap. Each file
// is its own `node --test` run (Node 18 has no --test-concurrency), and the totals of all of
// them close the output as one line: "tests: N passed, N failed, N skipped".
// Slow files (*.slow.test.js: the container image build, the fleet of 20) run only with
// --slow (npm run test:slow): they would not fit CI's time budget for the default suite.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dist = path.resolve(__dirname, '..', 'dist');
// Each argument is a substring of a path; a file runs when it matches any (all run without one).
const slow = process.argv.includes('--slow');
const filters = process.argv.slice(2).filter((a) => a !== '--slow');
const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full);
    else if (e.name.endsWith('.test.js') && slow === e.name.endsWith('.slow.test.js') && (filters.length === 0 || filters.some((f) => full.includes(f)))) files.push(full);
  }
};
walk(dist);
files.sort();
if (files.length === 0) {
  console.error(filters.length ? `no test file in dist/ matches ${filters.map((f) => `'${f}'`).join(' or ')}` : 'no test files found in dist/: run npm run build first');
  process.exit(1);
}

/** Runs one file, echoing its output, and reads the runner's own summary lines ("# pass N"). */
function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (code, signal) => {
      const count = (name) => Number((tail.match(new RegExp(`^[ℹ#] ${name} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
      resolve({ code: code ?? 1, signal, pass: count('pass'), fail: count('fail') + count('cancelled'), skipped: count('skipped') + count('todo') });
    });
  });
}

(async () => {
  const totals = { pass: 0, fail: 0, skipped: 0 };
  const failedFiles = [];
  for (const file of files) {
    const r = await runFile(file);
    totals.pass += r.pass;
    totals.skipped += r.skipped;
    // A file that exits non-zero without a counted failure (a crash, a hang killed) still fails.
    const failures = r.fail || (r.code !== 0 ? 1 : 0);
    totals.fail += failures;
    if (r.code !== 0) failedFiles.push(`${path.relative(dist, file)} (exit ${r.signal ?? r.code})`);
  }
  if (failedFiles.length) console.log(`\nfailed files:\n  ${failedFiles.join('\n  ')}`);
  console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
  process.exit(failedFiles.length ? 1 : 0);
})();
