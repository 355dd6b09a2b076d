/*
 * master/engine_grant.c - the VMS grant rules: grantability (docs/engine.md section 3),
 * conversion deadlock (4), granting with its LVB transfer (6), blocking ASTs (8) and
 * grant-pending (10). Every decision reads the tables in engine_tables.c.
 */
#include "master/engine_internal.h"

#include <stdlib.h>
#include <string.h>

/* rq incompatible with the granted mode of some other lock on queue q? */
static bool queue_conflict(const struct eng_res *r, int q, const struct eng_lock *l, int8_t rq)
{
    for (const struct eng_lock *o = r->q[q]; o; o = eng_q_next(r, q, o))
        if (o != l && !eng_modes_compat(o->grmode, rq))
            return true;
    return false;
}

/* docs/engine.md section 3, rules 1-10, for the lock's current rqmode. */
bool eng_grantable(const struct eng_lock *l, bool now)
{
    const struct eng_res *r = l->res;
    bool conv = l->grmode != RDLM_MODE_IV;
    bool quecvt = l->flags & RDLM_LKF_QUECVT;

    if (l->flags & RDLM_LKF_EXPEDITE)
        return true;
    if (queue_conflict(r, Q_GRANTED, l, l->rqmode) || queue_conflict(r, Q_CONVERTING, l, l->rqmode))
        return false;
    if (now && conv && !quecvt)
        return true;
    if (now && conv && quecvt)
        return r->q[Q_CONVERTING] == NULL;
    if (l->flags & RDLM_LKF_NOORDER)
        return true;
    if (!now && conv)
        return r->q[Q_CONVERTING] == l;
    if (now)
        return !r->q[Q_CONVERTING] && !r->q[Q_WAITING];
    return !r->q[Q_CONVERTING] && r->q[Q_WAITING] == l;
}

/* docs/engine.md section 4. */
bool eng_cvt_deadlock(const struct eng_lock *l)
{
    const struct eng_res *r = l->res;
    bool behind = false; /* walking past l: the others are behind it */

    for (const struct eng_lock *m = r->q[Q_CONVERTING]; m; m = eng_q_next(r, Q_CONVERTING, m)) {
        if (m == l) {
            behind = true;
            continue;
        }
        if (!behind && !eng_modes_compat(l->grmode, m->rqmode))
            return true;
        if (behind && !eng_modes_compat(l->grmode, m->rqmode) &&
            !eng_modes_compat(m->grmode, l->rqmode))
            return true;
    }
    return false;
}

/* The alternate-mode part of try_grant (section 3): rqmode already failed. */
bool eng_try_alternate(struct eng_lock *l, bool now)
{
    int8_t orig = l->rqmode;
    int8_t alt = RDLM_MODE_IV;

    if ((l->flags & RDLM_LKF_ALTPR) && orig != RDLM_MODE_PR)
        alt = RDLM_MODE_PR;
    else if ((l->flags & RDLM_LKF_ALTCW) && orig != RDLM_MODE_CW)
        alt = RDLM_MODE_CW;
    if (alt == RDLM_MODE_IV)
        return false;
    l->rqmode = alt;
    if (eng_grantable(l, now)) {
        l->sbflags |= RDLM_SBF_ALTMODE;
        return true;
    }
    l->rqmode = orig;
    return false;
}

bool eng_try_grant(struct eng_lock *l, bool now)
{
    return eng_grantable(l, now) || eng_try_alternate(l, now);
}

/* ---- the lock value block ---- */

static struct eng_lvb *res_lvb(struct eng_res *r)
{
    if (!r->lvb) {
        r->lvb = calloc(1, sizeof(*r->lvb));
        if (!r->lvb)
            abort(); /* 48 bytes; an LVB transfer already decided cannot be dropped */
    }
    return r->lvb;
}

static void emit_lvb(struct eng_res *r, struct eng_actions *out)
{
    struct eng_action *a = eng_emit(out, ENG_ACT_LVB);

    a->namelen = r->namelen;
    memcpy(a->name, r->name, r->namelen);
    a->lvbseq = r->lvb->seq;
    a->lvb_read = r->lvb->status == ENG_LVB_VALID;
    if (a->lvb_read)
        memcpy(a->lvb, r->lvb->data, RDLM_LVB_LEN);
}

