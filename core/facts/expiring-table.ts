/**
 * A bounded map whose entries expire: the store behind every fact probes share.
 * Entries are kept in publication order; a full table first drops what has expired
 * (at most one sweep per second, so a busy publisher never pays O(n) per insert),
 * then the entry published longest ago, and counts what it dropped early.
 */
import type { FactTable } from '../plugin/types';

export const monotonicMs = (): number => performance.now();

/** A full table sweeps out expired entries at most this often before evicting live ones. */
const SWEEP_EVERY_MS = 1000;

interface Entry<V> { value: V; expiresAt: number }

export class ExpiringTable<K, V> implements FactTable<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private lastSweep = -Infinity;
  evicted = 0;

  constructor(readonly capacity: number, private readonly now: () => number = monotonicMs) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`fact table capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  publish(key: K, value: V, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    // Re-publishing moves the entry to the back: it is the newest again.
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) this.makeRoom();
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  lookup(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  private makeRoom(): void {
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    }
    if (this.entries.size < this.capacity) return;
    const oldest = this.entries.keys().next();
    if (!oldest.done) {
      this.entries.delete(oldest.value);
      this.evicted++;
    }
  }
}
