// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet capture: TC programs (tcx, shared with the other probes) on ingress and
 * egress copy the first `snaplen` bytes of each matching frame, with its metadata,
 * into a ring buffer. Before anything is copied, in this order: the filter
 * (addresses, ports, protocols, VLAN), 1-in-N sampling, and the budget (packets
 * and captured bytes per second). Every packet is counted under one outcome, so
 * nothing is lost silently. The program only observes: every path returns
 * TC_ACT_UNSPEC, and a malformed frame only fails the filter.
 *
 * TC rather than XDP on ingress: a TC hook sees the same frame an AF_PACKET socket
 * (tcpdump) sees, after GRO, with any offloaded VLAN tag in the skb's metadata.
 */
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include "capture.h"

#define ETH_P_8021AD_ 0x88A8
#define MAX_VLAN_TAGS 2
#define MAX_IPV6_EXT 6
#define IPPROTO_MH_ 135
#define NSEC_PER_SEC 1000000000ULL
/* Headers the filter reads must be in the linear part; pulled there when they are not. */
#define PARSE_BYTES 128

NP_EXPORT_TYPE(capture_event);
NP_EXPORT_ENUM(capture_outcome);
NP_EXPORT_ENUM(capture_filter);
NP_EXPORT_ENUM(capture_port_bits);
NP_EXPORT_ENUM(capture_direction);

/* Knobs, set by userspace before load. */
NP_KNOB __u32 snaplen = CAPTURE_SNAPLEN_MAX;
NP_KNOB __u32 filter_flags = 0;            /* enum capture_filter bits */
NP_KNOB __u8 protocols[256] = {};          /* 1 = capture this IP protocol (with CAPTURE_FILTER_PROTOCOLS) */
NP_KNOB __u16 vlan_ids[CAPTURE_MAX_VLANS] = {};
NP_KNOB __u32 vlan_ids_len = 0;
NP_KNOB __u32 sample_rate = 1;             /* capture 1 in N matching packets */
NP_KNOB __u64 max_packets_per_second = 0;  /* 0: no packet budget */
NP_KNOB __u64 max_bytes_per_second = 0;    /* captured bytes; 0: no byte budget */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized from the config */
} capture_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CAPTURE_OUTCOME_MAX);
	__type(key, __u32);
	__type(value, struct capture_count);
} capture_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct capture_budget);
} capture_budget SEC(".maps");

/*
 * A record is assembled here, then copied into the ring at its real size. Too big
 * for a per-CPU array (32 KiB per value at most), so an array indexed by CPU:
 * userspace sizes it to the number of possible CPUs.
 */
struct capture_scratch {
	struct capture_event event;
	__u8 data[CAPTURE_SNAPLEN_MAX + 1]; /* + 1: the verifier's bound of copy below is 1..65536 */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct capture_scratch);
} capture_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct capture_cidr);
	__type(value, __u8);
} capture_include_cidrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct capture_cidr);
	__type(value, __u8);
} capture_exclude_cidrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8); /* enum capture_port_bits */
} capture_ports SEC(".maps");

/* What the filter needs from a frame. */
struct headers {
	__u8 src[16];      /* IPv4 as IPv4-mapped IPv6 */
	__u8 dst[16];
	__u16 src_port;    /* host order; 0 without ports */
	__u16 dst_port;
	__u16 vlan_id;
	__u8 has_vlan;
	__u8 is_ip;
	__u8 has_ports;
	__u8 protocol;
};

