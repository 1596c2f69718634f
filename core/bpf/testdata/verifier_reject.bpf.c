// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Deliberately invalid: reads the packet without a bounds check, so the verifier rejects it. */
#include "netprobe.h"

SEC("xdp")
int verifier_reject(struct xdp_md *ctx)
{
	unsigned char *data = (unsigned char *)(long)ctx->data;

	return data[12] == 0x08 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
