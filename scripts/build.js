#!/usr/bin/env node
// One build: every BPF C program (clang -target bpf, BTF kept) and the TypeScript.
// Fails early, naming the Debian package, when a tool or header is missing.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

function fail(message) {
  console.error(`netprobe build: ${message}`);
  process.exit(1);
}

function requireTool(tool, pkg) {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) fail(`'${tool}' not found: install the Debian/Ubuntu package '${pkg}' (apt-get install ${pkg})`);
}

function requireHeader(file, pkg) {
  if (!fs.existsSync(file)) fail(`${file} not found: install the Debian/Ubuntu package '${pkg}' (apt-get install ${pkg})`);
}

/** Debian multiarch include dir, where asm/types.h lives. */
function multiarchInclude() {
  const triplets = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
  const dir = `/usr/include/${triplets[process.arch] ?? `${process.arch}-linux-gnu`}`;
  if (!fs.existsSync(path.join(dir, 'asm', 'types.h'))) fail(`${dir}/asm/types.h not found: install the Debian/Ubuntu package 'linux-libc-dev'`);
  return dir;
}

/**
 * BPF programs see only the kernel's UAPI headers and libbpf's: a folder of links to
 * linux/, asm/, asm-generic/ and bpf/, used with -nostdinc. A header that reaches
 * for glibc (e.g. linux/if.h -> sys/socket.h, which under -target bpf wants the
 * 32-bit gnu/stubs-32.h) then fails here on every machine, not only on a fresh one.
 */
function bpfIncludeRoot() {
  const dir = path.join(root, '.cache', 'bpf-include');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const links = {
    linux: '/usr/include/linux',
    'asm-generic': '/usr/include/asm-generic',
    asm: path.join(multiarchInclude(), 'asm'),
    bpf: '/usr/include/bpf',
  };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(dir, name));
  return dir;
}

/** Every *.bpf.c under plugins/, core/ and bench/, compiled beside its compiled TypeScript in dist/. */
function bpfSources() {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.bpf.c')) found.push(full);
    }
  };
  walk(path.join(root, 'plugins'));
  walk(path.join(root, 'core'));
  walk(path.join(root, 'bench'));
  return found;
}

function buildBpf() {
  requireTool('clang', 'clang');
  requireHeader('/usr/include/bpf/bpf_helpers.h', 'libbpf-dev');
  requireHeader('/usr/include/linux/bpf.h', 'linux-libc-dev');
  const includeRoot = bpfIncludeRoot();
  for (const src of bpfSources()) {
    const rel = path.relative(root, src);
    const out = path.join(dist, rel.replace(/\.c$/, '.o'));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const args = ['-target', 'bpf', '-O2', '-g', '-Wall', '-Werror', '-nostdinc',
      '-I', path.join(root, 'bpf'), '-I', path.dirname(src), '-isystem', includeRoot,
      '-c', src, '-o', out];
    const r = spawnSync('clang', args, { stdio: 'inherit' });
    if (r.status !== 0) fail(`compiling ${rel} failed (see clang's output above)`);
  }
}

function buildTypeScript() {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) fail("TypeScript is not installed: run 'npm ci' first");
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  } catch {
    fail('TypeScript compilation failed (see above)');
  }
  fs.chmodSync(path.join(dist, 'cli', 'netprobe.js'), 0o755);
}

/** The registry's config schema compiled once, at build time (core/config/schema-precompile.ts). */
function precompileSchema() {
  execFileSync(process.execPath, [path.join(dist, 'core', 'config', 'schema-precompile.js')], { stdio: 'inherit' });
}

buildBpf();
buildTypeScript();
precompileSchema();
console.log('netprobe build: ok');
