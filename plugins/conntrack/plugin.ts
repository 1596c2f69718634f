/**
 * conntrack: the life of every TCP connection in a cgroup, from a sock_ops
 * program: open connections by state, connections opened and closed (by role
 * and close reason), failed connects, retransmits, duration and RTT histograms,
 * and one log record per closed connection or failed connect, like tcplife.
 */
import fs from 'node:fs';
import path from 'node:path';
import schema from './config.schema.json';
import {
  BpfLoadError, NetprobeError, withProcess, type Attributes, type ConfigIssue, type EnumLabels, type MetricSink, type ProbeMap, type ProbeObject, type ProbePlugin,
} from '../../core/plugin';
import { cgroupDirectory } from '../../core/net/cgroup';
import { CloseEventDecoder, CLOSED_ATTRIBUTES, ENDPOINT_ATTRIBUTES, FAILED_ATTRIBUTES, closedAttributes, closedSummary, endpointAttributes, failedAttributes, failedSummary, withPeerName } from './close-event';
import { ConnectionTable } from './table';
import { HistogramSet } from './histogram';

export interface ConntrackConfig {
  cgroup: string;
  max_connections: number;
  ring_buffer_size: number;
  rtt_callbacks: boolean;
  preexisting: boolean;
  process_identity: boolean;
  duration_buckets: number[];
  rtt_buckets: number[];
}

export const CLOSED_EVENT = 'netprobe.tcp.connection.closed';
export const FAILED_EVENT = 'netprobe.tcp.connect.failed';

const ROLE = 'netprobe.connection.role';
const REASON = 'netprobe.connection.close_reason';
const TRANSPORT = 'network.transport';
/** Live connections reported per collection in netprobe.tcp.connection.retransmits: the busiest only, so series stay few. */
export const TOP_RETRANSMITTING_CONNECTIONS = 10;


/** Depth below the root: `/` is 0, `/a/b` is 2. */
export function cgroupLevel(cgroup: string): number {
  return path.posix.normalize(cgroup).split('/').filter(Boolean).length;
}

function ascending(values: number[], key: string): ConfigIssue[] {
  return values.flatMap((b, i) => (i > 0 && b <= values[i - 1]!
    ? [{ path: [key, `[${i}]`], message: `must be greater than the previous boundary (${values[i - 1]})` }]
    : []));
}