void eng_lvb_invalidate(struct eng *e, struct eng_res *r, struct eng_actions *out)
{
    (void)e;
    res_lvb(r)->status = ENG_LVB_INVALID;
    emit_lvb(r, out);
}

void eng_lvb_write(struct eng *e, struct eng_res *r, const uint8_t *lvb, struct eng_actions *out)
{
    struct eng_lvb *v = res_lvb(r);

    (void)e;
    memcpy(v->data, lvb, RDLM_LVB_LEN);
    v->seq++;
    v->status = ENG_LVB_VALID;
    emit_lvb(r, out);
}

/*
 * Grant l at its rqmode (section 6). lvb is the caller's LVB for a write-path grant (the
 * request's own, or the one saved when the request was queued).
 */
void eng_grant(struct eng *e, struct eng_lock *l, const uint8_t *lvb, struct eng_actions *out)
{
    struct eng_res *r = l->res;
    uint8_t op = eng_lvbop[l->grmode + 1][l->rqmode];
    bool valblk = l->flags & RDLM_LKF_VALBLK;
    struct eng_action *a;

    if (!lvb && (l->bits & LB_SAVED_LVB))
        lvb = l->ext->lvb;
    if (op == LVB_WRITE && (l->flags & RDLM_LKF_IVVALBLK))
        eng_lvb_invalidate(e, r, out);
    else if (op == LVB_WRITE && valblk && lvb)
        eng_lvb_write(e, r, lvb, out);

    l->grmode = l->rqmode;
    eng_stamp(l);
    l->highbast = RDLM_MODE_NL;
    l->bits &= (uint8_t) ~(LB_SAVED_LVB | LB_SAVED_BAST);
    eng_timer_disarm(e, l);
    if (l->state == 0) { /* a new request, not on any queue yet */
        l->state = ENG_LKS_GRANTED;
        eng_q_add(r, Q_GRANTED, l, false);
    } else if (l->state != ENG_LKS_GRANTED) {
        eng_lock_move(l, ENG_LKS_GRANTED, false);
    }

    eng_emit_complete(out, l, ENG_OP_REQUEST, RDLM_OK, l->grmode, l->sbflags);
    a = &out->v[out->n - 1];
    if (valblk && op == LVB_READ && r->lvb) {
        a->lvb_read = 1;
        a->lvbseq = r->lvb->seq;
        memcpy(a->lvb, r->lvb->data, RDLM_LVB_LEN);
    }
    if (valblk && r->lvb && r->lvb->status == ENG_LVB_INVALID)
        a->sbflags |= RDLM_SBF_VALNOTVALID;
    l->sbflags = 0;
}

/* ---- blocking ASTs (section 8) ---- */

uint64_t eng_lock_hint(const struct eng_lock *l)
{
    return l->ext ? l->ext->hint : 0;
}

static void emit_bast(struct eng_res *r, struct eng_lock *g, int8_t mode, uint64_t hint,
                      struct eng_actions *out)
{
    struct eng_action *a = eng_emit(out, ENG_ACT_BAST);

    a->lkid = g->lkid;
    a->mode = mode;
    a->hint = hint;
    r->bast_count++;
}

static bool modes_require_bast(const struct eng_lock *g, int8_t m)
{
    if ((g->grmode == RDLM_MODE_PR && m == RDLM_MODE_CW) ||
        (g->grmode == RDLM_MODE_CW && m == RDLM_MODE_PR))
        return g->highbast < RDLM_MODE_EX;
    return g->highbast < m && !eng_modes_compat(g->grmode, m);
}

