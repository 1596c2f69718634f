/**
 * The sender's AF_PACKET path (what kernels before 5.18 use; NETPROBE_SENDER=packet forces it
 * here): real frames from nsA arrive at nsB exactly as given, as many as asked for, the mixed
 * "other" frame in its share; and struct sockaddr_ll is declared with the kernel's layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import { kernelTestsPossible } from '../test/helpers/kernel';
import { TestNet } from '../test/helpers/netns';
import { exited, until } from '../test/helpers/collector';
import { readPcap } from '../test/helpers/pcap';
import { frame } from '../test/helpers/packets';
import { sockaddrLl } from '../core/net/packet-socket';

test('struct sockaddr_ll has the kernel UAPI layout (20 bytes, protocol in network byte order)', () => {
  const type = sockaddrLl();
  assert.equal(koffi.sizeof(type), 20);
  const offsets = ['sll_family', 'sll_protocol', 'sll_ifindex', 'sll_hatype', 'sll_pkttype', 'sll_halen', 'sll_addr'].map((f) => koffi.offsetof(type, f));
  assert.deepEqual(offsets, [0, 2, 4, 8, 10, 11, 12]);
  const bytes = Buffer.alloc(20);
  koffi.encode(bytes, type, { sll_family: 17, sll_protocol: 0x0800, sll_ifindex: 7, sll_hatype: 0, sll_pkttype: 0, sll_halen: 6, sll_addr: [1, 2, 3, 4, 5, 6, 0, 0] });
  assert.equal(bytes.toString('hex'), '1100' + '0800' + '07000000' + '0000' + '00' + '06' + '0102030405060000');
});

test('NETPROBE_SENDER=packet: every frame arrives at the peer byte for byte, a bad IP checksum kept', async (t) => {
  if (!kernelTestsPossible(t)) return;
  const net = TestNet.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-sender-'));
  t.after(() => {
    net.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const udp = (dst: number) => {
    const f = frame({ ip: { version: 4, src: net.ipA, dst: net.ipB }, l4: { kind: 'udp', src: 1111, dst }, payload: 32 });
    Buffer.from(net.mac(net.nsB, net.vB).replace(/:/g, ''), 'hex').copy(f, 0);
    Buffer.from(net.mac(net.nsA, net.vA).replace(/:/g, ''), 'hex').copy(f, 6);
    return f;
  };
  const bad = udp(2222);
  bad.writeUInt16BE(0xbad0, 14 + 10); // the IP header checksum: wrong, and it must stay wrong
  const other = udp(3333);

  const file = path.join(dir, 'peer.pcap');
  const tcpdump = net.spawn(net.nsB, ['tcpdump', '-i', net.vB, '-Q', 'in', '-n', '--immediate-mode', '-U', '-w', file]);
  let err = '';
  tcpdump.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await until('tcpdump listening', 20_000, () => (/listening on/.test(err) ? true : undefined), 50);

  const rxPackets = () => Number(net.exec(net.nsB, ['cat', `/sys/class/net/${net.vB}/statistics/rx_packets`]));
  const before = rxPackets();
  const sender = path.join(__dirname, 'sender.js');
  const run = (args: string[]) => JSON.parse(net.exec(net.nsA, ['env', 'NETPROBE_SENDER=packet', process.execPath, sender, net.vA, ...args])) as Record<string, number>;
  const out = run(['25', bad.toString('hex')]);
  run(['20', bad.toString('hex'), '0', other.toString('hex'), '4']); // one in 4: 15 + 5
  assert.ok(out.endMs! >= out.startMs! && Number.isInteger(out.cpuUs) && out.cpuUs! >= 0, `the sender's JSON: ${JSON.stringify(out)}`);

  await until('the peer counting 45 frames', 10_000, () => (rxPackets() - before >= 45 ? true : undefined), 50);
  tcpdump.kill('SIGINT');
  await exited(tcpdump);
  assert.equal(rxPackets() - before, 45, 'the peer received exactly the frames sent');
  const got = readPcap(fs.readFileSync(file));
  assert.equal(got.filter((p) => p.data.equals(bad)).length, 40, 'the bad-checksum frame, unchanged');
  assert.equal(got.filter((p) => p.data.equals(other)).length, 5, 'the other frame, one in 4');
  assert.equal(got.length, 45, 'nothing else arrived');
});

