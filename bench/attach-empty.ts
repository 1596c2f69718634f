/**
 * `node attach-empty.js IFNAME HOOK...`, run inside a test namespace: attaches an empty
 * program (programs/empty_hooks.bpf.c) at each HOOK of IFNAME: `xdp` (native), `tc` or
 * `tcx-ingress`, `tcx-egress`; a hook named twice gets two programs (each its own loaded
 * copy: a program can be on a tcx hook once). Says "listening on IFNAME" on stderr like
 * tcpdump once all are attached, and detaches on SIGINT or SIGTERM. The benchmarks' floor:
 * what the hooks cost before a probe there does any work.
 */
import path from 'node:path';
import { BpfObject } from '../core/bpf/object';
import { attachTc, attachXdp, type Attached } from '../core/bpf/link';

const HOOKS = ['xdp', 'tc', 'tcx-ingress', 'tcx-egress'];
const [ifname, ...hooks] = process.argv.slice(2);
if (!ifname || hooks.length === 0 || hooks.some((h) => !HOOKS.includes(h))) {
  process.stderr.write(`usage: attach-empty.js IFNAME HOOK... (HOOK: ${HOOKS.join(', ')})\n`);
  process.exit(2);
}
const objects: BpfObject[] = [];
const links: Attached[] = [];

function emptyProgram(program: 'empty_tc' | 'empty_xdp'): number {
  const object = BpfObject.open(path.join(__dirname, 'programs', 'empty_hooks.bpf.o'));
  objects.push(object);
  object.skipProgram(program === 'empty_tc' ? 'empty_xdp' : 'empty_tc');
  object.load();
  return object.programFd(program);
}

const stop = (code = 0) => {
  for (const link of links) link.close();
  for (const object of objects) object.close();
  process.exit(code);
};
try {
  for (const hook of hooks) {
    if (hook === 'xdp') links.push(attachXdp(emptyProgram('empty_xdp'), ifname, 'native').link);
    else links.push(attachTc(emptyProgram('empty_tc'), ifname, hook === 'tcx-egress' ? 'egress' : 'ingress'));
  }
} catch (err) {
  process.stderr.write(`attach-empty: ${(err as Error).message}\n`);
  stop(1);
}
process.stderr.write(`listening on ${ifname}\n`);
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());
setInterval(() => undefined, 60_000);
