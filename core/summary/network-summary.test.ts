import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkSummarizer, type SummaryPoint } from './network-summary';
import { quantile, histogramDelta } from './histogram';
import { summaryText } from './text';
import { bitRate, duration, shortNumber } from './units';

const flow = (direction: 'transmit' | 'receive', src: string, sport: number, dst: string, dport: number, bytes: number, packets: number, peerName?: string): SummaryPoint[] => {
  const attributes = {
    'network.interface.name': 'eth0', 'network.io.direction': direction, 'network.type': 'ipv4', 'network.transport': 'tcp',
    'source.address': src, 'source.port': sport, 'destination.address': dst, 'destination.port': dport,
    ...(peerName ? { 'netprobe.peer.name': peerName } : {}),
  };
  return [{ metric: 'netprobe.flow.io', attributes, value: bytes }, { metric: 'netprobe.flow.packet.count', attributes, value: packets }];
};
const traffic = (direction: 'transmit' | 'receive', bytes: number, packets: number): SummaryPoint[] => {
  const attributes = { 'network.interface.name': 'eth0', 'network.io.direction': direction, 'network.type': 'ipv4', 'network.transport': 'tcp' };
  return [{ metric: 'netprobe.traffic.io', attributes, value: bytes }, { metric: 'netprobe.traffic.packet.count', attributes, value: packets }];
};

test('rates come from the growth of counters between two collections, over the time between them', () => {
  const s = new NetworkSummarizer();
  assert.equal(s.update([{ probeId: 'flow_stats', points: [...traffic('receive', 1000, 10), ...traffic('transmit', 500, 5)] }], 10_000), undefined, 'the first collection is the baseline');
  const summary = s.update([{ probeId: 'flow_stats', points: [...traffic('receive', 3000, 30), ...traffic('transmit', 1500, 15)] }], 12_000, { drops: new Map([['eth0', 7]]) })!;
  assert.equal(summary.intervalS, 2);
  assert.deepEqual(summary.interfaces, [{ name: 'eth0', rxPacketsPerS: 10, txPacketsPerS: 5, rxBitsPerS: 8000, txBitsPerS: 4000, hasTransmit: true }]);
  const third = s.update([{ probeId: 'flow_stats', points: [...traffic('receive', 3000, 30), ...traffic('transmit', 1500, 15)] }], 13_000, { drops: new Map([['eth0', 10]]) })!;
  assert.equal(third.interfaces[0]!.rxBitsPerS, 0);
  assert.equal(third.interfaces[0]!.dropsPerS, 3);
});

test('xdp_counter alone gives receive rates; a counter that went back is taken as restarted', () => {
  const s = new NetworkSummarizer();
  const rx = (bytes: number) => [{ metric: 'system.network.io', attributes: { 'network.interface.name': 'eth1', 'network.io.direction': 'receive' }, value: bytes }];
  s.update([{ probeId: 'xdp_counter', points: rx(100) }], 0);
  assert.equal(s.update([{ probeId: 'xdp_counter', points: rx(1100) }], 1000)!.interfaces[0]!.rxBitsPerS, 8000);
  const restarted = s.update([{ probeId: 'xdp_counter', points: rx(50) }], 2000)!;
  assert.equal(restarted.interfaces[0]!.rxBitsPerS, 400);
  assert.equal(restarted.interfaces[0]!.hasTransmit, false);
});

test('both directions of a flow are one row, local and peer the right way round, busiest first, with the peer name', () => {
  const s = new NetworkSummarizer();
  s.update([], 0);
  const summary = s.update([{
    probeId: 'flow_stats',
    points: [
      ...flow('transmit', '10.0.0.5', 40000, '93.184.216.34', 443, 1000, 10, 'example.com'),
      ...flow('receive', '93.184.216.34', 443, '10.0.0.5', 40000, 50_000, 40, 'example.com'),
      ...flow('transmit', '10.0.0.5', 40001, '10.0.0.9', 22, 10, 1),
      { metric: 'netprobe.flow.io', attributes: { 'netprobe.flow.group': 'other' }, value: 125 },
    ],
  }], 1000)!;
  assert.equal(summary.flows.length, 2);
  assert.deepEqual(summary.flows[0], {
    interface: 'eth0', transport: 'tcp', localAddress: '10.0.0.5', localPort: 40000, peerAddress: '93.184.216.34', peerPort: 443,
    peerName: 'example.com', txBitsPerS: 8000, rxBitsPerS: 400_000, txPacketsPerS: 10, rxPacketsPerS: 40,
  });
  assert.equal(summary.flows[1]!.peerName, undefined);
  assert.equal(summary.otherFlowsBitsPerS, 1000);
});

