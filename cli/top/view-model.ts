/**
 * `netprobe top`'s view model: a NetworkSummary and the view state (which panel,
 * which sort, paused) become blocks of text, tables and lines, without knowing the
 * terminal. Pure; the renderer fits the blocks into the screen.
 */
import type { DropReasonRow, FlowRow, NetworkSummary, PortRow } from '../../core/summary/network-summary';
import { dnsLine, tcpLine } from '../../core/summary/text';
import { bitRate, duration, endpoint, perSecond, shortNumber } from '../../core/summary/units';

export const PANELS = ['overview', 'flows', 'ports', 'dns', 'tcp', 'kernel'] as const;
export type PanelId = (typeof PANELS)[number];
export const SORTS = ['total', 'tx', 'rx', 'packets'] as const;
export type SortKey = (typeof SORTS)[number];

export interface ViewState {
  panel: PanelId;
  sort: SortKey;
  paused: boolean;
}

export const INITIAL_STATE: ViewState = { panel: 'overview', sort: 'total', paused: false };

export interface Column {
  header: string;
  align: 'left' | 'right';
  /** Fixed width in characters; the one `flex` column takes what is left. */
  width: number;
  flex?: boolean;
  /** The flex column grows at most to this width (the rest stays blank at the right). */
  maxWidth?: number;
  /** Shown only on terminals at least this wide. */
  minScreenWidth?: number;
}

export interface TableBlock {
  kind: 'table';
  id: string;
  columns: Column[];
  rows: string[][];
  /** At most this many rows (overview); undefined: as many as fit. */
  maxRows?: number;
  /** This table takes the rows left over once the others are placed. */
  grow?: boolean;
  empty: string;
}

export interface TextBlock {
  kind: 'text';
  lines: string[];
}

export type Block = TableBlock | TextBlock;

export interface Screen {
  title: string;
  blocks: Block[];
  footer: string;
}

export interface ScreenContext {
  /** What runs, e.g. `xdp_counter, flow_stats, dns, conntrack on eth0`. */
  running: string;
  /** A problem to show at the bottom (the last warning or error logged). */
  message?: string;
  /** What happens before the first summary. */
  waiting?: string;
}

const SORT_LABEL: Record<SortKey, string> = { total: 'tx+rx b/s', tx: 'tx b/s', rx: 'rx b/s', packets: 'packets/s' };

export function sortFlows(flows: readonly FlowRow[], sort: SortKey): FlowRow[] {
  const key: Record<SortKey, (f: FlowRow) => number> = {
    total: (f) => f.txBitsPerS + f.rxBitsPerS,
    tx: (f) => f.txBitsPerS,
    rx: (f) => f.rxBitsPerS,
    packets: (f) => f.txPacketsPerS + f.rxPacketsPerS,
  };
  return [...flows].sort((a, b) => key[sort](b) - key[sort](a));
}

function sortPorts(ports: readonly PortRow[], sort: SortKey): PortRow[] {
  return [...ports].sort((a, b) => (sort === 'packets' ? b.packetsPerS - a.packetsPerS : b.bitsPerS - a.bitsPerS));
}

/** Address first: a narrow column cuts the name, never the port. */
function peerLabel(f: FlowRow): string {
  const peer = endpoint(f.peerAddress, f.peerPort);
  return f.peerName ? `${peer} ${f.peerName}` : peer;
}

function interfacesTable(s: NetworkSummary, maxRows?: number): TableBlock {
  return {
    kind: 'table', id: 'interfaces', maxRows, empty: 'no interface counters yet',
    columns: [
      { header: 'INTERFACE', align: 'left', width: 12, flex: true, maxWidth: 16 },
      { header: 'RX b/s', align: 'right', width: 10 },
      { header: 'RX pkt/s', align: 'right', width: 10 },
      { header: 'TX b/s', align: 'right', width: 10 },
      { header: 'TX pkt/s', align: 'right', width: 10 },
      { header: 'DROP/s', align: 'right', width: 8 },
    ],
    rows: s.interfaces.map((i) => [
      i.name, bitRate(i.rxBitsPerS), perSecond(i.rxPacketsPerS),
      i.hasTransmit ? bitRate(i.txBitsPerS) : '-', i.hasTransmit ? perSecond(i.txPacketsPerS) : '-',
      i.dropsPerS === undefined ? '-' : shortNumber(i.dropsPerS),
    ]),
  };
}

