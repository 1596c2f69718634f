/**
 * libbpf's own option structs, declared once as koffi structs with the field names and
 * types of libbpf 1.1's headers (bpf/bpf.h, bpf/libbpf.h). libbpf-opts.test.ts compiles a
 * C program against the system's headers and checks every size and offset against them.
 *
 * The declarations are the layout; the bytes are written with plain Buffer writes at
 * koffi.offsetof(), so what goes into the struct is visible at each call. A pointer field
 * holds only an address: the caller keeps the memory it names alive until the call returns
 * (test-run.ts holds its buffers; a buffer freed by a GC before the kernel wrote into it was
 * the bench smoke test's "malloc(): unsorted double linked list corrupted").
 *
 * `sz` is the full struct size, as libbpf's LIBBPF_OPTS() sets it; fields not written stay
 * zero, which libbpf requires of the fields it does not know (OPTS_ZEROED).
 */
import koffi, { type TypeObject } from 'koffi';

/** enum bpf_tc_attach_point (libbpf.h); INGRESS | EGRESS names the clsact qdisc itself. */
export const BPF_TC_INGRESS = 1 << 0;
export const BPF_TC_EGRESS = 1 << 1;
export const BPF_TC_CUSTOM = 1 << 2;

/** Where a top-level scalar or pointer field lives, and how wide and signed it is. */
interface Field {
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
}

/** An option struct: its koffi type, and its top-level scalar fields (by name, typed). */
export interface OptsStruct<Name extends string> {
  readonly name: string;
  readonly type: TypeObject;
  readonly size: number;
  readonly fields: ReadonlyMap<Name, Field>;
}

function declare<Def extends Record<string, string | TypeObject>>(name: string, def: Def): OptsStruct<keyof Def & string> {
  const type = koffi.struct(name, def);
  const fields = new Map<keyof Def & string, Field>();
  for (const [field, member] of Object.entries(type.members ?? {})) {
    const { primitive, size } = member.type;
    if (primitive === 'Record' || primitive === 'Union' || primitive === 'Array') continue; // nothing here writes those
    fields.set(field, { offset: koffi.offsetof(type, field), size, signed: primitive.startsWith('Int') });
  }
  return { name, type, size: koffi.sizeof(type), fields };
}

/** struct bpf_link_create_opts (bpf.h). */
export const bpfLinkCreateOpts = declare('bpf_link_create_opts', {
  sz: 'size_t',
  flags: 'uint32_t',
  iter_info: 'void *', // union bpf_iter_link_info *
  iter_info_len: 'uint32_t',
  target_btf_id: 'uint32_t',
  // An anonymous union in C (its members are reached as opts.perf_event, ...): koffi needs a name.
  target: koffi.union({
    perf_event: koffi.struct({ bpf_cookie: 'uint64_t' }),
    kprobe_multi: koffi.struct({
      flags: 'uint32_t',
      cnt: 'uint32_t',
      syms: 'const char **',
      addrs: 'const unsigned long *',
      cookies: 'const uint64_t *',
    }),
    tracing: koffi.struct({ cookie: 'uint64_t' }),
  }),
});

/** struct bpf_tc_hook (libbpf.h). */
export const bpfTcHook = declare('bpf_tc_hook', {
  sz: 'size_t',
  ifindex: 'int',
  attach_point: 'uint32_t', // enum bpf_tc_attach_point
  parent: 'uint32_t',
});

/** struct bpf_tc_opts (libbpf.h). */
export const bpfTcOpts = declare('bpf_tc_opts', {
  sz: 'size_t',
  prog_fd: 'int',
  flags: 'uint32_t',
  prog_id: 'uint32_t',
  handle: 'uint32_t',
  priority: 'uint32_t',
});

/** struct bpf_map_batch_opts (bpf.h). */
export const bpfMapBatchOpts = declare('bpf_map_batch_opts', {
  sz: 'size_t',
  elem_flags: 'uint64_t',
  flags: 'uint64_t',
});

/** struct bpf_test_run_opts (bpf.h). */
export const bpfTestRunOpts = declare('bpf_test_run_opts', {
  sz: 'size_t',
  data_in: 'const void *',
  data_out: 'void *',
  data_size_in: 'uint32_t',
  data_size_out: 'uint32_t', // in: room in data_out; out: bytes written
  ctx_in: 'const void *',
  ctx_out: 'void *',
  ctx_size_in: 'uint32_t',
  ctx_size_out: 'uint32_t',
  retval: 'uint32_t', // out: the program's return value
  repeat: 'int',
  duration: 'uint32_t', // out: average ns per repetition
  flags: 'uint32_t',
  cpu: 'uint32_t',
  batch_size: 'uint32_t',
});

/** Every declared option struct by its C name (for the layout test). */
export const LIBBPF_OPTS = {
  bpf_link_create_opts: bpfLinkCreateOpts,
  bpf_tc_hook: bpfTcHook,
  bpf_tc_opts: bpfTcOpts,
  bpf_map_batch_opts: bpfMapBatchOpts,
  bpf_test_run_opts: bpfTestRunOpts,
} as const;

function fieldOf<F extends string>(struct: OptsStruct<F>, field: F): Field {
  const f = struct.fields.get(field);
  if (!f) throw new Error(`struct ${struct.name} has no scalar field ${field}`);
  return f;
}

/** A zeroed option struct with `sz` set to its size. */
export function newOpts(struct: OptsStruct<string>): Buffer {
  const buf = Buffer.alloc(struct.size);
  writeField(buf, struct, 'sz', struct.size);
  return buf;
}

/** Writes one field (a pointer as its koffi.address(): the caller keeps the memory alive for the call). */
export function writeField<F extends string>(buf: Buffer, struct: OptsStruct<F>, field: F, value: number | bigint): void {
  const { offset, size, signed } = fieldOf(struct, field);
  if (size === 8) {
    if (signed) buf.writeBigInt64LE(BigInt(value), offset);
    else buf.writeBigUInt64LE(BigInt(value), offset);
  } else if (signed) {
    buf.writeIntLE(Number(value), offset, size);
  } else {
    buf.writeUIntLE(Number(value), offset, size);
  }
}

/** Reads one field that libbpf filled in (e.g. bpf_test_run_opts.retval); 64-bit fields as bigint. */
export function readField<F extends string>(buf: Buffer, struct: OptsStruct<F>, field: F): number | bigint {
  const { offset, size, signed } = fieldOf(struct, field);
  if (size === 8) return signed ? buf.readBigInt64LE(offset) : buf.readBigUInt64LE(offset);
  return signed ? buf.readIntLE(offset, size) : buf.readUIntLE(offset, size);
}

/** An option struct with `sz` and the given fields set, every other byte zero. */
export function buildOpts<F extends string>(struct: OptsStruct<F>, fields: Partial<Record<F, number | bigint>> = {}): Buffer {
  const buf = newOpts(struct);
  for (const [field, value] of Object.entries(fields) as Array<[F, number | bigint | undefined]>) {
    if (value !== undefined) writeField(buf, struct, field, value);
  }
  return buf;
}
