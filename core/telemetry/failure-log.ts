/**
 * Logs export failures at most once per interval per exporter, with how many
 * happened since the last line, so a dead backend cannot flood stderr.
 */
import type { Logger } from '../log';

export class FailureLog {
  private lastLogged = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger, private readonly exporter: string, private readonly intervalMs: number) {}

  failed(signal: string, items: number, error: unknown): void {
    const now = Date.now();
    if (now - this.lastLogged < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.log.warn('export failed; will retry at the next interval', {
      exporter: this.exporter, signal, items, error: (error as Error | undefined)?.message ?? String(error),
      failures_since_last_report: this.suppressed || undefined,
    });
    this.lastLogged = now;
    this.suppressed = 0;
  }
}
