/**
 * The configuration `netprobe top` runs: the probes of a collector.yaml, or with
 * `-i IFACE` (or no collector.yaml) every probe that can share the interfaces.
 * top shows what the probes see and exports nothing, so the exporters are dropped
 * and the interval is top's own (1 s by default).
 */
import fs from 'node:fs';
import { componentType, loadConfigFile, parseConfig, type CollectorConfig } from '../../core/config/load';
import { parseDuration } from '../../core/config/duration';
import { cgroupV2Root } from '../../core/net/cgroup';
import type { ProbePlugin } from '../../core/plugin/types';

/**
 * Every probe on the same interfaces: flow_stats takes its ingress through TC, because an
 * interface takes one XDP program and xdp_counter has it; dns is on TC; conntrack is per cgroup.
 */
export function allProbesConfig(interfaces: 'auto' | string[], options: { conntrack?: boolean; topFlows?: number } = {}): Record<string, unknown> {
  return {
    xdp_counter: { interfaces },
    flow_stats: { interfaces, ingress_hook: 'tc', top_flows: options.topFlows ?? 100 },
    dns: { interfaces },
    ...(options.conntrack ?? true ? { conntrack: {} } : {}),
  };
}

/** Config text for `allProbesConfig`, validated like a file (schema defaults applied, frozen). */
export function flagsConfig(interfaces: 'auto' | string[], plugins: readonly ProbePlugin[]): CollectorConfig {
  // conntrack watches a cgroup: without a cgroup v2 mount it cannot run, and the others still can.
  const probes = allProbesConfig(interfaces, { conntrack: cgroupV2Root() !== undefined });
  const ids = Object.keys(probes);
  const raw = {
    probes,
    exporters: { debug: {} },
    service: { pipelines: { metrics: { probes: ids, exporters: ['debug'] }, logs: { probes: ids, exporters: ['debug'] } } },
  };
  const source = interfaces === 'auto' ? 'netprobe top (every probe on every interface)' : `netprobe top -i ${interfaces.join(',')}`;
  return parseConfig(JSON.stringify(raw), source, plugins); // JSON is YAML
}

/** The same probes, no exporters, top's interval: the service runs them and top looks. */
export function forTop(config: CollectorConfig, intervalMs: number, kernelStats = false): CollectorConfig {
  const used = new Set(Object.values(config.service.pipelines).flatMap((p) => p.probes));
  const probes = Object.keys(config.probes).filter((id) => used.has(id));
  return {
    probes: Object.fromEntries(probes.map((id) => [id, config.probes[id]])),
    exporters: {},
    service: {
      ...config.service,
      interval: `${intervalMs}ms`,
      intervalMs,
      // --kernel-stats turns statistics on for top's own run; a config that has them keeps them.
      telemetry: { ...config.service.telemetry, kernel_stats: config.service.telemetry.kernel_stats || kernelStats },
      pipelines: { metrics: { probes, exporters: [], signal: 'metrics' }, logs: { probes, exporters: [], signal: 'logs' } },
    },
  };
}

export interface TopConfigChoice {
  config: CollectorConfig;
  /** Where the probes come from, for the title line. */
  source: string;
}

/**
 * `-i` wins; else `--config FILE`; else ./collector.yaml when it exists; else every probe
 * on every interface. Throws ConfigError (the caller exits 2) for a bad file or interval.
 */
export function chooseTopConfig(options: { interfaces: string[]; config?: string; interval: string; kernelStats?: boolean }, plugins: readonly ProbePlugin[]): TopConfigChoice {
  const intervalMs = parseDuration(options.interval);
  const top = (config: CollectorConfig) => forTop(config, intervalMs, options.kernelStats ?? false);
  if (options.interfaces.length) return { config: top(flagsConfig(options.interfaces, plugins)), source: options.interfaces.join(',') };
  const file = options.config ?? 'collector.yaml';
  if (options.config || fs.existsSync(file)) return { config: top(loadConfigFile(file, plugins)), source: file };
  return { config: top(flagsConfig('auto', plugins)), source: 'every interface' };
}

/** An attach that failed because the interface's one XDP hook is in use (by another process or probe). */
export function isXdpTaken(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /another XDP program is already attached|already has XDP from/.test(message);
}

/** The same top config without its xdp_counter probes, or undefined when it has none or nothing would be left. */
export function withoutXdpCounter(config: CollectorConfig): CollectorConfig | undefined {
  const keep = Object.keys(config.probes).filter((id) => componentType(id) !== 'xdp_counter');
  if (keep.length === Object.keys(config.probes).length || keep.length === 0) return undefined;
  return {
    ...config,
    probes: Object.fromEntries(keep.map((id) => [id, config.probes[id]])),
    service: { ...config.service, pipelines: { metrics: { probes: keep, exporters: [], signal: 'metrics' }, logs: { probes: keep, exporters: [], signal: 'logs' } } },
  };
}
