/*
 * lib/libdlm/unlock.c - dlm_unlock and its variants (unlock, force unlock, cancel) and
 * dlm_ls_deadlock_cancel.
 *
 * Unlock: the completion (sb_status EUNLOCK) goes to the lock's last completion AST, with
 * astarg and lksb replaced when the call gives them. With LKF_VALBLK a PW/EX lock writes "the
 * kernel's copy" of the LVB - the value last read or last passed to a lock call - never the
 * buffer at the time of the unlock (spec D.1); a lock that never used VALBLK writes nothing.
 * Errors: EINVAL (lkid 0, flags, CANCEL with FORCEUNLOCK), ENOENT (no such lock),
 * EINPROGRESS (already being unlocked), EBUSY (a request is in flight; FORCEUNLOCK overrides).
 *
 * Cancel (LKF_CANCEL): a pending request or conversion ends with ECANCEL (a conversion keeps
 * its granted mode); nothing pending (the grant won the race) returns 0 and no AST comes. The
 * _wait variant waits for that completion and returns 0 for EUNLOCK (or a grant that won),
 * else -1 with errno = sb_status (ECANCEL for a cancel that worked).
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>

static int fail(int err)
{
    errno = err;
    return -1;
}

/* Wait (under fe_mu) until l's request completion number seq+1 arrived; its errno form. */
static int wait_request(struct fe_lock *l, uint32_t seq)
{
    l->cancel_waiters++;
    while (l->ncomp == seq && !l->gone)
        pthread_cond_wait(&fe_cv, &fe_mu);
    l->cancel_waiters--;
    return l->ncomp == seq ? ECANCEL : l->last_status;
}

static int do_cancel(struct fe_ls *ls, struct fe_lock *l, struct dlm_lksb *lksb, void *astarg,
                     bool sync)
{
    uint32_t seq = l->ncomp;
    struct dlm_lksb *prev_lksb = l->ulksb;
    void *prev_astarg = l->astarg;
    int nst, status;

    if (l->op == FE_UNLOCK)
        return fail(EBUSY);
    if (l->op == FE_IDLE) /* nothing to cancel: the grant is the only completion */
        return 0;
    if (astarg)
        l->astarg = astarg;
    if (lksb)
        l->ulksb = lksb;
    if (sync)
        l->cancel_waiters++; /* from now on the completion is ours, not the AST's */
    fe_lock_hold(l);
    pthread_mutex_unlock(&fe_mu);
    nst = rdlm_cancel(ls->n, l->nsb.lkid, RDLM_LKF_CANCELWAITOK);
    pthread_mutex_lock(&fe_mu);
    if (sync)
        l->cancel_waiters--;
    if (nst != RDLM_OK && nst != RDLM_E_CANCELGRANT) { /* refused: as it was */
        l->ulksb = prev_lksb;
        l->astarg = prev_astarg;
        fe_lock_put(l);
        return fail(fe_errno(nst));
    }
    if (!sync) {
        fe_lock_put(l);
        return 0;
    }
    status = wait_request(l, seq);
    fe_apply(lksb ? lksb : l->ulksb, l->id, status, l->nsb.sbflags, false, NULL);
    fe_lock_put(l);
    return status ? fail(status) : 0;
}

static int do_unlock(struct fe_ls *ls, struct fe_lock *l, uint32_t flags, struct dlm_lksb *lksb,
                     void *astarg, bool sync)
{
    uint32_t nflags = flags & (LKF_VALBLK | LKF_IVVALBLK | LKF_FORCEUNLOCK);
    struct dlm_lksb *sb, *prev_lksb = l->ulksb;
    void *prev_astarg = l->astarg;
    uint8_t prev_op = l->op;
    int nst, old_status = 0;

    if (l->op == FE_UNLOCK)
        return fail(EINPROGRESS);
    if (l->op == FE_REQUEST && !(flags & LKF_FORCEUNLOCK))
        return fail(EBUSY);
    if (astarg)
        l->astarg = astarg;
    if (lksb)
        l->ulksb = lksb;
    sb = l->ulksb;
    if (!l->has_klvb)
        nflags &= ~LKF_VALBLK; /* no kernel copy: Linux writes nothing */
    l->nsb.lvb = l->has_klvb ? l->klvb : NULL;
    l->op = FE_UNLOCK;
    if (sb) {
        old_status = sb->sb_status;
        sb->sb_status = EINPROG;
    }
    fe_lock_hold(l);
    pthread_mutex_unlock(&fe_mu);
    nst = rdlm_unlock(ls->n, l->nsb.lkid, nflags | (sync ? RDLM_LKF_WAIT : 0), NULL, NULL);
    pthread_mutex_lock(&fe_mu);
    if (sync && nst == RDLM_E_UNLOCKED) {
        fe_apply(sb, l->id, EUNLOCK, 0, false, NULL);
        fe_lock_end(l);
        fe_lock_put(l);
        return 0;
    }
    if (nst != RDLM_OK || sync) { /* refused (or, synchronous, failed) */
        if (l->op == FE_UNLOCK)
            l->op = prev_op;
        if (nst == RDLM_E_NOLOCK)
            fe_lock_end(l);
        if (sb)
            sb->sb_status = old_status;
        l->ulksb = prev_lksb;
        l->astarg = prev_astarg;
        fe_lock_put(l);
        return fail(fe_errno(nst == RDLM_OK ? RDLM_E_NOTCONN : nst));
    }
    fe_lock_put(l);
    return 0;
}

