import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelCostChecks } from './kernel-cost';
import { enableRunStats, loadedPrograms, programCost } from '../bpf/prog-stats';
import { BpfObject } from '../bpf/object';
import { testRun } from '../bpf/test-run';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import path from 'node:path';

const ours = new Map([['flow_stats_tc_ingress', 'flow_stats'], ['drops_kfree_skb', 'drops']]);

test('doctor: one line per netprobe program (names as the kernel cuts them), with runs and time per run', () => {
  const programs = () => [
    { id: 1, name: 'flow_stats_tc_i', runCount: 1000, runTimeNs: 85_000, recursionMisses: 0 },
    { id: 2, name: 'flow_stats_tc_i', runCount: 1000, runTimeNs: 95_000, recursionMisses: 0 },
    { id: 3, name: 'drops_kfree_skb', runCount: 0, runTimeNs: 0, recursionMisses: 2 },
    { id: 4, name: 'someone_else', runCount: 5, runTimeNs: 5, recursionMisses: 0 },
  ];
  const checks = kernelCostChecks(ours, programs, () => false);
  assert.deepEqual(checks.map((c) => `${c.what}: ${c.detail}`), [
    'BPF run-time statistics: off system-wide; a collector with service.telemetry.kernel_stats: true keeps them on while it runs',
    'kernel cost flow_stats/flow_stats_tc_ingress: 2 loaded, 2000 runs, 90 ns per run, 0.000 s in all',
    'kernel cost drops/drops_kfree_skb: no runs counted (statistics off, or nothing to do yet), 2 runs missed',
  ]);
  assert.match(kernelCostChecks(ours, () => [], () => true).map((c) => c.detail).join('\n'), /sysctl kernel.bpf_stats_enabled=1\)\nno netprobe program is loaded/);
});

test('run-time statistics in the kernel: counted while held, read through bpf_prog_info', (t) => {
  if (!kernelTestsPossible(t)) return;
  const object = BpfObject.open(path.join(__dirname, '..', 'bpf', 'testdata', 'attach_test.bpf.o'));
  t.after(() => object.close());
  object.load();
  const [program] = object.programs().filter((p) => p.name === 'attach_test_tc');
  assert.ok(program, 'the test object has a TC program');
  const stats = enableRunStats();
  try {
    const before = programCost(program.fd);
    testRun(program.fd, Buffer.alloc(64), 100);
    const after = programCost(program.fd);
    assert.equal(after.runCount - before.runCount, 100, 'every run counted');
    assert.ok(after.runTimeNs > before.runTimeNs, 'and its time');
    assert.ok(loadedPrograms().some((p) => p.name === program.name.slice(0, 15) && p.runCount === after.runCount), 'the same program among all loaded ones');
  } finally {
    stats.close();
  }
});
