// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The life of every TCP connection in a cgroup: a sock_ops program sees each
 * connect() and accept, asks the kernel for state, retransmit and RTT callbacks
 * on that socket, keeps the connection in a bounded table, and when the socket
 * reaches CLOSE it sends one event with the socket's own counters and counts it.
 *
 * An iterator (iter/tcp) run once at start sets the same callback flags on the
 * sockets that were already open, so they are picked up when they next act.
 */
/* Our header first: it brings linux/types.h, which libbpf 1.5's helper definitions need. */
#include "conntrack.h"
#include <linux/errno.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#define SOL_TCP 6
#ifndef TCP_BPF_SOCK_OPS_CB_FLAGS
#define TCP_BPF_SOCK_OPS_CB_FLAGS 1008 /* Linux 6.11+: set the callback flags with bpf_setsockopt */
#endif
#define AF_INET 2

/* Callbacks requested; RTT can be switched off by userspace (one callback per ACK). */
NP_KNOB __u32 want_rtt_callbacks = 1;
/* The watched cgroup, for the start-up iterator: its id and depth (0: the root, every socket). */
NP_KNOB __u64 cgroup_id = 0;
NP_KNOB __u32 cgroup_level = 0;

/* Just the kernel fields read here; libbpf relocates their offsets from the kernel's BTF. */
struct sock_common___np {
	volatile unsigned char skc_state;
	unsigned long skc_flags; /* sk_flags */
} __attribute__((preserve_access_index));

struct kernfs_node___np {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup___np {
	struct kernfs_node___np *kn;
	int level;
	struct cgroup___np *ancestors[0]; /* Linux 6.2+ */
} __attribute__((preserve_access_index));

struct sock_cgroup_data___np {
	struct cgroup___np *cgroup;
} __attribute__((preserve_access_index));

struct sock___np {
	struct sock_common___np __sk_common;
	int sk_err;
	struct sock_cgroup_data___np sk_cgrp_data;
} __attribute__((preserve_access_index));

/* enum sock_flags: tcp_fin() sets SOCK_DONE when the peer's FIN arrives. */
#define SOCK_DONE_BIT 1

struct bpf_iter_meta;
struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH); /* not per-CPU: one writer per socket, and no stale copies after delete */
	__uint(max_entries, 65536);      /* resized by userspace (max_connections) */
	/* Entries allocated on insert: memory follows the open connections, not max_connections. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);              /* socket cookie */
	__type(value, struct conntrack_conn);
} conntrack_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conntrack_stats);
} conntrack_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* bytes; resized by userspace (ring_buffer_size) */
} conntrack_events SEC(".maps");

/*
 * Sockets this probe gave up on (the table refused them): marked so that their
 * later callbacks neither retry the insert (counting the refusal again) nor
 * pass them for pre-existing connections. Freed with the socket.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} conntrack_untracked SEC(".maps");

/*
 * The process behind each TCP socket of the cgroup, set in process context (socket(),
 * connect()) and read by sock_ops, which runs where the kernel is (often softirq).
 */
NP_SOCKET_OWNER_STORAGE(conntrack_owner);

/* Iterator results: sockets counted by enum conntrack_adopt_outcome. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CONNTRACK_ADOPT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} conntrack_adopted SEC(".maps");

NP_EXPORT_TYPE(conntrack_close_event);
NP_EXPORT_ENUM(conntrack_adopt_outcome);

static __always_inline struct conntrack_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&conntrack_stats, &zero);
}

/* Atomic even per CPU: a softirq can interrupt this program on the same CPU. */
#define COUNT(field, n)                                                  \
	do {                                                             \
		struct conntrack_stats *s__ = stats();                   \
		if (s__)                                                 \
			__sync_fetch_and_add(&s__->field, (n));          \
	} while (0)

static __always_inline __u32 callback_flags(void)
{
	__u32 flags = BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RETRANS_CB_FLAG;

	if (want_rtt_callbacks)
		flags |= BPF_SOCK_OPS_RTT_CB_FLAG;
	return flags;
}

/* One 32-bit context read each: the verifier refuses the 64-bit loads clang would merge them into. */
static __always_inline __u32 ctx_word(__u32 v)
{
	asm volatile("" : "+r"(v));
	return v;
}
#define CTX_WORD(field) ctx_word(field)

