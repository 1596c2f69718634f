import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveCapabilities, formatChecks, parseKernelVersion, runDoctor } from './doctor';
import { kernelTestsPossible } from '../../test/helpers/kernel';

test('kernel versions and capability masks parse', () => {
  assert.deepEqual(parseKernelVersion('6.18.44-fc-v782'), [6, 18]);
  assert.deepEqual(parseKernelVersion('garbage'), [0, 0]);
  assert.equal(effectiveCapabilities('Name:\tx\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
  assert.equal(effectiveCapabilities('nothing'), 0n);
});

test('checks print one line each with a fix for problems', () => {
  const text = formatChecks([
    { status: 'OK', what: 'kernel', detail: '6.18' },
    { status: 'WARN', what: 'bpffs', detail: 'not mounted', fix: 'mount -t bpf bpf /sys/fs/bpf' },
  ]);
  assert.equal(text, 'OK   kernel: 6.18\nWARN bpffs: not mounted\n     fix: mount -t bpf bpf /sys/fs/bpf');
});

test('doctor on this machine: kernel, BTF, libbpf and capabilities are fine, and native XDP is tried', (t) => {
  if (!kernelTestsPossible(t)) return;
  const checks = runDoctor();
  const byWhat = new Map(checks.map((c) => [c.what, c]));
  for (const what of ['kernel', 'BTF', 'capabilities', 'libbpf']) assert.equal(byWhat.get(what)?.status, 'OK', `${what}: ${byWhat.get(what)?.detail}`);
  const loopback = checks.find((c) => c.what === 'interface lo');
  assert.match(loopback?.detail ?? '', /loopback/);
  assert.ok(!checks.some((c) => c.status === 'FAIL'), formatChecks(checks));
});
