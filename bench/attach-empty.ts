/**
 * `node attach-empty.js IFNAME tc|xdp`, run inside a test namespace: attaches an empty
 * program (programs/empty_hooks.bpf.c) to IFNAME's ingress (tcx, or native XDP), says
 * "listening on IFNAME" on stderr like tcpdump, and detaches on SIGINT or SIGTERM.
 */
import path from 'node:path';
import { BpfObject } from '../core/bpf/object';
import { attachTc, attachXdp } from '../core/bpf/link';

const [ifname, hook] = process.argv.slice(2);
if (!ifname || (hook !== 'tc' && hook !== 'xdp')) {
  process.stderr.write('usage: attach-empty.js IFNAME tc|xdp\n');
  process.exit(2);
}
const object = BpfObject.open(path.join(__dirname, 'programs', 'empty_hooks.bpf.o'));
object.skipProgram(hook === 'tc' ? 'empty_xdp' : 'empty_tc');
object.load();
const link = hook === 'tc' ? attachTc(object.programFd('empty_tc'), ifname, 'ingress') : attachXdp(object.programFd('empty_xdp'), ifname, 'native').link;
process.stderr.write(`listening on ${ifname}\n`);
const stop = () => {
  link.close();
  object.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => undefined, 60_000);
