/*
 * verbs/transport.h - the rdlm transport: one interface, two back ends.
 *
 * The transport moves bytes and touches registered memory; it knows nothing about locks.
 * A context (rt_ctx) owns a back end (rdma: libibverbs + librdmacm over RC QPs; tcp: sockets
 * with one-sided ops executed by the target's progress thread), its listeners, connections and
 * registered memory.  The back end is chosen at run time (rt_config.backend, or the
 * environment variable RDLM_TRANSPORT=rdma|tcp|auto; auto = rdma when an active device with
 * atomics exists, else tcp).
 *
 * Threading: a context and its connections are driven by one thread at a time (a shard event
 * loop, or the caller of a synchronous lock call).  Use one context per thread.  The tcp back
 * end additionally runs one internal progress thread per context, so a target services remote
 * one-sided ops even while its application thread is busy (the rdma NIC does that in hardware).
 *
 * Events: everything that happens - a message received, a one-sided op done, a connection
 * accepted, established or lost - is an rt_completion returned by rt_poll().  Exactly one
 * completion per posted one-sided op, whatever its fate.  rt_ctx_fd() is readable when
 * completions may be waiting (for epoll loops: call rt_arm() before sleeping on it).
 *
 * Ordering: messages arrive intact and in order per connection.  One-sided ops posted on one
 * connection execute at the target in posting order (the rdma back end fences a WRITE or SEND
 * posted behind an outstanding READ/atomic).  A message that had to wait for credits is not
 * ordered against one-sided ops posted after it.
 *
 * Errors: functions return 0 or a negative errno.  Failed ops complete with a non-zero
 * status (enum rt_status); a lost connection also yields one RT_EV_CLOSED event naming the peer
 * and the reason (rt_conn_error()), and the optional rt_config.on_error callback is called from
 * rt_poll() in the polling thread.  See docs/transport.md.
 */
#ifndef RDLM_VERBS_TRANSPORT_H
#define RDLM_VERBS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct rt_ctx rt_ctx;
typedef struct rt_conn rt_conn;
typedef struct rt_listener rt_listener;
typedef struct rt_mr rt_mr;

enum rt_backend {
    RT_BACKEND_DEFAULT = 0, /* RDLM_TRANSPORT from the environment, else auto */
    RT_BACKEND_AUTO,
    RT_BACKEND_TCP,
    RT_BACKEND_RDMA,
};

enum rt_status {
    RT_OK = 0,
    RT_ERR_REMOTE_ACCESS,  /* bad rkey, out of range or misaligned remote address */
    RT_ERR_RETRY_EXCEEDED, /* the peer stopped answering (dead node, cable pulled) */
    RT_ERR_DISCONNECTED,   /* the peer closed or reset the connection */
    RT_ERR_MALFORMED,      /* the peer sent a frame that failed validation */
    RT_ERR_FLUSHED,        /* op cancelled because its connection failed earlier */
    RT_ERR_LOCAL,          /* local failure (resources, local protection, refused) */
    RT_ERR_TIMEOUT,        /* connection attempt timed out */
};

enum rt_event {
    RT_EV_RECV = 1,  /* a message: data/len valid until the next rt_poll on this context */
    RT_EV_OP,        /* a one-sided op finished: op, cookie, status, old (CAS/FAA) */
    RT_EV_ACCEPT,    /* a new incoming connection (conn, listener, data/len = peer's hello) */
    RT_EV_CONNECTED, /* rt_connect() finished: status RT_OK or why it failed */
    RT_EV_CLOSED,    /* the connection failed or was closed by the peer; call rt_close() */
};

enum rt_op {
    RT_OP_NONE = 0,
    RT_OP_CAS,
    RT_OP_FAA,
    RT_OP_READ,
    RT_OP_WRITE,
    RT_OP_CAS_READ,  /* CAS then READ in one round trip; old = CAS result */
    RT_OP_WRITE_CAS, /* WRITE then CAS in one round trip; old = CAS result */
};

#define RT_HELLO_MAX    48u        /* bytes of application hello carried by a connect */
#define RT_ONESIDED_MAX (1u << 20) /* largest READ/WRITE */

struct rt_completion {
    enum rt_event type;
    enum rt_op op;         /* RT_EV_OP */
    enum rt_status status; /* RT_OK or why it failed */
    rt_conn *conn;         /* every event has one */
    rt_listener *listener; /* RT_EV_ACCEPT */
    uint64_t cookie;       /* RT_EV_OP: the caller's cookie */
    uint64_t old;          /* CAS/FAA (and chained): the target's previous value, host order */
    const void *data;      /* RT_EV_RECV: message; RT_EV_ACCEPT: hello */
    uint32_t len;
};