static __always_inline void map_ipv4(__u8 *dst, __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

static __always_inline void parse_ports(struct headers *h, void *l4, void *data_end)
{
	__u16 *ports = l4;

	/* TCP, UDP and SCTP all start with the source and destination ports. */
	if (h->protocol != IPPROTO_TCP && h->protocol != IPPROTO_UDP && h->protocol != IPPROTO_SCTP)
		return;
	if ((void *)(ports + 2) > data_end)
		return;
	h->src_port = bpf_ntohs(ports[0]);
	h->dst_port = bpf_ntohs(ports[1]);
	h->has_ports = 1;
}

static __always_inline int is_ipv6_ext(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
	       next == IPPROTO_FRAGMENT || next == IPPROTO_AH || next == IPPROTO_MH_;
}

static __always_inline void parse_ipv6(struct headers *h, struct ipv6hdr *ip6, void *data_end)
{
	void *cursor = ip6 + 1;
	__u8 next;
	int i;

	if (cursor > data_end)
		return;
	h->is_ip = 1;
	__builtin_memcpy(h->src, &ip6->saddr, 16);
	__builtin_memcpy(h->dst, &ip6->daddr, 16);
	next = ip6->nexthdr;
	for (i = 0; i < MAX_IPV6_EXT; i++) {
		__u8 *ext = cursor;

		if (!is_ipv6_ext(next))
			break;
		if ((void *)(ext + 8) > data_end) {
			h->protocol = next;
			return;
		}
		if (next == IPPROTO_FRAGMENT) {
			next = ext[0];
			cursor = ext + 8;
			if ((((__u16)ext[2] << 8 | ext[3]) & 0xfff8) != 0) {
				h->protocol = next; /* a later fragment: no transport header */
				return;
			}
			continue;
		}
		cursor = ext + (next == IPPROTO_AH ? ((__u32)ext[1] + 2) * 4 : ((__u32)ext[1] + 1) * 8);
		next = ext[0];
	}
	h->protocol = next;
	if (!is_ipv6_ext(next))
		parse_ports(h, cursor, data_end);
}

/* Ethernet, up to two VLAN tags, IPv4 or IPv6. What is cut short stays unset. */
static __always_inline void parse(struct __sk_buff *skb, struct headers *h)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	void *cursor;
	__be16 proto;
	int i;

	if (skb->vlan_present) {
		h->has_vlan = 1;
		h->vlan_id = skb->vlan_tci & 0x0fff;
	}
	if ((void *)(eth + 1) > data_end)
		return;
	proto = eth->h_proto;
	cursor = eth + 1;
	for (i = 0; i < MAX_VLAN_TAGS; i++) {
		__be16 *tag = cursor;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		if ((void *)(tag + 2) > data_end)
			return;
		if (!h->has_vlan) { /* the outermost tag is the one the filter matches */
			h->has_vlan = 1;
			h->vlan_id = bpf_ntohs(tag[0]) & 0x0fff;
		}
		proto = tag[1];
		cursor = tag + 2;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cursor;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return;
		ihl = ip->ihl * 4;
		if (ip->version != 4 || ihl < sizeof(*ip))
			return;
		h->is_ip = 1;
		h->protocol = ip->protocol;
		map_ipv4(h->src, ip->saddr);
		map_ipv4(h->dst, ip->daddr);
		if (ip->frag_off & bpf_htons(0x1fff))
			return; /* a later fragment: no transport header (tcpdump's `port` skips it too) */
		parse_ports(h, cursor + ihl, data_end);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		parse_ipv6(h, cursor, data_end);
	}
}

static __always_inline int cidr_match(void *trie, __u8 *addr)
{
	struct capture_cidr k = { .prefixlen = 128 };

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(trie, &k) != NULL;
}

static __always_inline __u8 port_bits(__u16 port)
{
	__u32 k = port;
	__u8 *bits = bpf_map_lookup_elem(&capture_ports, &k);

	return bits ? *bits : 0;
}

static __always_inline int vlan_listed(__u16 id)
{
	__u32 i;

	for (i = 0; i < CAPTURE_MAX_VLANS; i++) {
		if (i >= vlan_ids_len)
			return 0;
		if (vlan_ids[i] == id)
			return 1;
	}
	return 0;
}

/* Every configured filter must match (within one, any entry may). */
static __always_inline int matches(struct __sk_buff *skb)
{
	struct headers h = {};

	/* Headers are almost always linear; pull them in the rare case they are not. */
	if ((long)skb->data + PARSE_BYTES > (long)skb->data_end && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < PARSE_BYTES ? skb->len : PARSE_BYTES);
	parse(skb, &h);
	if ((filter_flags & CAPTURE_FILTER_VLANS) && !(h.has_vlan && vlan_listed(h.vlan_id)))
		return 0;
	if (filter_flags & (CAPTURE_FILTER_INCLUDE_CIDRS | CAPTURE_FILTER_EXCLUDE_CIDRS | CAPTURE_FILTER_PROTOCOLS |
			    CAPTURE_FILTER_INCLUDE_PORTS | CAPTURE_FILTER_EXCLUDE_PORTS)) {
		if (!h.is_ip)
			return 0;
	}
	if ((filter_flags & CAPTURE_FILTER_PROTOCOLS) && !protocols[h.protocol])
		return 0;
	if ((filter_flags & CAPTURE_FILTER_INCLUDE_CIDRS) &&
	    !cidr_match(&capture_include_cidrs, h.src) && !cidr_match(&capture_include_cidrs, h.dst))
		return 0;
	if ((filter_flags & CAPTURE_FILTER_EXCLUDE_CIDRS) &&
	    (cidr_match(&capture_exclude_cidrs, h.src) || cidr_match(&capture_exclude_cidrs, h.dst)))
		return 0;
	if (filter_flags & (CAPTURE_FILTER_INCLUDE_PORTS | CAPTURE_FILTER_EXCLUDE_PORTS)) {
		__u8 bits = h.has_ports ? port_bits(h.src_port) | port_bits(h.dst_port) : 0;

		if ((filter_flags & CAPTURE_FILTER_INCLUDE_PORTS) && !(bits & CAPTURE_PORT_INCLUDE))
			return 0;
		if ((filter_flags & CAPTURE_FILTER_EXCLUDE_PORTS) && (bits & CAPTURE_PORT_EXCLUDE))
			return 0;
	}
	return 1;
}

/*
 * One-second windows shared by every CPU, under the budget's spin lock (5.1+; the atomics
 * that would do without it, fetch-and-add and compare-and-swap, are refused before 5.12).
 * Every packet counts in its window, over budget or not; bytes count once the packet is
 * within the packet budget. Returns the outcome for an over-budget packet, or
 * CAPTURE_CAPTURED when it fits.
 */
