/**
 * README's "Adding a probe" shows this plugin as the worked example: every line it shows
 * (but `// ...` elisions) must be in plugin.ts, in the same order, so the example cannot
 * drift from the code a new probe's author copies. Trailing `// comments` are README's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../test/helpers/paths';

/** A line without its trailing ` // comment` (one outside quotes) and surrounding white space. */
function code(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (line.startsWith(' // ', i)) {
      return line.slice(0, i).trim();
    }
  }
  return line.trim();
}

/** The lines README shows in the fenced ts block after "The smallest complete probe". */
function readmeExample(readme: string): string[] {
  const section = readme.slice(readme.indexOf('The smallest complete probe is `xdp_counter`'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'README has the xdp_counter example');
  return block[1]!.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('// ...'));
}

/** The README lines not found in `source` in order (empty: the example is a faithful excerpt). */
export function linesNotInOrder(example: readonly string[], source: readonly string[]): string[] {
  const wanted = source.map(code);
  const missing: string[] = [];
  let at = 0;
  for (const line of example) {
    const found = wanted.indexOf(code(line), at);
    if (found < 0) missing.push(line.trim());
    else at = found + 1;
  }
  return missing;
}

test('README\'s xdp_counter example is plugin.ts, line for line, in order', () => {
  const example = readmeExample(fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
  const source = fs.readFileSync(path.join(repoRoot, 'plugins', 'xdp-counter', 'plugin.ts'), 'utf8').split('\n');
  assert.ok(example.length > 40, `the example shows the plugin (${example.length} lines)`);
  assert.deepEqual(linesNotInOrder(example, source), []);
});

test('an edited, missing or reordered line is found', () => {
  const source = ['a();', 'b(); // why', "c('// not a comment');"];
  assert.deepEqual(linesNotInOrder(['a(); // README says', "c('// not a comment');"], source), []);
  assert.deepEqual(linesNotInOrder(['a();', 'x();'], source), ['x();']);
  assert.deepEqual(linesNotInOrder(['b();', 'a();'], source), ['a();']);
  assert.deepEqual(linesNotInOrder(["c('// not');"], source), ["c('// not');"]);
});
