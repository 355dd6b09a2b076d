/*
 * lib/tcdlm/request.c - new lock requests and conversions, the core of dlm_lock, dlm_locktp,
 * dlm_quelock, dlm_quelocktp, dlm_cvt and dlm_quecvt (docs/tcdlm.md "Requests").
 *
 * Synchronous calls use the native synchronous request and return its outcome; asynchronous
 * ones return once the native library accepted the request, and the outcome reaches the
 * completion routine through callback.c. DLM_SYNCSTS needs to know whether the request was
 * granted without waiting, which the native API does not say: the request is first tried with
 * NOQUEUE (a grant then is by definition immediate: DLM_SYNCH, no completion routine), and
 * only if that is not grantable is the real request made. DLM_EXPEDITE (an NL request granted
 * ahead of every queue) is always immediate.
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <stdlib.h>
#include <string.h>

static dlm_status_t check(const struct tc_req *q)
{
    dlm_status_t st;

    if (!q->lkid_p || !tc_mode_ok(q->mode))
        return DLM_BADPARAM;
    st = tc_check_flags(q->flags, q->allowed, q->valb_p);
    if (st || q->convert)
        return st;
    if ((q->flags & DLM_EXPEDITE) && q->mode != DLM_NLMODE)
        return DLM_BADPARAM;
    return tc_check_name(q->resnam, q->resnlen);
}

struct prep {
    struct tc_lock *l;
    struct rdlm_lock_ext ext;
};

/* Under tc_mu. */
static dlm_status_t prepare_new(const struct tc_req *q, struct prep *p)
{
    rdlm_ls *nls = tc_ns_handle(q->nsp);
    uint32_t rd = 0;
    dlm_status_t st;
    struct tc_lock *l;

    if (!nls)
        return DLM_NOTATTACHED;
    if (q->parid && tc_lkid_native(q->parid)) {
        struct tc_lock *parent = tc_lock_by_lkid(tc_lkid_native(q->parid));
        if (!parent)
            return DLM_IVLOCKID;
        p->ext.parent = parent->lkid;
        nls = parent->nls; /* a sublock lives in its parent's resource tree */
    }
    if (q->flags & DLM_GROUP_LOCK) {
        p->ext.group = rdlm_glc_current();
        if (!p->ext.group)
            return DLM_NOTATTACHED;
    }
    if ((q->flags & DLM_PERSIST) && !tc_rd_lookup(q->rd_id, &rd))
        return DLM_IVRDID;
    p->ext.rd_id = rd;
    st = tc_trans_xid(q->flags, q->trans_id, rdlm_ls_node(nls), &p->ext.xid);
    if (st)
        return st;
    l = tc_lock_new();
    if (!l)
        return DLM_INSFMEM;
    l->nsp = q->nsp;
    l->nls = nls;
    l->parent = p->ext.parent;
    l->group = p->ext.group != 0;
    l->resnlen = q->resnlen;
    memcpy(l->resnam, q->resnam, q->resnlen);
    l->old = q->r;
    p->l = l;
    return DLM_SUCCESS;
}

/* Under tc_mu. */
static dlm_status_t prepare_convert(const struct tc_req *q, struct prep *p)
{
    uint64_t lkid = tc_lkid_native(q->lkid_p);
    struct tc_lock *l = tc_lock_by_lkid(lkid);

    if (!tc_any_handle())
        return DLM_NOTATTACHED;
    if (!l)
        l = tc_glc_adopt(lkid);
    if (!l)
        return DLM_IVLOCKID;
    if (l->grmode == RDLM_MODE_IV)
        return DLM_CVTUNGRANT;
    if (l->op != TC_IDLE)
        return DLM_LKBUSY;
    l->old = l->cur;
    l->nsb.lkid = l->lkid;
    p->l = l;
    return DLM_SUCCESS;
}

static dlm_status_t prepare(const struct tc_req *q, struct prep *p)
{
    dlm_status_t st;
    struct tc_lock *l;

    pthread_mutex_lock(&tc_mu);
    st = q->convert ? prepare_convert(q, p) : prepare_new(q, p);
    if (st == DLM_SUCCESS) {
        l = p->l;
        l->op = TC_REQUEST;
        l->rqmode = q->mode - 1;
        l->sync = q->sync;
        l->flags = q->flags;
        l->timeout = q->timeout;
        l->cur = q->r;
        if (q->flags & DLM_VALB) {
            memcpy(l->vb, q->valb_p, sizeof(l->vb));
            l->uvalb = q->valb_p;
            l->read_vb = true;
            l->valb_given = q->valb_p;
        }
        l->refs++;
    }
    pthread_mutex_unlock(&tc_mu);
    return st;
}

struct lock_args {
    int mode;
    uint32_t nflags;
    const struct rdlm_lock_ext *ext;
};

static int lock_op(struct tc_lock *l, rdlm_ls *ls, void *arg)
{
    const struct lock_args *a = arg;

    return rdlm_lock(ls, a->mode, &l->nsb, a->nflags, l->resnam, l->resnlen, tc_native_ast,
                     (void *)(uintptr_t)l->id, tc_native_bast, a->ext);
}

