/**
 * Packets are wire segments on every ingress hook, with GRO on. The sender segments
 * (TSO/GSO off on vA), so a capture on vA sees every wire segment; the receiver
 * aggregates (GRO on vB), as a NIC driver does, so what reaches the stack on vB are
 * super-packets. Generic XDP runs after GRO and cannot tell how many segments a
 * super-packet stands for; native XDP (before GRO) and TC (gso_segs) can.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness } from '../../test/helpers/harness';
import { Capture } from '../../test/helpers/capture';

const UPLOAD = 3 * 1024 * 1024;

for (const mode of ['native', 'generic'] as const) {
  test(`xdp_mode ${mode}, GRO on: flows count the wire's segments and bytes, as a capture of the sender does`, async (t) => {
    if (!kernelTestsPossible(t)) return;
    const net = TestNet.create();
    t.after(() => net.cleanup());
    net.exec(net.nsA, ['ethtool', '-K', net.vA, 'tso', 'off', 'gso', 'off']);
    net.exec(net.nsB, ['ethtool', '-K', net.vB, 'gro', 'on', 'tso', 'on', 'gso', 'on']);
    const { harness, ready } = await ProbeHarness.start(net, net.nsB, `
probes:
  flow_stats: { interfaces: [${net.vB}], xdp_mode: ${mode}, idle_timeout: 60s }
exporters: { debug: }
service: { pipelines: { logs: { probes: [flow_stats], exporters: [debug] } } }
`);
    const hooks = (ready as Array<{ kind: string; detail?: string }>).map((a) => `${a.kind}${a.detail ? ` ${a.detail}` : ''}`);
    // Generic XDP would see super-packets: that mode counts at TC ingress instead.
    assert.ok(hooks.some((h) => (mode === 'native' ? h === 'xdp mode=native' : h.startsWith('tc/ingress'))), `ingress hook: ${hooks.join(', ')}`);

    const wire = await Capture.start(net, net.nsA, net.vA);
    const stack = await Capture.start(net, net.nsB, net.vB);
    const port = net.tcpExchange(UPLOAD, 100);
    const localMac = net.mac(net.nsB, net.vB);
    const onWire = (await wire.stop(localMac)).filter((f) => f.protocol === 6);
    const inStack = (await stack.stop(localMac)).filter((f) => f.protocol === 6);
    const events = await harness.stop();

    const ours = events.filter((e) => e.name === 'netprobe.flow.end' && e.attributes['network.transport'] === 'tcp').map((e) => ({
      direction: e.attributes['network.io.direction'], srcPort: e.attributes['source.port'], dstPort: e.attributes['destination.port'],
      packets: e.attributes['netprobe.flow.packets'], bytes: e.attributes['netprobe.flow.bytes'],
    }));
    const expected = onWire.map((f) => ({ direction: f.direction, srcPort: f.srcPort, dstPort: f.dstPort, packets: f.packets, bytes: f.bytes }));
    const order = (a: { direction: unknown }, b: { direction: unknown }) => String(a.direction).localeCompare(String(b.direction));
    assert.deepEqual(ours.sort(order), expected.sort(order));

    const upload = expected.find((f) => f.direction === 'receive' && f.srcPort === port)!;
    const aggregated = inStack.find((f) => f.direction === 'receive' && f.srcPort === port)!;
    t.diagnostic(`upload: ${upload.packets} segments on the wire, ${aggregated.packets} frames after GRO; flow_stats: ${ours.find((f) => f.direction === 'receive')?.packets}`);
    assert.ok(upload.packets > UPLOAD / 1500, 'the upload crossed the wire in MSS-sized segments');
    assert.ok(aggregated.packets < upload.packets / 2, 'GRO on vB made super-packets (else this test proves nothing)');
  });
}
