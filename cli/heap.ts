/**
 * How far V8 lets the heap grow before a full garbage collection. By default it may
 * grow to up to 4x what was live after the last one: with ~45 MB live under flow churn
 * (65,536 flows, ended flows' log records passing through the exporters' queues), the
 * collector reached 248–277 MiB RSS, almost all of it garbage waiting for a full GC.
 * At 1.25x it stayed at 159–169 MiB in the same run (test/reliability.test.ts), for more
 * frequent, mostly concurrent, full collections. Unlike --max-old-space-size this is no
 * ceiling: a larger live set (a bigger table, a backend outage filling the queues) still
 * fits, it is only collected sooner. V8 reads the flag at each full GC, so setting it
 * at run time works (Node 18's V8 has it too).
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 25;

export function keepHeapTight(): void {
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--heap-growing-percent'))) return; // the user chose
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
