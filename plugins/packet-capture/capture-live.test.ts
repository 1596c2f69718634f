/**
 * `netprobe capture` against tcpdump on the same veth, live, between two test
 * namespaces: TCP, UDP and ICMP over IPv4 and IPv6, both directions, fragmented
 * datagrams. The pcap-ng file, read back by tshark, must hold exactly the packets
 * tcpdump's capture holds, byte for byte up to snaplen, with their lengths on the
 * wire, the right direction in the EPB flags and timestamps within a millisecond (stretched
 * by NETPROBE_TEST_SLOWDOWN under emulation).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { kernelTestsPossible } from '../../test/helpers/kernel';
import { TestNet } from '../../test/helpers/netns';
import { exited, sleep, until } from '../../test/helpers/collector';
import { cliPath } from '../../test/helpers/paths';
import { readPcap, type PcapPacket } from '../../test/helpers/pcap';
import { patience, slowdown } from '../../test/helpers/slowdown';
import { frame } from '../../test/helpers/packets';

const SNAPLEN = 200;
/** The XDP live-frames sender the benchmarks use: real frames out of an interface, any bytes. */
const senderPath = path.join(__dirname, '..', '..', 'bench', 'sender.js');

/** tshark's notice about running as root is about tshark, not the file. */
const tsharkWarnings = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !/^Running as user "root"/.test(l));

function tshark(args: string[]): { stdout: string; stderr: string } {
  const r = require('node:child_process').spawnSync('tshark', args, { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `tshark ${args.join(' ')} failed: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Waits until a child's stderr has a line matching `ready`; fails if it exits first. */
async function started(child: ChildProcess, ready: RegExp, what: string): Promise<() => string> {
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let code: number | null | undefined;
  child.once('exit', (c) => (code = c));
  await until(what, 20_000, () => {
    if (code !== undefined) throw new Error(`${what}: exited with ${code}: ${err}`);
    return ready.test(err) ? true : undefined;
  }, 50);
  return () => err;
}

function traffic(net: TestNet): void {
  net.sendUdp([10, 100]); // IPv4 UDP, A -> B
  net.sendUdp([3000]); // fragmented IPv4 datagram (MTU 1500)
  net.sendUdp([40, 3000], net.ip6B, 9); // IPv6 UDP, and a fragmented one
  net.tcpExchange(1000, 5000); // IPv4 TCP both ways
  net.tcpExchange(300, 700, net.ip6B, 7002); // IPv6 TCP
  net.ping(net.ipB, 3); // ICMP both ways
  net.ping(net.ip6B, 3); // ICMPv6 both ways
}

test('netprobe capture writes exactly what tcpdump captures: bytes, lengths, directions, timestamps', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create({ ipv6: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-capture-'));
  t.after(() => {
    net.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ours = path.join(dir, 'netprobe.pcapng');
  const theirs = path.join(dir, 'tcpdump.pcap');
  const tcpdump = net.spawn(net.nsA, ['tcpdump', '-i', net.vA, '-s', String(SNAPLEN), '--time-stamp-precision=nano', '--immediate-mode', '-U', '-w', theirs]);
  await started(tcpdump, /listening on/, 'tcpdump');
  const capture = net.spawn(net.nsA, [process.execPath, cliPath, 'capture', '-i', net.vA, '-s', String(SNAPLEN), '-w', ours]);
  const captureLog = await started(capture, /listening on/, 'netprobe capture');

  // Both listen now; what came before (e.g. a late MLD report while netprobe was starting) is no part of the test.
  const trafficStartNs = BigInt(Date.now() - 1) * 1_000_000n;
  traffic(net);
  // The last packets reach both captures (without --immediate-mode, tcpdump would hold up to a
  // second of packets in a ring block and lose them on SIGINT).
  await sleep(patience(500));
  capture.kill('SIGINT');
  tcpdump.kill('SIGINT');
  assert.equal(await exited(capture), 0, captureLog());
  await exited(tcpdump);

  const ourPackets = readOurs(ours);
  const allFields = tshark(['-r', ours, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.packet_flags_direction', '-e', 'eth.src', '-e', 'frame.interface_name']).stdout
    .trim().split('\n').map((l) => l.split(','));
  const all = ourPackets.map((p, i) => ({ ...p, fields: allFields[i]! }));
  const got = all.filter((p) => p.timestampNs >= trafficStartNs);
  const fields = got.map((p) => p.fields);
  const want = readPcap(fs.readFileSync(theirs)).filter((p) => p.timestampNs >= trafficStartNs);
  assert.ok(want.length >= 30, `tcpdump saw ${want.length} packets`);
  assert.equal(got.length, want.length, `netprobe wrote ${got.length} packets, tcpdump ${want.length}\n${captureLog()}`);

  // Pair every tcpdump packet with one of ours: same bytes and length, timestamp within 1 ms. The
  // two timestamps are taken at different points of the packet's path (our TC program, tcpdump's
  // tap), so the gap is the kernel's time between them: under emulation (TCG) that stretches like
  // everything else (1.19 ms on 5.10 at slowdown 10), hence 1 ms times the slowdown.
  const toleranceNs = BigInt(Math.round(1_000_000 * slowdown));
  const macA = net.mac(net.nsA, net.vA);
  const unmatched = new Set(got.map((_, i) => i));
  let worstNs = 0n;
  for (const p of want) {
    const i = [...unmatched].find((j) => sameFrame(got[j]!, p));
    assert.ok(i !== undefined, `no packet like tcpdump's ${p.data.subarray(0, 64).toString('hex')} (len ${p.originalLength})`);
    unmatched.delete(i);
    const diff = got[i]!.timestampNs > p.timestampNs ? got[i]!.timestampNs - p.timestampNs : p.timestampNs - got[i]!.timestampNs;
    if (diff > worstNs) worstNs = diff;
    const [direction, source, ifname] = fields[i]!;
    assert.equal(ifname, net.vA);
    assert.equal(Number(direction), source === macA ? 2 : 1, `packet ${i + 1} from ${source}: EPB direction ${direction}`);
  }
  assert.ok(worstNs < toleranceNs, `timestamps differ by up to ${worstNs} ns (allowed: under ${toleranceNs})`);
  assert.ok(got.some((p) => p.originalLength > SNAPLEN && p.data.length === SNAPLEN), 'long frames are cut at snaplen, their length kept');
  t.diagnostic(`${got.length} packets identical to tcpdump's; timestamps within ${Number(worstNs) / 1000} us`);
});

