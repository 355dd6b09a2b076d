/*
 * lib/tcdlm/callback.c - what a native completion or blocking callback does to a lock record.
 * The native callbacks get the record's front-end id (tcdlm_int.h); they update the record
 * under tc_mu and hand the program's routine to notify.c with the outcome captured then.
 *
 * A request that an unlock dequeued (l->aborting) completes with DLM_ABORT. The native status
 * block holds the outcome of the lock's last operation, and the unlock's own completion may
 * have overwritten the request's by the time this runs: anything but a grant is reported as
 * DLM_ABORT. A conversion that is not granted (cancelled, timed out, not queued, deadlock)
 * gives the lock back the routines and parameters the conversion replaced.
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <stdlib.h>
#include <string.h>

dlm_status_t tc_request_done(struct tc_lock *l, int nst, uint8_t sbflags, bool *ended)
{
    *ended = false;
    l->op = TC_IDLE;
    if (nst == RDLM_OK) {
        l->grmode = l->rqmode;
        if (l->read_vb && l->uvalb)
            memcpy(l->uvalb, l->vb, sizeof(*l->uvalb));
        l->read_vb = false;
        l->uvalb = NULL;
        return (sbflags & RDLM_SBF_VALNOTVALID) ? DLM_SUCCVALNOTVALID : DLM_SUCCESS;
    }
    l->read_vb = false;
    l->uvalb = NULL;
    if (l->grmode == RDLM_MODE_IV) { /* a new lock that was not granted no longer exists */
        tc_lock_end(l);
        *ended = true;
    } else {
        l->cur = l->old;
        l->rqmode = l->grmode;
    }
    return tc_status(nst);
}

static struct tc_item *completion_item(const struct tc_lock *l)
{
    struct tc_item *it = calloc(1, sizeof(*it));

    if (!it)
        return NULL;
    it->id = l->id;
    tc_lkid_set(&it->lkid, l->nsb.lkid);
    it->notprm = l->cur.notprm;
    it->cplrtn = l->cur.cplrtn;
    return it;
}

/* The completion of a request an unlock dequeued. */
static void aborted(struct tc_lock *l, struct tc_item *it)
{
    bool granted = l->nsb.status == RDLM_OK;

    it->status = granted ? DLM_SUCCESS : DLM_ABORT;
    if (granted && l->read_vb && l->uvalb)
        memcpy(l->uvalb, l->vb, sizeof(*l->uvalb));
    l->aborting = false;
    l->read_vb = false;
    l->uvalb = NULL;
    if (l->unlocked) /* the unlock finished first: nobody else will end it */
        tc_lock_end(l);
}

void tc_native_ast(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    struct tc_lock *l;
    struct tc_item *it = NULL;
    bool ended;

    pthread_mutex_lock(&tc_mu);
    l = tc_lock_by_id(id);
    if (l && !l->lkid)
        l->lkid = l->nsb.lkid; /* the routine may use it before the request call returned */
    if (l && l->op != TC_IDLE && !l->sync)
        it = completion_item(l);
    if (it && l->aborting)
        aborted(l, it);
    else if (it)
        it->status = tc_request_done(l, l->nsb.status, l->nsb.sbflags, &ended);
    pthread_mutex_unlock(&tc_mu);
    if (it && it->cplrtn)
        tc_deliver(it);
    else
        free(it);
}

void tc_native_bast(void *arg, int mode, uint64_t hint)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    struct tc_lock *l;
    struct tc_item *it = NULL;

    pthread_mutex_lock(&tc_mu);
    l = tc_lock_by_id(id);
    if (l && !l->lkid)
        l->lkid = l->nsb.lkid;
    if (l && l->cur.blkrtn && (it = calloc(1, sizeof(*it)))) {
        it->blocking = true;
        it->id = id;
        tc_lkid_set(&it->lkid, l->lkid);
        it->notprm = l->cur.notprm;
        it->hint = (callback_arg_t)hint;
        it->blkrtn = l->cur.blkrtn;
        it->mode = (dlm_lkmode_t)(mode + 1);
    }
    pthread_mutex_unlock(&tc_mu);
    if (it)
        tc_deliver(it);
}
