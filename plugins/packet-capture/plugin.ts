/**
 * packet_capture: copies the first `snaplen` bytes of each matching frame on the
 * chosen interfaces (TC ingress and egress through tcx, beside the other probes)
 * into a ring buffer, filtered, sampled and budgeted in the kernel; userspace
 * writes them as pcap-ng and, optionally, as rate-limited log records. Every
 * packet not captured is counted by reason, in the kernel and after it.
 */
import fs from 'node:fs';
import schema from './config.schema.json';
import {
  NetprobeError, kernelFilterFlags, loadKernelFilters,
  type ConfigIssue, type EnumLabels, type MetricSink, type ProbeHost, type ProbeMap, type ProbeObject, type ProbePlugin, type RingBufferHandle,
  wallClockOffsetNs,
} from '../../core/plugin';
import { parseDuration } from '../../core/config/duration';
import { parseCidr } from '../../core/net/address';
import { VERSION } from '../../core/version';
import { RecordDecoder, type CapturedFrame } from './record';
import { PcapngWriter } from './pcapng-writer';
import { LINKTYPE_ETHERNET, splitNs } from './pcapng';
import { frameAttributes } from './summary';

export interface PacketCaptureConfig {
  interfaces: 'auto' | string[];
  directions: Array<'ingress' | 'egress'>;
  snaplen: number;
  filter: {
    include_cidrs: string[];
    exclude_cidrs: string[];
    include_ports: number[];
    exclude_ports: number[];
    protocols: Array<string | number>;
    vlans: number[];
  };
  sample_rate: number;
  max_packets_per_second: number;
  max_bytes_per_second: number;
  max_packets: number;
  ring_buffer_bytes: number;
  pcapng?: { path: string; rotate_bytes: number; rotate_interval: string; max_files: number; max_queue_bytes: number };
  log_records: { enabled: boolean; max_per_second: number };
}

export const PACKET_EVENT = 'netprobe.capture.packet';
const PROTOCOL_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, sctp: 132 };
/** ARPHRD_* types whose frames start with an Ethernet header at the TC hook. */
const ETHERNET_FRAMED = new Set([1 /* ETHER */, 772 /* LOOPBACK */]);
/** How often the wall-clock offset is measured again. */
const CLOCK_RESYNC_MS = 60_000;
/** Page size of x86-64, the only architecture the in-place ring reader supports (capture.h's CAPTURE_WARM_RECORD assumes it too). */
const PAGE_BYTES = 4096;

const IFACE = ['network.interface.name', 'network.io.direction'] as const;

export const packetCapture: ProbePlugin<PacketCaptureConfig> = {
  type: 'packet_capture',
  description: 'Packet capture like tcpdump: filtered, sampled and budgeted in the kernel, written as pcap-ng '
    + '(rotated files or stdout) and optionally as log records; TC through tcx both ways, so it shares interfaces.',
  directory: __dirname,
  attaches: 'TC ingress and egress (tcx) on each selected interface',
  object: 'packet_capture.bpf.o',
  reads: { maps: ['capture_counts'], ringBuffers: ['capture_events'] },
  configSchema: schema,
  // One capture is one pcap-ng session: a restart on new interfaces would start a new file.
  followsInterfaces: false,
  metrics: [
    { name: 'netprobe.capture.packet.count', description: 'Packets the capture programs saw, by outcome: captured, filtered_out, sampled_out, over_packet_budget, over_byte_budget, ring_full, copy_failed.', unit: '{packet}', kind: 'counter', attributes: ['netprobe.capture.outcome'] },
    { name: 'netprobe.capture.io', description: 'Bytes on the wire of the packets the capture programs saw, by outcome.', unit: 'By', kind: 'counter', attributes: ['netprobe.capture.outcome'] },
    { name: 'netprobe.capture.written', description: 'Packets written to pcap-ng.', unit: '{packet}', kind: 'counter', attributes: [] },
    { name: 'netprobe.capture.dropped', description: 'Captured packets lost after the kernel, by reason: queue_full, write_failed (disk full, unwritable, closed pipe), after_count (beyond max_packets), after_stop.', unit: '{packet}', kind: 'counter', attributes: ['error.type'] },
    { name: 'netprobe.capture.log_records.dropped', description: 'Packet log records not emitted because of log_records.max_per_second.', unit: '{record}', kind: 'counter', attributes: [] },
  ],
  logRecords: [
    {
      eventName: PACKET_EVENT,
      description: 'One captured packet (when log_records.enabled), at most log_records.max_per_second.',
      attributes: [...IFACE, 'network.type', 'network.transport', 'source.address', 'source.port', 'destination.address', 'destination.port',
        'netprobe.icmp.type', 'netprobe.icmp.code', 'netprobe.tcp.flags', 'netprobe.capture.vlan.id', 'netprobe.capture.ether_type',
        'netprobe.capture.length', 'netprobe.capture.captured_length'],
    },
  ],

  exampleConfig: ({ interfaces }) => ({ interfaces, snaplen: 128, log_records: { enabled: true } }),

  validate(config): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const size = config.ring_buffer_bytes;
    if ((size & (size - 1)) !== 0) issues.push({ path: ['ring_buffer_bytes'], message: 'must be a power of two' });
    for (const list of ['include_cidrs', 'exclude_cidrs'] as const) {
      config.filter[list].forEach((c, i) => {
        if (!parseCidr(c)) issues.push({ path: ['filter', list, `[${i}]`], message: 'expected an IPv4 or IPv6 CIDR' });
      });
    }
    return issues;
  },

  create({ config, host, log }) {
    let run: CaptureRun | undefined;
    return {
      start() {
        run = new CaptureRun(config, host, log);
      },
      collect(sink) {
        run!.collect(sink);
      },
      async stop() {
        await run?.stop();
      },
    };
  },
};

