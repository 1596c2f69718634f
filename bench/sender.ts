/**
 * The live-overhead benchmark's traffic source, run inside the sending namespace:
 * `node sender.js <ifname> <frames> <frame hex> [pps] [other frame hex] [every]` transmits
 * the frame <frames> times out of <ifname>, as fast as it can or paced at [pps] (0: as fast),
 * then prints {"startMs", "endMs", "cpuUs"} as JSON. cpuUs is this process's CPU time while sending: the
 * receiving end's softirq work runs on the sending CPU in its context, so it is in there too
 * (time the hypervisor or other processes took is not). With [other frame hex], one frame in [every] is that
 * one instead (sent in runs, for filters that match a known share of the traffic).
 *
 * How frames leave, both exactly as given (no header filled in, no checksum recomputed):
 * - Linux 5.18+ (6.1, 6.12, the test host): XDP live-frames test runs, the fastest generator
 *   the kernel offers.
 * - Before 5.18 (5.10): the first live run fails with EINVAL before sending anything, and
 *   every frame goes through an AF_PACKET raw socket instead (one sendto() per frame: on the
 *   6.18 test host 183 kpps against live frames' 1538 in `npm run bench -- --quick --only live`;
 *   enough for tests, and benchmark rates from such a kernel are not comparable with these).
 * NETPROBE_SENDER=packet forces the packet socket on any kernel (to test that path).
 */
import path from 'node:path';
import { BpfObject } from '../core/bpf/object';
import { interfaceIndex } from '../core/bpf/link';
import { testRun, TestRunError, TEST_XDP_LIVE_FRAMES } from '../core/bpf/test-run';
import { PacketSocket } from '../core/net/packet-socket';
import { kernelAtLeast } from '../test/helpers/kernel';

const EINVAL = 22;

const [ifname, count, hex, ppsArg, otherHex, everyArg] = process.argv.slice(2);
const pps = Number(ppsArg ?? 0);
const other = otherHex ? Buffer.from(otherHex, 'hex') : undefined;
const every = Number(everyArg ?? 0);
const frame = Buffer.from(hex!, 'hex');

/** Sends `n` frames, `others` of them the other frame. */
type Send = (n: number, others: number) => void;

function liveFrames(): { send: Send; close: () => void } {
  const object = BpfObject.open(path.join(__dirname, 'programs', 'trafficgen.bpf.o'));
  object.load();
  const ctx = Buffer.alloc(24); // struct xdp_md
  ctx.writeUInt32LE(interfaceIndex(ifname!), 12); // ingress_ifindex: where XDP_TX sends
  const otherCtx = Buffer.from(ctx);
  ctx.writeUInt32LE(frame.length, 4); // data_end
  if (other) otherCtx.writeUInt32LE(other.length, 4);
  const run = (bytes: Buffer, n: number, c: Buffer) => testRun(object.programFd('trafficgen'), bytes, n, { ctx: c, flags: TEST_XDP_LIVE_FRAMES, batchSize: 256 });
  return {
    send: (n, others) => {
      if (n - others > 0) run(frame, n - others, ctx);
      if (others > 0) run(other!, others, otherCtx);
    },
    close: () => object.close(),
  };
}

function packetSocket(): { send: Send; close: () => void } {
  const socket = PacketSocket.open(ifname!, interfaceIndex(ifname!));
  return {
    send: (n, others) => {
      socket.send(frame, n - others);
      if (others > 0) socket.send(other!, others);
    },
    close: () => socket.close(),
  };
}

let sender = process.env.NETPROBE_SENDER === 'packet' ? packetSocket() : liveFrames();
let firstRun = true;
const send = (n: number) => {
  const others = other && every > 0 ? Math.round(n / every) : 0;
  try {
    sender.send(n, others);
  } catch (err) {
    // EINVAL on the very first run of a kernel without live frames (before 5.18): nothing was
    // sent. On a newer kernel EINVAL means something else, and silently sending 8x slower would
    // hide it.
    if (!(firstRun && err instanceof TestRunError && err.errno === EINVAL && !kernelAtLeast(5, 18))) throw err;
    process.stderr.write('sender: no XDP live frames on this kernel (EINVAL), sending through an AF_PACKET socket\n');
    sender.close();
    sender = packetSocket();
    sender.send(n, others);
  }
  firstRun = false;
};
const startMs = Date.now();
const cpuBefore = process.cpuUsage();
const tickMs = 20;
const perTick = pps ? Math.max(1, Math.round((Number(pps) * tickMs) / 1000)) : 1_000_000;
const pause = new Int32Array(new SharedArrayBuffer(4));
let left = Number(count);
for (let tick = 1; left > 0; tick++) {
  const n = Math.min(left, perTick);
  send(n);
  left -= n;
  if (pps) Atomics.wait(pause, 0, 0, Math.max(0, startMs + tick * tickMs - Date.now())); // keep the pace
}
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(JSON.stringify({ startMs, endMs: Date.now(), cpuUs: cpu.user + cpu.system }) + '\n');
sender.close();
