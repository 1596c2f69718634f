/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts and enums shared with userspace. TypeScript reads every struct's
 * layout and every enum's names from BTF: do not mirror them there.
 */
#ifndef CONNTRACK_H
#define CONNTRACK_H

#include "netprobe.h"

/* Who opened the connection, from this host's point of view. */
enum conntrack_role {
	CONNTRACK_ROLE_CLIENT = 0,  /* connect() from here */
	CONNTRACK_ROLE_SERVER = 1,  /* accepted here */
	CONNTRACK_ROLE_UNKNOWN = 2, /* open before the probe started: its start was not seen */
};
#define CONNTRACK_ROLES 3 /* a macro, not an enumerator: userspace maps every enumerator to a name */

/* Why a connection (or a connection attempt) ended; rules in conntrack.bpf.c. */
enum conntrack_close_reason {
	CONNTRACK_CLOSE_NORMAL = 0,         /* FIN handshake */
	CONNTRACK_CLOSE_RESET = 1,          /* RST sent or received after the connection was open */
	CONNTRACK_CLOSE_TIMEOUT = 2,        /* retransmissions or keepalives gave up */
	CONNTRACK_CLOSE_REFUSED = 3,        /* connect() answered with RST */
	CONNTRACK_CLOSE_CONNECT_FAILED = 4, /* connect() failed otherwise (unreachable, aborted) */
};
#define CONNTRACK_CLOSE_REASONS 5

/*
 * TCP states with the kernel's numbering (include/net/tcp_states.h, also ABI in
 * sock_diag). Userspace lowercases the suffix: it is the semantic-convention
 * value of network.connection.state.
 */
enum conntrack_tcp_state {
	CONNTRACK_TCP_ESTABLISHED = 1,
	CONNTRACK_TCP_SYN_SENT,
	CONNTRACK_TCP_SYN_RECEIVED,
	CONNTRACK_TCP_FIN_WAIT_1,
	CONNTRACK_TCP_FIN_WAIT_2,
	CONNTRACK_TCP_TIME_WAIT,
	CONNTRACK_TCP_CLOSE,
	CONNTRACK_TCP_CLOSE_WAIT,
	CONNTRACK_TCP_LAST_ACK,
	CONNTRACK_TCP_LISTEN,
	CONNTRACK_TCP_CLOSING,
};

/* One connection in the table, keyed by socket cookie. */
struct conntrack_conn {
	np_ktime_t start_ns;         /* connect() or accept; pick-up time for pre-existing ones */
	__u8 local_addr[16];         /* IPv6, or IPv4-mapped IPv6 (::ffff:a.b.c.d), network order */
	__u8 peer_addr[16];
	__u16 local_port;            /* host order */
	__u16 peer_port;             /* host order */
	__u8 preexisting;            /* 1: open before the probe started */
	__u8 established;            /* 1: reached ESTABLISHED */
	__u16 pad;
	enum conntrack_tcp_state state;
	enum conntrack_role role;
	__u32 srtt_us;               /* latest smoothed RTT, microseconds */
	__u32 retransmits;           /* segments retransmitted since tracked (picked up: since pick-up) */
	/* The socket's byte counters when it opened (the active side's count its SYN); 0 if pre-existing. */
	__u64 acked_at_open;
	__u64 received_at_open;
	/* For a client the process that called connect(), for a server the one that created the listening socket. */
	struct np_process process;
};

/* Ring-buffer record: a connection (or attempt) that ended. */
struct conntrack_close_event {
	struct conntrack_conn conn;
	np_ktime_t end_ns;
	__u64 bytes_sent;            /* payload bytes the peer acknowledged */
	__u64 bytes_received;        /* payload bytes received in order */
	__u32 segs_out;
	__u32 segs_in;
	__u32 total_retrans;         /* segments retransmitted over the connection's life */
	__u32 srtt_us;               /* smoothed RTT at close, microseconds */
	enum conntrack_close_reason reason;
	enum conntrack_tcp_state last_state; /* the state it left for CLOSE */
	__s32 sk_err;                /* the socket's error at close (errno), 0 if none */
	__u32 pad;
};

/*
 * Counters, per CPU (one entry). Never deleted, so the per-CPU copies of other
 * CPUs cannot hold stale values. Flat arrays, indexed [role * REASONS + reason].
 */
struct conntrack_stats {
	np_counter_t opened[CONNTRACK_ROLES];   /* reached ESTABLISHED */
	np_counter_t closed[CONNTRACK_ROLES * CONNTRACK_CLOSE_REASONS]; /* connections that were open */
	np_counter_t failed[CONNTRACK_CLOSE_REASONS]; /* connect() attempts that never opened */
	np_counter_t retransmits[CONNTRACK_ROLES]; /* segments, from the retransmit callback */
	np_counter_t preexisting;                 /* connections picked up after start */
	np_counter_t table_full;                  /* inserts refused: table at max entries */
	np_counter_t insert_failed;               /* inserts refused for another reason */
	np_counter_t events_dropped;              /* close events lost: ring buffer full */
};

/* What the start-up iterator did with a pre-existing connection: the index of its count in conntrack_adopted. */
enum conntrack_adopt_outcome {
	CONNTRACK_ADOPT_GIVEN = 0,       /* given callback flags: tracked from now on */
	CONNTRACK_ADOPT_REFUSED,         /* the kernel refused the flags (before Linux 6.11) */
	CONNTRACK_ADOPT_UNKNOWN_CGROUP,  /* the kernel cannot tell its cgroup (before Linux 6.2) */
	CONNTRACK_ADOPT_MAX,
};

#endif /* CONNTRACK_H */
