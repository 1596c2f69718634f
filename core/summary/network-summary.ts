/**
 * What the probes saw in the last interval, for people: per-interface rates, the
 * busiest flows (both directions on one row, with the peer's DNS name), busiest
 * local ports, DNS and TCP. Pure: it is fed each collection's points (cumulative
 * counters, per-interval flow gauges, histograms) and the log records, and keeps
 * the previous collection to turn totals into rates. `netprobe top` and the
 * `debug` exporter at `basic` both read it.
 */
import type { Attributes, HistogramValue } from '../plugin/types';
import type { KernelCost } from '../telemetry/self-metrics';
import { addCounts, histogramDelta, quantile } from './histogram';

export interface SummaryPoint {
  metric: string;
  attributes: Attributes;
  value: number | HistogramValue;
}

export interface InterfaceRow {
  name: string;
  rxPacketsPerS: number;
  txPacketsPerS: number;
  rxBitsPerS: number;
  txBitsPerS: number;
  /** Only when `transmit` was seen (flow_stats on egress); xdp_counter sees receive only. */
  hasTransmit: boolean;
  /** Packets the kernel dropped on this interface per second, when the caller reads them. */
  dropsPerS?: number;
}

export interface FlowRow {
  interface: string;
  transport: string;
  localAddress: string;
  localPort?: number;
  peerAddress: string;
  peerPort?: number;
  /** The name the peer's address was resolved from, where the dns probe saw it (flow_stats' `netprobe.peer.name`). */
  peerName?: string;
  txBitsPerS: number;
  rxBitsPerS: number;
  txPacketsPerS: number;
  rxPacketsPerS: number;
}

export interface PortRow {
  transport: string;
  /** A port number, or a group (`ephemeral`, `other`). */
  port: number | string;
  bitsPerS: number;
  packetsPerS: number;
  connectionsPerS: number;
}

export interface DnsSummary {
  queriesPerS: number;
  responsesPerS: number;
  /** Responses in the interval by response code. */
  responseCodes: Record<string, number>;
  timeouts: number;
  p50S?: number;
  p99S?: number;
  /** Over the last minute. */
  slowest: Array<{ name: string; durationS: number }>;
  /** Over the last minute: a response code other than NOERROR, or `timeout`. */
  failing: Array<{ name: string; reason: string; count: number }>;
}

export interface TcpSummary {
  /** Tracked connections open now, by state. */
  open: Record<string, number>;
  openTotal: number;
  openedPerS: number;
  closedPerS: number;
  failedPerS: number;
  retransmitsPerS: number;
  rttP50S?: number;
  rttP99S?: number;
  /** Connections open now or closed in the last minute with the most retransmissions, by peer. */
  topRetransmitters: Array<{ peer: string; retransmits: number; connections: number }>;
}

/** Packets the kernel dropped in the interval for one reason on one interface (the drops probe). */
export interface DropReasonRow {
  reason: string;
  interface: string;
  direction?: string;
  packetsPerS: number;
}

/** What one probe program cost the kernel over the interval (BPF run-time statistics). */
export interface ProgramCostRow {
  probe: string;
  program: string;
  runsPerS: number;
  /** Average run time; undefined without runs in the interval. */
  nsPerRun?: number;
  /** Run time per wall-clock time: 0.01 is 1% of one CPU. */
  cpuShare: number;
}

export interface KernelCostSummary {
  /** False: the kernel keeps no run-time statistics, so every figure stays 0. */
  statsOn: boolean;
  programs: ProgramCostRow[];
}

export interface NetworkSummary {
  /** Epoch ms of the collection. */
  at: number;
  /** Seconds since the previous collection: the span every rate is over. */
  intervalS: number;
  interfaces: InterfaceRow[];
  /** Busiest first (bits/s both ways). */
  flows: FlowRow[];
  /** What flows outside the probe's top list moved, bits/s. */
  otherFlowsBitsPerS: number;
  ports: PortRow[];
  dns?: DnsSummary;
  tcp?: TcpSummary;
  /** When the drops probe runs: every reason with drops in the interval, most first. */
  drops?: DropReasonRow[];
  /** When the caller reads the probes' kernel cost. */
  kernel?: KernelCostSummary;
}

/** Per-interface drop counters, cumulative (e.g. from /sys/class/net/X/statistics). */
export type DropCounters = ReadonlyMap<string, number>;