test('DNS: queries per second, response codes and latency of the interval, slowest and failing names of the last minute', () => {
  const s = new NetworkSummarizer();
  const boundaries = [0.005, 0.01, 0.05];
  const points = (queries: number, noerror: number, nx: number, counts: number[]): SummaryPoint[] => [
    { metric: 'netprobe.dns.queries', attributes: { 'netprobe.dns.question.type': 'A' }, value: queries },
    { metric: 'netprobe.dns.responses', attributes: { 'netprobe.dns.response_code': 'NOERROR' }, value: noerror },
    { metric: 'netprobe.dns.responses', attributes: { 'netprobe.dns.response_code': 'NXDOMAIN' }, value: nx },
    { metric: 'dns.lookup.duration', attributes: {}, value: { boundaries, counts, sum: 0, count: counts.reduce((a, b) => a + b) } },
    { metric: 'netprobe.dns.timeouts', attributes: {}, value: 1 },
  ];
  s.update([{ probeId: 'dns', points: points(10, 8, 2, [10, 0, 0, 0]) }], 0);
  s.event('netprobe.dns.exchange', { 'dns.question.name': 'slow.test', 'netprobe.dns.outcome': 'answered', 'netprobe.dns.response_code': 'NOERROR', 'netprobe.dns.duration': 40_000_000 }, 500);
  s.event('netprobe.dns.exchange', { 'dns.question.name': 'nx.test', 'netprobe.dns.outcome': 'answered', 'netprobe.dns.response_code': 'NXDOMAIN', 'netprobe.dns.duration': 2_000_000 }, 600);
  s.event('netprobe.dns.exchange', { 'dns.question.name': 'gone.test', 'netprobe.dns.outcome': 'timeout' }, 700);
  const d = s.update([{ probeId: 'dns', points: points(30, 20, 3, [10, 0, 10, 0]) }], 2000)!.dns!;
  assert.equal(d.queriesPerS, 10);
  assert.equal(d.responsesPerS, 6.5);
  assert.deepEqual(d.responseCodes, { NOERROR: 12, NXDOMAIN: 1 });
  assert.equal(d.timeouts, 0);
  // The interval's 10 lookups are all in (10 ms, 50 ms]: the first interval's 10 fast ones do not count.
  assert.equal(d.p50S, 0.03);
  assert.ok(Math.abs(d.p99S! - 0.0496) < 1e-9);
  assert.deepEqual(d.slowest.map((x) => x.name), ['slow.test', 'nx.test']);
  assert.equal(d.slowest[0]!.durationS, 0.04, 'the records carry ns, the summary seconds');
  assert.deepEqual(d.failing, [{ name: 'nx.test', reason: 'NXDOMAIN', count: 1 }, { name: 'gone.test', reason: 'timeout', count: 1 }]);
  const later = s.update([{ probeId: 'dns', points: points(30, 20, 3, [10, 0, 10, 0]) }], 62_000)!.dns!;
  assert.deepEqual(later.slowest, [], 'names older than a minute are gone');
  assert.equal(later.p50S, undefined, 'no lookup in the interval: no latency');
});

