// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An empty TC program: the benchmarks' same-run baseline for the cost of a TC hook run. */
#include <linux/pkt_cls.h>
#include "netprobe.h"

SEC("tc")
int dns_baseline(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
