/**
 * BPF_PROG_TEST_RUN: runs a loaded program on a packet we supply, in the kernel,
 * without any interface. Used by tests (verdicts on crafted packets) and by the
 * benchmarks (the kernel's own ns/run measurement).
 */
import { libbpf, koffi, describeErrno } from './libbpf';
import { buildOpts, readField, bpfTestRunOpts } from './libbpf-opts';
import { NetprobeError } from '../errors';

const EINTR = 4;

export interface TestRunResult {
  /** The program's return value (e.g. XDP_PASS = 2). */
  retval: number;
  /** Average kernel time per run in ns, as the kernel measured it. */
  durationNs: number;
}

/** BPF_F_TEST_XDP_LIVE_FRAMES: XDP_TX/REDIRECT verdicts really transmit (a packet generator). */
export const TEST_XDP_LIVE_FRAMES = 1 << 1;

/** A test run the kernel refused; `errno` says why (EINVAL: flags it does not know, e.g. live frames before Linux 5.18). */
export class TestRunError extends NetprobeError {
  readonly errno: number;

  constructor(message: string, errno: number) {
    super('NETPROBE_ERR_BPF_LOAD', message);
    this.errno = errno;
  }
}

export interface TestRunOptions {
  /** Program context in (e.g. struct xdp_md with ingress_ifindex). */
  ctx?: Buffer;
  flags?: number;
  /** Frames per batch in live-frames mode. */
  batchSize?: number;
}

export function testRun(progFd: number, packet: Buffer, repeat = 1, options: TestRunOptions = {}): TestRunResult {
  const live = ((options.flags ?? 0) & TEST_XDP_LIVE_FRAMES) !== 0;
  const dataOut = live ? undefined : Buffer.alloc(packet.length + 256); // live mode returns no data
  const opts = buildOpts(bpfTestRunOpts, {
    data_in: koffi.address(packet),
    data_size_in: packet.length,
    data_out: dataOut ? koffi.address(dataOut) : undefined,
    data_size_out: dataOut?.length,
    ctx_in: options.ctx ? koffi.address(options.ctx) : undefined,
    ctx_size_in: options.ctx?.length,
    repeat,
    flags: options.flags ?? 0,
    batch_size: options.batchSize ?? 0,
  });
  const err = runRetryingEintr(progFd, opts, [packet, dataOut, options.ctx]);
  if (err < 0) throw new TestRunError(`test-running program: ${describeErrno(err)}`, -err);
  return { retval: Number(readField(opts, bpfTestRunOpts, 'retval')), durationNs: Number(readField(opts, bpfTestRunOpts, 'duration')) };
}

/**
 * The buffers whose addresses the running opts hold. Only the struct's bytes name them, so
 * V8 may collect a Buffer (dataOut: no JS code uses it after building opts) in a GC before
 * the call, and the kernel then writes data_out into freed memory: that was the bench smoke
 * test's "malloc(): unsorted double linked list corrupted". Held here until the run returns.
 */
const inFlight: Array<Buffer | undefined> = [];

/** A run stops when a signal arrives (e.g. SIGCHLD from a child process, a timer): run it again. */
function runRetryingEintr(progFd: number, opts: Buffer, pointedTo: ReadonlyArray<Buffer | undefined> = []): number {
  inFlight.push(...pointedTo);
  try {
    let err = libbpf().bpf_prog_test_run_opts(progFd, opts) as number;
    for (let i = 0; err === -EINTR && i < 10; i++) err = libbpf().bpf_prog_test_run_opts(progFd, opts) as number;
    return err;
  } finally {
    inFlight.length = 0;
  }
}

const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
const ENXIO = 6;

/**
 * Runs a program that takes no packet (e.g. a raw tracepoint program) on one CPU, in
 * that CPU's context, and returns its return value; undefined when the CPU is offline.
 * Production code reaches it through the probe host (ProbeObject.runOnCpu).
 */
export function runOnCpu(progFd: number, cpu: number): number | undefined {
  const opts = buildOpts(bpfTestRunOpts, { flags: BPF_F_TEST_RUN_ON_CPU, cpu });
  const err = runRetryingEintr(progFd, opts);
  if (err === -ENXIO) return undefined;
  if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_LOAD', `running program on CPU ${cpu}: ${describeErrno(err)}`);
  return Number(readField(opts, bpfTestRunOpts, 'retval'));
}
