/*
 * master/engine_release.c - how locks and requests end: unlock (docs/engine.md section 11),
 * cancel, deadlock-victim cancel, timeouts (9), and the purges that follow an owner's death
 * (orphaning PERSISTENT locks) or a dlm_ls_purge of orphans.
 */
#include "master/engine_internal.h"

#include <stdlib.h>

#define UNLOCK_FLAGS (RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK | RDLM_LKF_FORCEUNLOCK)

/* Undo a pending (or just refused) conversion: back to GRANTED at the granted mode. */
void eng_revert(struct eng *e, struct eng_lock *l)
{
    if (l->state == ENG_LKS_CONVERTING)
        eng_lock_move(l, ENG_LKS_GRANTED, false);
    l->rqmode = l->grmode;
    eng_stamp(l);
    if (l->bits & LB_SAVED_BAST)
        l->bits |= LB_HAS_BAST;
    else
        l->bits &= (uint8_t)~LB_HAS_BAST;
    if (l->ext)
        l->ext->hint = l->ext->saved_hint;
    l->bits &= (uint8_t) ~(LB_SAVED_BAST | LB_SAVED_LVB);
    eng_timer_disarm(e, l);
}

static bool is_pending(const struct eng_lock *l)
{
    return l->state == ENG_LKS_CONVERTING || l->state == ENG_LKS_WAITING;
}

/* ---- unlock ---- */

static void unlock_one(struct eng *e, struct eng_lock *l, uint32_t flags, const uint8_t *lvb,
                       struct eng_actions *out);

/* Force-unlock l's sublocks, depth first, in creation order; IVVALBLK carries down (the
 * tree's data is suspect), VALBLK does not (the caller's LVB is for l's resource). */
static void unlock_children(struct eng *e, struct eng_lock *l, uint32_t flags,
                            struct eng_actions *out)
{
    while (l->ext && l->ext->child_first)
        unlock_one(e, l->ext->child_first, RDLM_LKF_FORCEUNLOCK | (flags & RDLM_LKF_IVVALBLK), NULL,
                   out);
}

static void unlock_one(struct eng *e, struct eng_lock *l, uint32_t flags, const uint8_t *lvb,
                       struct eng_actions *out)
{
    struct eng_res *r = l->res;

    unlock_children(e, l, flags, out);
    if (is_pending(l))
        eng_emit_complete(out, l, ENG_OP_REQUEST, RDLM_E_ABORTED, RDLM_MODE_IV, 0);
    if (l->grmode >= RDLM_MODE_PW && (flags & RDLM_LKF_IVVALBLK))
        eng_lvb_invalidate(e, r, out);
    else if (l->grmode >= RDLM_MODE_PW && (flags & RDLM_LKF_VALBLK))
        eng_lvb_write(e, r, lvb, out);
    eng_emit_complete(out, l, ENG_OP_UNLOCK, RDLM_E_UNLOCKED, RDLM_MODE_IV, 0);
    eng_lock_delete(e, l);
    eng_grant_pending(e, r, out);
    eng_res_release_if_unused(e, r);
}

int eng_unlock(struct eng *e, uint64_t lkid, uint32_t flags, const uint8_t *lvb,
               struct eng_actions *out)
{
    struct eng_lock *l;

    if (!e || !out || (flags & ~UNLOCK_FLAGS) || ((flags & RDLM_LKF_VALBLK) && !lvb))
        return RDLM_E_INVAL;
    l = eng_lock_find(e, lkid);
    if (!l || (l->bits & LB_ORPHAN))
        return RDLM_E_NOLOCK;
    if (!(flags & RDLM_LKF_FORCEUNLOCK)) {
        if (is_pending(l))
            return RDLM_E_BUSY;
        if (l->ext && l->ext->nchildren)
            return RDLM_E_SUBLOCKS;
    }
    unlock_one(e, l, flags, lvb, out);
    return RDLM_OK;
}

/* ---- cancel ---- */

/* End l's pending request with status; then grant what that unblocks. */
static void cancel_pending(struct eng *e, struct eng_lock *l, uint8_t status,
                           struct eng_actions *out)
{
    struct eng_res *r = l->res;

    if (l->state == ENG_LKS_CONVERTING) {
        uint8_t sb = l->sbflags & RDLM_SBF_DEMOTED;
        eng_revert(e, l);
        l->sbflags = 0;
        eng_emit_complete(out, l, ENG_OP_REQUEST, status, l->grmode, sb);
    } else {
        eng_emit_complete(out, l, ENG_OP_REQUEST, status, RDLM_MODE_IV, 0);
        eng_lock_delete(e, l);
    }
    eng_grant_pending(e, r, out);
    eng_res_release_if_unused(e, r);
}

