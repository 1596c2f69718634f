/**
 * flow_stats: every packet on the chosen interfaces, both directions, accounted to a
 * flow (or, when it cannot be, to an untracked reason); traffic by protocol and per
 * local port derived from the flows; top flows as metrics; flow end/update log records.
 */
import fs from 'node:fs';
import schema from './config.schema.json';
import type { Logger } from '../../core/log';
import {
  NetprobeError, TimeSlice, kernelFilterFlags, loadKernelFilters,
  type Attributes, type ConfigIssue, type EnumLabels, type MapEntries, type MetricSink, type ProbeHost, type ProbeMap,
  type ProbeObject, type ProbePlugin, type StructLayout, type TcMode, type XdpMode,
} from '../../core/plugin';
import { parseDuration } from '../../core/config/duration';
import { parseCidr } from '../../core/net/address';
import { cgroupDirectory } from '../../core/net/cgroup';
import { planSlots } from '../../core/net/ifindex-slots';
import { FlowCodec, emptyCounters, type FlowKeyInfo, type FlowCounters } from './flow-codec';
import { FlowTracker, type EndedFlow } from './flow-tracker';
import { clockReference, type ClockReference } from './clock';
import { FLOW_ATTRIBUTES, FLOW_END_ATTRIBUTES, FLOW_UPDATE_ATTRIBUTES, flowAttributes, flowRecord, protocolName } from './flow-record';
import { flushHotSlots } from './hot-slots';
import { wordsOf } from './flow-index';
import { decodeProcess, withProcess, type SocketProcess } from '../../core/plugin';

export interface FlowStatsConfig {
  interfaces: 'auto' | string[];
  directions: Array<'ingress' | 'egress'>;
  ingress_hook: 'xdp' | 'tc';
  xdp_mode: XdpMode;
  tc_mode: TcMode;
  max_flows: number;
  idle_timeout: string;
  update_interval: string;
  top_flows: number;
  port_series_limit: number;
  sample_rate: number;
  filter: { include_cidrs: string[]; exclude_cidrs: string[]; include_ports: number[]; exclude_ports: number[] };
  process_identity: boolean;
  process_cgroup: string;
}

/** Above this fill ratio the least recently active flows end early, down to EVICT_TO. */
const EVICT_ABOVE = 0.9;
const EVICT_TO = 0.8;
/** Flows ended (one syscall each) per interval at most; the rest wait for the next one. */
const END_BUDGET = 20_000;
/** Entries per read syscall: also the unit of work between yields to the event loop. */
export const READ_BATCH = 1024;

const IFACE = ['network.interface.name', 'network.io.direction'] as const;
const TRAFFIC = [...IFACE, 'network.type', 'network.transport'] as const;
const FLOW = [...FLOW_ATTRIBUTES, 'netprobe.flow.group'] as const;
const PORT = ['network.interface.name', 'network.transport', 'network.local.port', 'netprobe.port.group'] as const;

function ephemeralPortRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // fall through to the kernel default
  }
  return [32768, 60999];
}

