/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Layout shared with userspace (read from BTF there: do not mirror it in TypeScript). */
#ifndef DNS_H
#define DNS_H

#include "netprobe.h"

/* Most DNS message bytes one event can carry; the capture_bytes knob picks up to this. */
#define DNS_CAPTURE_MAX 2048
/* Most ports the program matches (the ports knob). */
#define DNS_MAX_PORTS 8

enum dns_direction {
	DNS_DIR_INGRESS = 0,
	DNS_DIR_EGRESS = 1,
};

/*
 * One ring-buffer record: this header, then `captured` bytes of the DNS message
 * (for TCP including the two-byte length prefix, as it was on the wire).
 */
struct dns_event {
	np_ktime_t timestamp;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;          /* interface of the hook */
	__u8 direction;         /* enum dns_direction */
	__u8 family;            /* 4 or 6 */
	__u8 transport;         /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 pad;
	__u8 saddr[16];         /* network order; IPv4 uses the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;            /* host order */
	__u16 dport;
	__u16 payload_len;      /* transport payload length on the wire */
	__u16 captured;         /* message bytes that follow this header */
};

/* Per CPU: summed by userspace. */
struct dns_counters {
	np_counter_t events;          /* records submitted to the ring buffer */
	np_counter_t ringbuf_dropped; /* records lost because the ring buffer was full */
};

#endif /* DNS_H */
