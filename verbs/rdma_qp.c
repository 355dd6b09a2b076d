/*
 * verbs/rdma_qp.c - rdma back end per-connection QP, buffers, messages with credits, and
 * the dispatch of completion-queue entries.
 *
 * Buffers: one registered block per connection: `depth` receive slots, `nsend` = 2 * depth
 * send slots (each RM_HDR + max_msg bytes), then one 8-byte landing zone per one-sided op
 * slot for atomic replies.
 *
 * Message header (8 bytes, little-endian): u8 version, u8 type (RM_MSG | RM_CREDIT), u16 0,
 * u32 credits returned.  Credits: we may have `peer.recv_depth` SENDs outstanding toward a
 * peer's receive ring.  Every SEND (message or credit-only) uses one; an application message
 * needs two, so the last credit is always left for a credit-only message (no deadlock when
 * both sides run out at once).  A receive slot is re-posted when the application has released
 * its message (next rt_poll), and its credit returned piggybacked on the next SEND, or by a
 * credit-only SEND once rt_credit_threshold() (>= 2, so credit-only messages never ping-pong)
 * are owed.  Messages that cannot go yet wait in a local queue (cfg.send_queue).
 * A WRITE or SEND posted while a READ/atomic is outstanding carries IBV_SEND_FENCE.
 */
#include "verbs/rdma.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct rdma_ctx *ctx_of(struct rdma_conn *c)
{
    return (struct rdma_ctx *)c->base.ctx;
}

static uint8_t *recv_buf(struct rdma_conn *c, uint32_t i)
{
    return c->bufs + (size_t)i * c->slot_size;
}

static uint8_t *send_buf(struct rdma_conn *c, uint32_t i)
{
    return c->bufs + (size_t)(c->depth + i) * c->slot_size;
}

static int post_recv(struct rdma_conn *c, uint32_t i)
{
    struct ibv_sge sge = {
        .addr = (uintptr_t)recv_buf(c, i), .length = c->slot_size, .lkey = c->bufs_mr->lkey};
    struct ibv_recv_wr wr = {.wr_id = rm_wrid(c->slot, c->gen, RM_WR_RECV, i),
                             .sg_list = &sge,
                             .num_sge = 1},
                       *bad;
    return ibv_post_recv(c->id->qp, &wr, &bad) ? -EIO : 0;
}

static int alloc_bufs(struct rdma_conn *c)
{
    const struct rt_config *cfg = &c->base.ctx->cfg;
    size_t size;

    c->depth = cfg->recv_depth;
    c->nsend = 2 * cfg->recv_depth;
    c->slot_size = (RM_HDR + cfg->max_msg + 63) & ~63u;
    size = (size_t)(c->depth + c->nsend) * c->slot_size + (size_t)cfg->max_onesided * 8;
    size = (size + 4095) & ~(size_t)4095;
    c->bufs = aligned_alloc(4096, size);
    c->send_free = calloc(c->nsend, sizeof(*c->send_free));
    if (!c->bufs || !c->send_free)
        return -ENOMEM;
    memset(c->bufs, 0, size);
    c->bufs_mr = ibv_reg_mr(ctx_of(c)->pd, c->bufs, size, IBV_ACCESS_LOCAL_WRITE);
    if (!c->bufs_mr)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->nsend; i++)
        c->send_free[i] = c->nsend - 1 - i;
    c->nsend_free = c->nsend;
    return 0;
}

uint64_t *rm_result_slot(struct rdma_conn *c, uint32_t pend_idx)
{
    return (uint64_t *)(c->bufs + (size_t)(c->depth + c->nsend) * c->slot_size) + pend_idx;
}

int rm_qp_setup(struct rdma_conn *c)
{
    struct rdma_ctx *ctx = ctx_of(c);
    const struct rt_config *cfg = &ctx->base.cfg;
    struct ibv_qp_init_attr qa;
    int ret = alloc_bufs(c);

    if (ret)
        return ret;
    memset(&qa, 0, sizeof(qa));
    qa.qp_type = IBV_QPT_RC;
    qa.send_cq = qa.recv_cq = ctx->cq;
    qa.cap.max_send_wr = c->nsend + 2 * cfg->max_onesided + 4;
    qa.cap.max_recv_wr = c->depth;
    qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
    ret = rm_cq_reserve(ctx, (int)(qa.cap.max_send_wr + qa.cap.max_recv_wr));
    if (ret)
        return ret;
    if (rdma_create_qp(c->id, ctx->pd, &qa)) {
        ctx->cq_need -= (int)(qa.cap.max_send_wr + qa.cap.max_recv_wr);
        return -errno ? -errno : -EIO;
    }
    for (uint32_t i = 0; i < c->depth; i++)
        if (post_recv(c, i))
            return -EIO;
    return 0;
}

