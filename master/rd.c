/*
 * master/rd.c - recovery domains (docs/protocol.md section 7): MSG_RD, and the domain master's
 * half. The domain master is the shard placement gives the domain's name under PROTO_RD_SEED;
 * it keeps the domain's name, its attached processes, the outstanding collection and the "a
 * node with an attached process failed since the collect" flag, and answers RD_ATTACH,
 * RD_DETACH, RD_COLLECT, RD_VALIDATE_END and RD_ABORT. What every shard answers for the
 * persistent resources it masters (RD_SCAN, RD_VALIDATE, RD_INVALIDATE, RD_CLEAR) is in
 * rd_res.c.
 *
 * A process is known by (node, pid) from its hello, so any of its handles may act on a
 * domain; an attachment also remembers the connection it came on: when that closes, the
 * attachment ends, and is kept as a "ghost" until the next view (or GHOST_NS), so that a
 * view losing its node still sets the failed flag when the connection closed first.
 */
#include "master/rd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rdname.h"

struct rd_shard *rd_state(struct shard *s)
{
    if (!s->rd)
        s->rd = calloc(1, sizeof(*s->rd));
    return s->rd;
}

/* ---- domain master state ---- */

static struct rd_dom *dom_find(struct rd_shard *r, uint32_t rd_id)
{
    for (uint32_t i = 0; r && i < r->ndoms; i++)
        if (r->doms[i]->rd_id == rd_id)
            return r->doms[i];
    return NULL;
}

static void dom_free_at(struct rd_shard *r, uint32_t i)
{
    free(r->doms[i]->atts);
    free(r->doms[i]);
    r->doms[i] = r->doms[--r->ndoms];
}

/* Drop ghosts older than GHOST_NS (all of them: older than 0), then domains left empty. */
static void prune(struct rd_shard *r, uint64_t now, uint64_t age)
{
    for (uint32_t i = 0; r && i < r->ndoms;) {
        struct rd_dom *d = r->doms[i];
        for (uint32_t j = 0; j < d->natts;)
            if (d->atts[j].ghost && now - d->atts[j].since_ns >= age)
                d->atts[j] = d->atts[--d->natts];
            else
                j++;
        if (!d->natts && !d->collecting)
            dom_free_at(r, i);
        else
            i++;
    }
}

static struct rd_att *att_find(struct rd_dom *d, uint16_t node, uint32_t pid, uint8_t kind,
                               uint64_t group)
{
    for (uint32_t i = 0; i < d->natts; i++) {
        struct rd_att *a = &d->atts[i];
        if (!a->ghost && a->node == node && a->pid == pid && a->kind == kind &&
            (kind == RDLM_RD_PROCESS || a->group == group))
            return a;
    }
    return NULL;
}

/* Is the sender attached, in the sense of collect and validate? OK, NOTATTACHED, NO_GROUP
 * (attached only for a group container it is no longer in). */
static int caller_status(const struct rd_dom *d, const struct mclient *c, uint64_t group)
{
    bool other_group = false;

    for (uint32_t i = 0; d && i < d->natts; i++) {
        const struct rd_att *a = &d->atts[i];
        if (a->ghost || a->node != c->hello.node || a->pid != c->hello.pid)
            continue;
        if (a->kind == RDLM_RD_PROCESS || a->group == group)
            return RDLM_OK;
        other_group = true;
    }
    return other_group ? RDLM_E_NO_GROUP : RDLM_E_NOTATTACHED;
}

static bool is_collector(const struct rd_dom *d, const struct mclient *c)
{
    return d->collecting && d->cnode == c->hello.node && d->cpid == c->hello.pid;
}

