/*
 * verbs/rdma_ctx.c - rdma back end: the context and its polling, the connection table and
 * registered regions.
 *
 * One protection domain and one completion queue per context, shared by every connection's
 * RC QP (send and receive) and grown with ibv_resize_cq as connections are added.  Polling
 * drains the CQ in the caller's thread (rm_handle_wc turns CQEs into completions) and looks
 * at the rdma_cm event channel every few polls.  rt_ctx_fd is an epoll fd over the CQ's
 * completion channel and the cm event channel; rt_arm re-arms the CQ notification.
 * A wr_id names (connection slot, generation), so CQEs of a connection closed meanwhile are
 * recognised and dropped.
 */
#include "verbs/rdma.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static struct rdma_ctx *rctx(rt_ctx *c)
{
    return (struct rdma_ctx *)c;
}

void rm_push(struct rdma_ctx *ctx, const struct rt_completion *c, void *token)
{
    struct rt_cqe *e = calloc(1, sizeof(*e));
    if (!e)
        abort(); /* losing a completion would break "exactly one completion" */
    e->c = *c;
    e->token = token;
    rt_cqe_list_push(&ctx->evq, e);
}

/* ---- connection table ---- */

int rm_table_add(struct rdma_ctx *ctx, struct rdma_conn *c)
{
    uint32_t i;
    for (i = 0; i < ctx->nconns && ctx->conns[i]; i++)
        ;
    if (i == ctx->nconns) {
        uint32_t nn = ctx->nconns ? ctx->nconns * 2 : 8;
        struct rdma_conn **p = realloc(ctx->conns, nn * sizeof(*p));
        if (!p || nn > 0xffff)
            return -ENOMEM;
        memset(p + ctx->nconns, 0, (nn - ctx->nconns) * sizeof(*p));
        ctx->conns = p;
        ctx->nconns = nn;
    }
    c->slot = i;
    c->gen = (uint32_t)(rt_now_ns() >> 10) & 0xffff;
    ctx->conns[i] = c;
    return 0;
}

void rm_table_remove(struct rdma_ctx *ctx, struct rdma_conn *c)
{
    if (c->slot < ctx->nconns && ctx->conns[c->slot] == c)
        ctx->conns[c->slot] = NULL;
}

int rm_cq_reserve(struct rdma_ctx *ctx, int n)
{
    int need = ctx->cq_need + n;
    if (need > ctx->cq_size) {
        int size = ctx->cq_size * 2 > need ? ctx->cq_size * 2 : need;
        if (size > ctx->attr.max_cqe)
            size = ctx->attr.max_cqe;
        if (size < need || ibv_resize_cq(ctx->cq, size))
            return -ENOSPC;
        ctx->cq_size = ctx->cq->cqe;
    }
    ctx->cq_need = need;
    return 0;
}

/* ---- polling ---- */

static void poll_cq(struct rdma_ctx *ctx)
{
    struct ibv_wc wc[16];
    int n;
    do {
        n = ibv_poll_cq(ctx->cq, 16, wc);
        for (int i = 0; i < n; i++)
            rm_handle_wc(ctx, &wc[i]);
    } while (n == 16);
}

static int rdma_poll(rt_ctx *base, struct rt_cqe *out, int max)
{
    struct rdma_ctx *ctx = rctx(base);
    struct rt_cqe *e;
    int n = 0;

    if (!ctx->evq.n)
        poll_cq(ctx);
    if (!ctx->evq.n && (++ctx->cm_tick & 15) == 0)
        rm_cm_drain(ctx);
    while (n < max && (e = rt_cqe_list_pop(&ctx->evq))) {
        out[n++] = *e;
        free(e);
    }
    return n;
}

static int rdma_arm(rt_ctx *base)
{
    struct rdma_ctx *ctx = rctx(base);
    struct ibv_cq *cq;
    void *cq_ctx;
    unsigned acks = 0;

    while (ibv_get_cq_event(ctx->comp_ch, &cq, &cq_ctx) == 0)
        acks++;
    if (acks)
        ibv_ack_cq_events(ctx->cq, acks);
    ibv_req_notify_cq(ctx->cq, 0);
    poll_cq(ctx);
    rm_cm_drain(ctx);
    return ctx->evq.n != 0;
}

static void rdma_wait(rt_ctx *base, int timeout_ms)
{
    struct pollfd p = {.fd = rctx(base)->epfd, .events = POLLIN};
    poll(&p, 1, timeout_ms);
}

static int rdma_fd(rt_ctx *base)
{
    return rctx(base)->epfd;
}

static void rdma_stats(rt_ctx *base, struct rt_stats *out)
{
    out->malformed = rctx(base)->malformed;
    out->accepted = rctx(base)->accepted;
}

/* ---- regions ---- */

static int rdma_reg(rt_ctx *base, void *addr, size_t len, rt_mr **out)
{
    struct rdma_ctx *ctx = rctx(base);
    struct rdma_mr *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->mr = ibv_reg_mr(ctx->pd, addr, len,
                       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE |
                           IBV_ACCESS_REMOTE_ATOMIC);
    if (!m->mr) {
        int e = errno ? -errno : -ENOMEM;
        free(m);
        return e;
    }
    m->base.ctx = base;
    m->base.addr = addr;
    m->base.len = len;
    m->base.rkey = m->mr->rkey;
    m->base.raddr = (uint64_t)(uintptr_t)addr;
    m->next = ctx->mrs;
    ctx->mrs = m;
    *out = &m->base;
    return 0;
}

