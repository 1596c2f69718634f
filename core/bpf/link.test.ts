import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { BpfObject } from './object';
import { attachCgroup } from './link';
import { cgroupV2Root } from '../net/cgroup';
import { ProbeHarness } from '../../test/helpers/harness';
import { linksOfProgram } from '../../test/helpers/bpftool';

const OBJECT = path.join(__dirname, 'testdata', 'attach_test.bpf.o');

function counts(object: BpfObject): { tc: number; sock_ops: number } {
  return object.map('attach_test_counts').readDecoded(object.layout('attach_test_counts'))[0]!.value as { tc: number; sock_ops: number };
}

test('a sock_ops program on a test cgroup sees only that cgroup\'s TCP, and goes away with its link', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const root = cgroupV2Root();
  assert.ok(root, 'cgroup v2 is mounted');
  const cgroup = path.join(root, `netprobe-test-${process.pid}`);
  fs.mkdirSync(cgroup);
  const net = TestNet.create();
  const object = BpfObject.open(OBJECT);
  t.after(() => {
    object.close();
    net.cleanup();
    fs.rmdirSync(cgroup);
  });
  object.load();
  const link = attachCgroup(object.programFd('attach_test_sock_ops'), cgroup, 'sock_ops');
  const listener = net.spawn(net.nsB, [process.execPath, '-e', `require('node:net').createServer((s) => s.end()).listen(7000, ${JSON.stringify(net.ipB)}, () => console.log('up'))`]);
  await new Promise((r) => listener.stdout!.once('data', r));
  const connect = `require('node:net').connect(7000, ${JSON.stringify(net.ipB)}).on('close', () => process.exit(0)).on('error', () => process.exit(1))`;
  // Outside the cgroup: not seen. Inside it (the shell moves itself in first): seen.
  net.exec(net.nsA, [process.execPath, '-e', connect]);
  assert.equal(counts(object).sock_ops, 0);
  execFileSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${net.nsA} ${process.execPath} -e "${connect.replace(/"/g, '\\"')}"`]);
  const seen = counts(object).sock_ops;
  assert.ok(seen > 0, 'sock_ops saw the connection made inside its cgroup');
  link.close();
  link.close(); // safe twice
  execFileSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${net.nsA} ${process.execPath} -e "${connect.replace(/"/g, '\\"')}"`]);
  assert.equal(counts(object).sock_ops, seen, 'detached with its link');
});

for (const mode of ['tcx', 'classic'] as const) {
  test(`TC programs (${mode}) attach to both directions beside XDP and detach on close`, async (t) => {
    if (!kernelTestsPossible(t)) return;
    const net = TestNet.create();
    t.after(() => net.cleanup());
    // xdp_counter holds XDP on the interface; TC hooks are separate.
    const { harness } = await ProbeHarness.start(net, net.nsB, `
probes:
  xdp_counter: { interfaces: [${net.vB}] }
exporters: { debug: }
service: { pipelines: { metrics: { probes: [xdp_counter], exporters: [debug] } } }
`);
    const script = `
      const { BpfObject } = require(${JSON.stringify(path.join(__dirname, 'object'))});
      const { attachTc } = require(${JSON.stringify(path.join(__dirname, 'link'))});
      const o = BpfObject.open(${JSON.stringify(OBJECT)}); o.load();
      const links = ['ingress', 'egress'].map((d) => attachTc(o.programFd('attach_test_tc'), ${JSON.stringify(net.vB)}, d, '${mode}'));
      process.stdout.write('attached ' + links.map((l) => l.mode).join(',') + '\\n');
      process.stdin.once('data', () => {
        const v = o.map('attach_test_counts').readDecoded(o.layout('attach_test_counts'))[0].value;
        for (const l of links) { l.close(); l.close(); }
        process.stdout.write(JSON.stringify(v) + '\\n');
        o.close();
      });`;
    const child = net.spawn(net.nsB, [process.execPath, '-e', script]);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 100 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(out, re);
    };
    await waitFor(new RegExp(`attached ${mode},${mode}`));
    const shown = JSON.parse(net.exec(net.nsB, ['bpftool', '-j', 'net', 'show', 'dev', net.vB])) as Array<Record<string, unknown[]>>;
    assert.ok(shown.some((e) => (e.xdp ?? []).length === 1), 'XDP still there');
    const classicFilters = () => ['ingress', 'egress'].map((d) => net.exec(net.nsB, ['tc', 'filter', 'show', 'dev', net.vB, d])).join('');
    if (mode === 'tcx') assert.equal(linksOfProgram('attach_test_tc').length, 2, 'one tcx link per direction');
    else assert.equal(classicFilters().match(/handle 0x6e70 attach_test_tc/g)?.length, 2, classicFilters());
    net.sendUdp([10, 10, 10]); // 3 in; nsB answers each with ICMP port unreachable: 3 out
    child.stdin!.write('read\n');
    await waitFor(/\{.*\}/);
    const seen = JSON.parse(out.split('\n')[1]!) as { tc: number };
    assert.ok(seen.tc >= 6, `tc saw ${seen.tc} packets, expected at least 3 in and 3 out`);
    assert.equal(linksOfProgram('attach_test_tc').length, 0, 'no link left');
    assert.doesNotMatch(classicFilters(), /attach_test_tc/, 'no filter left');
    assert.doesNotMatch(net.exec(net.nsB, ['tc', 'qdisc', 'show', 'dev', net.vB]), /clsact/, 'the clsact qdisc netprobe created is gone');
    await harness.stop();
  });
}

test('classic TC leaves a clsact qdisc that was there before netprobe', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  net.exec(net.nsB, ['tc', 'qdisc', 'add', 'dev', net.vB, 'clsact']);
  const script = `
    const { BpfObject } = require(${JSON.stringify(path.join(__dirname, 'object'))});
    const { attachTc } = require(${JSON.stringify(path.join(__dirname, 'link'))});
    const o = BpfObject.open(${JSON.stringify(OBJECT)}); o.load();
    const links = ['ingress', 'egress'].map((d) => attachTc(o.programFd('attach_test_tc'), ${JSON.stringify(net.vB)}, d, 'classic'));
    for (const l of links) l.close();
    o.close();`;
  net.exec(net.nsB, [process.execPath, '-e', script]);
  assert.doesNotMatch(['ingress', 'egress'].map((d) => net.exec(net.nsB, ['tc', 'filter', 'show', 'dev', net.vB, d])).join(''), /attach_test_tc/);
  assert.match(net.exec(net.nsB, ['tc', 'qdisc', 'show', 'dev', net.vB]), /clsact/, 'the qdisc someone else created stays');
});
