/**
 * Userspace side of the flow table, free of kernel calls so it can be tested alone.
 *
 * The kernel keeps one cumulative entry per live flow. Each interval this tracker
 * sees every entry, turns the growth since the last interval into traffic and
 * per-port totals (which therefore survive the flow's deletion), ranks flows by the
 * bytes they moved in the interval, and decides which flows end (idle) or must make
 * room (table pressure).
 *
 * 100,000 live flows is the design point, so a flow is a slot in typed arrays, not
 * an object, found by its raw kernel key (FlowIndex): the heap holds a few shared
 * pointers per flow, and a collection allocates nothing per known flow (no garbage,
 * short GC pauses). A flow's key is decoded (`keyOf`) only when it is first seen and
 * when a record or a top-flow series needs it. Callers name flows by slot.
 */
import { emptyCounters, type FlowCounters, type FlowKeyInfo } from './flow-codec';
import { FlowIndex } from './flow-index';

export interface TrackedFlow {
  key: FlowKeyInfo;
  /** Cumulative, as last read. */
  counters: FlowCounters;
  /** Growth in the current interval. */
  intervalPackets: number;
  intervalBytes: number;
  /** When the last update record went out (ms since epoch), or when the flow was first seen. */
  lastUpdateRecordMs: number;
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

export interface FlowTrackerOptions {
  /** Bytes of a raw key (a multiple of 4). */
  keySize: number;
  /** Most local ports with a series of their own. */
  portSeriesLimit: number;
  /** The kernel's ip_local_port_range. */
  ephemeralPorts?: readonly [number, number];
  /** A flow's key from its raw bytes (called when a flow is first seen and when a record needs it). */
  keyOf: (keys: Buffer, at: number) => FlowKeyInfo;
  /** The remote end's name, looked up once when a flow is first seen (netprobe.peer.name). */
  nameOf?: (key: FlowKeyInfo) => string | undefined;
}

const TCP = 6;
const UDP = 17;
const INITIAL_SLOTS = 1024;

export class FlowTracker {
  /** Raw key -> slot. */
  private readonly index: FlowIndex;
  /** Slots given back by ended flows. */
  private readonly free: number[] = [];
  /** Slots in use are below this. */
  private used = 0;
  private capacity = 0;
  /**
   * The slot (+1, 0: none) seen at each position of the last walk of the kernel table:
   * the kernel walks its buckets in the same order every time, so the next walk is
   * checked against it first, with one compare and no hash lookup.
   */
  private walk: Int32Array = new Int32Array(0);
  private position = 0;
  /** 1 for a slot holding a live flow. */
  private live = new Uint8Array(0);
  private packets = new Float64Array(0);
  private bytes = new Float64Array(0);
  private syns = new Float64Array(0);
  private firstSeen = new Float64Array(0);
  private lastSeen = new Float64Array(0);
  private tcpFlags = new Uint8Array(0);
  private intervalPackets = new Float64Array(0);
  private intervalBytes = new Float64Array(0);
  private lastUpdateMs = new Float64Array(0);
  /** 1 where a SYN counts as a new inbound connection (TCP, received). */
  private inboundTcp = new Uint8Array(0);
  /** The totals each flow adds to (shared objects), found once: a flow's key never changes. */
  private trafficOf: Array<Totals | undefined> = [];
  private portOf: Array<PortTotals | undefined> = [];
  private peerNames: Array<string | undefined> = [];

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

  private readonly portSeriesLimit: number;
  private readonly ephemeralPorts: readonly [number, number];

  constructor(private readonly options: FlowTrackerOptions) {
    this.portSeriesLimit = options.portSeriesLimit;
    this.ephemeralPorts = options.ephemeralPorts ?? [32768, 60999];
    this.index = new FlowIndex(options.keySize, 0);
  }

  get size(): number {
    return this.index.size;
  }

  /** The slot of the flow with the raw key at `keys[at..]` (words, see wordsOf()), or -1. */
  find(keys: Int32Array, at: number): number {
    return this.index.find(keys, at);
  }

  /** A live flow as an object (its key decoded again), or undefined. */
  get(slot: number): TrackedFlow | undefined {
    return this.live[slot] ? this.flowAt(slot) : undefined;
  }

  /** The raw key of a live flow's slot (a view, valid until the next observe()). */
  keyBytes(slot: number): Buffer {
    return this.index.key(slot);
  }

