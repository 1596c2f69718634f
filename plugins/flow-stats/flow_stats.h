/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Layouts shared with userspace (read from BTF there: do not mirror them in TypeScript). */
#ifndef FLOW_STATS_H
#define FLOW_STATS_H

#include "netprobe.h"

enum flow_direction {
	FLOW_DIR_INGRESS = 0,
	FLOW_DIR_EGRESS = 1,
};

/*
 * Why a packet was not (fully) parsed. Every packet is counted under exactly one
 * reason; FLOW_OK and FLOW_FRAGMENT packets are also counted in a flow.
 */
enum flow_reason {
	FLOW_OK = 0,
	FLOW_NON_IP,            /* not IPv4/IPv6 (ARP, LLDP, ...): counted, not tracked */
	FLOW_FRAGMENT,          /* IP fragment after the first: tracked in a flow of its own, key.fragment = 1 */
	FLOW_TRUNC_ETH,         /* shorter than an Ethernet header (runt) */
	FLOW_TRUNC_VLAN,        /* VLAN tag cut short */
	FLOW_VLAN_TOO_DEEP,     /* more than two VLAN tags */
	FLOW_TRUNC_IPV4,
	FLOW_BAD_IPV4,          /* IHL below 5 */
	FLOW_TRUNC_IPV6,
	FLOW_IPV6_EXT_TOO_DEEP, /* more extension headers than we walk */
	FLOW_TRUNC_IPV6_EXT,
	FLOW_TRUNC_L4,          /* TCP/UDP/ICMP header cut short: tracked without ports */
	FLOW_REASON_MAX,
};

/* One flow: a 5-tuple seen on one interface in one direction. IPv4 addresses are IPv4-mapped IPv6. */
struct flow_key {
	__u32 ifindex;
	__u8 direction;   /* enum flow_direction */
	__u8 ip_version;  /* 4 or 6 */
	__u8 protocol;    /* IP protocol number (after IPv6 extension headers) */
	__u8 fragment;    /* 1: IP fragments after the first, which carry no transport header (ports 0) */
	__u8 src[16];
	__u8 dst[16];
	__u16 src_port;   /* host order; ICMP/ICMPv6 type */
	__u16 dst_port;   /* host order; ICMP/ICMPv6 code */
};

/* Per flow, per CPU. */
struct flow_value {
	np_counter_t packets;
	np_counter_t bytes;
	np_counter_t syns;             /* TCP SYN without ACK: connection attempts */
	np_ktime_first_t first_seen;   /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC at tick resolution */
	np_ktime_t last_seen;
	np_flags_t tcp_flags;          /* union of TCP flags seen */
	__u8 pad[7];
};

/*
 * One per CPU: the flow that CPU saw last, with the counts not yet added to the
 * table. A packet of the same flow costs a compare and a few adds instead of a
 * hash lookup; userspace has every CPU flush its slot before it reads the table.
 */
struct hot_slot {
	struct flow_key key;
	__u32 valid;
	struct flow_value pending;
	__u32 busy; /* set while this CPU updates the slot: a flush arriving then must wait */
	__u32 pad;
	__u64 seen_jiffies; /* jiffies when pending.last_seen was read: the clock is read again only when they move */
};

/* Traffic that is not in the flow table (non-IP, unparsable, filtered, table full), per CPU. */
struct untracked_key {
	__u32 ifindex;
	__u8 direction;
	__u8 ip_version;  /* 0 for non-IP */
	__u8 protocol;
	__u8 reason;      /* enum untracked_reason */
};

enum untracked_reason {
	UNTRACKED_NON_IP = 0,
	UNTRACKED_PARSE_ERROR,
	UNTRACKED_FILTERED,
	UNTRACKED_TABLE_FULL,
};

struct untracked_value {
	np_counter_t packets;
	np_counter_t bytes;
};

/* Parse outcomes, indexed by enum flow_reason, per CPU. */
struct reason_value {
	np_counter_t packets;
};

/* Address filter entry (LPM trie): IPv4 as IPv4-mapped IPv6, prefix length over 128 bits. */
struct cidr_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Port filter bits (array indexed by port). */
enum flow_port_bits {
	PORT_INCLUDE = 1,
	PORT_EXCLUDE = 2,
};

/* filter_flags knob bits: which filters are configured (empty ones cost nothing). */
enum flow_filter {
	FILTER_INCLUDE_CIDRS = 1,
	FILTER_EXCLUDE_CIDRS = 2,
	FILTER_INCLUDE_PORTS = 4,
	FILTER_EXCLUDE_PORTS = 8,
};

#endif /* FLOW_STATS_H */