void rm_qp_free(struct rdma_conn *c)
{
    const struct rt_config *cfg = &c->base.ctx->cfg;
    if (c->id && c->id->qp) {
        rdma_destroy_qp(c->id);
        ctx_of(c)->cq_need -= (int)(c->nsend + 2 * cfg->max_onesided + 4 + c->depth);
    }
    if (c->bufs_mr)
        ibv_dereg_mr(c->bufs_mr);
    free(c->bufs);
    free(c->send_free);
    c->bufs_mr = NULL;
    c->bufs = NULL;
    c->send_free = NULL;
}

enum rt_status rm_wc_status(enum ibv_wc_status s)
{
    switch (s) {
    case IBV_WC_SUCCESS:
        return RT_OK;
    case IBV_WC_REM_ACCESS_ERR:
    case IBV_WC_REM_INV_REQ_ERR:
    case IBV_WC_REM_OP_ERR:
        return RT_ERR_REMOTE_ACCESS;
    case IBV_WC_RETRY_EXC_ERR:
    case IBV_WC_RNR_RETRY_EXC_ERR:
        return RT_ERR_RETRY_EXCEEDED;
    case IBV_WC_WR_FLUSH_ERR:
        return RT_ERR_FLUSHED;
    default:
        return RT_ERR_LOCAL;
    }
}

/* ---- sending ---- */

static int post_send(struct rdma_conn *c, uint8_t type, const void *data, uint32_t len)
{
    uint32_t i = c->send_free[--c->nsend_free];
    uint8_t *b = send_buf(c, i);
    uint32_t credits = htole32(c->owed);
    struct ibv_sge sge = {.addr = (uintptr_t)b, .length = RM_HDR + len, .lkey = c->bufs_mr->lkey};
    struct ibv_send_wr wr = {.wr_id = rm_wrid(c->slot, c->gen, RM_WR_SEND, i),
                             .sg_list = &sge,
                             .num_sge = 1,
                             .opcode = IBV_WR_SEND,
                             .send_flags = IBV_SEND_SIGNALED},
                       *bad;

    b[0] = RM_VERSION;
    b[1] = type;
    b[2] = b[3] = 0;
    memcpy(b + 4, &credits, 4);
    if (len)
        memcpy(b + RM_HDR, data, len);
    if (c->rd_atomic_out)
        wr.send_flags |= IBV_SEND_FENCE;
    if (ibv_post_send(c->id->qp, &wr, &bad)) {
        c->send_free[c->nsend_free++] = i;
        return -EIO;
    }
    c->owed = 0;
    c->credits--;
    return 0;
}

static bool can_send_msg(const struct rdma_conn *c)
{
    return c->state == RT_CONN_OPEN && c->credits >= 2 && c->nsend_free > 0;
}

static void maybe_send_credit(struct rdma_conn *c)
{
    if (c->state == RT_CONN_OPEN && c->owed >= rt_credit_threshold(c->depth) && c->credits >= 1 &&
        c->nsend_free > 0)
        post_send(c, RM_CREDIT, NULL, 0);
}

void rm_drain_queue(struct rdma_conn *c)
{
    struct rt_msgq_item *m;
    while ((m = c->mq_head) && can_send_msg(c)) {
        if (post_send(c, RM_MSG, m->data, m->len))
            break;
        c->mq_head = m->next;
        if (!c->mq_head)
            c->mq_tail = NULL;
        c->mq_len--;
        free(m);
    }
    maybe_send_credit(c);
}

