/**
 * Which ingress hook flow_stats picks: native XDP where the driver takes it, else TC;
 * never generic XDP, whose super-packets hide their segment count. The real object is
 * loaded; the host records attach calls and plays a driver with or without native XDP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import type { BpfObject } from '../../core/bpf/object';
import type { ProbeObject } from '../../core/plugin';
import { parseConfig } from '../../core/config/load';
import { plugins } from '../registry';
import { flowStats, FlowStatsRunner, type FlowStatsConfig } from './plugin';
import { detachedHost } from '../../test/helpers/detached-host';

function start(probe: string, nativeXdp: boolean): { calls: string[]; runner?: FlowStatsRunner; error?: Error } {
  const config = parseConfig(`probes: { flow_stats: ${probe} }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [flow_stats], exporters: [debug] } } }`, 'test', plugins, {}).probes.flow_stats as FlowStatsConfig;
  const opened: BpfObject[] = [];
  const calls: string[] = [];
  const host = {
    ...detachedHost(flowStats, opened),
    interfaces: () => [{ name: 'lo', index: 1 }],
    attachXdp: (_o: ProbeObject, program: string, _ifname: string, mode: string) => {
      calls.push(`xdp ${mode} ${program}`);
      if (!nativeXdp) throw new Error('attaching XDP to lo (native: EOPNOTSUPP)');
      return mode as 'native';
    },
    attachTc: (_o: ProbeObject, program: string, _ifname: string, direction: string) => {
      calls.push(`tc ${direction} ${program}`);
      return 'tcx' as const;
    },
  };
  try {
    return { calls, runner: new FlowStatsRunner(config, host) };
  } catch (error) {
    return { calls, error: error as Error };
  } finally {
    for (const o of opened) o.close();
  }
}

test('auto: native XDP where the driver has it, else TC ingress, never generic XDP', (t) => {
  if (!kernelTestsPossible(t)) return;
  const withNative = start('{ interfaces: [lo], directions: [ingress] }', true);
  assert.deepEqual(withNative.calls, ['xdp native flow_stats_xdp']);
  assert.deepEqual([...withNative.runner!.ingressHooks], [['lo', 'xdp/native']]);
  const without = start('{ interfaces: [lo], directions: [ingress] }', false);
  assert.deepEqual(without.calls, ['xdp native flow_stats_xdp', 'tc ingress flow_stats_tc_ingress']);
  assert.deepEqual([...without.runner!.ingressHooks], [['lo', 'tc']]);
});

test('generic counts at TC ingress; native without driver support fails; ingress_hook tc is TC', (t) => {
  if (!kernelTestsPossible(t)) return;
  assert.deepEqual(start('{ interfaces: [lo], xdp_mode: generic }', true).calls, ['tc ingress flow_stats_tc_ingress', 'tc egress flow_stats_tc_egress']);
  const native = start('{ interfaces: [lo], xdp_mode: native }', false);
  assert.match(String(native.error), /EOPNOTSUPP/);
  assert.deepEqual(native.calls, ['xdp native flow_stats_xdp']);
  assert.deepEqual(start('{ interfaces: [lo], ingress_hook: tc }', true).calls, ['tc ingress flow_stats_tc_ingress', 'tc egress flow_stats_tc_egress']);
});
