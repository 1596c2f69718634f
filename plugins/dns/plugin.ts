/**
 * dns: every DNS query and response on the chosen interfaces, over UDP and TCP,
 * IPv4 and IPv6. A TC program copies each message into a ring buffer; userspace
 * decodes it, matches responses to queries for the latency, and emits a log
 * record per exchange and metrics by type, response code and latency.
 *
 * It attaches through tcx on ingress and egress rather than XDP for ingress: an
 * interface takes one XDP program, which xdp_counter (and flow probes) use, while
 * tcx hooks are shared, so dns runs beside them on the same interfaces.
 */
import schema from './config.schema.json';
import type { ConfigIssue, ProbeMap, ProbePlugin } from '../../core/plugin';
import { parseDuration } from '../../core/config/duration';
import { EventDecoder } from './event';
import { DnsConsumer, EXCHANGE_EVENT } from './consumer';
import { resolvedAddresses } from './resolved';
import type { DnsMessage } from './message';

export interface DnsConfig {
  interfaces: 'auto' | string[];
  ports: number[];
  capture_bytes: number;
  query_timeout: string;
  max_pending: number;
  query_name_attribute: boolean;
  query_name_limit: number;
  ring_buffer_bytes: number;
  publish_names: boolean;
  name_min_ttl: string;
}

const LINK = ['network.transport', 'network.type', 'network.interface.name', 'network.io.direction'] as const;
const QUERY = [...LINK, 'netprobe.dns.question.type', 'dns.question.name'] as const;

