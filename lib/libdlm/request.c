/*
 * lib/libdlm/request.c - a request or conversion, the core of every dlm_*lock* call:
 * validation (validate.c), the record (a new one, or the converted lock's, whose routines,
 * argument and lksb the call replaces, as in Linux), the LVB copy, then the native call.
 *
 * Asynchronous calls return once the request is accepted; the outcome comes as an AST
 * (complete.c). Synchronous ones (the _wait calls, LKF_WAIT) use the native synchronous call,
 * write the outcome into the lksb and return 0, or -1 with errno = sb_status when the request
 * failed (EAGAIN, EDEADLK, ETIMEDOUT, ECANCEL). An orphan adoption (LKF_ORPHAN) is decided at
 * once, as in Linux: 0 (sb_status 0, no AST) or -1 with ENOENT (no orphan of that name) or
 * EAGAIN (orphans exist, in another mode).
 *
 * Flags Linux ignores are dropped before the native call: LKF_ORPHAN on a conversion,
 * LKF_FORCEUNLOCK and unknown bits on a request, LKF_TIMEOUT without a timeout.
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>
#include <string.h>

/* The request flags Linux passes to the kernel (LKF_CANCEL is refused earlier). */
#define REQUEST_FLAGS                                                                              \
    (LKF_NOQUEUE | LKF_CONVERT | LKF_VALBLK | LKF_QUECVT | LKF_IVVALBLK | LKF_CONVDEADLK |         \
     LKF_PERSISTENT | LKF_NODLCKWT | LKF_NODLCKBLK | LKF_EXPEDITE | LKF_NOQUEUEBAST |              \
     LKF_HEADQUE | LKF_NOORDER | LKF_ORPHAN | LKF_ALTPR | LKF_ALTCW | LKF_TIMEOUT)

/* Statuses a synchronous native call returns as the outcome of an accepted request (the
 * others mean the call itself was refused). */
static bool is_outcome(int nst)
{
    return nst == RDLM_OK || nst == RDLM_E_NOTQUEUED || nst == RDLM_E_DEADLOCK ||
           nst == RDLM_E_TIMEDOUT || nst == RDLM_E_CANCELED || nst == RDLM_E_ABORTED;
}

static uint32_t native_flags(const struct fe_req *r)
{
    uint32_t f = r->flags & REQUEST_FLAGS;

    if (f & LKF_CONVERT)
        f &= ~LKF_ORPHAN;
    if (!r->timeout_cs)
        f &= ~LKF_TIMEOUT;
    return f;
}

/* Find or make the record (under fe_mu); 0 or an errno. */
static int take_record(struct fe_ls *ls, const struct fe_req *r, uint32_t nflags,
                       struct fe_lock **out)
{
    struct fe_lock *l;
    int err;

    *out = NULL;
    if (!(nflags & LKF_CONVERT)) {
        l = fe_lock_new(ls);
        if (!l)
            return ENOMEM;
        if (nflags & LKF_VALBLK) /* the kernel's copy starts zeroed */
            memset(l->klvb, 0, sizeof(l->klvb));
        *out = l;
        return 0;
    }
    l = fe_lock_find(r->lksb->sb_lkid);
    if (!l || l->ls != ls)
        return ENOENT;
    if (l->op != FE_IDLE || l->grmode == RDLM_MODE_IV)
        return EBUSY;
    if ((nflags & LKF_QUECVT) && (err = fe_check_quecvt(l->grmode, r->mode)))
        return err;
    if (l->has_klvb || (nflags & LKF_VALBLK)) { /* a conversion passes the caller's LVB */
        if (r->lksb->sb_lvbptr)
            memcpy(l->klvb, r->lksb->sb_lvbptr, sizeof(l->klvb));
        else
            memset(l->klvb, 0, sizeof(l->klvb));
    }
    *out = l;
    return 0;
}

/* What a request replaces in the record, kept to be put back if the call is refused. */
struct before {
    fe_ast_fn ast, bast;
    void *astarg, *bastarg;
    struct dlm_lksb *ulksb;
    int status;    /* the caller's sb_status */
    uint32_t lkid; /* and sb_lkid */
};

