/*
 * lib/lock.c - rdlm_lock, rdlm_unlock, rdlm_cancel and rdlm_deadlock_cancel: argument
 * validation (the engine's own checks, so both ends agree), the choice between the one-sided
 * fast path (fastpath.c) and a message to the master, and what happens when a completion or
 * blocking AST arrives (lock_complete, lock_bast).
 *
 * Exactly one completion per request: a fast-path outcome is completed here in the caller's
 * thread; any other arrives as one COMPLETE from the master. A synchronous call (WAIT) takes
 * its own completion; an asynchronous one gets it through the completion callback.
 */
#include "lib/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "common/modes.h"
#include "master/engine.h"

#define SYNC_TIMEOUT_MS         (-1)
#define CANCEL_RECOVERY_WAIT_NS (30ull * 1000 * 1000 * 1000)

struct clock *lock_find(struct rdlm_ls *ls, uint64_t lkid)
{
    uint64_t v;

    return u64map_get(&ls->locks, lkid, &v) ? (struct clock *)(uintptr_t)v : NULL;
}

void lock_free(struct rdlm_ls *ls, struct clock *l)
{
    glc_lock_ended(ls, l);
    u64map_del(&ls->locks, l->lkid);
    cres_put(ls, l->res);
    free(l);
}

static int send_unlock(struct rdlm_ls *ls, struct clock *l, uint32_t flags);

/* ---- completions and blocking ASTs from the master (or the fast path) ---- */

static void fill_lksb(struct clock *l, const struct msg_complete *c)
{
    struct rdlm_lksb *sb = l->lksb;

    if (!sb)
        return;
    sb->status = c->status;
    sb->sbflags = c->sbflags;
    if (l->demoted && c->op == ENG_OP_REQUEST)
        sb->sbflags |= RDLM_SBF_DEMOTED;
    sb->lkid = l->lkid;
    if (c->lvb_read && sb->lvb) {
        memcpy(sb->lvb, c->lvb, RDLM_LVB_LEN);
        sb->lvbseq = c->lvbseq;
    }
}

/* What this lock last read (or, going down from PW/EX, wrote) of the LVB: a new master
 * rebuilds the value from these (recover.c). */
static void keep_lvb_copy(struct clock *l, const struct msg_complete *c)
{
    if (c->lvb_read) {
        memcpy(l->lvb_copy, c->lvb, RDLM_LVB_LEN);
        l->lvb_copy_seq = c->lvbseq;
        l->has_lvb_copy = true;
    } else if (l->grmode >= RDLM_MODE_PW && c->mode < l->grmode && l->lksb && l->lksb->lvb) {
        memcpy(l->lvb_copy, l->lksb->lvb, RDLM_LVB_LEN);
        l->lvb_copy_seq++;
        l->has_lvb_copy = true;
    }
}

