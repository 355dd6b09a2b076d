/*
 * verbs/onesided.c - dispatch of registered memory and one-sided ops (transport.h).
 *
 * Builds an rt_req (one or two parts that complete as one RT_EV_OP) from the public calls,
 * checks what can be checked locally (alignment, lengths, local bounds) and hands it to the
 * back end.  Remote bounds are the target's business: a bad rkey or range completes with
 * RT_ERR_REMOTE_ACCESS.  Also the synchronous CAS/FAA (post + busy-poll in the caller's
 * thread) and the descriptor wire encoding.
 */
#include "verbs/rt_internal.h"

#include <errno.h>
#include <string.h>

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void rt_rdesc_pack(const struct rt_rdesc *d, uint8_t out[RT_RDESC_WIRE])
{
    put_le64(out, d->addr);
    put_le64(out + 8, (uint64_t)d->rkey | ((uint64_t)d->len << 32));
}

void rt_rdesc_unpack(const uint8_t in[RT_RDESC_WIRE], struct rt_rdesc *d)
{
    uint64_t w = get_le64(in + 8);
    d->addr = get_le64(in);
    d->rkey = (uint32_t)w;
    d->len = (uint32_t)(w >> 32);
}

int rt_reg(rt_ctx *ctx, void *addr, size_t len, rt_mr **out)
{
    if (!addr || !len || len > UINT32_MAX)
        return -EINVAL;
    return ctx->ops->reg(ctx, addr, len, out);
}

void rt_dereg(rt_mr *mr)
{
    if (mr)
        mr->ctx->ops->dereg(mr);
}

void rt_mr_rdesc(const rt_mr *mr, struct rt_rdesc *out)
{
    out->addr = mr->raddr;
    out->rkey = mr->rkey;
    out->len = (uint32_t)mr->len;
}

void *rt_mr_addr(const rt_mr *mr)
{
    return mr->addr;
}

static int check_local(rt_conn *c, rt_mr *local, size_t loff, uint32_t len)
{
    if (!local || local->ctx != c->ctx || len == 0 || len > RT_ONESIDED_MAX)
        return -EINVAL;
    if (loff > local->len || len > local->len - loff)
        return -ERANGE;
    return 0;
}

static void set_atomic(struct rt_part *p, enum rt_op op, const struct rt_rdesc *r, uint64_t off,
                       uint64_t a, uint64_t b)
{
    memset(p, 0, sizeof(*p));
    p->op = op;
    p->r = *r;
    p->off = off;
    p->a = a;
    p->b = b;
    p->len = 8;
}

static void set_rw(struct rt_part *p, enum rt_op op, rt_mr *local, size_t loff,
                   const struct rt_rdesc *r, uint64_t off, uint32_t len)
{
    memset(p, 0, sizeof(*p));
    p->op = op;
    p->r = *r;
    p->off = off;
    p->local = local;
    p->loff = loff;
    p->len = len;
}

static int post(rt_conn *c, struct rt_req *req)
{
    if (c->severed)
        return -ENOTCONN;
    for (int i = 0; i < req->nparts; i++) {
        const struct rt_part *p = &req->part[i];
        if ((p->op == RT_OP_CAS || p->op == RT_OP_FAA) && ((p->r.addr + p->off) & 7))
            return -EINVAL;
    }
    return c->ctx->ops->post(c, req);
}

int rt_cas(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t expect, uint64_t swap,
           uint64_t cookie)
{
    struct rt_req req = {.op = RT_OP_CAS, .cookie = cookie, .nparts = 1};
    set_atomic(&req.part[0], RT_OP_CAS, r, off, expect, swap);
    return post(c, &req);
}

int rt_faa(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t add, uint64_t cookie)
{
    struct rt_req req = {.op = RT_OP_FAA, .cookie = cookie, .nparts = 1};
    set_atomic(&req.part[0], RT_OP_FAA, r, off, add, 0);
    return post(c, &req);
}

int rt_read(rt_conn *c, rt_mr *local, size_t loff, const struct rt_rdesc *r, uint64_t off,
            uint32_t len, uint64_t cookie)
{
    struct rt_req req = {.op = RT_OP_READ, .cookie = cookie, .nparts = 1};
    int ret = check_local(c, local, loff, len);
    if (ret)
        return ret;
    set_rw(&req.part[0], RT_OP_READ, local, loff, r, off, len);
    return post(c, &req);
}

