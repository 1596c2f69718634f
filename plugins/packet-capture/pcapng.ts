/**
 * pcap-ng blocks (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html),
 * little-endian: a Section Header, one Interface Description per interface (name,
 * link type, snaplen, nanosecond resolution) and an Enhanced Packet per packet
 * (interface, timestamp, captured and original length, direction in epb_flags).
 */
const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_END = 0;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
/** epb_flags bits 0-1: 1 inbound, 2 outbound. */
const FLAG_INBOUND = 1;
const FLAG_OUTBOUND = 2;

/** LINKTYPE_ETHERNET: frames from the MAC header on (what TC hooks see on Ethernet-like devices). */
export const LINKTYPE_ETHERNET = 1;

const pad4 = (n: number) => (n + 3) & ~3;

/** A string option: code, length, value, padded to 32 bits. */
function stringOption(code: number, text: string): Buffer {
  const value = Buffer.from(text, 'utf8');
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

/** A block: type, total length, body, options (each padded), end of options, total length again. */
function block(type: number, body: Buffer, options: Buffer[]): Buffer {
  const opts = options.length ? Buffer.concat([...options, Buffer.alloc(4)]) : Buffer.alloc(0); // opt_endofopt
  const total = 12 + body.length + opts.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  opts.copy(b, 8 + body.length);
  b.writeUInt32LE(total, total - 4);
  return b;
}

export function sectionHeader(application: string): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  body.writeUInt16LE(1, 4); // major
  body.writeUInt16LE(0, 6); // minor
  body.writeBigInt64LE(-1n, 8); // section length: not given
  return block(SHB, body, [stringOption(SHB_USERAPPL, application)]);
}

export interface InterfaceDescription {
  name: string;
  linkType: number;
  snaplen: number;
}

export function interfaceDescription(i: InterfaceDescription): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16LE(i.linkType, 0);
  body.writeUInt32LE(i.snaplen, 4);
  const tsresol = Buffer.alloc(8);
  tsresol.writeUInt16LE(IF_TSRESOL, 0);
  tsresol.writeUInt16LE(1, 2);
  tsresol[4] = 9; // 10^-9 s: nanoseconds
  return block(IDB, body, [stringOption(IF_NAME, i.name), tsresol]);
}

export interface PacketRecord {
  /** Index of the interface's IDB in the section. */
  interfaceId: number;
  /** Wall clock, nanoseconds since the epoch: the upper and lower 32 bits (no BigInt on the hot path). */
  timestampHigh: number;
  timestampLow: number;
  /** Frame length on the wire. */
  originalLength: number;
  direction: 'inbound' | 'outbound';
  /** The captured bytes (at most snaplen). */
  data: Buffer;
}

/** Bytes an Enhanced Packet Block of `captured` bytes takes: header 28, data padded, epb_flags 8, end 4, trailer 4. */
export const enhancedPacketSize = (captured: number) => 28 + pad4(captured) + 16;

/** Captures up to this many bytes are copied word by word in JavaScript; longer ones by one native copy. */
const WORD_COPY_MAX = 512;

/** A buffer to encode blocks into, with a 32-bit view of it (blocks are 32-bit aligned: plain stores, no bounds checks per field). */
export class BlockBuffer {
  readonly bytes: Buffer;
  private readonly words: Uint32Array;
  /** Writes of slices of this buffer not yet completed (it is reused only when none are left). */
  pendingWrites = 0;
  /** Full: nothing more is encoded into it until it is reused. */
  retired = false;

  constructor(size: number) {
    this.bytes = Buffer.alloc((size + 3) & ~3);
    this.words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >>> 2);
  }

  /**
   * Writes an Enhanced Packet Block at `at` (a multiple of 4, with enhancedPacketSize(length)
   * bytes free) whose data is `src[srcStart, srcStart + length)`; returns its end. Arguments
   * are plain numbers so that the capture path allocates nothing per packet: when `srcWords`
   * views the same memory as `src` and `srcStart` is 32-bit aligned in it, short captures are
   * copied word by word (no view object per copy).
   */
  writeEnhancedPacket(at: number, interfaceId: number, timestampHigh: number, timestampLow: number, originalLength: number,
    outbound: boolean, src: Buffer, srcStart: number, length: number, srcWords?: Uint32Array): number {
    const padded = pad4(length);
    const total = 28 + padded + 16;
    const w = this.words;
    const i = at >>> 2;
    // Little-endian hosts only (x86-64, arm64), as the section header declares.
    w[i] = EPB;
    w[i + 1] = total;
    w[i + 2] = interfaceId;
    w[i + 3] = timestampHigh;
    w[i + 4] = timestampLow;
    w[i + 5] = length;
    w[i + 6] = originalLength;
    const d = i + 7;
    const n = padded >>> 2;
    if (srcWords !== undefined && length <= WORD_COPY_MAX && ((src.byteOffset + srcStart) & 3) === 0) {
      const s = (src.byteOffset - srcWords.byteOffset + srcStart) >>> 2;
      for (let k = 0; k < n; k++) w[d + k] = srcWords[s + k]!;
      // The last word's bytes beyond the data are padding, which must be zero.
      if (length & 3) w[d + n - 1] = w[d + n - 1]! & (0xffffffff >>> (32 - 8 * (length & 3)));
    } else {
      if (n > 0) w[d + n - 1] = 0; // the padding (the data overwrites all but its zeroes)
      src.copy(this.bytes, at + 28, srcStart, srcStart + length);
    }
    const o = d + n;
    w[o] = EPB_FLAGS | (4 << 16);
    w[o + 1] = outbound ? FLAG_OUTBOUND : FLAG_INBOUND;
    w[o + 2] = OPT_END;
    w[o + 3] = total;
    return at + total;
  }
}

/** Nanoseconds as the two 32-bit halves a PacketRecord carries. */
export function splitNs(ns: bigint): { timestampHigh: number; timestampLow: number } {
  return { timestampHigh: Number(ns >> 32n), timestampLow: Number(ns & 0xffffffffn) };
}
