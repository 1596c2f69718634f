/**
 * drops: packets the kernel dropped, with its own reason (skb:kfree_skb, BTF-typed
 * tracepoint: no kprobes), by reason, interface, direction, IP version and transport,
 * and a budgeted log record per drop with its addresses, ports and the kernel
 * function that dropped it.
 */
import fs from 'node:fs';
import os from 'node:os';
import schema from './config.schema.json';
import { NetprobeError, type Attributes, type ConfigIssue, type EnumLabels, type MetricSink, type ProbeMap, type ProbePlugin, type StructLayout } from '../../core/plugin';
import { listInterfaces } from '../../core/net/interfaces';
import { DropReasons } from './reasons';
import { DropEventDecoder, dropRecord, protocolName, RECORD_ATTRIBUTES } from './event';

export interface DropsConfig {
  interfaces: 'all' | string[];
  ignore_reasons: string[];
  records_per_second: number;
  max_series: number;
  ring_buffer_bytes: number;
}

export const DROP_EVENT = 'netprobe.drop';
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const SERIES = ['netprobe.drop.reason', 'network.interface.name', 'network.io.direction', 'network.type', 'network.transport'] as const;

export const drops: ProbePlugin<DropsConfig> = {
  type: 'drops',
  description: 'Packets the kernel dropped, with its reason (skb:kfree_skb), by reason, interface, direction and protocol; a budgeted log record per drop with addresses and ports.',
  directory: __dirname,
  attaches: 'the skb:kfree_skb tracepoint (tp_btf), for IPv4/IPv6 packets of the collector\'s network namespace',
  object: 'drops.bpf.o',
  reads: { maps: ['drops_counts', 'drops_stats'], ringBuffers: ['drops_events'] },
  configSchema: schema,
  metrics: [
    { name: 'netprobe.drop.packet.count', description: 'Packets the kernel dropped, by its reason.', unit: '{packet}', kind: 'counter', attributes: SERIES },
    { name: 'netprobe.drop.io', description: 'Bytes of the packets the kernel dropped (skb length at the drop).', unit: 'By', kind: 'counter', attributes: SERIES },
    { name: 'netprobe.drop.table_full', description: 'Drops not in a series because the kernel\'s series table was full (max_series).', unit: '{packet}', kind: 'counter', attributes: [] },
    { name: 'netprobe.drop.records.suppressed', description: 'Drop records not sent because records_per_second was used up (the drops are in the metrics).', unit: '{record}', kind: 'counter', attributes: [] },
    { name: 'netprobe.drop.records.lost', description: 'Drop records lost because the ring buffer was full.', unit: '{record}', kind: 'counter', attributes: [] },
  ],
  logRecords: [
    { eventName: DROP_EVENT, description: 'One dropped packet: the kernel\'s reason and function, interface, direction, addresses and ports.', attributes: RECORD_ATTRIBUTES },
  ],

  exampleConfig: ({ interfaces }) => ({ interfaces }),

  validate(config): ConfigIssue[] {
    const size = config.ring_buffer_bytes;
    return (size & (size - 1)) !== 0 ? [{ path: ['ring_buffer_bytes'], message: 'must be a power of two' }] : [];
  },

  create({ config, host, log }) {
    let counts: ProbeMap;
    let stats: ProbeMap;
    let keyLayout: StructLayout;
    let directions: EnumLabels;
    let reasons: DropReasons;
    let ifnames = new Map<number, string>();
    let undecodable = 0;
    const interfaceName = (ifindex: number) => {
      if (!ifnames.has(ifindex)) ifnames = new Map(listInterfaces().map((i) => [i.index, i.name])); // a new interface
      return ifnames.get(ifindex);
    };

    return {
      start() {
        const kernel = host.kernelTypes();
        const spec = host.openObject();
        reasons = new DropReasons(kernel.enumerators('skb_drop_reason'), spec.enum('drops_reason_marker').value('DROPS_REASON_UNKNOWN'));
        const args = kernel.tracepointArgs('kfree_skb');
        if (args === undefined) throw new NetprobeError('NETPROBE_ERR_ATTACH', 'the kernel has no BTF-typed skb:kfree_skb tracepoint (needs Linux 5.5+ with BTF)');
        // The reason is the tracepoint's third argument since Linux 5.17; before that every drop is `unknown`.
        const hasReason = args >= 3 && reasons.known;
        if (!hasReason) log.warn('this kernel\'s kfree_skb tracepoint carries no drop reason: drops are reported as unknown');
        // Without reasons there is nothing to ignore by: the same config still runs on older kernels.
        if (!hasReason && config.ignore_reasons.length) log.warn(`ignore_reasons (${config.ignore_reasons.join(', ')}) cannot apply on this kernel (drop reasons need Linux 5.17+): every drop is counted`);
        const ignored = (hasReason ? config.ignore_reasons : []).map((name, i) => {
          const value = reasons.value(name);
          if (value === undefined) throw new NetprobeError('NETPROBE_ERR_CONFIG', `ignore_reasons[${i}]: the running kernel has no drop reason ${name}`);
          return value;
        });

        const watched = config.interfaces === 'all' ? [] : host.interfaces();
        spec.setKnob('filter_interfaces', watched.length ? 1 : 0);
        spec.setKnob('netns_ino', Number(fs.statSync('/proc/self/ns/net', { bigint: true }).ino));
        spec.setKnob('has_reason', hasReason ? 1 : 0);
        spec.setKnob('ignored_reasons', ignored);
        spec.setKnob('ignored_len', ignored.length);
        // The budget is kept per CPU (no shared counter on the hot path): the total, shared evenly.
        spec.setKnob('records_per_cpu_second', Math.ceil(config.records_per_second / Math.max(1, os.cpus().length)));
        spec.setMaxEntries('drops_counts', config.max_series);
        spec.setMaxEntries('drops_events', config.ring_buffer_bytes);
        const object = spec.load();
        if (watched.length) {
          const filter = object.map('drops_interfaces');
          for (const { index } of watched) filter.update(u32(index), Buffer.from([1]));
        }
        // Key and value layouts from each map's own BTF types (struct drops_key, drops_value, drops_stats).
        counts = object.map('drops_counts');
        keyLayout = counts.keyLayout();
        stats = object.map('drops_stats');
        directions = object.enum('drops_direction').labels('DROPS_DIRECTION_');
        const decoder = new DropEventDecoder(object.layout('drops_event'), directions);
        const context = {
          reasonName: (v: number) => reasons.name(v),
          interfaceName,
          symbol: (a: bigint) => host.kernelSymbol(a),
          peerName: (a: string) => host.facts.addressNames.lookup(a),
        };
        host.consumeRingBuffer(object, 'drops_events', (record) => {
          const e = decoder.decode(record);
          if (!e) {
            if (undecodable++ === 0) log.error('undecodable drop record', { bytes: record.length });
            return;
          }
          const { attributes, body } = dropRecord(e, context);
          host.emitEvent(DROP_EVENT, attributes, body);
        });
        host.attachTracepoint(object, 'drops_kfree_skb', 'skb:kfree_skb');
      },

      collect(sink: MetricSink) {
        for (const { key, value } of counts.readDecoded()) {
          const k = keyLayout.decode(key) as Record<'reason' | 'ifindex' | 'direction' | 'ip_version' | 'protocol', number>;
          const attrs: Attributes = {
            'netprobe.drop.reason': reasons.name(k.reason),
            'network.io.direction': directions.name(k.direction),
            'network.type': `ipv${k.ip_version}`,
          };
          const ifname = k.ifindex ? interfaceName(k.ifindex) : undefined;
          if (ifname) attrs['network.interface.name'] = ifname;
          if (k.protocol) attrs['network.transport'] = protocolName(k.protocol);
          sink.record('netprobe.drop.packet.count', attrs, value.packets as number);
          sink.record('netprobe.drop.io', attrs, value.bytes as number);
        }
        const s = stats.readDecoded()[0]!.value as Record<string, number>;
        sink.record('netprobe.drop.table_full', {}, s.table_full!);
        sink.record('netprobe.drop.records.suppressed', {}, s.suppressed!);
        sink.record('netprobe.drop.records.lost', {}, s.ringbuf_dropped!);
      },
    };
  },
};
