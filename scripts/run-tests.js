#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner, one file at a
// time: kernel tests share interfaces and attach points, so they must not overlap.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dist = path.resolve(__dirname, '..', 'dist');
// Each argument is a substring of a path; a file runs when it matches any (all run without one).
const filters = process.argv.slice(2);
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
  console.error('no test files found in dist/: run npm run build first');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
