/**
 * A reader for raw BTF (the kernel's BPF Type Format), as libbpf hands it out
 * for a BPF object. This is how TypeScript learns struct layouts and .rodata
 * offsets from the C source instead of keeping a hand-written copy.
 *
 * Format: include/uapi/linux/btf.h and Documentation/bpf/btf.rst.
 */

export enum BtfKind {
  INT = 1, PTR = 2, ARRAY = 3, STRUCT = 4, UNION = 5, ENUM = 6, FWD = 7, TYPEDEF = 8,
  VOLATILE = 9, CONST = 10, RESTRICT = 11, FUNC = 12, FUNC_PROTO = 13, VAR = 14,
  DATASEC = 15, FLOAT = 16, DECL_TAG = 17, TYPE_TAG = 18, ENUM64 = 19,
}

export interface BtfMember { name: string; type: number; bitOffset: number; bitSize: number }
export interface BtfSecInfo { type: number; offset: number; size: number }

export interface BtfType {
  id: number;
  kind: BtfKind;
  name: string;
  /** Byte size for INT, STRUCT, UNION, ENUM, DATASEC, FLOAT; otherwise 0. */
  size: number;
  /** Referenced type for PTR, TYPEDEF, modifiers, VAR, FUNC. */
  type: number;
  intSigned?: boolean;
  intBits?: number;
  array?: { type: number; nelems: number };
  members?: BtfMember[];
  secinfos?: BtfSecInfo[];
  /** ENUM / ENUM64: each enumerator's name and value. */
  enumerators?: Array<{ name: string; value: number }>;
}

const BTF_MAGIC = 0xeb9f;

export class Btf {
  /** Index 0 is the implicit `void`. */
  readonly types: BtfType[] = [{ id: 0, kind: 0 as BtfKind, name: 'void', size: 0, type: 0 }];

  constructor(raw: Buffer) {
    if (raw.length < 24 || raw.readUInt16LE(0) !== BTF_MAGIC) {
      throw new Error('not little-endian BTF (bad magic)');
    }
    const hdrLen = raw.readUInt32LE(4);
    const typeOff = hdrLen + raw.readUInt32LE(8);
    const typeLen = raw.readUInt32LE(12);
    const strOff = hdrLen + raw.readUInt32LE(16);
    const strLen = raw.readUInt32LE(20);
    if (typeOff + typeLen > raw.length || strOff + strLen > raw.length) throw new Error('truncated BTF');
    const str = (off: number): string => {
      if (off === 0) return '';
      const start = strOff + off;
      const end = raw.indexOf(0, start);
      return raw.toString('latin1', start, end < 0 ? strOff + strLen : end);
    };

    let pos = typeOff;
    const end = typeOff + typeLen;
    while (pos < end) {
      const nameOff = raw.readUInt32LE(pos);
      const info = raw.readUInt32LE(pos + 4);
      const sizeOrType = raw.readUInt32LE(pos + 8);
      pos += 12;
      const vlen = info & 0xffff;
      const kind = ((info >>> 24) & 0x1f) as BtfKind;
      const kindFlag = (info >>> 31) === 1;
      const t: BtfType = { id: this.types.length, kind, name: str(nameOff), size: 0, type: 0 };
      switch (kind) {
        case BtfKind.INT: {
          const intInfo = raw.readUInt32LE(pos);
          pos += 4;
          t.size = sizeOrType;
          t.intSigned = ((intInfo >>> 24) & 0x1) === 1;
          t.intBits = intInfo & 0xff;
          break;
        }
        case BtfKind.ARRAY:
          t.array = { type: raw.readUInt32LE(pos), nelems: raw.readUInt32LE(pos + 8) };
          pos += 12;
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          t.size = sizeOrType;
          t.members = [];
          for (let i = 0; i < vlen; i++, pos += 12) {
            const offset = raw.readUInt32LE(pos + 8);
            t.members.push({
              name: str(raw.readUInt32LE(pos)),
              type: raw.readUInt32LE(pos + 4),
              bitOffset: kindFlag ? offset & 0xffffff : offset,
              bitSize: kindFlag ? offset >>> 24 : 0,
            });
          }
          break;
        case BtfKind.ENUM:
          t.size = sizeOrType;
          t.enumerators = [];
          for (let i = 0; i < vlen; i++, pos += 8) {
            t.enumerators.push({ name: str(raw.readUInt32LE(pos)), value: kindFlag ? raw.readInt32LE(pos + 4) : raw.readUInt32LE(pos + 4) });
          }
          break;
        case BtfKind.ENUM64:
          t.size = sizeOrType;
          t.enumerators = [];
          for (let i = 0; i < vlen; i++, pos += 12) {
            t.enumerators.push({ name: str(raw.readUInt32LE(pos)), value: raw.readUInt32LE(pos + 4) + raw.readUInt32LE(pos + 8) * 0x1_0000_0000 });
          }
          break;
        case BtfKind.FUNC_PROTO:
          t.type = sizeOrType;
          pos += 8 * vlen;
          break;
        case BtfKind.VAR:
          t.type = sizeOrType;
          pos += 4;
          break;
        case BtfKind.DATASEC:
          t.size = sizeOrType;
          t.secinfos = [];
          for (let i = 0; i < vlen; i++, pos += 12) {
            t.secinfos.push({ type: raw.readUInt32LE(pos), offset: raw.readUInt32LE(pos + 4), size: raw.readUInt32LE(pos + 8) });
          }
          break;
        case BtfKind.DECL_TAG:
          t.type = sizeOrType;
          pos += 4;
          break;
        case BtfKind.FLOAT:
          t.size = sizeOrType;
          break;
        case BtfKind.PTR: case BtfKind.FWD: case BtfKind.TYPEDEF: case BtfKind.VOLATILE:
        case BtfKind.CONST: case BtfKind.RESTRICT: case BtfKind.FUNC: case BtfKind.TYPE_TAG:
          t.type = sizeOrType;
          break;
        default:
          throw new Error(`unknown BTF kind ${kind} at type ${t.id}`);
      }
      this.types.push(t);
    }
  }

