/**
 * libbpf's own option structs, declared once as koffi structs with the field names and
 * types of libbpf 1.1's headers (bpf/bpf.h, bpf/libbpf.h). Callers build them with
 * encodeOpts() and read results back with decodeOpts(): no byte offset is written by
 * hand anywhere else. `sz` is always koffi.sizeof(the struct), as LIBBPF_OPTS() sets it;
 * a libbpf newer than 1.1 accepts the shorter struct, and 1.1 checks that every byte it
 * does not know is zero (unset fields are zero here).
 *
 * libbpf-opts.test.ts compiles a C program against the system's headers and checks each
 * struct's size and field offsets against these declarations.
 */
import koffi from 'koffi';

/** enum bpf_tc_attach_point (libbpf.h). */
export const BPF_TC_INGRESS = 1 << 0;
export const BPF_TC_EGRESS = 1 << 1;
export const BPF_TC_CUSTOM = 1 << 2;

const bpfTcAttachPoint = koffi.enumeration(
  'bpf_tc_attach_point',
  { BPF_TC_INGRESS, BPF_TC_EGRESS, BPF_TC_CUSTOM },
  'uint32_t',
);

/** struct bpf_link_create_opts (bpf.h). */
export const bpfLinkCreateOpts = koffi.struct('bpf_link_create_opts', {
  sz: 'size_t',
  flags: 'uint32_t',
  iter_info: 'void *', // union bpf_iter_link_info *
  iter_info_len: 'uint32_t',
  target_btf_id: 'uint32_t',
  // An anonymous union in C (its members are reached as opts.perf_event, ...); koffi needs a name.
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
export const bpfTcHook = koffi.struct('bpf_tc_hook', {
  sz: 'size_t',
  ifindex: 'int',
  attach_point: bpfTcAttachPoint,
  parent: 'uint32_t',
});

/** struct bpf_tc_opts (libbpf.h). */
export const bpfTcOpts = koffi.struct('bpf_tc_opts', {
  sz: 'size_t',
  prog_fd: 'int',
  flags: 'uint32_t',
  prog_id: 'uint32_t',
  handle: 'uint32_t',
  priority: 'uint32_t',
});

/** struct bpf_map_batch_opts (bpf.h). */
export const bpfMapBatchOpts = koffi.struct('bpf_map_batch_opts', {
  sz: 'size_t',
  elem_flags: 'uint64_t',
  flags: 'uint64_t',
});

/** struct bpf_test_run_opts (bpf.h). */
export const bpfTestRunOpts = koffi.struct('bpf_test_run_opts', {
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

type OptsType = (typeof LIBBPF_OPTS)[keyof typeof LIBBPF_OPTS];

/**
 * A zeroed option struct with `sz` set to its size and the given fields encoded by koffi.
 * Pointer fields take addresses (koffi.address(buffer)): the caller keeps the buffer alive
 * for the call.
 */
export function encodeOpts(type: OptsType, fields: Record<string, unknown> = {}): Buffer {
  const size = koffi.sizeof(type);
  const buf = Buffer.alloc(size);
  koffi.encode(buf, type, { ...fields, sz: size });
  return buf;
}

/** The fields of an option struct that libbpf filled in (e.g. bpf_test_run_opts.retval). */
export function decodeOpts(buf: Buffer, type: OptsType): Record<string, unknown> {
  return koffi.decode(buf, type) as Record<string, unknown>;
}
