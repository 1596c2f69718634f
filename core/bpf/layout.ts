/**
 * Struct layouts read from BTF, and decoding of map values with them.
 *
 * A struct shared by C and TypeScript is described once, in the C header; this
 * module turns its BTF into offsets, so nothing here can drift from the C code.
 * Semantic typedefs from bpf/netprobe.h decide how per-CPU copies combine.
 */
import { Btf, BtfKind } from './btf';
import { NetprobeError } from '../errors';

export type Decoded = { [field: string]: number | number[] | Buffer | Decoded };

interface FieldBase { name: string; offset: number; size: number; semantic?: string }
export type LayoutField =
  | (FieldBase & { kind: 'int'; signed: boolean })
  | (FieldBase & { kind: 'int-array'; signed: boolean; elemSize: number; length: number })
  | (FieldBase & { kind: 'bytes' })
  | (FieldBase & { kind: 'struct'; layout: StructLayout });

export class StructLayout {
  private constructor(readonly name: string, readonly size: number, readonly fields: readonly LayoutField[]) {}

  /** Layout of `struct <name>` in the object's BTF. */
  static fromBtf(btf: Btf, name: string): StructLayout {
    const t = btf.find(BtfKind.STRUCT, name);
    if (!t) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `struct ${name} not found in BTF (was the object built with -g?)`);
    return StructLayout.fromType(btf, t.id);
  }

  /** Layout of the struct a BTF type id names (through typedefs and qualifiers), e.g. a map's key or value type. */
  static fromType(btf: Btf, id: number): StructLayout {
    const t = btf.resolve(id);
    if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) {
      throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `BTF type ${id}${t.name ? ` (${t.name})` : ''} is not a struct`);
    }
    const fields: LayoutField[] = [];
    for (const m of t.members ?? []) {
      if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) {
        throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `struct ${t.name}: bitfield ${m.name} is not supported in shared layouts`);
      }
      fields.push(StructLayout.field(btf, t.name, m.name, m.type, m.bitOffset / 8));
    }
    return new StructLayout(t.name, t.size, fields);
  }

  private static field(btf: Btf, owner: string, name: string, typeId: number, offset: number): LayoutField {
    const semantic = btf.typedefName(typeId);
    const t = btf.resolve(typeId);
    const size = btf.sizeOf(typeId);
    if (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM) {
      return { kind: 'int', name, offset, size, semantic, signed: t.intSigned ?? false };
    }
    if (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) {
      return { kind: 'struct', name, offset, size, semantic, layout: StructLayout.fromType(btf, t.id) };
    }
    if (t.kind === BtfKind.ARRAY) {
      const elem = btf.resolve(t.array!.type);
      const elemSemantic = btf.typedefName(t.array!.type);
      if (elem.kind === BtfKind.INT && elem.size === 1) return { kind: 'bytes', name, offset, size, semantic: elemSemantic };
      if (elem.kind === BtfKind.INT) {
        return {
          kind: 'int-array', name, offset, size, semantic: elemSemantic, signed: elem.intSigned ?? false,
          elemSize: elem.size, length: t.array!.nelems,
        };
      }
    }
    throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `struct ${owner}: field ${name} has a type this decoder does not handle`);
  }

  field(name: string): LayoutField {
    const f = this.fields.find((x) => x.name === name);
    if (!f) throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `struct ${this.name} has no field ${name}`);
    return f;
  }

  /**
   * Offsets of the named fields, each checked to have the width the reader uses
   * (e.g. `{ ifindex: 4, sport: 2 }`), so a changed C type fails at start, not in decoding.
   */
  offsets<K extends string>(widths: Record<K, number>): Record<K, number> {
    const out = {} as Record<K, number>;
    for (const name of Object.keys(widths) as K[]) {
      const f = this.field(name);
      if (f.size !== widths[name]) {
        throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `struct ${this.name}: field ${name} is ${f.size} bytes, the decoder reads ${widths[name]}`);
      }
      out[name] = f.offset;
    }
    return out;
  }

  decode(buf: Buffer, base = 0): Decoded {
    const out: Decoded = {};
    for (const f of this.fields) {
      const at = base + f.offset;
      switch (f.kind) {
        case 'int':
          out[f.name] = readInt(buf, at, f.size, f.signed);
          break;
        case 'int-array': {
          const values = new Array<number>(f.length);
          for (let i = 0; i < f.length; i++) values[i] = readInt(buf, at + i * f.elemSize, f.elemSize, f.signed);
          out[f.name] = values;
          break;
        }
        case 'bytes':
          out[f.name] = Buffer.from(buf.subarray(at, at + f.size));
          break;
        case 'struct':
          out[f.name] = f.layout.decode(buf, at);
          break;
      }
    }
    return out;
  }

  /**
   * Decodes a per-CPU value (one copy per possible CPU, each `stride` bytes) into one,
   * combining numbers by their semantic typedef (see combiner(): counters add,
   * timestamps take the latest or earliest, flags OR); byte fields keep the first
   * copy that is not all zeros.
   */
  decodePerCpu(buf: Buffer, base: number, stride: number, cpus: number): Decoded {
    const total = this.decode(buf, base);
    for (let cpu = 1; cpu < cpus; cpu++) mergeInto(this, total, this.decode(buf, base + cpu * stride));
    return total;
  }
}

