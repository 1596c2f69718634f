/**
 * The ring buffer's close records (struct conntrack_close_event in conntrack.h),
 * decoded with the layout and enum names from the object's BTF, and turned into
 * log-record attributes.
 */
import os from 'node:os';
import { NetprobeError, decodeProcess, PROCESS_ATTRIBUTES, type Attributes, type Decoded, type EnumLabels, type ProbeObject, type SocketProcess, type StructLayout } from '../../core/plugin';
import { decodeAddress, type Address } from './address';

export interface ClosedConnection {
  role: string;
  /** normal, reset, timeout, refused, connect_failed */
  reason: string;
  /** The state it left for CLOSE, as a network.connection.state value. */
  lastState: string;
  /** false: a connect() that never reached ESTABLISHED. */
  established: boolean;
  preexisting: boolean;
  local: Address;
  localPort: number;
  peer: Address;
  peerPort: number;
  /** Seconds from connect() or accept (from pick-up for pre-existing connections) to close. */
  durationS: number;
  /** The same in whole nanoseconds, for attributes (an integer whatever the value, so one type). */
  durationNs: number;
  bytesSent: number;
  bytesReceived: number;
  segmentsSent: number;
  segmentsReceived: number;
  retransmits: number;
  /** Smoothed RTT at close, seconds; 0 when never measured. */
  rttS: number;
  /** The same in whole nanoseconds. */
  rttNs: number;
  /** errno name of the socket's error at close, e.g. ECONNREFUSED; '' if none. */
  error: string;
  /** The process behind the socket (client: it connected; server: it created the listener), when known. */
  process?: SocketProcess;
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

export class CloseEventDecoder {
  private readonly layout: StructLayout;
  readonly roles: EnumLabels;
  readonly reasons: EnumLabels;
  readonly states: EnumLabels;

  /** Record layout and enum names from the object's BTF (conntrack.h): `CONNTRACK_TCP_FIN_WAIT_1` becomes `fin_wait_1`. */
  constructor(object: Pick<ProbeObject, 'layout' | 'enum'>) {
    this.layout = object.layout('conntrack_close_event');
    this.roles = object.enum('conntrack_role').labels('CONNTRACK_ROLE_');
    this.reasons = object.enum('conntrack_close_reason').labels('CONNTRACK_CLOSE_');
    this.states = object.enum('conntrack_tcp_state').labels('CONNTRACK_TCP_');
  }

  get size(): number {
    return this.layout.size;
  }

  decode(record: Buffer): ClosedConnection {
    if (record.length < this.layout.size) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `close record is ${record.length} bytes, expected ${this.layout.size}`);
    const e = this.layout.decode(record);
    const conn = e.conn as Decoded;
    const num = (d: Decoded, f: string) => d[f] as number;
    const start = num(conn, 'start_ns');
    const end = num(e, 'end_ns');
    return {
      role: this.roles.name(num(conn, 'role')),
      reason: this.reasons.name(num(e, 'reason')),
      lastState: this.states.name(num(e, 'last_state')),
      established: num(conn, 'established') === 1,
      preexisting: num(conn, 'preexisting') === 1,
      local: decodeAddress(conn.local_addr as Buffer),
      localPort: num(conn, 'local_port'),
      peer: decodeAddress(conn.peer_addr as Buffer),
      peerPort: num(conn, 'peer_port'),
      durationS: end > start ? (end - start) / 1e9 : 0,
      durationNs: end > start ? end - start : 0,
      bytesSent: num(e, 'bytes_sent'),
      bytesReceived: num(e, 'bytes_received'),
      segmentsSent: num(e, 'segs_out'),
      segmentsReceived: num(e, 'segs_in'),
      retransmits: num(e, 'total_retrans'),
      rttS: num(e, 'srtt_us') / 1e6,
      rttNs: num(e, 'srtt_us') * 1000,
      error: num(e, 'sk_err') ? (ERRNO_NAMES.get(num(e, 'sk_err')) ?? `errno ${num(e, 'sk_err')}`) : '',
      process: decodeProcess(conn.process as Decoded),
    };
  }
}

/**
 * Endpoints by role: client.* and server.* say who opened the connection, which
 * source/destination (per packet) cannot. A pre-existing connection's role is
 * unknown, so it gets network.local.* and network.peer.* instead.
 */
export function endpointAttributes(c: Pick<ClosedConnection, 'role' | 'local' | 'localPort' | 'peer' | 'peerPort'>): Attributes {
  if (c.role === 'client') {
    return { 'client.address': c.local.text, 'client.port': c.localPort, 'server.address': c.peer.text, 'server.port': c.peerPort };
  }
  if (c.role === 'server') {
    return { 'client.address': c.peer.text, 'client.port': c.peerPort, 'server.address': c.local.text, 'server.port': c.localPort };
  }
  return { 'network.local.address': c.local.text, 'network.local.port': c.localPort, 'network.peer.address': c.peer.text, 'network.peer.port': c.peerPort };
}