/* A peer's registered region: send it in a message (rt_rdesc_pack) so the peer can target it. */
struct rt_rdesc {
    uint64_t addr; /* remote virtual address of byte 0 of the region */
    uint32_t rkey;
    uint32_t len;
};
#define RT_RDESC_WIRE 16u
void rt_rdesc_pack(const struct rt_rdesc *d, uint8_t out[RT_RDESC_WIRE]);
void rt_rdesc_unpack(const uint8_t in[RT_RDESC_WIRE], struct rt_rdesc *d);

typedef void (*rt_error_fn)(rt_conn *conn, enum rt_status status, const char *what, void *arg);

struct rt_config {
    enum rt_backend backend;
    uint32_t max_msg;      /* largest message, bytes (default 4096) */
    uint32_t recv_depth;   /* receive ring = credits granted to a peer (default 64, min 4) */
    uint32_t max_onesided; /* outstanding one-sided ops per connection (default 64) */
    uint32_t send_queue;   /* messages queued locally while out of credits (default 4096) */
    uint32_t spin_us;      /* busy-poll this long in rt_poll before sleeping (default 100) */
    uint8_t rdma_timeout;  /* IB local ACK timeout exponent: 4.096us * 2^t (default 14) */
    uint8_t rdma_retry;    /* IB transport retry count (default 3) */
    int require_rdma;      /* fail instead of falling back (also env RDLM_REQUIRE_RDMA=1) */
    rt_error_fn on_error;  /* optional, called from rt_poll in the polling thread */
    void *cb_arg;
};

void rt_config_init(struct rt_config *cfg);

/* Context */
int rt_ctx_create(const struct rt_config *cfg, rt_ctx **out);
void rt_ctx_destroy(rt_ctx *ctx); /* closes every listener, connection and region left */
enum rt_backend rt_ctx_backend(const rt_ctx *ctx);
const char *rt_backend_name(enum rt_backend b);
const char *rt_ctx_describe(const rt_ctx *ctx);   /* e.g. "rdma rxe0 port 1, atomics HCA, le" */
int rt_rdma_available(char *why, size_t why_len); /* 1 = an active device with atomics exists */

struct rt_stats {
    uint64_t malformed;  /* connections closed for a bad frame */
    uint64_t accepted;   /* connections accepted */
    uint64_t remote_ops; /* one-sided ops served as target (tcp back end) */
};
void rt_ctx_stats(rt_ctx *ctx, struct rt_stats *out);

/* Polling.  Returns the number of completions stored (0 on timeout) or -errno.
 * timeout_ms: 0 = do not wait, -1 = wait forever.  Busy-polls up to spin_us, then sleeps. */
int rt_poll(rt_ctx *ctx, struct rt_completion *out, int max, int timeout_ms);
/* Wait for one particular completion (op cookie on conn, or an event type on conn); every
 * other completion found meanwhile is kept for the next rt_poll.  -ETIMEDOUT on timeout. */
int rt_wait_op(rt_ctx *ctx, rt_conn *conn, uint64_t cookie, struct rt_completion *out,
               int timeout_ms);
int rt_wait_event(rt_ctx *ctx, rt_conn *conn, enum rt_event type, struct rt_completion *out,
                  int timeout_ms);
int rt_ctx_fd(rt_ctx *ctx); /* readable when rt_poll may have work */
int rt_arm(rt_ctx *ctx);    /* call before sleeping on the fd; 1 = work pending, poll now */

/* Connections */
int rt_listen(rt_ctx *ctx, const char *ip, uint16_t port, rt_listener **out); /* port 0 ok */
uint16_t rt_listener_port(const rt_listener *l);
void rt_listener_close(rt_listener *l);
/* Start connecting; RT_EV_CONNECTED follows.  hello (<= RT_HELLO_MAX) reaches the acceptor. */
int rt_connect(rt_ctx *ctx, const char *ip, uint16_t port, const void *hello, size_t hello_len,
               rt_conn **out);
/* rt_connect + wait for RT_EV_CONNECTED; on failure nothing is left to close. */
int rt_connect_sync(rt_ctx *ctx, const char *ip, uint16_t port, const void *hello, size_t hello_len,
                    int timeout_ms, rt_conn **out);
