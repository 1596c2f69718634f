/**
 * Quantiles of what a cumulative histogram gained between two readings: the
 * latency of the last interval, not of the whole run.
 */
import type { HistogramValue } from '../plugin/types';

/** Bucket counts added since `before` (all zeros when `before` is missing: everything is new). */
export function histogramDelta(now: HistogramValue, before: HistogramValue | undefined): number[] {
  const sameShape = before && before.counts.length === now.counts.length && before.count <= now.count;
  return now.counts.map((c, i) => (sameShape ? Math.max(0, c - before.counts[i]!) : c));
}

/** Adds bucket counts of histograms with the same boundaries. */
export function addCounts(into: number[], counts: readonly number[]): number[] {
  counts.forEach((c, i) => (into[i] = (into[i] ?? 0) + c));
  return into;
}

/**
 * The q-quantile (0..1), interpolated linearly inside its bucket as Prometheus does.
 * The first bucket starts at 0; a quantile in the overflow bucket is its lower bound.
 * Undefined when the counts are all zero.
 */
export function quantile(boundaries: readonly number[], counts: readonly number[], q: number): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      if (i >= boundaries.length) return boundaries[boundaries.length - 1];
      const lower = i === 0 ? 0 : boundaries[i - 1]!;
      const upper = boundaries[i]!;
      return lower + ((upper - lower) * (rank - seen)) / c;
    }
    seen += c;
  }
  return boundaries[boundaries.length - 1];
}