void lock_complete(struct rdlm_ls *ls, struct clock *l, const struct msg_complete *c)
{
    bool gone;
    bool for_waiter = l->sync && l->sync_op == c->op;

    if (client_trace())
        fprintf(stderr, "rdlm %d: complete %016lx op %u %s mode %s%s\n", getpid(),
                (unsigned long)l->lkid, c->op, rdlm_status_str(c->status), rdlm_mode_str(c->mode),
                c->slot != LW_NO_SLOT ? " (slot)" : "");

    fill_lksb(l, c);
    if (c->op == ENG_OP_REQUEST)
        l->demoted = false;
    l->last_status = c->status;
    if (c->op == ENG_OP_REQUEST && c->status == RDLM_OK && (l->flags & RDLM_LKF_VALBLK))
        keep_lvb_copy(l, c);
    if (c->slot != LW_NO_SLOT && l->res->parent == 0) {
        l->res->slot = c->slot;
        l->res->word = c->word;
    }
    if (c->op == ENG_OP_REQUEST) {
        l->grmode = c->mode;
        l->rqmode = c->mode;
        l->pending = l->unlocking; /* a force unlock may still be on its way */
        if (c->lvb_read) {
            l->lvbseq = c->lvbseq;
            l->lvbseq_known = true;
        } else if (c->status == RDLM_OK && (l->flags & RDLM_LKF_VALBLK)) {
            l->lvbseq_known = false;
        }
        /* The sequence stays known only while the lock keeps every writer out (CW and up are
         * incompatible with PW/EX): at NL/CR, or demoted to NL meanwhile, a PW/EX holder may
         * publish, and a later fast-path write must not reuse the old sequence. */
        if (c->mode < RDLM_MODE_CW || (c->sbflags & RDLM_SBF_DEMOTED))
            l->lvbseq_known = false;
        gone = c->mode == RDLM_MODE_IV && !l->unlocking;
    } else {
        /* A force unlock of a pending request that the master granted from the lock word's
         * counts, before the unlock arrived: the unlock (sent with the old mode) found nothing
         * to release, and the grant reached us since. Send it again with the granted mode. */
        if (c->status == RDLM_E_NOLOCK && l->grmode != RDLM_MODE_IV &&
            l->grmode != l->unlock_grmode && send_unlock(ls, l, l->unlock_flags) == 0)
            return;
        l->pending = false;
        l->unlocking = false;
        gone = c->status == RDLM_E_UNLOCKED || c->status == RDLM_E_NOLOCK ||
               c->status == RDLM_E_NOTCONN;
    }
    if (gone) /* until its waiter frees it, a hold report must not count it */
        l->grmode = l->rqmode = RDLM_MODE_IV;
    if (for_waiter) {
        l->done = true;
        l->free_after = gone;
        wake_waiters(ls);
        return;
    }
    if (l->ast)
        ast_queue_completion(ls, l->ast, l->astarg);
    if (gone)
        lock_free(ls, l);
}

void lock_bast(struct rdlm_ls *ls, const struct msg_bast *b)
{
    struct clock *l = lock_find(ls, b->lkid);

    if (l && l->bast && l->grmode != RDLM_MODE_IV)
        ast_queue_blocking(ls, l->bast, l->astarg, b->mode, b->hint);
}

/* ---- sending to the master ---- */

static int send_request(struct rdlm_ls *ls, struct clock *l, int mode, uint32_t flags,
                        const struct rdlm_lock_ext *ext)
{
    struct proto_msg m = {0};
    struct msg_request *q = &m.u.request;

    m.hdr.type = MSG_REQUEST;
    q->lkid = l->lkid;
    q->parent = l->res->parent;
    q->xid = ext ? ext->xid : 0;
    q->hint = l->hint;
    q->group = l->group;
    q->timeout_cs = ext ? ext->timeout_cs : 0;
    q->rd_id = ext ? ext->rd_id : 0;
    q->flags = flags;
    q->mode = (int8_t)mode;
    q->grmode = l->grmode;
    q->has_bast = l->bast != NULL;
    q->lvb_written = l->lvb_prewritten;
    l->lvb_prewritten = false;
    q->name.len = l->res->namelen;
    memcpy(q->name.bytes, l->res->name, l->res->namelen);
    if (l->res->parent) {
        const struct clock *p = lock_find(ls, l->res->parent);
        if (p && !p->res->parent) {
            q->root.len = p->res->namelen;
            memcpy(q->root.bytes, p->res->name, p->res->namelen);
        }
    }
    /* the caller's LVB travels only when this request writes it (a PW/EX holder converting
     * down); a read leaves the caller's buffer to be filled */
    if ((flags & RDLM_LKF_VALBLK) && l->lksb && l->lksb->lvb &&
        rdlm_lvbop[l->grmode + 1][mode] == RDLM_LVB_WRITE)
        memcpy(q->lvb, l->lksb->lvb, RDLM_LVB_LEN);
    ls->stats.two_sided++;
    return conn_send(ls, l->res->cc, &m);
}