export const conntrack: ProbePlugin<ConntrackConfig> = {
  type: 'conntrack',
  description: 'The life of every TCP connection in a cgroup (sock_ops): open connections by state, opens, closes with reason, duration, RTT, retransmits, and a log record per closed connection.',
  directory: __dirname,
  attaches: 'sock_ops on a cgroup v2 (default: the root) through a multi-attach cgroup link; an iter/tcp program runs once at start',
  object: 'conntrack.bpf.o',
  reads: { maps: ['conntrack_table', 'conntrack_stats', 'conntrack_adopted'], ringBuffers: ['conntrack_events'] },
  configSchema: schema,
  metrics: [
    { name: 'system.network.connection.count', description: 'Open TCP connections tracked, by state.', unit: '{connection}', kind: 'updowncounter', attributes: ['network.connection.state', TRANSPORT, 'network.type'] },
    { name: 'netprobe.tcp.connection.opened', description: 'Connections that reached ESTABLISHED.', unit: '{connection}', kind: 'counter', attributes: [TRANSPORT, ROLE] },
    { name: 'netprobe.tcp.connection.closed', description: 'Open connections that closed, by close reason.', unit: '{connection}', kind: 'counter', attributes: [TRANSPORT, ROLE, REASON] },
    { name: 'netprobe.tcp.connect.failed', description: 'connect() attempts that never reached ESTABLISHED.', unit: '{connection}', kind: 'counter', attributes: [TRANSPORT, REASON] },
    { name: 'netprobe.tcp.connection.preexisting', description: 'Connections open before the probe started, picked up when they next acted.', unit: '{connection}', kind: 'counter', attributes: [TRANSPORT] },
    { name: 'netprobe.tcp.retransmits', description: 'Segments retransmitted on tracked connections.', unit: '{segment}', kind: 'counter', attributes: [TRANSPORT, ROLE] },
    { name: 'netprobe.tcp.connection.retransmits', description: `Segments retransmitted so far by each open connection, for the ${TOP_RETRANSMITTING_CONNECTIONS} open connections with the most (none without retransmits).`, unit: '{segment}', kind: 'gauge', attributes: [TRANSPORT, 'network.type', ...ENDPOINT_ATTRIBUTES, ROLE, 'netprobe.peer.name'] },
    { name: 'netprobe.tcp.connection.duration', description: 'Duration of closed connections (from connect() or accept to close).', unit: 's', kind: 'histogram', valueType: 'double', attributes: [TRANSPORT, ROLE, REASON] },
    { name: 'netprobe.tcp.rtt', description: 'Smoothed round-trip time of closed connections, at close.', unit: 's', kind: 'histogram', valueType: 'double', attributes: [TRANSPORT, ROLE] },
    { name: 'netprobe.conntrack.table.insert_failed', description: 'Connections not tracked because the kernel table refused them.', unit: '{connection}', kind: 'counter', attributes: ['netprobe.conntrack.failure'] },
    { name: 'netprobe.conntrack.events.dropped', description: 'Close events lost because the ring buffer was full.', unit: '{event}', kind: 'counter', attributes: [] },
  ],
  logRecords: [
    { eventName: CLOSED_EVENT, description: 'A connection closed: endpoints, role, duration, bytes and segments each way, retransmits, RTT, close reason.', attributes: CLOSED_ATTRIBUTES },
    { eventName: FAILED_EVENT, description: 'A connect() that failed: endpoints, reason (refused, timeout, connect_failed), time until it failed, SYN retransmits.', attributes: FAILED_ATTRIBUTES },
  ],

  exampleConfig: ({ cgroup }) => ({ cgroup: cgroup ?? '/' }),

  validate(config): ConfigIssue[] {
    const issues = [...ascending(config.duration_buckets, 'duration_buckets'), ...ascending(config.rtt_buckets, 'rtt_buckets')];
    const size = config.ring_buffer_size;
    if ((size & (size - 1)) !== 0) issues.push({ path: ['ring_buffer_size'], message: 'must be a power of two' });
    return issues;
  },

  create({ config, host, log }) {
    let stats: ProbeMap;
    let table: ConnectionTable;
    let decoder: CloseEventDecoder;
    let roles: EnumLabels;
    let reasons: EnumLabels;
    const durations = new HistogramSet(config.duration_buckets);
    const rtts = new HistogramSet(config.rtt_buckets);
    let undecodable = 0;

    const onRecord = (record: Buffer) => {
      let c;
      try {
        c = decoder.decode(record);
      } catch (err) {
        if (undecodable++ === 0) log.error('undecodable close event', { error: err });
        return;
      }
      const peerName = host.facts.addressNames.lookup(c.peer.text);
      const cgroupPath = (id: number) => host.cgroupPath(id);
      if (!c.established) {
        host.emitEvent(FAILED_EVENT, withProcess(withPeerName(failedAttributes(c), peerName), c.process, cgroupPath), failedSummary(c));
        return;
      }
      host.emitEvent(CLOSED_EVENT, withProcess(withPeerName(closedAttributes(c), peerName), c.process, cgroupPath), closedSummary(c));
      const attrs = { [TRANSPORT]: 'tcp', [ROLE]: c.role };
      if (!c.preexisting) durations.record({ ...attrs, [REASON]: c.reason }, c.durationS);
      if (c.rttS > 0) rtts.record(attrs, c.rttS);
    };

    return {
      start() {
        const dir = cgroupDirectory(config.cgroup);
        if (!fs.existsSync(dir)) throw new NetprobeError('NETPROBE_ERR_ATTACH', `cgroup ${config.cgroup} not found (${dir})`);
        const configured = () => {
          const o = host.openObject();
          o.setMaxEntries('conntrack_table', config.max_connections);
          o.setMaxEntries('conntrack_events', config.ring_buffer_size);
          o.setKnob('want_rtt_callbacks', config.rtt_callbacks ? 1 : 0);
          // The iterator keeps to this cgroup: the kernel names a cgroup by its directory's inode number.
          o.setKnob('cgroup_id', Number(fs.statSync(dir, { bigint: true }).ino));
          o.setKnob('cgroup_level', cgroupLevel(config.cgroup));
          return o;
        };
        const first = configured();
        let object: ProbeObject;
        let adopting = config.preexisting;
        try {
          object = first.load();
        } catch (err) {
          // Kernels before 5.15 refuse socket options from an iterator: run without the start-up pass.
          if (!(err instanceof BpfLoadError) || err.program !== 'conntrack_adopt') throw err;
          first.close();
          const again = configured();
          again.skipProgram('conntrack_adopt');
          object = again.load();
          if (adopting) log.warn('the kernel cannot give pre-existing connections callbacks (needs Linux 6.11+); they are not tracked');
          adopting = false;
        }
        decoder = new CloseEventDecoder(object);
        ({ roles, reasons } = decoder);
        stats = object.map('conntrack_stats'); // value: struct conntrack_stats, from the map's BTF
        table = new ConnectionTable(object.map('conntrack_table'), decoder);
        host.consumeRingBuffer(object, 'conntrack_events', onRecord);
        if (config.process_identity) {
          // Before sock_ops: a connection that starts in between would miss its process.
          host.attachCgroup(object, 'conntrack_sock_create', dir, 'sock_create');
          host.attachCgroup(object, 'conntrack_connect4', dir, 'connect4');
          host.attachCgroup(object, 'conntrack_connect6', dir, 'connect6');
        }
        host.attachCgroup(object, 'conntrack_sock_ops', dir, 'sock_ops');
        // After attaching, so that no connection falls between the two.
        if (adopting) {
          host.runIterator(object, 'conntrack_adopt');
          const { given, refused, unknown_cgroup: unknownCgroup } = adoptedCounts(object);
          log.info('pre-existing connections given callbacks', { connections: given });
          if (refused > 0) log.warn('the kernel refused callbacks for pre-existing connections (needs Linux 6.11+); they are not tracked', { connections: refused });
          if (unknownCgroup > 0) log.warn('the kernel cannot tell which cgroup a pre-existing connection belongs to (needs Linux 6.2+); they are not tracked unless the root cgroup is watched', { connections: unknownCgroup });
        }
      },

      async collect(sink: MetricSink) {
        const scan = await table.scan(TOP_RETRANSMITTING_CONNECTIONS);
        for (const open of scan.open) {
          sink.record('system.network.connection.count', { 'network.connection.state': open.state, [TRANSPORT]: 'tcp', 'network.type': open.type }, open.count);
        }
        for (const c of scan.retransmitting) {
          const attrs = { [TRANSPORT]: 'tcp', 'network.type': c.local.type, ...endpointAttributes(c), [ROLE]: c.role };
          sink.record('netprobe.tcp.connection.retransmits', withPeerName(attrs, host.facts.addressNames.lookup(c.peer.text)), c.retransmits);
        }
        const s = stats.readDecoded()[0]!.value;
        const opened = s.opened as number[];
        const closed = s.closed as number[];
        const failed = s.failed as number[];
        const retransmits = s.retransmits as number[];
        // closed[] is [role][reason] flattened; its row length is the number of reasons.
        const reasonCount = closed.length / opened.length;
        for (const role of roles.names) {
          const r = roles.value(role);
          const attrs: Attributes = { [TRANSPORT]: 'tcp', [ROLE]: role };
          if (role !== 'unknown') sink.record('netprobe.tcp.connection.opened', attrs, opened[r]!);
          sink.record('netprobe.tcp.retransmits', attrs, retransmits[r]!);
          for (const reason of reasons.names) {
            sink.record('netprobe.tcp.connection.closed', { ...attrs, [REASON]: reason }, closed[r * reasonCount + reasons.value(reason)]!);
          }
        }
        for (const reason of ['refused', 'timeout', 'connect_failed']) {
          sink.record('netprobe.tcp.connect.failed', { [TRANSPORT]: 'tcp', [REASON]: reason }, failed[reasons.value(reason)]!);
        }
        sink.record('netprobe.tcp.connection.preexisting', { [TRANSPORT]: 'tcp' }, s.preexisting as number);
        sink.record('netprobe.conntrack.table.insert_failed', { 'netprobe.conntrack.failure': 'table_full' }, s.table_full as number);
        sink.record('netprobe.conntrack.table.insert_failed', { 'netprobe.conntrack.failure': 'other' }, s.insert_failed as number);
        sink.record('netprobe.conntrack.events.dropped', {}, s.events_dropped as number);
        for (const { attributes, value } of durations.entries()) sink.record('netprobe.tcp.connection.duration', attributes, value);
        for (const { attributes, value } of rtts.entries()) sink.record('netprobe.tcp.rtt', attributes, value);
      },
    };
  },
};

/** What the start-up iterator did, by enum conntrack_adopt_outcome (given, refused, unknown_cgroup). */
function adoptedCounts(object: ProbeObject): Record<string, number> {
  const map = object.map('conntrack_adopted');
  const outcomes = object.enum('conntrack_adopt_outcome').labels('CONNTRACK_ADOPT_', ['CONNTRACK_ADOPT_MAX']);
  if (map.valueSize !== 8) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `map conntrack_adopted: value is ${map.valueSize} bytes, expected a __u64 count`);
  const { count, keys, values } = map.readAll();
  const out: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const code = keys.readUInt32LE(i * map.keySize);
    if (outcomes.has(code)) out[outcomes.name(code)] = Number(values.readBigUInt64LE(i * map.entryValueBytes));
  }
  return out;
}
