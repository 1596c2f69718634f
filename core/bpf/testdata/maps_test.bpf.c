// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test object for map batch reads and layout decoding; its program is never attached. */
#include "netprobe.h"

struct maps_test_value {
	np_counter_t packets;
	np_ktime_t last_seen;
	__u8 addr[16];
	__u32 ports[2];
	struct {
		__u16 a;
		__u16 b;
	} inner;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 20000);
	__type(key, __u32);
	__type(value, struct maps_test_value);
} maps_test_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct maps_test_value);
} maps_test_percpu SEC(".maps");

SEC("xdp")
int maps_test(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct maps_test_value *v = bpf_map_lookup_elem(&maps_test_percpu, &key);

	if (v)
		v->packets++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
