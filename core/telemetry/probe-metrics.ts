/**
 * Probes' metrics as the kernel aggregated them. Probes report cumulative values
 * at each collection; this store keeps the latest, with a start time per series,
 * and hands them to every metric reader as a MetricProducer, so no value is
 * aggregated twice and a histogram keeps the kernel's exact bucket counts.
 */
import { ValueType, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import {
  AggregationTemporality, DataPointType,
  type MetricData, type MetricProducer, type CollectionResult,
} from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import type { Attributes, HistogramValue, MetricSink, MetricSpec } from '../plugin/types';
import { VERSION } from '../version';

export const PROBE_ID_ATTRIBUTE = 'netprobe.probe.id';

interface Series {
  spec: MetricSpec;
  attributes: Attributes;
  value: number | HistogramValue;
  startTime: HrTime;
  endTime: HrTime;
  /** What an earlier instance of the probe had counted (see carryOver), added to what it reports. */
  base?: number | HistogramValue;
}

export class ProbeMetricStore {
  /** probe id -> series key -> series */
  private readonly byProbe = new Map<string, Map<string, Series>>();

  constructor(private readonly resource: Resource) {}

  /**
   * A sink for one probe's collection. Series the probe does not report again are
   * forgotten at commit (an interface that went away, a flow that ended).
   */
  beginCollect(probeId: string, specs: readonly MetricSpec[]): MetricSink & { commit(): void } {
    const known = new Map(specs.map((s) => [s.name, s]));
    const previous = this.byProbe.get(probeId) ?? new Map<string, Series>();
    const next = new Map<string, Series>();
    const now = hrTime();
    return {
      record: (metric, attributes, value) => {
        const spec = known.get(metric);
        if (!spec) throw new Error(`probe ${probeId} reported metric ${metric}, which it does not declare`);
        const attrs = { ...attributes, [PROBE_ID_ATTRIBUTE]: probeId };
        const key = `${metric}\u0000${seriesKey(attrs)}`;
        const before = previous.get(key);
        const startTime = before?.startTime ?? now;
        const base = before?.base;
        next.set(key, { spec, attributes: attrs, value: base === undefined ? value : addCumulative(base, value), startTime, endTime: now, base });
      },
      commit: () => {
        this.byProbe.set(probeId, next);
      },
    };
  }

  /**
   * The probe is started again (its interfaces changed) and its kernel counters begin
   * at zero: each counter and histogram it reports again continues from its last value,
   * so cumulative totals stay exact and monotonic. Series it does not report again
   * (a vanished interface) are retired at the next commit, as usual.
   */
  carryOver(probeId: string): void {
    for (const s of this.byProbe.get(probeId)?.values() ?? []) {
      if (s.spec.kind === 'counter' || s.spec.kind === 'histogram') s.base = s.value;
    }
  }

  forget(probeId: string): void {
    this.byProbe.delete(probeId);
  }

  /** A producer serving only the given probes' series (the exporter's pipelines). */
  producer(probeIds: ReadonlySet<string>): MetricProducer {
    return {
      collect: async (): Promise<CollectionResult> => ({
        resourceMetrics: {
          resource: this.resource,
          scopeMetrics: [{ scope: { name: 'netprobe', version: VERSION }, metrics: this.metricData(probeIds) }],
        },
        errors: [],
      }),
    };
  }

  private metricData(probeIds: ReadonlySet<string>): MetricData[] {
    const grouped = new Map<string, Series[]>();
    for (const [probeId, series] of this.byProbe) {
      if (!probeIds.has(probeId)) continue;
      for (const s of series.values()) {
        const list = grouped.get(s.spec.name);
        if (list) list.push(s);
        else grouped.set(s.spec.name, [s]);
      }
    }
    return [...grouped.values()].map((list) => toMetricData(list[0]!.spec, list));
  }
}

/** A cumulative value on top of `base` (a counter, or a histogram with the same boundaries). */
export function addCumulative(base: number | HistogramValue, value: number | HistogramValue): number | HistogramValue {
  if (typeof base === 'number' && typeof value === 'number') return base + value;
  if (typeof base === 'number' || typeof value === 'number') return value;
  if (base.counts.length !== value.counts.length) return value; // the boundaries changed: a new series in all but name
  return { boundaries: value.boundaries, counts: value.counts.map((c, i) => c + base.counts[i]!), sum: base.sum + value.sum, count: base.count + value.count };
}

function seriesKey(attrs: Attributes): string {
  return Object.keys(attrs).sort().map((k) => `${k}=${String(attrs[k])}`).join('\u0001');
}

function toMetricData(spec: MetricSpec, series: Series[]): MetricData {
  const descriptor = {
    name: spec.name,
    description: spec.description,
    unit: spec.unit,
    valueType: spec.valueType === 'double' ? ValueType.DOUBLE : ValueType.INT,
  };
  const points = series.map((s) => ({ startTime: s.startTime, endTime: s.endTime, attributes: s.attributes }));
  switch (spec.kind) {
    case 'counter':
    case 'updowncounter':
      return {
        descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM,
        isMonotonic: spec.kind === 'counter',
        dataPoints: series.map((s, i) => ({ ...points[i]!, value: s.value as number })),
      };
    case 'gauge':
      return {
        descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE,
        dataPoints: series.map((s, i) => ({ ...points[i]!, value: s.value as number })),
      };
    case 'histogram':
      return {
        descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM,
        dataPoints: series.map((s, i) => {
          const h = s.value as HistogramValue;
          return {
            ...points[i]!,
            value: { buckets: { boundaries: [...h.boundaries], counts: [...h.counts] }, sum: h.sum, count: h.count },
          };
        }),
      };
  }
}
