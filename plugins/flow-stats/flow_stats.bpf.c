// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-flow traffic accounting: XDP on ingress, TC on egress (and on ingress when
 * XDP is taken). The hot path is one parse and, for the flow this CPU saw last, a
 * few adds to its slot; other flows take one per-CPU hash update. Protocol and
 * per-port totals are derived from the flows in userspace. Every packet is
 * counted somewhere (a flow, or the untracked table with a reason) and always
 * continues: XDP_PASS / TC_ACT_UNSPEC.
 */
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/errno.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "flow_stats.h"

#define TC_ACT_UNSPEC (-1)
#define ETH_P_8021AD_ 0x88A8
#define MAX_VLAN_TAGS 2
#define MAX_IPV6_EXT 6
#define IPPROTO_MH_ 135

NP_EXPORT_ENUM(flow_reason);
NP_EXPORT_ENUM(untracked_reason);
NP_EXPORT_ENUM(flow_direction);
NP_EXPORT_ENUM(flow_filter);
NP_EXPORT_ENUM(flow_port_bits);

/* Knobs, set by userspace before load. */
NP_KNOB __u32 sample_rate = 1;      /* count 1 in N packets, weighted by N */
NP_KNOB __u32 filter_flags = 0;     /* FILTER_* bits */
NP_KNOB __u32 bench_flow_spread = 0; /* benchmarks only: vary the source port over N values */
/* Non-IP frames: an interface's slot is ifindex & ifindex_slot_mask (see core/net/ifindex-slots.ts). */
NP_KNOB __u32 ifindex_slot_mask = 0;
/* 1: note the process behind locally sent TCP/UDP flows (process_identity in the config). */
NP_KNOB __u8 process_identity = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 131072); /* resized from the config */
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flow_stats_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hot_slot);
} flow_stats_hot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct untracked_key);
	__type(value, struct untracked_value);
} flow_stats_untracked SEC(".maps");

/*
 * Untagged non-IP frames (ARP, LLDP...), per interface and direction: an array
 * lookup instead of the untracked hash. Read with the untracked table as non_ip.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* 2 * (ifindex_slot_mask + 1); resized by userspace */
	__type(key, __u32);     /* (ifindex & ifindex_slot_mask) << 1 | direction */
	__type(value, struct untracked_value);
} flow_stats_non_ip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOW_REASON_MAX);
	__type(key, __u32);
	__type(value, struct reason_value);
} flow_stats_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cidr_key);
	__type(value, __u8);
} flow_stats_include_cidrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cidr_key);
	__type(value, __u8);
} flow_stats_exclude_cidrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8); /* PORT_INCLUDE | PORT_EXCLUDE */
} flow_stats_port_filter SEC(".maps");

/*
 * The process behind each TCP/UDP socket, set in process context (socket(), connect())
 * by the cgroup hooks below, read at TC egress from skb->sk; a server's flows carry the
 * listener's process (BPF_F_CLONE, see netprobe.h).
 */
NP_SOCKET_OWNER_STORAGE(flow_stats_owner);

/*
 * The process of each locally sent flow, keyed by its flow_key as sent with ifindex 0
 * (any interface). Least recently used entries make room; resized from the config.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, struct flow_key);
	__type(value, struct np_process);
} flow_stats_processes SEC(".maps");

/* What the parser found. */
struct parsed {
	struct flow_key key;
	__u8 tcp_flags;
	__u8 reason;     /* enum flow_reason */
	__u16 hdr_len;   /* bytes up to the end of the transport header (for GSO) */
};