export const flowStats: ProbePlugin<FlowStatsConfig> = {
  type: 'flow_stats',
  description: 'Per-flow, per-protocol and per-port traffic in both directions, IPv4 and IPv6, with flow end records.',
  directory: __dirname,
  attaches: 'XDP (or tcx) ingress and tcx egress on each selected interface; with process_identity, cgroup sock_create and connect4/6 at process_cgroup',
  object: 'flow_stats.bpf.o',
  reads: { maps: ['flow_stats_flows', 'flow_stats_hot', 'flow_stats_untracked', 'flow_stats_non_ip', 'flow_stats_reasons', 'flow_stats_processes'], ringBuffers: [] },
  configSchema: schema,
  metrics: [
    { name: 'netprobe.traffic.packet.count', description: 'Packets by interface, direction, IP version and transport (every packet, tracked or not).', unit: '{packet}', kind: 'counter', attributes: TRAFFIC },
    { name: 'netprobe.traffic.io', description: 'Bytes by interface, direction, IP version and transport.', unit: 'By', kind: 'counter', attributes: TRAFFIC },
    { name: 'netprobe.port.packet.count', description: 'Packets to and from a local TCP/UDP port (both directions).', unit: '{packet}', kind: 'counter', attributes: PORT },
    { name: 'netprobe.port.io', description: 'Bytes to and from a local TCP/UDP port.', unit: 'By', kind: 'counter', attributes: PORT },
    { name: 'netprobe.port.connection.count', description: 'New inbound TCP connections (SYN without ACK) to a local port.', unit: '{connection}', kind: 'counter', attributes: PORT },
    { name: 'netprobe.flow.io', description: 'Bytes a flow moved in the last interval: the top flows, the rest as netprobe.flow.group=other.', unit: 'By', kind: 'gauge', attributes: FLOW },
    { name: 'netprobe.flow.packet.count', description: 'Packets a flow moved in the last interval (same flows as netprobe.flow.io).', unit: '{packet}', kind: 'gauge', attributes: FLOW },
    { name: 'netprobe.flow.active', description: 'Flows in the kernel flow table.', unit: '{flow}', kind: 'gauge', attributes: [] },
    { name: 'netprobe.flow.table.utilization', description: 'Fill ratio of the kernel flow table.', unit: '1', kind: 'gauge', valueType: 'double', attributes: [] },
    { name: 'netprobe.flow.ended', description: 'Flows ended, by reason (idle timeout, evicted when the table was nearly full).', unit: '{flow}', kind: 'counter', attributes: ['netprobe.flow.end_reason'] },
    { name: 'netprobe.flow.untracked.packet.count', description: 'Packets not in any flow, by reason (non_ip, parse_error, filtered, table_full).', unit: '{packet}', kind: 'counter', attributes: [...IFACE, 'netprobe.untracked.reason'] },
    { name: 'netprobe.flow.parse.count', description: 'Packets not fully parsed, by reason (fragment, trunc_l4, non_ip, ...).', unit: '{packet}', kind: 'counter', attributes: ['netprobe.parse.reason'] },
    { name: 'netprobe.flow.sample_rate', description: 'One packet in this many is counted (and weighted by it).', unit: '1', kind: 'gauge', attributes: [] },
  ],
  logRecords: [
    { eventName: 'netprobe.flow.end', description: 'A flow ended (idle, evicted, or the collector stopped): its totals and duration.', attributes: FLOW_END_ATTRIBUTES },
    { eventName: 'netprobe.flow.update', description: 'A long-lived flow, every update_interval: its totals so far.', attributes: FLOW_UPDATE_ATTRIBUTES },
  ],

  exampleConfig: ({ interfaces }) => ({ interfaces, idle_timeout: '10s', update_interval: '1s' }),

  validate(config): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    if (parseDuration(config.idle_timeout) < 1000) issues.push({ path: ['idle_timeout'], message: 'expected at least 1s' });
    for (const list of ['include_cidrs', 'exclude_cidrs'] as const) {
      config.filter[list].forEach((c, i) => {
        if (!parseCidr(c)) issues.push({ path: ['filter', list, `[${i}]`], message: 'expected an IPv4 or IPv6 CIDR' });
      });
    }
    return issues;
  },

  create({ config, host, log }) {
    let state: FlowStatsRunner | undefined;
    return {
      start() {
        state = new FlowStatsRunner(config, host, log);
        const hooks = [...state.ingressHooks].map(([name, hook]) => `${name}:${hook}`).join(',');
        log.info('attached', { interfaces: state.interfaceNames().join(','), ingress: hooks, max_flows: config.max_flows });
      },
      collect(sink) {
        return state!.collect(sink);
      },
      stop() {
        state?.endAll();
      },
    };
  },
};

/** The cgroup programs that note each socket's process (process_identity). */
const PROCESS_PROGRAMS = [
  { program: 'flow_stats_sock_create', type: 'sock_create' },
  { program: 'flow_stats_connect4', type: 'connect4' },
  { program: 'flow_stats_connect6', type: 'connect6' },
] as const;

