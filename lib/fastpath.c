/*
 * lib/fastpath.c - the one-sided fast path (docs/protocol.md sections 2 and 4): an
 * uncontended lock, conversion or unlock is one RDMA compare-and-swap on the master's lock
 * word, decided here from the word's counts with the VMS compatibility table; with VALBLK a
 * READ of the LVB record chained behind the CAS (a grant that reads) or a WRITE before the
 * releasing CAS (a PW/EX holder that publishes), one round trip either way. It runs in the
 * caller's thread, under the handle's mutex, and returns FAST_NOT_TAKEN whenever the master
 * must decide: SLOW set, not grantable (unless NOQUEUE proves it at once), a counter full, a
 * flag the counts cannot honour, or more than CAS_TRIES changed words (never spin on a hot
 * word).
 */
#include "lib/client.h"

#include <string.h>

#include "common/modes.h"
#include "master/engine.h"

#define CAS_TRIES     3
#define OP_TIMEOUT_MS 10000

/* Flags whose meaning the counts honour when the queues are empty. */
#define FAST_FLAGS                                                                                 \
    (RDLM_LKF_NOQUEUE | RDLM_LKF_CONVERT | RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK | RDLM_LKF_QUECVT | \
     RDLM_LKF_HEADQUE | RDLM_LKF_NOORDER | RDLM_LKF_EXPEDITE | RDLM_LKF_CONVDEADLK |               \
     RDLM_LKF_NODLCKWT | RDLM_LKF_NODLCKBLK | RDLM_LKF_TIMEOUT)
#define FAST_UNLOCK_FLAGS                                                                          \
    (RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK | RDLM_LKF_FORCEUNLOCK | RDLM_LKF_WAIT)

enum lvb_io { IO_NONE, IO_READ, IO_WRITE_ALL, IO_WRITE_STATUS };

static bool usable(const struct cres *r)
{
    return r->parent == 0 && r->slot != LW_NO_SLOT && r->cc && r->cc->ready && !r->cc->failed &&
           r->slot < r->cc->nslots;
}

/* The slot now belongs to another resource (its gen changed): forget it; the master will
 * give a new one at the next two-sided request. */
static bool slot_moved(struct cres *r, uint64_t expected, uint64_t seen)
{
    if (lw_gen(expected) == lw_gen(seen))
        return false;
    r->slot = LW_NO_SLOT;
    return true;
}

/* Prepare the LVB record to WRITE (in the registered scratch buffer). */
static void stage_record(struct rdlm_ls *ls, const struct clock *l, enum lvb_io io)
{
    struct lvb_record *rec = (struct lvb_record *)ls->scratch;

    memset(rec, 0, sizeof(*rec));
    if (io == IO_WRITE_STATUS) {
        rec->status = LVBR_INVALID;
        return;
    }
    rec->seq = l->lvbseq + 1;
    rec->status = LVBR_VALID;
    memcpy(rec->value, l->lksb->lvb, RDLM_LVB_LEN);
}

/* One CAS (with its LVB I/O) on r's word; returns 0 and *old, or -1 if the op failed. */
static int post_cas(struct rdlm_ls *ls, struct cres *r, uint64_t expect, uint64_t swap,
                    enum lvb_io io, uint64_t *old)
{
    struct cconn *cc = r->cc;
    uint64_t woff = (uint64_t)r->slot * sizeof(uint64_t);
    uint64_t loff = (uint64_t)r->slot * sizeof(struct lvb_record);
    uint64_t cookie = ++ls->reqids;
    struct rt_completion done;
    int rc;

    switch (io) {
    case IO_READ:
        rc = rt_cas_read(cc->conn, &cc->words, woff, expect, swap, ls->scratch_mr, 0, &cc->lvbs,
                         loff, sizeof(struct lvb_record), cookie);
        break;
    case IO_WRITE_ALL:
        rc = rt_write_cas(cc->conn, ls->scratch_mr, 0, &cc->lvbs, loff, sizeof(struct lvb_record),
                          &cc->words, woff, expect, swap, cookie);
        break;
    case IO_WRITE_STATUS: /* only the status byte: value and sequence stay */
        rc = rt_write_cas(cc->conn, ls->scratch_mr, offsetof(struct lvb_record, status), &cc->lvbs,
                          loff + offsetof(struct lvb_record, status), 1, &cc->words, woff, expect,
                          swap, cookie);
        break;
    default:
        rc = rt_cas(cc->conn, &cc->words, woff, expect, swap, cookie);
    }
    if (rc < 0 || rt_wait_op(ls->ctx, cc->conn, cookie, &done, OP_TIMEOUT_MS) < 0 ||
        done.status != RT_OK)
        return -1;
    *old = done.old;
    return 0;
}

/* post_cas with the lock's LVB write, remembering that the write landed whatever the CAS did
 * (the two-sided fallback then tells the master not to write it again). */
static int post_lock_cas(struct rdlm_ls *ls, struct clock *l, uint64_t expect, uint64_t swap,
                         enum lvb_io io, uint64_t *old)
{
    int rc = post_cas(ls, l->res, expect, swap, io, old);

    if (rc == 0 && (io == IO_WRITE_ALL || io == IO_WRITE_STATUS))
        l->lvb_prewritten = true;
    return rc;
}

