/*
 * verbs/rdma_onesided.c - rdma back end one-sided ops: CAS, FAA, READ, WRITE and the chained
 * CAS+READ / WRITE+CAS, posted as one linked list of signaled work requests on the RC QP.
 *
 * Ordering: the responder executes an RC QP's requests in order.  The exception the IB spec
 * allows is a WRITE/SEND overtaking an earlier READ/atomic (which may be re-executed on a
 * retry), so a WRITE posted while a READ/atomic is outstanding carries IBV_SEND_FENCE (also
 * within a chain).  CAS+READ and WRITE+CAS need no fence.
 *
 * A request occupies one of cfg.max_onesided slots; wr_id index = slot << 1 | part.  The
 * completion is pushed when its last part completes, or at its first error: the QP is then in
 * error, so the connection fails (RT_EV_CLOSED) and every other request is flushed.
 */
#include "verbs/rdma.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void complete(struct rdma_conn *c, uint32_t idx, enum rt_status st, uint64_t old)
{
    struct rm_pending *p = &c->pend[idx];
    struct rt_completion comp = {
        .type = RT_EV_OP,
        .op = p->op,
        .status = st,
        .conn = &c->base,
        .cookie = p->cookie,
        .old = old,
    };
    if (!p->busy)
        return;
    p->busy = false;
    c->pend_n--;
    if (st != RT_OK && st != RT_ERR_FLUSHED)
        rt_conn_set_error(&c->base, "%s failed: %s", rt_op_str(p->op), rt_status_str(st));
    rm_push((struct rdma_ctx *)c->base.ctx, &comp, NULL);
}

void rm_fail_pending(struct rdma_conn *c, enum rt_status st)
{
    for (uint32_t i = 0; i < c->base.ctx->cfg.max_onesided && c->pend_n; i++)
        complete(c, i, st, 0);
}

static bool is_rd_atomic(enum rt_op op)
{
    return op == RT_OP_CAS || op == RT_OP_FAA || op == RT_OP_READ;
}

void rm_op_wc(struct rdma_conn *c, const struct ibv_wc *wc, uint32_t idx)
{
    uint32_t slot = idx >> 1, part = idx & 1;
    struct rm_pending *p;
    enum rt_status st;

    if (slot >= c->base.ctx->cfg.max_onesided)
        return;
    p = &c->pend[slot];
    if (!p->busy)
        return;
    if (is_rd_atomic(p->part_op[part]) && c->rd_atomic_out)
        c->rd_atomic_out--;
    st = rm_wc_status(wc->status);
    if (st != RT_OK) {
        char what[64];
        snprintf(what, sizeof(what), "%s", ibv_wc_status_str(wc->status));
        complete(c, slot, st, 0);
        rm_conn_fail(c, st, "%s failed: %s", rt_op_str(p->op), what);
        return;
    }
    if (p->part_op[part] == RT_OP_CAS || p->part_op[part] == RT_OP_FAA)
        p->old = rm_atomic_value((struct rdma_ctx *)c->base.ctx,
                                 __atomic_load_n(rm_result_slot(c, slot), __ATOMIC_ACQUIRE));
    if (++p->done == p->nparts)
        complete(c, slot, RT_OK, p->old);
}

static void build_wr(struct rdma_conn *c, const struct rt_part *part, uint32_t slot, int i,
                     struct ibv_send_wr *wr, struct ibv_sge *sge)
{
    memset(wr, 0, sizeof(*wr));
    wr->wr_id = rm_wrid(c->slot, c->gen, RM_WR_OP, slot << 1 | (uint32_t)i);
    wr->sg_list = sge;
    wr->num_sge = 1;
    wr->send_flags = IBV_SEND_SIGNALED;
    if (part->op == RT_OP_CAS || part->op == RT_OP_FAA) {
        sge->addr = (uintptr_t)rm_result_slot(c, slot);
        sge->length = 8;
        sge->lkey = c->bufs_mr->lkey;
        wr->opcode =
            part->op == RT_OP_CAS ? IBV_WR_ATOMIC_CMP_AND_SWP : IBV_WR_ATOMIC_FETCH_AND_ADD;
        wr->wr.atomic.remote_addr = part->r.addr + part->off;
        wr->wr.atomic.rkey = part->r.rkey;
        wr->wr.atomic.compare_add = part->a;
        wr->wr.atomic.swap = part->b;
    } else {
        struct rdma_mr *lm = (struct rdma_mr *)part->local;
        sge->addr = (uintptr_t)part->local->addr + part->loff;
        sge->length = part->len;
        sge->lkey = lm->mr->lkey;
        wr->opcode = part->op == RT_OP_READ ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
        wr->wr.rdma.remote_addr = part->r.addr + part->off;
        wr->wr.rdma.rkey = part->r.rkey;
    }
}

int rm_post(rt_conn *conn, const struct rt_req *req)
{
    struct rdma_conn *c = (struct rdma_conn *)conn;
    struct ibv_send_wr wr[2], *bad;
    struct ibv_sge sge[2];
    uint32_t max = conn->ctx->cfg.max_onesided, slot, rd = c->rd_atomic_out;
    struct rm_pending *p;

    if (c->state != RT_CONN_OPEN)
        return -ENOTCONN;
    if (c->pend_n >= max)
        return -EAGAIN;
    for (slot = 0; slot < max && c->pend[slot].busy; slot++)
        ;
    p = &c->pend[slot];
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < req->nparts; i++) {
        build_wr(c, &req->part[i], slot, i, &wr[i], &sge[i]);
        if (req->part[i].op == RT_OP_WRITE && rd)
            wr[i].send_flags |= IBV_SEND_FENCE;
        rd += is_rd_atomic(req->part[i].op);
        wr[i].next = i + 1 < req->nparts ? &wr[i + 1] : NULL;
        p->part_op[i] = req->part[i].op;
    }
    if (ibv_post_send(c->id->qp, wr, &bad))
        return -EIO;
    p->busy = true;
    p->cookie = req->cookie;
    p->op = req->op;
    p->nparts = req->nparts;
    c->pend_n++;
    c->rd_atomic_out = rd;
    return 0;
}