static __always_inline void map_ipv4(__u8 *dst, __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

/* Transport header at `l4`: ports (or ICMP type/code) and TCP flags. */
static __always_inline void parse_l4(struct parsed *p, void *l4, void *data, void *data_end)
{
	__u8 proto = p->key.protocol;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			goto truncated;
		p->key.src_port = bpf_ntohs(th->source);
		p->key.dst_port = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[13];
		p->hdr_len = (__u16)((l4 - data) + th->doff * 4);
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			goto truncated;
		p->key.src_port = bpf_ntohs(uh->source);
		p->key.dst_port = bpf_ntohs(uh->dest);
		p->hdr_len = (__u16)((l4 - data) + sizeof(*uh));
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		__u8 *icmp = l4;

		if ((void *)(icmp + 2) > data_end)
			goto truncated;
		p->key.src_port = icmp[0]; /* type */
		p->key.dst_port = icmp[1]; /* code */
		p->hdr_len = (__u16)((l4 - data) + 8);
	} else {
		p->hdr_len = (__u16)(l4 - data);
	}
	return;
truncated:
	p->reason = FLOW_TRUNC_L4;
	p->hdr_len = (__u16)(l4 - data);
}

static __always_inline int parse_ipv4(struct parsed *p, void *l3, void *data, void *data_end)
{
	struct iphdr *iph = l3;
	__u32 ihl_bytes;

	if ((void *)(iph + 1) > data_end) {
		p->reason = FLOW_TRUNC_IPV4;
		return -1;
	}
	ihl_bytes = iph->ihl * 4;
	if (iph->version != 4 || ihl_bytes < sizeof(*iph)) {
		p->reason = FLOW_BAD_IPV4;
		return -1;
	}
	p->key.ip_version = 4;
	p->key.protocol = iph->protocol;
	map_ipv4(p->key.src, iph->saddr);
	map_ipv4(p->key.dst, iph->daddr);
	if (iph->frag_off & bpf_htons(0x1fff)) {
		/* Only the first fragment carries the transport header. */
		p->reason = FLOW_FRAGMENT;
		p->key.fragment = 1;
		p->hdr_len = (__u16)((l3 - data) + ihl_bytes);
		return 0;
	}
	if (l3 + ihl_bytes > data_end) {
		p->reason = FLOW_TRUNC_IPV4; /* options cut short */
		return -1;
	}
	parse_l4(p, l3 + ihl_bytes, data, data_end);
	return 0;
}

/* The extension headers we walk over to find the transport header. */
static __always_inline int is_ipv6_ext(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
	       next == IPPROTO_FRAGMENT || next == IPPROTO_AH || next == IPPROTO_MH_;
}

static __always_inline int parse_ipv6(struct parsed *p, void *l3, void *data, void *data_end)
{
	struct ipv6hdr *ip6 = l3;
	void *cursor;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > data_end) {
		p->reason = FLOW_TRUNC_IPV6;
		return -1;
	}
	p->key.ip_version = 6;
	__builtin_memcpy(p->key.src, &ip6->saddr, 16);
	__builtin_memcpy(p->key.dst, &ip6->daddr, 16);
	next = ip6->nexthdr;
	cursor = ip6 + 1;

	/* A bounded walk over extension headers. */
	for (i = 0; i < MAX_IPV6_EXT; i++) {
		__u8 *ext = cursor;

		if (!is_ipv6_ext(next))
			break;
		if ((void *)(ext + 8) > data_end) {
			p->key.protocol = next;
			p->reason = FLOW_TRUNC_IPV6_EXT;
			return -1;
		}
		if (next == IPPROTO_FRAGMENT) {
			/* Offset in the upper 13 bits of bytes 2-3. */
			__u16 frag = ((__u16)ext[2] << 8 | ext[3]) & 0xfff8;

			next = ext[0];
			cursor = ext + 8;
			if (frag) {
				p->key.protocol = next;
				p->reason = FLOW_FRAGMENT;
				p->key.fragment = 1;
				p->hdr_len = (__u16)(cursor - data);
				return 0;
			}
			continue;
		}
		/* AH counts its length in 4-byte units minus 2; the others in 8-byte units minus 1. */
		cursor = ext + (next == IPPROTO_AH ? ((__u32)ext[1] + 2) * 4 : ((__u32)ext[1] + 1) * 8);
		next = ext[0];
	}
	if (i == MAX_IPV6_EXT && is_ipv6_ext(next)) {
		p->key.protocol = next;
		p->reason = FLOW_IPV6_EXT_TOO_DEEP;
		return -1;
	}
	p->key.protocol = next;
	parse_l4(p, cursor, data, data_end);
	return 0;
}

