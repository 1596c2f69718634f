/**
 * Deadlines around exports. The OTLP SDK's own timeout starts only once a TCP
 * connection exists, so a connect that hangs (a port that drops SYNs) would hold
 * an export for minutes; here the deadline covers the whole request, whatever the
 * exporter kind, and the late answer is ignored.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';

export class ExportTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs}ms`);
    this.name = 'ExportTimeoutError';
  }
}

/** Runs a callback-style export; resolves with its result, or with a failure at `timeoutMs`. Never rejects. */
export function exportWithin(timeoutMs: number, exportFn: (done: (result: ExportResult) => void) => void): Promise<ExportResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    // Not unref'd: the wait is bounded, and whoever awaits the result must get it.
    const timer = setTimeout(() => finish({ code: ExportResultCode.FAILED, error: new ExportTimeoutError(timeoutMs) }), timeoutMs);
    try {
      exportFn(finish);
    } catch (err) {
      finish({ code: ExportResultCode.FAILED, error: err as Error });
    }
  });
}

/** Waits for `work` until the wall-clock time `deadlineAt`; true if it finished in time. Never rejects. */
export async function settledBy(work: Promise<unknown>, deadlineAt: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadlineAt - Date.now()));
  });
  const inTime = await Promise.race([work.then(() => true, () => true), late]);
  clearTimeout(timer);
  return inTime;
}

/**
 * A low-cardinality `error.type` for a failed export: `timeout` for our deadline,
 * the HTTP status the backend answered, a socket error code (ECONNRESET...), else `_OTHER`.
 */
export function errorType(error: unknown): string {
  if (error instanceof ExportTimeoutError) return 'timeout';
  const e = error as { code?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'number' && e.code >= 100 && e.code < 600) return String(e.code);
  if (typeof e?.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code)) return e.code;
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string' && /^E[A-Z0-9_]+$/.test(cause.code)) return cause.code;
  if (error instanceof Error && /timed out/i.test(error.message)) return 'timeout';
  return '_OTHER';
}
