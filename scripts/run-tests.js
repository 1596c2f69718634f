#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner, one file at a
// time: kernel tests share interfaces and attach points, so they must not overlap. Each file
// is its own `node --test` run (Node 18 has no --test-concurrency), and the totals of all of
// them close the output as one line: "tests: N passed, N failed, N skipped".
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// NETPROBE_TESTS_DIR: another tree of compiled tests (the runner's own tests use one).
const dist = path.resolve(process.env.NETPROBE_TESTS_DIR || path.join(__dirname, '..', 'dist'));
// Each argument is a substring of a path; a file runs when it matches any (all run without one).
// --one-process runs every matching file in a single node process, in order: for the kernel
// matrix's guests, where starting node and loading the modules again per file costs minutes.
const args = process.argv.slice(2);
const oneProcess = args.includes('--one-process');
const filters = args.filter((a) => a !== '--one-process');
const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full);
    else if (e.name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => full.includes(f)))) files.push(full);
  }
};
walk(dist);
files.sort();
if (files.length === 0) {
  console.error(filters.length ? `no test file in dist/ matches ${filters.map((f) => `'${f}'`).join(' or ')}` : 'no test files found in dist/: run npm run build first');
  process.exit(1);
}

/** Runs one file, echoing its output, and reads the runner's own summary lines ("# pass N"). */
function runFiles(group) {
  // One file: `node --test` runs it. Several: their tests register in one process, file after
  // file, and the runner reports them when the process is done (no --test: it would fork each).
  const argv = group.length === 1
    ? ['--test', '--test-reporter=spec', group[0]]
    : ['--test-reporter=spec', '-e', group.map((f) => `require(${JSON.stringify(f)});`).join('')];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    // The runner's summary lines ("ℹ pass 3"), picked out line by line as they pass: the list
    // of failures that follows them can be any length (verifier logs).
    const counts = {};
    let partial = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        const m = /^[ℹ#] (pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line);
        if (m) counts[m[1]] = Number(m[2]);
      }
    });
    child.on('close', (code, signal) => {
      const count = (name) => counts[name] ?? 0;
      resolve({ code: code ?? 1, signal, pass: count('pass'), fail: count('fail') + count('cancelled'), skipped: count('skipped') + count('todo') });
    });
  });
}

(async () => {
  const totals = { pass: 0, fail: 0, skipped: 0 };
  const failedFiles = [];
  for (const group of oneProcess ? [files] : files.map((f) => [f])) {
    const r = await runFiles(group);
    const file = group.length === 1 ? group[0] : `${group.length} files in one process`;
    totals.pass += r.pass;
    totals.skipped += r.skipped;
    // A file that exits non-zero without a counted failure (a crash, a hang killed) still fails.
    const failures = r.fail || (r.code !== 0 ? 1 : 0);
    totals.fail += failures;
    if (r.code !== 0) failedFiles.push(`${group.length === 1 ? path.relative(dist, file) : file} (exit ${r.signal ?? r.code})`);
  }
  if (failedFiles.length) console.log(`\nfailed files:\n  ${failedFiles.join('\n  ')}`);
  console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
  process.exit(failedFiles.length ? 1 : 0);
})();
