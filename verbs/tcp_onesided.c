/*
 * verbs/tcp_onesided.c - tcp back end one-sided ops (CAS, FAA, READ, WRITE).
 *
 * Requester: rt_req parts become *_REQ frames, each with a fresh id, remembered in the
 * connection's ring of outstanding requests (cfg.max_onesided entries).  The target answers
 * every request frame with a RESP frame in order, so responses match the ring's head; a
 * request completes as one RT_EV_OP when its last part is answered.
 *
 * Target: the progress thread executes requests in arrival order against the context's
 * region table, with the same GCC __atomic ops that rt_local_cas/faa use on this back end,
 * so local and remote atomics on a word are atomic with respect to each other.  A bad rkey,
 * a range outside the region or a misaligned atomic answers RT_ERR_REMOTE_ACCESS; the target
 * and the connection are unharmed.
 */
#include "verbs/tcp.h"

#include <errno.h>
#include <string.h>

static enum tf_type frame_type(enum rt_op op)
{
    switch (op) {
    case RT_OP_CAS:
        return TF_CAS_REQ;
    case RT_OP_FAA:
        return TF_FAA_REQ;
    case RT_OP_READ:
        return TF_READ_REQ;
    default:
        return TF_WRITE_REQ;
    }
}

static int send_part(struct tcp_conn *c, const struct rt_part *p, uint32_t id)
{
    enum tf_type t = frame_type(p->op);
    struct tf_req r = {
        .addr = p->r.addr + p->off, .rkey = p->r.rkey, .len = p->len, .a = p->a, .b = p->b};
    uint8_t fixed[32];
    const void *data = NULL;
    uint32_t dlen = 0;

    tf_req_encode(fixed, t, &r);
    if (t == TF_WRITE_REQ) {
        data = (const uint8_t *)p->local->addr + p->loff;
        dlen = p->len;
    }
    return tcp_out_frame(c, (uint8_t)t, id, fixed, tf_req_fixed(t), data, dlen);
}

int tcp_post(rt_conn *conn, const struct rt_req *req)
{
    struct tcp_conn *c = (struct tcp_conn *)conn;
    uint32_t max = conn->ctx->cfg.max_onesided;
    struct tcp_pending *e;
    int ret = 0;

    pthread_mutex_lock(&c->mu);
    if (c->state != RT_CONN_OPEN) {
        ret = -ENOTCONN;
        goto out;
    }
    if (c->pend_n >= max) {
        ret = -EAGAIN;
        goto out;
    }
    e = &c->pend[(c->pend_head + c->pend_n) % max];
    memset(e, 0, sizeof(*e));
    e->cookie = req->cookie;
    e->op = req->op;
    e->nparts = req->nparts;
    for (int i = 0; i < req->nparts && !ret; i++) {
        const struct rt_part *p = &req->part[i];
        e->part[i].op = p->op;
        e->part[i].id = ++c->next_id;
        e->part[i].len = p->len;
        if (p->op == RT_OP_READ)
            e->part[i].dest = (uint8_t *)p->local->addr + p->loff;
        ret = send_part(c, p, e->part[i].id);
    }
    if (!ret)
        c->pend_n++;
    tcp_flush(c);
out:
    pthread_mutex_unlock(&c->mu);
    return ret;
}

static void complete_head(struct tcp_conn *c)
{
    struct tcp_pending *e = &c->pend[c->pend_head];
    struct rt_completion comp = {
        .type = RT_EV_OP,
        .op = e->op,
        .status = e->status,
        .conn = &c->base,
        .cookie = e->cookie,
        .old = e->old,
    };
    if (e->status != RT_OK)
        rt_conn_set_error(&c->base, "%s failed: %s", rt_op_str(e->op), rt_status_str(e->status));
    tcp_cq_push((struct tcp_ctx *)c->base.ctx, &comp, NULL);
    c->pend_head = (c->pend_head + 1) % c->base.ctx->cfg.max_onesided;
    c->pend_n--;
}

