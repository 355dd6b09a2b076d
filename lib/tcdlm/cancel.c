/*
 * lib/tcdlm/cancel.c - dlm_cancel: a converting request reverts to the granted mode; a
 * waiting one is dequeued only with DLM_CANCELWAITOK (else DLM_CANCELWAIT); a request already
 * granted: DLM_CANCELGRANT. The cancelled request's completion routine, or its synchronous
 * caller, gets DLM_CANCEL, and a cancelled conversion gives the lock back the routines it
 * replaced (callback.c).
 */
#include "lib/tcdlm/tcdlm_int.h"

static int cancel_op(struct tc_lock *l, rdlm_ls *ls, void *arg)
{
    return rdlm_cancel(ls, l->lkid, *(uint32_t *)arg);
}

static dlm_status_t do_cancel(const dlm_lkid_t *lkid_p, dlm_flags_t flags)
{
    uint64_t lkid;
    struct tc_lock *l;
    dlm_status_t st = DLM_SUCCESS;
    uint32_t nflags = (flags & DLM_CANCELWAITOK) ? RDLM_LKF_CANCELWAITOK : 0;
    int nst;

    if (!lkid_p || (flags & ~DLM_CANCELWAITOK))
        return DLM_BADPARAM;
    lkid = tc_lkid_native(lkid_p);
    pthread_mutex_lock(&tc_mu);
    l = tc_lock_by_lkid(lkid);
    if (!l)
        l = tc_glc_adopt(lkid);
    if (!tc_any_handle())
        st = DLM_NOTATTACHED;
    else if (!l)
        st = DLM_IVLOCKID;
    else if (l->op == TC_IDLE && !l->adopted)
        st = DLM_CANCELGRANT;
    else
        l->refs++;
    pthread_mutex_unlock(&tc_mu);
    if (st)
        return st;
    nst = tc_glc_route(l, cancel_op, &nflags);
    pthread_mutex_lock(&tc_mu);
    if (l->unrouted) /* an adopted lock no handle knows */
        tc_lock_end(l);
    tc_lock_put(l);
    pthread_mutex_unlock(&tc_mu);
    return tc_status(nst);
}

dlm_status_t dlm_cancel(dlm_lkid_t *lkid_p, dlm_flags_t flags)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_cancel(lkid_p, flags);
    tc_leave(&g);
    return st;
}
