/**
 * Which name an address was resolved from, learnt from the dns probe's
 * `netprobe.dns.exchange` records (`A 192.0.2.1` in `netprobe.dns.answers` ->
 * the question name). Bounded and expiring, like a small DNS cache.
 *
 * Stop-gap until core shares this fact between probes: callers only use
 * `learn` and `nameOf`, so switching to core's lookup is a change here only.
 */
import type { Attributes } from '../plugin/types';

const MAX_NAMES = 4096;
const TTL_MS = 10 * 60_000;

export class ResolvedNames {
  /** address -> name and when it was learnt; Map order is insertion order, oldest first. */
  private readonly names = new Map<string, { name: string; at: number }>();

  constructor(private readonly maxNames = MAX_NAMES, private readonly ttlMs = TTL_MS) {}

  /** Takes the addresses of an answered exchange's A/AAAA records. */
  learn(eventName: string, attributes: Attributes, now = Date.now()): void {
    if (eventName !== 'netprobe.dns.exchange') return;
    const name = attributes['dns.question.name'];
    const answers = attributes['netprobe.dns.answers'];
    if (typeof name !== 'string' || typeof answers !== 'string') return;
    for (const answer of answers.split('; ')) {
      const m = /^(?:A|AAAA) (\S+)$/.exec(answer);
      if (!m) continue;
      this.names.delete(m[1]!);
      this.names.set(m[1]!, { name: name.replace(/\.$/, '').toLowerCase(), at: now });
      if (this.names.size > this.maxNames) this.names.delete(this.names.keys().next().value!);
    }
  }

  nameOf(address: string, now = Date.now()): string | undefined {
    const entry = this.names.get(address);
    if (!entry) return undefined;
    if (now - entry.at > this.ttlMs) {
      this.names.delete(address);
      return undefined;
    }
    return entry.name;
  }

  get size(): number {
    return this.names.size;
  }
}
