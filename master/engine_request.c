/*
 * master/engine_request.c - eng_request: argument validation (docs/engine.md section 2), new
 * requests (5.1), conversions (5.2) and orphan adoption (7). Validation completes before any
 * state changes, and every allocation a request needs is made before the first mutation, so a
 * rejected or out-of-memory request leaves the engine exactly as it was.
 */
#include "master/engine_internal.h"

#include <string.h>

#define REQUEST_FLAGS                                                                              \
    (RDLM_LKF_NOQUEUE | RDLM_LKF_CONVERT | RDLM_LKF_VALBLK | RDLM_LKF_QUECVT | RDLM_LKF_IVVALBLK | \
     RDLM_LKF_CONVDEADLK | RDLM_LKF_PERSISTENT | RDLM_LKF_NODLCKWT | RDLM_LKF_NODLCKBLK |          \
     RDLM_LKF_EXPEDITE | RDLM_LKF_NOQUEUEBAST | RDLM_LKF_HEADQUE | RDLM_LKF_NOORDER |              \
     RDLM_LKF_ORPHAN | RDLM_LKF_ALTPR | RDLM_LKF_ALTCW | RDLM_LKF_TIMEOUT | RDLM_LKF_PERSIST_RES)

/* Section 2, steps 1-4: checks on the arguments alone. */
int eng_validate_request(const struct eng_req *q)
{
    uint32_t f = q->flags;
    bool convert = f & RDLM_LKF_CONVERT;

    if (q->mode < RDLM_MODE_NL || q->mode > RDLM_MODE_EX)
        return RDLM_E_INVAL;
    if (f & ~REQUEST_FLAGS)
        return RDLM_E_INVAL;
    if (((f & RDLM_LKF_QUECVT) && !convert) || ((f & RDLM_LKF_CONVDEADLK) && !convert) ||
        ((f & RDLM_LKF_CONVDEADLK) && (f & RDLM_LKF_NOQUEUE)))
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_EXPEDITE) &&
        (convert || (f & (RDLM_LKF_QUECVT | RDLM_LKF_NOQUEUE)) || q->mode != RDLM_MODE_NL))
        return RDLM_E_INVAL;
    if (((f & RDLM_LKF_ORPHAN) && convert) || ((f & RDLM_LKF_PERSIST_RES) && convert))
        return RDLM_E_INVAL;
    if (((f & RDLM_LKF_VALBLK) && !q->lvb) || ((f & RDLM_LKF_TIMEOUT) && q->timeout_cs == 0) ||
        ((f & RDLM_LKF_PERSIST_RES) && q->rd_id == 0))
        return RDLM_E_INVAL;
    return RDLM_OK;
}

static bool owner_kind_ok(uint8_t kind)
{
    return kind == ENG_OWNER_PROCESS || kind == ENG_OWNER_GROUP;
}

static bool owner_eq(const struct eng_owner *a, const struct eng_owner *b)
{
    return a->kind == b->kind && a->node == b->node && a->id == b->id;
}

/* Section 2, new request steps 5-8. *parent is set to the parent lock (or NULL). */
static int check_new(const struct eng *e, const struct eng_req *q, struct eng_lock **parent)
{
    *parent = NULL;
    if (q->lkid == 0 || !owner_kind_ok(q->owner.kind))
        return RDLM_E_INVAL;
    if (q->namelen == 0 || q->namelen > RDLM_RESNAME_MAXLEN)
        return RDLM_E_NAMELEN;
    if (!q->name)
        return RDLM_E_INVAL;
    if (eng_lock_find(e, q->lkid))
        return RDLM_E_EXISTS;
    if (!q->parent_lkid)
        return RDLM_OK;
    *parent = eng_lock_find(e, q->parent_lkid);
    if (!*parent || ((*parent)->bits & LB_ORPHAN))
        return RDLM_E_NOLOCK;
    if ((*parent)->state == ENG_LKS_WAITING)
        return RDLM_E_PARNOTGRANT;
    if (!owner_eq(eng_owner_of(e, *parent), &q->owner))
        return RDLM_E_INVAL;
    if ((q->flags & RDLM_LKF_PERSISTENT) && !((*parent)->flags & RDLM_LKF_PERSISTENT))
        return RDLM_E_INVAL;
    return RDLM_OK;
}

/* Section 2 step 10: persistent-resource rules. */
static int check_persistence(const struct eng_res *r, const struct eng_req *q)
{
    bool want = q->flags & RDLM_LKF_PERSIST_RES;

    if (!r)
        return RDLM_OK;
    if ((r->flags & RES_PERSISTENT) && !want)
        return RDLM_E_IS_PR;
    if ((r->flags & RES_PERSISTENT) && r->rd_id != q->rd_id)
        return RDLM_E_PR_RD_MISMATCH;
    if (!(r->flags & RES_PERSISTENT) && want)
        return RDLM_E_NOT_PR;
    return RDLM_OK;
}

static void set_bast_bit(struct eng_lock *l, bool has_bast)
{
    if (has_bast)
        l->bits |= LB_HAS_BAST;
    else
        l->bits &= (uint8_t)~LB_HAS_BAST;
}

