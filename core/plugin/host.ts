/**
 * The ProbeHost a running probe gets. It records everything opened on the probe's
 * behalf (objects, links, ring-buffer readers) and releases it in reverse order:
 * one cleanup path, whether the probe stops normally or fails half-way through start.
 */
import path from 'node:path';
import { BpfObject } from '../bpf/object';
import { numPossibleCpus } from '../bpf/map';
import { ObjectSpec, loadedBpf } from './object';
import { attachCgroup, attachTc, attachTracing, attachXdp, type Attached, type CgroupAttachType, type TcDirection, type TcMode, type XdpMode } from '../bpf/link';
import { RingBufferReader, type RecordHandler } from '../bpf/ringbuf';
import { MappedRingBuffer, recordViewReader, type InPlaceRecordHandler } from '../bpf/ringbuf-mapped';
import { runIterator } from '../bpf/iter';
import { KernelBtf, type KernelTypes } from '../bpf/kernel-btf';
import { kernelSymbols } from '../bpf/kallsyms';
import type { NetInterface } from '../net/interface-watcher';
import { CgroupPaths } from '../net/cgroup';
import { NetprobeError } from '../errors';
import type { Logger } from '../log';
import type { Attributes, ProbeHost, ProbeObject, ProbeObjectSpec, RingBufferHandle, RingBufferOptions, SharedFacts } from './types';

export interface Attachment {
  probe: string;
  kind: string;
  target: string;
  /** What `target` names: an interface, a cgroup's directory, or a tracepoint. */
  targetKind: keyof typeof ATTACH_TARGET_ATTRIBUTE;
  detail: string;
}

/** The attribute that names an attachment's target in `netprobe.probe.attached` records. */
export const ATTACH_TARGET_ATTRIBUTE = {
  interface: 'network.interface.name',
  cgroup: 'netprobe.attach.cgroup',
  tracepoint: 'netprobe.attach.tracepoint',
} as const;

/** How often ring buffers are drained: often enough to stay far from full at high event rates. */
const RING_POLL_MS = 50;
/**
 * In-place rings carry packet rates (a million records a second fills 8 MiB in 80 ms); an
 * empty check costs two loads, so they are drained more often.
 */
const RING_IN_PLACE_POLL_MS = 10;

export class TrackingHost implements ProbeHost {
  private readonly cleanups: Array<{ what: string; fn: () => void }> = [];
  private kernelBtf: KernelBtf | undefined;
  private cgroups: CgroupPaths | undefined;
  private readonly objects: BpfObject[] = [];
  readonly attachments: Attachment[] = [];
  /** The fall-back to classic TC is logged once per probe, not once per hook. */
  private toldClassicTc = false;

  constructor(
    private readonly probeId: string,
    private readonly objectPath: string,
    private readonly log: Logger,
    private readonly emit: (probeId: string, eventName: string, attributes: Attributes, body?: string) => void,
    /** Interfaces already claimed for XDP by other probe instances: ifname -> probe id. */
    private readonly xdpClaims: Map<string, string>,
    readonly facts: SharedFacts,
    private readonly onFinished: (probeId: string, reason: string) => void = () => undefined,
    /** What the probe's `interfaces` config selects, resolved by core. */
    private readonly selected: readonly NetInterface[] = [],
  ) {}

  openObject(): ProbeObjectSpec {
    const object = BpfObject.open(this.objectPath);
    this.objects.push(object);
    this.cleanups.push({ what: `object ${path.basename(this.objectPath)}`, fn: () => object.close() });
    return new ObjectSpec(object);
  }

  get possibleCpus(): number {
    return numPossibleCpus();
  }

  interfaces(): readonly NetInterface[] {
    return this.selected;
  }

  /** The resolved interface by name (its ifindex for the attach), or just the name for one this probe did not select. */
  private target(ifname: string): NetInterface | string {
    return this.selected.find((i) => i.name === ifname) ?? ifname;
  }

  attachXdp(object: ProbeObject, program: string, ifname: string, mode: XdpMode): 'native' | 'generic' {
    const owner = this.xdpClaims.get(ifname);
    if (owner && owner !== this.probeId) {
      throw new NetprobeError('NETPROBE_ERR_ATTACH', `interface ${ifname} already has XDP from ${owner}; an interface takes one XDP program, so give each probe its own interfaces`);
    }
    const { link, mode: used } = attachXdp(loadedBpf(object).programFd(program), this.target(ifname), mode);
    this.xdpClaims.set(ifname, this.probeId);
    this.track(link, { kind: 'xdp', target: ifname, targetKind: 'interface', detail: `mode=${used}` });
    this.cleanups.push({ what: `XDP claim on ${ifname}`, fn: () => this.xdpClaims.delete(ifname) });
    return used;
  }