export interface UpdateExtras {
  /** Interfaces to list even when no probe counted anything on them yet. */
  interfaces?: readonly string[];
  drops?: DropCounters;
  /** Each probe program's cumulative run count and time, and whether the kernel keeps them. */
  kernelCost?: { statsOn: boolean; programs: readonly KernelCost[] };
}

/** Lists of names and peers (slowest, failing, retransmitting) cover the last minute, not one interval. */
const WINDOW_MS = 60_000;
const MAX_WINDOW_EVENTS = 5000;

interface Ev { name: string; attributes: Attributes; at: number }

export class NetworkSummarizer {
  private previous = new Map<string, number | HistogramValue>();
  private previousAt: number | undefined;
  private previousDrops: DropCounters | undefined;
  private previousCost = new Map<string, KernelCost>();
  private events: Ev[] = [];
  private retransmitted: Array<{ at: number; peer: string; connection?: string; retransmits: number }> = [];
  /** Records not kept because the last minute had too many; they only miss from the slowest/failing lists. */
  eventsSkipped = 0;

  /** A log record from a probe. */
  event(name: string, attributes: Attributes, at = Date.now()): void {
    if (name === 'netprobe.tcp.connection.closed' || name === 'netprobe.tcp.connect.failed') {
      const retransmits = Number(attributes['netprobe.connection.retransmits'] ?? 0);
      if (retransmits > 0) {
        this.retransmitted.push({ at, ...retransmitter(attributes), retransmits });
        if (this.retransmitted.length > MAX_WINDOW_EVENTS) this.retransmitted.shift();
      }
    }
    if (name !== 'netprobe.dns.exchange') return;
    if (this.events.length >= MAX_WINDOW_EVENTS) this.eventsSkipped++;
    else this.events.push({ name, attributes, at });
  }

  /**
   * One collection of every probe (`probeId` keeps two instances' series apart).
   * Returns the summary of the span since the previous collection, or undefined on the first.
   */
  update(collection: ReadonlyArray<{ probeId: string; points: readonly SummaryPoint[] }>, at = Date.now(), extras: UpdateExtras = {}): NetworkSummary | undefined {
    const drops = extras.drops;
    const now = new Map<string, number | HistogramValue>();
    const series: Array<SummaryPoint & { key: string }> = [];
    for (const { probeId, points } of collection) {
      for (const p of points) {
        const key = `${probeId}\u0000${p.metric}\u0000${attributeKey(p.attributes)}`;
        now.set(key, p.value);
        series.push({ ...p, key });
      }
    }
    const before = this.previous;
    const previousAt = this.previousAt;
    const previousDrops = this.previousDrops;
    this.previous = now;
    this.previousAt = at;
    this.previousDrops = drops;
    this.events = this.events.filter((e) => at - e.at <= WINDOW_MS);
    this.retransmitted = this.retransmitted.filter((r) => at - r.at <= WINDOW_MS);
    const events = this.events;
    const costBefore = this.previousCost;
    if (extras.kernelCost) this.previousCost = new Map(extras.kernelCost.programs.map((c) => [`${c.probe}\u0000${c.program}`, c]));
    if (previousAt === undefined) return undefined;

    const intervalS = Math.max(0.001, (at - previousAt) / 1000);
    const delta = (s: { key: string; value: number | HistogramValue }): number => {
      const prev = before.get(s.key);
      const cur = s.value as number;
      if (typeof prev !== 'number') return cur; // a series new since the previous collection: all of it is new
      return cur >= prev ? cur - prev : cur; // a reset counter starts again from 0
    };
    const of = (metric: string) => series.filter((s) => s.metric === metric);

    return {
      at,
      intervalS,
      interfaces: this.interfaces(of, delta, intervalS, extras.interfaces ?? [], drops, previousDrops),
      ...this.flows(of, intervalS),
      ports: ports(of, delta, intervalS),
      dns: dns(of, delta, before, intervalS, events),
      tcp: this.tcp(of, delta, before, intervalS),
      drops: dropReasons(of, delta, intervalS),
      kernel: extras.kernelCost && kernelCost(extras.kernelCost, costBefore, intervalS),
    };
  }