  /** Starts an interval: growth is measured from here. */
  beginInterval(): void {
    this.position = 0;
    this.intervalPackets.fill(0);
    this.intervalBytes.fill(0);
  }

  /**
   * One kernel entry as read now, its raw key at `keys[at..]` (words, see wordsOf(); at is
   * in words too; `counters` is copied, so
   * the caller may reuse it); returns the flow's slot. Counters only grow while a flow
   * lives; anything else means the kernel re-created the entry (deleted and seen
   * again), and the new values count in full.
   */
  observe(keys: Int32Array, at: number, counters: FlowCounters, nowMs: number): number {
    const position = this.position++;
    let slot = position < this.walk.length ? this.walk[position]! - 1 : -1;
    if (slot < 0 || !this.live[slot] || !this.index.equals(slot, keys, at)) {
      slot = this.index.find(keys, at);
      if (slot < 0) slot = this.add(keys, at, nowMs);
      if (position >= this.walk.length) this.walk = grown(this.walk, Math.max(INITIAL_SLOTS, this.walk.length * 2));
      this.walk[position] = slot + 1;
    }
    this.update(slot, counters);
    return slot;
  }

  private update(slot: number, counters: FlowCounters): void {
    const prevPackets = this.packets[slot]!;
    const prevBytes = this.bytes[slot]!;
    const prevSyns = this.syns[slot]!;
    const restarted = counters.packets < prevPackets || counters.bytes < prevBytes;
    const dPackets = restarted ? counters.packets : counters.packets - prevPackets;
    const dBytes = restarted ? counters.bytes : counters.bytes - prevBytes;
    const dSyns = restarted ? counters.syns : Math.max(0, counters.syns - prevSyns);
    this.packets[slot] = counters.packets;
    this.bytes[slot] = counters.bytes;
    this.syns[slot] = counters.syns;
    this.firstSeen[slot] = counters.firstSeen;
    this.lastSeen[slot] = counters.lastSeen;
    this.tcpFlags[slot] = counters.tcpFlags;
    if (!dPackets && !dBytes) return;
    this.intervalPackets[slot] += dPackets;
    this.intervalBytes[slot] += dBytes;
    const traffic = this.trafficOf[slot]!;
    traffic.packets += dPackets;
    traffic.bytes += dBytes;
    const port = this.portOf[slot];
    if (!port) return;
    port.packets += dPackets;
    port.bytes += dBytes;
    // A SYN without ACK arriving at a local port is a new inbound connection.
    if (this.inboundTcp[slot]) port.connections += dSyns;
  }

  /** Removes a flow; `final` are its last counters (read as it was deleted), if any. */
  end(slot: number, final: FlowCounters | undefined, reason: EndedFlow['reason']): EndedFlow | undefined {
    if (!this.live[slot]) return undefined;
    if (final) this.update(slot, final);
    const { key, counters } = this.flowAt(slot);
    this.index.remove(slot);
    this.live[slot] = 0;
    this.trafficOf[slot] = this.portOf[slot] = this.peerNames[slot] = undefined;
    this.free.push(slot);
    this.ended[reason]++;
    return { key, counters, reason };
  }