/** How two CPUs' copies of a number combine, by the field's semantic typedef. */
export function combiner(semantic: string | undefined): (a: number, b: number) => number {
  switch (semantic) {
    case 'np_ktime_t':
    case 'np_jiffies_t':
      return (a, b) => Math.max(a, b);
    case 'np_ktime_first_t':
    case 'np_jiffies_first_t':
      return (a, b) => (a === 0 ? b : b === 0 ? a : Math.min(a, b));
    case 'np_flags_t': return (a, b) => a | b;
    default: return (a, b) => a + b;
  }
}

function mergeInto(layout: StructLayout, into: Decoded, from: Decoded): void {
  for (const f of layout.fields) {
    const a = into[f.name];
    const b = from[f.name];
    if (f.kind === 'int') {
      into[f.name] = combiner(f.semantic)(a as number, b as number);
    } else if (f.kind === 'int-array') {
      const combine = combiner(f.semantic);
      const arr = a as number[];
      const other = b as number[];
      for (let i = 0; i < arr.length; i++) arr[i] = combine(arr[i]!, other[i]!);
    } else if (f.kind === 'bytes') {
      if ((a as Buffer).every((x) => x === 0)) into[f.name] = b as Buffer;
    } else {
      mergeInto(f.layout, a as Decoded, b as Decoded);
    }
  }
}

/** Reads an integer of 1, 2, 4 or 8 bytes; 64-bit values become numbers (exact below 2^53). */
export function readInt(buf: Buffer, at: number, size: number, signed: boolean): number {
  switch (size) {
    case 1: return signed ? buf.readInt8(at) : buf.readUInt8(at);
    case 2: return signed ? buf.readInt16LE(at) : buf.readUInt16LE(at);
    case 4: return signed ? buf.readInt32LE(at) : buf.readUInt32LE(at);
    case 8: return signed ? Number(buf.readBigInt64LE(at)) : buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
    default: throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `cannot read a ${size}-byte integer`);
  }
}

/** Writes an integer of 1, 2, 4 or 8 bytes. */
export function writeInt(buf: Buffer, at: number, size: number, value: number): void {
  switch (size) {
    case 1: buf.writeUInt8(value, at); return;
    case 2: buf.writeUInt16LE(value, at); return;
    case 4: buf.writeUInt32LE(value >>> 0, at); return;
    case 8: buf.writeBigUInt64LE(BigInt(value), at); return;
    default: throw new NetprobeError('NETPROBE_ERR_BPF_LAYOUT', `cannot write a ${size}-byte integer`);
  }
}
