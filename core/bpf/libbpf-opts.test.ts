import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import { LIBBPF_OPTS, buildOpts, readField, writeField, bpfTcOpts, bpfTestRunOpts } from './libbpf-opts';

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

const declared = Object.entries(LIBBPF_OPTS).map(([name, struct]) => ({
  name,
  size: koffi.sizeof(struct.type),
  fields: fieldsOf(name, (struct.type as unknown as { members: Record<string, Member> }).members),
}));

/** $CC, else cc, else clang (setup.sh installs clang for the BPF build; it may not provide cc). */
const cc = [process.env.CC, 'cc', 'clang'].find((c) => c && spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);

/** Why the headers cannot be read here (the test is skipped; under CI it fails), or undefined. */
function cannotReadHeaders(): string | undefined {
  const missing = ['/usr/include/bpf/libbpf.h', '/usr/include/bpf/bpf.h'].find((h) => !fs.existsSync(h));
  const why = missing ? `${missing} not found (install libbpf-dev)` : !cc ? 'no C compiler (cc or clang) to read the headers\' layout with' : undefined;
  if (why && process.env.CI) throw new Error(`the option-struct layout test must run under CI: ${why}`);
  return why;
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
    const built = spawnSync(cc!, ['-o', path.join(dir, 'opts'), path.join(dir, 'opts.c')], { encoding: 'utf8' });
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

test('buildOpts sets sz to the struct\'s size, writes each field where libbpf reads it and zeroes the rest', () => {
  const opts = buildOpts(bpfTcOpts, { prog_fd: 7, handle: 0x6e70, priority: 0x6e01 });
  assert.equal(opts.length, 32);
  // struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags; __u32 prog_id; __u32 handle; __u32 priority; }
  const expected = Buffer.alloc(32);
  expected.writeBigUInt64LE(32n, 0);
  expected.writeInt32LE(7, 8);
  expected.writeUInt32LE(0x6e70, 20);
  expected.writeUInt32LE(0x6e01, 24);
  assert.deepEqual(opts, expected);
});

test('pointers and 32-bit fields of bpf_test_run_opts land at their offsets and read back', () => {
  const packet = Buffer.alloc(60);
  const address = koffi.address(packet);
  const opts = buildOpts(bpfTestRunOpts, { data_in: address, data_size_in: packet.length, repeat: -1, cpu: 3 });
  assert.equal(opts.length, 80);
  assert.equal(opts.readBigUInt64LE(8), address);
  assert.equal(opts.readUInt32LE(24), 60);
  assert.equal(opts.readInt32LE(60), -1); // repeat is an int
  assert.equal(opts.readUInt32LE(72), 3);
  opts.writeUInt32LE(2, 56); // as the kernel returns XDP_PASS
  assert.equal(readField(opts, bpfTestRunOpts, 'retval'), 2);
  assert.equal(readField(opts, bpfTestRunOpts, 'data_in'), address);
  writeField(opts, bpfTestRunOpts, 'duration', 0xffffffff);
  assert.equal(readField(opts, bpfTestRunOpts, 'duration'), 0xffffffff);
});

test('a field the struct does not have is refused', () => {
  assert.throws(() => writeField(Buffer.alloc(80), bpfTestRunOpts, 'nope' as 'cpu', 1), /bpf_test_run_opts has no scalar field nope/);
});
