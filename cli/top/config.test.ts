import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugins } from '../../plugins/registry';
import { Service } from '../../core/service';
import { createLogger } from '../../core/log';
import { flagsConfig, forTop, isXdpTaken, withoutXdpCounter } from './config';
import { runBanner } from '../banner';
import type { Attachment } from '../../core/plugin/host';

test('-i IFACE runs every probe that can share it: flow_stats ingress on TC beside xdp_counter, dns, conntrack', () => {
  const config = flagsConfig(['eth0'], plugins);
  assert.deepEqual(Object.keys(config.probes).slice(0, 3), ['xdp_counter', 'flow_stats', 'dns']);
  assert.equal((config.probes.flow_stats as { ingress_hook: string }).ingress_hook, 'tc');
  assert.deepEqual((config.probes.dns as { interfaces: string[] }).interfaces, ['eth0']);
  assert.equal((config.probes.xdp_counter as { mode: string }).mode, 'auto', 'schema defaults are applied');
});

test('top keeps the probes in use, drops the exporters, and uses its own interval', () => {
  const base = flagsConfig(['eth0'], plugins);
  const config = forTop(base, 1000);
  assert.deepEqual(config.exporters, {});
  assert.equal(config.service.intervalMs, 1000);
  assert.deepEqual(config.service.pipelines.metrics!.probes, Object.keys(base.probes));
  assert.deepEqual(new Service(config, plugins, createLogger()).usedProbeIds(), Object.keys(base.probes));
  const rest = withoutXdpCounter(config)!;
  assert.ok(!('xdp_counter' in rest.probes));
  assert.ok('flow_stats' in rest.probes);
  assert.equal(withoutXdpCounter(rest), undefined, 'nothing to leave out');
  assert.ok(isXdpTaken(new Error('attaching XDP to eth0 (native: x): another XDP program is already attached to this interface')));
  assert.ok(!isXdpTaken(new Error('interface eth9 not found')));
});

test('the run banner: each probe with its hooks and interfaces, where data goes, how to look', () => {
  const config = flagsConfig(['eth0', 'wlan0'], plugins);
  const attachments: Attachment[] = [
    { probe: 'xdp_counter', kind: 'xdp', target: 'eth0', targetKind: 'interface', detail: 'mode=native' },
    { probe: 'xdp_counter', kind: 'xdp', target: 'wlan0', targetKind: 'interface', detail: 'mode=native' },
    { probe: 'dns', kind: 'tc/ingress', target: 'eth0', targetKind: 'interface', detail: 'tcx' },
    { probe: 'dns', kind: 'tc/egress', target: 'eth0', targetKind: 'interface', detail: 'tcx' },
    { probe: 'conntrack', kind: 'sock_ops', target: '/sys/fs/cgroup', targetKind: 'cgroup', detail: 'cgroup link, multi-attach' },
  ];
  const lines = runBanner('x.yaml', config, attachments, ['debug: metrics to stdout']);
  assert.equal(lines[0], 'netprobe 0.1.0 running with x.yaml (interval 10s)'.replace('0.1.0', lines[0]!.split(' ')[1]!));
  assert.ok(lines.includes('    xdp_counter  xdp (mode=native) on eth0, wlan0'), lines.join('\n'));
  assert.ok(lines.includes('    dns          tc/ingress (tcx), tc/egress (tcx) on eth0'), lines.join('\n'));
  assert.ok(lines.includes('    conntrack    sock_ops (cgroup link, multi-attach) on /sys/fs/cgroup'), lines.join('\n'));
  assert.ok(lines.includes('    debug: metrics to stdout'));
  assert.ok(lines.some((l) => l.includes('sudo netprobe top')));
  assert.ok(lines.some((l) => /summary\s+here on stdout, every 10s \(debug\)/.test(l)));
  assert.ok(lines.length <= 24, 'one screen');
});