static int send_unlock(struct rdlm_ls *ls, struct clock *l, uint32_t flags)
{
    struct proto_msg m = {0};
    struct msg_unlock *u = &m.u.unlock;

    m.hdr.type = MSG_UNLOCK;
    u->lkid = l->lkid;
    u->parent = l->res->parent;
    u->flags = flags & ~RDLM_LKF_WAIT;
    u->grmode = l->grmode;
    u->group = l->group;
    l->unlock_grmode = l->grmode;
    l->unlock_flags = flags;
    u->lvb_written = l->lvb_prewritten;
    l->lvb_prewritten = false;
    u->name.len = l->res->namelen;
    memcpy(u->name.bytes, l->res->name, l->res->namelen);
    if ((flags & RDLM_LKF_VALBLK) && l->lksb && l->lksb->lvb)
        memcpy(u->lvb, l->lksb->lvb, RDLM_LVB_LEN);
    ls->stats.two_sided++;
    return conn_send(ls, l->res->cc, &m);
}

/* The lock's master is unreachable but the handle stands: a view will say where it went. */
bool lost_master(const struct rdlm_ls *ls, const struct clock *l)
{
    return !ls->broken && (!l->res->cc || l->res->cc->failed);
}

/* recover.c: the pending request of l, again, to its resource's new master. */
int resend_request(struct rdlm_ls *ls, struct clock *l)
{
    struct rdlm_lock_ext ext = {.xid = l->xid, .timeout_cs = l->timeout_cs, .rd_id = l->rd_id};

    l->resent++;
    return send_request(ls, l, l->rqmode, l->flags, &ext);
}

/* Wait for the synchronous operation op on l; returns its status and frees l if it ended. */
static int wait_sync(struct rdlm_ls *ls, struct clock *l, uint8_t op)
{
    int status;

    l->sync = true;
    l->sync_op = op;
    l->done = false;
    wait_until(ls, &l->done, SYNC_TIMEOUT_MS);
    status = l->lksb ? l->lksb->status : l->last_status;
    l->sync = false;
    if (l->free_after)
        lock_free(ls, l);
    return status;
}

/* Claim the completion of a fast-path attempt of op on l for this thread. */
static void claim_completion(struct clock *l, uint8_t op)
{
    l->sync = true;
    l->sync_op = op;
    l->done = false;
    l->free_after = false;
}

/* A fast-path attempt completed in this thread: deliver it as the caller asked. */
static int finish_fast(struct rdlm_ls *ls, struct clock *l, uint32_t flags)
{
    int st = l->lksb ? l->lksb->status : RDLM_OK;
    bool gone = l->free_after;

    l->sync = false;
    if (!(flags & RDLM_LKF_WAIT) && l->ast)
        ast_queue_completion(ls, l->ast, l->astarg);
    if (gone)
        lock_free(ls, l);
    return (flags & RDLM_LKF_WAIT) ? st : RDLM_OK;
}

/* ---- rdlm_lock ---- */

static int check_request(const struct rdlm_ls *ls, int mode, const struct rdlm_lksb *lksb,
                         uint32_t flags, const void *name, unsigned namelen, rdlm_ast_fn ast,
                         const struct rdlm_lock_ext *ext)
{
    struct eng_req q = {
        .mode = (int8_t)(mode >= -128 && mode <= 127 ? mode : -1),
        .flags = flags & ~RDLM_LKF_WAIT,
        .timeout_cs = ext ? ext->timeout_cs : 0,
        .rd_id = ext ? ext->rd_id : 0,
        .lvb = lksb ? lksb->lvb : NULL,
    };
    int st;

    if (!ls || !lksb || (!(flags & RDLM_LKF_WAIT) && !ast) || mode < RDLM_MODE_NL ||
        mode > RDLM_MODE_EX)
        return RDLM_E_INVAL;
    st = eng_validate_request(&q);
    if (st)
        return st;
    if (flags & RDLM_LKF_CONVERT)
        return RDLM_OK;
    if (ext && ext->group && ext->group != rdlm_glc_current())
        return RDLM_E_NOTATTACHED; /* group locks are for the container we are attached to */
    if (namelen == 0 || namelen > RDLM_RESNAME_MAXLEN)
        return RDLM_E_NAMELEN;
    return name ? RDLM_OK : RDLM_E_INVAL;
}

