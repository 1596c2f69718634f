/**
 * A loaded BPF map, read in batches: one syscall moves many entries, because a
 * syscall costs about as much as reading a few hundred entries from its result.
 */
import { libbpf, describeErrno, type Pointer } from './libbpf';
import { buildOpts, bpfMapBatchOpts } from './libbpf-opts';
import { StructLayout, type Decoded } from './layout';
import type { Btf } from './btf';
import { NetprobeError } from '../errors';

export const MapType = {
  HASH: 1, ARRAY: 2, PERCPU_HASH: 5, PERCPU_ARRAY: 6, LRU_HASH: 9, LRU_PERCPU_HASH: 10, RINGBUF: 27,
} as const;

const PER_CPU_TYPES = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]);
const ENOENT = 2;
const ENOSPC = 28;
/** The kernel's ENOTSUPP: no batch operations for this map type (per-CPU arrays before 5.13). */
const ENOTSUPP = 524;
/** Entries asked for per batch syscall. */
const BATCH = 4096;

let possibleCpus: number | undefined;
export function numPossibleCpus(): number {
  possibleCpus ??= libbpf().libbpf_num_possible_cpus() as number;
  return possibleCpus;
}

/** Entries as read: key i is keys[i*keySize..], its value (all CPUs' copies) values[i*valueStride*cpus..]. */
export interface MapEntries {
  count: number;
  keys: Buffer;
  values: Buffer;
}

export class BpfMap {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly perCpu: boolean;
  /** Bytes from one CPU's copy of a value to the next (the kernel rounds up to 8). */
  readonly valueStride: number;
  readonly cpus: number;

  /** BTF type ids of the key and value as the map's C definition declares them (0: none, e.g. a ring buffer). */
  private readonly keyTypeId: number;
  private readonly valueTypeId: number;
  private layouts: { key?: StructLayout; value?: StructLayout } = {};

  constructor(readonly name: string, handle: Pointer, private readonly btf?: Btf) {
    const lib = libbpf();
    this.keyTypeId = lib.bpf_map__btf_key_type_id(handle) as number;
    this.valueTypeId = lib.bpf_map__btf_value_type_id(handle) as number;
    this.fd = lib.bpf_map__fd(handle) as number;
    this.type = lib.bpf_map__type(handle) as number;
    this.keySize = lib.bpf_map__key_size(handle) as number;
    this.valueSize = lib.bpf_map__value_size(handle) as number;
    this.maxEntries = lib.bpf_map__max_entries(handle) as number;
    this.perCpu = PER_CPU_TYPES.has(this.type);
    this.cpus = this.perCpu ? numPossibleCpus() : 1;
    this.valueStride = this.perCpu ? Math.ceil(this.valueSize / 8) * 8 : this.valueSize;
  }

  /** Bytes one entry's value occupies in a lookup result (all CPUs for per-CPU maps). */
  get entryValueBytes(): number {
    return this.valueStride * this.cpus;
  }

  /** Layout of the map's key struct, from the map's own BTF key type. */
  keyLayout(): StructLayout {
    this.layouts.key ??= this.layoutOf(this.keyTypeId, 'key', this.keySize);
    return this.layouts.key;
  }

  /** Layout of the map's value struct, from the map's own BTF value type. */
  valueLayout(): StructLayout {
    this.layouts.value ??= this.layoutOf(this.valueTypeId, 'value', this.valueSize);
    return this.layouts.value;
  }