static void complete_locally(struct rdlm_ls *ls, struct clock *l, uint8_t op, uint8_t status,
                             int mode, enum lvb_io io)
{
    const struct lvb_record *rec = (const struct lvb_record *)ls->scratch;
    struct msg_complete c = {
        .lkid = l->lkid, .op = op, .status = status, .mode = (int8_t)mode, .slot = LW_NO_SLOT};

    if (io == IO_READ && rec->status != LVBR_NONE) {
        c.lvb_read = 1;
        c.lvbseq = rec->seq;
        memcpy(c.lvb, rec->value, RDLM_LVB_LEN);
        if (rec->status == LVBR_INVALID)
            c.sbflags |= RDLM_SBF_VALNOTVALID;
    }
    lock_complete(ls, l, &c);
    if (io == IO_WRITE_ALL) { /* we published it: we know its sequence while writers wait */
        l->lvbseq++;
        l->lvbseq_known = mode >= RDLM_MODE_CW;
    } else if (io == IO_WRITE_STATUS) {
        l->lvbseq_known = false;
    }
}

/* The LVB I/O a grant from own to mode needs, or -1 if the fast path cannot do it. */
static int request_io(const struct clock *l, int own, int mode, uint32_t flags)
{
    int op = rdlm_lvbop[own + 1][mode];

    if (op == RDLM_LVB_WRITE && (flags & RDLM_LKF_IVVALBLK))
        return IO_WRITE_STATUS;
    if (!(flags & RDLM_LKF_VALBLK) || op == RDLM_LVB_NOP)
        return IO_NONE;
    if (op == RDLM_LVB_READ)
        return mode >= RDLM_MODE_CW ? IO_READ : -1; /* NL/CR may overlap a writer */
    return l->lvbseq_known && l->lksb && l->lksb->lvb ? IO_WRITE_ALL : -1;
}

int fast_request(struct rdlm_ls *ls, struct clock *l, int mode, uint32_t flags, const uint8_t *lvb)
{
    struct cres *r = l->res;
    bool conv = flags & RDLM_LKF_CONVERT;
    int own = conv ? l->grmode : RDLM_MODE_IV;
    int io = request_io(l, own, mode, flags);
    uint64_t w = r->word, nw, old;

    (void)lvb;
    if ((flags & ~FAST_FLAGS) || l->group || !usable(r) || io < 0)
        return FAST_NOT_TAKEN;
    if (io == IO_WRITE_ALL || io == IO_WRITE_STATUS)
        stage_record(ls, l, (enum lvb_io)io);
    for (int tries = 0; tries < CAS_TRIES; tries++) {
        bool fits = !lw_slow(w) && (!conv || lw_sub(w, own, &nw));
        if (!fits)
            return FAST_NOT_TAKEN;
        if (!conv)
            nw = w;
        if (!lw_compatible(w, mode, own, rdlm_compat)) {
            if (!(flags & RDLM_LKF_NOQUEUE))
                return FAST_NOT_TAKEN;
            /* Prove it on the real word: a CAS that changes nothing returns it. */
            if (post_cas(ls, r, w, w, IO_NONE, &old) < 0)
                return FAST_NOT_TAKEN;
            if (old == w) {
                complete_locally(ls, l, ENG_OP_REQUEST, RDLM_E_NOTQUEUED, own, IO_NONE);
                return FAST_DONE;
            }
            if (slot_moved(r, w, old))
                return FAST_NOT_TAKEN;
            w = r->word = old;
            continue;
        }
        if (!lw_add(nw, mode, &nw) || post_lock_cas(ls, l, w, nw, (enum lvb_io)io, &old) < 0)
            return FAST_NOT_TAKEN;
        if (old == w) {
            l->lvb_prewritten = false;
            r->word = nw;
            ls->stats.fast_grants++;
            complete_locally(ls, l, ENG_OP_REQUEST, RDLM_OK, mode, (enum lvb_io)io);
            return FAST_DONE;
        }
        ls->stats.cas_retries++;
        if (slot_moved(r, w, old))
            return FAST_NOT_TAKEN;
        w = r->word = old;
    }
    return FAST_NOT_TAKEN;
}

int fast_unlock(struct rdlm_ls *ls, struct clock *l, uint32_t flags)
{
    struct cres *r = l->res;
    enum lvb_io io = IO_NONE;
    uint64_t w = r->word, nw, old;

    if ((flags & ~FAST_UNLOCK_FLAGS) || l->group || !usable(r) || l->grmode == RDLM_MODE_IV)
        return FAST_NOT_TAKEN;
    if (l->grmode >= RDLM_MODE_PW && (flags & RDLM_LKF_IVVALBLK))
        io = IO_WRITE_STATUS;
    else if (l->grmode >= RDLM_MODE_PW && (flags & RDLM_LKF_VALBLK)) {
        if (!l->lvbseq_known || !l->lksb || !l->lksb->lvb)
            return FAST_NOT_TAKEN;
        io = IO_WRITE_ALL;
    }
    if (io != IO_NONE)
        stage_record(ls, l, io);
    for (int tries = 0; tries < CAS_TRIES; tries++) {
        if (lw_slow(w) || !lw_sub(w, l->grmode, &nw) || post_lock_cas(ls, l, w, nw, io, &old) < 0)
            return FAST_NOT_TAKEN;
        if (old == w) {
            l->lvb_prewritten = false;
            r->word = nw;
            ls->stats.fast_unlocks++;
            complete_locally(ls, l, ENG_OP_UNLOCK, RDLM_E_UNLOCKED, RDLM_MODE_IV, IO_NONE);
            return FAST_DONE;
        }
        ls->stats.cas_retries++;
        if (slot_moved(r, w, old))
            return FAST_NOT_TAKEN;
        w = r->word = old;
    }
    return FAST_NOT_TAKEN;
}
