/*
 * master/engine_query.c - the engine's outputs: action lists, and the read-only queries
 * (lock info, resource info, queue contents) behind dlm_get_lkinfo, dlm_get_rsbinfo and dumps,
 * and the wait-for edges a deadlock search collects (eng_query_waits).
 */
#include "master/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct eng_action *eng_emit(struct eng_actions *out, uint8_t kind)
{
    struct eng_action *a;

    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 16;
        struct eng_action *v = realloc(out->v, cap * sizeof(*v));
        if (!v) {
            /* An action already decided cannot be dropped without breaking exactly-once. */
            fprintf(stderr, "rdlm engine: out of memory for actions\n");
            abort();
        }
        out->v = v;
        out->cap = cap;
    }
    a = &out->v[out->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    return a;
}

int eng_emit_complete(struct eng_actions *out, const struct eng_lock *l, uint8_t op, uint8_t status,
                      int8_t mode, uint8_t sbflags)
{
    struct eng_action *a = eng_emit(out, ENG_ACT_COMPLETE);

    a->op = op;
    a->lkid = l->lkid;
    a->status = status;
    a->mode = mode;
    a->sbflags = sbflags;
    return RDLM_OK;
}

void eng_actions_clear(struct eng_actions *a)
{
    a->n = 0;
}

