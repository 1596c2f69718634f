/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Layouts shared with userspace (read from BTF there: do not mirror them in TypeScript). */
#ifndef PACKET_CAPTURE_H
#define PACKET_CAPTURE_H

#include "netprobe.h"

/* Most bytes of one packet a record carries; the snaplen knob picks up to this. */
#define CAPTURE_SNAPLEN_MAX 65535
/* Bytes of a ring-warming record: with its 8-byte header, one page (see capture_warm_ring). */
#define CAPTURE_WARM_RECORD (4096 - 8)
/* Most VLAN IDs the vlan filter lists. */
#define CAPTURE_MAX_VLANS 8

enum capture_direction {
	CAPTURE_DIR_INGRESS = 0,
	CAPTURE_DIR_EGRESS = 1,
};

/*
 * What happened to a packet the program saw. Every packet is counted under exactly
 * one outcome; only CAPTURE_CAPTURED packets reach the ring buffer.
 */
enum capture_outcome {
	CAPTURE_CAPTURED = 0,
	CAPTURE_FILTERED_OUT,     /* the filter did not match */
	CAPTURE_SAMPLED_OUT,      /* matched, but 1-in-N sampling skipped it */
	CAPTURE_OVER_PACKET_BUDGET, /* matched and sampled, but packets/s was spent */
	CAPTURE_OVER_BYTE_BUDGET, /* matched and sampled, but captured bytes/s was spent */
	CAPTURE_RING_FULL,        /* the ring buffer had no room: userspace fell behind */
	CAPTURE_COPY_FAILED,      /* the packet could not be copied (never expected) */
	CAPTURE_OUTCOME_MAX,
};

/* One ring-buffer record: this header, then `captured` bytes of the frame from its MAC header. */
struct capture_event {
	np_ktime_t timestamp;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;          /* interface of the hook */
	__u32 len;              /* frame length on the wire (skb->len; a GSO packet counts whole) */
	__u32 captured;         /* bytes that follow: min(len, snaplen) */
	__u16 vlan_tci;         /* an offloaded VLAN tag (not in the bytes), when vlan_proto != 0 */
	__u16 vlan_proto;       /* its TPID, network order; 0 when the tag is in the bytes or absent */
	__u8 direction;         /* enum capture_direction */
	__u8 pad[7];
};

/* Per outcome, per CPU: summed by userspace. */
struct capture_count {
	np_counter_t packets;
	np_counter_t bytes;      /* frame lengths on the wire */
};

/* The budget's current one-second window, shared by every CPU. */
struct capture_budget {
	struct bpf_spin_lock lock; /* a lock, not atomics: fetch-and-add and cmpxchg need 5.12 */
	__u64 window_start;      /* bpf_ktime_get_ns() when the window opened */
	__u64 packets;           /* admitted in this window */
	__u64 bytes;             /* captured bytes admitted in this window */
};

/* Address filter entry (LPM trie): IPv4 as IPv4-mapped IPv6, prefix length over 128 bits. */
struct capture_cidr {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Port filter bits (array indexed by port). */
enum capture_port_bits {
	CAPTURE_PORT_INCLUDE = 1,
	CAPTURE_PORT_EXCLUDE = 2,
};

/* filter_flags knob bits: which filters are configured (empty ones cost nothing). */
enum capture_filter {
	CAPTURE_FILTER_INCLUDE_CIDRS = 1,
	CAPTURE_FILTER_EXCLUDE_CIDRS = 2,
	CAPTURE_FILTER_INCLUDE_PORTS = 4,
	CAPTURE_FILTER_EXCLUDE_PORTS = 8,
	CAPTURE_FILTER_PROTOCOLS = 16,
	CAPTURE_FILTER_VLANS = 32,
};

#endif /* PACKET_CAPTURE_H */
