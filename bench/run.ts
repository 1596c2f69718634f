#!/usr/bin/env node
/**
 * npm run bench [-- --quick] [-- --out FILE]: runs every benchmark suite and prints
 * one markdown table (median, min, max, same-run baseline and ratio, target).
 * --quick is the smoke mode: few repetitions, proves the suites still work.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { suites } from './suites';
import type { Figure } from './types';

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function table(figures: Array<Figure & { suite: string }>): string {
  const rows = ['| suite | figure | median | min | max | runs | baseline (same run) | ratio | target | note |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const f of figures) {
    rows.push(`| ${f.suite} | ${f.name} | ${fmt(f.median)} ${f.unit} | ${fmt(f.min)} | ${fmt(f.max)} | ${f.runs} | ${f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.median)}` : ''} | ${f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : ''} | ${f.target ?? ''} | ${f.note ?? ''} |`);
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } } });
  const quick = values.quick ?? false;
  const root = process.getuid?.() === 0;
  const all: Array<Figure & { suite: string }> = [];
  const started = Date.now();
  for (const suite of suites) {
    if (values.only && !suite.name.includes(values.only)) continue;
    if (suite.kernel && !root) {
      process.stderr.write(`skipping "${suite.name}": needs root\n`);
      continue;
    }
    process.stderr.write(`running "${suite.name}"${quick ? ' (quick)' : ''}\n`);
    const figures = await suite.run({ quick, log: (line) => process.stderr.write(`  ${line}\n`) });
    all.push(...figures.map((f) => ({ ...f, suite: suite.name })));
  }
  const header = `netprobe benchmarks, ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}${quick ? ' (quick smoke run: numbers are not meaningful)' : ''}; ${((Date.now() - started) / 1000).toFixed(0)} s`;
  const out = `${header}\n\n${table(all)}\n`;
  process.stdout.write(out);
  if (values.out) fs.writeFileSync(values.out, out);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