  type(id: number): BtfType {
    const t = this.types[id];
    if (!t) throw new Error(`BTF type id ${id} out of range`);
    return t;
  }

  find(kind: BtfKind, name: string): BtfType | undefined {
    return this.types.find((t) => t.kind === kind && t.name === name);
  }

  /** The enumerators of `enum <name>`, or undefined if the enum is not in the BTF. */
  enumerators(name: string): Array<{ name: string; value: number }> | undefined {
    return this.types.find((t) => (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) && t.name === name)?.enumerators;
  }

  /** Follows typedefs and const/volatile/restrict/type tags down to the real type. */
  resolve(id: number): BtfType {
    let t = this.type(id);
    while (
      t.kind === BtfKind.TYPEDEF || t.kind === BtfKind.VOLATILE || t.kind === BtfKind.CONST ||
      t.kind === BtfKind.RESTRICT || t.kind === BtfKind.TYPE_TAG
    ) {
      t = this.type(t.type);
    }
    return t;
  }

  /** The first typedef name on the way to the real type (e.g. `np_counter_t`), if any. */
  typedefName(id: number): string | undefined {
    let t = this.type(id);
    while (t.kind === BtfKind.VOLATILE || t.kind === BtfKind.CONST || t.kind === BtfKind.RESTRICT || t.kind === BtfKind.TYPE_TAG) {
      t = this.type(t.type);
    }
    return t.kind === BtfKind.TYPEDEF ? t.name : undefined;
  }

  sizeOf(id: number): number {
    const t = this.resolve(id);
    switch (t.kind) {
      case BtfKind.ARRAY:
        return t.array!.nelems * this.sizeOf(t.array!.type);
      case BtfKind.PTR:
        return 8;
      default:
        return t.size;
    }
  }

  /** Value -> name of `enum <name>`, e.g. for reason codes the C program defines. */
  enumNames(name: string): Map<number, string> {
    const enumerators = this.enumerators(name);
    if (!enumerators) throw new Error(`enum ${name} not found in BTF (use NP_EXPORT_ENUM)`);
    return new Map(enumerators.map((e) => [e.value, e.name]));
  }

  /** A variable in a data section (e.g. a `const volatile` knob in `.rodata`). */
  findVar(section: string, name: string): { offset: number; size: number; type: number } | undefined {
    for (const sec of this.types) {
      if (sec.kind !== BtfKind.DATASEC || !sec.name.endsWith(section)) continue;
      for (const info of sec.secinfos!) {
        const v = this.type(info.type);
        if (v.kind === BtfKind.VAR && v.name === name) return { offset: info.offset, size: info.size, type: v.type };
      }
    }
    return undefined;
  }
}
