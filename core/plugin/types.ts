/**
 * The plugin contract: everything a probe may touch. A probe plugin is mostly data: its
 * BPF object, config schema, what it attaches, and the metrics and log records it emits.
 * Its code talks only to the ProbeHost that core hands it (and through it to its BPF
 * object: ProbeObjectSpec, then ProbeObject), never to core/bpf, libbpf or the
 * OpenTelemetry SDK. Plugins import from `core/plugin` (index.ts), which re-exports
 * this file and the few helpers a probe needs (errors, enums, time slices).
 */
import type { Logger } from '../log';
import type { CgroupAttachType, TcDirection, TcMode, XdpMode } from '../bpf/link';
import type { RecordHandler } from '../bpf/ringbuf';
import type { InPlaceRecordHandler } from '../bpf/ringbuf-mapped';
import type { KernelTypes } from '../bpf/kernel-btf';
import type { Decoded, StructLayout } from '../bpf/layout';
import type { MapEntries } from '../bpf/map';
import type { TestRunOptions, TestRunResult } from '../bpf/test-run';
import type { BtfEnum } from './enum';

export type { KernelTypes } from '../bpf/kernel-btf';
export type { NetInterface } from '../net/interface-watcher';
import type { NetInterface } from '../net/interface-watcher';
export type { CgroupAttachType, TcDirection, TcMode, XdpMode } from '../bpf/link';
export type { RecordHandler } from '../bpf/ringbuf';
export type { InPlaceRecordHandler } from '../bpf/ringbuf-mapped';
export type { Decoded, LayoutField, StructLayout } from '../bpf/layout';
export type { MapEntries } from '../bpf/map';
export type { TestRunOptions, TestRunResult } from '../bpf/test-run';
export type { BtfEnum, EnumLabels } from './enum';

/**
 * The probe's BPF object before it is in the kernel (cilium/ebpf's CollectionSpec): set
 * `const volatile` knobs, size maps, leave programs out, then load(). Nothing here
 * touches the kernel; everything is released by core.
 */
export interface ProbeObjectSpec {
  /** Sets a `const volatile` variable (or array) in .rodata. */
  setKnob(name: string, value: number | readonly number[]): void;
  /** How many elements a `const volatile` array knob holds. */
  knobCapacity(name: string): number;
  /** Resizes a map (e.g. a table or ring buffer sized from the config). */
  setMaxEntries(map: string, entries: number): void;
  /** Leaves a program out of load() (e.g. one this kernel cannot verify). */
  skipProgram(program: string): void;
  /** A C enum from the object's BTF (kept there with NP_EXPORT_ENUM when C uses it only as constants). */
  enum(name: string): BtfEnum;
  /** Layout of a struct the C declares (kept in BTF with NP_EXPORT_TYPE when no map names it). */
  layout(struct: string): StructLayout;
  /** Loads every program and creates the maps; a verifier rejection throws BpfLoadError (with the log). */
  load(): ProbeObject;
  /** Releases the object now (e.g. after a failed load, to open and configure it again). */
  close(): void;
}

/**
 * The loaded object (cilium/ebpf's Collection): its maps, its programs by name (passed to
 * the host's attach methods), record layouts and enums from its BTF.
 */
export interface ProbeObject {
  map(name: string): ProbeMap;
  /** Layout of a struct the C declares (for ring-buffer records; map layouts come from the map). */
  layout(struct: string): StructLayout;
  enum(name: string): BtfEnum;
  /** Runs a program on a packet in the kernel (BPF_PROG_TEST_RUN), retrying when a signal interrupts it. */
  testRun(program: string, packet: Buffer, repeat?: number, options?: TestRunOptions): TestRunResult;
  /** Runs a program that takes no packet on one CPU, in its context; its return value, undefined when the CPU is offline. */
  runOnCpu(program: string, cpu: number): number | undefined;
}

