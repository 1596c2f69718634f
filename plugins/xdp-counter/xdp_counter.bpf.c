// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Counts received frames and bytes per interface, with a frame-size histogram.
 * Always returns XDP_PASS: this probe observes, it never changes traffic.
 */
#include "xdp_counter.h"

/* Histogram boundaries (inclusive upper bounds, ascending); set by userspace before load. */
NP_KNOB __u32 size_bounds[XDP_COUNTER_MAX_BOUNDS] = { 64, 128, 256, 512, 1024, 1518, 9000 };
NP_KNOB __u32 size_bounds_len = 7;

/*
 * An interface's slot is its ifindex & slot_mask. Userspace picks the smallest mask
 * under which every interface it attaches to has a slot of its own, and sizes the
 * table to mask + 1 entries: one inlined array lookup per frame, no hashing.
 */
NP_KNOB __u32 slot_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);    /* slot_mask + 1; resized by userspace */
	__type(key, __u32);        /* slot: ifindex & slot_mask */
	__type(value, struct xdp_counter_value);
} xdp_counter_stats SEC(".maps");

static __always_inline __u32 size_bucket(__u64 len)
{
	__u32 i;

	for (i = 0; i < XDP_COUNTER_MAX_BOUNDS; i++) {
		if (i >= size_bounds_len || len <= size_bounds[i])
			return i;
	}
	return XDP_COUNTER_MAX_BOUNDS;
}

SEC("xdp") /* loaded multi-buffer aware where the kernel can (see np_xdp_frags): jumbo frames are fine */
int xdp_counter(struct xdp_md *ctx)
{
	__u32 slot = ctx->ingress_ifindex & slot_mask;
	struct xdp_counter_value *value;
	__u64 len;
	__u32 bucket;

	value = bpf_map_lookup_elem(&xdp_counter_stats, &slot);
	if (!value)
		return XDP_PASS; /* cannot happen: the table has mask + 1 slots */

	/* Whole frame, including fragments of multi-buffer frames (where the kernel has them). */
	len = np_xdp_frame_len(ctx);
	/* Per-CPU value: no other writer, so no atomics are needed. */
	value->packets++;
	value->bytes += len;
	bucket = size_bucket(len);
	if (bucket <= XDP_COUNTER_MAX_BOUNDS)
		value->size_buckets[bucket]++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
