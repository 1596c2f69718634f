/**
 * A BPF ring buffer read straight from its memory mapping, without a foreign call per
 * record: the same protocol as libbpf's ring_buffer__consume (consumer page mapped
 * read-write, producer page and data pages, mapped twice so a record never wraps,
 * mapped read-only), walked in JavaScript. Each record is handed over in place, as its
 * offset and length in the ring's bytes (no object per record), valid only during the
 * call (the space is reused as soon as the consumer position moves on): for consumers
 * that copy what they keep, at high record rates.
 *
 * x86-64 keeps loads and stores in order, which the positions' acquire/release
 * protocol needs; V8 reads and writes them as single 64-bit accesses.
 */
import { libbpf, koffi, describeErrno, type Pointer } from './libbpf';
import { NetprobeError } from '../errors';
import { DrainTimer } from './drain-timer';
import { RingBufferReader, type RecordHandler } from './ringbuf';

/** Whether rings can be read in place here: the positions' protocol relies on x86-64's store order. */
export const IN_PLACE_SUPPORTED = process.arch === 'x64';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;
const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HEADER = 8;
/** Bytes consumed per drain at most: tens of thousands of records, a few milliseconds of work. */
const MAX_DRAIN_BYTES = 4 << 20;

/**
 * One record, in place: its bytes are `ring[offset, offset + length)`; `words` is a
 * 32-bit view of the same memory (`offset` is a multiple of 8, so the record's aligned
 * fields read as `words[(offset + fieldOffset) >>> 2]`). Valid only during the call.
 */
export type InPlaceRecordHandler = (ring: Buffer, words: Uint32Array, offset: number, length: number) => void;

export class MappedRingBuffer {
  private consumerMap: Pointer;
  private producerMap: Pointer;
  private readonly pageSize: number;
  private readonly producerLength: number;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  private readonly data: Buffer;
  private readonly words: Uint32Array;
  private readonly mask: number;
  private readonly drainTimer = new DrainTimer();
  /** Records delivered to the handler since the reader was created. */
  received = 0;
  /** At most this many bytes are consumed per drain, so a steady stream cannot hold the event loop (nor the writes of what it consumed). */
  private readonly maxDrainBytes: number;
  private redrainScheduled = false;

  constructor(readonly name: string, mapFd: number, size: number, private readonly onRecord: InPlaceRecordHandler) {
    if (!IN_PLACE_SUPPORTED) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `ring buffer ${name}: reading the mapping directly needs x86-64`);
    const lib = libbpf();
    this.pageSize = lib.getpagesize() as number;
    this.mask = size - 1;
    this.consumerMap = lib.mmap(null, this.pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, mapFd, 0) as Pointer;
    if (koffi.address(this.consumerMap) === MAP_FAILED) throw this.mmapError('consumer page');
    this.producerLength = this.pageSize + 2 * size;
    this.producerMap = lib.mmap(null, this.producerLength, PROT_READ, MAP_SHARED, mapFd, this.pageSize) as Pointer;
    if (koffi.address(this.producerMap) === MAP_FAILED) {
      const err = this.mmapError('data pages');
      lib.munmap(this.consumerMap, this.pageSize);
      throw err;
    }
    this.consumerPos = new BigUint64Array(koffi.view(this.consumerMap, 8) as ArrayBuffer);
    this.producerPos = new BigUint64Array(koffi.view(this.producerMap, 8) as ArrayBuffer);
    const all = koffi.view(this.producerMap, this.producerLength) as ArrayBuffer;
    this.data = Buffer.from(all, this.pageSize, 2 * size);
    this.words = new Uint32Array(all, this.pageSize, (2 * size) >>> 2);
    this.maxDrainBytes = Math.min(size, MAX_DRAIN_BYTES);
  }

  private mmapError(what: string): NetprobeError {
    return new NetprobeError('NETPROBE_ERR_BPF_MAP', `mapping ring buffer ${this.name} (${what}): ${describeErrno(koffi.errno())}`);
  }

  /**
   * Consumes the records available now, up to MAX_DRAIN_BYTES (see `more`);
   * returns how many. Never waits.
   */
  drain(): number {
    if (!this.producerMap) return 0;
    const data = this.data;
    const words = this.words;
    const mask = this.mask;
    let consumer = this.consumerPos[0]!;
    let n = 0;
    let budget = this.maxDrainBytes;
    let handlerError: unknown;
    this.more = false;
    for (;;) {
      const producer = this.producerPos[0]!;
      if (consumer >= producer) break;
      // Positions only grow; the walk below works on their distance, which fits a double.
      let offset = Number(consumer & BigInt(mask));
      let left = Math.min(Number(producer - consumer), budget);
      let moved = 0;
      while (left > 0) {
        const header = words[offset >>> 2]!;
        if (header & BUSY_BIT) break; // still being written
        const length = (header & ~(BUSY_BIT | DISCARD_BIT)) >>> 0;
        const total = (length + HEADER + 7) & ~7;
        if (!(header & DISCARD_BIT)) {
          n++;
          try {
            this.onRecord(data, words, offset + HEADER, length);
          } catch (err) {
            handlerError ??= err;
          }
        }
        moved += total;
        left -= total;
        offset = (offset + total) & mask;
      }
      if (moved === 0) break;
      consumer += BigInt(moved);
      this.consumerPos[0] = consumer; // frees the space for the kernel
      budget -= moved;
      if (budget <= 0) {
        this.more = true;
        break;
      }
      if (left > 0) break; // stopped at a record still being written
    }
    this.received += n;
    if (handlerError) throw handlerError;
    return n;
  }

  /** The last drain stopped at its byte budget with records left: drain again soon. */
  more = false;

  /** Drains every `intervalMs` on a timer that does not keep the process alive. */
  poll(intervalMs: number, onError: (err: unknown) => void): void {
    const drain = () => {
      this.drain();
      // A drain that hit its budget leaves records behind: take them after other I/O runs, not a whole interval later.
      if (this.more && !this.redrainScheduled) {
        this.redrainScheduled = true;
        setImmediate(() => {
          this.redrainScheduled = false;
          try {
            drain();
          } catch (err) {
            onError(err);
          }
        });
      }
    };
    this.drainTimer.start(drain, intervalMs, onError);
  }

  stopPolling(): void {
    this.drainTimer.stop();
  }

  close(): void {
    this.stopPolling();
    if (!this.producerMap) return;
    const lib = libbpf();
    lib.munmap(this.producerMap, this.producerLength);
    lib.munmap(this.consumerMap, this.pageSize);
    this.producerMap = 0n;
    this.consumerMap = 0n;
  }
}

/**
 * A reader for a handler that keeps nothing of a record: each record is a view of the ring's
 * own memory, valid only during the call, where rings can be read in place (no foreign call
 * or copy per record); elsewhere libbpf's reader and its copies.
 */
export function recordViewReader(name: string, mapFd: number, size: number, onRecord: RecordHandler): MappedRingBuffer | RingBufferReader {
  if (!IN_PLACE_SUPPORTED) return new RingBufferReader(name, mapFd, onRecord);
  return new MappedRingBuffer(name, mapFd, size, (ring, _words, offset, length) => onRecord(ring.subarray(offset, offset + length)));
}