int eng_cancel(struct eng *e, uint64_t lkid, uint32_t flags, struct eng_actions *out)
{
    struct eng_lock *l;

    if (!e || !out || (flags & ~RDLM_LKF_CANCELWAITOK))
        return RDLM_E_INVAL;
    l = eng_lock_find(e, lkid);
    if (!l || (l->bits & LB_ORPHAN))
        return RDLM_E_NOLOCK;
    if (!is_pending(l))
        return RDLM_E_CANCELGRANT;
    if (l->state == ENG_LKS_WAITING && !(flags & RDLM_LKF_CANCELWAITOK))
        return RDLM_E_CANCELWAIT;
    cancel_pending(e, l, RDLM_E_CANCELED, out);
    return RDLM_OK;
}

int eng_cancel_deadlock(struct eng *e, uint64_t lkid, struct eng_actions *out)
{
    struct eng_lock *l;

    if (!e || !out)
        return RDLM_E_INVAL;
    l = eng_lock_find(e, lkid);
    if (!l || (l->bits & LB_ORPHAN))
        return RDLM_E_NOLOCK;
    if (!is_pending(l))
        return RDLM_E_CANCELGRANT;
    cancel_pending(e, l, RDLM_E_DEADLOCK, out);
    return RDLM_OK;
}

/* ---- time ---- */

static int cmp_deadline(const void *a, const void *b)
{
    const struct eng_lock *x = *(struct eng_lock *const *)a;
    const struct eng_lock *y = *(struct eng_lock *const *)b;

    if (x->ext->deadline != y->ext->deadline)
        return x->ext->deadline < y->ext->deadline ? -1 : 1;
    return x->lkid < y->lkid ? -1 : x->lkid > y->lkid;
}

int eng_advance_time(struct eng *e, uint64_t now_cs, struct eng_actions *out)
{
    struct eng_lock **due;
    size_t n = 0, cap = 0;

    if (!e || !out || now_cs < e->now_cs)
        return RDLM_E_INVAL;
    e->now_cs = now_cs;
    for (struct eng_lock *l = e->timer_head; l; l = l->ext->timer_next)
        if (l->ext->deadline <= now_cs)
            cap++;
    if (!cap)
        return RDLM_OK;
    due = malloc(cap * sizeof(*due));
    if (!due)
        return RDLM_E_NOMEM;
    for (struct eng_lock *l = e->timer_head; l; l = l->ext->timer_next)
        if (l->ext->deadline <= now_cs)
            due[n++] = l;
    qsort(due, n, sizeof(*due), cmp_deadline);
    /* A grant caused by an earlier expiry disarms a later one's timer: it is no longer due. */
    for (size_t i = 0; i < n; i++)
        if (due[i]->ext->timer_armed)
            cancel_pending(e, due[i], RDLM_E_TIMEDOUT, out);
    free(due);
    return RDLM_OK;
}

/* ---- purges (owner death, orphans) ---- */

struct owner_pick {
    uint32_t owner;
    bool pending_only;
};

static bool pick_owner(const struct eng *e, const struct eng_lock *l, const void *arg)
{
    const struct owner_pick *p = arg;

    (void)e;
    return l->owner == p->owner && !(l->bits & LB_ORPHAN) && (!p->pending_only || is_pending(l));
}

struct orphan_pick {
    uint32_t node;
    uint64_t pid;
};

static bool pick_orphan(const struct eng *e, const struct eng_lock *l, const void *arg)
{
    const struct orphan_pick *p = arg;
    const struct eng_owner *o = eng_owner_of(e, l);

    return (l->bits & LB_ORPHAN) && o->node == p->node &&
           (p->pid == 0 || (o->id & 0xffffffffu) == p->pid);
}

/* Remove l as a force unlock with IVVALBLK would, sublocks first, emitting no completion. */
static void remove_silently(struct eng *e, struct eng_lock *l, struct eng_actions *out)
{
    while (l->ext && l->ext->child_first)
        remove_silently(e, l->ext->child_first, out);
    if (l->grmode >= RDLM_MODE_PW)
        eng_lvb_invalidate(e, l->res, out);
    eng_touch(e, l->res);
    eng_lock_delete(e, l);
}

/* Purge step 3: grant-pending on every affected resource, then free the unused ones. */
static void settle_touched(struct eng *e, struct eng_actions *out)
{
    for (size_t i = 0; i < e->touched_n; i++)
        if (e->touched[i])
            eng_grant_pending(e, e->touched[i], out);
    for (size_t i = 0; i < e->touched_n; i++)
        if (e->touched[i])
            eng_res_release_if_unused(e, e->touched[i]);
    e->touched_n = 0;
}