/* Addresses as IPv6, IPv4 ones mapped (::ffff:a.b.c.d), network order. */
static __always_inline void fill_conn(struct conntrack_conn *c, struct bpf_sock_ops *ops)
{
	__u32 *local = (__u32 *)c->local_addr;
	__u32 *peer = (__u32 *)c->peer_addr;

	if (ops->family == AF_INET) {
		local[2] = bpf_htonl(0xffff);
		peer[2] = bpf_htonl(0xffff);
		local[3] = CTX_WORD(ops->local_ip4);
		peer[3] = CTX_WORD(ops->remote_ip4);
	} else {
		local[0] = CTX_WORD(ops->local_ip6[0]);
		local[1] = CTX_WORD(ops->local_ip6[1]);
		local[2] = CTX_WORD(ops->local_ip6[2]);
		local[3] = CTX_WORD(ops->local_ip6[3]);
		peer[0] = CTX_WORD(ops->remote_ip6[0]);
		peer[1] = CTX_WORD(ops->remote_ip6[1]);
		peer[2] = CTX_WORD(ops->remote_ip6[2]);
		peer[3] = CTX_WORD(ops->remote_ip6[3]);
	}
	c->local_port = ops->local_port;
	/* remote_port holds the port in network order in its upper 16 bits on little endian */
	c->peer_port = bpf_ntohl(ops->remote_port);
}

/* Inserts a connection; counts a refusal as pressure. Returns the entry or NULL. */
static __always_inline struct conntrack_conn *track(struct bpf_sock_ops *ops, __u64 cookie,
						     enum conntrack_role role, __u8 preexisting)
{
	struct conntrack_conn c = {};
	int err;

