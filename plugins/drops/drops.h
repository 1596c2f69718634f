/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts shared with userspace (read from BTF there: do not mirror them).
 * Drop reasons are the kernel's own `enum skb_drop_reason` values; their names
 * come from the running kernel's BTF, never from here.
 */
#ifndef DROPS_H
#define DROPS_H

#include "netprobe.h"

/* Where the dropped packet was going, as far as the kernel's skb tells. */
enum drops_direction {
	DROPS_DIRECTION_RECEIVE = 0,  /* it came in on an interface (skb_iif set) */
	DROPS_DIRECTION_TRANSMIT = 1, /* made here, on its way out */
};

/* Reason values of our own, beside the kernel's enum skb_drop_reason (userspace reads them from BTF). */
enum drops_reason_marker {
	DROPS_REASON_UNKNOWN = 0xffffffff, /* the tracepoint has none (kernels before 5.17) */
};

/* One metric series: drops by reason, interface, direction, IP version and protocol. */
struct drops_key {
	__u32 reason;      /* enum skb_drop_reason of the running kernel, or DROPS_REASON_UNKNOWN */
	__u32 ifindex;     /* 0: no interface known */
	__u8 direction;    /* enum drops_direction */
	__u8 ip_version;   /* 4 or 6 */
	__u8 protocol;     /* IP protocol (6 tcp, 17 udp, ...); 0 when the header could not be read */
	__u8 pad;
};

struct drops_value {
	np_counter_t packets;
	np_counter_t bytes;      /* IP length (skb->len when the IP header could not be read) */
};

/* One dropped packet, for a log record (sampled within a budget). */
struct drops_event {
	__u64 location;    /* kernel address of the function that dropped it */
	__u32 reason;
	__u32 ifindex;
	__u32 length;      /* IP length (skb->len when the IP header could not be read) */
	__u8 direction;
	__u8 ip_version;
	__u8 protocol;
	__u8 has_ports;    /* 1: ports (or ICMP type/code) were read */
	__u8 src[16];      /* IPv6, or IPv4-mapped IPv6, network order */
	__u8 dst[16];
	__u16 src_port;    /* host order; ICMP: type */
	__u16 dst_port;    /* host order; ICMP: code */
	__u32 pad;
};

/* Counters, per CPU (one entry, never deleted). */
struct drops_stats {
	np_counter_t records;          /* drop records sent to userspace */
	np_counter_t suppressed;       /* drop records not sent: over the budget */
	np_counter_t ringbuf_dropped;  /* drop records lost: ring buffer full */
	np_counter_t table_full;       /* drops not in a series: the series table was full */
	np_counter_t table_full_bytes;
};

/* Records-per-second budget of one CPU: a token bucket. */
struct drops_budget {
	__u64 last_ns;
	__u64 millitokens; /* 1000 per record */
};

#endif /* DROPS_H */
