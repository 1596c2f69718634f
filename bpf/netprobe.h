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

#endif /* NETPROBE_H */