type Log = { info(msg: string, f?: Record<string, unknown>): void; error(msg: string, f?: Record<string, unknown>): void };

/** One started instance (exported for tests, which drive it through BPF_PROG_TEST_RUN). */
export class CaptureRun {
  readonly object: ProbeObject;
  private readonly counts: ProbeMap;
  private readonly outcomes: EnumLabels;
  private readonly decoder: RecordDecoder;
  private readonly interfaceIds = new Map<number, { id: number; name: string }>();
  private readonly writer: PcapngWriter | undefined;
  private ring: RingBufferHandle | undefined;
  /** Wall clock minus monotonic clock, in 32-bit halves. */
  private clockOffset = splitNs(wallClockOffsetNs());
  private clockTimer: NodeJS.Timeout;
  /** The interface of the last record (captures mostly come from one): its ifindex and IDB index. */
  private lastIfindex = -1;
  private lastInterfaceId = 0;
  private stopped = false;
  /** Records read from the ring. */
  received = 0;
  readonly dropped = { after_count: 0, after_stop: 0 };
  private logWindow = { start: 0, emitted: 0 };
  logRecordsDropped = 0;
  badRecords = 0;

  constructor(private readonly config: PacketCaptureConfig, private readonly host: ProbeHost, private readonly log: Log) {
    const resolved = host.interfaces();
    const interfaces = resolved.map((i) => i.name);
    resolved.forEach(({ name, index }, id) => {
      const type = arphrdType(name);
      if (type !== undefined && !ETHERNET_FRAMED.has(type)) {
        throw new NetprobeError('NETPROBE_ERR_ATTACH', `interface ${name} is not Ethernet-framed (ARPHRD type ${type}); packet_capture captures Ethernet and loopback interfaces`);
      }
      this.interfaceIds.set(index, { id, name });
    });

    const spec = host.openObject();
    const f = config.filter;
    spec.setKnob('snaplen', config.snaplen);
    // Bits of the configured filters, by name: include_cidrs -> CAPTURE_FILTER_INCLUDE_CIDRS, ..., vlans.
    spec.setKnob('filter_flags', kernelFilterFlags(f, spec.enum('capture_filter').labels('CAPTURE_FILTER_')));
    if (f.protocols.length) {
      const set = new Array<number>(spec.knobCapacity('protocols')).fill(0);
      for (const p of f.protocols) set[typeof p === 'number' ? p : PROTOCOL_NUMBERS[p]!] = 1;
      spec.setKnob('protocols', set);
    }
    spec.setKnob('vlan_ids', f.vlans);
    spec.setKnob('vlan_ids_len', f.vlans.length);
    spec.setKnob('sample_rate', config.sample_rate);
    spec.setKnob('max_packets_per_second', config.max_packets_per_second);
    spec.setKnob('max_bytes_per_second', config.max_bytes_per_second);
    spec.setMaxEntries('capture_events', config.ring_buffer_bytes);
    spec.setMaxEntries('capture_scratch', host.possibleCpus);
    const object = (this.object = spec.load());

    this.counts = object.map('capture_counts'); // value: struct capture_count, from the map's BTF
    this.outcomes = object.enum('capture_outcome').labels('CAPTURE_', ['CAPTURE_OUTCOME_MAX']);
    this.decoder = new RecordDecoder(object.layout('capture_event'), object.enum('capture_direction').labels('CAPTURE_'));
    loadKernelFilters(object, f, { includeCidrs: 'capture_include_cidrs', excludeCidrs: 'capture_exclude_cidrs', ports: 'capture_ports' },
      object.enum('capture_port_bits').labels('CAPTURE_PORT_'));

    if (config.pcapng) {
      const p = config.pcapng;
      this.writer = new PcapngWriter({
        path: p.path,
        interfaces: interfaces.map((name) => ({ name, linkType: LINKTYPE_ETHERNET, snaplen: config.snaplen })),
        application: `netprobe ${VERSION}`,
        rotateBytes: p.rotate_bytes,
        rotateMs: parseDuration(p.rotate_interval),
        maxFiles: p.max_files,
        maxQueueBytes: p.max_queue_bytes,
        onError: (err) => {
          log.error(err.message);
          host.finished(`pcap-ng output failed: ${err.message}`);
        },
      });
    }
    this.clockTimer = setInterval(() => {
      this.clockOffset = splitNs(wallClockOffsetNs());
    }, CLOCK_RESYNC_MS);
    this.clockTimer.unref();

    // The ring is consumed before the programs are attached: nothing they capture waits unread.
    this.ring = host.consumeRingBufferInPlace(object, 'capture_events', (ring, words, offset, length) => this.handleInPlace(ring, words, offset, length));
    this.warmRing();
    for (const name of interfaces) {
      if (config.directions.includes('ingress')) host.attachTc(object, 'capture_ingress', name, 'ingress');
      if (config.directions.includes('egress')) host.attachTc(object, 'capture_egress', name, 'egress');
    }
    log.info('capturing', {
      interfaces: interfaces.join(','), directions: config.directions.join(','), snaplen: config.snaplen,
      output: this.writer ? this.writer.target : 'none',
    });
  }

