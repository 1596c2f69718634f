/**
 * Cumulative metric state kept in userspace for values only the decoder knows
 * (response codes, latencies): counters and histograms per attribute set, and a
 * limiter that keeps query names from turning into unbounded cardinality.
 */
import type { Attributes, HistogramValue, MetricSink } from '../../core/plugin/types';

/**
 * Series are found by a key the caller builds from the few values that vary
 * (cheap string concatenation); the attribute object is only built for a new one.
 */
export class CounterSeries {
  private readonly series = new Map<string, { attributes: Attributes; value: number }>();

  add(key: string, attributes: () => Attributes, n = 1): void {
    const s = this.series.get(key);
    if (s) s.value += n;
    else this.series.set(key, { attributes: attributes(), value: n });
  }

  report(sink: MetricSink, metric: string): void {
    for (const s of this.series.values()) sink.record(metric, s.attributes, s.value);
  }
}

export class HistogramSeries {
  private readonly series = new Map<string, { attributes: Attributes; counts: number[]; sum: number; count: number }>();

  constructor(private readonly boundaries: readonly number[]) {}

  /** OpenTelemetry buckets: (previous boundary, boundary], the last one unbounded. */
  observe(key: string, attributes: () => Attributes, value: number): void {
    let s = this.series.get(key);
    if (!s) {
      s = { attributes: attributes(), counts: new Array<number>(this.boundaries.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.boundaries.length && value > this.boundaries[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  report(sink: MetricSink, metric: string): void {
    for (const s of this.series.values()) {
      const value: HistogramValue = { boundaries: this.boundaries, counts: [...s.counts], sum: s.sum, count: s.count };
      sink.record(metric, s.attributes, value);
    }
  }
}

/** The first `limit` distinct names keep their own series; every later one is `other`. */
export class NameLimiter {
  private readonly admitted = new Set<string>();
  /** Names as they arrive -> what they count as, so the common case is one lookup (bounded). */
  private readonly seen = new Map<string, string>();

  constructor(private readonly limit: number) {}

  admit(name: string): string {
    const known = this.seen.get(name);
    if (known !== undefined) return known;
    const admitted = this.decide(name);
    if (this.seen.size < this.limit * 4) this.seen.set(name, admitted);
    return admitted;
  }

  private decide(name: string): string {
    // Lower case: DNS names are case-insensitive, and resolvers randomise case (0x20).
    const normalized = name.toLowerCase();
    if (this.admitted.has(normalized)) return normalized;
    if (this.admitted.size >= this.limit) return 'other';
    this.admitted.add(normalized);
    return normalized;
  }
}
