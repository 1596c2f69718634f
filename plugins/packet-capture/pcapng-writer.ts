/**
 * Writes captured packets as pcap-ng to a file (rotated by size and time, at most
 * max_files kept) or to stdout, without blocking the event loop: packets are encoded
 * into large chunks, and each chunk goes to a stream whose writes run on libuv's
 * thread pool (files) or the event loop's non-blocking pipe writes (stdout). At most
 * `maxQueueBytes` wait; beyond that, and after a write error (disk full, closed
 * pipe), packets are dropped and counted by reason, never buffered without bound.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { BlockBuffer, enhancedPacketSize, interfaceDescription, sectionHeader, type InterfaceDescription, type PacketRecord } from './pcapng';

export interface PcapngWriterOptions {
  /** A file path, or `-` for stdout. */
  path: string;
  interfaces: InterfaceDescription[];
  application: string;
  /** Start a new file after this many bytes (0: never). */
  rotateBytes: number;
  /** Start a new file after this many milliseconds (0: never). */
  rotateMs: number;
  /** Rotated files kept; the oldest is deleted when a new one would exceed this. */
  maxFiles: number;
  /** Bytes waiting to be written at most; packets beyond are dropped (queue_full). */
  maxQueueBytes: number;
  /** Called once when the output fails for good (a write error, a closed pipe). */
  onError(err: Error): void;
}

export type DropReason = 'queue_full' | 'write_failed';

const CHUNK_BYTES = 1024 * 1024;
/** Full chunks kept for reuse once their writes completed: fresh memory costs page faults at high rates. */
const SPARE_CHUNKS = 8;

export class PcapngWriter {
  /** Packets the stream reported written (a write error counts its chunk's packets as write_failed). */
  written = 0;
  readonly dropped: Record<DropReason, number> = { queue_full: 0, write_failed: 0 };
  /** The files this writer created that still exist (at most maxFiles), oldest first. */
  readonly files: string[] = [];
  private stream: Writable | undefined;
  private failed: Error | undefined;
  private chunk = new BlockBuffer(CHUNK_BYTES);
  private readonly spareChunks: BlockBuffer[] = [];
  private chunkStart = 0;
  private chunkEnd = 0;
  private chunkPackets = 0;
  /** Bytes handed to the stream whose write has not completed. */
  private streamQueued = 0;
  private fileBytes = 0;
  private fileOpenedAt = 0;
  private sequence = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly rotating: boolean;

  constructor(private readonly options: PcapngWriterOptions) {
    this.rotating = options.path !== '-' && (options.rotateBytes > 0 || options.rotateMs > 0);
    this.open(); // throws: an unwritable path fails the start, clearly
  }

  get target(): string {
    return this.options.path === '-' ? 'stdout' : this.files[this.files.length - 1] ?? this.options.path;
  }

  /** Bytes handed to the stream and not yet written. */
  get queuedBytes(): number {
    return this.streamQueued + (this.chunkEnd - this.chunkStart);
  }

  write(packet: PacketRecord): void {
    this.writePacket(packet.interfaceId, packet.timestampHigh, packet.timestampLow, packet.originalLength,
      packet.direction === 'outbound', packet.data, 0, packet.data.length);
  }

