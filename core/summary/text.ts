/**
 * A few lines of plain text per interval (the `debug` exporter at `basic`): per
 * interface rates, the busiest flows, one line for DNS and one for TCP.
 */
import type { DnsSummary, FlowRow, NetworkSummary, TcpSummary } from './network-summary';
import { bitRate, duration, endpoint, perSecond, shortNumber } from './units';

export function flowLabel(f: FlowRow): string {
  const peer = endpoint(f.peerAddress, f.peerPort);
  return `${f.transport} ${endpoint(f.localAddress, f.localPort)} <-> ${f.peerName ? `${f.peerName} (${peer})` : peer}`;
}

export function dnsLine(d: DnsSummary): string {
  const codes = Object.entries(d.responseCodes).map(([c, n]) => `${c} ${n}`).join(', ');
  const parts = [`${perSecond(d.queriesPerS)} queries`, codes || 'no responses', `${d.timeouts} timeouts`, `p50 ${duration(d.p50S)} p99 ${duration(d.p99S)}`];
  // The names are over the last minute, the rest over the interval.
  if (d.slowest[0]) parts.push(`slowest ${d.slowest[0].name} ${duration(d.slowest[0].durationS)}`);
  if (d.failing[0]) parts.push(`failing ${d.failing[0].name} ${d.failing[0].reason}`);
  return `dns: ${parts.join(', ')}`;
}

export function tcpLine(t: TcpSummary): string {
  const states = Object.entries(t.open).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${s}`).join(', ');
  const parts = [
    `${t.openTotal} open${states ? ` (${states})` : ''}`,
    `opened ${perSecond(t.openedPerS)} closed ${perSecond(t.closedPerS)} failed ${perSecond(t.failedPerS)}`,
    `retrans ${perSecond(t.retransmitsPerS)}`, `rtt p50 ${duration(t.rttP50S)} p99 ${duration(t.rttP99S)}`,
  ];
  return `tcp: ${parts.join(', ')}`;
}

export function summaryText(s: NetworkSummary, topFlows = 5): string[] {
  const lines = [`network over the last ${s.intervalS.toFixed(1)}s:`];
  for (const i of s.interfaces) {
    const tx = i.hasTransmit ? `, tx ${bitRate(i.txBitsPerS)} ${perSecond(i.txPacketsPerS)} pkt` : '';
    lines.push(`  ${i.name}: rx ${bitRate(i.rxBitsPerS)} ${perSecond(i.rxPacketsPerS)} pkt${tx}`);
  }
  if (s.flows.length) lines.push(`  top flows (tx/rx):`);
  for (const f of s.flows.slice(0, topFlows)) lines.push(`    ${flowLabel(f)}  ${bitRate(f.txBitsPerS)} / ${bitRate(f.rxBitsPerS)}`);
  if (s.flows.length > topFlows || s.otherFlowsBitsPerS > 0) {
    lines.push(`    ... ${shortNumber(Math.max(0, s.flows.length - topFlows))} more flows${s.otherFlowsBitsPerS > 0 ? `, ${bitRate(s.otherFlowsBitsPerS)} outside the probe's top list` : ''}`);
  }
  if (s.dns) lines.push(`  ${dnsLine(s.dns)}`);
  if (s.tcp) lines.push(`  ${tcpLine(s.tcp)}`);
  return lines;
}