/** Our pcap-ng file, which tshark must open without a word, read back through tshark's conversion to nanosecond pcap. */
function readOurs(file: string): PcapPacket[] {
  assert.deepEqual(tsharkWarnings(tshark(['-r', file]).stderr), []);
  const converted = file.replace(/\.pcapng$/, '') + '.converted.pcap';
  tshark(['-r', file, '-F', 'nsecpcap', '-w', converted]);
  return readPcap(fs.readFileSync(converted));
}

function sameFrame(a: PcapPacket, b: PcapPacket): boolean {
  return a.originalLength === b.originalLength && a.data.equals(b.data);
}

test('-w - streams pcap-ng that tshark reads from a pipe, and -c stops after COUNT packets', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const pipeline = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} capture -i ${net.vA} --proto icmp -c 4 -w - | tshark -r - -T fields -e icmp.type`;
  const child = net.spawn(net.nsA, ['sh', '-c', pipeline]);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const log = await started(child, /listening on/, 'netprobe capture | tshark');
  net.tcpExchange(10, 10); // not ICMP: filtered out in the kernel
  net.ping(net.ipB, 3); // 6 ICMP packets; the capture stops after 4
  assert.equal(await exited(child), 0, log());
  assert.deepEqual(out.trim().split('\n'), ['8', '0', '8', '0']);
  assert.match(log(), /capture finished captured=[4-6] written=4 .*filtered_out/);
});

test('an unwritable path fails at start with a clear error, attaching nothing', (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  t.after(() => net.cleanup());
  const r = require('node:child_process').spawnSync('ip', ['netns', 'exec', net.nsA, process.execPath, cliPath, 'capture', '-i', net.vA, '-w', '/nonexistent-dir/x.pcapng'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot write the capture to \/nonexistent-dir\/x\.pcapng: ENOENT/);
  assert.doesNotMatch(r.stderr, /listening on/);
  const usage = require('node:child_process').spawnSync(process.execPath, [cliPath, 'capture', '-i', 'eth0', '-s', '70000', '-w', 'x'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /snaplen: .*65535/);
});

test('a full disk: the error is clear, every packet not written is counted, nothing crashes', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'netprobe-test', dir]);
  t.after(() => {
    net.cleanup();
    execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const capture = net.spawn(net.nsA, [process.execPath, cliPath, 'capture', '-i', net.vA, '-w', path.join(dir, 'full.pcapng')]);
  const log = await started(capture, /listening on/, 'netprobe capture');
  net.sendUdp(new Array(200).fill(1000)); // about 200 KiB of frames for a 64 KiB disk
  const code = await Promise.race([exited(capture), sleep(patience(10_000)).then(() => 'still running')]);
  if (code === 'still running') capture.kill('SIGINT');
  assert.equal(code, 1, log());
  assert.match(log(), /writing the capture to .*full\.pcapng failed: ENOSPC \(no space left on the device\)/);
  const summary = /capture finished captured=(\d+) written=(\d+) .*write_failed=(\d+)/.exec(log());
  assert.ok(summary, log());
  assert.ok(Number(summary[3]) > 0, 'write failures are counted');
  assert.ok(Number(summary[2]) + Number(summary[3]) <= Number(summary[1]), 'nothing counted twice');
});

test('--vlan captures exactly the frames tagged with that VLAN ID, as tcpdump `vlan ID` does', async (t) => {
  if (!kernelTestsPossible(t)) return;
  // This kernel has no 802.1Q devices (CONFIG_VLAN_8021Q is off), so tagged frames are sent
  // through the test veth from A by XDP live-frames test runs: real packets that B's stack
  // receives (and untags into the skb's metadata before the TC hook and tcpdump's socket).
  const net = TestNet.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-vlan-'));
  t.after(() => {
    net.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  net.exec(net.nsB, ['ethtool', '-K', net.vB, 'gro', 'on']); // NAPI on B: frames sent by XDP are received
  const ours = path.join(dir, 'netprobe.pcapng');
  const theirs = path.join(dir, 'tcpdump.pcap');
  const tcpdump = net.spawn(net.nsB, ['tcpdump', '-i', net.vB, '-Q', 'in', '-s', String(SNAPLEN), '--time-stamp-precision=nano', '--immediate-mode', '-U', '-w', theirs, 'vlan', '10']);
  await started(tcpdump, /listening on/, 'tcpdump');
  const capture = net.spawn(net.nsB, [process.execPath, cliPath, 'capture', '-i', net.vB, '-Q', 'in', '-s', String(SNAPLEN), '--vlan', '10', '-w', ours]);
  const captureLog = await started(capture, /listening on/, 'netprobe capture');

  const trafficStartNs = BigInt(Date.now() - 1) * 1_000_000n;
  const send = (vlans: Array<{ id: number; tpid?: number }>, count: number, payload: number) => {
    const f = frame({ vlans, ip: { version: 4, src: net.ipA, dst: net.ipB }, l4: { kind: 'udp', src: 40000, dst: 9 }, payload });
    Buffer.from(net.mac(net.nsB, net.vB).replace(/:/g, ''), 'hex').copy(f, 0);
    Buffer.from(net.mac(net.nsA, net.vA).replace(/:/g, ''), 'hex').copy(f, 6);
    net.exec(net.nsA, [process.execPath, senderPath, net.vA, String(count), f.toString('hex')]);
  };
  send([{ id: 10 }], 5, 30); // VLAN 10: captured
  send([{ id: 10 }], 3, 400); // VLAN 10, longer than snaplen: cut, its length kept
  send([{ id: 20 }], 4, 30); // VLAN 20: filtered out
  send([], 4, 30); // untagged: filtered out
  send([{ id: 10, tpid: 0x88a8 }, { id: 20 }], 2, 30); // QinQ, outer VLAN 10: captured
  await sleep(500);
  capture.kill('SIGINT');
  tcpdump.kill('SIGINT');
  assert.equal(await exited(capture), 0, captureLog());
  await exited(tcpdump);

  const got = readOurs(ours).filter((p) => p.timestampNs >= trafficStartNs);
  const want = readPcap(fs.readFileSync(theirs)).filter((p) => p.timestampNs >= trafficStartNs);
  assert.equal(want.length, 10, `tcpdump saw the 10 frames whose outer tag is VLAN 10\n${captureLog()}`);
  assert.equal(got.length, want.length, `netprobe wrote ${got.length} packets, tcpdump ${want.length}\n${captureLog()}`);
  const unmatched = new Set(got.map((_, i) => i));
  for (const p of want) {
    const i = [...unmatched].find((j) => sameFrame(got[j]!, p));
    assert.ok(i !== undefined, `no packet like tcpdump's ${p.data.subarray(0, 64).toString('hex')} (len ${p.originalLength})`);
    unmatched.delete(i);
  }
  // The outer tag is in the bytes we wrote (put back from the skb's metadata, where B's stack moved it).
  for (const p of got) {
    assert.ok([0x8100, 0x88a8].includes(p.data.readUInt16BE(12)), `a tag after the MAC addresses: ${p.data.subarray(0, 18).toString('hex')}`);
    assert.equal(p.data.readUInt16BE(14) & 0x0fff, 10);
  }
  assert.match(captureLog(), /capture finished captured=10 written=10 filtered_out=(\d+)/);
  assert.ok(Number(/filtered_out=(\d+)/.exec(captureLog())![1]) >= 8, 'VLAN 20 and untagged frames were filtered out in the kernel');
  t.diagnostic(`${got.length} VLAN 10 frames identical to tcpdump's`);
});