void rt_close(rt_conn *conn); /* frees conn; no completion of it is returned afterwards */
/* Fault injection (a network partition, docs/operations.md): conn goes silent in both directions
 * without closing.  Messages sent on it are discarded (rt_send returns 0), nothing more of it is
 * delivered (no completion, RT_EV_CLOSED included), one-sided ops can no longer be posted on it
 * (-ENOTCONN; those already posted may never complete), and the peer's one-sided ops on our
 * regions are no longer served (tcp: its socket is no longer read or written; rdma: the QP goes
 * to the error state without a disconnect, so the peer sees retry-exceeded).  Only rt_close
 * remains: it frees conn for the caller but keeps the peer uninformed (no FIN, no disconnect),
 * as a partition would, until rt_heal.  Idempotent; 0 or -errno. */
int rt_sever(rt_conn *conn);
/* Fault injection: the severed connections rt_close kept silent are closed now (their peers see
 * them go).  rt_ctx_destroy does it too. */
void rt_heal(rt_ctx *ctx);
const char *rt_conn_peer(const rt_conn *conn);  /* "ip:port" */
const char *rt_conn_error(const rt_conn *conn); /* "" or what went wrong, naming peer and op */
const void *rt_conn_hello(const rt_conn *conn, uint32_t *len); /* acceptor: peer's hello */
void rt_conn_set_user(rt_conn *conn, void *user);
void *rt_conn_user(const rt_conn *conn);
uint32_t rt_conn_max_msg(const rt_conn *conn); /* largest message the peer accepts */

/* Two-sided messages.  Copies buf; queued while out of credits (sent as credits return);
 * -EAGAIN when send_queue messages are already queued, -EMSGSIZE, -ENOTCONN. */
int rt_send(rt_conn *conn, const void *buf, size_t len);

/* Registered memory */
int rt_reg(rt_ctx *ctx, void *addr, size_t len, rt_mr **out);
void rt_dereg(rt_mr *mr);
void rt_mr_rdesc(const rt_mr *mr, struct rt_rdesc *out);
void *rt_mr_addr(const rt_mr *mr);

/* One-sided ops on a peer's region r at byte offset off.  Atomics need 8-byte alignment.
 * -EAGAIN when max_onesided ops are outstanding on conn (poll, then retry). */
int rt_cas(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t expect, uint64_t swap,
           uint64_t cookie);
int rt_faa(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t add, uint64_t cookie);
int rt_read(rt_conn *c, rt_mr *local, size_t loff, const struct rt_rdesc *r, uint64_t off,
            uint32_t len, uint64_t cookie);
int rt_write(rt_conn *c, rt_mr *local, size_t loff, const struct rt_rdesc *r, uint64_t off,
             uint32_t len, uint64_t cookie);
/* CAS on word (r, off) then READ of len bytes at (rr, roff) into local: one round trip. */
int rt_cas_read(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t expect, uint64_t swap,
                rt_mr *local, size_t loff, const struct rt_rdesc *rr, uint64_t roff, uint32_t len,
                uint64_t cookie);
/* WRITE of len bytes from local to (rr, roff) then CAS on word (r, off): one round trip. */
int rt_write_cas(rt_conn *c, rt_mr *local, size_t loff, const struct rt_rdesc *rr, uint64_t roff,
                 uint32_t len, const struct rt_rdesc *r, uint64_t off, uint64_t expect,
                 uint64_t swap, uint64_t cookie);
/* Synchronous CAS/FAA: post and busy-poll in the caller's thread.  Returns an rt_status
 * (RT_OK, or the failure), or a negative errno if it could not be posted / timed out. */
int rt_cas_sync(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t expect, uint64_t swap,
                uint64_t *old, int timeout_ms);
int rt_faa_sync(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t add, uint64_t *old,
                int timeout_ms);

/* Atomics on one's own registered words, atomic with respect to peers' one-sided atomics
 * (rdma: through a loopback QP unless the device has IBV_ATOMIC_GLOB).  off 8-byte aligned. */
int rt_local_cas(rt_mr *mr, size_t off, uint64_t expect, uint64_t swap, uint64_t *old);
int rt_local_faa(rt_mr *mr, size_t off, uint64_t add, uint64_t *old);
uint64_t rt_local_load(rt_mr *mr, size_t off); /* an atomic read of a registered word */

const char *rt_status_str(enum rt_status s);
const char *rt_op_str(enum rt_op op);

#endif