/** One started instance (exported for the benchmarks, which drive collect() directly). */
export class FlowStatsRunner {
  readonly object: ProbeObject;
  readonly flows: ProbeMap;
  private readonly untracked: ProbeMap;
  /** Untagged non-IP frames, one slot per (interface, direction): see counted_as_non_ip in the C. */
  private readonly nonIp: ProbeMap;
  private readonly ifindexOfSlot = new Map<number, number>();
  private readonly reasons: ProbeMap;
  private readonly untrackedLayout: StructLayout;
  private readonly untrackedKeyLayout: StructLayout;
  private readonly codec: FlowCodec;
  private readonly tracker: FlowTracker;
  private readonly ifnames = new Map<number, string>();
  private readonly parseReasons: EnumLabels;
  private readonly untrackedReasons: EnumLabels;
  /** The label of UNTRACKED_NON_IP, under which the non-IP slots are reported. */
  private readonly nonIpReason: string;
  private readonly idleMs: number;
  private readonly updateMs: number;
  /** Locally sent flows' processes (process_identity), and their last read: socket id -> raw np_process. */
  private readonly processes?: ProbeMap;
  private readonly processLayout?: StructLayout;
  private processOfSocket = new Map<string, string>();

  /** The ingress hook used on each interface. */
  readonly ingressHooks = new Map<string, 'xdp/native' | 'tc'>();

  constructor(private readonly config: FlowStatsConfig, private readonly host: ProbeHost, private readonly log?: Logger) {
    const interfaces = host.interfaces();
    const spec = host.openObject();
    spec.setKnob('sample_rate', config.sample_rate);
    spec.setKnob('filter_flags', kernelFilterFlags(config.filter, spec.enum('flow_filter').labels('FILTER_')));
    spec.setMaxEntries('flow_stats_flows', config.max_flows);
    const slots = planSlots(interfaces.map((i) => i.index));
    spec.setKnob('ifindex_slot_mask', slots.mask);
    spec.setMaxEntries('flow_stats_non_ip', 2 * slots.size);
    for (const [ifindex, slot] of slots.slotOf) this.ifindexOfSlot.set(slot, ifindex);
    spec.setKnob('process_identity', config.process_identity ? 1 : 0);
    spec.setMaxEntries('flow_stats_processes', config.process_identity ? config.max_flows : 1);
    if (!config.process_identity) for (const p of PROCESS_PROGRAMS) spec.skipProgram(p.program);
    const object = (this.object = spec.load());

    // Layouts come from each map's own BTF key and value types.
    this.flows = object.map('flow_stats_flows');
    this.untracked = object.map('flow_stats_untracked');
    this.nonIp = object.map('flow_stats_non_ip');
    this.reasons = object.map('flow_stats_reasons');
    this.untrackedLayout = this.untracked.valueLayout();
    this.untrackedKeyLayout = this.untracked.keyLayout();
    this.nonIp.expectLayout(this.untrackedLayout, 4);
    this.codec = new FlowCodec(this.flows.keyLayout(), this.flows.valueLayout(), object.enum('flow_direction').labels('FLOW_'));
    this.parseReasons = object.enum('flow_reason').labels('FLOW_', ['FLOW_REASON_MAX']);
    this.untrackedReasons = object.enum('untracked_reason').labels('UNTRACKED_');
    this.nonIpReason = this.untrackedReasons.name(object.enum('untracked_reason').value('UNTRACKED_NON_IP'));
    this.tracker = new FlowTracker({
      keySize: this.flows.keyLayout().size,
      portSeriesLimit: config.port_series_limit,
      ephemeralPorts: ephemeralPortRange(),
      keyOf: (keys, at) => this.decodeKey(keys, at),
      nameOf: (key) => this.peerName(key),
    });
    this.idleMs = parseDuration(config.idle_timeout);
    this.updateMs = parseDuration(config.update_interval);
    loadKernelFilters(object, config.filter, {
      includeCidrs: 'flow_stats_include_cidrs', excludeCidrs: 'flow_stats_exclude_cidrs', ports: 'flow_stats_port_filter',
    }, object.enum('flow_port_bits').labels('PORT_'));
    if (config.process_identity) {
      this.processes = object.map('flow_stats_processes');
      this.processLayout = this.processes.valueLayout();
      const dir = cgroupDirectory(config.process_cgroup);
      if (!fs.existsSync(dir)) throw new NetprobeError('NETPROBE_ERR_ATTACH', `cgroup ${config.process_cgroup} not found (${dir})`);
      // Before the egress hooks: a socket created in between would go without its process.
      for (const p of PROCESS_PROGRAMS) host.attachCgroup(object, p.program, dir, p.type);
    }

    for (const { name, index } of interfaces) {
      this.ifnames.set(index, name);
      if (config.directions.includes('ingress')) this.ingressHooks.set(name, this.attachIngress(name));
      if (config.directions.includes('egress')) host.attachTc(object, 'flow_stats_tc_egress', name, 'egress', config.tc_mode);
    }
  }