/* Ethernet, up to two VLAN tags, then IPv4 or IPv6. */
static __always_inline void parse_packet(struct parsed *p, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	void *cursor;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end) {
		p->reason = FLOW_TRUNC_ETH;
		return;
	}
	proto = eth->h_proto;
	cursor = eth + 1;
	for (i = 0; i < MAX_VLAN_TAGS + 1; i++) {
		__be16 *tag = cursor;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		if (i == MAX_VLAN_TAGS) {
			p->reason = FLOW_VLAN_TOO_DEEP;
			return;
		}
		if ((void *)(tag + 2) > data_end) {
			p->reason = FLOW_TRUNC_VLAN;
			return;
		}
		proto = tag[1];
		cursor = tag + 2;
	}
	if (proto == bpf_htons(ETH_P_IP))
		parse_ipv4(p, cursor, data, data_end);
	else if (proto == bpf_htons(ETH_P_IPV6))
		parse_ipv6(p, cursor, data, data_end);
	else
		p->reason = FLOW_NON_IP;
}

static __always_inline void count_reason(__u32 reason)
{
	struct reason_value *r = bpf_map_lookup_elem(&flow_stats_reasons, &reason);

	if (r)
		r->packets++;
}

static __always_inline void count_untracked_key(struct flow_key *key, __u8 reason, __u64 packets, __u64 bytes)
{
	struct untracked_key k = {
		.ifindex = key->ifindex,
		.direction = key->direction,
		.ip_version = key->ip_version,
		.protocol = key->protocol,
		.reason = reason,
	};
	struct untracked_value *v = bpf_map_lookup_elem(&flow_stats_untracked, &k);

	if (!v) {
		struct untracked_value zero = {};

		bpf_map_update_elem(&flow_stats_untracked, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&flow_stats_untracked, &k);
		if (!v)
			return; /* 4096 (interface, direction, protocol, reason) combinations: cannot fill in practice */
	}
	v->packets += packets;
	v->bytes += bytes;
}

static __always_inline void count_untracked(struct parsed *p, __u8 reason, __u64 packets, __u64 bytes)
{
	count_untracked_key(&p->key, reason, packets, bytes);
}

static __always_inline int cidr_match(void *trie, __u8 *addr)
{
	struct cidr_key k = { .prefixlen = 128 };

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(trie, &k) != NULL;
}

static __always_inline __u8 port_bits(__u16 port)
{
	__u32 k = port;
	__u8 *bits = bpf_map_lookup_elem(&flow_stats_port_filter, &k);

	return bits ? *bits : 0;
}

/* True when the configured filters keep this flow out of the flow table. */
static __always_inline int filtered_out(struct parsed *p)
{
	int has_ports = p->key.protocol == IPPROTO_TCP || p->key.protocol == IPPROTO_UDP;

	if (filter_flags & FILTER_INCLUDE_CIDRS) {
		if (!cidr_match(&flow_stats_include_cidrs, p->key.src) && !cidr_match(&flow_stats_include_cidrs, p->key.dst))
			return 1;
	}
	if (filter_flags & FILTER_EXCLUDE_CIDRS) {
		if (cidr_match(&flow_stats_exclude_cidrs, p->key.src) || cidr_match(&flow_stats_exclude_cidrs, p->key.dst))
			return 1;
	}
	if (filter_flags & (FILTER_INCLUDE_PORTS | FILTER_EXCLUDE_PORTS)) {
		__u8 bits = has_ports ? port_bits(p->key.src_port) | port_bits(p->key.dst_port) : 0;

		if ((filter_flags & FILTER_INCLUDE_PORTS) && !(bits & PORT_INCLUDE))
			return 1;
		if ((filter_flags & FILTER_EXCLUDE_PORTS) && (bits & PORT_EXCLUDE))
			return 1;
	}
	return 0;
}