	c.start_ns = bpf_ktime_get_ns();
	fill_conn(&c, ops);
	c.state = ops->state;
	c.role = role;
	c.preexisting = preexisting;
	c.established = ops->state != CONNTRACK_TCP_SYN_SENT && ops->state != CONNTRACK_TCP_SYN_RECEIVED;
	c.srtt_us = ops->srtt_us >> 3;
	if (ops->sk) {
		struct np_process *owner = bpf_sk_storage_get(&conntrack_owner, ops->sk, 0, 0);

		if (owner)
			c.process = *owner;
	}
	err = np_map_err(bpf_map_update_elem(&conntrack_table, &cookie, &c, BPF_NOEXIST));
	if (err && err != -EEXIST) {
		struct bpf_sock *sk = ops->sk;

		if (err == -E2BIG)
			COUNT(table_full, 1);
		else
			COUNT(insert_failed, 1);
		if (sk)
			bpf_sk_storage_get(&conntrack_untracked, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		return NULL;
	}
	return bpf_map_lookup_elem(&conntrack_table, &cookie);
}

/*
 * A socket that calls us without an entry had its callbacks set before we saw
 * it start (by the start-up iterator, or by an earlier instance of the probe):
 * it is a pre-existing connection, picked up now.
 */
static __always_inline struct conntrack_conn *find_or_pick_up(struct bpf_sock_ops *ops, __u64 cookie)
{
	struct conntrack_conn *c = bpf_map_lookup_elem(&conntrack_table, &cookie);
	struct bpf_sock *sk;

	if (c)
		return c;
	sk = ops->sk;
	if (sk && bpf_sk_storage_get(&conntrack_untracked, sk, 0, 0))
		return NULL; /* refused before: counted once, not retried */
	c = track(ops, cookie, CONNTRACK_ROLE_UNKNOWN, 1);
	if (c)
		COUNT(preexisting, 1);
	return c;
}

static __always_inline struct sock___np *full_sock(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;

	return sk ? (struct sock___np *)bpf_skc_to_tcp_sock(sk) : NULL;
}

/*
 * Why a socket reached CLOSE, from the state it left and the error the kernel
 * recorded on it just before (tcp_reset and tcp_write_err set sk_err, then call
 * tcp_done, which makes the transition we are called for):
 *  - from SYN_SENT: ECONNREFUSED is a refused connect (RST answered the SYN),
 *    ETIMEDOUT a connect that timed out, anything else (ICMP unreachable, the
 *    application gave up) another connect failure;
 *  - ETIMEDOUT later: retransmissions or keepalive probes gave up;
 *  - ECONNRESET or EPIPE: an RST arrived;
 *  - from ESTABLISHED, SYN_RECV, CLOSE_WAIT or FIN_WAIT1 without an error: the
 *    application aborted (close with unread data, SO_LINGER 0), which sends an
 *    RST; an orderly shutdown never leaves these states straight to CLOSE;
 *  - from FIN_WAIT2, CLOSING or LAST_ACK: the FIN handshake finished (the
 *    socket hands over to TIME_WAIT, or its last ACK arrived): normal.
 */
static __always_inline enum conntrack_close_reason close_reason(__u32 from, int err)
{
	if (from == CONNTRACK_TCP_SYN_SENT) {
		if (err == ECONNREFUSED)
			return CONNTRACK_CLOSE_REFUSED;
		if (err == ETIMEDOUT)
			return CONNTRACK_CLOSE_TIMEOUT;
		return CONNTRACK_CLOSE_CONNECT_FAILED;
	}
	if (err == ETIMEDOUT)
		return CONNTRACK_CLOSE_TIMEOUT;
	if (err == ECONNRESET || err == EPIPE)
		return CONNTRACK_CLOSE_RESET;
	if (from == CONNTRACK_TCP_ESTABLISHED || from == CONNTRACK_TCP_SYN_RECEIVED ||
	    from == CONNTRACK_TCP_CLOSE_WAIT || from == CONNTRACK_TCP_FIN_WAIT_1)
		return CONNTRACK_CLOSE_RESET;
	return CONNTRACK_CLOSE_NORMAL;
}

/*
 * Payload bytes each way. The socket's counters count sequence space: our SYN
 * (on the active side) and FIN, and the peer's FIN, take one each. Counting from
 * their values at open removes the SYN; our FIN was acknowledged if we left
 * FIN_WAIT2, or CLOSING or LAST_ACK without an error; the peer's FIN arrived if
 * tcp_fin set SOCK_DONE. Pre-existing connections count from 0 (their totals).
 */
static __always_inline void payload_bytes(struct bpf_sock_ops *ops, struct conntrack_conn *c,
					  struct sock___np *sk, __u32 from, int err,
					  __u64 *sent, __u64 *received)
{
	__u64 acked = ops->bytes_acked;
	__u64 in = ops->bytes_received;

	acked = acked > c->acked_at_open ? acked - c->acked_at_open : 0;
	in = in > c->received_at_open ? in - c->received_at_open : 0;
	if ((from == CONNTRACK_TCP_FIN_WAIT_2 ||
	     ((from == CONNTRACK_TCP_CLOSING || from == CONNTRACK_TCP_LAST_ACK) && !err)) && acked > 0)
		acked--;
	if (sk && (sk->__sk_common.skc_flags & (1UL << SOCK_DONE_BIT)) && in > 0)
		in--;
	*sent = acked;
	*received = in;
}

/* The connection reached ESTABLISHED: note the counters to count payload from. */
static __always_inline void opened(struct conntrack_conn *c, struct bpf_sock_ops *ops)
{
	c->established = 1;
	c->state = CONNTRACK_TCP_ESTABLISHED;
	c->acked_at_open = ops->bytes_acked;
	c->received_at_open = ops->bytes_received;
}

static __always_inline void on_close(struct bpf_sock_ops *ops, __u64 cookie, __u32 from)
{
	struct conntrack_close_event *e;
	struct conntrack_conn *c;
	enum conntrack_close_reason reason;
	struct sock___np *sk;
	__u64 sent, received;
	int err;
	__u32 role;

	c = find_or_pick_up(ops, cookie);
	if (!c)
		return; /* table full: counted already */
	sk = full_sock(ops);
	err = sk ? sk->sk_err : 0;
	reason = close_reason(from, err);
	role = c->role;
	if (c->established) {
		if (role < CONNTRACK_ROLES && reason < CONNTRACK_CLOSE_REASONS) {
			__u32 i = role * CONNTRACK_CLOSE_REASONS + reason;

			if (i < CONNTRACK_ROLES * CONNTRACK_CLOSE_REASONS)
				COUNT(closed[i], 1);
		}
	} else if (reason < CONNTRACK_CLOSE_REASONS) {
		COUNT(failed[reason], 1);
	}

	e = bpf_ringbuf_reserve(&conntrack_events, sizeof(*e), 0);
	if (e) {
		e->conn = *c;
		e->conn.state = CONNTRACK_TCP_CLOSE;
		e->end_ns = bpf_ktime_get_ns();
		payload_bytes(ops, c, sk, from, err, &sent, &received);
		e->bytes_sent = sent;
		e->bytes_received = received;
		e->segs_out = ops->segs_out;
		e->segs_in = ops->segs_in;
		e->total_retrans = ops->total_retrans;
		e->srtt_us = ops->srtt_us >> 3;
		e->reason = reason;
		e->last_state = from;
		e->sk_err = err;
		e->pad = 0;
		bpf_ringbuf_submit(e, 0);
	} else {
		COUNT(events_dropped, 1);
	}
	bpf_map_delete_elem(&conntrack_table, &cookie);
}

SEC("sockops")
int conntrack_sock_ops(struct bpf_sock_ops *ops)
{
	__u64 cookie = bpf_get_socket_cookie(ops);
	struct conntrack_conn *c;
	__u32 from, to;

	switch (ops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* Before the SYN leaves: from here on the kernel calls us on every state change. */
		bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags | callback_flags());
		track(ops, cookie, CONNTRACK_ROLE_CLIENT, 0);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		/* No entry: the table refused it at connect(), which was counted then. */
		c = bpf_map_lookup_elem(&conntrack_table, &cookie);
		if (c)
			opened(c, ops);
		COUNT(opened[CONNTRACK_ROLE_CLIENT], 1);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* Called on the new (accepted) socket, already ESTABLISHED. */
		bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags | callback_flags());
		c = track(ops, cookie, CONNTRACK_ROLE_SERVER, 0);
		if (c) /* the socket may still say SYN_RECV here */
			opened(c, ops);
		COUNT(opened[CONNTRACK_ROLE_SERVER], 1);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		from = ops->args[0];
		to = ops->args[1];
		if (from == CONNTRACK_TCP_CLOSE)
			break; /* already closed and reported */
		if (to == CONNTRACK_TCP_CLOSE) {
			on_close(ops, cookie, from);
			break;
		}
		c = find_or_pick_up(ops, cookie);
		if (c)
			c->state = to;
		break;
	case BPF_SOCK_OPS_RETRANS_CB:
		/* args[1]: segments in this retransmission, args[2]: 0 if it went out */
		c = find_or_pick_up(ops, cookie);
		if (c && ops->args[2] == 0) {
			__u32 role = c->role;

			if (role < CONNTRACK_ROLES)
				COUNT(retransmits[role], ops->args[1]);
			/*
			 * A plain add: sock_ops callbacks for one socket run under its
			 * socket lock, so two never race on the same entry.
			 */
			c->retransmits += ops->args[1];
		}
		break;
	case BPF_SOCK_OPS_RTT_CB:
		c = find_or_pick_up(ops, cookie);
		if (c)
			c->srtt_us = ops->srtt_us >> 3;
		break;
	}
	return 1;
}