  private layoutOf(typeId: number, what: string, size: number): StructLayout {
    if (!this.btf || typeId === 0) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `map ${this.name}: its ${what} has no BTF type (declare it with __type(${what}, ...))`);
    let layout: StructLayout;
    try {
      layout = StructLayout.fromType(this.btf, typeId);
    } catch (err) {
      throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `map ${this.name}: ${what}: ${(err as Error).message}`, { cause: err });
    }
    if (layout.size !== size) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `map ${this.name}: ${what} is ${size} bytes but struct ${layout.name} is ${layout.size}`);
    return layout;
  }

  /** Fails loudly when the C struct and the map disagree, instead of mis-decoding later. */
  expectLayout(value: StructLayout, keySize?: number): void {
    if (value.size !== this.valueSize) {
      throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `map ${this.name}: value is ${this.valueSize} bytes but struct ${value.name} is ${value.size}`);
    }
    if (keySize !== undefined && keySize !== this.keySize) {
      throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `map ${this.name}: key is ${this.keySize} bytes, expected ${keySize}`);
    }
  }

  /** Read buffers, kept between reads: a large table is read every interval. */
  private scratch: { keys: Buffer; values: Buffer } | undefined;

  /**
   * Every entry, in as few syscalls as the map's size allows. The returned buffers
   * are reused by the next read of this map: copy what must outlive it.
   */
  readAll(): MapEntries {
    return this.batched(false);
  }

  /** Every entry, deleted as it is read (one pass, no window between read and delete). */
  readAndDeleteAll(): MapEntries {
    return this.batched(true);
  }

  private batched(deleting: boolean): MapEntries {
    if (this.noBatch) return this.arrayOneByOne();
    const lib = libbpf();
    const chunk = Math.max(1, Math.min(BATCH, this.maxEntries));
    const capacity = this.maxEntries;
    this.scratch ??= { keys: Buffer.allocUnsafe(capacity * this.keySize), values: Buffer.allocUnsafe(capacity * this.entryValueBytes) };
    const { keys, values } = this.scratch;
    const tokenIn = Buffer.alloc(8);
    const tokenOut = Buffer.alloc(8);
    let total = 0;
    let first = true;
    const fn = deleting ? lib.bpf_map_lookup_and_delete_batch : lib.bpf_map_lookup_batch;
    while (total < capacity) {
      const count = [Math.min(chunk, capacity - total)];
      const err = fn(
        this.fd, first ? null : tokenIn, tokenOut,
        keys.subarray(total * this.keySize), values.subarray(total * this.entryValueBytes), count, null,
      ) as number;
      total += count[0]!;
      if (err === -ENOENT) break; // reached the end
      if (err === -ENOSPC && count[0] === 0) break; // no room left for a whole bucket
      if (err === -ENOTSUPP && first && !deleting && this.isArray) {
        this.noBatch = true;
        return this.arrayOneByOne();
      }
      if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `reading map ${this.name}: ${describeErrno(err)}`);
      tokenOut.copy(tokenIn);
      first = false;
    }
    return { count: total, keys: keys.subarray(0, total * this.keySize), values: values.subarray(0, total * this.entryValueBytes) };
  }

  private noBatch = false;

  /** Set once the kernel refused BPF_MAP_LOOKUP_AND_DELETE_ELEM for this map (hash maps before 5.14). */
  private noLookupAndDelete = false;

  private get isArray(): boolean {
    return this.type === MapType.ARRAY || this.type === MapType.PERCPU_ARRAY;
  }

  /** Arrays on kernels without batch reads for them: every index, one syscall each (they are small). */
  private arrayOneByOne(): MapEntries {
    const n = this.maxEntries;
    this.scratch ??= { keys: Buffer.allocUnsafe(n * this.keySize), values: Buffer.allocUnsafe(n * this.entryValueBytes) };
    const { keys, values } = this.scratch;
    const lib = libbpf();
    for (let i = 0; i < n; i++) {
      const key = keys.subarray(i * this.keySize, (i + 1) * this.keySize);
      key.writeUInt32LE(i);
      const err = lib.bpf_map_lookup_elem(this.fd, key, values.subarray(i * this.entryValueBytes)) as number;
      if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `reading map ${this.name}: ${describeErrno(err)}`);
    }
    return { count: n, keys: keys.subarray(0, n * this.keySize), values: values.subarray(0, n * this.entryValueBytes) };
  }

  /** One batch's read buffers, for batches(). */
  private batchScratch: { keys: Buffer; values: Buffer } | undefined;

  /**
   * Every entry, one syscall's worth at a time (up to 4096 entries, or as asked), in buffers of
   * one batch's size: a caller that must not hold the event loop for a whole large
   * table handles a batch, yields, then asks for the next; and the whole table is
   * never in memory at once. A batch is valid until the next one is asked for.
   */
  *batches(entriesPerBatch = BATCH): Generator<MapEntries> {
    if (this.noBatch) {
      yield this.arrayOneByOne();
      return;
    }
    const lib = libbpf();
    const chunk = Math.max(1, Math.min(entriesPerBatch, this.maxEntries));
    if (!this.batchScratch || this.batchScratch.keys.length < chunk * this.keySize) {
      this.batchScratch = { keys: Buffer.allocUnsafe(chunk * this.keySize), values: Buffer.allocUnsafe(chunk * this.entryValueBytes) };
    }
    const { keys, values } = this.batchScratch;
    const tokenIn = Buffer.alloc(8);
    const tokenOut = Buffer.alloc(8);
    let first = true;
    for (let read = 0; read < this.maxEntries;) {
      const count = [chunk];
      const err = lib.bpf_map_lookup_batch(this.fd, first ? null : tokenIn, tokenOut, keys, values, count, null) as number;
      const got = count[0]!;
      if (err === -ENOTSUPP && first && this.isArray) {
        this.noBatch = true; // arrays before Linux 5.13
        yield this.arrayOneByOne();
        return;
      }
      if (err < 0 && err !== -ENOENT && !(err === -ENOSPC && got === 0)) {
        throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `reading map ${this.name}: ${describeErrno(err)}`);
      }
      if (got > 0) yield { count: got, keys: keys.subarray(0, got * this.keySize), values: values.subarray(0, got * this.entryValueBytes) };
      read += got;
      if (err < 0) return; // ENOENT: the end; ENOSPC: no room for a whole bucket
      tokenOut.copy(tokenIn);
      first = false;
    }
  }

  /** Reads every entry and decodes its value (per-CPU copies combined). */
  readDecoded(layout: StructLayout = this.valueLayout()): Array<{ key: Buffer; value: Decoded }> {
    const { count, keys, values } = this.readAll();
    const out = new Array<{ key: Buffer; value: Decoded }>(count);
    for (let i = 0; i < count; i++) {
      out[i] = {
        key: keys.subarray(i * this.keySize, (i + 1) * this.keySize),
        value: layout.decodePerCpu(values, i * this.entryValueBytes, this.valueStride, this.cpus),
      };
    }
    return out;
  }

  /** Reads one entry and deletes it in one step; undefined when it is not there. */
  lookupAndDelete(key: Buffer): Buffer | undefined {
    const value = Buffer.alloc(this.entryValueBytes);
    let err = this.noLookupAndDelete ? -ENOTSUPP : libbpf().bpf_map_lookup_and_delete_elem(this.fd, key, value) as number;
    if (err === -ENOTSUPP) {
      // Hash maps have it from 5.14: before, a lookup and a delete (what the kernel adds to the
      // entry between the two is lost; callers take entries that have gone quiet).
      this.noLookupAndDelete = true;
      err = libbpf().bpf_map_lookup_elem(this.fd, key, value) as number;
      if (err === 0) err = libbpf().bpf_map_delete_elem(this.fd, key) as number;
    }
    if (err === -ENOENT) return undefined;
    if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `reading and deleting in map ${this.name}: ${describeErrno(err)}`);
    return value;
  }

  /** For per-CPU maps `value` holds every CPU's copy (entryValueBytes). */
  update(key: Buffer, value: Buffer, flags = 0): void {
    const err = libbpf().bpf_map_update_elem(this.fd, key, value, flags) as number;
    if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `updating map ${this.name}: ${describeErrno(err)}`);
  }

  lookup(key: Buffer): Buffer | undefined {
    const value = Buffer.alloc(this.entryValueBytes);
    const err = libbpf().bpf_map_lookup_elem(this.fd, key, value) as number;
    if (err === -ENOENT) return undefined;
    if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `looking up in map ${this.name}: ${describeErrno(err)}`);
    return value;
  }

  /** Writes many entries (keys and values concatenated) in one syscall. */
  updateBatch(keys: Buffer, values: Buffer, flags = 0): void {
    const count = [keys.length / this.keySize];
    const opts = buildOpts(bpfMapBatchOpts, { elem_flags: flags });
    const err = libbpf().bpf_map_update_batch(this.fd, keys, values, count, opts) as number;
    if (err < 0) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `updating map ${this.name} (${count[0]} of ${keys.length / this.keySize} written): ${describeErrno(err)}`);
  }

  /** Deletes the given keys (concatenated) in one syscall; returns how many were deleted. */
  deleteBatch(keys: Buffer): number {
    const n = keys.length / this.keySize;
    if (n === 0) return 0;
    const count = [n];
    const err = libbpf().bpf_map_delete_batch(this.fd, keys, count, null) as number;
    if (err < 0 && err !== -ENOENT) throw new NetprobeError('NETPROBE_ERR_BPF_MAP', `deleting from map ${this.name}: ${describeErrno(err)}`);
    return count[0]!;
  }
}
