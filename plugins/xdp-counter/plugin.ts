/**
 * xdp_counter: frames and bytes received per interface, and a frame-size histogram,
 * counted in the kernel by an XDP program (per-CPU, no atomics) and read once per interval.
 */
import schema from './config.schema.json';
import { NetprobeError, type ConfigIssue, type ProbeMap, type ProbePlugin, type XdpMode } from '../../core/plugin';
import { planSlots } from '../../core/net/ifindex-slots';

export interface XdpCounterConfig {
  interfaces: 'auto' | string[];
  mode: XdpMode;
  size_buckets: number[];
  max_interfaces: number;
}

const INTERFACE_ATTRS = ['network.interface.name', 'network.io.direction', 'netprobe.xdp.mode'] as const;

export const xdpCounter: ProbePlugin<XdpCounterConfig> = {
  type: 'xdp_counter',
  description: 'Frames and bytes received per interface, with a frame-size histogram (XDP, per-CPU counters).',
  directory: __dirname,
  attaches: 'XDP (ingress) on each selected interface, native mode with fallback to generic',
  object: 'xdp_counter.bpf.o',
  reads: { maps: ['xdp_counter_stats'], ringBuffers: [] },
  configSchema: schema,
  metrics: [
    { name: 'system.network.packet.count', description: 'Frames received on the interface.', unit: '{packet}', kind: 'counter', attributes: INTERFACE_ATTRS },
    { name: 'system.network.io', description: 'Bytes received on the interface (whole frames, without FCS).', unit: 'By', kind: 'counter', attributes: INTERFACE_ATTRS },
    { name: 'netprobe.packet.size', description: 'Size of received frames.', unit: 'By', kind: 'histogram', attributes: INTERFACE_ATTRS },
  ],
  logRecords: [],

  exampleConfig: ({ interfaces }) => ({ interfaces }),

  validate(config): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    config.size_buckets.forEach((b, i) => {
      if (i > 0 && b <= config.size_buckets[i - 1]!) {
        issues.push({ path: ['size_buckets', `[${i}]`], message: `must be greater than the previous boundary (${config.size_buckets[i - 1]})` });
      }
    });
    return issues;
  },

  create({ config, host, log }) {
    let stats: ProbeMap;
    /** table slot -> the interface it counts, and how we attached there */
    const attached = new Map<number, { name: string; mode: string }>();

    return {
      start() {
        const interfaces = host.interfaces();
        const spec = host.openObject();
        if (config.size_buckets.length > spec.knobCapacity('size_bounds')) {
          throw new NetprobeError('NETPROBE_ERR_CONFIG', `size_buckets: at most ${spec.knobCapacity('size_bounds')} boundaries`);
        }
        spec.setKnob('size_bounds', config.size_buckets);
        spec.setKnob('size_bounds_len', config.size_buckets.length);
        if (interfaces.length > config.max_interfaces) {
          throw new NetprobeError('NETPROBE_ERR_CONFIG', `max_interfaces: ${interfaces.length} interfaces selected, at most ${config.max_interfaces} allowed`);
        }
        const slots = planSlots(interfaces.map((i) => i.index));
        spec.setKnob('slot_mask', slots.mask);
        spec.setMaxEntries('xdp_counter_stats', slots.size);
        const object = spec.load();
        stats = object.map('xdp_counter_stats'); // its value layout comes from the map's BTF: struct xdp_counter_value
        for (const { name, index } of interfaces) {
          const mode = host.attachXdp(object, 'xdp_counter', name, config.mode);
          attached.set(slots.slotOf.get(index)!, { name, mode });
          log.info('attached', { interface: name, xdp_mode: mode });
        }
      },

      collect(sink) {
        for (const { key, value } of stats.readDecoded()) {
          const iface = attached.get(key.readUInt32LE(0));
          if (!iface) continue; // a slot no attached interface maps to: always zero
          const attrs = { 'network.interface.name': iface.name, 'network.io.direction': 'receive', 'netprobe.xdp.mode': iface.mode };
          // The kernel's array has room for the most boundaries; with n configured, bucket n is the overflow.
          const buckets = (value.size_buckets as number[]).slice(0, config.size_buckets.length + 1);
          sink.record('system.network.packet.count', attrs, value.packets as number);
          sink.record('system.network.io', attrs, value.bytes as number);
          sink.record('netprobe.packet.size', attrs, {
            boundaries: config.size_buckets, counts: buckets, sum: value.bytes as number, count: value.packets as number,
          });
        }
      },
    };
  },
};