  interfaceNames(): string[] {
    return [...this.ifnames.values()];
  }

  /**
   * Native XDP where the driver has it (or can take it: an interface another probe's
   * XDP holds falls back too); otherwise TC ingress. Generic XDP is never used: it sees
   * the skb the stack got, a GRO or driver (virtio, veth TSO) super-packet as one frame,
   * and cannot read how many wire segments it stands for; TC ingress, at the same place
   * in the stack, can (gso_segs). So packets mean wire segments on every hook.
   */
  private attachIngress(name: string): 'xdp/native' | 'tc' {
    const { ingress_hook: hook, xdp_mode: mode, tc_mode: tcMode } = this.config;
    if (hook === 'xdp' && mode !== 'generic') {
      try {
        this.host.attachXdp(this.object, 'flow_stats_xdp', name, 'native');
        return 'xdp/native';
      } catch (err) {
        if (mode === 'native') throw err;
        this.log?.info('no native XDP: counting ingress at TC, where GRO super-packets show their segments', { interface: name, reason: (err as Error).message });
      }
    }
    this.host.attachTc(this.object, 'flow_stats_tc_ingress', name, 'ingress', tcMode);
    return 'tc';
  }

  /** One interval, in slices: the table is read and decoded a batch at a time between yields. */
  async collect(sink: MetricSink): Promise<void> {
    const ref = clockReference();
    const nowMs = Math.floor(ref.epochMs);
    const slice = new TimeSlice();
    this.beginRead();
    for (const batch of this.flows.batches(READ_BATCH)) {
      this.observeBatch(batch, nowMs);
      await slice.pause();
    }
    for (const batch of this.processes?.batches(READ_BATCH) ?? []) {
      this.readProcesses(batch);
      await slice.pause();
    }
    this.recordTopFlows(sink);
    await slice.pause(); // each pass below walks every flow: a slice of its own

    // End idle flows, then make room if the table is nearly full.
    const idle = this.tracker.idleFlows(ref.monoNs, this.idleMs * 1e6);
    await slice.pause();
    const ending = new Set(idle.slice(0, END_BUDGET));
    const excess = this.tracker.size - ending.size - Math.floor(EVICT_TO * this.flows.maxEntries);
    const pressured = this.tracker.size > EVICT_ABOVE * this.flows.maxEntries;
    const evict = pressured ? this.tracker.leastRecent(Math.min(excess, END_BUDGET - ending.size), ending) : [];
    await this.endFlows([...ending], 'idle', ref, slice);
    await this.endFlows(evict, 'evicted', ref, slice);
    await slice.pause();
    for (const f of this.tracker.dueForUpdate(nowMs, this.updateMs)) this.emitRecord('netprobe.flow.update', f.key, f.counters, undefined, ref);

    this.recordTotals(sink);
    sink.record('netprobe.flow.active', {}, this.tracker.size);
    sink.record('netprobe.flow.table.utilization', {}, this.tracker.size / this.flows.maxEntries);
    sink.record('netprobe.flow.sample_rate', {}, this.config.sample_rate);
    for (const reason of ['idle', 'evicted'] as const) sink.record('netprobe.flow.ended', { 'netprobe.flow.end_reason': reason }, this.tracker.ended[reason]);
  }

  /** At stop: every remaining flow ends, so no flow goes unreported. */
  endAll(): void {
    const ref = clockReference();
    const nowMs = Math.floor(ref.epochMs);
    this.readFlows(nowMs);
    for (const batch of this.processes?.batches() ?? []) this.readProcesses(batch);
    for (const slot of this.tracker.slots()) {
      const ended = this.tracker.end(slot, undefined, 'collector_stop');
      if (ended) this.emitRecord('netprobe.flow.end', ended.key, ended.counters, ended.reason, ref);
    }
  }

  /** The whole table at once (at stop, when nothing else waits on the loop). */
  private readFlows(nowMs: number): void {
    this.beginRead();
    for (const batch of this.flows.batches()) this.observeBatch(batch, nowMs);
  }

  private beginRead(): void {
    // A CPU's last flow waits in its slot: move every slot into the table first.
    flushHotSlots(this.object, this.host.possibleCpus);
    this.tracker.beginInterval();
    this.processOfSocket = new Map();
  }

