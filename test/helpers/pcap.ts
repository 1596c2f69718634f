/** Classic pcap files (microsecond or nanosecond), as tcpdump -w and tshark -F nsecpcap write them: for comparing captures in tests. */
export interface PcapPacket {
  timestampNs: bigint;
  originalLength: number;
  data: Buffer;
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

export function readPcap(file: Buffer): PcapPacket[] {
  const magic = file.readUInt32LE(0);
  if (magic !== MAGIC_US && magic !== MAGIC_NS) throw new Error(`not a little-endian pcap file (magic ${magic.toString(16)})`);
  const scale = magic === MAGIC_NS ? 1n : 1000n;
  const packets: PcapPacket[] = [];
  for (let at = 24; at + 16 <= file.length;) {
    const captured = file.readUInt32LE(at + 8);
    packets.push({
      timestampNs: BigInt(file.readUInt32LE(at)) * 1_000_000_000n + BigInt(file.readUInt32LE(at + 4)) * scale,
      originalLength: file.readUInt32LE(at + 12),
      data: file.subarray(at + 16, at + 16 + captured),
    });
    at += 16 + captured;
  }
  return packets;
}