#define barrier() asm volatile("" ::: "memory")

/*
 * Adds counts to a flow's entry in the table, creating it if needed. Runs on the
 * CPU whose per-CPU copy it changes, from a packet or from a flush; a packet can
 * interrupt a flush (never the reverse), so the flush's adds are atomic.
 */
static __always_inline void table_add(struct flow_key *key, struct flow_value *add)
{
	struct flow_value *v = bpf_map_lookup_elem(&flow_stats_flows, key);
	int err;

	if (!v) {
		/* Inserting from BPF zeroes the other CPUs' copies, so a re-used slot starts clean. */
		err = np_map_err(bpf_map_update_elem(&flow_stats_flows, key, add, BPF_NOEXIST));
		if (!err)
			return;
		v = err == -EEXIST /* another CPU created it first */ ? bpf_map_lookup_elem(&flow_stats_flows, key) : NULL;
		if (!v) {
			count_untracked_key(key, UNTRACKED_TABLE_FULL, add->packets, add->bytes);
			return;
		}
	}
	__sync_fetch_and_add(&v->packets, add->packets);
	__sync_fetch_and_add(&v->bytes, add->bytes);
	__sync_fetch_and_add(&v->syns, add->syns);
	if (!v->first_seen || add->first_seen < v->first_seen)
		v->first_seen = add->first_seen;
	if (add->last_seen > v->last_seen)
		v->last_seen = add->last_seen;
	v->tcp_flags |= add->tcp_flags;
}