static int op_attach(struct shard *s, struct mclient *c, const struct msg_rd *q)
{
    struct rd_shard *r = rd_state(s);
    uint32_t kflags = q->flags & (RDLM_RD_PROCESS | RDLM_RD_GROUP);
    uint8_t kind = (uint8_t)kflags;
    struct rd_dom *d;
    struct rd_att *a;

    if (!r)
        return RDLM_E_NOMEM;
    if (!rdlm_rd_name_ok(q->name, q->namelen))
        return RDLM_E_NAMELEN;
    if ((q->flags & ~(RDLM_RD_PROCESS | RDLM_RD_GROUP | RDF_REATTACH | RDF_COLLECTOR)) ||
        (kflags != RDLM_RD_PROCESS && kflags != RDLM_RD_GROUP) ||
        q->rd_id != rdlm_rd_hash(q->name, q->namelen))
        return RDLM_E_INVAL;
    if (kind == RDLM_RD_GROUP && !q->group)
        return RDLM_E_NOTATTACHED;
    d = dom_find(r, q->rd_id);
    if (d && (d->namelen != q->namelen || memcmp(d->name, q->name, q->namelen) != 0))
        return RDLM_E_TOOMANY; /* another name with the same id */
    if (!d) {
        struct rd_dom **v;
        if (r->ndoms >= RD_MAX_DOMAINS)
            return RDLM_E_TOOMANY;
        v = realloc(r->doms, (r->ndoms + 1) * sizeof(*v));
        if (!v)
            return RDLM_E_NOMEM;
        r->doms = v;
        d = calloc(1, sizeof(*d));
        if (!d)
            return RDLM_E_NOMEM;
        d->rd_id = q->rd_id;
        d->namelen = (uint8_t)q->namelen;
        memcpy(d->name, q->name, q->namelen);
        r->doms[r->ndoms++] = d;
    }
    a = att_find(d, c->hello.node, c->hello.pid, kind, q->group);
    if (a && !(q->flags & RDF_REATTACH))
        return RDLM_E_ATTACHED;
    if (!a) {
        if (d->natts == d->cap) {
            uint32_t cap = d->cap ? 2 * d->cap : 4;
            struct rd_att *v;
            if (d->natts >= RD_MAX_ATTS || !(v = realloc(d->atts, cap * sizeof(*v)))) {
                if (!d->natts && !d->collecting)
                    prune(r, now_ns(), GHOST_NS);
                return RDLM_E_TOOMANY;
            }
            d->atts = v;
            d->cap = cap;
        }
        a = &d->atts[d->natts++];
    }
    *a = (struct rd_att){c->hello.node, c->hello.pid, c->id, kind, q->group, false, 0};
    if (q->flags & RDF_REATTACH) {
        /* the former domain master was lost: whatever it knew is gone (docs: section 7) */
        d->failed = true;
        if ((q->flags & RDF_COLLECTOR) && !d->collecting) {
            d->collecting = true;
            d->cnode = c->hello.node;
            d->cpid = c->hello.pid;
            d->cclient = c->id;
        }
    }
    return RDLM_OK;
}

static int op_detach(struct shard *s, struct mclient *c, const struct msg_rd *q)
{
    struct rd_dom *d = dom_find(s->rd, q->rd_id);
    uint32_t kflags = q->flags & (RDLM_RD_PROCESS | RDLM_RD_GROUP);
    struct rd_att *a;

    if ((q->flags & ~(RDLM_RD_PROCESS | RDLM_RD_GROUP | RDLM_RD_INVALIDATE)) ||
        (kflags != RDLM_RD_PROCESS && kflags != RDLM_RD_GROUP))
        return RDLM_E_INVAL;
    a = d ? att_find(d, c->hello.node, c->hello.pid, (uint8_t)kflags, q->group) : NULL;
    if (!a)
        return RDLM_E_NOTATTACHED;
    if (is_collector(d, c))
        return RDLM_E_ALREADY;
    *a = d->atts[--d->natts];
    if (q->flags & RDLM_RD_INVALIDATE)
        d->invalidated = true;
    prune(s->rd, now_ns(), GHOST_NS);
    return RDLM_OK;
}

static int op_collect(struct shard *s, struct mclient *c, const struct msg_rd *q)
{
    struct rd_dom *d = dom_find(s->rd, q->rd_id);
    int st = caller_status(d, c, q->group);

    if (st != RDLM_OK)
        return st;
    if (d->collecting)
        return RDLM_E_ALREADY;
    d->collecting = true;
    d->cnode = c->hello.node;
    d->cpid = c->hello.pid;
    d->cclient = c->id;
    d->failed = false;
    return RDLM_OK;
}

static int op_validate_end(struct shard *s, struct mclient *c, const struct msg_rd *q)
{
    struct rd_dom *d = dom_find(s->rd, q->rd_id);
    int st = caller_status(d, c, q->group);

    if (st != RDLM_OK)
        return st;
    if (!is_collector(d, c) || (q->flags & ~RDF_MORE))
        return RDLM_E_INVAL;
    d->collecting = false;
    if (d->failed || (q->flags & RDF_MORE))
        return RDLM_E_MORE_TO_RECOVER;
    d->invalidated = false;
    return RDLM_OK;
}

static int op_abort(struct shard *s, struct mclient *c, const struct msg_rd *q)
{
    struct rd_dom *d = dom_find(s->rd, q->rd_id);

    if (!d || !is_collector(d, c))
        return RDLM_E_INVAL;
    d->collecting = false;
    prune(s->rd, now_ns(), GHOST_NS);
    return RDLM_OK;
}

