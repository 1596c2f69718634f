/**
 * The userspace half of the probe: each ring-buffer record is decoded, counted,
 * and matched with its query or response; every finished exchange becomes a log
 * record and a latency observation. Nothing in here throws on bad input: a
 * record or message that does not decode is counted as malformed.
 */
import type { Attributes, MetricSink } from '../../core/plugin/types';
import type { DnsCapture, EventDecoder } from './event';
import { decodeMessage, type DnsMessage } from './message';
import { isKnownType } from './wire';
import { ExchangeMatcher, type Exchange, type MetricSeries, type Sighting } from './matcher';
import { CounterSeries, HistogramSeries, NameLimiter } from './series';

export const EXCHANGE_EVENT = 'netprobe.dns.exchange';

const NO_PAYLOAD = Buffer.alloc(0);

/** The semantic conventions' buckets for dns.lookup.duration, in seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;

export interface ConsumerOptions {
  timeoutNs: number;
  maxPending: number;
  /** Query names as a metric attribute, and how many distinct ones before `other`. */
  nameAttribute: { enabled: boolean; limit: number };
  interfaceName(ifindex: number): string;
  emit(eventName: string, attributes: Attributes, body: string): void;
  /** Every well-formed response, as decoded (dns publishes the addresses it resolved). */
  onResponse?(message: DnsMessage): void;
}

export class DnsConsumer {
  private readonly matcher: ExchangeMatcher;
  private readonly names: NameLimiter;
  readonly queries = new CounterSeries();
  readonly responses = new CounterSeries();
  readonly timeouts = new CounterSeries();
  readonly malformed = new CounterSeries();
  readonly durations = new HistogramSeries(DURATION_BUCKETS);
  /** Records that did not have the shape the kernel program writes (never expected). */
  badRecords = 0;

  constructor(private readonly decoder: EventDecoder, private readonly options: ConsumerOptions) {
    this.matcher = new ExchangeMatcher(options.timeoutNs, options.maxPending, (e) => this.finished(e));
    this.names = new NameLimiter(options.nameAttribute.limit);
  }

  get pending(): number {
    return this.matcher.size;
  }

  /**
   * A ring-buffer record, as the kernel wrote it. It may be the ring's own memory
   * (read in place), valid only during this call: nothing of it is kept.
   */
  handle(record: Buffer): void {
    const capture = this.decoder.decode(record);
    if (!capture) {
      this.badRecords++;
      return;
    }
    const decoded = decodeMessage(capture.payload, capture.transport, capture.payloadLength);
    capture.payload = NO_PAYLOAD; // the capture may wait in the matcher; its payload view must not
    if (!decoded.ok) {
      const reason = decoded.reason;
      this.malformed.add(`${linkKey(capture)}:${reason}`, () => ({ ...this.linkAttributes(capture), 'error.type': reason }));
      return;
    }
    const message = decoded.message;
    const series = this.seriesOf(capture, message);
    if (message.isResponse) {
      this.options.onResponse?.(message);
      const rcode = message.rcode;
      this.responses.add(`${series.key}:${rcode}`, () => ({ ...series.attributes(), 'netprobe.dns.response_code': rcode }));
    } else {
      this.queries.add(series.key, series.attributes);
    }
    this.matcher.add({ capture, message, series });
  }

  /** Reports queries that have waited longer than the timeout; `nowNs` is CLOCK_MONOTONIC. */
  expire(nowNs: number): void {
    this.matcher.expire(nowNs);
  }

  report(sink: MetricSink): void {
    this.queries.report(sink, 'netprobe.dns.queries');
    this.responses.report(sink, 'netprobe.dns.responses');
    this.timeouts.report(sink, 'netprobe.dns.timeouts');
    this.malformed.report(sink, 'netprobe.dns.malformed');
    this.durations.report(sink, 'dns.lookup.duration');
    sink.record('netprobe.dns.pending.evicted', {}, this.matcher.evicted);
  }

  private linkAttributes(c: DnsCapture): Attributes {
    return {
      'network.transport': c.transport,
      'network.type': c.networkType,
      'network.interface.name': this.options.interfaceName(c.ifindex),
      'network.io.direction': c.direction,
    };
  }

