/**
 * FFI declarations for the system's libbpf.so.1 (1.1 or newer) and the few libc calls we need.
 *
 * This is the only file that names libbpf symbols (its option structs are declared in
 * libbpf-opts.ts). Everything else goes through
 * object.ts, map.ts, link.ts and ringbuf.ts, which turn return codes into errors.
 * libbpf 1.x returns -errno from int functions and NULL + errno from pointer functions.
 */
import koffi from 'koffi';

/** An opaque pointer as koffi 3 represents it; 0n is NULL. */
export type Pointer = bigint;

let bindings: ReturnType<typeof bind> | undefined;

/** Loads libbpf on first use, so that commands that never touch the kernel never need it. */
export function libbpf(): ReturnType<typeof bind> {
  bindings ??= bind();
  return bindings;
}

function bind() {
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libbpf.so.1');
  } catch (err) {
    throw new Error(`loading libbpf.so.1: ${(err as Error).message} (install the Debian/Ubuntu package 'libbpf1')`);
  }
  const libc = koffi.load('libc.so.6');

  koffi.opaque('bpf_object');
  koffi.opaque('bpf_program');
  koffi.opaque('bpf_map');
  koffi.opaque('btf');
  koffi.opaque('ring_buffer');
  const printFn = koffi.proto('int libbpf_print_fn(int level, const char *fmt, void *args)');
  const sampleFn = koffi.proto('int ring_buffer_sample_fn(void *ctx, void *data, size_t size)');
  koffi.struct('timespec', { tv_sec: 'int64_t', tv_nsec: 'int64_t' }); // x86-64 and arm64 glibc
  // struct sockaddr_ll (linux/if_packet.h, kernel UAPI): 20 bytes, for core/net/packet-socket.ts.
  const sockaddrLl = koffi.struct('sockaddr_ll', {
    sll_family: 'uint16_t',
    sll_protocol: 'uint16_be_t', // __be16: network byte order
    sll_ifindex: 'int32_t',
    sll_hatype: 'uint16_t',
    sll_pkttype: 'uint8_t',
    sll_halen: 'uint8_t',
    sll_addr: koffi.array('uint8_t', 8, 'Array'),
  });

  return {
    printFn,
    sockaddrLl,
    sampleFn,
    libbpf_set_print: lib.func('void *libbpf_set_print(libbpf_print_fn *fn)'),
    libbpf_num_possible_cpus: lib.func('int libbpf_num_possible_cpus()'),
    libbpf_major_version: lib.func('uint32_t libbpf_major_version()'),
    libbpf_minor_version: lib.func('uint32_t libbpf_minor_version()'),

    bpf_object__open_file: lib.func('bpf_object *bpf_object__open_file(const char *path, void *opts)'),
    bpf_object__load: lib.func('int bpf_object__load(bpf_object *obj)'),
    bpf_object__close: lib.func('void bpf_object__close(bpf_object *obj)'),
    bpf_object__btf: lib.func('btf *bpf_object__btf(bpf_object *obj)'),
    bpf_object__next_program: lib.func('bpf_program *bpf_object__next_program(bpf_object *obj, bpf_program *prev)'),
    bpf_object__next_map: lib.func('bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *prev)'),

    bpf_program__name: lib.func('const char *bpf_program__name(bpf_program *prog)'),
    bpf_program__fd: lib.func('int bpf_program__fd(bpf_program *prog)'),
    bpf_program__set_autoload: lib.func('int bpf_program__set_autoload(bpf_program *prog, bool autoload)'),
    bpf_program__set_flags: lib.func('int bpf_program__set_flags(bpf_program *prog, uint32_t flags)'),
    bpf_program__flags: lib.func('uint32_t bpf_program__flags(bpf_program *prog)'),
    bpf_program__type: lib.func('int bpf_program__type(bpf_program *prog)'),
    libbpf_probe_bpf_helper: lib.func('int libbpf_probe_bpf_helper(int prog_type, int helper_id, void *opts)'),

    bpf_map__name: lib.func('const char *bpf_map__name(bpf_map *map)'),
    bpf_map__fd: lib.func('int bpf_map__fd(bpf_map *map)'),
    bpf_map__type: lib.func('int bpf_map__type(bpf_map *map)'),
    bpf_map__key_size: lib.func('uint32_t bpf_map__key_size(bpf_map *map)'),
    bpf_map__value_size: lib.func('uint32_t bpf_map__value_size(bpf_map *map)'),
    bpf_map__max_entries: lib.func('uint32_t bpf_map__max_entries(bpf_map *map)'),
    bpf_map__set_max_entries: lib.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t max_entries)'),
    bpf_map__is_internal: lib.func('bool bpf_map__is_internal(bpf_map *map)'),
    bpf_map__initial_value: lib.func('void *bpf_map__initial_value(bpf_map *map, _Out_ size_t *psize)'),
    bpf_map__btf_key_type_id: lib.func('uint32_t bpf_map__btf_key_type_id(bpf_map *map)'),
    bpf_map__btf_value_type_id: lib.func('uint32_t bpf_map__btf_value_type_id(bpf_map *map)'),

    btf__raw_data: lib.func('void *btf__raw_data(btf *btf, _Out_ uint32_t *size)'),
    btf__load_vmlinux_btf: lib.func('btf *btf__load_vmlinux_btf()'),
    btf__free: lib.func('void btf__free(btf *btf)'),
    btf__find_by_name_kind: lib.func('int btf__find_by_name_kind(btf *btf, const char *name, uint32_t kind)'),
    btf__type_by_id: lib.func('void *btf__type_by_id(btf *btf, uint32_t id)'),
    btf__name_by_offset: lib.func('const char *btf__name_by_offset(btf *btf, uint32_t offset)'),
    bpf_enable_stats: lib.func('int bpf_enable_stats(int type)'),
    bpf_obj_get_info_by_fd: lib.func('int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *info_len)'),
    bpf_prog_get_next_id: lib.func('int bpf_prog_get_next_id(uint32_t start_id, _Out_ uint32_t *next_id)'),
    bpf_prog_get_fd_by_id: lib.func('int bpf_prog_get_fd_by_id(uint32_t id)'),
    bpf_raw_tracepoint_open: lib.func('int bpf_raw_tracepoint_open(const char *name, int prog_fd)'),

    bpf_tc_hook_create: lib.func('int bpf_tc_hook_create(void *hook)'),
    bpf_tc_hook_destroy: lib.func('int bpf_tc_hook_destroy(void *hook)'),
    bpf_tc_attach: lib.func('int bpf_tc_attach(void *hook, void *opts)'),
    bpf_tc_detach: lib.func('int bpf_tc_detach(void *hook, void *opts)'),
    bpf_link_create: lib.func('int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)'),
    bpf_iter_create: lib.func('int bpf_iter_create(int link_fd)'),
    bpf_map_lookup_batch: lib.func(
      'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
    ),
    bpf_map_lookup_and_delete_batch: lib.func(
      'int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
    ),
    bpf_map_delete_batch: lib.func('int bpf_map_delete_batch(int fd, void *keys, _Inout_ uint32_t *count, void *opts)'),
    bpf_map_update_batch: lib.func('int bpf_map_update_batch(int fd, void *keys, void *values, _Inout_ uint32_t *count, void *opts)'),
    bpf_map_lookup_elem: lib.func('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
    bpf_map_update_elem: lib.func('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
    bpf_map_delete_elem: lib.func('int bpf_map_delete_elem(int fd, void *key)'),
    bpf_map_lookup_and_delete_elem: lib.func('int bpf_map_lookup_and_delete_elem(int fd, void *key, void *value)'),
    bpf_prog_test_run_opts: lib.func('int bpf_prog_test_run_opts(int prog_fd, void *opts)'),

    ring_buffer__new: lib.func('ring_buffer *ring_buffer__new(int map_fd, ring_buffer_sample_fn *cb, void *ctx, void *opts)'),
    ring_buffer__consume: lib.func('int ring_buffer__consume(ring_buffer *rb)'),
    ring_buffer__free: lib.func('void ring_buffer__free(ring_buffer *rb)'),

    close: libc.func('int close(int fd)'),
    mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, intptr_t offset)'),
    munmap: libc.func('int munmap(void *addr, size_t length)'),
    getpagesize: libc.func('int getpagesize()'),
    memcpy: libc.func('void *memcpy(void *dst, void *src, size_t n)'),
    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, const char *fmt, void *args)'),
    if_nametoindex: libc.func('uint32_t if_nametoindex(const char *name)'),
    strerror: libc.func('const char *strerror(int errnum)'),
    clock_gettime: libc.func('int clock_gettime(int clockid, _Out_ timespec *tp)'),
    socket: libc.func('int socket(int domain, int type, int protocol)'),
    sendto: libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const sockaddr_ll *addr, uint32_t addrlen)'),
  };
}

/** errno as the last foreign call left it. */
export function lastErrno(): number {
  return koffi.errno();
}

/** "Operation not permitted (EPERM)" style text for an errno value (positive or negative). */
export function describeErrno(code: number): string {
  const errno = Math.abs(code);
  const name = Object.entries(koffi.os.errno).find(([, value]) => value === errno)?.[0];
  const text = libbpf().strerror(errno) as string;
  return name ? `${text} (${name})` : text;
}

export { koffi };