static void rdma_dereg(rt_mr *base)
{
    struct rdma_ctx *ctx = rctx(base->ctx);
    struct rdma_mr *m = (struct rdma_mr *)base, **pp;
    for (pp = &ctx->mrs; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    ibv_dereg_mr(m->mr);
    free(m);
}

/* ---- context set-up and tear-down (rping style: each step undone in reverse) ---- */

static int setup_channels(struct rdma_ctx *ctx)
{
    struct epoll_event ev = {.events = EPOLLIN};
    ctx->cm_ch = rdma_create_event_channel();
    if (!ctx->cm_ch)
        return -errno;
    ctx->comp_ch = ibv_create_comp_channel(ctx->verbs);
    if (!ctx->comp_ch)
        return -errno;
    if (fcntl(ctx->cm_ch->fd, F_SETFL, O_NONBLOCK) || fcntl(ctx->comp_ch->fd, F_SETFL, O_NONBLOCK))
        return -errno;
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epfd < 0)
        return -errno;
    if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->cm_ch->fd, &ev) ||
        epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->comp_ch->fd, &ev))
        return -errno;
    return 0;
}

static int setup_verbs(struct rdma_ctx *ctx)
{
    ctx->pd = ibv_alloc_pd(ctx->verbs);
    if (!ctx->pd)
        return -errno ? -errno : -ENOMEM;
    ctx->cq_size = 256 < ctx->attr.max_cqe ? 256 : ctx->attr.max_cqe;
    ctx->cq = ibv_create_cq(ctx->verbs, ctx->cq_size, ctx, ctx->comp_ch, 0);
    if (!ctx->cq)
        return -errno ? -errno : -ENOMEM;
    ctx->cq_size = ctx->cq->cqe;
    if (ibv_req_notify_cq(ctx->cq, 0))
        return -EIO;
    return 0;
}

static void rdma_ctx_fini(rt_ctx *base);

static void describe(struct rdma_ctx *ctx)
{
    snprintf(ctx->base.describe, sizeof(ctx->base.describe),
             "rdma %s port %u, atomics %s%s, replies %s, timeout %u retry %u",
             ibv_get_device_name(ctx->verbs->device), ctx->port, ctx->atomic_glob ? "GLOB" : "HCA",
             ctx->atomic_glob ? "" : " (local atomics via loopback QP)",
             ctx->atomic_be ? "big-endian" : "host order", ctx->base.cfg.rdma_timeout,
             ctx->base.cfg.rdma_retry);
}

static int rdma_ctx_create(const struct rt_config *cfg, rt_ctx **out)
{
    struct rdma_ctx *ctx = calloc(1, sizeof(*ctx));
    char why[160] = "";
    int ret;

    if (!ctx)
        return -ENOMEM;
    rt_ctx_base_init(&ctx->base, &rt_rdma_ops, cfg);
    ctx->epfd = -1;
    ret = rm_open_device(ctx, why, sizeof(why));
    if (ret) {
        fprintf(stderr, "rdlm rdma: no usable RDMA device: %s\n", why);
        goto err;
    }
    ctx->atomic_glob = ctx->attr.atomic_cap == IBV_ATOMIC_GLOB;
    if (ctx->port_attr.link_layer == IBV_LINK_LAYER_ETHERNET)
        rm_find_self_ip(ctx);
    ret = setup_channels(ctx);
    if (!ret)
        ret = setup_verbs(ctx);
    if (!ret)
        ret = rm_loop_setup(ctx);
    if (ret) {
        fprintf(stderr, "rdlm rdma: set-up on %s failed: %s\n",
                ibv_get_device_name(ctx->verbs->device), strerror(-ret));
        goto err;
    }
    ret = rm_probe_byte_order(ctx);
    if (ret == -EPROTO) {
        fprintf(stderr, "rdlm rdma: atomic byte-order probe gave an impossible answer\n");
        goto err;
    }
    if (ret && !ctx->atomic_glob)
        goto err; /* local atomics need the loopback QP */
    describe(ctx);
    *out = &ctx->base;
    return 0;
err:
    rdma_ctx_fini(&ctx->base);
    return ret ? ret : -EIO;
}

static void rdma_ctx_fini(rt_ctx *base)
{
    struct rdma_ctx *ctx = rctx(base);
    struct rt_cqe *e;

    ctx->closing_all = true;
    for (uint32_t i = 0; i < ctx->nconns; i++)
        if (ctx->conns[i])
            rm_close(&ctx->conns[i]->base);
    while ((e = rt_cqe_list_pop(&ctx->evq)))
        free(e);
    while (ctx->mrs)
        rdma_dereg(&ctx->mrs->base);
    rm_loop_free(ctx);
    if (ctx->cq)
        ibv_destroy_cq(ctx->cq);
    if (ctx->pd)
        ibv_dealloc_pd(ctx->pd);
    if (ctx->comp_ch)
        ibv_destroy_comp_channel(ctx->comp_ch);
    if (ctx->cm_ch)
        rdma_destroy_event_channel(ctx->cm_ch);
    if (ctx->epfd >= 0)
        close(ctx->epfd);
    free(ctx->conns);
    free(ctx);
}

const struct rt_ops rt_rdma_ops = {
    .name = "rdma",
    .ctx_create = rdma_ctx_create,
    .ctx_fini = rdma_ctx_fini,
    .poll = rdma_poll,
    .wait = rdma_wait,
    .release = rm_release,
    .fd = rdma_fd,
    .arm = rdma_arm,
    .listen = rm_listen,
    .listener_close = rm_listener_close,
    .connect = rm_connect,
    .close = rm_close,
    .sever = rm_sever,
    .heal = rm_heal,
    .send = rm_send,
    .reg = rdma_reg,
    .dereg = rdma_dereg,
    .post = rm_post,
    .local_atomic = rm_local_atomic,
    .stats = rdma_stats,
};