void eng_actions_free(struct eng_actions *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

int eng_query_lock(const struct eng *e, uint64_t lkid, struct eng_lock_info *info)
{
    const struct eng_lock *l = eng_lock_find(e, lkid);

    if (!l)
        return RDLM_E_NOLOCK;
    memset(info, 0, sizeof(*info));
    info->lkid = l->lkid;
    info->grmode = l->grmode;
    info->rqmode = l->rqmode;
    info->state = l->state;
    info->orphan = l->bits & LB_ORPHAN;
    info->flags = l->flags;
    info->owner = *eng_owner_of(e, l);
    if (l->ext) {
        info->parent_lkid = l->ext->parent ? l->ext->parent->lkid : 0;
        info->xid = l->ext->xid;
        info->timeout_cs = l->ext->timer_armed ? l->ext->timeout_cs : 0;
        info->hint = l->ext->hint;
    }
    info->namelen = l->res->namelen;
    memcpy(info->name, l->res->name, l->res->namelen);
    info->stamp = eng_lock_stamp(l);
    return RDLM_OK;
}

/* The resource named (parent lock's resource, name), or NULL. */
static const struct eng_res *find_named(const struct eng *e, uint64_t parent_lkid, const void *name,
                                        uint16_t namelen)
{
    const struct eng_res *parent = NULL;

    if (!name || namelen == 0 || namelen > RDLM_RESNAME_MAXLEN)
        return NULL;
    if (parent_lkid) {
        const struct eng_lock *p = eng_lock_find(e, parent_lkid);
        if (!p)
            return NULL;
        parent = p->res;
    }
    return eng_res_find(e, parent, name, namelen);
}

static void max_mode(int8_t *acc, int8_t m)
{
    if (m > *acc)
        *acc = m;
}

static void count_queues(const struct eng_res *r, struct eng_res_info *info)
{
    info->granted_mode = info->convert_mode = info->wait_mode = RDLM_MODE_IV;
    for (int q = 0; q < Q_COUNT; q++) {
        for (const struct eng_lock *l = r->q[q]; l; l = eng_q_next(r, q, l)) {
            info->lock_count++;
            if (q == Q_CONVERTING)
                max_mode(&info->convert_mode, l->rqmode);
            if (q == Q_WAITING) {
                max_mode(&info->wait_mode, l->rqmode);
                continue;
            }
            info->granted_count++;
            info->granted_per_mode[l->grmode]++;
            max_mode(&info->granted_mode, l->grmode);
        }
    }
}

int eng_query_res(const struct eng *e, uint64_t parent_lkid, const void *name, uint16_t namelen,
                  struct eng_res_info *info)
{
    const struct eng_res *r = find_named(e, parent_lkid, name, namelen);

    if (!r)
        return RDLM_E_NOLOCK;
    memset(info, 0, sizeof(*info));
    count_queues(r, info);
    if (r->lvb) {
        info->lvb_status = r->lvb->status;
        info->lvbseq = r->lvb->seq;
        memcpy(info->lvb, r->lvb->data, RDLM_LVB_LEN);
    }
    info->subres_count = r->nsubres;
    info->bast_count = r->bast_count;
    info->persistent = r->flags & RES_PERSISTENT;
    info->rd_id = r->rd_id;
    return RDLM_OK;
}

int eng_query_queues(const struct eng *e, uint64_t parent_lkid, const void *name, uint16_t namelen,
                     struct eng_queues *qs)
{
    const struct eng_res *r = find_named(e, parent_lkid, name, namelen);

    if (!r)
        return RDLM_E_NOLOCK;
    for (int q = 0; q < Q_COUNT; q++) {
        qs->n[q] = 0;
        for (const struct eng_lock *l = r->q[q]; l; l = eng_q_next(r, q, l)) {
            if (qs->n[q] < qs->cap && qs->lkid[q])
                qs->lkid[q][qs->n[q]] = l->lkid;
            qs->n[q]++;
        }
    }
    return RDLM_OK;
}

/* ---- wait-for edges (engine.h, eng_query_waits) ---- */

static bool is_pending(const struct eng_lock *l)
{
    return l->state == ENG_LKS_CONVERTING || l->state == ENG_LKS_WAITING;
}

/* The alternate mode try_grant would try for l (docs/engine.md section 3), IV if none. */
static int8_t alt_mode(const struct eng_lock *l)
{
    if ((l->flags & RDLM_LKF_ALTPR) && l->rqmode != RDLM_MODE_PR)
        return RDLM_MODE_PR;
    if ((l->flags & RDLM_LKF_ALTCW) && l->rqmode != RDLM_MODE_CW)
        return RDLM_MODE_CW;
    return RDLM_MODE_IV;
}

/* Does a lock held in mode m block waiter w, in its requested mode and its alternate? */
static bool mode_blocks(int8_t m, const struct eng_lock *w)
{
    int8_t alt = alt_mode(w);

    if (m < RDLM_MODE_NL || eng_modes_compat(m, w->rqmode))
        return false;
    return alt == RDLM_MODE_IV || !eng_modes_compat(m, alt);
}

/* Once granted, pending lock b (at its requested or its alternate mode) blocks w. */
static bool blocks_once_granted(const struct eng_lock *b, const struct eng_lock *w)
{
    int8_t alt = alt_mode(b);

    return mode_blocks(b->rqmode, w) && (alt == RDLM_MODE_IV || mode_blocks(alt, w));
}

/* Does b prevent w's grant (docs/engine.md section 3, as re-evaluated: now = false)? ahead:
 * b is before w on w's queue. *lasting as in engine.h. */
static bool blocks(const struct eng_lock *b, const struct eng_lock *w, bool ahead, bool *lasting)
{
    bool by_mode, by_order = false;

    if (b == w || (b->bits & LB_NOSTAMP) || (b->flags & RDLM_LKF_NODLCKBLK))
        return false;
    if (b->state == ENG_LKS_GRANTED) {
        *lasting = true;
        return mode_blocks(b->grmode, w);
    }
    by_mode = b->state == ENG_LKS_CONVERTING && !(b->flags & RDLM_LKF_CONVDEADLK) &&
              mode_blocks(b->grmode, w);
    if (!(w->flags & RDLM_LKF_NOORDER)) {
        if (w->state == ENG_LKS_WAITING && b->state == ENG_LKS_CONVERTING)
            by_order = true;
        else if (w->state == b->state)
            by_order = ahead;
    }
    *lasting = blocks_once_granted(b, w);
    return by_mode || by_order;
}

static void wait_lock(const struct eng *e, const struct eng_lock *l, struct eng_wait_lock *out)
{
    out->lkid = l->lkid;
    out->stamp = eng_lock_stamp(l);
    out->grmode = l->grmode;
    out->rqmode = l->rqmode;
    out->state = l->state;
    out->orphan = l->bits & LB_ORPHAN;
    out->flags = l->flags;
    out->owner = *eng_owner_of(e, l);
    out->xid = l->ext ? l->ext->xid : 0;
}

/* The edges of pending lock w. Returns false if fn asked to stop; *n counts the calls. */
static bool waiter_edges(const struct eng *e, const struct eng_lock *w, eng_wait_fn fn, void *arg,
                         size_t *n)
{
    const struct eng_res *r = w->res;
    struct eng_wait ew;

    if (!is_pending(w) || (w->flags & RDLM_LKF_NODLCKWT) || (w->bits & LB_NOSTAMP))
        return true;
    memset(&ew, 0, sizeof(ew));
    wait_lock(e, w, &ew.waiter);
    ew.parent_lkid = w->ext && w->ext->parent ? w->ext->parent->lkid : 0;
    ew.namelen = r->namelen;
    ew.name = r->name;
    for (int q = 0; q < Q_COUNT; q++) {
        bool ahead = true; /* on w's own queue, until w is passed */
        for (const struct eng_lock *b = r->q[q]; b; b = eng_q_next(r, q, b)) {
            if (b == w)
                ahead = false;
            if (!blocks(b, w, ahead, &ew.lasting))
                continue;
            wait_lock(e, b, &ew.blocker);
            (*n)++;
            if (!fn(arg, &ew))
                return false;
        }
    }
    return true;
}

size_t eng_query_waits(const struct eng *e, eng_wait_fn fn, void *arg)
{
    size_t n = 0;

    if (!e || !fn)
        return 0;
    for (size_t i = 0; i < e->res_nbuckets; i++)
        for (const struct eng_res *r = e->res_buckets[i]; r; r = r->hnext)
            for (int q = Q_CONVERTING; q <= Q_WAITING; q++)
                for (const struct eng_lock *w = r->q[q]; w; w = eng_q_next(r, q, w))
                    if (!waiter_edges(e, w, fn, arg, &n))
                        return n;
    return n;
}

int eng_query_blockers(const struct eng *e, uint64_t lkid, eng_wait_fn fn, void *arg)
{
    const struct eng_lock *w = e ? eng_lock_find(e, lkid) : NULL;
    size_t n = 0;

    if (!w || !fn)
        return RDLM_E_NOLOCK;
    waiter_edges(e, w, fn, arg, &n);
    return RDLM_OK;
}