static __always_inline int same_flow(struct flow_key *a, struct flow_key *b)
{
	__u32 *x = (__u32 *)a, *y = (__u32 *)b;
	int i;

	for (i = 0; i < sizeof(*a) / 4; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/*
 * CLOCK_MONOTONIC as of the last tick: userspace reads the same clock, so no rate is
 * guessed, and a tick (1-10 ms) is fine for flow times. The coarse helper is 5.11+; before,
 * the exact one (the same clock, a little dearer). The kernel's own enum decides at load
 * (CO-RE), and the verifier never sees the call the kernel does not have.
 */
static __always_inline __u64 monotonic_ns(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}

/*
 * The hot path: the CPU's slot holds the last flow it saw. Same flow: add to the
 * slot. Another flow: the slot's counts go to the table and the slot takes the new
 * flow. While a flush is running on this CPU (busy), go to the table directly.
 * Returns 1 when the packet was not of the slot's flow (a flow new to this CPU).
 */
static __always_inline int account_flow(struct parsed *p, __u64 packets, __u64 bytes)
{
	__u64 syn = (p->tcp_flags & 0x12) == 0x02 ? packets : 0; /* SYN without ACK */
	__u32 zero = 0;
	struct hot_slot *slot;

	if (bench_flow_spread) {
		/* Benchmarks only (a constant 0 otherwise, so the verifier drops this): many flows from one frame. */
		static __u32 spread;
		__u32 n = spread++ % bench_flow_spread;

		p->key.src_port ^= (__u16)n;
		p->key.dst_port ^= (__u16)(n >> 16);
	}
	slot = bpf_map_lookup_elem(&flow_stats_hot, &zero);
	if (slot && !slot->busy) {
		int missed = 0;

		slot->busy = 1;
		barrier();
		/*
		 * The coarse clock only moves at a tick, and so do jiffies: the clock is read (a helper
		 * call, dear on the live path) only when they moved. bpf_jiffies64() is inlined into
		 * one load. Off by at most one tick (the two move a moment apart): tick resolution.
		 */
		__u64 jiffies = bpf_jiffies64();

		if (slot->valid && same_flow(&slot->key, &p->key)) {
			slot->pending.packets += packets;
			slot->pending.bytes += bytes;
			slot->pending.syns += syn;
			if (jiffies != slot->seen_jiffies) {
				slot->pending.last_seen = monotonic_ns();
				slot->seen_jiffies = jiffies;
			}
			slot->pending.tcp_flags |= p->tcp_flags;
		} else {
			__u64 now = monotonic_ns();

			missed = 1;
			if (slot->valid)
				table_add(&slot->key, &slot->pending);
			slot->key = p->key;
			slot->pending.packets = packets;
			slot->pending.bytes = bytes;
			slot->pending.syns = syn;
			slot->pending.first_seen = now;
			slot->pending.last_seen = now;
			slot->pending.tcp_flags = p->tcp_flags;
			slot->seen_jiffies = jiffies;
			slot->valid = 1;
		}
		barrier();
		slot->busy = 0;
		return missed;
	}
	{
		__u64 now = monotonic_ns();
		struct flow_value add = {
			.packets = packets, .bytes = bytes, .syns = syn, .first_seen = now, .last_seen = now, .tcp_flags = p->tcp_flags,
		};

		table_add(&p->key, &add);
	}
	return 1;
}

/*
 * Untagged non-IP frames leave before any parsing: 1 if counted here. Tagged ones
 * (802.1Q/802.1ad) take the parser's path and the untracked table.
 */
static __always_inline int counted_as_non_ip(void *data, void *data_end, __u32 ifindex, __u8 direction,
					     __u64 len, __u32 segments)
{
	struct ethhdr *eth = data;
	struct untracked_value *v;
	__u32 slot;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return 0;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_IP) || proto == bpf_htons(ETH_P_IPV6) ||
	    proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD_))
		return 0;
	count_reason(FLOW_NON_IP);
	slot = (ifindex & ifindex_slot_mask) << 1 | direction;
	v = bpf_map_lookup_elem(&flow_stats_non_ip, &slot);
	if (v) {
		__u64 packets = (segments ? segments : 1) * (__u64)sample_rate;

		v->packets += packets;
		v->bytes += len * sample_rate; /* non-IP GSO has no headers we know to repeat */
	}
	return 1;
}

/*
 * The whole per-packet path. `wire_bytes` and `segments` describe the packet as it
 * is (or was) on the wire: GSO super-packets on egress count every segment.
 * Returns 1 when the packet went to a flow new to this CPU's slot (its key in *p).
 */
static __always_inline int handle(struct parsed *p, void *data, void *data_end, __u32 ifindex, __u8 direction,
				  __u64 len, __u32 segments)
{
	__u64 packets, bytes;

	if (sample_rate > 1 && bpf_get_prandom_u32() % sample_rate)
		return 0;
	if (counted_as_non_ip(data, data_end, ifindex, direction, len, segments))
		return 0;
	p->key.ifindex = ifindex;
	p->key.direction = direction;
	parse_packet(p, data, data_end);
	if (p->reason != FLOW_OK)
		count_reason(p->reason); /* FLOW_OK packets are counted in their flows */

	packets = segments ? segments : 1;
	bytes = len + (packets - 1) * p->hdr_len; /* each GSO segment carries its own headers */
	if (sample_rate > 1) {
		packets *= sample_rate;
		bytes *= sample_rate;
	}
	if (p->reason == FLOW_NON_IP) {
		p->key.ip_version = 0;
		count_untracked(p, UNTRACKED_NON_IP, packets, bytes);
		return 0;
	}
	if (p->reason != FLOW_OK && p->reason != FLOW_FRAGMENT && p->reason != FLOW_TRUNC_L4) {
		count_untracked(p, UNTRACKED_PARSE_ERROR, packets, bytes);
		return 0;
	}
	if (filter_flags && filtered_out(p)) {
		count_untracked(p, UNTRACKED_FILTERED, packets, bytes);
		return 0;
	}
	return account_flow(p, packets, bytes);
}