  /** Keeps one batch of flow_stats_processes as strings: only the processes of recorded flows get decoded. */
  private readProcesses({ count, keys, values }: MapEntries): void {
    const ks = this.processes!.keySize;
    const vs = this.processes!.entryValueBytes;
    for (let i = 0; i < count; i++) this.processOfSocket.set(keys.toString('latin1', i * ks, (i + 1) * ks), values.toString('latin1', i * vs, (i + 1) * vs));
  }

  /**
   * The local process that sent a TCP/UDP flow (or received it, on the same socket),
   * when the egress hook noted one. Kept on the flow once found: a flow outlives its
   * entry in the kernel's LRU table.
   */
  private processOf(key: FlowKeyInfo): SocketProcess | undefined {
    if (key.process || key.socketId === undefined) return key.process;
    const raw = this.processOfSocket.get(key.socketId);
    if (raw !== undefined) key.process = decodeProcess(this.processLayout!.decode(Buffer.from(raw, 'latin1')));
    return key.process;
  }

  private readonly cgroupPath = (id: number) => this.host.cgroupPath(id);

  private readonly counters = emptyCounters(); // reused: observe() copies what it keeps

  private observeBatch({ count, keys, values }: MapEntries, nowMs: number): void {
    const keyWords = this.flows.keySize >> 2;
    const vs = this.flows.entryValueBytes;
    const { valueStride, cpus } = this.flows;
    const counters = this.counters;
    const words = wordsOf(keys);
    for (let i = 0; i < count; i++) {
      this.codec.decodeValue(values, i * vs, valueStride, cpus, counters);
      this.tracker.observe(words, i * keyWords, counters, nowMs);
    }
  }

  /** One syscall per flow (up to END_BUDGET of them): yields between slices. */
  private async endFlows(slots: number[], reason: EndedFlow['reason'], ref: ClockReference, slice: TimeSlice): Promise<void> {
    for (const slot of slots) {
      await slice.pause();
      const raw = this.flows.lookupAndDelete(this.tracker.keyBytes(slot));
      const final: FlowCounters | undefined = raw ? this.codec.decodeValue(raw, 0, this.flows.valueStride, this.flows.cpus) : undefined;
      const ended = this.tracker.end(slot, final, reason);
      if (ended) this.emitRecord('netprobe.flow.end', ended.key, ended.counters, reason, ref);
    }
  }

  /** A flow's key from its raw bytes, with the local socket it belongs to when processes are tracked. */
  private decodeKey(keys: Buffer, at: number): FlowKeyInfo {
    const key = this.codec.decodeKey(keys, at);
    if (this.processes) key.socketId = this.codec.socketId(keys, at);
    return key;
  }

  /**
   * The remote end is the source of what was received and the destination of what was
   * sent; the tracker takes its name (published by dns) when the flow is first seen, so
   * a flow that outlives the name's TTL keeps it.
   */
  private peerName(key: FlowKeyInfo): string | undefined {
    return this.host.facts.addressNames.lookup(key.direction === 'receive' ? key.src : key.dst);
  }

  private emitRecord(event: string, key: FlowKeyInfo, c: FlowCounters, reason: string | undefined, ref: ClockReference): void {
    const { attributes, body } = flowRecord(key, c, reason, ref, this.ifname(key.ifindex), key.peerName ?? this.peerName(key));
    this.host.emitEvent(event, withProcess(attributes, this.processOf(key), this.cgroupPath), body);
  }

  private recordTopFlows(sink: MetricSink): void {
    const { top, rest } = this.tracker.top(this.config.top_flows);
    for (const f of top) {
      const attrs = withProcess(flowAttributes(f.key, this.ifname(f.key.ifindex), f.key.peerName ?? this.peerName(f.key)), this.processOf(f.key), this.cgroupPath);
      sink.record('netprobe.flow.io', attrs, f.intervalBytes);
      sink.record('netprobe.flow.packet.count', attrs, f.intervalPackets);
    }
    sink.record('netprobe.flow.io', { 'netprobe.flow.group': 'other' }, rest.bytes);
    sink.record('netprobe.flow.packet.count', { 'netprobe.flow.group': 'other' }, rest.packets);
  }