static int unlock_common(struct fe_ls *ls, uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb,
                         void *astarg, bool sync)
{
    struct fe_lock *l;
    int err, rc;

    pthread_mutex_lock(&fe_mu);
    if (!fe_ls_valid(ls)) {
        pthread_mutex_unlock(&fe_mu);
        return fail(ENOTCONN);
    }
    err = fe_check_unlock(lkid, flags);
    if (err) {
        pthread_mutex_unlock(&fe_mu);
        return fail(err);
    }
    sync = sync || (flags & LKF_WAIT);
    l = fe_lock_find(lkid);
    if (!l || l->ls != ls)
        rc = fail(ENOENT);
    else if (flags & LKF_CANCEL)
        rc = do_cancel(ls, l, lksb, astarg, sync);
    else
        rc = do_unlock(ls, l, flags, lksb, astarg, sync);
    pthread_mutex_unlock(&fe_mu);
    return rc;
}

int fe_unlock(struct fe_ls *ls, uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb, void *astarg,
              bool sync)
{
    int saved = errno, rc = unlock_common(ls, lkid, flags, lksb, astarg, sync);

    if (rc == 0)
        errno = saved;
    return rc;
}

int dlm_ls_unlock(dlm_lshandle_t ls, uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb,
                  void *astarg)
{
    return fe_unlock(ls, lkid, flags, lksb, astarg, false);
}

int dlm_ls_unlock_wait(dlm_lshandle_t ls, uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb)
{
    return fe_unlock(ls, lkid, flags, lksb, NULL, true);
}

int dlm_unlock(uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb, void *astarg)
{
    return fe_unlock(fe_default_if_open(), lkid, flags, lksb, astarg, false);
}

int dlm_unlock_wait(uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb)
{
    return fe_unlock(fe_default_if_open(), lkid, flags, lksb, NULL, true);
}

/* Cancel a request chosen as a deadlock victim: it completes with EDEADLK. Nothing pending:
 * 0 and no AST. flags are checked like an unlock's. */
int dlm_ls_deadlock_cancel(dlm_lshandle_t handle, uint32_t lkid, uint32_t flags)
{
    struct fe_ls *ls = handle;
    struct fe_lock *l;
    int err, nst;

    pthread_mutex_lock(&fe_mu);
    if (!fe_ls_valid(ls)) {
        pthread_mutex_unlock(&fe_mu);
        return fail(ENOTCONN);
    }
    err = (flags & LKF_WAIT) ? EINVAL : fe_check_unlock(lkid, flags);
    l = err ? NULL : fe_lock_find(lkid);
    if (err || !l || l->ls != ls || l->op != FE_REQUEST) {
        pthread_mutex_unlock(&fe_mu);
        return err ? fail(err) : (!l || l->ls != ls) ? fail(ENOENT) : 0;
    }
    fe_lock_hold(l);
    pthread_mutex_unlock(&fe_mu);
    nst = rdlm_deadlock_cancel(ls->n, l->nsb.lkid);
    pthread_mutex_lock(&fe_mu);
    fe_lock_put(l);
    pthread_mutex_unlock(&fe_mu);
    if (nst != RDLM_OK && nst != RDLM_E_CANCELGRANT)
        return fail(fe_errno(nst));
    return 0;
}
