// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The smallest XDP program: used by `netprobe doctor` to test native XDP, and as the benchmarks' baseline. */
#include "netprobe.h"

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