  attachTc(object: ProbeObject, program: string, ifname: string, direction: TcDirection, mode: TcMode = 'auto'): 'tcx' | 'classic' {
    const attached = attachTc(loadedBpf(object).programFd(program), this.target(ifname), direction, mode);
    this.track(attached, { kind: `tc/${direction}`, target: ifname, targetKind: 'interface', detail: attached.mode });
    if (mode === 'auto' && attached.mode === 'classic' && !this.toldClassicTc) {
      this.toldClassicTc = true;
      this.log.warn('tcx is not available (needs Linux 6.6+): TC programs use classic clsact filters, which stay attached if the collector is killed with SIGKILL', { interface: ifname });
    }
    return attached.mode;
  }

  attachCgroup(object: ProbeObject, program: string, cgroupPath: string, type: CgroupAttachType): void {
    const link = attachCgroup(loadedBpf(object).programFd(program), cgroupPath, type);
    this.track(link, { kind: type, target: cgroupPath, targetKind: 'cgroup', detail: 'cgroup link, multi-attach' });
  }

  attachTracepoint(object: ProbeObject, program: string, tracepoint: string): void {
    const link = attachTracing(loadedBpf(object).programFd(program), tracepoint);
    this.track(link, { kind: 'tp_btf', target: tracepoint, targetKind: 'tracepoint', detail: 'BTF-typed tracepoint' });
  }

  kernelTypes(): KernelTypes {
    if (!this.kernelBtf) {
      const btf = KernelBtf.load();
      this.cleanups.push({ what: 'kernel BTF', fn: () => btf.close() });
      this.kernelBtf = btf;
    }
    return this.kernelBtf;
  }

  cgroupPath(id: number): string | undefined {
    this.cgroups ??= new CgroupPaths();
    return this.cgroups.path(id);
  }

  kernelSymbol(address: bigint): string | undefined {
    return kernelSymbols().name(address);
  }

  private track(link: Attached, attachment: Omit<Attachment, 'probe'>): void {
    this.cleanups.push({ what: link.description, fn: () => link.close() });
    this.attachments.push({ probe: this.probeId, ...attachment });
  }

  runIterator(object: ProbeObject, program: string): void {
    runIterator(loadedBpf(object).programFd(program), program);
  }

  consumeRingBuffer(object: ProbeObject, map: string, onRecord: RecordHandler, options: RingBufferOptions = {}): RingBufferHandle {
    const ring = loadedBpf(object).map(map);
    const reader = options.transientRecords ? recordViewReader(map, ring.fd, ring.maxEntries, onRecord) : new RingBufferReader(map, ring.fd, onRecord);
    return this.drainOnTimer(map, reader, reader instanceof MappedRingBuffer ? RING_IN_PLACE_POLL_MS : RING_POLL_MS);
  }

  consumeRingBufferInPlace(object: ProbeObject, map: string, onRecord: InPlaceRecordHandler): RingBufferHandle {
    const ring = loadedBpf(object).map(map);
    return this.drainOnTimer(map, new MappedRingBuffer(map, ring.fd, ring.maxEntries, onRecord), RING_IN_PLACE_POLL_MS);
  }

  private drainOnTimer(map: string, reader: RingBufferReader | MappedRingBuffer, intervalMs: number): RingBufferHandle {
    reader.poll(intervalMs, (err) => this.log.error('ring buffer consumer failed', { map, error: err }));
    // Drain what is left before the ring goes away, so shutdown loses no event.
    this.cleanups.push({
      what: `ring buffer ${map}`,
      fn: () => {
        try {
          reader.drain();
        } finally {
          reader.close();
        }
      },
    });
    return { drain: () => reader.drain() };
  }

  finished(reason: string): void {
    this.onFinished(this.probeId, reason);
  }

  emitEvent(eventName: string, attributes: Attributes, body?: string): void {
    this.emit(this.probeId, eventName, attributes, body);
  }

  /** The programs this probe loaded into the kernel (for their kernel cost). */
  programs(): Array<{ name: string; fd: number }> {
    return this.objects.flatMap((o) => o.programs());
  }

  /** Releases everything in reverse order of acquisition. Safe to call twice. */
  releaseAll(): void {
    while (this.cleanups.length) {
      const { what, fn } = this.cleanups.pop()!;
      try {
        fn();
      } catch (err) {
        this.log.error(`releasing ${what} failed`, { error: err });
      }
    }
    this.attachments.length = 0;
    this.objects.length = 0;
    this.kernelBtf = undefined;
  }
}
