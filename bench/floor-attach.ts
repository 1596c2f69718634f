/**
 * The live-overhead benchmark's floor: empty programs at the hooks the probes use,
 * run inside the receiving namespace:
 * `node floor-attach.js <ifname> <hook>...` with hooks `xdp`, `tcx-ingress`, `tcx-egress`
 * (repeated for several programs on one hook). Prints "attached" once every program is
 * on its hook and detaches them all when stdin closes or on SIGINT/SIGTERM. What the
 * probes cost beyond this floor is their own work; the floor is what the hooks cost.
 */
import path from 'node:path';
import { BpfObject } from '../core/bpf/object';
import { attachTc, attachXdp, type Attached } from '../core/bpf/link';

const [ifname, ...hooks] = process.argv.slice(2);
const objects: BpfObject[] = [];
const links: Attached[] = [];

function empty(file: string, program: string): number {
  const o = BpfObject.open(path.join(__dirname, ...file.split('/')));
  o.load();
  objects.push(o);
  return o.programFd(program);
}

function detach(): void {
  for (const l of links) l.close();
  for (const o of objects) o.close();
  process.exit(0);
}

try {
  for (const hook of hooks) {
    if (hook === 'xdp') links.push(attachXdp(empty('../core/doctor/xdp_pass.bpf.o', 'xdp_pass'), ifname!, 'native').link);
    // A program can be on a tcx hook once: each one is its own loaded copy.
    else if (hook === 'tcx-ingress' || hook === 'tcx-egress') links.push(attachTc(empty('programs/dns_baseline.bpf.o', 'dns_baseline'), ifname!, hook === 'tcx-ingress' ? 'ingress' : 'egress', 'tcx'));
    else throw new Error(`unknown hook ${hook} (xdp, tcx-ingress, tcx-egress)`);
  }
} catch (err) {
  process.stderr.write(`floor-attach: ${(err as Error).message}\n`);
  process.exit(1);
}
process.stdout.write('attached\n');
process.on('SIGINT', detach);
process.on('SIGTERM', detach);
process.stdin.on('end', detach);
process.stdin.resume();