/* The lock ids of the locks pick() selects, ascending (ids survive removals; pointers don't). */
static size_t collect_ids(const struct eng *e,
                          bool (*pick)(const struct eng *, const struct eng_lock *, const void *),
                          const void *arg, uint64_t **ids)
{
    struct eng_lock **v;
    size_t n = eng_collect_locks(e, pick, arg, &v);

    *ids = malloc((n ? n : 1) * sizeof(**ids));
    if (!*ids)
        abort();
    for (size_t i = 0; i < n; i++)
        (*ids)[i] = v[i]->lkid;
    free(v);
    return n;
}

static void purge_pending(struct eng *e, uint32_t owner)
{
    struct owner_pick pick = {owner, true};
    uint64_t *ids;
    size_t n = collect_ids(e, pick_owner, &pick, &ids);

    for (size_t i = 0; i < n; i++) {
        struct eng_lock *l = eng_lock_find(e, ids[i]);
        eng_touch(e, l->res);
        if (l->state == ENG_LKS_CONVERTING) {
            eng_revert(e, l);
            l->sbflags = 0;
        } else {
            eng_lock_delete(e, l);
        }
    }
    free(ids);
}

static void purge_granted(struct eng *e, uint32_t owner, struct eng_actions *out)
{
    struct owner_pick pick = {owner, false};
    uint64_t *ids;
    size_t n = collect_ids(e, pick_owner, &pick, &ids);

    for (size_t i = 0; i < n; i++) {
        struct eng_lock *l = eng_lock_find(e, ids[i]);
        if (!l)
            continue; /* a sublock already removed with its parent */
        if (l->flags & RDLM_LKF_PERSISTENT) {
            l->bits |= LB_ORPHAN;
            l->bits &= (uint8_t)~LB_HAS_BAST;
            eng_stamp(l);
        } else {
            remove_silently(e, l, out);
        }
    }
    free(ids);
}

static uint32_t owner_lookup(const struct eng *e, const struct eng_owner *o)
{
    for (uint32_t i = 1; i < e->owners_n; i++) {
        const struct eng_owner *w = &e->owners[i].who;
        if (e->owners[i].nlocks && w->kind == o->kind && w->node == o->node && w->id == o->id)
            return i;
    }
    return 0;
}

int eng_purge_owner(struct eng *e, const struct eng_owner *owner, struct eng_actions *out)
{
    uint32_t idx;

    if (!e || !owner || !out ||
        (owner->kind != ENG_OWNER_PROCESS && owner->kind != ENG_OWNER_GROUP))
        return RDLM_E_INVAL;
    idx = owner_lookup(e, owner);
    if (!idx)
        return RDLM_OK;
    e->touched_n = 0;
    purge_pending(e, idx);
    purge_granted(e, idx, out);
    settle_touched(e, out);
    return RDLM_OK;
}

int eng_purge_groups_of(struct eng *e, uint32_t node, struct eng_actions *out)
{
    if (!e || !out)
        return RDLM_E_INVAL;
    for (uint32_t i = 1; i < e->owners_n; i++) {
        struct eng_owner who = e->owners[i].who;
        if (e->owners[i].nlocks && who.kind == ENG_OWNER_GROUP && who.node == node)
            eng_purge_owner(e, &who, out);
    }
    return RDLM_OK;
}

static bool pick_any_orphan(const struct eng *e, const struct eng_lock *l, const void *arg)
{
    (void)e;
    (void)arg;
    return l->bits & LB_ORPHAN;
}

size_t eng_orphan_ids(const struct eng *e, uint64_t **ids)
{
    return collect_ids(e, pick_any_orphan, NULL, ids);
}

int eng_mark_orphan(struct eng *e, uint64_t lkid)
{
    struct eng_lock *l = e ? eng_lock_find(e, lkid) : NULL;

    if (!l)
        return RDLM_E_NOLOCK;
    if (l->state != ENG_LKS_GRANTED)
        return RDLM_E_INVAL;
    l->bits |= LB_ORPHAN;
    l->bits &= (uint8_t)~LB_HAS_BAST;
    eng_stamp(l);
    return RDLM_OK;
}

int eng_purge_orphans(struct eng *e, uint32_t node, uint64_t pid, struct eng_actions *out)
{
    struct orphan_pick pick = {node, pid};
    uint64_t *ids;
    size_t n;

    if (!e || !out)
        return RDLM_E_INVAL;
    e->touched_n = 0;
    n = collect_ids(e, pick_orphan, &pick, &ids);
    for (size_t i = 0; i < n; i++) {
        struct eng_lock *l = eng_lock_find(e, ids[i]);
        if (l)
            remove_silently(e, l, out);
    }
    free(ids);
    settle_touched(e, out);
    return RDLM_OK;
}
