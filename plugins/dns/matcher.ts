/**
 * Pairs each DNS response with its query by transport, client and server address
 * and port, and transaction id, for the latency. Queries still waiting after the
 * timeout are reported as timed out. The table is bounded: when it is full the
 * oldest query is given up (and counted), never the memory.
 */
import type { DnsCapture } from './event';
import type { DnsMessage } from './message';
import type { Attributes } from '../../core/plugin/types';

/** A metric series a message counts in: a key to find it, and its attributes when it is new. */
export interface MetricSeries { key: string; attributes: () => Attributes }

/** A message as seen on an interface; `series` is the consumer's, carried so it is computed once. */
export interface Sighting { capture: DnsCapture; message: DnsMessage; series?: MetricSeries }

export type Exchange =
  | { outcome: 'answered'; query: Sighting; response: Sighting; durationNs: number }
  | { outcome: 'timeout'; query: Sighting }
  | { outcome: 'unmatched'; response: Sighting };

export class ExchangeMatcher {
  /** Insertion order is arrival order, so the oldest query is always first. */
  private readonly pending = new Map<string, Sighting>();
  /** Queries given up because the table was full. */
  evicted = 0;
  /** The same query seen again (a retransmission, or a second interface on its path). */
  duplicates = 0;

  constructor(
    private readonly timeoutNs: number,
    private readonly maxPending: number,
    private readonly onExchange: (exchange: Exchange) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(sighting: Sighting): void {
    if (sighting.message.isResponse) this.response(sighting);
    else this.query(sighting);
  }

  private query(query: Sighting): void {
    const c = query.capture;
    const key = exchangeKey(c.transport, c.source, c.sourcePort, c.destination, c.destinationPort, query.message.id);
    if (this.pending.has(key)) {
      this.duplicates++;
      return; // keep the first: latency is measured from the first transmission
    }
    if (this.pending.size >= this.maxPending) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.evicted++;
    }
    this.pending.set(key, query);
  }

  private response(response: Sighting): void {
    const c = response.capture;
    // The response travels from the server back to the client.
    const key = exchangeKey(c.transport, c.destination, c.destinationPort, c.source, c.sourcePort, response.message.id);
    const query = this.pending.get(key);
    if (!query) {
      this.onExchange({ outcome: 'unmatched', response });
      return;
    }
    this.pending.delete(key);
    this.onExchange({ outcome: 'answered', query, response, durationNs: Math.max(0, c.timestampNs - query.capture.timestampNs) });
  }

  /** Reports and forgets every query older than the timeout at `nowNs` (CLOCK_MONOTONIC). */
  expire(nowNs: number): void {
    for (const [key, query] of this.pending) {
      if (nowNs - query.capture.timestampNs < this.timeoutNs) break;
      this.pending.delete(key);
      this.onExchange({ outcome: 'timeout', query });
    }
  }
}

function exchangeKey(transport: string, client: string, clientPort: number, server: string, serverPort: number, id: number): string {
  return `${transport} ${client} ${clientPort} ${server} ${serverPort} ${id}`;
}