  /**
   * Has the kernel write every page of the ring once, before anything is attached (see
   * capture_warm_ring in the C), then consumes those discarded records: in two halves,
   * as a full ring refuses the last one.
   */
  private warmRing(): void {
    const pages = Math.floor(this.config.ring_buffer_bytes / PAGE_BYTES);
    const frame = Buffer.alloc(64); // any frame: the program does not read it
    for (let done = 0; done < pages;) {
      const n = Math.max(1, Math.min(pages >>> 1, pages - done));
      this.object.testRun('capture_warm_ring', frame, n);
      this.ring!.drain();
      done += n;
    }
  }

  /**
   * One ring-buffer record, in place: `ring[offset, offset + length)`, `words` a 32-bit
   * view of the ring. The hot path of a capture: header fields are read as words and the
   * frame's bytes copied straight into the pcap-ng writer's chunk; nothing is allocated.
   * Frames with an offloaded VLAN tag to put back, and log records, take the slow path.
   */
  handleInPlace(ring: Buffer, words: Uint32Array, offset: number, length: number): void {
    if (this.stopped) {
      this.dropped.after_stop++;
      return;
    }
    const d = this.decoder;
    const at = d.at;
    const captured = length >= d.headerSize ? words[(offset + at.captured) >>> 2]! : -1;
    if (captured < 0 || d.headerSize + captured > length) {
      this.badRecords++;
      return;
    }
    if (this.config.max_packets > 0 && this.received >= this.config.max_packets) {
      this.dropped.after_count++;
      return;
    }
    this.received++;
    const vlanProto = ring[offset + at.vlan_proto]! | ring[offset + at.vlan_proto + 1]!;
    if (vlanProto !== 0 || this.config.log_records.enabled) {
      this.handleSlow(ring.subarray(offset, offset + length));
    } else if (this.writer) {
      const ifindex = words[(offset + at.ifindex) >>> 2]!;
      if (ifindex !== this.lastIfindex) {
        this.lastIfindex = ifindex;
        this.lastInterfaceId = this.interfaceIds.get(ifindex)?.id ?? 0;
      }
      let low = words[(offset + at.timestamp) >>> 2]! + this.clockOffset.timestampLow;
      let high = words[(offset + at.timestamp + 4) >>> 2]! + this.clockOffset.timestampHigh;
      if (low >= 0x1_0000_0000) {
        low -= 0x1_0000_0000;
        high++;
      }
      this.writer.writePacket(this.lastInterfaceId, high, low, words[(offset + at.len) >>> 2]!, ring[offset + at.direction] === d.egress,
        ring, offset + d.headerSize, captured < this.config.snaplen ? captured : this.config.snaplen, words);
    }
    if (this.config.max_packets > 0 && this.received === this.config.max_packets) this.host.finished(`captured ${this.received} packets`);
  }

