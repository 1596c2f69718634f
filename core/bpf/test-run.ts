/**
 * BPF_PROG_TEST_RUN: runs a loaded program on a packet we supply, in the kernel,
 * without any interface. Used by tests (verdicts on crafted packets) and by the
 * benchmarks (the kernel's own ns/run measurement).
 */
import { libbpf, koffi, describeErrno } from './libbpf';
import { NetprobeError } from '../errors';

/** struct bpf_test_run_opts as libbpf 1.1 declares it (80 bytes on 64-bit). */
const OPTS_SIZE = 80;

export interface TestRunResult {
  /** The program's return value (e.g. XDP_PASS = 2). */
  retval: number;
  /** Average kernel time per run in ns, as the kernel measured it. */
  durationNs: number;
}

export function testRun(progFd: number, packet: Buffer, repeat = 1): TestRunResult {
  const opts = Buffer.alloc(OPTS_SIZE);
  const dataOut = Buffer.alloc(packet.length + 256);
  opts.writeBigUInt64LE(BigInt(OPTS_SIZE), 0);
  opts.writeBigUInt64LE(koffi.address(packet), 8);
  opts.writeBigUInt64LE(koffi.address(dataOut), 16);
  opts.writeUInt32LE(packet.length, 24);
  opts.writeUInt32LE(dataOut.length, 28);
  opts.writeInt32LE(repeat, 60);
  const err = libbpf().bpf_prog_test_run_opts(progFd, opts) as number;
  if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_LOAD', `test-running program: ${describeErrno(err)}`);
  return { retval: opts.readUInt32LE(56), durationNs: opts.readUInt32LE(64) };
}