static int native_lock(struct tc_lock *l, int mode, uint32_t nflags,
                       const struct rdlm_lock_ext *ext, bool wait)
{
    struct lock_args a = {mode, nflags | (wait ? RDLM_LKF_WAIT : 0), ext};

    return tc_glc_route(l, lock_op, &a);
}

/* A synchronous outcome nst of l's request. */
static dlm_status_t finish_sync(const struct tc_req *q, struct tc_lock *l, int nst)
{
    dlm_status_t st;
    bool ended, unlocking;

    pthread_mutex_lock(&tc_mu);
    l->sync = false;
    unlocking = l->op == TC_UNLOCK; /* another thread's dlm_unlock dequeued the request */
    if (!q->convert)
        l->lkid = nst == RDLM_OK ? l->nsb.lkid : 0;
    if (l->unrouted) /* an adopted lock no handle knows */
        tc_lock_end(l);
    st = tc_request_done(l, nst, l->nsb.sbflags, &ended);
    if (unlocking) {
        l->op = TC_UNLOCK; /* the unlock goes on */
        if (nst != RDLM_OK)
            st = DLM_ABORT;
    }
    if (nst == RDLM_OK && !q->convert)
        tc_lkid_set(q->lkid_p, l->lkid);
    tc_lock_put(l);
    pthread_mutex_unlock(&tc_mu);
    return st;
}

/* The native library refused an asynchronous request: nothing changed. */
static dlm_status_t refused(const struct tc_req *q, struct tc_lock *l, int nst)
{
    pthread_mutex_lock(&tc_mu);
    l->op = TC_IDLE;
    l->read_vb = false;
    l->uvalb = NULL;
    if (q->convert && !l->unrouted) {
        l->cur = l->old;
        l->rqmode = l->grmode;
    } else {
        tc_lock_end(l); /* a new lock, or an adopted one no handle knows */
    }
    tc_lock_put(l);
    pthread_mutex_unlock(&tc_mu);
    return tc_status(nst);
}

static dlm_status_t finish_async(const struct tc_req *q, struct tc_lock *l, int nst)
{
    if (nst != RDLM_OK)
        return refused(q, l, nst);
    pthread_mutex_lock(&tc_mu);
    if (!q->convert) {
        l->lkid = l->nsb.lkid;
        tc_lkid_set(q->lkid_p, l->lkid);
    }
    tc_lock_put(l);
    pthread_mutex_unlock(&tc_mu);
    return DLM_SUCCESS;
}

static bool is_outcome(int nst)
{
    return nst == RDLM_E_NOTQUEUED || nst == RDLM_E_DEADLOCK || nst == RDLM_E_TIMEDOUT ||
           nst == RDLM_E_CANCELED;
}

/* The outcome of a DLM_SYNCSTS attempt that is final (a grant, or a failure other than "not
 * grantable now" of a request that was to wait). */
static dlm_status_t finish_probe(const struct tc_req *q, struct tc_lock *l, int nst)
{
    struct tc_item *it;
    dlm_status_t st;

    if (q->sync || nst == RDLM_OK || !is_outcome(nst)) {
        st = finish_sync(q, l, nst);
        if (nst == RDLM_OK)
            return st == DLM_SUCCVALNOTVALID ? DLM_SYNCVALNOTVALID : DLM_SYNCH;
        return st;
    }
    /* asynchronous: the failure is the request's outcome, for its completion routine */
    it = calloc(1, sizeof(*it));
    if (it) {
        it->id = l->id;
        tc_lkid_set(&it->lkid, l->nsb.lkid);
        it->notprm = q->r.notprm;
        it->cplrtn = q->r.cplrtn;
    }
    st = finish_sync(q, l, nst);
    if (it && !q->convert)
        tc_lkid_set(q->lkid_p, tc_lkid_native(&it->lkid));
    if (it) {
        it->status = st;
        if (it->cplrtn)
            tc_deliver(it);
        else
            free(it);
    }
    return DLM_SUCCESS;
}

dlm_status_t tc_request(const struct tc_req *q)
{
    struct prep p = {0};
    dlm_status_t st = check(q);
    uint32_t nflags;
    int mode = q->mode - 1, nst;

    if (st)
        return st;
    st = prepare(q, &p);
    if (st)
        return st;
    nflags = tc_native_flags(q->flags) | (q->convert ? RDLM_LKF_CONVERT : 0);
    p.ext.hint = q->r.hint;
    if (q->timeout) {
        nflags |= RDLM_LKF_TIMEOUT;
        p.ext.timeout_cs = q->timeout;
    }
    if (q->flags & DLM_SYNCSTS) {
        uint32_t probe = nflags & ~RDLM_LKF_TIMEOUT;
        if (!(q->flags & DLM_EXPEDITE))
            probe |= RDLM_LKF_NOQUEUE;
        nst = native_lock(p.l, mode, probe, &p.ext, true);
        if (nst != RDLM_E_NOTQUEUED || (q->flags & (DLM_NOQUEUE | DLM_EXPEDITE)))
            return finish_probe(q, p.l, nst);
        /* not grantable now: the real request follows */
    }
    nst = native_lock(p.l, mode, nflags, &p.ext, q->sync);
    return q->sync ? finish_sync(q, p.l, nst) : finish_async(q, p.l, nst);
}
