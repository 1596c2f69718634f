import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRow, NetworkSummary } from '../../core/summary/network-summary';
import { buildScreen, INITIAL_STATE, sortFlows, type ViewState } from './view-model';
import { renderScreen, wrap } from './render';
import { applyKey } from './keys';

function flowRow(i: number, tx: number, rx: number, packets = 1): FlowRow {
  return {
    interface: 'eth0', transport: 'tcp', localAddress: '10.0.0.5', localPort: 40000 + i, peerAddress: `192.0.2.${i}`, peerPort: 443,
    ...(i === 1 ? { peerName: 'a-rather-long-name.cdn.example.com' } : {}),
    txBitsPerS: tx, rxBitsPerS: rx, txPacketsPerS: packets, rxPacketsPerS: packets,
  };
}

function summary(flows = 40): NetworkSummary {
  return {
    at: Date.UTC(2026, 0, 1, 12, 0, 5),
    intervalS: 1,
    interfaces: ['eth0', 'eth1', 'wlan0', 'docker0'].map((name) => ({ name, rxPacketsPerS: 100, txPacketsPerS: 50, rxBitsPerS: 1e6, txBitsPerS: 5e5, hasTransmit: true, dropsPerS: 0 })),
    flows: Array.from({ length: flows }, (_, i) => flowRow(i + 1, 1e6 - i * 1000, 1000 * i, i)),
    otherFlowsBitsPerS: 0,
    ports: [{ transport: 'tcp', port: 443, bitsPerS: 1e6, packetsPerS: 100, connectionsPerS: 2 }, { transport: 'udp', port: 'ephemeral', bitsPerS: 1e3, packetsPerS: 1, connectionsPerS: 0 }],
    dns: { queriesPerS: 2, responsesPerS: 2, responseCodes: { NOERROR: 2 }, timeouts: 0, p50S: 0.002, p99S: 0.03, slowest: [{ name: 'slow.example.com', durationS: 0.03 }], failing: [] },
    tcp: { open: { established: 12, time_wait: 3 }, openTotal: 15, openedPerS: 1, closedPerS: 1, failedPerS: 0, retransmitsPerS: 0, rttP50S: 0.001, rttP99S: 0.02, topRetransmitters: [] },
  };
}

const ctx = { running: 'xdp_counter, flow_stats, dns, conntrack (eth0)' };

test('the overview fits 80x24 exactly: title first, keys last, no line wider than the screen, flows fill the middle', () => {
  const lines = renderScreen(buildScreen(summary(), INITIAL_STATE, ctx), { columns: 80, rows: 24, colour: false, fill: true });
  assert.equal(lines.length, 24);
  for (const line of lines) assert.ok(line.length <= 80, `too wide (${line.length}): ${line}`);
  assert.match(lines[0]!, /^netprobe top 12:00:05  xdp_counter/);
  assert.match(lines[23]!, /^q quit/);
  const flowHeader = lines.findIndex((l) => /^PROTO\s+LOCAL\s+PEER \(\+\d+ more\)\s+TX b\/s\s+RX b\/s$/.test(l));
  assert.ok(flowHeader > 0, lines.join('\n'));
  assert.match(lines[flowHeader + 1]!, /^tcp\s+10\.0\.0\.5:40001\s+192\.0\.2\.1:443 a-rather-long…\s+1\.00Mb\/s\s+0b\/s$/);
  assert.match(lines.join('\n'), /^INTERFACE \+1 /m, 'the overview shows 3 interfaces and says how many more there are');
  assert.match(lines.join('\n'), /^dns: 2\/s queries, NOERROR 2/m);
  assert.match(lines.join('\n'), /^tcp: 15 open \(12 established, 3 time_wait\)/m);
});

test('a wide terminal shows the interface and packet columns and more of each name', () => {
  const lines = renderScreen(buildScreen(summary(), INITIAL_STATE, ctx), { columns: 160, rows: 50, colour: false, fill: true });
  assert.equal(lines.length, 50);
  const header = lines.find((l) => l.startsWith('PROTO  IFACE'));
  assert.match(header!, /TX pkt\/s\s+RX pkt\/s$/);
  assert.ok(lines.some((l) => l.includes('192.0.2.1:443 a-rather-long-name.cdn.example.com')));
});

test('colours only when asked for', () => {
  const plain = renderScreen(buildScreen(summary(), INITIAL_STATE, ctx), { columns: 80, rows: 24, colour: false });
  assert.ok(!plain.join('\n').includes('\x1b'));
  const coloured = renderScreen(buildScreen(summary(), INITIAL_STATE, ctx), { columns: 80, rows: 24, colour: true });
  assert.ok(coloured[0]!.includes('\x1b[7m'), 'the title is inverse');
});

test('panels: flows alone, DNS names, TCP; a paused view says so', () => {
  const flows = renderScreen(buildScreen(summary(), { ...INITIAL_STATE, panel: 'flows' }, ctx), { columns: 80, rows: 24, colour: false, fill: true });
  assert.equal(flows.filter((l) => l.startsWith('tcp ')).length, 21, 'every body line but the header is a flow');
  assert.match(flows[1]!, /^PROTO\s+LOCAL\s+PEER \(\+19 more\)/);
  const dns = renderScreen(buildScreen(summary(), { ...INITIAL_STATE, panel: 'dns' }, ctx), { columns: 80, rows: 24, colour: false }).join('\n');
  assert.match(dns, /^slow\.example\.com\s+30\.0ms$/m);
  assert.match(dns, /no failing name in the last minute/);
  const tcp = renderScreen(buildScreen(summary(), { ...INITIAL_STATE, panel: 'tcp', paused: true }, ctx), { columns: 80, rows: 24, colour: false }).join('\n');
  assert.match(tcp, /^netprobe top 12:00:05 \[paused\]/);
  assert.match(tcp, /no retransmissions/);
  const none = renderScreen(buildScreen({ ...summary(), dns: undefined, tcp: undefined }, { ...INITIAL_STATE, panel: 'dns' }, ctx), { columns: 80, rows: 24, colour: false }).join('\n');
  assert.match(none, /dns: not running \(add the dns probe\)/);
});

