/**
 * BPF iterators (`SEC("iter/...")`): the program runs once per kernel object
 * (every TCP socket, ...) while userspace reads the iterator's file descriptor.
 * It sees the network namespace of the process that runs it.
 */
import fs from 'node:fs';
import { libbpf, describeErrno } from './libbpf';
import { buildOpts, bpfLinkCreateOpts } from './libbpf-opts';
import { NetprobeError } from '../errors';

const BPF_TRACE_ITER = 28;

/** Runs an iterator program to the end; returns what it printed (often nothing: it may write maps). */
export function runIterator(progFd: number, name: string): Buffer {
  const lib = libbpf();
  const opts = buildOpts(bpfLinkCreateOpts); // no iterator parameters
  const linkFd = lib.bpf_link_create(progFd, 0, BPF_TRACE_ITER, opts) as number;
  if (linkFd < 0) throw new NetprobeError('NETPROBE_ERR_ATTACH', `creating iterator ${name}: ${describeErrno(linkFd)}`);
  try {
    const iterFd = lib.bpf_iter_create(linkFd) as number;
    if (iterFd < 0) throw new NetprobeError('NETPROBE_ERR_ATTACH', `opening iterator ${name}: ${describeErrno(iterFd)}`);
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(4096);
      for (;;) {
        const n = fs.readSync(iterFd, buf);
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    } finally {
      lib.close(iterFd);
    }
  } finally {
    lib.close(linkFd);
  }
}
