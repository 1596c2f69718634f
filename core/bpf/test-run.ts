/**
 * BPF_PROG_TEST_RUN: runs a loaded program on a packet we supply, in the kernel,
 * without any interface. Used by tests (verdicts on crafted packets) and by the
 * benchmarks (the kernel's own ns/run measurement).
 */
import { libbpf, koffi, describeErrno } from './libbpf';
import { NetprobeError } from '../errors';

/** struct bpf_test_run_opts as libbpf 1.1 declares it (80 bytes on 64-bit). */
const EINTR = 4;
const OPTS_SIZE = 80;

export interface TestRunResult {
  /** The program's return value (e.g. XDP_PASS = 2). */
  retval: number;
  /** Average kernel time per run in ns, as the kernel measured it. */
  durationNs: number;
}

/** BPF_F_TEST_XDP_LIVE_FRAMES: XDP_TX/REDIRECT verdicts really transmit (a packet generator). */
export const TEST_XDP_LIVE_FRAMES = 1 << 1;

export interface TestRunOptions {
  /** Program context in (e.g. struct xdp_md with ingress_ifindex). */
  ctx?: Buffer;
  flags?: number;
  /** Frames per batch in live-frames mode. */
  batchSize?: number;
}

export function testRun(progFd: number, packet: Buffer, repeat = 1, options: TestRunOptions = {}): TestRunResult {
  const opts = Buffer.alloc(OPTS_SIZE);
  const live = ((options.flags ?? 0) & TEST_XDP_LIVE_FRAMES) !== 0;
  const dataOut = live ? undefined : Buffer.alloc(packet.length + 256); // live mode returns no data
  opts.writeBigUInt64LE(BigInt(OPTS_SIZE), 0);
  opts.writeBigUInt64LE(koffi.address(packet), 8);
  if (dataOut) {
    opts.writeBigUInt64LE(koffi.address(dataOut), 16);
    opts.writeUInt32LE(dataOut.length, 28);
  }
  opts.writeUInt32LE(packet.length, 24);
  if (options.ctx) {
    opts.writeBigUInt64LE(koffi.address(options.ctx), 32);
    opts.writeUInt32LE(options.ctx.length, 48);
  }
  opts.writeInt32LE(repeat, 60);
  opts.writeUInt32LE(options.flags ?? 0, 68);
  opts.writeUInt32LE(options.batchSize ?? 0, 76);
  const err = runRetryingEintr(progFd, opts);
  if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_LOAD', `test-running program: ${describeErrno(err)}`);
  return { retval: opts.readUInt32LE(56), durationNs: opts.readUInt32LE(64) };
}

/** A run stops when a signal arrives (e.g. SIGCHLD from a child process, a timer): run it again. */
function runRetryingEintr(progFd: number, opts: Buffer): number {
  let err = libbpf().bpf_prog_test_run_opts(progFd, opts) as number;
  for (let i = 0; err === -EINTR && i < 10; i++) err = libbpf().bpf_prog_test_run_opts(progFd, opts) as number;
  return err;
}

const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
const ENXIO = 6;

/**
 * Runs a program that takes no packet (e.g. a raw tracepoint program) on one CPU, in
 * that CPU's context, and returns its return value; undefined when the CPU is offline.
 * Production code reaches it through the probe host (ProbeObject.runOnCpu).
 */
export function runOnCpu(progFd: number, cpu: number): number | undefined {
  const opts = Buffer.alloc(OPTS_SIZE);
  opts.writeBigUInt64LE(BigInt(OPTS_SIZE), 0);
  opts.writeUInt32LE(BPF_F_TEST_RUN_ON_CPU, 68);
  opts.writeUInt32LE(cpu, 72);
  const err = runRetryingEintr(progFd, opts);
  if (err === -ENXIO) return undefined;
  if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_LOAD', `running program on CPU ${cpu}: ${describeErrno(err)}`);
  return opts.readUInt32LE(56);
}
