/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared definitions for every netprobe BPF program.
 *
 * Layouts shared with userspace live in each plugin's own header; the
 * TypeScript side reads them from the object's BTF, so a struct is described
 * exactly once, here in C.
 */
#ifndef NETPROBE_H
#define NETPROBE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/*
 * Semantic typedefs: the runtime recognises these names in BTF and derives
 * how to decode and aggregate a field from them.
 */
typedef __u64 np_counter_t;  /* monotonically increasing; per-CPU copies are summed */
typedef __u64 np_gauge_t;    /* instantaneous value; per-CPU copies are summed */
typedef __u64 np_ktime_t;    /* monotonic timestamp (ns); per-CPU copies: the latest wins */
typedef __u64 np_ktime_first_t; /* monotonic timestamp (ns); per-CPU copies: the earliest non-zero wins */
typedef __u64 np_jiffies_t;  /* bpf_jiffies64(): far cheaper than a clock read; per-CPU: the latest wins */
typedef __u64 np_jiffies_first_t; /* bpf_jiffies64(); per-CPU copies: the earliest non-zero wins */
typedef __u8 np_flags_t;     /* bit set; per-CPU copies are OR-ed */

/* A knob userspace writes into .rodata before load. */
#define NP_KNOB const volatile

/*
 * Multi-buffer XDP (BPF_F_XDP_HAS_FRAGS, bpf_xdp_get_buff_len) came in Linux 5.18. XDP
 * programs here use SEC("xdp") (libbpf would force the flag for "xdp.frags", which older
 * kernels reject), and the loader (core/bpf/object.ts) gives them the flag where the
 * kernel has it, else clears this knob: every frame is then one buffer, and the verifier
 * drops the helper call as dead code. So measure frames with np_xdp_frame_len().
 */
NP_KNOB __u8 np_xdp_frags = 1;

/*
 * The error of a map update or delete, as an int. Before Linux 6.4 the helpers returned the
 * map's int straight from a call the verifier patched in, so the upper 32 bits of the 64-bit
 * result are zero: on 5.10 a full table's -E2BIG reads as 0xfffffff9, and `ret == -E2BIG`
 * on the long is false (measured in a 5.10.0-32 guest). Compare errors after this.
 */
static __always_inline int np_map_err(long ret)
{
	return (int)ret;
}

/* The whole frame's length, fragments included where the kernel has them. */
static __always_inline __u64 np_xdp_frame_len(struct xdp_md *ctx)
{
	if (np_xdp_frags)
		return bpf_xdp_get_buff_len(ctx);
	return ctx->data_end - ctx->data;
}

/*
 * Keeps a struct's BTF in the object when the program only writes it through a
 * pointer (ring-buffer records), so userspace can read its layout. Costs one
 * pointer in .rodata.
 */
#define NP_EXPORT_TYPE(name) const volatile struct name *np_export_##name __attribute__((unused)) = 0

/* The same for an enum whose names userspace prints (e.g. reason codes). */
#define NP_EXPORT_ENUM(name) const volatile enum name np_export_enum_##name __attribute__((unused)) = 0

/*
 * The process behind a socket, noted in process context (cgroup sock_create and
 * connect hooks) in socket local storage, and read later where the kernel runs
 * without a process of its own (sock_ops, TC egress). Shared by every probe that tells
 * who owns a socket, so the attributes mean the same everywhere.
 */
struct np_process {
	__u32 pid;                   /* thread group id (what user space calls the PID); 0: unknown */
	__u32 pad;
	__u64 cgroup_id;             /* the process's cgroup v2 (its directory's inode number) */
	char comm[16];               /* the task's name (executable name, at most 15 bytes) */
};

/* Notes the current task in `p`: call only from a hook that runs in process context. */
static __always_inline void np_note_process(struct np_process *p)
{
	p->pid = bpf_get_current_pid_tgid() >> 32;
	p->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(p->comm, sizeof(p->comm));
}

/*
 * Socket owners, for every probe that tells which process is behind a socket:
 *
 *   NP_SOCKET_OWNER_STORAGE(flow_stats_owner);                   a map, before its readers
 *   NP_SOCKET_OWNER_HOOKS(flow_stats, flow_stats_owner, NP_OWNER_TCP | NP_OWNER_UDP);
 *
 * The storage holds a struct np_process per socket. BPF_F_CLONE: a listening socket's
 * accepted sockets get a copy, so a server's sockets carry the listener's process.
 * The hooks are the programs <prefix>_sock_create, <prefix>_connect4 and _connect6
 * (attach them at a cgroup: cgroup/sock_create, connect4, connect6), which note the
 * current process on the sockets of the given protocols in socket() and connect(),
 * both in process context: the process that connects may not be the one that created
 * the socket (passed, inherited). They never refuse a socket or a connection.
 */
#define NP_OWNER_TCP (1 << 0)
#define NP_OWNER_UDP (1 << 1)

#define NP_SOCKET_OWNER_STORAGE(name)                                   \
	struct {                                                        \
		__uint(type, BPF_MAP_TYPE_SK_STORAGE);                  \
		__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);     \
		__type(key, int);                                       \
		__type(value, struct np_process);                       \
	} name SEC(".maps")

static __always_inline void np_note_owner(void *storage, struct bpf_sock *sk, __u32 protocols)
{
	struct np_process *p;

	if (!sk)
		return;
	if (!(sk->protocol == 6 /* IPPROTO_TCP */ && (protocols & NP_OWNER_TCP)) &&
	    !(sk->protocol == 17 /* IPPROTO_UDP */ && (protocols & NP_OWNER_UDP)))
		return;
	p = bpf_sk_storage_get(storage, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (p)
		np_note_process(p);
}

#define NP_SOCKET_OWNER_HOOKS(prefix, storage, protocols)               \
	SEC("cgroup/sock_create")                                       \
	int prefix##_sock_create(struct bpf_sock *sk)                   \
	{                                                               \
		np_note_owner(&storage, sk, protocols);                 \
		return 1;                                               \
	}                                                               \
	NP_OWNER_CONNECT_HOOK(prefix, storage, protocols, 4)            \
	NP_OWNER_CONNECT_HOOK(prefix, storage, protocols, 6)

/* <prefix>_connect4 or _connect6, for NP_SOCKET_OWNER_HOOKS. */
#define NP_OWNER_CONNECT_HOOK(prefix, storage, protocols, family)       \
	SEC("cgroup/connect" #family)                                   \
	int prefix##_connect##family(struct bpf_sock_addr *ctx)         \
	{                                                               \
		np_note_owner(&storage, ctx->sk, protocols);            \
		return 1;                                               \
	}

#endif /* NETPROBE_H */
