/**
 * The live-overhead benchmark's traffic source, run inside the sending namespace:
 * `node sender.js <ifname> <frames> <frame hex> [pps] [other frame hex] [every]` transmits
 * the frame <frames> times out of <ifname> with XDP live-frames test runs (the fastest
 * generator the kernel offers), as fast as it can or paced at [pps] (0: as fast), then
 * prints {"startMs", "endMs", "cpuUs"} as JSON. cpuUs is this process's CPU time while sending: the
 * receiving end's softirq work runs on the sending CPU in its context, so it is in there too
 * (time the hypervisor or other processes took is not). With [other frame hex], one frame in [every] is that
 * one instead (sent in runs, for filters that match a known share of the traffic).
 */
import path from 'node:path';
import { BpfObject } from '../core/bpf/object';
import { interfaceIndex } from '../core/bpf/link';
import { testRun, TEST_XDP_LIVE_FRAMES } from '../core/bpf/test-run';

const [ifname, count, hex, ppsArg, otherHex, everyArg] = process.argv.slice(2);
const pps = Number(ppsArg ?? 0);
const other = otherHex ? Buffer.from(otherHex, 'hex') : undefined;
const every = Number(everyArg ?? 0);
const object = BpfObject.open(path.join(__dirname, 'programs', 'trafficgen.bpf.o'));
object.load();
const ctx = Buffer.alloc(24); // struct xdp_md
ctx.writeUInt32LE(interfaceIndex(ifname!), 12); // ingress_ifindex: where XDP_TX sends
const frame = Buffer.from(hex!, 'hex');
const otherCtx = Buffer.from(ctx);
ctx.writeUInt32LE(frame.length, 4); // data_end
if (other) otherCtx.writeUInt32LE(other.length, 4);
const send = (n: number) => {
  const others = other && every > 0 ? Math.round(n / every) : 0;
  if (n - others > 0) testRun(object.programFd('trafficgen'), frame, n - others, { ctx, flags: TEST_XDP_LIVE_FRAMES, batchSize: 256 });
  if (others > 0) testRun(object.programFd('trafficgen'), other!, others, { ctx: otherCtx, flags: TEST_XDP_LIVE_FRAMES, batchSize: 256 });
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
object.close();
