/**
 * The pcap-ng writer on its own: files tshark opens without a warning, with the
 * interfaces' names, nanosecond timestamps, directions and both lengths; rotation
 * by size and by time keeping at most max_files; a bounded queue that counts what
 * it drops. No kernel needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PcapngWriter, rotatedName, type PcapngWriterOptions } from './pcapng-writer';
import { LINKTYPE_ETHERNET, splitNs } from './pcapng';

function tmpdir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netprobe-pcapng-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writer(file: string, options: Partial<PcapngWriterOptions> = {}): PcapngWriter {
  return new PcapngWriter({
    path: file,
    interfaces: [{ name: 'eth0', linkType: LINKTYPE_ETHERNET, snaplen: 96 }, { name: 'veth-b', linkType: LINKTYPE_ETHERNET, snaplen: 96 }],
    application: 'netprobe test',
    rotateBytes: 0,
    rotateMs: 0,
    maxFiles: 10,
    maxQueueBytes: 1 << 20,
    onError: (err) => assert.fail(err),
    ...options,
  });
}

/** A UDP frame whose payload carries its number, 90 bytes captured of `length`. */
function packet(n: number, length = 150) {
  const data = Buffer.alloc(Math.min(90, length), 0);
  data.writeUInt16BE(0x0800, 12);
  data[14] = 0x45;
  data.writeUInt16BE(length - 14, 16);
  data[23] = 17;
  data.writeUInt32BE(0x0a000001, 26);
  data.writeUInt32BE(0x0a000002, 30);
  data.writeUInt16BE(length - 34, 38); // UDP length
  data.writeUInt32BE(n, 42);
  return {
    interfaceId: n % 2,
    ...splitNs(1_700_000_000_123_456_789n + BigInt(n) * 1_000n),
    originalLength: length,
    direction: n % 3 === 0 ? 'outbound' as const : 'inbound' as const,
    data,
  };
}

function tshark(file: string, fields: string[]): { rows: string[][]; warnings: string[] } {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=,', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.trim() && !/^Running as user "root"/.test(l));
  return { rows: r.stdout.trim() ? r.stdout.trim().split('\n').map((l) => l.split(',')) : [], warnings };
}

test('tshark reads every field back: interface names, ns timestamps, lengths, directions', async (t) => {
  const file = path.join(tmpdir(t), 'one.pcapng');
  const w = writer(file);
  for (let n = 0; n < 6; n++) w.write(packet(n, n === 5 ? 1514 : 150));
  await w.close();
  assert.equal(w.written, 6);
  const { rows, warnings } = tshark(file, ['frame.interface_name', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.packet_flags_direction', 'udp.srcport']);
  assert.deepEqual(warnings, []);
  assert.deepEqual(rows.map((r) => r.slice(0, 5)), [0, 1, 2, 3, 4, 5].map((n) => [
    n % 2 ? 'veth-b' : 'eth0',
    `1700000000.${String(123_456_789 + n * 1000).padStart(9, '0')}`,
    String(n === 5 ? 1514 : 150),
    '90',
    n % 3 === 0 ? '0x00000002' : '0x00000001',
  ]));
});

test('rotation by size keeps at most max_files, each a complete pcap-ng file', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'cap.pcapng');
  const w = writer(file, { rotateBytes: 2000, maxFiles: 3 });
  for (let n = 0; n < 100; n++) {
    w.write(packet(n));
    w.flush(); // a flush per packet: rotation is checked after each write to the stream
  }
  await w.close();
  await new Promise((r) => setTimeout(r, 50)); // old files are removed asynchronously
  const left = fs.readdirSync(dir).sort();
  assert.deepEqual(left, w.files.slice(-3).map((f) => path.basename(f)));
  assert.ok(Number(/-(\d+)\./.exec(w.files[0]!)![1]) > 1, `the oldest files were removed: ${w.files.join(', ')}`);
  let total = 0;
  for (const f of left) {
    const { rows, warnings } = tshark(path.join(dir, f), ['frame.len']);
    assert.deepEqual(warnings, [], f);
    assert.ok(rows.length > 0 && fs.statSync(path.join(dir, f)).size <= 2000 + 144, `${f}: ${rows.length} packets`);
    total += rows.length;
  }
  assert.ok(total < 100 && total > 10);
});

test('rotation by time starts a new file once the interval has passed', async (t) => {
  const dir = tmpdir(t);
  const w = writer(path.join(dir, 'timed.pcapng'), { rotateMs: 40 });
  w.write(packet(1));
  w.flush();
  await new Promise((r) => setTimeout(r, 60));
  w.write(packet(2));
  w.flush();
  await w.close();
  // One file per packet (a slow machine may also rotate before the first one, leaving a file with none).
  const counts = w.files.map((f) => tshark(f, ['frame.len']).rows.length);
  assert.ok(counts.length >= 2, `${counts.length} files`);
  assert.deepEqual(counts.filter((c) => c > 0), [1, 1]);
});

test('a full queue drops packets and counts them, never buffering without bound', async (t) => {
  const w = writer(path.join(tmpdir(t), 'q.pcapng'), { maxQueueBytes: 65536 });
  for (let n = 0; n < 2000; n++) w.write(packet(n)); // ~270 KiB encoded in one go
  assert.ok(w.dropped.queue_full > 0);
  assert.ok(w.queuedBytes <= 65536);
  await w.close();
  assert.equal(w.written + w.dropped.queue_full, 2000);
});

test('rotated file names keep the extension', () => {
  assert.equal(rotatedName('/x/cap.pcapng', 7), '/x/cap-00007.pcapng');
  assert.equal(rotatedName('/x/cap', 12), '/x/cap-00012.pcapng');
});

test('chunks are reused once written, and never while a write of theirs is pending', async (t) => {
  const file = path.join(tmpdir(t), 'reuse.pcapng');
  const w = writer(file, { maxQueueBytes: 64 << 20 });
  let n = 0;
  for (let batch = 0; batch < 4; batch++) {
    for (let i = 0; i < 3000; i++) w.write(packet(n++)); // ~400 KiB: more than one chunk per batch
    await new Promise((r) => setTimeout(r, 30)); // the writes complete; full chunks become spares
  }
  await w.close();
  assert.equal(w.written, n);
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'data.data'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const numbers = r.stdout.trim().split('\n').map((hex) => parseInt(hex.replace(/:/g, '').slice(0, 8), 16));
  assert.deepEqual(numbers, Array.from({ length: n }, (_, i) => i), 'every packet intact, in order');
});