export const dns: ProbePlugin<DnsConfig> = {
  type: 'dns',
  description: 'DNS queries and responses (UDP/TCP, IPv4/IPv6) with names, types, response codes and latency; '
    + 'TC programs through tcx on ingress and egress, so it shares interfaces with XDP probes.',
  directory: __dirname,
  attaches: 'TC ingress and egress (tcx) on each selected interface',
  object: 'dns.bpf.o',
  reads: { maps: ['dns_counters'], ringBuffers: ['dns_events'] },
  configSchema: schema,
  metrics: [
    { name: 'netprobe.dns.queries', description: 'DNS queries seen.', unit: '{query}', kind: 'counter', attributes: QUERY },
    { name: 'netprobe.dns.responses', description: 'DNS responses seen, by response code.', unit: '{response}', kind: 'counter', attributes: [...QUERY, 'netprobe.dns.response_code'] },
    { name: 'dns.lookup.duration', description: 'Time from a query to its response, as seen on the interface.', unit: 's', kind: 'histogram', valueType: 'double', attributes: [...QUERY, 'error.type'] },
    { name: 'netprobe.dns.timeouts', description: 'Queries that got no response within query_timeout.', unit: '{query}', kind: 'counter', attributes: QUERY },
    { name: 'netprobe.dns.malformed', description: 'Captured messages that do not decode as DNS.', unit: '{message}', kind: 'counter', attributes: [...LINK, 'error.type'] },
    { name: 'netprobe.dns.captured', description: 'Messages the kernel copied into the ring buffer.', unit: '{message}', kind: 'counter', attributes: [] },
    { name: 'netprobe.dns.ringbuf.dropped', description: 'Messages lost in the kernel because the ring buffer was full.', unit: '{message}', kind: 'counter', attributes: [] },
    { name: 'netprobe.dns.pending.evicted', description: 'Queries given up unanswered because max_pending were already waiting.', unit: '{query}', kind: 'counter', attributes: [] },
    { name: 'netprobe.dns.names.published', description: 'Answer addresses published with the name that was asked (for netprobe.peer.name on flows and connections).', unit: '{address}', kind: 'counter', attributes: [] },
    { name: 'netprobe.dns.names.remembered', description: 'Addresses the collector remembers a name for now (shared by all dns probes).', unit: '{address}', kind: 'gauge', attributes: [] },
    { name: 'netprobe.dns.names.evicted', description: 'Remembered names dropped before their TTL ran out because the table was full (shared by all dns probes).', unit: '{address}', kind: 'counter', attributes: [] },
  ],
  logRecords: [
    {
      eventName: EXCHANGE_EVENT,
      description: 'One DNS exchange: a query and its response, a query that timed out, or a response whose query was not seen.',
      attributes: [
        'netprobe.dns.outcome', 'client.address', 'client.port', 'server.address', 'server.port',
        ...LINK, 'netprobe.dns.transaction_id', 'dns.question.name', 'netprobe.dns.question.type', 'netprobe.dns.question.class',
        'netprobe.dns.question_count', 'netprobe.dns.response_code', 'netprobe.dns.answer_count', 'netprobe.dns.answers',
        'netprobe.dns.truncated', 'netprobe.dns.capture_truncated', 'netprobe.dns.duration',
      ],
    },
  ],

  exampleConfig: ({ interfaces }) => ({ interfaces }),

  validate(config): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const size = config.ring_buffer_bytes;
    if ((size & (size - 1)) !== 0) issues.push({ path: ['ring_buffer_bytes'], message: 'must be a power of two' });
    if (parseDuration(config.query_timeout) < 1) issues.push({ path: ['query_timeout'], message: 'must be at least 1ms' });
    return issues;
  },

  create({ config, host, log }) {
    let counters: ProbeMap;
    let consumer: DnsConsumer;
    let sweep: NodeJS.Timeout | undefined;
    const names = new Map<number, string>();
    const timeoutMs = parseDuration(config.query_timeout);
    const minTtlMs = parseDuration(config.name_min_ttl);
    const addressNames = host.facts.addressNames;
    let published = 0;
    // Flows and connections are reported when they end, often long after the lookup: a floor on the TTL keeps the name for them.
    const publishNames = (message: DnsMessage) => {
      for (const r of resolvedAddresses(message)) {
        addressNames.publish(r.address, r.name, Math.max(r.ttl * 1000, minTtlMs));
        published++;
      }
    };
    const now = () => Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns

    return {
      start() {
        const interfaces = host.interfaces().map((i) => i.name);
        const spec = host.openObject();
        spec.setKnob('ports', config.ports);
        spec.setKnob('ports_len', config.ports.length);
        spec.setKnob('capture_bytes', config.capture_bytes);
        spec.setMaxEntries('dns_events', config.ring_buffer_bytes);
        const object = spec.load();
        counters = object.map('dns_counters'); // value: struct dns_counters, from the map's BTF
        for (const { name, index } of host.interfaces()) names.set(index, name);
        consumer = new DnsConsumer(new EventDecoder(object.layout('dns_event'), object.enum('dns_direction').labels('DNS_')), {
          timeoutNs: timeoutMs * 1e6,
          maxPending: config.max_pending,
          nameAttribute: { enabled: config.query_name_attribute, limit: config.query_name_limit },
          interfaceName: (ifindex) => names.get(ifindex) ?? String(ifindex),
          emit: (eventName, attributes, body) => host.emitEvent(eventName, attributes, body),
          onResponse: config.publish_names ? publishNames : undefined,
        });
        for (const name of interfaces) {
          const ingress = host.attachTc(object, 'dns_ingress', name, 'ingress');
          const egress = host.attachTc(object, 'dns_egress', name, 'egress');
          log.info('attached', { interface: name, hooks: `${ingress} ingress, ${egress} egress` });
        }
        // The consumer keeps nothing of a record: read in place where the core can, no foreign
        // call or copy per record (~0.8 us each at these rates).
        host.consumeRingBuffer(object, 'dns_events', (record) => consumer.handle(record), { transientRecords: true });
        sweep = setInterval(() => consumer.expire(now()), Math.max(10, Math.min(1000, timeoutMs / 4)));
        sweep.unref();
      },

      collect(sink) {
        consumer.expire(now());
        consumer.report(sink);
        const [entry] = counters.readDecoded();
        const value = entry?.value as { events: number; ringbuf_dropped: number } | undefined;
        sink.record('netprobe.dns.captured', {}, value?.events ?? 0);
        sink.record('netprobe.dns.ringbuf.dropped', {}, value?.ringbuf_dropped ?? 0);
        sink.record('netprobe.dns.names.published', {}, published);
        sink.record('netprobe.dns.names.remembered', {}, addressNames.size);
        sink.record('netprobe.dns.names.evicted', {}, addressNames.evicted);
      },

      stop() {
        if (sweep) clearInterval(sweep);
        sweep = undefined;
      },
    };
  },
};
