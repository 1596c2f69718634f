// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test program for the ring-buffer consumer: one record per run, drops counted. */
#include "netprobe.h"

struct ringbuf_test_record {
	__u64 seq;
	__u32 len;
	__u32 pad;
};

NP_EXPORT_TYPE(ringbuf_test_record);

struct ringbuf_test_counters {
	np_counter_t submitted;
	np_counter_t dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ringbuf_test_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ringbuf_test_counters);
} ringbuf_test_counters SEC(".maps");

SEC("xdp")
int ringbuf_test(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct ringbuf_test_counters *c = bpf_map_lookup_elem(&ringbuf_test_counters, &zero);
	struct ringbuf_test_record *rec;

	if (!c)
		return XDP_PASS;
	rec = bpf_ringbuf_reserve(&ringbuf_test_events, sizeof(*rec), 0);
	if (!rec) {
		c->dropped++;
		return XDP_PASS;
	}
	rec->seq = c->submitted++;
	rec->len = ctx->data_end - ctx->data;
	rec->pad = 0;
	bpf_ringbuf_submit(rec, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
