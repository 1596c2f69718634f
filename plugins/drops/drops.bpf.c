// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet drops with the kernel's reason, from the skb:kfree_skb tracepoint (BTF-typed:
 * tp_btf, no kprobes). The kernel calls it for every skb freed as a drop; consumed skbs
 * (SKB_CONSUMED, the normal end of a packet) go to skb:consume_skb instead and are not
 * seen here. Kept: IPv4 and IPv6 packets (skb->protocol) of the collector's network
 * namespace, minus the reasons userspace asked to ignore. Each drop is counted in a
 * per-CPU series (reason, interface, direction, IP version, protocol); within a
 * per-CPU budget, it also goes to a ring buffer with its addresses and ports.
 */
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "drops.h"

/* The collector's network namespace (its inode number): drops elsewhere are not ours. */
NP_KNOB __u64 netns_ino = 0;
/* 1 when the tracepoint carries a reason (Linux 5.17+): reading it elsewhere would not load. */
NP_KNOB __u8 has_reason = 1;
/* Reasons not counted (e.g. NOT_SPECIFIED), as the running kernel numbers them. */
NP_KNOB __u32 ignored_reasons[16] = {};
NP_KNOB __u32 ignored_len = 0;
/* 1: count only drops on the interfaces in drops_interfaces. */
NP_KNOB __u8 filter_interfaces = 0;
/* Drop records per second and CPU; 0: none. */
NP_KNOB __u32 records_per_cpu_second = 0;

/* Just the kernel fields read here; libbpf relocates their offsets from the kernel's BTF. */
struct ns_common___np {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___np {
	struct ns_common___np ns;
} __attribute__((preserve_access_index));

struct possible_net_t___np {
	struct net___np *net;
} __attribute__((preserve_access_index));

struct net_device___np {
	int ifindex;
	struct possible_net_t___np nd_net;
} __attribute__((preserve_access_index));

struct sock_common___np {
	struct possible_net_t___np skc_net;
} __attribute__((preserve_access_index));

struct sock___np {
	struct sock_common___np __sk_common;
} __attribute__((preserve_access_index));

struct sk_buff___np {
	struct net_device___np *dev;
	struct sock___np *sk;
	int skb_iif;
	unsigned int len;
	__be16 protocol;
	__u16 network_header;
	unsigned char *head;
	unsigned char *data;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* resized by userspace (max_series) */
	__type(key, struct drops_key);
	__type(value, struct drops_value);
} drops_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drops_stats);
} drops_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);   /* ifindex */
	__type(value, __u8);
} drops_interfaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drops_budget);
} drops_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 262144); /* resized by userspace (ring_buffer_bytes) */
} drops_events SEC(".maps");

NP_EXPORT_TYPE(drops_event);
NP_EXPORT_ENUM(drops_direction);
NP_EXPORT_ENUM(drops_reason_marker);

static __always_inline int ignored(__u32 reason)
{
	for (__u32 i = 0; i < 16; i++) {
		if (i >= ignored_len)
			return 0;
		if (ignored_reasons[i] == reason)
			return 1;
	}
	return 0;
}

static __always_inline int in_our_netns(struct sk_buff___np *skb)
{
	struct net___np *net = 0;
	struct net_device___np *dev = BPF_CORE_READ(skb, dev);

	if (dev) {
		net = BPF_CORE_READ(dev, nd_net.net);
	} else {
		struct sock___np *sk = BPF_CORE_READ(skb, sk);

		if (sk)
			net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	}
	return net && BPF_CORE_READ(net, ns.inum) == netns_ino;
}

/* A token from this CPU's budget: records_per_cpu_second, up to one second's worth saved. */
static __always_inline int take_token(void)
{
	__u32 zero = 0;
	struct drops_budget *b = bpf_map_lookup_elem(&drops_budget, &zero);
	__u64 now, elapsed, full = (__u64)records_per_cpu_second * 1000;

	if (!b || !records_per_cpu_second)
		return 0;
	now = bpf_ktime_get_ns();
	elapsed = now - b->last_ns;
	b->last_ns = now;
	/* elapsed (<= 1e9 ns) * rate (<= 1e6) stays far inside 64 bits. */
	b->millitokens = elapsed >= 1000000000ULL ? full : b->millitokens + elapsed * records_per_cpu_second / 1000000;
	if (b->millitokens > full)
		b->millitokens = full;
	if (b->millitokens < 1000)
		return 0;
	b->millitokens -= 1000;
	return 1;
}

/*
 * Reads the IP header at the skb's network header (the receive path before IP sets it
 * leaves it at the start of data, which is where it is then too). False when it does
 * not hold the version skb->protocol announced: the drop is counted without addresses.
 */
