/**
 * The screen `netprobe run` prints once it runs: what is attached where, where the
 * data goes, and how to look at it. Pure: built from what the service reports.
 */
import type { Attachment } from '../core/plugin/host';
import type { CollectorConfig, PrometheusConfig } from '../core/config/load';
import { componentType } from '../core/config/load';
import { VERSION } from '../core/version';

/** "xdp (mode=native)" per probe, with the targets that share the same hooks on one line. */
function attachmentLines(attachments: readonly Attachment[]): string[] {
  const byProbe = new Map<string, Map<string, string[]>>();
  for (const a of attachments) {
    const hooks = byProbe.get(a.probe) ?? new Map<string, string[]>();
    const hook = `${a.kind} (${a.detail})`;
    hooks.set(hook, [...(hooks.get(hook) ?? []), a.target]);
    byProbe.set(a.probe, hooks);
  }
  const width = Math.max(0, ...[...byProbe.keys()].map((p) => p.length));
  const lines: string[] = [];
  for (const [probe, hooks] of byProbe) {
    // Hooks with the same targets go on one line: "tc/ingress (tcx), tc/egress (tcx) on eth0, wlan0".
    const byTargets = new Map<string, string[]>();
    for (const [hook, targets] of hooks) {
      const key = targets.join(', ');
      byTargets.set(key, [...(byTargets.get(key) ?? []), hook]);
    }
    let first = true;
    for (const [targets, hookList] of byTargets) {
      lines.push(`    ${(first ? probe : '').padEnd(width)}  ${hookList.join(', ')} on ${targets}`);
      first = false;
    }
  }
  return lines;
}

export function runBanner(file: string, config: CollectorConfig, attachments: readonly Attachment[], exporterDescriptions: readonly string[]): string[] {
  const lines = [`netprobe ${VERSION} running with ${file} (interval ${config.service.interval})`];
  lines.push('  attached:');
  lines.push(...(attachments.length ? attachmentLines(attachments) : ['    nothing (no probe in a pipeline)']));
  lines.push('  data goes to:');
  for (const d of exporterDescriptions) lines.push(`    ${d}`);
  lines.push('  see it:');
  lines.push('    live view       sudo netprobe top     (in another terminal)');
  for (const [id, exporter] of Object.entries(config.exporters)) {
    const type = componentType(id);
    if (type === 'debug') lines.push(`    summary         here on stdout, every ${config.service.interval} (${id})`);
    if (type === 'prometheus') {
      const p = exporter as PrometheusConfig;
      lines.push(`    prometheus      curl http://${p.host}:${p.port}/metrics`);
    }
  }
  lines.push('  Ctrl-C stops: a last export, then every program is detached.');
  return lines;
}
