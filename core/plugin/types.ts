/**
 * The plugin contract. A probe plugin is mostly data: its BPF object, config schema,
 * what it attaches, and the metrics and log records it emits. Its code talks only to
 * the ProbeHost that core hands it, never to libbpf or the OpenTelemetry SDK.
 */
import type { Logger } from '../log';
import type { BpfObject } from '../bpf/object';
import type { CgroupAttachType, TcDirection, TcMode, XdpMode } from '../bpf/link';
import type { RecordHandler } from '../bpf/ringbuf';

export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';
export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export interface MetricSpec {
  name: string;
  description: string;
  /** UCUM unit, e.g. `By`, `{packet}`, `s`. */
  unit: string;
  kind: InstrumentKind;
  /** Defaults to int; use double for ratios and seconds. */
  valueType?: 'int' | 'double';
  /** Every attribute key a data point of this metric may carry (core adds `netprobe.probe.id`). */
  attributes: readonly string[];
}

export interface LogRecordSpec {
  /** The event name, e.g. `netprobe.probe.attached`. */
  eventName: string;
  description: string;
  attributes: readonly string[];
}

/** Cumulative histogram state as the kernel aggregated it. */
export interface HistogramValue {
  boundaries: readonly number[];
  /** boundaries.length + 1 counts; the last is the overflow bucket. */
  counts: readonly number[];
  sum: number;
  count: number;
}

/** Where a probe reports its current (cumulative) values during collect(). */
export interface MetricSink {
  record(metric: string, attributes: Attributes, value: number | HistogramValue): void;
}

/** A configuration problem found beyond what the JSON schema can express. */
export interface ConfigIssue {
  /** Path below the probe's own config, e.g. ['size_buckets', '[2]']. */
  path: string[];
  message: string;
}

/**
 * A fact one probe learned and others may use, kept by core: bounded (the entry
 * published longest ago makes room, and is counted in `evicted`) and expiring.
 */
export interface FactTable<K, V> {
  /** Remembers `value` for `key` for `ttlMs` (a later publication replaces it); ttlMs <= 0 is ignored. */
  publish(key: K, value: V, ttlMs: number): void;
  /** The value while it has not expired. */
  lookup(key: K): V | undefined;
  readonly size: number;
  readonly capacity: number;
  /** Entries dropped before they expired, to make room. */
  readonly evicted: number;
}

/** Facts shared between probes: publish what you learn, look up what others learned; probes never import each other. */
export interface SharedFacts {
  /**
   * An address (text as core/net/address formats it: dotted IPv4, RFC 5952 IPv6) -> the DNS
   * name that was asked when it came back in an answer (a CNAME chain keeps the asked name,
   * lower-cased). Published by `dns`; read for `netprobe.peer.name`.
   */
  readonly addressNames: FactTable<string, string>;
}

/**
 * What core offers a running probe. Everything opened through it is tracked and
 * released by core in reverse order on shutdown, or if start() fails half-way.
 */
export interface ProbeHost {
  /** Opens the plugin's BPF object (not yet loaded: set knobs, then load()). */
  openObject(): BpfObject;
  /** Interface names for `auto` (every up, non-loopback interface) or an explicit list (checked to exist). */
  resolveInterfaces(spec: 'auto' | readonly string[]): string[];
  attachXdp(object: BpfObject, program: string, ifname: string, mode: XdpMode): 'native' | 'generic';
  /**
   * Attaches a `SEC("tc")` program: through tcx where the kernel has it (shared hook,
   * a link), else as a classic clsact filter. Returns what was used.
   */
  attachTc(object: BpfObject, program: string, ifname: string, direction: TcDirection, mode?: TcMode): 'tcx' | 'classic';
  /** Attaches a cgroup program (e.g. sock_ops) through a multi-attach link. */
  attachCgroup(object: BpfObject, program: string, cgroupPath: string, type: CgroupAttachType): void;
  /** Runs a BPF iterator program (`SEC("iter/...")`) once, to the end, in the collector's network namespace. */
  runIterator(object: BpfObject, program: string): void;
  /** Drains a ring buffer on a timer without blocking the event loop. */
  consumeRingBuffer(object: BpfObject, map: string, onRecord: RecordHandler): void;
  /** Emits a log record (an event) if this probe is in a logs pipeline. */
  emitEvent(eventName: string, attributes: Attributes, body?: string): void;
  /** Facts shared with the other probes of this collector. */
  readonly facts: SharedFacts;
}

export interface ProbeContext<C> {
  /** The instance id from the config, e.g. `xdp_counter/uplink`. */
  id: string;
  /** Validated, defaults applied, frozen. */
  config: C;
  host: ProbeHost;
  log: Logger;
}

export interface ProbeInstance {
  /** Load and attach. May throw; core then releases whatever was opened. */
  start(): void | Promise<void>;
  /** Reads the kernel's aggregates and reports every metric's current value. */
  collect(sink: MetricSink): void;
  /** Optional extra cleanup; core already detaches and closes what went through the host. */
  stop?(): void | Promise<void>;
}

export interface ProbePlugin<C = unknown> {
  /** The config key type, e.g. `xdp_counter`. */
  type: string;
  description: string;
  /** The plugin's folder in dist/, where its BPF object is (pass `__dirname`). */
  directory: string;
  /** Human-readable: where it attaches. */
  attaches: string;
  /** The compiled BPF object, relative to `directory`. */
  object: string;
  /** Maps and ring buffers of the object that userspace reads. */
  reads: { maps: readonly string[]; ringBuffers: readonly string[] };
  /** JSON Schema (draft-07) for one instance's config, with defaults. */
  configSchema: object;
  /** Checks the schema cannot express (ordering, cross-field rules). */
  validate?(config: C): ConfigIssue[];
  metrics: readonly MetricSpec[];
  logRecords: readonly LogRecordSpec[];
  create(ctx: ProbeContext<C>): ProbeInstance;
  /**
   * A config that runs this probe on the given test interfaces, or for the processes of the
   * given cgroup (a path inside the cgroup v2 hierarchy, e.g. `/test`), in conformance tests and docs.
   */
  exampleConfig(target: { interfaces: string[]; cgroup?: string }): Record<string, unknown>;
}
