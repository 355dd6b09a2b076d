/*
 * verbs/tcp.h - the tcp back end's control blocks, shared by tcp_*.c.
 *
 *   tcp_ctx.c       context, progress thread, epoll dispatch, completion queue, regions
 *   tcp_conn.c      connect/accept/handshake, outbound queue, messages and credits, failure
 *   tcp_onesided.c  one-sided ops: the requester's outstanding ring, the target's executor
 *   tcp_frame.c     the wire format
 *
 * Threads: the application thread calls rt_* (send, post, poll, close); the context's progress
 * thread does all socket reads, executes remote one-sided requests, completes our requests
 * and pushes completions into the context's queue.  Both write to sockets, through the
 * connection's outbound queue under conn->mu.  Lock order: ctx->lock, conn->mu, ctx->cq_mu,
 * ctx->mr_lock.  The progress thread holds ctx->lock while it dispatches a batch of events,
 * so rt_close/rt_listener_close (which take it) never free what it is using.
 */
#ifndef RDLM_VERBS_TCP_H
#define RDLM_VERBS_TCP_H

#include "verbs/rt_internal.h"
#include "verbs/tcp_frame.h"

/* Bytes waiting to be written to a socket: [head, len) of buf. */
struct tcp_outq {
    uint8_t *buf;
    size_t head, len, cap;
};

/* An application message waiting for a credit. */
struct tcp_msg {
    struct tcp_msg *next;
    uint32_t len;
    uint8_t data[];
};

/* One outstanding one-sided request at the requester (1 or 2 frames, answered in order). */
struct tcp_pending {
    uint64_t cookie;
    enum rt_op op;
    int nparts, done;
    enum rt_status status; /* first failure of any part */
    uint64_t old;
    struct {
        enum rt_op op;
        uint32_t id;   /* frame id the response must carry */
        uint8_t *dest; /* READ: where the data goes */
        uint32_t len;
    } part[2];
};

struct tcp_conn {
    struct rt_conn base;
    uint32_t slot, gen; /* place in ctx->conns; epoll data names (slot, gen) */
    bool acceptor;      /* we accepted it (the peer sent the hello) */
    bool delivered;     /* the application knows this conn */
    bool silent;        /* rt_sever: neither read nor written any more (atomic access) */
    rt_listener *listener;
    pthread_mutex_t mu; /* guards every field below except the receive buffer */
    int fd;             /* -1 once failed */
    enum rt_conn_state state;
    bool want_out; /* EPOLLOUT armed because outq did not drain */
    struct tcp_outq out;
    uint32_t credits; /* messages we may still send to the peer */
    uint32_t owed;    /* receive credits to return to the peer */
    uint32_t rx_held; /* messages received and not yet released by the application */
    struct tcp_msg *mq_head, *mq_tail;
    uint32_t mq_len;
    struct tcp_pending *pend; /* ring of cfg.max_onesided */
    uint32_t pend_head, pend_n;
    uint32_t next_id;
    /* progress thread only */
    uint8_t *rbuf;
    size_t rlen, rcap;
};

struct tcp_listener {
    struct rt_listener base;
    int fd;
    uint32_t slot;
};

struct tcp_ctx {
    struct rt_ctx base;
    pthread_mutex_t lock; /* the tables below; held by the progress thread while dispatching */
    pthread_t thread;
    bool thread_started;
    int stop;
    int epfd;   /* progress thread's epoll set */
    int wakefd; /* eventfd: wakes the progress thread (stop) */
    int evfd;   /* eventfd: readable when the completion queue is non-empty (rt_ctx_fd) */
    pthread_mutex_t cq_mu;
    struct rt_cqe_list cq; /* progress thread -> application */
    size_t cq_n;           /* atomic mirror of cq.n for lock-free busy polling */
    int armed;             /* atomic: the application may sleep on evfd */
    struct tcp_conn **conns;
    uint32_t nconns;
    struct tcp_listener **lis;
    uint32_t nlis;
    pthread_rwlock_t mr_lock;
    struct rt_mr **mrs;
    uint32_t nmrs;
    uint64_t malformed, accepted, remote_ops; /* atomic counters */
    int *limbo; /* sockets of severed connections the application closed: kept open (the
                   peer is not told) until rt_heal; application thread only */
    uint32_t nlimbo;
};

/* epoll data: kind in the top byte, generation and slot below. */
enum { TCP_EV_WAKE = 1, TCP_EV_CONN = 2, TCP_EV_LISTENER = 3 };
static inline uint64_t tcp_evkey(int kind, uint32_t gen, uint32_t slot)
{
    return (uint64_t)kind << 56 | (uint64_t)(gen & 0xffffff) << 32 | slot;
}

/* tcp_ctx.c */
void tcp_cq_push(struct tcp_ctx *ctx, const struct rt_completion *c, void *token);
int tcp_table_add_conn(struct tcp_ctx *ctx, struct tcp_conn *c); /* ctx->lock held */
int tcp_epoll_mod(struct tcp_conn *c, bool want_out);
struct rt_mr *tcp_mr_find(struct tcp_ctx *ctx, uint32_t rkey); /* mr_lock held */

/* tcp_conn.c */
struct tcp_conn *tcp_conn_new(struct tcp_ctx *ctx, int fd, const char *peer);
void tcp_conn_free(struct tcp_conn *c);
void tcp_conn_event(struct tcp_conn *c, uint32_t events); /* progress thread */
void tcp_conn_fail(struct tcp_conn *c, enum rt_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append a frame (header + payload parts) to the outbound queue; conn->mu held. */
int tcp_out_frame(struct tcp_conn *c, uint8_t type, uint32_t id, const void *p1, uint32_t n1,
                  const void *p2, uint32_t n2);
void tcp_flush(struct tcp_conn *c); /* conn->mu held */
int tcp_connect(rt_ctx *ctx, const char *ip, uint16_t port, const void *hello, size_t len,
                rt_conn **out);
void tcp_close(rt_conn *conn);
int tcp_sever(rt_conn *conn);
void tcp_heal(rt_ctx *ctx);
int tcp_send(rt_conn *conn, const void *buf, size_t len);
void tcp_release(rt_conn *conn, void *token);
int tcp_accept_one(struct tcp_ctx *ctx, struct tcp_listener *l);

/* tcp_onesided.c */
int tcp_post(rt_conn *conn, const struct rt_req *req);
/* Target: execute a request frame, queue the response.  conn->mu held. */
int tcp_serve(struct tcp_conn *c, const struct tf_hdr *h, const uint8_t *payload);
/* Requester: a RESP frame; -1 if it does not match what we asked.  conn->mu held. */
int tcp_complete(struct tcp_conn *c, const struct tf_hdr *h, const uint8_t *payload);
/* Fail every outstanding request with st.  conn->mu held. */
void tcp_fail_pending(struct tcp_conn *c, enum rt_status st);
int tcp_local_atomic(rt_mr *mr, size_t off, bool cas, uint64_t a, uint64_t b, uint64_t *old);

#endif