/** A loaded map, read in batches (a syscall costs as much as decoding hundreds of entries). */
export interface ProbeMap {
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly perCpu: boolean;
  /** Bytes from one CPU's copy of a value to the next. */
  readonly valueStride: number;
  /** Copies per value: the possible CPUs for per-CPU maps, else 1. */
  readonly cpus: number;
  /** Bytes one entry's value occupies in a read (all CPUs' copies). */
  readonly entryValueBytes: number;
  /** The key's struct, from the map's own BTF key type (`__type(key, struct ...)`). */
  keyLayout(): StructLayout;
  /** The value's struct, from the map's own BTF value type. */
  valueLayout(): StructLayout;
  /** Fails at start when a struct or key size the probe reads disagrees with the map. */
  expectLayout(value: StructLayout, keySize?: number): void;
  /** Every entry; the buffers are reused by the next read. */
  readAll(): MapEntries;
  readAndDeleteAll(): MapEntries;
  /** Every entry, a batch at a time (for large tables read between yields). */
  batches(entriesPerBatch?: number): Generator<MapEntries>;
  /** Every entry with its value decoded (per-CPU copies combined by semantic typedef); the value layout by default. */
  readDecoded(layout?: StructLayout): Array<{ key: Buffer; value: Decoded }>;
  lookup(key: Buffer): Buffer | undefined;
  lookupAndDelete(key: Buffer): Buffer | undefined;
  update(key: Buffer, value: Buffer, flags?: number): void;
  /** Many entries (keys and values concatenated) in one syscall. */
  updateBatch(keys: Buffer, values: Buffer, flags?: number): void;
  deleteBatch(keys: Buffer): number;
}

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
  openObject(): ProbeObjectSpec;
  /** CPUs the kernel may run (per-CPU maps hold this many copies). */
  readonly possibleCpus: number;
  /**
   * The interfaces this probe's `interfaces` config selects (`auto`: every up, non-loopback
   * one; or a list of names), resolved once by core, with their ifindex. Core follows
   * interfaces as they come and go: when the set changes it stops this probe instance
   * (its last values are exported once) and starts a new one on the new set.
   */
  interfaces(): readonly NetInterface[];
  attachXdp(object: ProbeObject, program: string, ifname: string, mode: XdpMode): 'native' | 'generic';
  /**
   * Attaches a `SEC("tc")` program: through tcx where the kernel has it (shared hook,
   * a link), else as a classic clsact filter. Returns what was used.
   */
  attachTc(object: ProbeObject, program: string, ifname: string, direction: TcDirection, mode?: TcMode): 'tcx' | 'classic';
  /** Attaches a cgroup program (e.g. sock_ops) through a multi-attach link. */
  attachCgroup(object: ProbeObject, program: string, cgroupPath: string, type: CgroupAttachType): void;
  /** Attaches a BTF-typed tracepoint program (`SEC("tp_btf/<tracepoint>")`); `tracepoint` names it in attachment records, e.g. `skb:kfree_skb`. */
  attachTracepoint(object: ProbeObject, program: string, tracepoint: string): void;
  /** The running kernel's types (its BTF), loaded once per probe and released with it; throws when the kernel has no BTF. */
  kernelTypes(): KernelTypes;
  /** The kernel function an address lies in, as `name+0xoffset` (/proc/kallsyms, loaded on first use); undefined when unknown or hidden. */
  kernelSymbol(address: bigint): string | undefined;
  /** A cgroup v2's path in the hierarchy (e.g. `/system.slice/nginx.service`) from its id (the kernel's cgroup id); undefined when not found. */
  cgroupPath(id: number): string | undefined;
  /** Runs a BPF iterator program (`SEC("iter/...")`) once, to the end, in the collector's network namespace. */
  runIterator(object: ProbeObject, program: string): void;
  /**
   * Drains a ring buffer on a timer without blocking the event loop. The handle drains it
   * now (e.g. in stop(), to take the last records; core drains it once more when releasing).
   */
  consumeRingBuffer(object: ProbeObject, map: string, onRecord: RecordHandler, options?: RingBufferOptions): RingBufferHandle;
  /**
   * The same, for high record rates: the ring is read from its memory mapping without a
   * foreign call or an object per record; each record is handed over in place (offset and
   * length in the ring's bytes), valid only during the call (the handler copies what it keeps).
   */
  consumeRingBufferInPlace(object: ProbeObject, map: string, onRecord: InPlaceRecordHandler): RingBufferHandle;
  /**
   * The probe has done what it was asked (e.g. a capture reached its packet count, or
   * its output failed). A command face (`netprobe capture`) stops the service then;
   * the collector (`netprobe run`) only logs it.
   */
  finished(reason: string): void;
  /**
   * Emits a log record (an event) if this probe is in a logs pipeline. The attributes object
   * is the collector's from then on (it is not copied): build a new one per event.
   */
  emitEvent(eventName: string, attributes: Attributes, body?: string): void;
  /** Facts shared with the other probes of this collector. */
  readonly facts: SharedFacts;
}

export interface RingBufferOptions {
  /**
   * The handler keeps nothing of a record (it decodes what it needs during the call): records
   * may then be views of the ring's own memory, read in place where the core can (x86-64),
   * with no foreign call or copy per record.
   */
  transientRecords?: boolean;
}

export interface RingBufferHandle {
  /** Consumes every record available now; returns how many. Never waits. */
  drain(): number;
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
  /**
   * Reads the kernel's aggregates and reports every metric's current value. A probe
   * with much to read returns a promise and works in slices (core/plugin/time-slice.ts),
   * so the event loop keeps serving timers and exports while it runs.
   */
  collect(sink: MetricSink): void | Promise<void>;
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
  /**
   * Whether core starts the probe again when the interfaces its `interfaces` config selects
   * change (default true). False keeps one session, e.g. one capture file, on the start set.
   */
  followsInterfaces?: boolean;
  create(ctx: ProbeContext<C>): ProbeInstance;
  /**
   * A config that runs this probe on the given test interfaces, or for the processes of the
   * given cgroup (a path inside the cgroup v2 hierarchy, e.g. `/test`), in conformance tests and docs.
   */
  exampleConfig(target: { interfaces: string[]; cgroup?: string }): Record<string, unknown>;
}
