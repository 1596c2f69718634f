/**
 * Userspace side of the flow table, free of kernel calls so it can be tested alone.
 *
 * The kernel keeps one cumulative entry per live flow. Each interval this tracker
 * sees every entry, turns the growth since the last interval into traffic and
 * per-port totals (which therefore survive the flow's deletion), ranks flows by the
 * bytes they moved in the interval, and decides which flows end (idle) or must make
 * room (table pressure).
 */
import { emptyCounters, type FlowCounters, type FlowKeyInfo } from './flow-codec';

export interface TrackedFlow {
  key: FlowKeyInfo;
  /** Cumulative, as last read. */
  counters: FlowCounters;
  /** Growth in the current interval. */
  intervalPackets: number;
  intervalBytes: number;
  /** When the last update record went out (ms since epoch), or when the flow was first seen. */
  lastUpdateRecordMs: number;
  /** The totals this flow adds to, found once (a flow's key never changes). */
  totals?: { traffic: Totals; port?: PortTotals };
}

export interface TrafficKey { ifindex: number; direction: 'receive' | 'transmit'; ipVersion: 0 | 4 | 6; protocol: number }
export interface PortKey { ifindex: number; protocol: number; port: number }
export interface Totals { packets: number; bytes: number }
export interface PortTotals extends Totals { connections: number }

/**
 * Traffic to ports without a series of their own: ephemeral (client-side) ports,
 * ports past the series limit, and IP fragments after the first (no port to read).
 */
export type PortGroup = 'ephemeral' | 'other' | 'fragments';

export interface EndedFlow { key: FlowKeyInfo; counters: FlowCounters; reason: 'idle' | 'evicted' | 'collector_stop' }

const TCP = 6;
const UDP = 17;

export class FlowTracker {
  private readonly flows = new Map<string, TrackedFlow>();
  /** Cumulative traffic of flows, live and ended, by interface/direction/version/protocol. */
  readonly traffic = new Map<string, { key: TrafficKey } & Totals>();
  /** Cumulative per local port with a series of its own. */
  readonly ports = new Map<string, { key: PortKey } & PortTotals>();
  /**
   * Ports without a series of their own: the ephemeral range (client-side ports,
   * one per connection: useless one by one) and any port past the series limit.
   */
  readonly groupedPorts = new Map<string, { ifindex: number; protocol: number; group: PortGroup } & PortTotals>();
  /** Flows that ended, by reason, since start. */
  readonly ended = { idle: 0, evicted: 0, collector_stop: 0 };

  constructor(
    private readonly portSeriesLimit: number,
    /** The kernel's ip_local_port_range. */
    private readonly ephemeralPorts: readonly [number, number] = [32768, 60999],
  ) {}

  get size(): number {
    return this.flows.size;
  }

  get(id: string): TrackedFlow | undefined {
    return this.flows.get(id);
  }

  /** Starts an interval: growth is measured from here. */
  beginInterval(): void {
    for (const f of this.flows.values()) {
      f.intervalBytes = 0;
      f.intervalPackets = 0;
    }
  }

  /**
   * One kernel entry as read now (`counters` is copied, so the caller may reuse it).
   * `decodeKey` is only called for flows not seen before. Counters only grow while a
   * flow lives; anything else means the kernel re-created the entry (deleted and
   * seen again), and the new values count in full.
   */
  observe(id: string, counters: FlowCounters, decodeKey: () => FlowKeyInfo, nowMs: number): void {
    let flow = this.flows.get(id);
    if (!flow) {
      flow = { key: decodeKey(), counters: emptyCounters(), intervalBytes: 0, intervalPackets: 0, lastUpdateRecordMs: nowMs };
      this.flows.set(id, flow);
    }
    const prev = flow.counters;
    const restarted = counters.packets < prev.packets || counters.bytes < prev.bytes;
    const dPackets = restarted ? counters.packets : counters.packets - prev.packets;
    const dBytes = restarted ? counters.bytes : counters.bytes - prev.bytes;
    const dSyns = restarted ? counters.syns : Math.max(0, counters.syns - prev.syns);
    Object.assign(prev, counters);
    flow.intervalPackets += dPackets;
    flow.intervalBytes += dBytes;
    if (dPackets || dBytes) this.account(flow, dPackets, dBytes, dSyns);
  }

  /** Removes a flow; `final` are its last counters (read as it was deleted), if any. */
  end(id: string, final: FlowCounters | undefined, reason: EndedFlow['reason'], nowMs: number): EndedFlow | undefined {
    const flow = this.flows.get(id);
    if (!flow) return undefined;
    if (final) this.observe(id, final, () => flow.key, nowMs);
    this.flows.delete(id);
    this.ended[reason]++;
    return { key: flow.key, counters: flow.counters, reason };
  }