test('TCP: open connections by state, per-second opens and closes, RTT of the interval, retransmitters by peer', () => {
  const s = new NetworkSummarizer();
  const rtt = (counts: number[]) => ({ metric: 'netprobe.tcp.rtt', attributes: { 'netprobe.connection.role': 'client' }, value: { boundaries: [0.001, 0.01], counts, sum: 0, count: counts.reduce((a, b) => a + b) } });
  const points = (opened: number, est: number, counts: number[]): SummaryPoint[] => [
    { metric: 'system.network.connection.count', attributes: { 'network.connection.state': 'established', 'network.type': 'ipv4' }, value: est },
    { metric: 'system.network.connection.count', attributes: { 'network.connection.state': 'established', 'network.type': 'ipv6' }, value: 1 },
    { metric: 'system.network.connection.count', attributes: { 'network.connection.state': 'time_wait', 'network.type': 'ipv4' }, value: 2 },
    { metric: 'netprobe.tcp.connection.opened', attributes: { 'netprobe.connection.role': 'client' }, value: opened },
    rtt(counts),
  ];
  s.update([{ probeId: 'conntrack', points: points(5, 3, [0, 0, 0]) }], 0);
  s.event('netprobe.tcp.connection.closed', { 'netprobe.connection.role': 'client', 'server.address': '10.9.9.9', 'netprobe.peer.name': 'nine.test', 'netprobe.connection.retransmits': 4 }, 100);
  s.event('netprobe.tcp.connection.closed', { 'netprobe.connection.role': 'server', 'client.address': '10.8.8.8', 'server.address': '10.0.0.1', 'netprobe.connection.retransmits': 1 }, 100);
  s.event('netprobe.tcp.connection.closed', { 'netprobe.connection.role': 'client', 'server.address': '10.9.9.9', 'netprobe.peer.name': 'nine.test', 'netprobe.connection.retransmits': 2 }, 100);
  s.event('netprobe.tcp.connection.closed', { 'netprobe.connection.role': 'client', 'server.address': '10.7.7.7', 'netprobe.connection.retransmits': 0 }, 100);
  const t = s.update([{ probeId: 'conntrack', points: points(9, 4, [2, 2, 0]) }], 1000)!.tcp!;
  assert.deepEqual(t.open, { established: 5, time_wait: 2 });
  assert.equal(t.openTotal, 7);
  assert.equal(t.openedPerS, 4);
  assert.equal(t.rttP50S, 0.001);
  assert.deepEqual(t.topRetransmitters, [{ peer: 'nine.test 10.9.9.9', retransmits: 6, connections: 2 }, { peer: '10.8.8.8', retransmits: 1, connections: 1 }]);
});

test('histogram quantiles interpolate inside the bucket; the overflow bucket gives its lower bound', () => {
  assert.equal(quantile([1, 2], [0, 4, 0], 0.5), 1.5);
  assert.equal(quantile([1, 2], [0, 0, 3], 0.99), 2);
  assert.equal(quantile([1, 2], [0, 0, 0], 0.5), undefined);
  assert.deepEqual(histogramDelta({ boundaries: [1], counts: [3, 5], sum: 0, count: 8 }, { boundaries: [1], counts: [1, 5], sum: 0, count: 6 }), [2, 0]);
});

test('units and the debug summary text', () => {
  assert.equal(shortNumber(0), '0');
  assert.equal(shortNumber(999), '999');
  assert.equal(shortNumber(1234567), '1.23M');
  assert.equal(bitRate(2_050_000), '2.05Mb/s');
  assert.equal(duration(0.0123), '12.3ms');
  assert.equal(duration(0.0005), '500us');
  const s = new NetworkSummarizer();
  s.update([], 0);
  const summary = s.update([{ probeId: 'flow_stats', points: [...traffic('receive', 1000, 10), ...flow('transmit', '10.0.0.5', 1, '10.0.0.6', 2, 125, 1)] }], 1000)!;
  assert.deepEqual(summaryText(summary), [
    'network over the last 1.0s:',
    '  eth0: rx 8.00kb/s 10/s pkt',
    '  top flows (tx/rx):',
    '    tcp 10.0.0.5:1 <-> 10.0.0.6:2  1.00kb/s / 0b/s',
  ]);
});

test('drops by kernel reason: packets per second per (reason, interface, direction) from the drops probe\'s counters', () => {
  const s = new NetworkSummarizer();
  const drop = (reason: string, n: number, direction?: string) => ({
    metric: 'netprobe.drop.packet.count',
    attributes: { 'netprobe.drop.reason': reason, 'network.interface.name': 'eth0', ...(direction ? { 'network.io.direction': direction } : {}), 'network.type': 'ipv4', 'network.transport': 'udp' },
    value: n,
  });
  assert.equal(s.update([{ probeId: 'drops', points: [drop('NO_SOCKET', 10, 'receive')] }], 0), undefined);
  const summary = s.update([{ probeId: 'drops', points: [drop('NO_SOCKET', 50, 'receive'), drop('NETFILTER_DROP', 4), drop('OTHER', 0)] }], 2000)!;
  assert.deepEqual(summary.drops, [
    { reason: 'NO_SOCKET', interface: 'eth0', direction: 'receive', packetsPerS: 20 },
    { reason: 'NETFILTER_DROP', interface: 'eth0', packetsPerS: 2 },
  ]);
  const noProbe = new NetworkSummarizer();
  noProbe.update([{ probeId: 'xdp_counter', points: [] }], 0);
  assert.equal(noProbe.update([{ probeId: 'xdp_counter', points: [] }], 1000)!.drops, undefined, 'no drops probe: no drops list');
});

