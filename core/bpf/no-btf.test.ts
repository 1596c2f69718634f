import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { cliPath } from '../../test/helpers/paths';
import { patience } from '../../test/helpers/slowdown';

/**
 * A kernel without BTF, as a private mount namespace shows it: an empty tmpfs over
 * /sys/kernel/btf hides vmlinux from libbpf (and from the doctor), nothing else changes.
 */
function withoutKernelBtf(args: string[]): { status: number | null; output: string } {
  const script = 'mount -t tmpfs none /sys/kernel/btf && exec "$@"';
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, cliPath, ...args], {
    encoding: 'utf8', timeout: patience(60_000),
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function configFile(yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-nobtf-')), 'collector.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

test('without kernel BTF, conntrack fails to start with an error naming BTF, and doctor warns', (t) => {
  if (!kernelTestsPossible(t)) return;
  const config = configFile(`
probes:
  conntrack: {}
exporters:
  debug: {}
service:
  pipelines:
    metrics: { probes: [conntrack], exporters: [debug] }
`);
  const run = withoutKernelBtf(['run', '--config', config]);
  assert.notEqual(run.status, 0, run.output);
  assert.match(run.output, /conntrack\.bpf\.o: the kernel has no BTF \(\/sys\/kernel\/btf\/vmlinux\)/);
  assert.match(run.output, /CONFIG_DEBUG_INFO_BTF=y/);

  const doctor = withoutKernelBtf(['doctor']);
  assert.match(doctor.output, /WARN\s+BTF: \/sys\/kernel\/btf\/vmlinux missing/);
});