int tcp_complete(struct tcp_conn *c, const struct tf_hdr *h, const uint8_t *payload)
{
    struct tcp_pending *e = &c->pend[c->pend_head];
    struct tf_resp r;
    int i;

    if (c->pend_n == 0)
        return -1;
    i = e->done;
    if (h->id != e->part[i].id)
        return -1;
    tf_resp_decode(payload, h, &r);
    if (r.status > RT_ERR_TIMEOUT)
        return -1;
    if (r.status != RT_OK) {
        if (r.data_len)
            return -1;
        if (e->status == RT_OK)
            e->status = (enum rt_status)r.status;
    } else if (e->part[i].op == RT_OP_READ) {
        if (r.data_len != e->part[i].len)
            return -1;
        memcpy(e->part[i].dest, r.data, r.data_len);
    } else {
        if (r.data_len)
            return -1;
        if (e->part[i].op != RT_OP_WRITE)
            e->old = r.old;
    }
    if (++e->done == e->nparts)
        complete_head(c);
    return 0;
}

void tcp_fail_pending(struct tcp_conn *c, enum rt_status st)
{
    while (c->pend_n) {
        struct tcp_pending *e = &c->pend[c->pend_head];
        if (e->status == RT_OK)
            e->status = st;
        complete_head(c);
    }
}

/* ---- target side ---- */

static bool in_region(const struct rt_mr *mr, uint64_t addr, uint32_t len)
{
    return addr >= mr->raddr && addr - mr->raddr <= mr->len && len <= mr->len - (addr - mr->raddr);
}

/* Execute r (type t) on region memory; for READ also queue the response (data copied while
 * the region table is locked).  Returns the status; *answered when READ queued its RESP. */
static enum rt_status execute(struct tcp_conn *c, enum tf_type t, const struct tf_req *r,
                              uint32_t id, uint64_t *old, bool *answered)
{
    struct tcp_ctx *ctx = (struct tcp_ctx *)c->base.ctx;
    enum rt_status st = RT_OK;
    struct rt_mr *mr;
    uint8_t *p;

    pthread_rwlock_rdlock(&ctx->mr_lock);
    mr = tcp_mr_find(ctx, r->rkey);
    if (!mr || !in_region(mr, r->addr, r->len) ||
        ((t == TF_CAS_REQ || t == TF_FAA_REQ) && (r->addr & 7))) {
        st = RT_ERR_REMOTE_ACCESS;
        goto out;
    }
    p = (uint8_t *)mr->addr + (r->addr - mr->raddr);
    if (t == TF_CAS_REQ) {
        *old = r->a;
        __atomic_compare_exchange_n((uint64_t *)p, old, r->b, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
    } else if (t == TF_FAA_REQ) {
        *old = __atomic_fetch_add((uint64_t *)p, r->a, __ATOMIC_SEQ_CST);
    } else if (t == TF_WRITE_REQ) {
        memcpy(p, r->data, r->len);
        __atomic_thread_fence(__ATOMIC_RELEASE);
    } else {
        uint8_t resp[16] = {0};
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        tcp_out_frame(c, TF_RESP, id, resp, 16, p, r->len);
        *answered = true;
    }
out:
    pthread_rwlock_unlock(&ctx->mr_lock);
    return st;
}

int tcp_serve(struct tcp_conn *c, const struct tf_hdr *h, const uint8_t *payload)
{
    struct tcp_ctx *ctx = (struct tcp_ctx *)c->base.ctx;
    struct tf_req r;
    uint64_t old = 0;
    bool answered = false;
    uint8_t resp[16];
    enum rt_status st;

    if (tf_req_decode(payload, h, &r))
        return -1;
    st = execute(c, (enum tf_type)h->type, &r, h->id, &old, &answered);
    __atomic_fetch_add(&ctx->remote_ops, 1, __ATOMIC_RELAXED);
    if (!answered) {
        tf_put32(resp, (uint32_t)st);
        tf_put32(resp + 4, 0);
        tf_put64(resp + 8, old);
        tcp_out_frame(c, TF_RESP, h->id, resp, 16, NULL, 0);
    }
    tcp_flush(c);
    return 0;
}

int tcp_local_atomic(rt_mr *mr, size_t off, bool cas, uint64_t a, uint64_t b, uint64_t *old)
{
    uint64_t *w = (uint64_t *)((uint8_t *)mr->addr + off);
    uint64_t v;
    if (cas) {
        v = a;
        __atomic_compare_exchange_n(w, &v, b, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    } else {
        v = __atomic_fetch_add(w, a, __ATOMIC_SEQ_CST);
    }
    if (old)
        *old = v;
    return 0;
}
