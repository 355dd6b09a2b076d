/*
 * lib/tcdlm/unlock.c - dlm_unlock (synchronous, docs/tcdlm.md "Unlock and cancel"). A granted
 * lock is released (DLM_VALB writes the value block from PW/EX, DLM_INVVALBLK invalidates it);
 * a waiting or converting request is dequeued (cancelled, then the lock unlocked) and its
 * completion routine gets DLM_ABORT (callback.c); a lock with sublocks: DLM_SUBLOCKS. DLM_DEQALL
 * with lkid_p NULL releases every lock of the process in every namespace, sublocks first; group
 * locks belong to the container and stay.
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <string.h>
#include <time.h>

#define BUSY_RETRIES 5000 /* ms: a cancelled request's completion on its way */

/* Under tc_mu: take l for an unlock; *pending if a request of it is in flight. */
static dlm_status_t claim(struct tc_lock *l, const dlm_valb_t *valb_p, dlm_flags_t flags,
                          bool *pending)
{
    if (l->op == TC_UNLOCK)
        return DLM_LKBUSY;
    if (tc_has_children(l->lkid))
        return DLM_SUBLOCKS;
    *pending = l->op == TC_REQUEST || l->adopted;
    l->aborting = l->op == TC_REQUEST && !l->sync;
    l->op = TC_UNLOCK;
    if (flags & DLM_VALB)
        memcpy(l->vb, valb_p, sizeof(l->vb));
    l->refs++;
    return DLM_SUCCESS;
}

static int unlock_op(struct tc_lock *l, rdlm_ls *ls, void *arg)
{
    return rdlm_unlock(ls, l->lkid, *(uint32_t *)arg, &l->nsb, NULL);
}

static int cancel_op(struct tc_lock *l, rdlm_ls *ls, void *arg)
{
    (void)arg;
    return rdlm_cancel(ls, l->lkid, RDLM_LKF_CANCELWAITOK);
}

/* Under tc_mu: the native unlock ended with nst (dequeued: the request was cancelled first,
 * and ended with it). */
static dlm_status_t unlocked(struct tc_lock *l, bool was_pending, int nst, bool dequeued)
{
    dlm_status_t st = DLM_SUCCESS;

    if (nst == RDLM_E_UNLOCKED || nst == RDLM_OK || (dequeued && nst == RDLM_E_NOLOCK)) {
        if (l->aborting)
            l->unlocked = true; /* its request's completion ends it (callback.c) */
        else
            tc_lock_end(l);
    } else {
        l->op = was_pending && !l->adopted ? TC_REQUEST : TC_IDLE;
        l->aborting = false;
        st = tc_status(nst);
        if (l->unrouted || (l->adopted && nst == RDLM_E_NOLOCK)) /* no handle knows it */
            tc_lock_end(l);
    }
    tc_lock_put(l);
    return st;
}

/*
 * A request in flight is dequeued by cancelling it (its completion then reports DLM_ABORT,
 * callback.c), and the lock, granted or not by then, is unlocked once the native library has
 * its completion: a plain unlock answers BUSY until then. (A native force unlock is not used:
 * one that crosses a grant the master has just handed to the one-sided path is answered "no
 * such lock" and the lock stays held.)
 */
static int native_unlock(struct tc_lock *l, bool pending, uint32_t nflags, bool *dequeued)
{
    int nst;

    *dequeued = false;
    if (pending) {
        nst = tc_glc_route(l, cancel_op, NULL);
        *dequeued = nst == RDLM_OK;
    }
    nst = tc_glc_route(l, unlock_op, &nflags);
    for (int i = 0; pending && nst == RDLM_E_BUSY && i < BUSY_RETRIES; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        nst = tc_glc_route(l, unlock_op, &nflags);
    }
    return nst;
}

static dlm_status_t unlock_lkid(uint64_t lkid, const dlm_valb_t *valb_p, dlm_flags_t flags)
{
    struct tc_lock *l;
    dlm_status_t st;
    bool pending = false, dequeued;
    uint32_t nflags = RDLM_LKF_WAIT;
    int nst;

    pthread_mutex_lock(&tc_mu);
    l = tc_lock_by_lkid(lkid);
    if (!l)
        l = tc_glc_adopt(lkid);
    st = !tc_any_handle() ? DLM_NOTATTACHED : l ? claim(l, valb_p, flags, &pending) : DLM_IVLOCKID;
    pthread_mutex_unlock(&tc_mu);
    if (st)
        return st;
    if (flags & DLM_VALB)
        nflags |= RDLM_LKF_VALBLK;
    if (flags & DLM_INVVALBLK)
        nflags |= RDLM_LKF_IVVALBLK;
    nst = native_unlock(l, pending, nflags, &dequeued);
    pthread_mutex_lock(&tc_mu);
    st = unlocked(l, pending, nst, dequeued);
    pthread_mutex_unlock(&tc_mu);
    return st;
}

/* Under tc_mu: a lock of the process (not a group lock) without sublocks, not in tried[]. */
static uint64_t next_leaf(const uint64_t *tried, int ntried)
{
    for (struct tc_lock *l = tc_lock_first(); l; l = l->next) {
        bool skip = l->group || !l->lkid || l->op == TC_UNLOCK || tc_has_children(l->lkid);
        for (int i = 0; i < ntried && !skip; i++)
            skip = tried[i] == l->lkid;
        if (!skip)
            return l->lkid;
    }
    return 0;
}

static dlm_status_t deq_all(void)
{
    uint64_t tried[256];
    int ntried = 0;
    dlm_status_t first = DLM_SUCCESS;

    pthread_mutex_lock(&tc_mu);
    if (!tc_any_handle()) {
        pthread_mutex_unlock(&tc_mu);
        return DLM_NOTATTACHED;
    }
    for (;;) {
        uint64_t lkid = next_leaf(tried, ntried);
        dlm_status_t st;

        pthread_mutex_unlock(&tc_mu);
        if (!lkid)
            return first;
        st = unlock_lkid(lkid, NULL, 0);
        if (st && !first)
            first = st;
        pthread_mutex_lock(&tc_mu);
        if (st && ntried < 256)
            tried[ntried++] = lkid;
        else if (st)
            break;
    }
    pthread_mutex_unlock(&tc_mu);
    return first;
}

static dlm_status_t do_unlock(dlm_lkid_t *lkid_p, const dlm_valb_t *valb_p, dlm_flags_t flags)
{
    dlm_status_t st = tc_check_flags(flags, TC_UNLOCK_FLAGS, valb_p);

    if (st)
        return st;
    if (flags & DLM_DEQALL)
        return flags == DLM_DEQALL && !lkid_p ? deq_all() : DLM_BADPARAM;
    if (!lkid_p)
        return DLM_BADPARAM;
    return unlock_lkid(tc_lkid_native(lkid_p), valb_p, flags);
}

dlm_status_t dlm_unlock(dlm_lkid_t *lkid_p, dlm_valb_t *valb_p, dlm_flags_t flags)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_unlock(lkid_p, valb_p, flags);
    tc_leave(&g);
    return st;
}