  /** Flows whose last packet is at least `idleNs` old (`nowNs` on the kernel's monotonic clock). */
  idleFlows(nowNs: number, idleNs: number): string[] {
    const out: string[] = [];
    for (const [id, f] of this.flows) if (nowNs - f.counters.lastSeen >= idleNs) out.push(id);
    return out;
  }

  /** The `count` least recently active flows (to make room when the table is nearly full). */
  leastRecent(count: number, exclude: ReadonlySet<string>): string[] {
    if (count <= 0) return [];
    return [...this.flows.entries()]
      .filter(([id]) => !exclude.has(id))
      .sort((a, b) => a[1].counters.lastSeen - b[1].counters.lastSeen)
      .slice(0, count)
      .map(([id]) => id);
  }

  /** The `n` flows that moved the most bytes this interval, and the sum of all the others. */
  top(n: number): { top: TrackedFlow[]; rest: Totals & { flows: number } } {
    // One pass keeping the n largest (n is small): no sort of every flow.
    const top: TrackedFlow[] = [];
    const all = { packets: 0, bytes: 0, flows: 0 };
    for (const f of this.flows.values()) {
      if (f.intervalPackets === 0) continue;
      all.packets += f.intervalPackets;
      all.bytes += f.intervalBytes;
      all.flows++;
      if (n === 0 || (top.length === n && f.intervalBytes <= top[n - 1]!.intervalBytes)) continue;
      let i = Math.min(top.length, n - 1);
      while (i > 0 && top[i - 1]!.intervalBytes < f.intervalBytes) i--;
      top.splice(i, 0, f);
      if (top.length > n) top.pop();
    }
    const rest = { packets: all.packets, bytes: all.bytes, flows: all.flows - top.length };
    for (const f of top) {
      rest.packets -= f.intervalPackets;
      rest.bytes -= f.intervalBytes;
    }
    return { top, rest };
  }

  /** Long-lived flows due an update record; marks them as sent. */
  dueForUpdate(nowMs: number, intervalMs: number): TrackedFlow[] {
    const due: TrackedFlow[] = [];
    for (const f of this.flows.values()) {
      if (nowMs - f.lastUpdateRecordMs >= intervalMs) {
        f.lastUpdateRecordMs = nowMs;
        due.push(f);
      }
    }
    return due;
  }

  ids(): string[] {
    return [...this.flows.keys()];
  }

  private account(flow: TrackedFlow, packets: number, bytes: number, syns: number): void {
    flow.totals ??= this.totalsFor(flow.key);
    const { traffic, port } = flow.totals;
    traffic.packets += packets;
    traffic.bytes += bytes;
    if (!port) return;
    port.packets += packets;
    port.bytes += bytes;
    // A SYN without ACK arriving at a local port is a new inbound connection.
    if (flow.key.direction === 'receive' && flow.key.protocol === TCP) port.connections += syns;
  }

  /** The traffic and port accumulators a flow with this key adds to (created on first use). */
  private totalsFor(key: FlowKeyInfo): { traffic: Totals; port?: PortTotals } {
    const t: TrafficKey = { ifindex: key.ifindex, direction: key.direction, ipVersion: key.ipVersion, protocol: key.protocol };
    const tid = `${t.ifindex}/${t.direction}/${t.ipVersion}/${t.protocol}`;
    let traffic = this.traffic.get(tid);
    if (!traffic) {
      traffic = { key: t, packets: 0, bytes: 0 };
      this.traffic.set(tid, traffic);
    }
    if (key.protocol !== TCP && key.protocol !== UDP) return { traffic };
    // The local port: the destination of what arrives, the source of what leaves.
    const port = key.direction === 'receive' ? key.dstPort : key.srcPort;
    const ephemeral = port >= this.ephemeralPorts[0] && port <= this.ephemeralPorts[1];
    const ownSeries = !ephemeral && !key.fragment;
    const pid = `${key.ifindex}/${key.protocol}/${port}`;
    let entry: PortTotals | undefined = ownSeries ? this.ports.get(pid) : undefined;
    if (!entry && ownSeries && this.ports.size < this.portSeriesLimit) {
      const fresh = { key: { ifindex: key.ifindex, protocol: key.protocol, port }, packets: 0, bytes: 0, connections: 0 };
      this.ports.set(pid, fresh);
      entry = fresh;
    }
    if (!entry) {
      const group: PortGroup = key.fragment ? 'fragments' : ephemeral ? 'ephemeral' : 'other';
      const gid = `${key.ifindex}/${key.protocol}/${group}`;
      let grouped = this.groupedPorts.get(gid);
      if (!grouped) {
        grouped = { ifindex: key.ifindex, protocol: key.protocol, group, packets: 0, bytes: 0, connections: 0 };
        this.groupedPorts.set(gid, grouped);
      }
      entry = grouped;
    }
    return { traffic, port: entry };
  }
}
