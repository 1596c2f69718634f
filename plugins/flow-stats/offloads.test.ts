/**
 * Packets are wire segments on every ingress hook, offloads on. The sender hands the
 * link 64 KiB TSO super-packets (as a hypervisor hands virtio_net guests, and as GRO
 * builds them on a real NIC). Generic XDP sees such a super-packet as one frame and
 * cannot tell how many segments it stands for; native XDP on veth makes the sender
 * segment (it runs before GRO) and TC reads gso_segs. The witness is a capture on the
 * sender: each frame stands for ceil(payload / MSS) segments of the negotiated MSS,
 * each with the frame's headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { ProbeHarness } from '../../test/helpers/harness';
import { Capture } from '../../test/helpers/capture';

const UPLOAD = 3 * 1024 * 1024;
const FIELDS = ['eth.dst', 'frame.len', 'ip.proto', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.hdr_len', 'tcp.options.mss_val'] as const;

interface Segments { direction: string; srcPort: number; dstPort: number; packets: number; bytes: number; frames: number; largestFrame: number }

/** TCP flows of a capture as wire segments: every frame split at the MSS its receiver advertised. */
function wireSegments(frames: Array<Record<string, string>>, localMac: string): Segments[] {
  const tcp = frames.filter((f) => f['ip.proto'] === '6');
  // Each side's SYN advertises the largest segment it takes: what the other side sends.
  const advertised = new Map(tcp.filter((f) => f['tcp.options.mss_val']).map((f) => [`${f['tcp.srcport']}`, Number(f['tcp.options.mss_val'])]));
  const flows = new Map<string, Segments>();
  for (const f of tcp) {
    const [frameLen, payload, tcpHeader] = [Number(f['frame.len']), Number(f['tcp.len']), Number(f['tcp.hdr_len'])];
    const mss = advertised.get(f['tcp.dstport']!)! - (tcpHeader - 20); // options (timestamps) come out of the MSS
    const segments = payload === 0 ? 1 : Math.ceil(payload / mss);
    const direction = f['eth.dst'] === localMac ? 'receive' : 'transmit';
    const id = `${direction} ${f['tcp.srcport']} ${f['tcp.dstport']}`;
    const flow = flows.get(id) ?? { direction, srcPort: Number(f['tcp.srcport']), dstPort: Number(f['tcp.dstport']), packets: 0, bytes: 0, frames: 0, largestFrame: 0 };
    flow.packets += segments;
    flow.bytes += frameLen + (segments - 1) * (frameLen - payload);
    flow.frames++;
    flow.largestFrame = Math.max(flow.largestFrame, frameLen);
    flows.set(id, flow);
  }
  return [...flows.values()];
}

for (const mode of ['native', 'generic'] as const) {
  test(`xdp_mode ${mode}, offloads on: flows count wire segments and their bytes`, { timeout: 240_000 }, async (t) => {
    if (!kernelTestsPossible(t)) return;
    const net = TestNet.create();
    t.after(() => net.cleanup());
    for (const [ns, dev] of [[net.nsA, net.vA], [net.nsB, net.vB]] as const) net.exec(ns, ['ethtool', '-K', dev, 'tso', 'on', 'gso', 'on', 'gro', 'on']);
    const { harness, ready } = await ProbeHarness.start(net, net.nsB, `
probes:
  flow_stats: { interfaces: [${net.vB}], xdp_mode: ${mode}, idle_timeout: 60s }
exporters: { debug: }
service: { pipelines: { logs: { probes: [flow_stats], exporters: [debug] } } }
`);
    const hooks = (ready as Array<{ kind: string; detail?: string }>).map((a) => `${a.kind}${a.detail ? ` ${a.detail}` : ''}`);
    // Generic XDP would see super-packets: that mode counts at TC ingress instead.
    assert.ok(hooks.some((h) => (mode === 'native' ? h === 'xdp mode=native' : h.startsWith('tc/ingress'))), `ingress hook: ${hooks.join(', ')}`);

    const capture = await Capture.start(net, net.nsA, net.vA);
    const port = net.tcpExchange(UPLOAD, 100);
    const localMac = net.mac(net.nsB, net.vB);
    const wire = wireSegments(await capture.stopFrames(FIELDS), localMac);
    const events = await harness.stop();

    const ours = events.filter((e) => e.name === 'netprobe.flow.end' && e.attributes['network.transport'] === 'tcp').map((e) => ({
      direction: e.attributes['network.io.direction'], srcPort: e.attributes['source.port'], dstPort: e.attributes['destination.port'],
      packets: e.attributes['netprobe.flow.packets'], bytes: e.attributes['netprobe.flow.bytes'],
    }));
    const expected = wire.map((f) => ({ direction: f.direction, srcPort: f.srcPort, dstPort: f.dstPort, packets: f.packets, bytes: f.bytes }));
    const order = (a: { direction: unknown }, b: { direction: unknown }) => String(a.direction).localeCompare(String(b.direction));
    assert.deepEqual(ours.sort(order), expected.sort(order));

    const upload = wire.find((f) => f.direction === 'receive' && f.srcPort === port)!;
    t.diagnostic(`upload: ${upload.packets} wire segments in ${upload.frames} captured frames (largest ${upload.largestFrame} B); flow_stats: ${ours.find((f) => f.direction === 'receive')?.packets} packets`);
    assert.ok(upload.packets > UPLOAD / 1500, 'the upload is thousands of segments');
    // In generic mode the sender keeps TSO (native XDP on veth turns it off on the peer).
    if (mode === 'generic') assert.ok(upload.largestFrame > 10_000, 'the link carried super-packets (else this test proves nothing)');
  });
}
