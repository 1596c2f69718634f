// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Empty programs, not probes: attached on a live link, they show what a hook costs
 * before its program does any work (the capture benchmark's floor for any probe on it).
 */
#include <linux/pkt_cls.h>
#include "netprobe.h"

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
