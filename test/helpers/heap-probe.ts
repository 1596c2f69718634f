/**
 * Preloaded into a collector under test (`node --expose-gc --require <this>`): on SIGUSR2 it
 * runs a full garbage collection and appends the live heap to $NETPROBE_HEAP_PROBE_FILE, one
 * JSON line. RSS alone cannot tell a leak from garbage V8 has not collected yet; this can.
 */
import fs from 'node:fs';

const file = process.env.NETPROBE_HEAP_PROBE_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
if (file && gc) {
  process.on('SIGUSR2', () => {
    gc();
    gc(); // a second pass frees what the first one's finalizers released
    const m = process.memoryUsage();
    fs.appendFileSync(file, JSON.stringify({ heapUsed: m.heapUsed, external: m.external, rss: m.rss }) + '\n');
  });
}

/** Reads the lines written so far. */
export function heapSamples(path: string): Array<{ heapUsed: number; external: number; rss: number }> {
  if (!fs.existsSync(path)) return [];
  return fs.readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { heapUsed: number; external: number; rss: number });
}
