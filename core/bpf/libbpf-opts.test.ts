import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import { LIBBPF_OPTS, encodeOpts, decodeOpts, bpfTcOpts } from './libbpf-opts';

/** koffi members whose C counterpart is anonymous (the union of bpf_link_create_opts). */
const ANONYMOUS = new Set(['bpf_link_create_opts.target']);

interface Member {
  readonly offset: number;
  readonly type: { readonly members?: Record<string, Member> };
}

/** Every field as a C member designator (nested and anonymous ones included) with koffi's offset. */
function fieldsOf(struct: string, members: Record<string, Member>, prefix = '', base = 0, out = new Map<string, number>()): Map<string, number> {
  for (const [name, m] of Object.entries(members)) {
    const anonymous = ANONYMOUS.has(`${struct}.${prefix}${name}`);
    const designator = anonymous ? prefix.replace(/\.$/, '') : `${prefix}${name}`;
    if (!anonymous) out.set(designator, base + m.offset);
    if (m.type.members) fieldsOf(struct, m.type.members, designator ? `${designator}.` : '', base + m.offset, out);
  }
  return out;
}

const declared = Object.entries(LIBBPF_OPTS).map(([name, type]) => ({
  name,
  size: koffi.sizeof(type),
  fields: fieldsOf(name, (koffi.type(type) as unknown as { members: Record<string, Member> }).members),
}));

const cc = process.env.CC ?? 'cc';

/** Why the headers cannot be read here (the test is skipped), or undefined. */
function cannotReadHeaders(): string | undefined {
  const missing = ['/usr/include/bpf/libbpf.h', '/usr/include/bpf/bpf.h'].find((h) => !fs.existsSync(h));
  if (missing) return `${missing} not found (install libbpf-dev)`;
  if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) return `no C compiler ('${cc}') to read the headers' layout with`;
  return undefined;
}

/** sizeof and offsetof of every declared field, as the system's libbpf headers have them. */
function fromHeaders(): Map<string, number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-opts-'));
  try {
    const prints = declared.flatMap(({ name, fields }) => [
      `  printf("%s %zu\\n", "${name}", sizeof(struct ${name}));`,
      ...[...fields.keys()].map((f) => `  printf("%s %zu\\n", "${name}.${f}", offsetof(struct ${name}, ${f}));`),
    ]);
    const src = ['#include <stddef.h>', '#include <stdio.h>', '#include <bpf/bpf.h>', '#include <bpf/libbpf.h>', 'int main(void) {', ...prints, '  return 0;', '}', ''].join('\n');
    fs.writeFileSync(path.join(dir, 'opts.c'), src);
    const built = spawnSync(cc, ['-o', path.join(dir, 'opts'), path.join(dir, 'opts.c')], { encoding: 'utf8' });
    assert.equal(built.status, 0, `compiling the layout probe failed (a declared field the headers lack?):\n${built.stderr}`);
    const ran = spawnSync(path.join(dir, 'opts'), { encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    const lines = new Map<string, number>();
    for (const line of ran.stdout.trim().split('\n')) {
      const [key, value] = line.split(' ');
      lines.set(key!, Number(value));
    }
    return lines;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('each option struct has the size and field offsets of libbpf\'s headers', { skip: cannotReadHeaders() ?? false }, () => {
  const headers = fromHeaders();
  for (const { name, size, fields } of declared) {
    assert.equal(size, headers.get(name), `sizeof(struct ${name})`);
    for (const [field, offset] of fields) assert.equal(offset, headers.get(`${name}.${field}`), `offsetof(struct ${name}, ${field})`);
  }
  assert.equal(headers.size, declared.reduce((n, d) => n + 1 + d.fields.size, 0)); // every field was checked
});

test('the key fields are where libbpf 1.1 puts them on 64-bit (no compiler needed)', () => {
  const at = (name: string, field: string): number | undefined => declared.find((d) => d.name === name)!.fields.get(field);
  const size = (name: string): number => declared.find((d) => d.name === name)!.size;
  assert.equal(size('bpf_test_run_opts'), 80);
  assert.equal(at('bpf_test_run_opts', 'retval'), 56);
  assert.equal(at('bpf_test_run_opts', 'duration'), 64);
  assert.equal(at('bpf_test_run_opts', 'cpu'), 72);
  assert.equal(size('bpf_tc_hook'), 24);
  assert.equal(at('bpf_tc_hook', 'attach_point'), 12);
  assert.equal(size('bpf_tc_opts'), 32);
  assert.equal(at('bpf_tc_opts', 'priority'), 24);
  assert.equal(size('bpf_map_batch_opts'), 24);
  assert.equal(size('bpf_link_create_opts'), 64);
  assert.equal(at('bpf_link_create_opts', 'flags'), 8);
  assert.equal(at('bpf_link_create_opts', 'kprobe_multi.cookies'), 56);
});

test('encodeOpts sets sz to the struct\'s size and zeroes what it is not given', () => {
  const opts = encodeOpts(bpfTcOpts, { prog_fd: 7, handle: 0x6e70, priority: 0x6e01 });
  assert.equal(opts.length, 32);
  assert.deepEqual(decodeOpts(opts, bpfTcOpts), { sz: 32, prog_fd: 7, flags: 0, prog_id: 0, handle: 0x6e70, priority: 0x6e01 });
  assert.equal(opts.readUInt32LE(20), 0x6e70); // struct bpf_tc_opts.handle, as libbpf reads it
});