/* The lock lkid of this handle, or a group lock of our container another member made. */
static struct clock *find_or_import(struct rdlm_ls *ls, uint64_t lkid)
{
    struct clock *l = lock_find(ls, lkid);

    return l ? l : glc_import(ls, lkid);
}

static int prepare_convert(struct rdlm_ls *ls, const struct rdlm_lksb *lksb, struct clock **out)
{
    struct clock *l = find_or_import(ls, lksb->lkid);

    *out = l;
    if (!l)
        return RDLM_E_NOLOCK;
    if (l->pending || l->sync)
        return RDLM_E_BUSY;
    if (l->grmode == RDLM_MODE_IV)
        return RDLM_E_NOTGRANTED;
    return RDLM_OK;
}

static int prepare_new(struct rdlm_ls *ls, const void *name, unsigned namelen,
                       const struct rdlm_lock_ext *ext, struct clock **out)
{
    struct clock *parent = NULL;
    struct clock *l;

    *out = NULL;
    if (ext && ext->parent) {
        parent = lock_find(ls, ext->parent);
        if (!parent)
            return RDLM_E_NOLOCK;
    }
    l = calloc(1, sizeof(*l));
    if (!l)
        return RDLM_E_NOMEM;
    l->res = cres_get(ls, parent ? parent->lkid : 0, name, namelen);
    if (l->res && parent)
        l->res->cc = parent->res->cc;
    if (!l->res || !l->res->cc) {
        if (l->res)
            cres_put(ls, l->res);
        free(l);
        return RDLM_E_NOTCONN;
    }
    l->lkid = client_new_lkid(ls);
    l->grmode = l->rqmode = RDLM_MODE_IV;
    if (u64map_put(&ls->locks, l->lkid, (uint64_t)(uintptr_t)l) < 0) {
        cres_put(ls, l->res);
        free(l);
        return RDLM_E_NOMEM;
    }
    *out = l;
    return RDLM_OK;
}

static int do_lock(struct rdlm_ls *ls, int mode, struct rdlm_lksb *lksb, uint32_t flags,
                   const void *name, unsigned namelen, rdlm_ast_fn ast, void *astarg,
                   rdlm_bast_fn bast, const struct rdlm_lock_ext *ext)
{
    bool conv = flags & RDLM_LKF_CONVERT;
    struct clock *l;
    int st = conv ? prepare_convert(ls, lksb, &l) : prepare_new(ls, name, namelen, ext, &l);

    if (st)
        return st;
    l->lksb = lksb;
    lksb->lkid = l->lkid;
    l->ast = ast;
    l->astarg = astarg;
    l->bast = bast;
    l->flags = flags & ~RDLM_LKF_WAIT;
    l->rqmode = (int8_t)mode;
    l->hint = ext ? ext->hint : 0;
    l->xid = ext ? ext->xid : 0;
    l->cancel_accepted = false;
    l->timeout_cs = ext ? ext->timeout_cs : 0;
    l->rd_id = ext ? ext->rd_id : 0;
    if (!conv) {
        l->group = ext ? ext->group : 0;
        l->persist_rd = (flags & RDLM_LKF_PERSIST_RES) && ext ? ext->rd_id : 0;
        st = glc_lock_register(ls, l); /* (waits for the home daemon: the mutex is released) */
        if (st) {
            lock_free(ls, l);
            return st;
        }
    }
    ls->stats.requests++;
    claim_completion(l, ENG_OP_REQUEST);
    if (ls->fastpath && !(ext && (ext->xid || ext->parent)) &&
        fast_request(ls, l, mode, l->flags, lksb->lvb) == FAST_DONE)
        return finish_fast(ls, l, flags);
    l->sync = false;
    l->pending = true;
    if (send_request(ls, l, mode, l->flags, ext) < 0) {
        if (lost_master(ls, l)) {
            l->resend = true; /* recover.c sends it again to the new master */
        } else {
            l->pending = false;
            if (!conv)
                lock_free(ls, l);
            return RDLM_E_NOTCONN;
        }
    }
    return (flags & RDLM_LKF_WAIT) ? wait_sync(ls, l, ENG_OP_REQUEST) : RDLM_OK;
}

