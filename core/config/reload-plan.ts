/**
 * What a reload changes, worked out from the running config and the new one: probes whose
 * config is the same keep running (their kernel counters with them), changed ones restart,
 * added ones attach, removed ones detach; exporters are swapped as a whole when exporters,
 * pipelines or the interval differ.
 */
import { isDeepStrictEqual } from 'node:util';
import type { CollectorConfig } from './load';

export interface ReloadPlan {
  /** Running probes left alone. */
  keep: string[];
  /** Probes to detach, in the order to stop them (a changed probe is in stop and start). */
  stop: string[];
  /** Probes to attach, in config order. */
  start: string[];
  /** The exporters (and their routes and interval) change: build new ones, then retire the old. */
  exporters: boolean;
  /** Differences a reload does not apply (they need a restart). */
  ignored: string[];
}

/** Probe ids in config order that some pipeline uses: the ones that run. */
export function usedProbeIds(config: CollectorConfig): string[] {
  const used = new Set(Object.values(config.service.pipelines).flatMap((p) => p.probes));
  return Object.keys(config.probes).filter((id) => used.has(id));
}

export function planReload(running: CollectorConfig, next: CollectorConfig): ReloadPlan {
  const before = usedProbeIds(running);
  const after = usedProbeIds(next);
  const same = (id: string) => isDeepStrictEqual(running.probes[id], next.probes[id]);
  const keep = after.filter((id) => before.includes(id) && same(id));
  const stop = before.filter((id) => !keep.includes(id)).reverse();
  const start = after.filter((id) => !keep.includes(id));
  const exporters = !isDeepStrictEqual(running.exporters, next.exporters)
    || !isDeepStrictEqual(running.service.pipelines, next.service.pipelines)
    || running.service.interval !== next.service.interval;
  const ignored: string[] = [];
  if (!isDeepStrictEqual(running.extensions, next.extensions)) ignored.push('extensions');
  // Any key under service::telemetry (logs::level, kernel_stats...) is read once at start.
  for (const key of Object.keys({ ...running.service.telemetry, ...next.service.telemetry }) as Array<keyof CollectorConfig['service']['telemetry']>) {
    if (!isDeepStrictEqual(running.service.telemetry[key], next.service.telemetry[key])) ignored.push(`service::telemetry::${key}`);
  }
  return { keep, stop, start, exporters, ignored };
}