  /**
   * The capture path's write: one Enhanced Packet Block whose data is `src[srcStart, srcStart + length)`,
   * copied into the current chunk (see BlockBuffer.writeEnhancedPacket); nothing is allocated per packet.
   */
  writePacket(interfaceId: number, timestampHigh: number, timestampLow: number, originalLength: number, outbound: boolean,
    src: Buffer, srcStart: number, length: number, srcWords?: Uint32Array): void {
    if (this.failed || this.closed || !this.stream) {
      this.dropped.write_failed++;
      return;
    }
    const size = enhancedPacketSize(length);
    if (this.queuedBytes + size > this.options.maxQueueBytes) {
      this.dropped.queue_full++;
      return;
    }
    if (this.chunkEnd + size > this.chunk.bytes.length) {
      this.flushChunk();
      this.retire(this.chunk);
      this.chunk = (size <= CHUNK_BYTES && this.spareChunks.pop()) || new BlockBuffer(Math.max(CHUNK_BYTES, size));
      this.chunk.retired = false;
      this.chunkStart = this.chunkEnd = 0;
    }
    this.chunkEnd = this.chunk.writeEnhancedPacket(this.chunkEnd, interfaceId, timestampHigh, timestampLow, originalLength, outbound, src, srcStart, length, srcWords);
    this.chunkPackets++;
    if (!this.flushScheduled) {
      // Everything one ring-buffer drain delivers goes out in one write.
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
  }

  private readonly scheduledFlush = () => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Hands what is encoded to the stream, in a new file when the current one is old or full enough. */
  flush(): void {
    if (this.closed) return;
    const rotating = this.rotating && !this.failed;
    if (rotating && this.options.rotateMs > 0 && Date.now() - this.fileOpenedAt >= this.options.rotateMs) this.rotate();
    this.flushChunk();
    if (rotating && this.options.rotateBytes > 0 && this.fileBytes >= this.options.rotateBytes) this.rotate();
  }

  /** Flushes, ends the stream and waits (at most `timeoutMs`) for the last bytes to be written. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    await endStream(stream, this.options.path === '-', timeoutMs);
  }

  private flushChunk(): void {
    if (this.chunkEnd === this.chunkStart || !this.stream) return;
    const bytes = this.chunk.bytes.subarray(this.chunkStart, this.chunkEnd);
    const packets = this.chunkPackets;
    const chunk = this.chunk;
    chunk.pendingWrites++;
    this.chunkStart = this.chunkEnd;
    this.chunkPackets = 0;
    this.fileBytes += bytes.length;
    this.streamQueued += bytes.length;
    this.stream.write(bytes, (err) => {
      this.streamQueued -= bytes.length;
      if (--chunk.pendingWrites === 0 && chunk.retired) this.recycle(chunk);
      if (err) this.dropped.write_failed += packets;
      else this.written += packets;
    });
  }

  private retire(chunk: BlockBuffer): void {
    chunk.retired = true;
    if (chunk.pendingWrites === 0) this.recycle(chunk);
  }

  private recycle(chunk: BlockBuffer): void {
    if (chunk.bytes.length === CHUNK_BYTES && this.spareChunks.length < SPARE_CHUNKS && !this.spareChunks.includes(chunk)) this.spareChunks.push(chunk);
  }

  private rotate(): void {
    const old = this.stream;
    this.stream = undefined;
    if (old) void endStream(old, false, 2000);
    try {
      this.open();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private open(): void {
    let stream: Writable;
    if (this.options.path === '-') {
      stream = process.stdout;
    } else {
      const file = this.rotating ? rotatedName(this.options.path, ++this.sequence) : this.options.path;
      let fd: number;
      try {
        fd = fs.openSync(file, 'w', 0o640);
      } catch (err) {
        throw new Error(`cannot write the capture to ${file}: ${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.replace(/ +/g, ' '));
      }
      stream = fs.createWriteStream(file, { fd });
      this.files.push(file);
      this.removeOldFiles();
    }
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (stream === this.stream) this.fail(new Error(`writing the capture to ${this.target} failed: ${err.code ?? err.message}${err.code === 'ENOSPC' ? ' (no space left on the device)' : ''}`));
    });
    this.stream = stream;
    this.fileOpenedAt = Date.now();
    this.fileBytes = 0;
    const header = Buffer.concat([sectionHeader(this.options.application), ...this.options.interfaces.map(interfaceDescription)]);
    this.fileBytes += header.length;
    stream.write(header);
  }

  private removeOldFiles(): void {
    while (this.files.length > this.options.maxFiles) {
      const oldest = this.files.shift()!;
      fs.rm(oldest, { force: true }, () => undefined);
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.options.onError(err);
  }
}

/** `capture.pcapng`, 3 -> `capture-00003.pcapng` (Wireshark opens such a series as a file set). */
export function rotatedName(file: string, sequence: number): string {
  const ext = path.extname(file) || '.pcapng';
  const base = file.slice(0, file.length - path.extname(file).length);
  return `${base}-${String(sequence).padStart(5, '0')}${ext}`;
}

function endStream(stream: Writable, keepOpen: boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    if (stream.destroyed || stream.writableFinished) return done();
    stream.once('error', done);
    if (keepOpen) {
      // stdout stays open for the process; wait until what we wrote has drained.
      if (stream.writableLength === 0) return done();
      stream.once('drain', done);
    } else {
      stream.end(done);
    }
  });
}
