/*
 * master/engine_hooks.c - the engine entry points the service uses to move a resource between
 * the one-sided fast path and the master's queues (install reported locks, forget records,
 * load the LVB record). They bypass the grant rules and emit no action: the locks they touch
 * were already granted, by the counts in the lock word.
 */
#include "master/engine_internal.h"

#include <stdlib.h>
#include <string.h>

/* The parent of a sub-resource lock being installed: granted (or converting) and with its
 * extension; NULL with *st set if not. */
static struct eng_lock *install_parent(struct eng *e, uint64_t lkid, int *st)
{
    struct eng_lock *p = eng_lock_find(e, lkid);

    *st = !p ? RDLM_E_NOLOCK : p->state == ENG_LKS_WAITING ? RDLM_E_PARNOTGRANT : RDLM_OK;
    if (*st == RDLM_OK && !eng_lock_ext(p))
        *st = RDLM_E_NOMEM;
    return *st == RDLM_OK ? p : NULL;
}

int eng_install_granted(struct eng *e, const struct eng_req *q)
{
    struct eng_lock *l, *parent = NULL;
    struct eng_res *r;
    uint32_t owner;
    int st = RDLM_OK;

    if (!e || !q || q->lkid == 0 || q->mode < RDLM_MODE_NL || q->mode > RDLM_MODE_EX ||
        (q->owner.kind != ENG_OWNER_PROCESS && q->owner.kind != ENG_OWNER_GROUP) || !q->name)
        return RDLM_E_INVAL;
    if (q->namelen == 0 || q->namelen > RDLM_RESNAME_MAXLEN)
        return RDLM_E_NAMELEN;
    if (eng_lock_find(e, q->lkid))
        return RDLM_E_EXISTS;
    if (q->parent_lkid && !(parent = install_parent(e, q->parent_lkid, &st)))
        return st;
    owner = eng_owner_intern(e, &q->owner);
    if (!owner)
        return RDLM_E_NOMEM;
    r = eng_res_get(e, parent ? parent->res : NULL, q->name, q->namelen);
    if (!r)
        return RDLM_E_NOMEM;
    l = eng_lock_new(e, q->lkid, r, owner);
    if (!l || ((q->hint || parent) && !eng_lock_ext(l))) {
        if (l)
            eng_lock_delete(e, l);
        eng_res_release_if_unused(e, r);
        return RDLM_E_NOMEM;
    }
    if (parent)
        eng_link_parent(l, parent);
    if ((q->flags & RDLM_LKF_PERSIST_RES) && q->rd_id && !(r->flags & RES_PERSISTENT)) {
        r->flags |= RES_PERSISTENT; /* rebuilt after its master was lost */
        r->rd_id = q->rd_id;
    }
    l->grmode = l->rqmode = q->mode;
    l->flags = q->flags & ~(uint32_t)RDLM_LKF_CONVERT;
    if (q->has_bast)
        l->bits |= LB_HAS_BAST;
    if (l->ext)
        l->ext->hint = q->hint;
    l->state = ENG_LKS_GRANTED;
    eng_q_add(r, Q_GRANTED, l, false);
    return RDLM_OK;
}

int eng_forget_lock(struct eng *e, uint64_t lkid)
{
    struct eng_lock *l = e ? eng_lock_find(e, lkid) : NULL;
    struct eng_res *r;

    if (!l)
        return RDLM_E_NOLOCK;
    if (l->state != ENG_LKS_GRANTED || (l->ext && l->ext->nchildren))
        return RDLM_E_BUSY;
    r = l->res;
    eng_lock_delete(e, l);
    eng_res_release_if_unused(e, r);
    return RDLM_OK;
}

static int set_res_lvb(struct eng_res *r, uint8_t status, uint64_t seq, const uint8_t *value);

int eng_set_lvb(struct eng *e, const void *name, uint16_t namelen, uint8_t status, uint64_t seq,
                const uint8_t *value)
{
    struct eng_res *r;

    if (!e || !name || namelen == 0 || namelen > RDLM_RESNAME_MAXLEN || status > ENG_LVB_INVALID)
        return RDLM_E_INVAL;
    r = eng_res_get(e, NULL, name, namelen); /* the locks may come right after */
    if (!r)
        return RDLM_E_NOMEM;
    return set_res_lvb(r, status, seq, value);
}

int eng_set_sub_lvb(struct eng *e, uint64_t parent_lkid, const void *name, uint16_t namelen,
                    uint8_t status, uint64_t seq, const uint8_t *value)
{
    struct eng_lock *p = e ? eng_lock_find(e, parent_lkid) : NULL;
    struct eng_res *r;

    if (!p || !name || namelen == 0 || namelen > RDLM_RESNAME_MAXLEN || status > ENG_LVB_INVALID)
        return RDLM_E_INVAL;
    r = eng_res_find(e, p->res, name, namelen); /* its locks were installed first */
    return r ? set_res_lvb(r, status, seq, value) : RDLM_E_NOLOCK;
}

static int set_res_lvb(struct eng_res *r, uint8_t status, uint64_t seq, const uint8_t *value)
{
    if (status == ENG_LVB_NONE) {
        free(r->lvb);
        r->lvb = NULL;
        return RDLM_OK;
    }
    if (!r->lvb) {
        r->lvb = calloc(1, sizeof(*r->lvb));
        if (!r->lvb)
            return RDLM_E_NOMEM;
    }
    r->lvb->status = status;
    r->lvb->seq = seq;
    if (value)
        memcpy(r->lvb->data, value, RDLM_LVB_LEN);
    return RDLM_OK;
}

int eng_release_unused(struct eng *e, const void *name, uint16_t namelen)
{
    struct eng_res *r;

    if (!e || !name || namelen == 0 || namelen > RDLM_RESNAME_MAXLEN)
        return RDLM_E_INVAL;
    r = eng_res_find(e, NULL, name, namelen);
    if (!r)
        return RDLM_E_NOLOCK;
    eng_res_release_if_unused(e, r);
    return RDLM_OK;
}
