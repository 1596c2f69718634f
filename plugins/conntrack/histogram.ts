/** A cumulative histogram kept in userspace, with OpenTelemetry's (previous, boundary] buckets. */
import type { HistogramValue } from '../../core/plugin/types';

export class CumulativeHistogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly boundaries: readonly number[]) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    let i = 0;
    while (i < this.boundaries.length && value > this.boundaries[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  value(): HistogramValue {
    return { boundaries: this.boundaries, counts: [...this.counts], sum: this.sum, count: this.count };
  }
}

/** Histograms keyed by their attributes (a small, fixed set: role, reason, network type). */
export class HistogramSet {
  private readonly byKey = new Map<string, { attributes: Record<string, string>; histogram: CumulativeHistogram }>();

  constructor(private readonly boundaries: readonly number[]) {}

  record(attributes: Record<string, string>, value: number): void {
    const key = JSON.stringify(attributes);
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = { attributes, histogram: new CumulativeHistogram(this.boundaries) };
      this.byKey.set(key, entry);
    }
    entry.histogram.record(value);
  }

  *entries(): Iterable<{ attributes: Record<string, string>; value: HistogramValue }> {
    for (const { attributes, histogram } of this.byKey.values()) yield { attributes, value: histogram.value() };
  }
}