/* The process behind each TCP socket (see netprobe.h). */
NP_SOCKET_OWNER_HOOKS(conntrack, conntrack_owner, NP_OWNER_TCP)

/*
 * Run once at start over the sockets of the collector's network namespace:
 * gives every open connection the callback flags, so that the sock_ops program
 * is called when it next acts and picks it up (sock_ops is otherwise only
 * called for connections it saw start). Sockets of other cgroups, listening and
 * closed sockets are skipped; request and TIME_WAIT sockets are not full
 * sockets and cannot take flags.
 */
/*
 * Whether the socket belongs to the watched cgroup or one below it (the iterator sees all):
 * 1 yes, 0 no, -1 the kernel cannot tell.
 */
static __always_inline int in_watched_cgroup(struct sock___np *sk)
{
	struct cgroup___np *cgroup, *ancestor = NULL;
	__u32 level = cgroup_level;

	if (level == 0)
		return 1;
	if (!bpf_core_field_exists(struct cgroup___np, ancestors))
		return -1; /* before Linux 6.2: cannot tell, so leave the socket alone */
	cgroup = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	if (!cgroup || BPF_CORE_READ(cgroup, level) < (int)level || level > 1024)
		return 0;
	bpf_probe_read_kernel(&ancestor, sizeof(ancestor),
			      (void *)cgroup + bpf_core_field_offset(struct cgroup___np, ancestors) + level * sizeof(ancestor));
	return ancestor && BPF_CORE_READ(ancestor, kn, id) == cgroup_id;
}

SEC("iter/tcp")
int conntrack_adopt(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sock___np *sk;
	__u32 key, flags = 0;
	__u64 *n;
	__u8 state;
	int watched;

	if (!skc)
		return 0;
	sk = (struct sock___np *)bpf_skc_to_tcp_sock(skc);
	if (!sk)
		return 0;
	state = sk->__sk_common.skc_state;
	if (state == CONNTRACK_TCP_LISTEN || state == CONNTRACK_TCP_CLOSE)
		return 0;
	watched = in_watched_cgroup(sk);
	key = CONNTRACK_ADOPT_GIVEN;
	if (watched == 0)
		return 0;
	if (watched < 0)
		key = CONNTRACK_ADOPT_UNKNOWN_CGROUP;
	else if (bpf_getsockopt(sk, SOL_TCP, TCP_BPF_SOCK_OPS_CB_FLAGS, &flags, sizeof(flags)) ||
	    (flags |= callback_flags(),
	     bpf_setsockopt(sk, SOL_TCP, TCP_BPF_SOCK_OPS_CB_FLAGS, &flags, sizeof(flags))))
		key = CONNTRACK_ADOPT_REFUSED;
	n = bpf_map_lookup_elem(&conntrack_adopted, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
