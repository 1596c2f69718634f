/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Layout shared with userspace (read from BTF there: do not mirror it in TypeScript). */
#ifndef XDP_COUNTER_H
#define XDP_COUNTER_H

#include "netprobe.h"

/* Upper bound on configurable histogram boundaries; one more bucket holds the overflow. */
#define XDP_COUNTER_MAX_BOUNDS 16

/* Per interface (one slot each, see slot_mask in xdp_counter.bpf.c), per CPU. */
struct xdp_counter_value {
	np_counter_t packets;
	np_counter_t bytes;
	/* size_buckets[i] counts frames with bounds[i-1] < len <= bounds[i]; the last is the overflow. */
	np_counter_t size_buckets[XDP_COUNTER_MAX_BOUNDS + 1];
};

#endif /* XDP_COUNTER_H */