function flowsTable(s: NetworkSummary, sort: SortKey, grow: boolean): TableBlock {
  return {
    kind: 'table', id: 'flows', grow, empty: 'no flows in the last interval (flow_stats sees them)',
    columns: [
      { header: 'PROTO', align: 'left', width: 6 },
      { header: 'IFACE', align: 'left', width: 11, minScreenWidth: 120 },
      { header: 'LOCAL', align: 'left', width: 22 },
      { header: 'PEER', align: 'left', width: 20, flex: true },
      { header: 'TX b/s', align: 'right', width: 10 },
      { header: 'RX b/s', align: 'right', width: 10 },
      { header: 'TX pkt/s', align: 'right', width: 10, minScreenWidth: 120 },
      { header: 'RX pkt/s', align: 'right', width: 10, minScreenWidth: 120 },
    ],
    rows: sortFlows(s.flows, sort).map((f) => [
      f.transport, f.interface, endpoint(f.localAddress, f.localPort), peerLabel(f),
      bitRate(f.txBitsPerS), bitRate(f.rxBitsPerS), perSecond(f.txPacketsPerS), perSecond(f.rxPacketsPerS),
    ]),
  };
}

function portsTable(s: NetworkSummary, sort: SortKey, maxRows?: number): TableBlock {
  return {
    kind: 'table', id: 'ports', maxRows, grow: maxRows === undefined, empty: 'no local port traffic in the last interval',
    columns: [
      { header: 'PROTO', align: 'left', width: 6 },
      { header: 'LOCAL PORT', align: 'left', width: 12, flex: true, maxWidth: 12 },
      { header: 'b/s', align: 'right', width: 10 },
      { header: 'pkt/s', align: 'right', width: 10 },
      { header: 'new conn/s', align: 'right', width: 11 },
    ],
    rows: sortPorts(s.ports, sort).map((p) => [p.transport, String(p.port), bitRate(p.bitsPerS), perSecond(p.packetsPerS), p.transport === 'tcp' ? perSecond(p.connectionsPerS) : '-']),
  };
}

function dnsBlocks(s: NetworkSummary): Block[] {
  if (!s.dns) return [{ kind: 'text', lines: ['dns: not running (add the dns probe)'] }];
  const d = s.dns;
  return [
    { kind: 'text', lines: [dnsLine(d)] },
    {
      kind: 'table', id: 'dns-slowest', empty: 'no DNS exchange in the last minute',
      columns: [{ header: 'SLOWEST NAME (last minute)', align: 'left', width: 30, flex: true, maxWidth: 64 }, { header: 'LATENCY', align: 'right', width: 10 }],
      rows: d.slowest.map((x) => [x.name, duration(x.durationS)]),
    },
    {
      kind: 'table', id: 'dns-failing', grow: true, empty: 'no failing name in the last minute',
      columns: [{ header: 'FAILING NAME (last minute)', align: 'left', width: 30, flex: true, maxWidth: 64 }, { header: 'REASON', align: 'left', width: 10 }, { header: 'COUNT', align: 'right', width: 7 }],
      rows: d.failing.map((x) => [x.name, x.reason, String(x.count)]),
    },
  ];
}

function tcpBlocks(s: NetworkSummary): Block[] {
  if (!s.tcp) return [{ kind: 'text', lines: ['tcp: not running (add the conntrack probe)'] }];
  return [
    { kind: 'text', lines: [tcpLine(s.tcp)] },
    {
      kind: 'table', id: 'tcp-retransmits', grow: true, empty: 'no retransmissions in open connections or ones closed in the last minute',
      columns: [{ header: 'PEER (open or closed, 1 min)', align: 'left', width: 30, flex: true, maxWidth: 48 }, { header: 'RETRANS', align: 'right', width: 9 }, { header: 'CONNS', align: 'right', width: 7 }],
      rows: s.tcp.topRetransmitters.map((r) => [r.peer, String(r.retransmits), String(r.connections)]),
    },
  ];
}