void eng_queue_basts(struct eng *e, const struct eng_lock *rq, int q, struct eng_actions *out)
{
    struct eng_res *r = rq->res;

    (void)e;
    for (struct eng_lock *g = r->q[q]; g; g = eng_q_next(r, q, g)) {
        if (g == rq || !(g->bits & LB_HAS_BAST) || !modes_require_bast(g, rq->rqmode))
            continue;
        emit_bast(r, g, rq->rqmode, eng_lock_hint(rq), out);
        g->highbast = rq->rqmode;
    }
}

void eng_self_bast(struct eng *e, struct eng_lock *l, struct eng_actions *out)
{
    (void)e;
    if (!(l->bits & LB_HAS_BAST) || l->highbast >= l->rqmode)
        return;
    emit_bast(l->res, l, l->rqmode, eng_lock_hint(l), out);
    l->highbast = l->rqmode;
}

/* Hint of the first pending lock (converting, then waiting) requesting mode. */
static uint64_t pending_hint(const struct eng_res *r, int8_t mode)
{
    for (int q = Q_CONVERTING; q <= Q_WAITING; q++)
        for (const struct eng_lock *l = r->q[q]; l; l = eng_q_next(r, q, l))
            if (l->rqmode == mode)
                return eng_lock_hint(l);
    return 0;
}

static void pending_basts(struct eng_res *r, int8_t high, bool cw, struct eng_actions *out)
{
    for (struct eng_lock *g = r->q[Q_GRANTED]; g; g = eng_q_next(r, Q_GRANTED, g)) {
        bool need;
        int8_t mode;

        if (!(g->bits & LB_HAS_BAST))
            continue;
        if ((g->grmode == RDLM_MODE_PR && cw) ||
            (g->grmode == RDLM_MODE_CW && high == RDLM_MODE_PR))
            need = g->highbast < RDLM_MODE_EX;
        else
            need = g->highbast < high && !eng_modes_compat(g->grmode, high);
        if (!need)
            continue;
        mode = (cw && high == RDLM_MODE_PR && g->grmode == RDLM_MODE_PR) ? RDLM_MODE_CW : high;
        emit_bast(r, g, mode, pending_hint(r, mode), out);
        g->highbast = high;
    }
}

/* ---- grant-pending (section 10) ---- */

/*
 * The converting pass: grant what can be granted, restarting after each grant or demotion.
 * high/cw (may be NULL) collect the highest rqmode still pending and whether CW is among them,
 * over the last round, skipping conversion-deadlocked locks.
 */
void eng_converting_pass(struct eng *e, struct eng_res *r, struct eng_actions *out, int8_t *high,
                         bool *cw)
{
restart:
    if (high)
        *high = RDLM_MODE_IV;
    if (cw)
        *cw = false;
    for (struct eng_lock *l = r->q[Q_CONVERTING]; l; l = eng_q_next(r, Q_CONVERTING, l)) {
        if (eng_try_grant(l, false)) {
            eng_grant(e, l, NULL, out);
            goto restart;
        }
        if (eng_cvt_deadlock(l)) {
            if (l->flags & RDLM_LKF_CONVDEADLK) {
                l->grmode = RDLM_MODE_NL;
                l->sbflags |= RDLM_SBF_DEMOTED;
                eng_stamp(l);
                goto restart;
            }
            if (l->flags & RDLM_LKF_NODLCKWT)
                eng_self_bast(e, l, out);
            continue;
        }
        if (high && l->rqmode > *high)
            *high = l->rqmode;
        if (cw && l->rqmode == RDLM_MODE_CW)
            *cw = true;
    }
}

void eng_grant_pending(struct eng *e, struct eng_res *r, struct eng_actions *out)
{
    int8_t high;
    bool cw;
    struct eng_lock *l, *next;

    eng_converting_pass(e, r, out, &high, &cw);
    for (l = r->q[Q_WAITING]; l; l = next) {
        next = eng_q_next(r, Q_WAITING, l);
        if (eng_try_grant(l, false)) {
            eng_grant(e, l, NULL, out);
            continue;
        }
        if (l->rqmode > high)
            high = l->rqmode;
        if (l->rqmode == RDLM_MODE_CW)
            cw = true;
    }
    if (high != RDLM_MODE_IV)
        pending_basts(r, high, cw, out);
}