test('kernel cost: runs per second, ns per run and CPU share from the growth of run count and time', () => {
  const s = new NetworkSummarizer();
  const cost = (runCount: number, runTimeNs: number) => ({ statsOn: true, programs: [{ probe: 'flow_stats', program: 'flow_stats_xdp', runCount, runTimeNs, recursionMisses: 0 }] });
  assert.equal(s.update([], 0, { kernelCost: cost(1000, 100_000) }), undefined);
  const summary = s.update([], 2000, { kernelCost: cost(5000, 700_000) })!;
  assert.deepEqual(summary.kernel, { statsOn: true, programs: [{ probe: 'flow_stats', program: 'flow_stats_xdp', runsPerS: 2000, nsPerRun: 150, cpuShare: 0.0003 }] });
  const idle = s.update([], 3000, { kernelCost: cost(5000, 700_000) })!;
  assert.equal(idle.kernel!.programs[0]!.nsPerRun, undefined, 'no runs: no average');
  assert.equal(idle.kernel!.programs[0]!.cpuShare, 0);
});

test('TCP retransmitters: open connections (conntrack\'s gauge) join the closed ones, a connection counted once', () => {
  const s = new NetworkSummarizer();
  const conn = (clientPort: number, server: string) => ({ 'netprobe.connection.role': 'client', 'client.address': '10.0.0.1', 'client.port': clientPort, 'server.address': server, 'server.port': 443 });
  const live = (retransmits: Array<[number, string, number]>): SummaryPoint[] => [
    { metric: 'system.network.connection.count', attributes: { 'network.connection.state': 'established', 'network.type': 'ipv4' }, value: retransmits.length },
    ...retransmits.map(([port, server, n]) => ({ metric: 'netprobe.tcp.connection.retransmits', attributes: { ...conn(port, server), ...(server === '10.9.9.9' ? { 'netprobe.peer.name': 'nine.test' } : {}) }, value: n })),
  ];
  s.update([{ probeId: 'conntrack', points: live([]) }], 0);
  // Open only: listed while open.
  let t = s.update([{ probeId: 'conntrack', points: live([[40001, '10.9.9.9', 3], [40002, '10.8.8.8', 5]]) }], 1000)!.tcp!;
  assert.deepEqual(t.topRetransmitters, [{ peer: '10.8.8.8', retransmits: 5, connections: 1 }, { peer: 'nine.test 10.9.9.9', retransmits: 3, connections: 1 }]);
  // 40001 closed with 4 (one more since the last walk) but the walk still saw it with 3: counted once, the larger.
  s.event('netprobe.tcp.connection.closed', { ...conn(40001, '10.9.9.9'), 'netprobe.peer.name': 'nine.test', 'netprobe.connection.retransmits': 4 }, 1500);
  // Another connection to the same peer closed earlier in the minute: a second connection of that peer.
  s.event('netprobe.tcp.connection.closed', { ...conn(40003, '10.9.9.9'), 'netprobe.peer.name': 'nine.test', 'netprobe.connection.retransmits': 2 }, 1500);
  t = s.update([{ probeId: 'conntrack', points: live([[40001, '10.9.9.9', 3], [40002, '10.8.8.8', 5]]) }], 2000)!.tcp!;
  assert.deepEqual(t.topRetransmitters, [{ peer: 'nine.test 10.9.9.9', retransmits: 6, connections: 2 }, { peer: '10.8.8.8', retransmits: 5, connections: 1 }]);
  // Next walk: 40001 is gone from the table, 40002 retransmitted more; the closed ones stay for the minute.
  t = s.update([{ probeId: 'conntrack', points: live([[40002, '10.8.8.8', 7]]) }], 3000)!.tcp!;
  assert.deepEqual(t.topRetransmitters, [{ peer: '10.8.8.8', retransmits: 7, connections: 1 }, { peer: 'nine.test 10.9.9.9', retransmits: 6, connections: 2 }]);
  // A minute later only what is open remains.
  t = s.update([{ probeId: 'conntrack', points: live([[40002, '10.8.8.8', 7]]) }], 62_000)!.tcp!;
  assert.deepEqual(t.topRetransmitters, [{ peer: '10.8.8.8', retransmits: 7, connections: 1 }]);
});