  /** Flows whose last packet is at least `idleNs` old (`nowNs` on the kernel's monotonic clock). */
  idleFlows(nowNs: number, idleNs: number): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.used; s++) if (this.live[s] && nowNs - this.lastSeen[s]! >= idleNs) out.push(s);
    return out;
  }

  /** The `count` least recently active flows (to make room when the table is nearly full). */
  leastRecent(count: number, exclude: ReadonlySet<number>): number[] {
    if (count <= 0) return [];
    const slots: number[] = [];
    for (let s = 0; s < this.used; s++) if (this.live[s] && !exclude.has(s)) slots.push(s);
    return slots.sort((a, b) => this.lastSeen[a]! - this.lastSeen[b]!).slice(0, count);
  }

  /** The `n` flows that moved the most bytes this interval, and the sum of all the others. */
  top(n: number): { top: TrackedFlow[]; rest: Totals & { flows: number } } {
    // One pass keeping the n largest slots (n is small): no sort of every flow.
    const top: number[] = [];
    const all = { packets: 0, bytes: 0, flows: 0 };
    const ip = this.intervalPackets;
    const ib = this.intervalBytes;
    for (let s = 0; s < this.used; s++) {
      if (ip[s] === 0 || !this.live[s]) continue;
      const b = ib[s]!;
      all.packets += ip[s]!;
      all.bytes += b;
      all.flows++;
      if (n === 0 || (top.length === n && b <= ib[top[n - 1]!]!)) continue;
      let i = Math.min(top.length, n - 1);
      while (i > 0 && ib[top[i - 1]!]! < b) i--;
      top.splice(i, 0, s);
      if (top.length > n) top.pop();
    }
    const rest = { packets: all.packets, bytes: all.bytes, flows: all.flows - top.length };
    for (const s of top) {
      rest.packets -= ip[s]!;
      rest.bytes -= ib[s]!;
    }
    return { top: top.map((s) => this.flowAt(s)), rest };
  }

  /** Long-lived flows due an update record; marks them as sent. */
  dueForUpdate(nowMs: number, intervalMs: number): TrackedFlow[] {
    const due: TrackedFlow[] = [];
    for (let s = 0; s < this.used; s++) {
      if (this.live[s] && nowMs - this.lastUpdateMs[s]! >= intervalMs) {
        this.lastUpdateMs[s] = nowMs;
        due.push(this.flowAt(s));
      }
    }
    return due;
  }

  /** Every live flow's slot. */
  slots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.used; s++) if (this.live[s]) out.push(s);
    return out;
  }

  /** A flow as an object (its key decoded again): for the few flows a record or series needs. */
  private flowAt(slot: number): TrackedFlow {
    const key = this.options.keyOf(this.index.key(slot), 0);
    const peerName = this.peerNames[slot];
    if (peerName !== undefined) key.peerName = peerName;
    const counters = emptyCounters();
    counters.packets = this.packets[slot]!;
    counters.bytes = this.bytes[slot]!;
    counters.syns = this.syns[slot]!;
    counters.firstSeen = this.firstSeen[slot]!;
    counters.lastSeen = this.lastSeen[slot]!;
    counters.tcpFlags = this.tcpFlags[slot]!;
    return { key, counters, intervalPackets: this.intervalPackets[slot]!, intervalBytes: this.intervalBytes[slot]!, lastUpdateRecordMs: this.lastUpdateMs[slot]! };
  }

  /** A new flow's slot, zeroed, with the totals it adds to. */
  private add(keys: Int32Array, at: number, nowMs: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    this.index.insert(keys, at, slot);
    this.live[slot] = 1;
    this.packets[slot] = this.bytes[slot] = this.syns[slot] = this.firstSeen[slot] = this.lastSeen[slot] = 0;
    this.tcpFlags[slot] = 0;
    this.intervalPackets[slot] = this.intervalBytes[slot] = 0;
    this.lastUpdateMs[slot] = nowMs;
    const key = this.options.keyOf(this.index.key(slot), 0);
    this.peerNames[slot] = this.options.nameOf?.(key);
    this.inboundTcp[slot] = key.direction === 'receive' && key.protocol === TCP ? 1 : 0;
    const { traffic, port } = this.totalsFor(key);
    this.trafficOf[slot] = traffic;
    this.portOf[slot] = port;
    return slot;
  }

  private grow(): void {
    const capacity = Math.max(INITIAL_SLOTS, this.capacity * 2);
    const f64 = (old: Float64Array) => {
      const a = new Float64Array(capacity);
      a.set(old);
      return a;
    };
    const u8 = (old: Uint8Array) => {
      const a = new Uint8Array(capacity);
      a.set(old);
      return a;
    };
    this.packets = f64(this.packets);
    this.bytes = f64(this.bytes);
    this.syns = f64(this.syns);
    this.firstSeen = f64(this.firstSeen);
    this.lastSeen = f64(this.lastSeen);
    this.intervalPackets = f64(this.intervalPackets);
    this.intervalBytes = f64(this.intervalBytes);
    this.lastUpdateMs = f64(this.lastUpdateMs);
    this.tcpFlags = u8(this.tcpFlags);
    this.inboundTcp = u8(this.inboundTcp);
    this.live = u8(this.live);
    this.index.reserve(capacity);
    this.capacity = capacity;
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

function grown(a: Int32Array, length: number): Int32Array {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}