SEC("xdp") /* loaded multi-buffer aware where the kernel can (see np_xdp_frags) */
int flow_stats_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;

	/* Only frames too big for one buffer have fragments; skip the helper call otherwise. */
	struct parsed p = {};

	if (len >= 3072)
		len = np_xdp_frame_len(ctx);
	handle(&p, data, data_end, ctx->ingress_ifindex, FLOW_DIR_INGRESS, len, 1);
	return XDP_PASS;
}

static __always_inline int handle_skb(struct parsed *p, struct __sk_buff *skb, __u8 direction)
{
	/* Headers are almost always linear; pull them in the rare case they are not. */
	if ((long)skb->data + 128 > (long)skb->data_end && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128);
	return handle(p, (void *)(long)skb->data, (void *)(long)skb->data_end, skb->ifindex, direction, skb->len, skb->gso_segs);
}

/*
 * Notes the process behind a sent TCP/UDP packet's flow: the owner of skb->sk, when
 * it is a full socket whose creation (or connect) a cgroup hook saw. Called once per
 * flow new to this CPU's slot, not per packet; writes only when the owner changed.
 */
static __always_inline void note_flow_process(struct __sk_buff *skb, struct parsed *p)
{
	struct bpf_sock *sk = skb->sk;
	struct np_process *owner, *known;
	struct flow_key key;

	if (p->reason != FLOW_OK || (p->key.protocol != IPPROTO_TCP && p->key.protocol != IPPROTO_UDP) || !sk)
		return;
	sk = bpf_sk_fullsock(sk); /* not a request or time-wait socket (a SYN-ACK, a late ACK) */
	if (!sk)
		return;
	owner = bpf_sk_storage_get(&flow_stats_owner, sk, 0, 0);
	if (!owner || !owner->pid)
		return;
	key = p->key;
	key.ifindex = 0;
	known = bpf_map_lookup_elem(&flow_stats_processes, &key);
	if (known && known->pid == owner->pid && known->cgroup_id == owner->cgroup_id)
		return;
	bpf_map_update_elem(&flow_stats_processes, &key, owner, BPF_ANY);
}

SEC("tc")
int flow_stats_tc_egress(struct __sk_buff *skb)
{
	struct parsed p = {};

	if (handle_skb(&p, skb, FLOW_DIR_EGRESS) && process_identity)
		note_flow_process(skb, &p);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int flow_stats_tc_ingress(struct __sk_buff *skb)
{
	struct parsed p = {};

	handle_skb(&p, skb, FLOW_DIR_INGRESS);
	return TC_ACT_UNSPEC;
}

/* The process behind each TCP and UDP socket (see netprobe.h). */
NP_SOCKET_OWNER_HOOKS(flow_stats, flow_stats_owner, NP_OWNER_TCP | NP_OWNER_UDP)

/*
 * Run by userspace on every CPU (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU) before
 * it reads the table: moves the CPU's slot into the table. Returns 1 when it found the
 * slot busy (it interrupted this CPU's packet path): userspace then runs it again.
 */
SEC("raw_tp")
int flow_stats_flush(void *ctx)
{
	__u32 zero = 0;
	struct hot_slot *slot = bpf_map_lookup_elem(&flow_stats_hot, &zero);

	if (!slot)
		return 0;
	if (slot->busy)
		return 1;
	slot->busy = 1;
	barrier();
	if (slot->valid) {
		table_add(&slot->key, &slot->pending);
		slot->valid = 0;
	}
	barrier();
	slot->busy = 0;
	return 0;
}

/* Benchmarks: the same program with nothing to do, for a same-run baseline. */
SEC("tc")
int flow_stats_tc_empty(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