/* ---- orphan adoption (section 7) ---- */

static int adopt_orphan(struct eng *e, struct eng_res *r, const struct eng_req *q,
                        struct eng_actions *out)
{
    struct eng_lock *found = NULL;
    bool any = false;
    uint32_t owner;

    for (struct eng_lock *l = r ? r->q[Q_GRANTED] : NULL; l && !found;
         l = eng_q_next(r, Q_GRANTED, l)) {
        if (!(l->bits & LB_ORPHAN))
            continue;
        any = true;
        if (l->grmode == q->mode)
            found = l;
    }
    if (!found)
        return any ? RDLM_E_ORPHANMODE : RDLM_E_NOORPHAN;
    owner = eng_owner_intern(e, &q->owner);
    if (!owner || ((q->hint || q->xid) && !eng_lock_ext(found)))
        return RDLM_E_NOMEM;
    e->owners[found->owner].nlocks--;
    e->owners[owner].nlocks++;
    found->owner = owner;
    eng_lock_rekey(e, found, q->lkid);
    found->flags = q->flags & ~RDLM_LKF_ORPHAN;
    found->bits &= (uint8_t)~LB_ORPHAN;
    set_bast_bit(found, q->has_bast);
    eng_stamp(found);
    if (found->ext) {
        found->ext->xid = q->xid;
        found->ext->hint = q->hint;
    }
    return eng_emit_complete(out, found, ENG_OP_REQUEST, RDLM_OK, found->grmode, 0);
}

/* ---- new requests (section 5.1) ---- */

void eng_link_parent(struct eng_lock *l, struct eng_lock *parent)
{
    struct eng_lock_ext *px = parent->ext, *x = l->ext;

    x->parent = parent;
    x->sib_prev = px->child_last;
    x->sib_next = NULL;
    if (px->child_last)
        px->child_last->ext->sib_next = l;
    else
        px->child_first = l;
    px->child_last = l;
    px->nchildren++;
}

/* Allocate everything a new lock needs; NULL (and nothing left behind) when out of memory. */
static struct eng_lock *create_lock(struct eng *e, const struct eng_req *q, struct eng_lock *parent)
{
    bool need_ext = parent || (q->flags & RDLM_LKF_TIMEOUT) || q->xid || q->hint;
    uint32_t owner = eng_owner_intern(e, &q->owner);
    struct eng_res *r;
    struct eng_lock *l;

    if (!owner || (parent && !eng_lock_ext(parent)))
        return NULL;
    r = eng_res_get(e, parent ? parent->res : NULL, q->name, q->namelen);
    if (!r)
        return NULL;
    l = eng_lock_new(e, q->lkid, r, owner);
    if (!l || (need_ext && !eng_lock_ext(l))) {
        if (l)
            eng_lock_delete(e, l);
        eng_res_release_if_unused(e, r);
        return NULL;
    }
    if (parent)
        eng_link_parent(l, parent);
    return l;
}

static int request_new(struct eng *e, const struct eng_req *q, struct eng_actions *out)
{
    struct eng_lock *parent, *l;
    struct eng_res *r;
    int st = check_new(e, q, &parent);

    if (st)
        return st;
    r = eng_res_find(e, parent ? parent->res : NULL, q->name, q->namelen);
    if (q->flags & RDLM_LKF_ORPHAN)
        return adopt_orphan(e, r, q, out);
    st = check_persistence(r, q);
    if (st)
        return st;
    l = create_lock(e, q, parent);
    if (!l)
        return RDLM_E_NOMEM;
    r = l->res;
    if ((q->flags & RDLM_LKF_PERSIST_RES) && !(r->flags & RES_PERSISTENT)) {
        r->flags |= RES_PERSISTENT;
        r->rd_id = q->rd_id;
        eng_rd_created(e, r, out);
    }
    l->rqmode = q->mode;
    l->flags = q->flags;
    set_bast_bit(l, q->has_bast);
    if (l->ext) {
        l->ext->xid = q->xid;
        l->ext->hint = q->hint;
    }

    if (eng_try_grant(l, true)) {
        eng_grant(e, l, NULL, out);
        return RDLM_OK;
    }
    if (q->flags & RDLM_LKF_NOQUEUE) {
        eng_emit_complete(out, l, ENG_OP_REQUEST, RDLM_E_NOTQUEUED, RDLM_MODE_IV, 0);
        if (q->flags & RDLM_LKF_NOQUEUEBAST) {
            eng_queue_basts(e, l, Q_GRANTED, out);
            eng_queue_basts(e, l, Q_CONVERTING, out);
        }
        eng_lock_delete(e, l);
        eng_res_release_if_unused(e, r);
        return RDLM_OK;
    }
    l->state = ENG_LKS_WAITING;
    eng_q_add(r, Q_WAITING, l, q->flags & RDLM_LKF_HEADQUE);
    if (q->flags & RDLM_LKF_TIMEOUT)
        eng_timer_arm(e, l, q->timeout_cs);
    eng_queue_basts(e, l, Q_GRANTED, out);
    return RDLM_OK;
}

