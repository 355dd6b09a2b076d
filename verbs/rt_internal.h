/*
 * verbs/rt_internal.h - what the dispatch layer (transport.c) and the back ends share.
 *
 * Each back end embeds the base structs below as the first member of its own context,
 * connection, listener and region structs, and fills an rt_ops table.  transport.c does the
 * argument checks, the deferred-completion list used by rt_wait_*, and the "release on next
 * poll" of delivered messages (which is what returns their receive credit to the sender).
 */
#ifndef RDLM_VERBS_RT_INTERNAL_H
#define RDLM_VERBS_RT_INTERNAL_H

#include "verbs/transport.h"

#include <pthread.h>
#include <stdbool.h>

#define RT_PEER_MAX 64
#define RT_ERR_MAX  160

/* A completion plus the back end's token for releasing its message buffer. */
struct rt_cqe {
    struct rt_completion c;
    void *token; /* non-NULL for RT_EV_RECV: passed to ops->release */
    struct rt_cqe *next;
};

/* Singly linked FIFO of rt_cqe. */
struct rt_cqe_list {
    struct rt_cqe *head, *tail;
    size_t n;
};
void rt_cqe_list_push(struct rt_cqe_list *l, struct rt_cqe *e);
struct rt_cqe *rt_cqe_list_pop(struct rt_cqe_list *l);

/* One part of a one-sided request. */
struct rt_part {
    enum rt_op op; /* RT_OP_CAS, RT_OP_FAA, RT_OP_READ or RT_OP_WRITE */
    struct rt_rdesc r;
    uint64_t off;
    uint64_t a, b; /* CAS: expect, swap; FAA: add */
    rt_mr *local;  /* READ destination / WRITE source */
    size_t loff;
    uint32_t len;
};

struct rt_req {
    enum rt_op op; /* what the completion reports */
    uint64_t cookie;
    int nparts;
    struct rt_part part[2];
};

struct rt_ops {
    const char *name;
    /* Allocate and start a context (cfg already checked); rt_ctx_base_init the base. */
    int (*ctx_create)(const struct rt_config *cfg, rt_ctx **out);
    void (*ctx_fini)(rt_ctx *ctx); /* close everything and free ctx */
    /* Harvest up to max ready completions without waiting; returns count or -errno. */
    int (*poll)(rt_ctx *ctx, struct rt_cqe *out, int max);
    /* Sleep until something may be ready or timeout_ms passes (after busy-polling failed). */
    void (*wait)(rt_ctx *ctx, int timeout_ms);
    void (*release)(rt_conn *conn, void *token);
    int (*fd)(rt_ctx *ctx);
    int (*arm)(rt_ctx *ctx);
    int (*listen)(rt_ctx *ctx, const char *ip, uint16_t port, rt_listener **out);
    void (*listener_close)(rt_listener *l);
    int (*connect)(rt_ctx *ctx, const char *ip, uint16_t port, const void *hello, size_t len,
                   rt_conn **out);
    void (*close)(rt_conn *conn);
    int (*sever)(rt_conn *conn); /* rt_sever: stop the peer's traffic; base.severed is set */
    void (*heal)(rt_ctx *ctx);   /* rt_heal: really close what close kept silent */
    int (*send)(rt_conn *conn, const void *buf, size_t len);
    int (*reg)(rt_ctx *ctx, void *addr, size_t len, rt_mr **out);
    void (*dereg)(rt_mr *mr);
    /* One-sided request of 1 or 2 parts completing as one RT_EV_OP. */
    int (*post)(rt_conn *conn, const struct rt_req *req);
    int (*local_atomic)(rt_mr *mr, size_t off, bool cas, uint64_t a, uint64_t b, uint64_t *old);
    void (*stats)(rt_ctx *ctx, struct rt_stats *out);
};

struct rt_ctx {
    const struct rt_ops *ops;
    struct rt_config cfg;
    enum rt_backend backend;
    struct rt_cqe_list deferred;  /* found by rt_wait_* but not the one waited for */
    struct rt_cqe_list delivered; /* RECVs handed out by the last rt_poll: release next time */
    char describe[128];
};

enum rt_conn_state {
    RT_CONN_CONNECTING = 1,
    RT_CONN_HANDSHAKE,
    RT_CONN_OPEN,
    RT_CONN_CLOSED,
};

struct rt_conn {
    rt_ctx *ctx;
    char peer[RT_PEER_MAX];
    char error[RT_ERR_MAX];
    uint8_t hello[RT_HELLO_MAX];
    uint32_t hello_len;
    uint32_t peer_max_msg;
    uint32_t peer_recv_depth;
    void *user;
    bool severed; /* rt_sever: silent both ways until rt_close (application thread only) */
};

struct rt_listener {
    rt_ctx *ctx;
    uint16_t port;
};

struct rt_mr {
    rt_ctx *ctx;
    void *addr;
    size_t len;
    uint32_t rkey;
    uint64_t raddr; /* what peers use as rt_rdesc.addr */
};

extern const struct rt_ops rt_tcp_ops;
extern const struct rt_ops rt_rdma_ops;

/* Helpers shared by the back ends. */
void rt_ctx_base_init(rt_ctx *ctx, const struct rt_ops *ops, const struct rt_config *cfg);
void rt_conn_set_error(rt_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_format_peer(char *out, size_t len, const void *sockaddr);
uint64_t rt_now_ns(void);
/* Credit threshold: return credits explicitly once this many are owed. */
static inline uint32_t rt_credit_threshold(uint32_t depth)
{
    return depth / 2 < 2 ? 2 : depth / 2;
}

#endif
