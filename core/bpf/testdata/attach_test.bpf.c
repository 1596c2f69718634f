// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test programs for tcx and cgroup sock_ops attachment: each counts its calls. */
#include "netprobe.h"

struct attach_test_counts {
	np_counter_t tc;
	np_counter_t sock_ops;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct attach_test_counts);
} attach_test_counts SEC(".maps");

static __always_inline struct attach_test_counts *counts(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&attach_test_counts, &zero);
}

SEC("tc")
int attach_test_tc(struct __sk_buff *skb)
{
	struct attach_test_counts *c = counts();

	if (c)
		c->tc++;
	return -1; /* TC_ACT_UNSPEC: continue as if we were not here */
}

SEC("sockops")
int attach_test_sock_ops(struct bpf_sock_ops *ops)
{
	struct attach_test_counts *c = counts();

	if (c)
		c->sock_ops++;
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
