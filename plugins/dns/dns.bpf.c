// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Copies DNS messages (UDP and TCP, IPv4 and IPv6, on the configured ports) and
 * their addressing into a ring buffer; userspace decodes them. TC programs
 * attached through tcx on ingress and egress: tcx hooks are shared, so this runs
 * beside an XDP probe on the same interface. Every path returns TC_ACT_UNSPEC:
 * this probe observes, it never changes traffic, and a malformed packet only
 * makes it return early.
 */
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include "dns.h"

/* Ports that mark DNS traffic (source or destination), host order; set before load. */
NP_KNOB __u16 ports[DNS_MAX_PORTS] = { 53 };
NP_KNOB __u32 ports_len = 1;
/* Most message bytes copied per event (at most DNS_CAPTURE_MAX). */
NP_KNOB __u32 capture_bytes = 512;

NP_EXPORT_TYPE(dns_event);
NP_EXPORT_ENUM(dns_direction);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by userspace */
} dns_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_counters);
} dns_counters SEC(".maps");

/* An event is assembled here (too big for the stack), then copied into the ring at its real size. */
struct dns_scratch {
	struct dns_event event;
	__u8 data[DNS_CAPTURE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} dns_scratch SEC(".maps");

static __always_inline int is_dns_port(__u16 port)
{
	__u32 i;

	for (i = 0; i < DNS_MAX_PORTS; i++) {
		if (i >= ports_len)
			return 0;
		if (ports[i] == port)
			return 1;
	}
	return 0;
}

/*
 * Everything that may be DNS, and more: an IPv4 or IPv6 (no extension headers) UDP or TCP
 * packet with a DNS port on either side. Reads only the packet and the knobs: no stack, map
 * lookup or helper call, so the common case (not DNS) leaves after a few compares.
 */
static __always_inline int maybe_dns(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__be16 *ports;
	__u8 proto;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return 0;
		proto = ip->protocol;
		ports = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		proto = ip6->nexthdr;
		ports = (void *)(ip6 + 1);
	} else {
		return 0;
	}
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return 0;
	if ((void *)(ports + 2) > data_end)
		return 0;
	return is_dns_port(bpf_ntohs(ports[0])) || is_dns_port(bpf_ntohs(ports[1]));
}

/*
 * Parses the packet again, with every check, and copies it into the ring when it is DNS.
 * A subprogram of its own: its registers and stack cost nothing to the packets that
 * maybe_dns() already let go.
 */
