/*
 * lib/libdlm/complete.c - what a native completion or blocking AST does to a lock record.
 * The native callbacks get the libdlm lock id as their argument (never a pointer: a record
 * may have ended meanwhile), update the record, and queue the program's AST on its lockspace
 * (deliver.c). A completion of a pending request ended by a force unlock (native ABORTED) is
 * not reported: libdlm reports only the EUNLOCK that follows. A request completion that a
 * dlm_unlock_wait(LKF_CANCEL) caller waits for goes to that caller instead of the AST.
 *
 * The native status block holds the outcome of the lock's last operation. Only a force unlock
 * may overlap a request; if its completion overwrites the request's before this file reads
 * it, the lock ends with the EUNLOCK alone.
 */
#include "lib/libdlm/libdlm_int.h"

#include <stdlib.h>
#include <string.h>

/* The mode a request of l was granted in: its own, or the alternate (as the engine picks it,
 * docs/engine.md section 3) when the completion says ALTMODE. */
static int8_t granted_mode(const struct fe_lock *l, uint8_t sbflags)
{
    if (!(sbflags & RDLM_SBF_ALTMODE))
        return l->rqmode;
    if ((l->rqflags & RDLM_LKF_ALTPR) && l->rqmode != RDLM_MODE_PR)
        return RDLM_MODE_PR;
    return RDLM_MODE_CW;
}

int fe_request_done(struct fe_lock *l, int nst, uint8_t sbflags, bool *deliver)
{
    l->ncomp++;
    *deliver = true;
    if (nst == RDLM_E_ABORTED) {
        *deliver = false;
    } else {
        if (l->op == FE_REQUEST)
            l->op = FE_IDLE;
        if (nst == RDLM_OK)
            l->grmode = granted_mode(l, sbflags);
        else if (l->grmode == RDLM_MODE_IV && l->op != FE_UNLOCK)
            fe_lock_end(l); /* a new lock that was not granted no longer exists */
        else if (sbflags & RDLM_SBF_DEMOTED)
            l->grmode = RDLM_MODE_NL;
    }
    l->last_status = fe_errno(nst);
    pthread_cond_broadcast(&fe_cv);
    return l->last_status;
}

static bool is_unlock_completion(const struct fe_lock *l, int nst)
{
    return nst == RDLM_E_UNLOCKED ||
           (l->op == FE_UNLOCK && (nst == RDLM_E_NOLOCK || nst == RDLM_E_NOTCONN));
}

void fe_native_ast(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    struct fe_lock *l;
    struct fe_ls *ls;
    struct fe_item *it;
    int nst, status;
    bool deliver = true;

    pthread_mutex_lock(&fe_mu);
    l = fe_lock_find(id);
    if (!l || !l->ls || !(it = calloc(1, sizeof(*it)))) {
        pthread_mutex_unlock(&fe_mu);
        return;
    }
    fe_lock_hold(l);
    ls = l->ls;
    nst = l->nsb.status;
    it->lkid = id;
    it->fn = l->ast;
    it->arg = l->astarg;
    it->lksb = l->ulksb;
    it->sbflags = l->nsb.sbflags;
    it->lvb_read = l->nsb.lvbseq != FE_NO_SEQ && l->has_klvb;
    memcpy(it->lvb, l->klvb, DLM_LVB_LEN);
    l->nsb.lvbseq = FE_NO_SEQ;
    if (is_unlock_completion(l, nst)) {
        status = fe_errno(nst);
        fe_lock_end(l);
    } else {
        status = fe_request_done(l, nst, l->nsb.sbflags, &deliver);
        if (l->cancel_waiters) /* the canceller takes this completion */
            deliver = false;
    }
    it->status = status;
    if (deliver)
        fe_queue(ls, it);
    else
        free(it);
    fe_lock_put(l);
    pthread_mutex_unlock(&fe_mu);
}

void fe_native_bast(void *arg, int mode, uint64_t hint)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    struct fe_lock *l;
    struct fe_item *it;

    (void)mode; /* a libdlm blocking AST gets only its argument */
    (void)hint;
    pthread_mutex_lock(&fe_mu);
    l = fe_lock_find(id);
    if (l && l->ls && l->bast && (it = calloc(1, sizeof(*it)))) {
        it->blocking = true;
        it->lkid = id;
        it->fn = l->bast;
        it->arg = l->bastarg;
        fe_queue(l->ls, it);
    }
    pthread_mutex_unlock(&fe_mu);
}