/* The native call refused the request (under fe_mu): as before the call; -1 with errno. */
static int refused(struct fe_lock *l, const struct fe_req *r, const struct before *b, int nst)
{
    if (l->op == FE_REQUEST)
        l->op = FE_IDLE;
    if (l->grmode == RDLM_MODE_IV && l->op == FE_IDLE) {
        fe_lock_end(l); /* a new lock that never was */
    } else {
        l->ast = b->ast;
        l->astarg = b->astarg;
        l->bast = b->bast;
        l->bastarg = b->bastarg;
        l->ulksb = b->ulksb;
    }
    r->lksb->sb_status = b->status;
    r->lksb->sb_lkid = b->lkid;
    errno = fe_errno(nst);
    return -1;
}

/* After the native call of a synchronous request (under fe_mu). */
static int finish_sync(struct fe_lock *l, const struct fe_req *r, int nst)
{
    bool deliver, lvb_read = l->nsb.lvbseq != FE_NO_SEQ && l->has_klvb;
    int status;

    l->nsb.lvbseq = FE_NO_SEQ;
    status = fe_request_done(l, nst, l->nsb.sbflags, &deliver);
    fe_apply(r->lksb, l->id, status, l->nsb.sbflags, lvb_read, l->klvb);
    if (status) {
        errno = status;
        return -1;
    }
    return 0;
}

int fe_request(struct fe_ls *ls, const struct fe_req *r)
{
    uint32_t nflags = native_flags(r);
    bool wait = r->sync || (r->flags & LKF_WAIT) || (nflags & LKF_ORPHAN);
    struct rdlm_lock_ext ext = {.xid = r->xid,
                                .timeout_cs = r->timeout_cs > UINT32_MAX ? UINT32_MAX
                                                                         : (uint32_t)r->timeout_cs};
    struct fe_lock *l;
    struct before b;
    int err, nst, rc;
    uint32_t id;

    err = fe_check_request(r->mode, r->lksb, r->flags, r->name, r->namelen, r->ast != NULL, wait);
    if (err) {
        errno = err;
        return -1;
    }
    pthread_mutex_lock(&fe_mu);
    if (!fe_ls_valid(ls)) {
        pthread_mutex_unlock(&fe_mu);
        errno = ENOTCONN;
        return -1;
    }
    err = take_record(ls, r, nflags, &l);
    if (err) {
        pthread_mutex_unlock(&fe_mu);
        errno = err;
        return -1;
    }
    id = l->id;
    b = (struct before){
        l->ast, l->bast, l->astarg, l->bastarg, l->ulksb, r->lksb->sb_status, r->lksb->sb_lkid};
    l->op = FE_REQUEST;
    l->rqmode = (int8_t)r->mode;
    l->rqflags = nflags;
    l->ast = r->ast;
    l->astarg = r->astarg;
    l->bast = r->bast;
    l->bastarg = r->bastarg;
    l->ulksb = r->lksb;
    if (nflags & LKF_VALBLK)
        l->has_klvb = true;
    l->nsb.lvb = l->has_klvb ? l->klvb : NULL;
    l->nsb.lvbseq = FE_NO_SEQ;
    r->lksb->sb_lkid = id;
    r->lksb->sb_status = EINPROG;
    fe_lock_hold(l);
    pthread_mutex_unlock(&fe_mu);

    nst = rdlm_lock(ls->n, (int)r->mode, &l->nsb, nflags | (wait ? RDLM_LKF_WAIT : 0), r->name,
                    r->namelen, fe_native_ast, (void *)(uintptr_t)id,
                    r->bast ? fe_native_bast : NULL, &ext);

    pthread_mutex_lock(&fe_mu);
    if (wait ? !is_outcome(nst) : nst != RDLM_OK) /* refused: no outcome, no AST will come */
        rc = refused(l, r, &b, nst);
    else
        rc = wait ? finish_sync(l, r, nst) : 0;
    if (r->detach_lksb && l->ulksb == r->lksb)
        l->ulksb = NULL;
    fe_lock_put(l);
    pthread_mutex_unlock(&fe_mu);
    return rc;
}