static __noinline int capture(struct __sk_buff *skb, __u8 direction)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct dns_scratch *s;
	struct dns_counters *c;
	__u32 zero = 0, l4_off, l3_end, payload_off, payload_len;
	__u64 copy;
	__u16 sport, dport;
	__u8 proto, family;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_UNSPEC;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return TC_ACT_UNSPEC;
		if (ip->frag_off & bpf_htons(0x1fff))
			return TC_ACT_UNSPEC; /* a later fragment: no transport header */
		proto = ip->protocol;
		family = 4;
		l4_off = sizeof(*eth) + ip->ihl * 4;
		l3_end = sizeof(*eth) + bpf_ntohs(ip->tot_len);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return TC_ACT_UNSPEC;
		proto = ip6->nexthdr; /* extension headers are not followed */
		family = 6;
		l4_off = sizeof(*eth) + sizeof(*ip6);
		l3_end = l4_off + bpf_ntohs(ip6->payload_len);
	} else {
		return TC_ACT_UNSPEC;
	}

	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = data + l4_off;

		if ((void *)(udp + 1) > data_end)
			return TC_ACT_UNSPEC;
		sport = bpf_ntohs(udp->source);
		dport = bpf_ntohs(udp->dest);
		if (!is_dns_port(sport) && !is_dns_port(dport))
			return TC_ACT_UNSPEC;
		payload_off = l4_off + sizeof(*udp);
		payload_len = bpf_ntohs(udp->len);
		if (payload_len < sizeof(*udp))
			return TC_ACT_UNSPEC;
		payload_len -= sizeof(*udp);
	} else if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + l4_off;

		if ((void *)(tcp + 1) > data_end)
			return TC_ACT_UNSPEC;
		sport = bpf_ntohs(tcp->source);
		dport = bpf_ntohs(tcp->dest);
		if (!is_dns_port(sport) && !is_dns_port(dport))
			return TC_ACT_UNSPEC;
		payload_off = l4_off + tcp->doff * 4;
		if (tcp->doff < 5 || l3_end <= payload_off)
			return TC_ACT_UNSPEC; /* no payload: handshake, ACK, FIN */
		payload_len = l3_end - payload_off;
	} else {
		return TC_ACT_UNSPEC;
	}

	/* Never read past the packet, whatever its headers claim. */
	if (payload_off >= skb->len)
		return TC_ACT_UNSPEC;
	copy = skb->len - payload_off;
	if (copy > payload_len)
		copy = payload_len;
	if (copy > capture_bytes)
		copy = capture_bytes;
	/*
	 * The verifier must see 0 < copy <= DNS_CAPTURE_MAX where the helpers use it;
	 * the empty asm keeps clang from folding this check into the ones above.
	 */
	asm volatile("" : "+r"(copy));
	if (copy > DNS_CAPTURE_MAX)
		return TC_ACT_UNSPEC;
	asm volatile("" : "+r"(copy));
	if (copy == 0)
		return TC_ACT_UNSPEC;

	s = bpf_map_lookup_elem(&dns_scratch, &zero);
	c = bpf_map_lookup_elem(&dns_counters, &zero);
	if (!s || !c)
		return TC_ACT_UNSPEC;

	s->event.timestamp = bpf_ktime_get_ns();
	s->event.ifindex = skb->ifindex;
	s->event.direction = direction;
	s->event.family = family;
	s->event.transport = proto;
	s->event.pad = 0;
	__builtin_memset(s->event.saddr, 0, sizeof(s->event.saddr));
	__builtin_memset(s->event.daddr, 0, sizeof(s->event.daddr));
	if (family == 4) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return TC_ACT_UNSPEC;
		__builtin_memcpy(s->event.saddr, &ip->saddr, 4);
		__builtin_memcpy(s->event.daddr, &ip->daddr, 4);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return TC_ACT_UNSPEC;
		__builtin_memcpy(s->event.saddr, &ip6->saddr, 16);
		__builtin_memcpy(s->event.daddr, &ip6->daddr, 16);
	}
	s->event.sport = sport;
	s->event.dport = dport;
	s->event.payload_len = payload_len > 0xffff ? 0xffff : payload_len;
	s->event.captured = copy;

	/*
	 * Copied with a helper: the message may lie beyond the linear part of the skb. The
	 * verifiers of 5.10 and 6.1 learn nothing from "copy != 0" and refuse a size that may
	 * be 0, so the size is rebuilt in a form every verifier bounds to 1..DNS_CAPTURE_MAX:
	 * the same value, since 1 <= copy <= DNS_CAPTURE_MAX (a power of two) here.
	 */
	_Static_assert((DNS_CAPTURE_MAX & (DNS_CAPTURE_MAX - 1)) == 0, "DNS_CAPTURE_MAX is a power of two");
	asm volatile("" : "+r"(copy));
	copy = ((copy - 1) & (DNS_CAPTURE_MAX - 1)) + 1;
	if (bpf_skb_load_bytes(skb, payload_off, s->data, copy) < 0)
		return TC_ACT_UNSPEC;
	if (bpf_ringbuf_output(&dns_events, s, sizeof(s->event) + copy, 0) < 0)
		c->ringbuf_dropped++;
	else
		c->events++;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int dns_ingress(struct __sk_buff *skb)
{
	if (!maybe_dns(skb))
		return TC_ACT_UNSPEC;
	return capture(skb, DNS_DIR_INGRESS);
}

SEC("tc")
int dns_egress(struct __sk_buff *skb)
{
	if (!maybe_dns(skb))
		return TC_ACT_UNSPEC;
	return capture(skb, DNS_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
