/**
 * The ProbeHost a running probe gets. It records everything opened on the probe's
 * behalf (objects, links, ring-buffer readers) and releases it in reverse order:
 * one cleanup path, whether the probe stops normally or fails half-way through start.
 */
import path from 'node:path';
import { BpfObject } from '../bpf/object';
import { attachCgroup, attachTc, attachXdp, type Attached, type CgroupAttachType, type TcDirection, type TcMode, type XdpMode } from '../bpf/link';
import { RingBufferReader, type RecordHandler } from '../bpf/ringbuf';
import { runIterator } from '../bpf/iter';
import { autoInterfaces, listInterfaces } from '../net/interfaces';
import { NetprobeError } from '../errors';
import type { Logger } from '../log';
import type { Attributes, ProbeHost, SharedFacts } from './types';

export interface Attachment {
  probe: string;
  kind: string;
  target: string;
  /** What `target` names: an interface, or a cgroup's directory. */
  targetKind: 'interface' | 'cgroup';
  detail: string;
}

/** How often ring buffers are drained: often enough to stay far from full at high event rates. */
const RING_POLL_MS = 50;

export class TrackingHost implements ProbeHost {
  private readonly cleanups: Array<{ what: string; fn: () => void }> = [];
  readonly attachments: Attachment[] = [];

  constructor(
    private readonly probeId: string,
    private readonly objectPath: string,
    private readonly log: Logger,
    private readonly emit: (probeId: string, eventName: string, attributes: Attributes, body?: string) => void,
    /** Interfaces already claimed for XDP by other probe instances: ifname -> probe id. */
    private readonly xdpClaims: Map<string, string>,
    readonly facts: SharedFacts,
  ) {}

  openObject(): BpfObject {
    const object = BpfObject.open(this.objectPath);
    this.cleanups.push({ what: `object ${path.basename(this.objectPath)}`, fn: () => object.close() });
    return object;
  }

  resolveInterfaces(spec: 'auto' | readonly string[]): string[] {
    if (spec === 'auto') {
      const found = autoInterfaces();
      if (found.length === 0) throw new NetprobeError('NETPROBE_ERR_ATTACH', 'interfaces: auto found no interface that is up (other than loopback)');
      return found;
    }
    const existing = new Set(listInterfaces().map((i) => i.name));
    const missing = spec.filter((name) => !existing.has(name));
    if (missing.length) throw new NetprobeError('NETPROBE_ERR_ATTACH', `interface${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found`);
    return [...spec];
  }

  attachXdp(object: BpfObject, program: string, ifname: string, mode: XdpMode): 'native' | 'generic' {
    const owner = this.xdpClaims.get(ifname);
    if (owner && owner !== this.probeId) {
      throw new NetprobeError('NETPROBE_ERR_ATTACH', `interface ${ifname} already has XDP from ${owner}; an interface takes one XDP program, so give each probe its own interfaces`);
    }
    const { link, mode: used } = attachXdp(object.programFd(program), ifname, mode);
    this.xdpClaims.set(ifname, this.probeId);
    this.track(link, { kind: 'xdp', target: ifname, targetKind: 'interface', detail: `mode=${used}` });
    this.cleanups.push({ what: `XDP claim on ${ifname}`, fn: () => this.xdpClaims.delete(ifname) });
    return used;
  }

  attachTc(object: BpfObject, program: string, ifname: string, direction: TcDirection, mode: TcMode = 'auto'): 'tcx' | 'classic' {
    const attached = attachTc(object.programFd(program), ifname, direction, mode);
    this.track(attached, { kind: `tc/${direction}`, target: ifname, targetKind: 'interface', detail: attached.mode });
    return attached.mode;
  }

  attachCgroup(object: BpfObject, program: string, cgroupPath: string, type: CgroupAttachType): void {
    const link = attachCgroup(object.programFd(program), cgroupPath, type);
    this.track(link, { kind: type, target: cgroupPath, targetKind: 'cgroup', detail: 'cgroup link, multi-attach' });
  }

  private track(link: Attached, attachment: Omit<Attachment, 'probe'>): void {
    this.cleanups.push({ what: link.description, fn: () => link.close() });
    this.attachments.push({ probe: this.probeId, ...attachment });
  }

  runIterator(object: BpfObject, program: string): void {
    runIterator(object.programFd(program), program);
  }

  consumeRingBuffer(object: BpfObject, map: string, onRecord: RecordHandler): void {
    const reader = new RingBufferReader(map, object.map(map).fd, onRecord);
    reader.poll(RING_POLL_MS, (err) => this.log.error('ring buffer consumer failed', { map, error: err }));
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
  }

  emitEvent(eventName: string, attributes: Attributes, body?: string): void {
    this.emit(this.probeId, eventName, attributes, body);
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
  }
}