/* ---- conversions (section 5.2) ---- */

static int check_convert(const struct eng *e, const struct eng_req *q, struct eng_lock **lp)
{
    struct eng_lock *l = eng_lock_find(e, q->lkid);

    *lp = l;
    if (!l || (l->bits & LB_ORPHAN))
        return RDLM_E_NOLOCK;
    if (l->state == ENG_LKS_WAITING)
        return RDLM_E_NOTGRANTED;
    if (l->state == ENG_LKS_CONVERTING)
        return RDLM_E_BUSY;
    if ((q->flags & RDLM_LKF_QUECVT) && !eng_quecvt_ok[l->grmode][q->mode])
        return RDLM_E_INVAL;
    return RDLM_OK;
}

/* Take the request's mode, flags and callbacks, saving the old callbacks for a revert. */
static void start_conversion(struct eng_lock *l, const struct eng_req *q)
{
    if (l->bits & LB_HAS_BAST)
        l->bits |= LB_SAVED_BAST;
    else
        l->bits &= (uint8_t)~LB_SAVED_BAST;
    if (l->ext) {
        l->ext->saved_hint = l->ext->hint;
        l->ext->hint = q->hint;
    }
    set_bast_bit(l, q->has_bast);
    l->flags = q->flags;
    l->rqmode = q->mode;
    eng_stamp(l);
}

/* Queue the conversion (step 4). */
static void queue_conversion(struct eng *e, struct eng_lock *l, const struct eng_req *q,
                             struct eng_actions *out)
{
    if ((q->flags & RDLM_LKF_VALBLK) && l->grmode >= RDLM_MODE_PW) {
        /* even PW->EX: granted later in an alternate mode (ALTCW) it writes */
        memcpy(l->ext->lvb, q->lvb, RDLM_LVB_LEN);
        l->bits |= LB_SAVED_LVB;
    }
    eng_lock_move(l, ENG_LKS_CONVERTING, q->flags & RDLM_LKF_HEADQUE);
    if (q->flags & RDLM_LKF_TIMEOUT)
        eng_timer_arm(e, l, q->timeout_cs);
    eng_queue_basts(e, l, Q_GRANTED, out);
}

/* Conversion deadlock at queue time (step 1). Returns true when the request is finished. */
static bool convert_deadlock(struct eng *e, struct eng_lock *l, const struct eng_req *q,
                             struct eng_actions *out)
{
    if (q->flags & RDLM_LKF_CONVDEADLK) {
        l->grmode = RDLM_MODE_NL;
        l->sbflags |= RDLM_SBF_DEMOTED;
        eng_stamp(l);
        eng_converting_pass(e, l->res, out, NULL, NULL);
        if (eng_grantable(l, true)) {
            eng_grant(e, l, q->lvb, out);
            eng_grant_pending(e, l->res, out);
        } else {
            queue_conversion(e, l, q, out);
        }
        return true;
    }
    if (q->flags & RDLM_LKF_NODLCKWT) {
        eng_self_bast(e, l, out);
        queue_conversion(e, l, q, out);
        return true;
    }
    eng_revert(e, l);
    eng_emit_complete(out, l, ENG_OP_REQUEST, RDLM_E_DEADLOCK, l->grmode, 0);
    return true;
}

static int request_convert(struct eng *e, const struct eng_req *q, struct eng_actions *out)
{
    struct eng_lock *l;
    int st = check_convert(e, q, &l);
    bool need_ext = q->hint || (q->flags & (RDLM_LKF_TIMEOUT | RDLM_LKF_VALBLK));

    if (st)
        return st;
    if (need_ext && !eng_lock_ext(l))
        return RDLM_E_NOMEM;
    start_conversion(l, q);

    bool ok = eng_grantable(l, true);
    if (!ok && !(q->flags & RDLM_LKF_NOQUEUE) && eng_cvt_deadlock(l)) {
        convert_deadlock(e, l, q, out);
        return RDLM_OK;
    }
    if (ok || eng_try_alternate(l, true)) {
        eng_grant(e, l, q->lvb, out);
        eng_grant_pending(e, l->res, out);
        return RDLM_OK;
    }
    if (q->flags & RDLM_LKF_NOQUEUE) {
        eng_emit_complete(out, l, ENG_OP_REQUEST, RDLM_E_NOTQUEUED, l->grmode, 0);
        if (q->flags & RDLM_LKF_NOQUEUEBAST) {
            eng_queue_basts(e, l, Q_GRANTED, out);
            eng_queue_basts(e, l, Q_CONVERTING, out);
        }
        eng_revert(e, l);
        return RDLM_OK;
    }
    queue_conversion(e, l, q, out);
    return RDLM_OK;
}

int eng_request(struct eng *e, const struct eng_req *req, struct eng_actions *out)
{
    int st;

    if (!e || !req || !out)
        return RDLM_E_INVAL;
    st = eng_validate_request(req);
    if (st)
        return st;
    if (req->flags & RDLM_LKF_CONVERT)
        return request_convert(e, req, out);
    return request_new(e, req, out);
}