test('sorting by tx, rx or packets', () => {
  const rows = summary(5).flows;
  assert.equal(sortFlows(rows, 'tx')[0]!.localPort, 40001);
  assert.equal(sortFlows(rows, 'rx')[0]!.localPort, 40005);
  assert.equal(sortFlows(rows, 'packets')[0]!.localPort, 40005);
});

test('long lines wrap at spaces with an indent', () => {
  assert.deepEqual(wrap('aaa bbb ccc', 7), ['aaa bbb', '  ccc']);
  assert.deepEqual(wrap('abcdefghij', 5), ['abcd…']);
});

test('keys: q, Escape and Ctrl-C quit; p pauses; s cycles the sort; tab, arrows and digits switch panels', () => {
  const s: ViewState = INITIAL_STATE;
  for (const key of [{ name: 'q' }, { name: 'escape' }, { name: 'c', ctrl: true }]) assert.deepEqual(applyKey(s, key), { quit: true });
  const step = (state: ViewState, key: object) => {
    const r = applyKey(state, key);
    assert.equal(r.quit, false);
    return (r as { state: ViewState }).state;
  };
  assert.equal(step(s, { name: 'p' }).paused, true);
  assert.equal(step(step(s, { name: 'space' }), { name: 'space' }).paused, false);
  assert.equal(step(s, { name: 's' }).sort, 'tx');
  assert.equal(step(s, { name: 's', shift: true }).sort, 'packets');
  assert.equal(step(s, { name: 'tab' }).panel, 'flows');
  assert.equal(step(s, { name: 'tab', shift: true }).panel, 'kernel');
  assert.equal(step(s, { name: 'left' }).panel, 'kernel');
  assert.equal(step(s, { name: '6', sequence: '6' }).panel, 'kernel');
  assert.equal(step(s, { name: '4', sequence: '4' }).panel, 'dns');
  const other = applyKey(s, { name: 'x', sequence: 'x' });
  assert.deepEqual(other, { quit: false, state: s, changed: false });
});

test('drops by kernel reason: a line in the overview, a table beside the interfaces (panel 3); nothing without the drops probe', () => {
  const drops = [
    { reason: 'NO_SOCKET', interface: 'eth0', direction: 'receive', packetsPerS: 40 },
    { reason: 'NETFILTER_DROP', interface: 'eth0', direction: 'receive', packetsPerS: 12.5 },
    { reason: 'NO_SOCKET', interface: 'eth1', packetsPerS: 2 },
  ];
  const overview = renderScreen(buildScreen({ ...summary(), drops }, INITIAL_STATE, ctx), { columns: 80, rows: 24, colour: false, fill: true });
  assert.equal(overview.length, 24);
  assert.match(overview.join('\n'), /^drops: 55\/s \(NO_SOCKET 42\/s, NETFILTER_DROP 13\/s\)$/m);
  const ports = renderScreen(buildScreen({ ...summary(), drops }, { ...INITIAL_STATE, panel: 'ports' }, ctx), { columns: 80, rows: 24, colour: false, fill: true }).join('\n');
  assert.match(ports, /^DROP REASON \(kernel\)\s+INTERFACE\s+DIRECTION\s+pkt\/s$/m);
  assert.match(ports, /^NO_SOCKET\s+eth0\s+receive\s+40\/s$/m);
  assert.match(ports, /^NO_SOCKET\s+eth1\s+-\s+2\/s$/m);
  const without = renderScreen(buildScreen(summary(), { ...INITIAL_STATE, panel: 'ports' }, ctx), { columns: 80, rows: 24, colour: false }).join('\n');
  assert.doesNotMatch(without, /DROP REASON|^drops:/m);
});

test('the kernel panel: runs/s, ns per run and CPU share per probe program, or why there are no figures', () => {
  const kernel = { statsOn: true, programs: [
    { probe: 'flow_stats', program: 'flow_stats_tc_egress', runsPerS: 1200, nsPerRun: 145.2, cpuShare: 0.000174 },
    { probe: 'dns', program: 'dns_ingress', runsPerS: 0, cpuShare: 0 },
  ] };
  const lines = renderScreen(buildScreen({ ...summary(), kernel }, { ...INITIAL_STATE, panel: 'kernel' }, ctx), { columns: 80, rows: 24, colour: false, fill: true });
  assert.equal(lines.length, 24);
  for (const line of lines) assert.ok(line.length <= 80, line);
  const text = lines.join('\n');
  assert.match(text, /^kernel cost: 0\.02% of one CPU in all, 2 programs$/m);
  assert.match(text, /^PROBE\s+PROGRAM\s+runs\/s\s+ns\/run\s+CPU$/m);
  assert.match(text, /^flow_stats\s+flow_stats_tc_egress\s+1\.20k\/s\s+145\s+0\.02%$/m);
  assert.match(text, /^dns\s+dns_ingress\s+0\/s\s+-\s+0\.00%$/m);
  const off = renderScreen(buildScreen({ ...summary(), kernel: { ...kernel, statsOn: false } }, { ...INITIAL_STATE, panel: 'kernel' }, ctx), { columns: 80, rows: 24, colour: false }).join('\n');
  assert.match(off, /run-time statistics are off \(start top with --kernel-stats/);
});
