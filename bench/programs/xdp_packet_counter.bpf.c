/*
 * Reference row for the benchmarks, not a probe: the background article's own XDP
 * packet counter ("How to Monitor Network Traffic with eBPF and XDP", section
 * "Building a Basic XDP Packet Counter"), kept as the article wrote it so the kernel
 * cost suite can state netprobe's cost relative to it. Unchanged: it builds as is.
 */
/* xdp_packet_counter.bpf.c
 *
 * A simple XDP program that counts all incoming packets.
 * Demonstrates basic XDP structure and BPF map usage.
 */

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>

/* Define a per-CPU array map to store packet counts.
 * Per-CPU maps avoid lock contention and are ideal for counters.
 * The map has a single entry (max_entries=1) that each CPU updates independently.
 */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);  /* Per-CPU array for lock-free updates */
    __uint(max_entries, 1);                    /* Single counter entry */
    __type(key, __u32);                        /* Key type: 32-bit unsigned integer */
    __type(value, __u64);                      /* Value type: 64-bit counter */
} packet_count SEC(".maps");

/* The SEC("xdp") macro places this function in the XDP program section.
 * The kernel recognizes this section name and knows to attach it as an XDP program.
 *
 * Parameters:
 *   ctx - XDP metadata context containing packet boundaries and interface info
 *
 * Returns:
 *   XDP action code (XDP_PASS to continue normal processing)
 */
SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
    /* Key for our single-entry counter map */
    __u32 key = 0;

    /* Look up the current counter value from our per-CPU map.
     * bpf_map_lookup_elem returns a pointer to the value or NULL if not found.
     */
    __u64 *count = bpf_map_lookup_elem(&packet_count, &key);

    /* Always check for NULL - the verifier requires this.
     * Even though our map always has entry 0, the verifier doesn't know this.
     */
    if (count) {
        /* Increment the counter.
         * This is safe because per-CPU maps don't require synchronization.
         */
        (*count)++;
    }

    /* Return XDP_PASS to allow the packet to continue through the network stack.
     * The packet will proceed to normal kernel processing.
     */
    return XDP_PASS;
}

/* License declaration is required for eBPF programs.
 * GPL license allows calling GPL-only kernel helper functions.
 */
char LICENSE[] SEC("license") = "GPL";
