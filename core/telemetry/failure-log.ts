/**
 * Logs export failures of one exporter, with how many happened since the last
 * line, so a dead backend cannot flood stderr: first at once, then with a gap
 * that doubles each time (one interval, two, four, ... at most 10 minutes). A
 * backend that nobody runs (the default localhost:4318) stays a quiet line now
 * and then; after a quiet spell without failures the gap starts small again.
 */
import type { Logger } from '../log';

const MAX_GAP_MS = 10 * 60_000;

export class FailureLog {
  private lastLogged = 0;
  private lastFailed = 0;
  private gapMs: number;
  private suppressed = 0;

  constructor(private readonly log: Logger, private readonly exporter: string, private readonly intervalMs: number, private readonly now: () => number = Date.now) {
    this.gapMs = intervalMs;
  }

  failed(signal: string, items: number, error: unknown): void {
    const now = this.now();
    if (this.lastFailed && now - this.lastFailed > 2 * this.gapMs) {
      // It had recovered: this is a new outage, reported at once.
      this.gapMs = this.intervalMs;
      this.lastLogged = 0;
    }
    this.lastFailed = now;
    if (this.lastLogged && now - this.lastLogged < this.gapMs) {
      this.suppressed++;
      return;
    }
    if (this.lastLogged) this.gapMs = Math.min(MAX_GAP_MS, this.gapMs * 2);
    this.log.warn('export failed; retrying quietly', {
      exporter: this.exporter, signal, items, error: (error as Error | undefined)?.message ?? String(error),
      failures_since_last_report: this.suppressed || undefined,
      next_report_in_s: Math.round(this.gapMs / 1000),
    });
    this.lastLogged = now;
    this.suppressed = 0;
  }
}