int rt_write(rt_conn *c, rt_mr *local, size_t loff, const struct rt_rdesc *r, uint64_t off,
             uint32_t len, uint64_t cookie)
{
    struct rt_req req = {.op = RT_OP_WRITE, .cookie = cookie, .nparts = 1};
    int ret = check_local(c, local, loff, len);
    if (ret)
        return ret;
    set_rw(&req.part[0], RT_OP_WRITE, local, loff, r, off, len);
    return post(c, &req);
}

int rt_cas_read(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t expect, uint64_t swap,
                rt_mr *local, size_t loff, const struct rt_rdesc *rr, uint64_t roff, uint32_t len,
                uint64_t cookie)
{
    struct rt_req req = {.op = RT_OP_CAS_READ, .cookie = cookie, .nparts = 2};
    int ret = check_local(c, local, loff, len);
    if (ret)
        return ret;
    set_atomic(&req.part[0], RT_OP_CAS, r, off, expect, swap);
    set_rw(&req.part[1], RT_OP_READ, local, loff, rr, roff, len);
    return post(c, &req);
}

int rt_write_cas(rt_conn *c, rt_mr *local, size_t loff, const struct rt_rdesc *rr, uint64_t roff,
                 uint32_t len, const struct rt_rdesc *r, uint64_t off, uint64_t expect,
                 uint64_t swap, uint64_t cookie)
{
    struct rt_req req = {.op = RT_OP_WRITE_CAS, .cookie = cookie, .nparts = 2};
    int ret = check_local(c, local, loff, len);
    if (ret)
        return ret;
    set_rw(&req.part[0], RT_OP_WRITE, local, loff, rr, roff, len);
    set_atomic(&req.part[1], RT_OP_CAS, r, off, expect, swap);
    return post(c, &req);
}

/* Cookies of synchronous ops: never equal to a caller's small integer cookie. */
static uint64_t sync_cookie(void)
{
    static _Thread_local uint64_t seq;
    return 0xd15c0000000000ull ^ (++seq << 1);
}

static int finish_sync(rt_conn *c, uint64_t cookie, uint64_t *old, int timeout_ms)
{
    struct rt_completion comp;
    int ret = rt_wait_op(c->ctx, c, cookie, &comp, timeout_ms);
    if (ret)
        return ret;
    if (old)
        *old = comp.old;
    return (int)comp.status;
}

int rt_cas_sync(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t expect, uint64_t swap,
                uint64_t *old, int timeout_ms)
{
    uint64_t cookie = sync_cookie();
    int ret = rt_cas(c, r, off, expect, swap, cookie);
    if (ret)
        return ret;
    return finish_sync(c, cookie, old, timeout_ms);
}

int rt_faa_sync(rt_conn *c, const struct rt_rdesc *r, uint64_t off, uint64_t add, uint64_t *old,
                int timeout_ms)
{
    uint64_t cookie = sync_cookie();
    int ret = rt_faa(c, r, off, add, cookie);
    if (ret)
        return ret;
    return finish_sync(c, cookie, old, timeout_ms);
}

static int check_word(rt_mr *mr, size_t off)
{
    if (!mr || off > mr->len || mr->len - off < 8 || (((uintptr_t)mr->addr + off) & 7))
        return -EINVAL;
    return 0;
}

int rt_local_cas(rt_mr *mr, size_t off, uint64_t expect, uint64_t swap, uint64_t *old)
{
    int ret = check_word(mr, off);
    if (ret)
        return ret;
    return mr->ctx->ops->local_atomic(mr, off, true, expect, swap, old);
}

int rt_local_faa(rt_mr *mr, size_t off, uint64_t add, uint64_t *old)
{
    int ret = check_word(mr, off);
    if (ret)
        return ret;
    return mr->ctx->ops->local_atomic(mr, off, false, add, 0, old);
}

uint64_t rt_local_load(rt_mr *mr, size_t off)
{
    return __atomic_load_n((uint64_t *)((char *)mr->addr + off), __ATOMIC_ACQUIRE);
}