int rdlm_lock(rdlm_ls *ls, int mode, struct rdlm_lksb *lksb, uint32_t flags, const void *name,
              unsigned namelen, rdlm_ast_fn ast, void *astarg, rdlm_bast_fn bast,
              const struct rdlm_lock_ext *ext)
{
    int st = check_request(ls, mode, lksb, flags, name, namelen, ast, ext);

    if (st)
        return st;
    atomic_fetch_add(&ls->busy, 1);
    pthread_mutex_lock(&ls->mu);
    st = ls->broken ? RDLM_E_NOTCONN
                    : do_lock(ls, mode, lksb, flags, name, namelen, ast, astarg, bast, ext);
    progress(ls, 0); /* what arrived meanwhile (a CONTENDED must not wait) */
    pthread_mutex_unlock(&ls->mu);
    atomic_fetch_sub(&ls->busy, 1);
    return st;
}

/* ---- rdlm_unlock ---- */

#define UNLOCK_FLAGS (RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK | RDLM_LKF_FORCEUNLOCK | RDLM_LKF_WAIT)

static int do_unlock(struct rdlm_ls *ls, uint64_t lkid, uint32_t flags, struct rdlm_lksb *lksb,
                     void *astarg)
{
    struct clock *l = find_or_import(ls, lkid);

    if (!l)
        return RDLM_E_NOLOCK;
    if (l->unlocking || l->sync || (l->pending && !(flags & RDLM_LKF_FORCEUNLOCK)))
        return RDLM_E_BUSY;
    if (lksb)
        l->lksb = lksb;
    if (astarg)
        l->astarg = astarg;
    if ((flags & RDLM_LKF_VALBLK) && !(l->lksb && l->lksb->lvb))
        return RDLM_E_INVAL;
    if (!(flags & RDLM_LKF_WAIT) && !l->ast)
        return RDLM_E_INVAL; /* nothing would report the outcome */
    l->unlocking = true;
    claim_completion(l, ENG_OP_UNLOCK);
    if (!l->pending && ls->fastpath && fast_unlock(ls, l, flags) == FAST_DONE)
        return finish_fast(ls, l, flags);
    l->sync = false;
    l->pending = true;
    if (send_unlock(ls, l, flags) < 0 && !lost_master(ls, l)) {
        l->unlocking = false;
        l->pending = false;
        return RDLM_E_NOTCONN;
    }
    return (flags & RDLM_LKF_WAIT) ? wait_sync(ls, l, ENG_OP_UNLOCK) : RDLM_OK;
}

int rdlm_unlock(rdlm_ls *ls, uint64_t lkid, uint32_t flags, struct rdlm_lksb *lksb, void *astarg)
{
    int st;

    if (!ls || (flags & ~UNLOCK_FLAGS))
        return RDLM_E_INVAL;
    atomic_fetch_add(&ls->busy, 1);
    pthread_mutex_lock(&ls->mu);
    st = ls->broken ? RDLM_E_NOTCONN : do_unlock(ls, lkid, flags, lksb, astarg);
    progress(ls, 0);
    pthread_mutex_unlock(&ls->mu);
    atomic_fetch_sub(&ls->busy, 1);
    return st;
}

/* ---- cancel ---- */

/* The master of l is lost: drive progress (recovery runs there) until a view has placed
 * the request on its new master and it was re-sent there (a recovery in another thread
 * lets this one run while it waits for replies), the request ended, or the wait passed. */
static void wait_for_new_master(struct rdlm_ls *ls, uint64_t lkid)
{
    uint64_t start = mono_ns();
    struct clock *l;
    bool never = false;

    while ((l = lock_find(ls, lkid)) && l->pending &&
           (lost_master(ls, l) || l->resend || ls->in_recovery) && !ls->broken &&
           mono_ns() - start < CANCEL_RECOVERY_WAIT_NS)
        wait_until(ls, &never, 10);
}

