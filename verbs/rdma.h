/*
 * verbs/rdma.h - the rdma back end's control blocks, shared by rdma_*.c.
 *
 *   rdma_ctx.c       context: device, PD, shared CQ + completion channel, polling, regions
 *   rdma_probe.c     device discovery, atomic capability, atomic-reply byte order, and the
 *                    self-connected loopback QP used for the probe and for local atomics
 *   rdma_cm.c        rdma_cm: listen, connect, accept, the connection's life cycle
 *   rdma_qp.c        per-connection QP and buffers, messages with credits, CQE handling
 *   rdma_onesided.c  CAS / FAA / READ / WRITE work requests, chained ops, fencing
 *
 * Everything runs in the thread that polls the context (no internal threads): the NIC serves
 * remote one-sided ops by itself.
 */
#ifndef RDLM_VERBS_RDMA_H
#define RDLM_VERBS_RDMA_H

#include "verbs/rt_internal.h"

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

/* In-band header of every SEND: 8 bytes, little-endian. */
#define RM_HDR     8u
#define RM_VERSION 1
enum { RM_MSG = 1, RM_CREDIT = 2 };

/* rdma_cm private data of connect (<= 56 bytes) and accept. */
struct rm_private {
    uint8_t version;
    uint8_t hello_len;
    uint16_t recv_depth; /* little-endian on the wire */
    uint32_t max_msg;
    uint8_t hello[RT_HELLO_MAX];
} __attribute__((packed));

/* wr_id: conn slot:16 | conn gen:16 | kind:4 | index:28 */
enum { RM_WR_RECV = 1, RM_WR_SEND = 2, RM_WR_OP = 3 };
static inline uint64_t rm_wrid(uint32_t slot, uint32_t gen, int kind, uint32_t idx)
{
    return (uint64_t)(slot & 0xffff) << 48 | (uint64_t)(gen & 0xffff) << 32 | (uint64_t)kind << 28 |
           (idx & 0xfffffff);
}

/* What an rdma_cm_id's context points to. */
enum { RM_ID_CONN = 1, RM_ID_LISTENER = 2 };
struct rm_idref {
    int kind;
    void *obj;
};

struct rm_pending {
    bool busy;
    uint64_t cookie;
    enum rt_op op;
    int nparts, done;
    enum rt_op part_op[2];
    uint64_t old; /* the atomic part's reply, host order */
};

/* Self-connected RC QP: atomics on our own memory through the NIC (and the byte-order probe). */
struct rm_loop {
    struct ibv_cq *cq;
    struct ibv_qp *qp;
    struct ibv_mr *mr;
    uint64_t *result; /* 8-byte landing zone of the atomic's reply */
};

struct rdma_ctx;

struct rdma_conn {
    struct rt_conn base;
    struct rm_idref ref;
    uint32_t slot, gen; /* place in ctx->conns; named by every wr_id */
    struct rdma_cm_id *id;
    enum rt_conn_state state;
    bool acceptor, delivered;
    bool severed; /* rt_sever: QP in error on purpose; a failure is not told to the peer */
    bool limbo;   /* severed and closed by the application: kept until rt_heal (rm_heal) */
    rt_listener *listener;
    uint32_t depth;     /* our receive ring (credits we grant) */
    uint32_t slot_size; /* RM_HDR + max_msg */
    uint32_t nsend;     /* send buffers */
    uint8_t *bufs;      /* [depth recv][nsend send][max_onesided u64 results] */
    struct ibv_mr *bufs_mr;
    uint32_t *send_free; /* stack of free send-buffer indexes */
    uint32_t nsend_free;
    uint32_t credits;        /* messages we may still send (the last one kept for CREDIT) */
    uint32_t owed;           /* credits to return */
    struct rm_pending *pend; /* cfg.max_onesided */
    uint32_t pend_n;
    uint32_t rd_atomic_out; /* READ/atomic WRs not completed: fence WRITE/SEND behind them */
    struct rt_msgq_item *mq_head, *mq_tail;
    uint32_t mq_len;
};

struct rt_msgq_item {
    struct rt_msgq_item *next;
    uint32_t len;
    uint8_t data[];
};