  private recordTotals(sink: MetricSink): void {
    // Traffic = flows (live and ended) + what never made it into a flow.
    const traffic = new Map<string, { attrs: Attributes; packets: number; bytes: number }>();
    const add = (ifindex: number, direction: 'receive' | 'transmit', ipVersion: number, protocol: number, packets: number, bytes: number) => {
      const id = `${ifindex}/${direction}/${ipVersion}/${protocol}`;
      let t = traffic.get(id);
      if (!t) {
        const attrs: Attributes = { 'network.interface.name': this.ifname(ifindex), 'network.io.direction': direction };
        if (ipVersion) {
          attrs['network.type'] = `ipv${ipVersion}`;
          attrs['network.transport'] = protocolName(protocol);
        }
        t = { attrs, packets: 0, bytes: 0 };
        traffic.set(id, t);
      }
      t.packets += packets;
      t.bytes += bytes;
    };
    for (const t of this.tracker.traffic.values()) add(t.key.ifindex, t.key.direction, t.key.ipVersion, t.key.protocol, t.packets, t.bytes);

    const untrackedByReason = new Map<string, { attrs: Attributes; packets: number }>();
    const addUntracked = (ifindex: number, dir: number, ipVersion: number, protocol: number, reason: string, packets: number, bytes: number) => {
      const direction = this.codec.direction(dir);
      add(ifindex, direction, ipVersion, protocol, packets, bytes);
      const id = `${ifindex}/${direction}/${reason}`;
      const u = untrackedByReason.get(id) ?? { attrs: { 'network.interface.name': this.ifname(ifindex), 'network.io.direction': direction, 'netprobe.untracked.reason': reason }, packets: 0 };
      u.packets += packets;
      untrackedByReason.set(id, u);
    };
    for (const { key: rawKey, value } of this.untracked.readDecoded(this.untrackedLayout)) {
      const key = this.untrackedKeyLayout.decode(rawKey) as Record<'ifindex' | 'direction' | 'ip_version' | 'protocol' | 'reason', number>;
      const reason = this.untrackedReasons.name(key.reason);
      addUntracked(key.ifindex, key.direction, key.ip_version, key.protocol, reason, value.packets as number, value.bytes as number);
    }
    for (const { key, value } of this.nonIp.readDecoded(this.untrackedLayout)) {
      const slot = key.readUInt32LE(0);
      const ifindex = this.ifindexOfSlot.get(slot >> 1);
      if (ifindex === undefined || value.packets === 0) continue; // a slot no interface maps to, or no frames yet
      addUntracked(ifindex, slot & 1, 0, 0, this.nonIpReason, value.packets as number, value.bytes as number);
    }
    for (const t of traffic.values()) {
      sink.record('netprobe.traffic.packet.count', t.attrs, t.packets);
      sink.record('netprobe.traffic.io', t.attrs, t.bytes);
    }
    for (const u of untrackedByReason.values()) sink.record('netprobe.flow.untracked.packet.count', u.attrs, u.packets);

    for (const { key, value } of this.reasons.readDecoded()) {
      const code = key.readUInt32LE(0);
      const reason = this.parseReasons.name(code);
      if (this.parseReasons.has(code) && reason !== 'ok') sink.record('netprobe.flow.parse.count', { 'netprobe.parse.reason': reason }, value.packets as number);
    }

    for (const p of this.tracker.ports.values()) {
      const attrs = { 'network.interface.name': this.ifname(p.key.ifindex), 'network.transport': protocolName(p.key.protocol), 'network.local.port': p.key.port };
      this.recordPort(sink, attrs, p);
    }
    for (const g of this.tracker.groupedPorts.values()) {
      this.recordPort(sink, { 'network.interface.name': this.ifname(g.ifindex), 'network.transport': protocolName(g.protocol), 'netprobe.port.group': g.group }, g);
    }
  }

  private recordPort(sink: MetricSink, attrs: Attributes, t: { packets: number; bytes: number; connections: number }): void {
    sink.record('netprobe.port.packet.count', attrs, t.packets);
    sink.record('netprobe.port.io', attrs, t.bytes);
    if (attrs['network.transport'] === 'tcp') sink.record('netprobe.port.connection.count', attrs, t.connections);
  }

  private ifname(ifindex: number): string {
    return this.ifnames.get(ifindex) ?? `ifindex ${ifindex}`;
  }
}