static int do_cancel(struct rdlm_ls *ls, uint64_t lkid, uint32_t flags, bool deadlock)
{
    struct clock *l = find_or_import(ls, lkid);
    struct proto_msg m = {0}, *reply;
    int st = RDLM_E_NOTCONN;
    uint32_t resent;

    if (!l)
        return RDLM_E_NOLOCK;
    if (!l->pending || l->unlocking)
        return RDLM_E_CANCELGRANT;
    reply = calloc(1, sizeof(*reply));
    if (!reply)
        return RDLM_E_NOMEM;
    m.hdr.type = MSG_CANCEL;
    m.u.cancel = (struct msg_cancel){lkid, flags, deadlock};
    /* The master may be lost before or while it answers: then the request is re-sent to its
     * new master by the recovery, and the cancel goes there (a grant that was already on its
     * way from the lost master wins: CANCELGRANT, as for any cancel that comes too late). An
     * answer read before the recovery but taken after it marked or re-sent the request came
     * from the lost master: what it accepted died with it, so the cancel goes again too. */
    for (int tries = 0; tries < 3; tries++) {
        wait_for_new_master(ls, lkid);
        l = lock_find(ls, lkid);
        if (!l || !l->pending || ls->broken)
            break;
        resent = l->resent;
        st = lost_master(ls, l) || request_reply(ls, l->res->cc, &m, reply, -1) < 0
                 ? RDLM_E_NOTCONN
                 : reply->u.reply.status;
        if ((l = lock_find(ls, lkid)) && l->pending && (l->resend || l->resent != resent))
            st = RDLM_E_NOTCONN; /* a lost master answered: the request lives on the new one */
        if (st != RDLM_E_NOTCONN)
            break;
    }
    free(reply);
    if (st == RDLM_E_NOTCONN && !ls->broken && (!(l = lock_find(ls, lkid)) || !l->pending))
        st = RDLM_E_CANCELGRANT; /* it completed meanwhile */
    if (st == RDLM_OK && (l = lock_find(ls, lkid)))
        l->cancel_accepted = true;
    return st;
}

int rdlm_cancel(rdlm_ls *ls, uint64_t lkid, uint32_t flags)
{
    int st;

    if (!ls || (flags & ~RDLM_LKF_CANCELWAITOK))
        return RDLM_E_INVAL;
    pthread_mutex_lock(&ls->mu);
    st = ls->broken ? RDLM_E_NOTCONN : do_cancel(ls, lkid, flags, false);
    pthread_mutex_unlock(&ls->mu);
    return st;
}

int rdlm_deadlock_cancel(rdlm_ls *ls, uint64_t lkid)
{
    int st;

    if (!ls)
        return RDLM_E_INVAL;
    pthread_mutex_lock(&ls->mu);
    st = ls->broken ? RDLM_E_NOTCONN : do_cancel(ls, lkid, 0, true);
    pthread_mutex_unlock(&ls->mu);
    return st;
}

/* rdlm_ls_close: force-unlock l synchronously, waiting a bounded time (mutex held). */
void do_unlock_for_close(struct rdlm_ls *ls, struct clock *l)
{
    uint32_t flags = RDLM_LKF_FORCEUNLOCK | RDLM_LKF_WAIT;

    l->unlocking = true;
    claim_completion(l, ENG_OP_UNLOCK);
    if (!l->pending && ls->fastpath && fast_unlock(ls, l, flags) == FAST_DONE) {
        finish_fast(ls, l, flags);
        return;
    }
    l->pending = true;
    if (send_unlock(ls, l, flags) < 0 || wait_until(ls, &l->done, 5000) < 0) {
        l->sync = false;
        return; /* the master purges it when the connection closes */
    }
    l->sync = false;
    if (l->free_after)
        lock_free(ls, l);
}