/* ---- the message ---- */

void rd_msg(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_rd *q = &m->u.rd;
    bool master_op = q->op >= RD_ATTACH && q->op <= RD_ABORT;
    int st;

    if (c->hello.role != ROLE_CLIENT) {
        log_msg("shard %u: RD from a non-client %s; closing it", s->index, rt_conn_peer(c->conn));
        s->stats.malformed++;
        c->closing = true;
        return;
    }
    if (q->op < RD_ATTACH || q->op > RD_CLEAR || q->rd_id == 0 ||
        (q->op != RD_ATTACH && q->namelen) ||
        (q->op != RD_SCAN && q->op != RD_VALIDATE && (q->n || q->cursor))) {
        send_reply(s, c, m->hdr.reqid, RDLM_E_INVAL, NULL, 0);
        return;
    }
    if (master_op && s->rd)
        prune(s->rd, now_ns(), GHOST_NS);
    switch (q->op) {
    case RD_ATTACH:
        st = op_attach(s, c, q);
        break;
    case RD_DETACH:
        st = op_detach(s, c, q);
        break;
    case RD_COLLECT:
        st = op_collect(s, c, q);
        break;
    case RD_VALIDATE_END:
        st = op_validate_end(s, c, q);
        break;
    case RD_ABORT:
        st = op_abort(s, c, q);
        break;
    case RD_SCAN:
        rd_op_scan(s, c, m);
        return;
    case RD_VALIDATE:
        rd_op_validate(s, c, m);
        return;
    default: /* RD_INVALIDATE, RD_CLEAR */
        st = q->flags ? RDLM_E_INVAL : rd_op_mark(s, q);
        break;
    }
    send_reply(s, c, m->hdr.reqid, (uint8_t)st, NULL, 0);
}

void rd_conn_gone(struct shard *s, struct mclient *c)
{
    struct rd_shard *r = s->rd;
    uint64_t now = now_ns();

    if (!r || c->hello.role != ROLE_CLIENT)
        return;
    for (uint32_t i = 0; i < r->ndoms; i++) {
        struct rd_dom *d = r->doms[i];
        for (uint32_t j = 0; j < d->natts; j++)
            if (!d->atts[j].ghost && d->atts[j].client == c->id) {
                d->atts[j].ghost = true;
                d->atts[j].since_ns = now;
            }
        if (d->collecting && d->cclient == c->id)
            d->collecting = false; /* the collector died: collectable again */
    }
    prune(r, now, GHOST_NS);
}

void rd_view(struct shard *s, uint32_t epoch, uint64_t mask, uint64_t masters, bool first)
{
    struct rd_shard *r = rd_state(s);
    const struct rdlm_cluster_config *cfg = &s->d->cfg;

    if (!r)
        return;
    if (first || !r->base_masters) {
        r->base_masters = r->masters = masters;
        if (first)
            return;
    }
    if (r->masters & ~masters)
        r->loss_epoch = epoch;
    r->masters = masters;
    for (uint32_t i = 0; i < r->ndoms; i++) {
        struct rd_dom *d = r->doms[i];
        for (uint32_t j = 0; j < d->natts; j++) {
            size_t n = 0;
            while (n < cfg->nnodes && cfg->nodes[n].id != d->atts[j].node)
                n++;
            if (n >= cfg->nnodes || n >= 64 || !(mask & (1ull << n)))
                d->failed = true;
        }
    }
    prune(r, now_ns(), 0); /* the ghosts have served */
}

int rd_status(struct shard *s, char *buf, size_t len)
{
    const struct rd_shard *r = s->rd;
    uint32_t collecting = 0;

    if (!r || (!r->ndoms && !r->nmarks))
        return 0;
    for (uint32_t i = 0; i < r->ndoms; i++)
        collecting += r->doms[i]->collecting;
    return snprintf(buf, len, "    recovery domains: %u mastered (%u collecting), %u marked\n",
                    r->ndoms, collecting, r->nmarks);
}

void rd_free(struct shard *s)
{
    struct rd_shard *r = s->rd;

    for (struct mls *ls = s->lss; ls; ls = ls->next) {
        eng_rd_set_create_hook(ls->e, NULL, NULL);
        free(ls->rd_hook);
        ls->rd_hook = NULL;
    }
    if (!r)
        return;
    while (r->ndoms)
        dom_free_at(r, 0);
    free(r->doms);
    free(r->marks);
    free(r);
    s->rd = NULL;
}