  private interfaces(of: Of, delta: Delta, intervalS: number, known: readonly string[], drops: DropCounters | undefined, previousDrops: DropCounters | undefined): InterfaceRow[] {
    const rows = new Map<string, InterfaceRow>();
    const row = (name: string) => {
      let r = rows.get(name);
      if (!r) {
        r = { name, rxPacketsPerS: 0, txPacketsPerS: 0, rxBitsPerS: 0, txBitsPerS: 0, hasTransmit: false };
        rows.set(name, r);
      }
      return r;
    };
    // flow_stats sees both directions; xdp_counter only receive, so it counts where flow_stats is absent.
    for (const name of known) row(name);
    const fromFlows = of('netprobe.traffic.io').length > 0;
    const [bytesMetric, packetsMetric] = fromFlows ? ['netprobe.traffic.io', 'netprobe.traffic.packet.count'] : ['system.network.io', 'system.network.packet.count'];
    for (const [metric, field] of [[bytesMetric, 'Bits'], [packetsMetric, 'Packets']] as const) {
      for (const s of of(metric)) {
        const r = row(String(s.attributes['network.interface.name']));
        const tx = s.attributes['network.io.direction'] === 'transmit';
        if (tx) r.hasTransmit = true;
        const perS = (delta(s) * (field === 'Bits' ? 8 : 1)) / intervalS;
        if (field === 'Bits') r[tx ? 'txBitsPerS' : 'rxBitsPerS'] += perS;
        else r[tx ? 'txPacketsPerS' : 'rxPacketsPerS'] += perS;
      }
    }
    if (drops && previousDrops) {
      for (const r of rows.values()) {
        const cur = drops.get(r.name);
        const prev = previousDrops.get(r.name);
        if (cur !== undefined && prev !== undefined) r.dropsPerS = Math.max(0, cur - prev) / intervalS;
      }
    }
    return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private flows(of: Of, intervalS: number): { flows: FlowRow[]; otherFlowsBitsPerS: number } {
    const rows = new Map<string, FlowRow>();
    let other = 0;
    // netprobe.flow.* are gauges: what each flow moved since the probe's previous collection.
    for (const [metric, bits] of [['netprobe.flow.io', true], ['netprobe.flow.packet.count', false]] as const) {
      for (const s of of(metric)) {
        const a = s.attributes;
        const value = s.value as number;
        if (a['netprobe.flow.group'] !== undefined) {
          if (bits) other += (value * 8) / intervalS;
          continue;
        }
        const tx = a['network.io.direction'] === 'transmit';
        const local = tx ? 'source' : 'destination';
        const peer = tx ? 'destination' : 'source';
        const transport = String(a['network.transport'] ?? '?');
        const localPort = portOf(a[`${local}.port`]);
        const peerPort = portOf(a[`${peer}.port`]);
        const localAddress = String(a[`${local}.address`]);
        const peerAddress = String(a[`${peer}.address`]);
        const key = [a['network.interface.name'], transport, localAddress, localPort, peerAddress, peerPort].join('|');
        let r = rows.get(key);
        if (!r) {
          r = {
            interface: String(a['network.interface.name']), transport, localAddress, localPort, peerAddress, peerPort,
            txBitsPerS: 0, rxBitsPerS: 0, txPacketsPerS: 0, rxPacketsPerS: 0,
          };
          const name = a['netprobe.peer.name'];
          if (typeof name === 'string' && name) r.peerName = name;
          rows.set(key, r);
        }
        if (bits) r[tx ? 'txBitsPerS' : 'rxBitsPerS'] += (value * 8) / intervalS;
        else r[tx ? 'txPacketsPerS' : 'rxPacketsPerS'] += value / intervalS;
      }
    }
    const flows = [...rows.values()].filter((r) => r.txPacketsPerS + r.rxPacketsPerS > 0);
    flows.sort((x, y) => y.txBitsPerS + y.rxBitsPerS - (x.txBitsPerS + x.rxBitsPerS));
    return { flows, otherFlowsBitsPerS: other };
  }

  private tcp(of: Of, delta: Delta, before: Previous, intervalS: number): TcpSummary | undefined {
    const opened = of('netprobe.tcp.connection.opened');
    const states = of('system.network.connection.count');
    if (opened.length === 0 && states.length === 0) return undefined;
    const open: Record<string, number> = {};
    for (const s of states) {
      const state = String(s.attributes['network.connection.state']);
      open[state] = (open[state] ?? 0) + (s.value as number);
    }
    const perS = (metric: string) => of(metric).reduce((n, s) => n + delta(s), 0) / intervalS;
    const rtt = histogramQuantiles(of('netprobe.tcp.rtt'), before);
    // A connection is counted once: open now (conntrack's gauge) or closed in the last minute. When
    // it shows as both (it closed between the table walk and its record), the larger count is the later.
    const byConnection = new Map<string, { peer: string; retransmits: number }>();
    const merge = (r: { peer: string; connection?: string; retransmits: number }) => {
      const key = r.connection ?? `\u0000${byConnection.size}`;
      const known = byConnection.get(key);
      if (!known || r.retransmits > known.retransmits) byConnection.set(key, r);
    };
    for (const r of this.retransmitted) merge(r);
    for (const s of of('netprobe.tcp.connection.retransmits')) merge({ ...retransmitter(s.attributes), retransmits: s.value as number });
    const byPeer = new Map<string, { peer: string; retransmits: number; connections: number }>();
    for (const r of byConnection.values()) {
      const e = byPeer.get(r.peer) ?? { peer: r.peer, retransmits: 0, connections: 0 };
      e.retransmits += r.retransmits;
      e.connections++;
      byPeer.set(r.peer, e);
    }
    return {
      open,
      openTotal: Object.values(open).reduce((a, b) => a + b, 0),
      openedPerS: perS('netprobe.tcp.connection.opened'),
      closedPerS: perS('netprobe.tcp.connection.closed'),
      failedPerS: perS('netprobe.tcp.connect.failed'),
      retransmitsPerS: perS('netprobe.tcp.retransmits'),
      rttP50S: rtt.p50,
      rttP99S: rtt.p99,
      topRetransmitters: [...byPeer.values()].sort((a, b) => b.retransmits - a.retransmits).slice(0, 10),
    };
  }
}

type Series = SummaryPoint & { key: string };
type Of = (metric: string) => Series[];
type Delta = (s: Series) => number;
type Previous = ReadonlyMap<string, number | HistogramValue>;

/**
 * Who a connection record or series is about: the peer as shown (with its DNS name when known) and
 * the connection's endpoints, which conntrack's close records and its live gauge name alike.
 */
function retransmitter(a: Attributes): { peer: string; connection?: string } {
  const role = a['netprobe.connection.role'];
  const address = String((role === 'server' ? a['client.address'] : a['server.address'] ?? a['network.peer.address']) ?? '?');
  const name = a['netprobe.peer.name'];
  // Without ports the record cannot be matched to a series: it stands for a connection of its own.
  const connection = a['client.port'] === undefined && a['network.local.port'] === undefined ? undefined
    : ['client.address', 'client.port', 'server.address', 'server.port', 'network.local.address', 'network.local.port', 'network.peer.address', 'network.peer.port']
      .map((k) => String(a[k] ?? '')).join('|');
  return { peer: typeof name === 'string' ? `${name} ${address}` : address, connection };
}

function attributeKey(a: Attributes): string {
  return Object.keys(a).sort().map((k) => `${k}=${String(a[k])}`).join('\u0001');
}

function portOf(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function ports(of: Of, delta: Delta, intervalS: number): PortRow[] {
  const rows = new Map<string, PortRow>();
  for (const [metric, field] of [['netprobe.port.io', 'bitsPerS'], ['netprobe.port.packet.count', 'packetsPerS'], ['netprobe.port.connection.count', 'connectionsPerS']] as const) {
    for (const s of of(metric)) {
      const transport = String(s.attributes['network.transport']);
      const port = (s.attributes['network.local.port'] ?? s.attributes['netprobe.port.group']) as number | string;
      const key = `${transport}/${port}`;
      const r = rows.get(key) ?? { transport, port, bitsPerS: 0, packetsPerS: 0, connectionsPerS: 0 };
      r[field] += (delta(s) * (field === 'bitsPerS' ? 8 : 1)) / intervalS;
      rows.set(key, r);
    }
  }
  return [...rows.values()].filter((r) => r.packetsPerS > 0).sort((a, b) => b.bitsPerS - a.bitsPerS);
}

function histogramQuantiles(list: readonly Series[], before: Previous): { p50?: number; p99?: number } {
  let boundaries: readonly number[] | undefined;
  const counts: number[] = [];
  for (const s of list) {
    const h = s.value as HistogramValue;
    if (boundaries && h.boundaries.length !== boundaries.length) continue;
    boundaries = h.boundaries;
    addCounts(counts, histogramDelta(h, before.get(s.key) as HistogramValue | undefined));
  }
  if (!boundaries) return {};
  return { p50: quantile(boundaries, counts, 0.5), p99: quantile(boundaries, counts, 0.99) };
}

function dns(of: Of, delta: Delta, before: Previous, intervalS: number, events: readonly Ev[]): DnsSummary | undefined {
  const queries = of('netprobe.dns.queries');
  if (queries.length === 0 && of('netprobe.dns.captured').length === 0) return undefined;
  const responseCodes: Record<string, number> = {};
  let responses = 0;
  for (const s of of('netprobe.dns.responses')) {
    const d = delta(s);
    if (d === 0) continue;
    const code = String(s.attributes['netprobe.dns.response_code']);
    responseCodes[code] = (responseCodes[code] ?? 0) + d;
    responses += d;
  }
  const latency = histogramQuantiles(of('dns.lookup.duration'), before);
  const slowest = new Map<string, number>();
  const failing = new Map<string, { name: string; reason: string; count: number }>();
  for (const e of events) {
    const name = String(e.attributes['dns.question.name'] ?? '?');
    // The dns probe's records carry whole nanoseconds (one integer type); the summary speaks seconds.
    const durationNs = e.attributes['netprobe.dns.duration'];
    const duration = typeof durationNs === 'number' ? durationNs / 1e9 : undefined;
    if (duration !== undefined && duration > (slowest.get(name) ?? -1)) slowest.set(name, duration);
    const outcome = e.attributes['netprobe.dns.outcome'];
    const code = e.attributes['netprobe.dns.response_code'];
    const reason = outcome === 'timeout' ? 'timeout' : code !== undefined && code !== 'NOERROR' ? String(code) : undefined;
    if (reason) {
      const key = `${name}\u0000${reason}`;
      const f = failing.get(key) ?? { name, reason, count: 0 };
      f.count++;
      failing.set(key, f);
    }
  }
  return {
    queriesPerS: queries.reduce((n, s) => n + delta(s), 0) / intervalS,
    responsesPerS: responses / intervalS,
    responseCodes,
    timeouts: of('netprobe.dns.timeouts').reduce((n, s) => n + delta(s), 0),
    p50S: latency.p50,
    p99S: latency.p99,
    slowest: [...slowest].map(([name, durationS]) => ({ name, durationS })).sort((a, b) => b.durationS - a.durationS).slice(0, 10),
    failing: [...failing.values()].sort((a, b) => b.count - a.count).slice(0, 10),
  };
}

function dropReasons(of: Of, delta: Delta, intervalS: number): DropReasonRow[] | undefined {
  const series = of('netprobe.drop.packet.count');
  if (series.length === 0 && of('netprobe.drop.records.lost').length === 0) return undefined;
  const rows = new Map<string, DropReasonRow>();
  for (const s of series) {
    const d = delta(s);
    if (d === 0) continue;
    const a = s.attributes;
    const row: DropReasonRow = { reason: String(a['netprobe.drop.reason'] ?? 'unknown'), interface: String(a['network.interface.name'] ?? '-'), packetsPerS: 0 };
    if (typeof a['network.io.direction'] === 'string') row.direction = a['network.io.direction'];
    const key = `${row.reason}|${row.interface}|${row.direction ?? ''}`;
    const r = rows.get(key) ?? row;
    r.packetsPerS += d / intervalS;
    rows.set(key, r);
  }
  return [...rows.values()].sort((a, b) => b.packetsPerS - a.packetsPerS);
}

function kernelCost(now: NonNullable<UpdateExtras['kernelCost']>, before: ReadonlyMap<string, KernelCost>, intervalS: number): KernelCostSummary {
  const programs = now.programs.map((c): ProgramCostRow => {
    const prev = before.get(`${c.probe}\u0000${c.program}`);
    // A program new since the last read (or counters that went back): its first interval has no rate yet.
    const runs = prev && c.runCount >= prev.runCount ? c.runCount - prev.runCount : 0;
    const ns = prev && c.runTimeNs >= prev.runTimeNs ? c.runTimeNs - prev.runTimeNs : 0;
    return { probe: c.probe, program: c.program, runsPerS: runs / intervalS, nsPerRun: runs > 0 ? ns / runs : undefined, cpuShare: ns / 1e9 / intervalS };
  });
  programs.sort((a, b) => b.cpuShare - a.cpuShare || b.runsPerS - a.runsPerS || a.probe.localeCompare(b.probe));
  return { statsOn: now.statsOn, programs };
}