static __always_inline int read_headers(struct sk_buff___np *skb, __u8 version, struct drops_event *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	unsigned char *nh = head + BPF_CORE_READ(skb, network_header);
	__u8 first;

	if (bpf_probe_read_kernel(&first, 1, nh) || (first >> 4) != version) {
		nh = BPF_CORE_READ(skb, data);
		if (bpf_probe_read_kernel(&first, 1, nh) || (first >> 4) != version)
			return 0;
	}
	unsigned char *l4;
	if (version == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), nh) || ip.ihl < 5)
			return 0;
		e->protocol = ip.protocol;
		e->length = bpf_ntohs(ip.tot_len);
		__builtin_memset(e->src, 0, 10);
		e->src[10] = 0xff;
		e->src[11] = 0xff;
		__builtin_memcpy(&e->src[12], &ip.saddr, 4);
		__builtin_memcpy(e->dst, e->src, 12);
		__builtin_memcpy(&e->dst[12], &ip.daddr, 4);
		if (ip.frag_off & bpf_htons(0x1fff))
			return 1; /* a later fragment: no ports */
		l4 = nh + ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), nh))
			return 0;
		e->protocol = ip6.nexthdr; /* extension headers are not walked */
		e->length = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
		__builtin_memcpy(e->src, &ip6.saddr, 16);
		__builtin_memcpy(e->dst, &ip6.daddr, 16);
		l4 = nh + sizeof(ip6);
	}
	if (e->protocol == IPPROTO_TCP || e->protocol == IPPROTO_UDP || e->protocol == IPPROTO_SCTP) {
		__be16 ports[2];

		if (!bpf_probe_read_kernel(ports, sizeof(ports), l4)) {
			e->src_port = bpf_ntohs(ports[0]);
			e->dst_port = bpf_ntohs(ports[1]);
			e->has_ports = 1;
		}
	} else if (e->protocol == IPPROTO_ICMP || e->protocol == IPPROTO_ICMPV6) {
		__u8 tc[2];

		if (!bpf_probe_read_kernel(tc, sizeof(tc), l4)) {
			e->src_port = tc[0];
			e->dst_port = tc[1];
			e->has_ports = 1;
		}
	}
	return 1;
}

SEC("tp_btf/kfree_skb")
int drops_kfree_skb(__u64 *ctx)
{
	struct sk_buff___np *skb = (void *)ctx[0];
	__u32 zero = 0, reason = DROPS_REASON_UNKNOWN;
	__be16 proto = BPF_CORE_READ(skb, protocol);
	__u8 version;

	if (proto == bpf_htons(ETH_P_IP))
		version = 4;
	else if (proto == bpf_htons(ETH_P_IPV6))
		version = 6;
	else
		return 0; /* not IP: AF_UNIX, netlink, ARP, ... are out of scope */
	if (has_reason)
		reason = (__u32)ctx[2]; /* dead code on kernels without it: the verifier never sees the read */
	if (ignored(reason) || !in_our_netns(skb))
		return 0;

	struct drops_event e = {};
	int iif = BPF_CORE_READ(skb, skb_iif);

	e.reason = reason;
	e.length = BPF_CORE_READ(skb, len); /* the IP length replaces it when the header is read */
	e.ip_version = version;
	if (iif) {
		e.direction = DROPS_DIRECTION_RECEIVE;
		e.ifindex = iif;
	} else {
		e.direction = DROPS_DIRECTION_TRANSMIT;
		e.ifindex = BPF_CORE_READ(skb, dev, ifindex); /* 0 without a device */
	}
	if (filter_interfaces && !bpf_map_lookup_elem(&drops_interfaces, &e.ifindex))
		return 0;
	int parsed = read_headers(skb, version, &e);

	struct drops_key key = {
		.reason = reason, .ifindex = e.ifindex, .direction = e.direction,
		.ip_version = version, .protocol = parsed ? e.protocol : 0,
	};
	struct drops_stats *stats = bpf_map_lookup_elem(&drops_stats, &zero);
	struct drops_value *v = bpf_map_lookup_elem(&drops_counts, &key);

	if (!v) {
		struct drops_value fresh = {};

		bpf_map_update_elem(&drops_counts, &key, &fresh, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&drops_counts, &key);
	}
	if (v) {
		v->packets++;
		v->bytes += e.length;
	} else if (stats) {
		stats->table_full++;
		stats->table_full_bytes += e.length;
	}
	if (!stats)
		return 0;
	if (!take_token()) {
		if (records_per_cpu_second)
			stats->suppressed++;
		return 0;
	}
	e.location = ctx[1];
	if (!parsed)
		e.protocol = 0;
	if (bpf_ringbuf_output(&drops_events, &e, sizeof(e), 0))
		stats->ringbuf_dropped++;
	else
		stats->records++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