static int queue_msg(struct rdma_conn *c, const void *buf, size_t len)
{
    struct rt_msgq_item *m;
    if (c->mq_len >= c->base.ctx->cfg.send_queue)
        return -EAGAIN;
    m = malloc(sizeof(*m) + len);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->len = (uint32_t)len;
    if (len)
        memcpy(m->data, buf, len);
    if (c->mq_tail)
        c->mq_tail->next = m;
    else
        c->mq_head = m;
    c->mq_tail = m;
    c->mq_len++;
    return 0;
}

int rm_send(rt_conn *conn, const void *buf, size_t len)
{
    struct rdma_conn *c = (struct rdma_conn *)conn;
    if (c->state != RT_CONN_OPEN)
        return -ENOTCONN;
    if (!c->mq_head && can_send_msg(c))
        return post_send(c, RM_MSG, buf, (uint32_t)len);
    return queue_msg(c, buf, len);
}

/* ---- receiving ---- */

void rm_release(rt_conn *conn, void *token)
{
    struct rdma_conn *c = (struct rdma_conn *)conn;
    uint32_t i;
    if (c->state == RT_CONN_CLOSED || !c->bufs)
        return;
    i = (uint32_t)(((uint8_t *)token - RM_HDR - c->bufs) / c->slot_size);
    if (post_recv(c, i)) {
        rm_conn_fail(c, RT_ERR_LOCAL, "re-posting a receive failed");
        return;
    }
    c->owed++;
    maybe_send_credit(c);
}

static void on_recv(struct rdma_conn *c, const struct ibv_wc *wc, uint32_t i)
{
    uint8_t *b = recv_buf(c, i);
    uint32_t credits;
    struct rt_completion comp = {.type = RT_EV_RECV, .conn = &c->base};

    if (wc->byte_len < RM_HDR || b[0] != RM_VERSION || (b[1] != RM_MSG && b[1] != RM_CREDIT) ||
        b[2] || b[3] || i >= c->depth) {
        rm_conn_fail(c, RT_ERR_MALFORMED, "malformed message (%u bytes)", wc->byte_len);
        return;
    }
    memcpy(&credits, b + 4, 4);
    credits = le32toh(credits);
    if (credits > c->base.peer_recv_depth - c->credits) {
        rm_conn_fail(c, RT_ERR_MALFORMED, "peer returned %u credits too many", credits);
        return;
    }
    c->credits += credits;
    if (b[1] == RM_CREDIT) {
        rm_release(&c->base, b + RM_HDR);
    } else {
        comp.data = b + RM_HDR;
        comp.len = wc->byte_len - RM_HDR;
        rm_push(ctx_of(c), &comp, b + RM_HDR);
    }
    rm_drain_queue(c);
}

static void on_send(struct rdma_conn *c, const struct ibv_wc *wc, uint32_t i)
{
    if (i < c->nsend)
        c->send_free[c->nsend_free++] = i;
    if (wc->status != IBV_WC_SUCCESS) {
        rm_conn_fail(c, rm_wc_status(wc->status), "SEND failed: %s", ibv_wc_status_str(wc->status));
        return;
    }
    rm_drain_queue(c);
}

void rm_handle_wc(struct rdma_ctx *ctx, const struct ibv_wc *wc)
{
    uint32_t slot = (uint32_t)(wc->wr_id >> 48), gen = (uint32_t)(wc->wr_id >> 32) & 0xffff;
    int kind = (int)(wc->wr_id >> 28) & 0xf;
    uint32_t idx = (uint32_t)wc->wr_id & 0xfffffff;
    struct rdma_conn *c = slot < ctx->nconns ? ctx->conns[slot] : NULL;

    if (!c || c->gen != gen || c->state == RT_CONN_CLOSED)
        return; /* a connection closed meanwhile: flushed work */
    if (c->state == RT_CONN_HANDSHAKE && wc->status == IBV_WC_SUCCESS)
        rm_conn_established(c); /* data before the ESTABLISHED event */
    if (kind == RM_WR_RECV) {
        if (wc->status != IBV_WC_SUCCESS)
            rm_conn_fail(c, rm_wc_status(wc->status), "receive failed: %s",
                         ibv_wc_status_str(wc->status));
        else
            on_recv(c, wc, idx);
    } else if (kind == RM_WR_SEND) {
        on_send(c, wc, idx);
    } else if (kind == RM_WR_OP) {
        rm_op_wc(c, wc, idx);
    }
}
