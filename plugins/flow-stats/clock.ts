/**
 * The flow table stamps packets with jiffies (bpf_jiffies64 costs a few ns; a clock
 * read costs tens of ns on a VM). This maps jiffies to time: a tiny program reads
 * both clocks together, run on demand with BPF_PROG_TEST_RUN.
 */
import type { BpfMap } from '../../core/bpf/map';
import { testRun } from '../../core/bpf/test-run';

const STANDARD_HZ = [100, 250, 300, 1000];

export class JiffiesClock {
  readonly nsPerJiffy: number;

  constructor(private readonly progFd: number, private readonly map: BpfMap) {
    this.nsPerJiffy = this.calibrate();
  }

  /** Both clocks, read in the kernel at the same moment. */
  sample(): { jiffies: number; ktimeNs: number } {
    testRun(this.progFd, Buffer.alloc(64));
    const v = this.map.lookup(Buffer.alloc(4))!;
    return { jiffies: v.readUInt32LE(0) + v.readUInt32LE(4) * 0x1_0000_0000, ktimeNs: Number(v.readBigUInt64LE(8)) };
  }

  now(): number {
    return this.sample().jiffies;
  }

  /** Milliseconds since the epoch of a jiffies stamp, given a fresh sample and the wall clock at it. */
  toEpochMs(jiffies: number, ref: { jiffies: number; epochMs: number }): number {
    return ref.epochMs - ((ref.jiffies - jiffies) * this.nsPerJiffy) / 1e6;
  }

  /** CONFIG_HZ from two samples a few jiffies apart, snapped to the values kernels use. */
  private calibrate(): number {
    const first = this.sample();
    const wait = new Int32Array(new SharedArrayBuffer(4));
    let second = first;
    for (let i = 0; i < 20 && second.jiffies - first.jiffies < 3; i++) {
      Atomics.wait(wait, 0, 0, 10); // a one-off 30-ish ms wait at start
      second = this.sample();
    }
    const measured = (second.ktimeNs - first.ktimeNs) / Math.max(1, second.jiffies - first.jiffies);
    const hz = STANDARD_HZ.reduce((best, h) => (Math.abs(1e9 / h - measured) < Math.abs(1e9 / best - measured) ? h : best));
    return 1e9 / hz;
  }
}