export const ENDPOINT_ATTRIBUTES = [
  'client.address', 'client.port', 'server.address', 'server.port',
  'network.local.address', 'network.local.port', 'network.peer.address', 'network.peer.port',
] as const;

/** A closed connection, like one line of tcplife. */
export function closedAttributes(c: ClosedConnection): Attributes {
  return {
    'network.transport': 'tcp',
    'network.type': c.local.type,
    ...endpointAttributes(c),
    'netprobe.connection.role': c.role,
    'netprobe.connection.close_reason': c.reason,
    'netprobe.connection.last_state': c.lastState,
    'netprobe.connection.preexisting': c.preexisting,
    'netprobe.connection.duration': c.durationNs,
    'netprobe.connection.bytes_sent': c.bytesSent,
    'netprobe.connection.bytes_received': c.bytesReceived,
    'netprobe.connection.segments_sent': c.segmentsSent,
    'netprobe.connection.segments_received': c.segmentsReceived,
    'netprobe.connection.retransmits': c.retransmits,
    'netprobe.connection.rtt': c.rttNs,
    ...(c.error ? { 'error.type': c.error } : {}),
  };
}

/** The DNS name the peer's address was resolved from (published by dns), when one is remembered. */
export function withPeerName(attributes: Attributes, peerName: string | undefined): Attributes {
  if (peerName !== undefined) attributes['netprobe.peer.name'] = peerName;
  return attributes;
}

export const CLOSED_ATTRIBUTES = [
  'network.transport', 'network.type', ...ENDPOINT_ATTRIBUTES,
  'netprobe.connection.role', 'netprobe.connection.close_reason', 'netprobe.connection.last_state',
  'netprobe.connection.preexisting', 'netprobe.connection.duration',
  'netprobe.connection.bytes_sent', 'netprobe.connection.bytes_received',
  'netprobe.connection.segments_sent', 'netprobe.connection.segments_received',
  'netprobe.connection.retransmits', 'netprobe.connection.rtt', 'error.type', 'netprobe.peer.name', ...PROCESS_ATTRIBUTES,
] as const;

/** A connect() that failed: who tried to reach whom, why, and after how long and how many SYNs. */
export function failedAttributes(c: ClosedConnection): Attributes {
  return {
    'network.transport': 'tcp',
    'network.type': c.local.type,
    ...endpointAttributes({ ...c, role: 'client' }), // a socket in SYN_SENT is a client
    'netprobe.connection.close_reason': c.reason,
    'netprobe.connection.duration': c.durationNs,
    'netprobe.connection.retransmits': c.retransmits,
    ...(c.error ? { 'error.type': c.error } : {}),
  };
}

const endpoint = (address: Address, port: number) => (address.type === 'ipv6' ? `[${address.text}]:${port}` : `${address.text}:${port}`);
const seconds = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;

/** One line for a log viewer: `tcp client 10.0.0.1:40000 > 10.0.0.2:80 closed (normal) after 1.234 s: sent 100 B, received 2000 B, rtt 0.120 ms` */
export function closedSummary(c: ClosedConnection): string {
  const who = c.preexisting ? 'connection' : c.role;
  const [from, to] = c.role === 'server' ? [endpoint(c.peer, c.peerPort), endpoint(c.local, c.localPort)] : [endpoint(c.local, c.localPort), endpoint(c.peer, c.peerPort)];
  let line = `tcp ${who} ${from} > ${to} closed (${c.reason}${c.error ? `, ${c.error}` : ''}) after ${seconds(c.durationNs)}: sent ${c.bytesSent} B, received ${c.bytesReceived} B`;
  if (c.retransmits) line += `, ${c.retransmits} retransmit${c.retransmits === 1 ? '' : 's'}`;
  if (c.rttNs) line += `, rtt ${(c.rttNs / 1e6).toFixed(3)} ms`;
  return line;
}

/** `tcp connect 10.0.0.1:40000 > 10.0.0.2:81 failed (refused, ECONNREFUSED) after 0.001 s` */
export function failedSummary(c: ClosedConnection): string {
  let line = `tcp connect ${endpoint(c.local, c.localPort)} > ${endpoint(c.peer, c.peerPort)} failed (${c.reason}${c.error ? `, ${c.error}` : ''}) after ${seconds(c.durationNs)}`;
  if (c.retransmits) line += `, ${c.retransmits} SYN retransmit${c.retransmits === 1 ? '' : 's'}`;
  return line;
}

export const FAILED_ATTRIBUTES = [
  'network.transport', 'network.type', 'client.address', 'client.port', 'server.address', 'server.port',
  'netprobe.connection.close_reason', 'netprobe.connection.duration', 'netprobe.connection.retransmits', 'error.type', 'netprobe.peer.name', ...PROCESS_ATTRIBUTES,
] as const;
