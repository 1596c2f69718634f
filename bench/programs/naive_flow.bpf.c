// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A comparison point, not a probe: flow accounting done the straightforward way
 * (one shared hash, atomic adds, a clock read per packet), as commonly written.
 * The benchmarks measure flow_stats against it in the same run.
 */
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "netprobe.h"

struct naive_key {
	__u32 src;
	__u32 dst;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct naive_value {
	__u64 packets;
	__u64 bytes;
	__u64 last_seen;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct naive_key);
	__type(value, struct naive_value);
} naive_flows SEC(".maps");

SEC("xdp")
int naive_flow(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *l4 = (void *)(ip + 1);
	struct naive_key key = {};
	struct naive_value *v;

	if ((void *)(l4 + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	key.src = ip->saddr;
	key.dst = ip->daddr;
	key.proto = ip->protocol;
	key.sport = l4->source;
	key.dport = l4->dest;
	v = bpf_map_lookup_elem(&naive_flows, &key);
	if (!v) {
		struct naive_value zero = {};

		bpf_map_update_elem(&naive_flows, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&naive_flows, &key);
		if (!v)
			return XDP_PASS;
	}
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, data_end - data);
	v->last_seen = bpf_ktime_get_ns();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