  /** The metric series of a message (by link, question type and, when enabled, name): its key and attributes. */
  private seriesOf(c: DnsCapture, m: DnsMessage): MetricSeries {
    const q = m.questions[0];
    const type = q ? (isKnownType(q.type) ? q.type : 'other') : 'none';
    const name = this.options.nameAttribute.enabled ? (q ? this.names.admit(q.name) : '') : undefined;
    return {
      key: name === undefined ? `${linkKey(c)}:${type}` : `${linkKey(c)}:${type}:${name}`,
      attributes: () => {
        const attributes: Attributes = { ...this.linkAttributes(c), 'netprobe.dns.question.type': type };
        if (name !== undefined) attributes['dns.question.name'] = name;
        return attributes;
      },
    };
  }

  private finished(e: Exchange): void {
    if (e.outcome === 'timeout') {
      const series = e.query.series!;
      this.timeouts.add(series.key, series.attributes);
    } else if (e.outcome === 'answered') {
      const series = e.query.series!;
      const rcode = e.response.message.rcode;
      const error = rcode === 'NOERROR' ? undefined : rcode.toLowerCase();
      this.durations.observe(error ? `${series.key}:${error}` : series.key, () => {
        const attributes = series.attributes();
        if (error) attributes['error.type'] = error;
        return attributes;
      }, e.durationNs / 1e9);
    }
    const { attributes, body } = exchangeRecord(e, (i) => this.options.interfaceName(i));
    this.options.emit(EXCHANGE_EVENT, attributes, body);
  }
}

/** The part of a series key that comes from where the message was seen, as one number. */
function linkKey(c: DnsCapture): number {
  return c.ifindex * 8 + (c.direction === 'transmit' ? 4 : 0) + (c.transport === 'tcp' ? 2 : 0) + (c.networkType === 'ipv6' ? 1 : 0);
}

/** The log record of one exchange: flat attributes a person can search, and a one-line body. */
export function exchangeRecord(e: Exchange, interfaceName: (ifindex: number) => string): { attributes: Attributes; body: string } {
  // Addressing comes from the query when there is one: the client is who asked.
  const first: Sighting = e.outcome === 'unmatched' ? e.response : e.query;
  const c = first.capture;
  const asked = e.outcome === 'unmatched' ? { client: c.destination, clientPort: c.destinationPort, server: c.source, serverPort: c.sourcePort }
    : { client: c.source, clientPort: c.sourcePort, server: c.destination, serverPort: c.destinationPort };
  const q = first.message.questions[0];
  const attributes: Attributes = {
    'netprobe.dns.outcome': e.outcome,
    'client.address': asked.client,
    'client.port': asked.clientPort,
    'server.address': asked.server,
    'server.port': asked.serverPort,
    'network.transport': c.transport,
    'network.type': c.networkType,
    'network.interface.name': interfaceName(c.ifindex),
    'network.io.direction': c.direction,
    'netprobe.dns.transaction_id': first.message.id,
    'dns.question.name': q?.name ?? '',
    'netprobe.dns.question.type': q?.type ?? '',
    'netprobe.dns.question.class': q?.class ?? '',
    'netprobe.dns.question_count': first.message.questions.length,
  };
  let body = `${q?.name ?? '(no question)'} ${q?.type ?? ''}`;
  const response = e.outcome === 'timeout' ? undefined : e.response.message;
  if (response) {
    attributes['netprobe.dns.response_code'] = response.rcode;
    attributes['netprobe.dns.answer_count'] = response.answerCount;
    attributes['netprobe.dns.answers'] = response.answers.map((a) => `${a.type} ${a.data}`).join('; ');
    attributes['netprobe.dns.truncated'] = response.truncated;
    attributes['netprobe.dns.capture_truncated'] = response.captureTruncated;
    body += ` -> ${response.rcode}, ${response.answerCount} answer${response.answerCount === 1 ? '' : 's'}`;
  }
  if (e.outcome === 'answered') {
    attributes['netprobe.dns.duration'] = Math.round(e.durationNs); // whole ns: an integer whatever the value, so one type
    body += ` in ${(e.durationNs / 1e6).toFixed(3)} ms`;
  } else {
    body += e.outcome === 'timeout' ? ' -> no answer (timeout)' : ' (query not seen)';
  }
  return { attributes, body };
}