struct rdma_listener {
    struct rt_listener base;
    struct rm_idref ref;
    struct rdma_cm_id *id;
};

struct rdma_mr {
    struct rt_mr base;
    struct ibv_mr *mr;
    struct rdma_mr *next; /* ctx->mrs list, freed at destroy if the user forgot */
};

struct rdma_ctx {
    struct rt_ctx base;
    struct rdma_event_channel *cm_ch; /* events of every cm id of this context */
    struct ibv_context *verbs;        /* the device (owned by librdmacm) */
    uint8_t port;
    struct ibv_device_attr attr;
    struct ibv_port_attr port_attr;
    struct ibv_pd *pd;
    struct ibv_comp_channel *comp_ch;
    struct ibv_cq *cq; /* shared by every connection's QP, send and receive */
    int cq_size, cq_need;
    int epfd;         /* epoll over cm_ch->fd and comp_ch->fd: rt_ctx_fd() */
    char self_ip[16]; /* IPv4 address in the port's GID table: what 127.0.0.1 maps to */
    bool atomic_glob; /* CPU atomics are atomic with the NIC's: no loopback needed */
    bool atomic_be;   /* the NIC returns atomic originals big-endian (ConnectX-3) */
    struct rm_loop loop;
    struct rdma_conn **conns;
    uint32_t nconns;
    struct rdma_mr *mrs;
    struct rt_cqe_list evq; /* completions made by event handling, handed out by poll */
    uint32_t cm_tick;
    uint64_t malformed, accepted;
    bool closing_all; /* rdma_ctx_fini: rm_close really closes, severed or not */
};

/* rdma_probe.c */
int rm_open_device(struct rdma_ctx *ctx, char *why, size_t why_len);
int rm_loop_setup(struct rdma_ctx *ctx);
void rm_loop_free(struct rdma_ctx *ctx);
int rm_probe_byte_order(struct rdma_ctx *ctx);
void rm_find_self_ip(struct rdma_ctx *ctx);
const char *rm_map_loopback(struct rdma_ctx *ctx, const char *ip);
int rm_local_atomic(rt_mr *mr, size_t off, bool cas, uint64_t a, uint64_t b, uint64_t *old);
uint64_t rm_atomic_value(struct rdma_ctx *ctx, uint64_t raw);

/* rdma_ctx.c */
void rm_push(struct rdma_ctx *ctx, const struct rt_completion *c, void *token);
int rm_table_add(struct rdma_ctx *ctx, struct rdma_conn *c);
void rm_table_remove(struct rdma_ctx *ctx, struct rdma_conn *c);
int rm_cq_reserve(struct rdma_ctx *ctx, int n);

/* rdma_cm.c */
void rm_cm_drain(struct rdma_ctx *ctx);
int rm_listen(rt_ctx *ctx, const char *ip, uint16_t port, rt_listener **out);
void rm_listener_close(rt_listener *l);
int rm_connect(rt_ctx *ctx, const char *ip, uint16_t port, const void *hello, size_t len,
               rt_conn **out);
void rm_close(rt_conn *conn);
int rm_sever(rt_conn *conn);
void rm_heal(rt_ctx *ctx);
void rm_conn_fail(struct rdma_conn *c, enum rt_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* rdma_qp.c */
int rm_qp_setup(struct rdma_conn *c);
void rm_qp_free(struct rdma_conn *c);
void rm_handle_wc(struct rdma_ctx *ctx, const struct ibv_wc *wc);
int rm_send(rt_conn *conn, const void *buf, size_t len);
void rm_release(rt_conn *conn, void *token);
void rm_conn_established(struct rdma_conn *c);
void rm_drain_queue(struct rdma_conn *c);
uint64_t *rm_result_slot(struct rdma_conn *c, uint32_t pend_idx);
enum rt_status rm_wc_status(enum ibv_wc_status s);

/* rdma_onesided.c */
int rm_post(rt_conn *conn, const struct rt_req *req);
void rm_op_wc(struct rdma_conn *c, const struct ibv_wc *wc, uint32_t idx);
void rm_fail_pending(struct rdma_conn *c, enum rt_status st);

#endif
