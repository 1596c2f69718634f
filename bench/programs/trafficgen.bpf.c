// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet generator for the live-overhead benchmark: run with BPF_PROG_TEST_RUN in
 * live-frames mode, every XDP_TX really transmits the frame out of the interface
 * named in the context, as fast as the kernel can.
 */
#include "netprobe.h"

SEC("xdp")
int trafficgen(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