  /** A record whose frame must be decoded (a VLAN tag to re-insert, a log record to build). */
  private handleSlow(record: Buffer): void {
    const frame = this.decoder.decode(record)!;
    if (frame.data.length > this.config.snaplen) frame.data = frame.data.subarray(0, this.config.snaplen); // a re-inserted VLAN tag
    const iface = this.interfaceIds.get(frame.ifindex);
    let low = frame.monotonicLow + this.clockOffset.timestampLow;
    let high = frame.monotonicHigh + this.clockOffset.timestampHigh;
    if (low >= 0x1_0000_0000) {
      low -= 0x1_0000_0000;
      high++;
    }
    this.writer?.writePacket(iface?.id ?? 0, high, low, frame.originalLength, frame.direction === 'outbound', frame.data, 0, frame.data.length);
    if (this.config.log_records.enabled) this.emitRecord(frame, iface?.name ?? String(frame.ifindex));
  }

  private emitRecord(frame: CapturedFrame, ifname: string): void {
    const now = Date.now();
    if (now - this.logWindow.start >= 1000) this.logWindow = { start: now, emitted: 0 };
    if (this.logWindow.emitted >= this.config.log_records.max_per_second) {
      this.logRecordsDropped++;
      return;
    }
    this.logWindow.emitted++;
    const a = frameAttributes(frame.data);
    const end = (address: unknown, port: unknown) => (port === undefined ? String(address ?? '?') : `${String(address)}:${String(port)}`);
    const body = a['network.type']
      ? `${ifname} ${frame.direction === 'inbound' ? 'in' : 'out'} ${a['network.transport']} ${end(a['source.address'], a['source.port'])} -> ${end(a['destination.address'], a['destination.port'])}, ${frame.originalLength} B`
      : `${ifname} ${frame.direction === 'inbound' ? 'in' : 'out'} ethertype 0x${Number(a['netprobe.capture.ether_type']).toString(16).padStart(4, '0')}, ${frame.originalLength} B`;
    this.host.emitEvent(PACKET_EVENT, {
      'network.interface.name': ifname,
      'network.io.direction': frame.direction === 'inbound' ? 'receive' : 'transmit',
      ...a,
      'netprobe.capture.length': frame.originalLength,
      'netprobe.capture.captured_length': frame.data.length,
    }, body);
  }

  /** Kernel counts by outcome, summed over CPUs. */
  outcomeCounts(): Map<string, { packets: number; bytes: number }> {
    const out = new Map<string, { packets: number; bytes: number }>();
    for (const name of this.outcomes.names) out.set(name, { packets: 0, bytes: 0 });
    for (const { key, value } of this.counts.readDecoded()) {
      const code = key.readUInt32LE(0);
      if (this.outcomes.has(code)) out.set(this.outcomes.name(code), { packets: value.packets as number, bytes: value.bytes as number });
    }
    return out;
  }

  collect(sink: MetricSink): void {
    for (const [outcome, c] of this.outcomeCounts()) {
      sink.record('netprobe.capture.packet.count', { 'netprobe.capture.outcome': outcome }, c.packets);
      sink.record('netprobe.capture.io', { 'netprobe.capture.outcome': outcome }, c.bytes);
    }
    sink.record('netprobe.capture.written', {}, this.writer?.written ?? 0);
    for (const [reason, n] of Object.entries(this.droppedAfterKernel())) sink.record('netprobe.capture.dropped', { 'error.type': reason }, n);
    sink.record('netprobe.capture.log_records.dropped', {}, this.logRecordsDropped);
  }

  droppedAfterKernel(): Record<string, number> {
    return { ...(this.writer?.dropped ?? { queue_full: 0, write_failed: 0 }), ...this.dropped };
  }

  /** Reads what the ring still holds, writes it out and closes the output; logs a summary like tcpdump's. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    clearInterval(this.clockTimer);
    try {
      this.ring?.drain();
    } catch (err) {
      this.log.error('reading the last captured packets failed', { error: err });
    }
    this.stopped = true;
    await this.writer?.close();
    // Like tcpdump's last words: what was captured and written, then every non-zero reason a packet was not.
    const outcomes = this.outcomeCounts();
    const notCaptured = [...outcomes].filter(([o, c]) => o !== 'captured' && c.packets > 0).map(([o, c]) => [o, c.packets]);
    const lost = Object.entries(this.droppedAfterKernel()).filter(([, n]) => n > 0);
    this.log.info('capture finished', {
      captured: outcomes.get('captured')?.packets ?? 0,
      written: this.writer?.written ?? 0,
      ...Object.fromEntries([...notCaptured, ...lost]),
      files: this.writer && this.config.pcapng?.path !== '-' ? this.writer.files.slice(-this.config.pcapng!.max_files).join(',') : undefined,
    });
  }
}

function arphrdType(ifname: string): number | undefined {
  try {
    return Number(fs.readFileSync(`/sys/class/net/${ifname}/type`, 'utf8').trim());
  } catch {
    return undefined;
  }
}
