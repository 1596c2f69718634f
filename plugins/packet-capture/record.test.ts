/** Ring-buffer records decoded with the layout from the object's BTF; an offloaded VLAN tag goes back into the frame as libpcap puts it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openProbeObject } from '../../core/plugin/object';
import { frame } from '../../test/helpers/packets';
import { RecordDecoder } from './record';

function record(fields: Record<string, number>, data: Buffer): { decoder: RecordDecoder; bytes: Buffer } {
  const object = openProbeObject(path.join(__dirname, 'packet_capture.bpf.o'));
  try {
    const layout = object.layout('capture_event');
    const bytes = Buffer.alloc(layout.size + data.length);
    for (const [name, value] of Object.entries(fields)) {
      const f = layout.field(name);
      if (f.size === 8) bytes.writeBigUInt64LE(BigInt(value), f.offset);
      else if (f.size === 4) bytes.writeUInt32LE(value, f.offset);
      else if (f.size === 2) bytes.writeUInt16LE(value, f.offset);
      else bytes[f.offset] = value;
    }
    data.copy(bytes, layout.size);
    return { decoder: new RecordDecoder(layout, object.enum('capture_direction').labels('CAPTURE_')), bytes };
  } finally {
    object.close();
  }
}

const udp = frame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2 }, payload: 10 });

test('a record: timestamp halves, interface, direction, lengths, the bytes', () => {
  const { decoder, bytes } = record({ timestamp: 0x1_2345_6789, ifindex: 7, len: 1500, captured: udp.length, direction: 1 }, udp);
  const f = decoder.decode(bytes)!;
  assert.deepEqual({ ...f, data: f.data.toString('hex') }, {
    monotonicHigh: 1, monotonicLow: 0x2345_6789, ifindex: 7, direction: 'outbound', originalLength: 1500, data: udp.toString('hex'),
  });
  assert.equal(decoder.decode(bytes.subarray(0, bytes.length - 1)), undefined, 'a record shorter than it says is refused');
});

test('an offloaded VLAN tag is put back after the MAC addresses, and counts in both lengths', () => {
  // vlan_proto is stored as the kernel keeps it: network order (0x8100 -> bytes 81 00).
  const { decoder, bytes } = record({ len: udp.length, captured: udp.length, vlan_proto: 0x0081, vlan_tci: 100 }, udp);
  const f = decoder.decode(bytes)!;
  assert.equal(f.originalLength, udp.length + 4);
  assert.equal(f.data.toString('hex'), udp.subarray(0, 12).toString('hex') + '81000064' + udp.subarray(12).toString('hex'));
});