static __always_inline __u32 spend_budget(__u64 now, __u32 bytes)
{
	__u32 zero = 0, outcome = CAPTURE_CAPTURED;
	struct capture_budget *b = bpf_map_lookup_elem(&capture_budget, &zero);

	if (!b)
		return CAPTURE_CAPTURED;
	bpf_spin_lock(&b->lock);
	if (now - b->window_start >= NSEC_PER_SEC) {
		b->window_start = now;
		b->packets = 0;
		b->bytes = 0;
	}
	if (max_packets_per_second && b->packets++ >= max_packets_per_second)
		outcome = CAPTURE_OVER_PACKET_BUDGET;
	else if (max_bytes_per_second && (b->bytes += bytes) > max_bytes_per_second)
		outcome = CAPTURE_OVER_BYTE_BUDGET;
	bpf_spin_unlock(&b->lock);
	return outcome;
}

static __always_inline void count(__u32 outcome, __u32 len)
{
	struct capture_count *c = bpf_map_lookup_elem(&capture_counts, &outcome);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline int capture(struct __sk_buff *skb, __u8 direction)
{
	struct capture_scratch *s;
	__u32 cpu, outcome, len = skb->len;
	__u64 now, copy;

	if (filter_flags && !matches(skb)) {
		count(CAPTURE_FILTERED_OUT, len);
		return TC_ACT_UNSPEC;
	}
	if (sample_rate > 1 && bpf_get_prandom_u32() % sample_rate) {
		count(CAPTURE_SAMPLED_OUT, len);
		return TC_ACT_UNSPEC;
	}
	copy = len < snaplen ? len : snaplen;
	now = bpf_ktime_get_ns();
	if (max_packets_per_second || max_bytes_per_second) {
		outcome = spend_budget(now, copy);
		if (outcome != CAPTURE_CAPTURED) {
			count(outcome, len);
			return TC_ACT_UNSPEC;
		}
	}
	/*
	 * The verifier must see 0 < copy <= CAPTURE_SNAPLEN_MAX where the helpers use it;
	 * the empty asm keeps clang from folding this check into the ones above.
	 */
	asm volatile("" : "+r"(copy));
	if (copy > CAPTURE_SNAPLEN_MAX)
		copy = CAPTURE_SNAPLEN_MAX;
	asm volatile("" : "+r"(copy));
	cpu = bpf_get_smp_processor_id();
	s = bpf_map_lookup_elem(&capture_scratch, &cpu);
	if (!s || copy == 0) {
		count(CAPTURE_COPY_FAILED, len);
		return TC_ACT_UNSPEC;
	}
	/*
	 * The verifiers of 5.10 and 6.1 learn nothing from "copy == 0" above and refuse a size
	 * that may be 0 (EACCES): the same value, rebuilt in a form every verifier bounds to
	 * 1..CAPTURE_SNAPLEN_MAX + 1 (as dns does).
	 */
	_Static_assert(CAPTURE_SNAPLEN_MAX == 0xffff, "the mask below is CAPTURE_SNAPLEN_MAX");
	asm volatile("" : "+r"(copy));
	copy = ((copy - 1) & CAPTURE_SNAPLEN_MAX) + 1;
	s->event.timestamp = now;
	s->event.ifindex = skb->ifindex;
	s->event.len = len;
	s->event.captured = copy;
	s->event.vlan_tci = skb->vlan_present ? skb->vlan_tci : 0;
	s->event.vlan_proto = skb->vlan_present ? skb->vlan_proto : 0;
	s->event.direction = direction;
	__builtin_memset(s->event.pad, 0, sizeof(s->event.pad));
	/* Copied with a helper: the frame may go on beyond the linear part of the skb. */
	if (bpf_skb_load_bytes(skb, 0, s->data, copy) < 0) {
		count(CAPTURE_COPY_FAILED, len);
		return TC_ACT_UNSPEC;
	}
	/* No wakeup: userspace drains the ring on a timer and never waits on it. */
	if (bpf_ringbuf_output(&capture_events, s, sizeof(s->event) + copy, BPF_RB_NO_WAKEUP) < 0)
		count(CAPTURE_RING_FULL, len);
	else
		count(CAPTURE_CAPTURED, len);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int capture_ingress(struct __sk_buff *skb)
{
	return capture(skb, CAPTURE_DIR_INGRESS);
}

SEC("tc")
int capture_egress(struct __sk_buff *skb)
{
	return capture(skb, CAPTURE_DIR_EGRESS);
}

/*
 * Run (BPF_PROG_TEST_RUN) once per page of the ring before the hooks are attached: a
 * record of a page, discarded, so the kernel's first write to each of the ring's pages
 * is paid at start. On this VM that first write costs about 17 us per page: a fresh
 * 64 MiB ring costs 500 ns per captured packet until it has been written once, 65 ns after.
 */
SEC("tc")
int capture_warm_ring(struct __sk_buff *skb)
{
	void *r = bpf_ringbuf_reserve(&capture_events, CAPTURE_WARM_RECORD, 0);

	if (!r)
		return TC_ACT_SHOT;
	bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
