/**
 * The benchmark contract. A suite measures one or more figures, each as several
 * runs summarised by median, min and max, and compares it with a baseline
 * measured in the same run (the machine is noisy: only same-run ratios mean much).
 */
export interface BenchContext {
  /** Smoke mode (CI): as few repetitions as still prove the suite works. */
  quick: boolean;
  log(line: string): void;
}

export interface Figure {
  /** What was measured, e.g. "xdp_counter, IPv4 UDP 64 B". */
  name: string;
  /** e.g. "ns/packet", "events/s", "ms", "MB". */
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  /** The same-run baseline this figure is compared with, and the ratio figure/baseline. */
  baseline?: { name: string; median: number };
  ratio?: number;
  /** A target from the issue, to print beside the figure, e.g. "< 40 ns/packet". */
  target?: string;
  note?: string;
}

export interface BenchSuite {
  name: string;
  /** Needs root and a BPF-capable kernel. */
  kernel: boolean;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** Median, min and max of repeated measurements. */
export function summarize(values: number[]): { median: number; min: number; max: number; runs: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

/** A suite's sizes by mode: each name's [smoke, full] value, the smoke one in quick mode. */
export function sized<Name extends string>(ctx: BenchContext, sizes: Record<Name, readonly [smoke: number, full: number]>): Record<Name, number> {
  const picked = {} as Record<Name, number>;
  for (const name of Object.keys(sizes) as Name[]) picked[name] = sizes[name][ctx.quick ? 0 : 1];
  return picked;
}