function dropReasonsTable(drops: readonly DropReasonRow[]): TableBlock {
  return {
    kind: 'table', id: 'drop-reasons', maxRows: 6, empty: 'no packet dropped by the kernel in the last interval',
    columns: [
      { header: 'DROP REASON (kernel)', align: 'left', width: 24, flex: true, maxWidth: 40 },
      { header: 'INTERFACE', align: 'left', width: 12 },
      { header: 'DIRECTION', align: 'left', width: 9 },
      { header: 'pkt/s', align: 'right', width: 9 },
    ],
    rows: drops.map((d) => [d.reason, d.interface, d.direction ?? '-', perSecond(d.packetsPerS)]),
  };
}

/** One line: all kernel drops and the top reasons (the drops probe). */
export function dropsLine(drops: readonly DropReasonRow[]): string {
  const total = drops.reduce((n, d) => n + d.packetsPerS, 0);
  const byReason = new Map<string, number>();
  for (const d of drops) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + d.packetsPerS);
  const top = [...byReason].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([r, n]) => `${r} ${perSecond(n)}`);
  return `drops: ${perSecond(total)}${top.length ? ` (${top.join(', ')})` : ''}`;
}

function kernelBlocks(s: NetworkSummary): Block[] {
  const k = s.kernel;
  if (!k) return [{ kind: 'text', lines: ['kernel cost: not read'] }];
  const cpu = k.programs.reduce((n, p) => n + p.cpuShare, 0);
  const head = k.statsOn
    ? `kernel cost: ${percent(cpu)} of one CPU in all, ${k.programs.length} programs`
    : 'kernel cost: BPF run-time statistics are off (start top with --kernel-stats, or set kernel.bpf_stats_enabled=1): no figures';
  return [
    { kind: 'text', lines: [head] },
    {
      kind: 'table', id: 'kernel-cost', grow: true, empty: 'no probe program loaded',
      columns: [
        { header: 'PROBE', align: 'left', width: 14 },
        { header: 'PROGRAM', align: 'left', width: 16, flex: true, maxWidth: 24 },
        { header: 'runs/s', align: 'right', width: 9 },
        { header: 'ns/run', align: 'right', width: 8 },
        { header: 'CPU', align: 'right', width: 7 },
      ],
      rows: k.programs.map((p) => [p.probe, p.program, perSecond(p.runsPerS), p.nsPerRun === undefined ? '-' : shortNumber(p.nsPerRun), percent(p.cpuShare)]),
    },
  ];
}

/** 0.0123 -> "1.23%" (of one CPU). */
function percent(share: number): string {
  const p = share * 100;
  return `${p >= 10 ? p.toFixed(1) : p.toFixed(2)}%`;
}

function summaryLines(s: NetworkSummary): Block {
  const lines: string[] = [];
  lines.push(s.dns ? dnsLine(s.dns) : 'dns: not running');
  lines.push(s.tcp ? tcpLine(s.tcp) : 'tcp: not running');
  if (s.drops) lines.push(dropsLine(s.drops));
  return { kind: 'text', lines };
}

export function buildScreen(summary: NetworkSummary | undefined, state: ViewState, ctx: ScreenContext): Screen {
  const clock = summary ? new Date(summary.at).toISOString().slice(11, 19) : '--:--:--';
  const status = state.paused ? ' [paused]' : '';
  const title = `netprobe top ${clock}${status}  ${ctx.running}`;
  const footer = ctx.message ?? `q quit  p pause  s sort: ${SORT_LABEL[state.sort]}  tab/1-6 panel: ${state.panel}`;
  if (!summary) return { title, blocks: [{ kind: 'text', lines: [ctx.waiting ?? 'collecting...'] }], footer };
  const blocks: Block[] = [];
  switch (state.panel) {
    case 'overview':
      blocks.push(interfacesTable(summary, 3), flowsTable(summary, state.sort, true), portsTable(summary, state.sort, 3), summaryLines(summary));
      break;
    case 'flows':
      blocks.push(flowsTable(summary, state.sort, true));
      break;
    case 'ports':
      blocks.push(interfacesTable(summary), portsTable(summary, state.sort));
      if (summary.drops) blocks.push(dropReasonsTable(summary.drops));
      break;
    case 'dns':
      blocks.push(...dnsBlocks(summary));
      break;
    case 'tcp':
      blocks.push(...tcpBlocks(summary));
      break;
    case 'kernel':
      blocks.push(...kernelBlocks(summary));
      break;
  }
  return { title, blocks, footer };
}
