/**
 * The running kernel's own types, from its BTF (/sys/kernel/btf/vmlinux), for probes
 * that adapt to the kernel they run on: enum values that shift between versions (drop
 * reasons), and how many arguments a BTF-typed tracepoint passes. libbpf does the
 * lookups (parsing all of vmlinux's ~100,000 types in JavaScript takes seconds).
 */
import { libbpf, koffi, lastErrno, describeErrno, type Pointer } from './libbpf';
import { BtfKind } from './btf';

const TYPE_BYTES = 12;

export interface KernelTypes {
  /** Enumerators of `enum <name>` in the running kernel; undefined when it has no such enum. */
  enumerators(name: string): Array<{ name: string; value: number }> | undefined;
  /** Arguments the BTF-typed tracepoint `name` (e.g. `kfree_skb`) passes a program; undefined when unknown. */
  tracepointArgs(name: string): number | undefined;
}

export class KernelBtf implements KernelTypes {
  private handle: Pointer;

  private constructor(handle: Pointer) {
    this.handle = handle;
  }

  /** Loads the running kernel's BTF; throws with the reason when it has none. */
  static load(): KernelBtf {
    const handle = libbpf().btf__load_vmlinux_btf() as Pointer;
    if (!handle) throw new Error(`reading the kernel's BTF (/sys/kernel/btf/vmlinux): ${describeErrno(lastErrno())}; the kernel needs CONFIG_DEBUG_INFO_BTF`);
    return new KernelBtf(handle);
  }

  enumerators(name: string): Array<{ name: string; value: number }> | undefined {
    const id = this.find(name, BtfKind.ENUM) ?? this.find(name, BtfKind.ENUM64);
    if (id === undefined) return undefined;
    const { kind, vlen, raw } = this.type(id, (k, n) => (k === BtfKind.ENUM64 ? 12 : 8) * n);
    const entry = kind === BtfKind.ENUM64 ? 12 : 8;
    const out: Array<{ name: string; value: number }> = [];
    for (let i = 0; i < vlen; i++) {
      const at = TYPE_BYTES + i * entry;
      const value = kind === BtfKind.ENUM64 ? raw.readUInt32LE(at + 4) + raw.readUInt32LE(at + 8) * 0x1_0000_0000 : raw.readUInt32LE(at + 4);
      out.push({ name: libbpf().btf__name_by_offset(this.handle, raw.readUInt32LE(at)) as string, value });
    }
    return out;
  }

  tracepointArgs(name: string): number | undefined {
    // The kernel describes each tracepoint as `typedef void (*btf_trace_<name>)(void *, args...)`.
    const id = this.find(`btf_trace_${name}`, BtfKind.TYPEDEF);
    if (id === undefined) return undefined;
    const pointer = this.type(this.type(id).type);
    if (pointer.kind !== BtfKind.PTR) return undefined;
    const proto = this.type(pointer.type);
    return proto.kind === BtfKind.FUNC_PROTO ? proto.vlen - 1 : undefined;
  }

  /** Byte offsets of a struct's members (those not in bit fields), e.g. of UAPI's `struct bpf_prog_info`. */
  memberOffsets(structName: string): Map<string, number> | undefined {
    const id = this.find(structName, BtfKind.STRUCT);
    if (id === undefined) return undefined;
    const { vlen, raw } = this.type(id, (_, n) => 12 * n);
    const kindFlag = (raw.readUInt32LE(4) >>> 31) === 1;
    const out = new Map<string, number>();
    for (let i = 0; i < vlen; i++) {
      const at = TYPE_BYTES + i * 12;
      const offset = raw.readUInt32LE(at + 8);
      const bits = kindFlag ? offset & 0xffffff : offset;
      if (kindFlag && offset >>> 24) continue; // a bit field
      out.set(libbpf().btf__name_by_offset(this.handle, raw.readUInt32LE(at)) as string, bits / 8);
    }
    return out;
  }

  close(): void {
    if (!this.handle) return;
    libbpf().btf__free(this.handle);
    this.handle = 0n;
  }

  private find(name: string, kind: BtfKind): number | undefined {
    const id = libbpf().btf__find_by_name_kind(this.handle, name, kind) as number;
    return id > 0 ? id : undefined;
  }

  /** struct btf_type: name_off, info (vlen, kind), size/type; then `extra(kind, vlen)` bytes. */
  private type(id: number, extra: (kind: number, vlen: number) => number = () => 0): { kind: number; vlen: number; type: number; raw: Buffer } {
    const ptr = libbpf().btf__type_by_id(this.handle, id) as Pointer;
    if (!ptr) throw new Error(`kernel BTF has no type ${id}`);
    const head = Buffer.from(koffi.view(ptr, TYPE_BYTES));
    const info = head.readUInt32LE(4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const raw = Buffer.from(koffi.view(ptr, TYPE_BYTES + extra(kind, vlen)));
    return { kind, vlen, type: head.readUInt32LE(8), raw };
  }
}
