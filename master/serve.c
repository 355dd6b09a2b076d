/*
 * master/serve.c - the master's answer to REQUEST, UNLOCK and CANCEL (docs/protocol.md
 * section 4). A FAST resource is served from its lock word's counts when that grants the
 * request (the queues are empty, so "compatible" is exactly the VMS rule); anything that must
 * queue or needs a per-lock record turns the resource SLOW (transition.c). A SLOW resource,
 * and every sub-resource, is served by the lock engine, whose actions are routed here to the
 * clients holding the locks, and whose counts and LVB are mirrored into the slot.
 */
#include "master/daemon.h"

#include <stdlib.h>
#include <string.h>

#include "common/modes.h"

/* Flags the counts can serve; any other flag needs a record in the engine. */
#define COUNTS_OK_FLAGS                                                                            \
    (RDLM_LKF_NOQUEUE | RDLM_LKF_CONVERT | RDLM_LKF_VALBLK | RDLM_LKF_QUECVT | RDLM_LKF_IVVALBLK | \
     RDLM_LKF_CONVDEADLK | RDLM_LKF_NODLCKWT | RDLM_LKF_NODLCKBLK | RDLM_LKF_EXPEDITE |            \
     RDLM_LKF_HEADQUE | RDLM_LKF_NOORDER | RDLM_LKF_TIMEOUT | RDLM_LKF_NOQUEUEBAST |               \
     RDLM_LKF_ALTPR | RDLM_LKF_ALTCW | RDLM_LKF_WAIT)
#define CAS_TRIES 16

struct eng_owner client_owner(const struct mclient *c, uint64_t group)
{
    if (group)
        return (struct eng_owner){ENG_OWNER_GROUP, c->hello.node, group};
    return (struct eng_owner){ENG_OWNER_PROCESS, c->hello.node, c->owner_id};
}

static bool engine_knows(struct mls *ls, uint64_t lkid)
{
    struct eng_lock_info info;

    return eng_query_lock(ls->e, lkid, &info) == RDLM_OK;
}

/* Fill the slot part of a completion for resource r. */
static void complete_slot(struct shard *s, const struct mres *r, struct msg_complete *c)
{
    c->slot = LW_NO_SLOT;
    if (r && r->slot != LW_NO_SLOT) {
        c->slot = r->slot;
        c->word = word_load(s, r->slot);
    }
}

static void send_completion(struct shard *s, struct mclient *c, const struct msg_complete *mc)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_COMPLETE;
    m.hdr.ls = c->ls ? c->ls->id : 0;
    m.u.complete = *mc;
    s->stats.completions++;
    send_msg(s, c, &m);
}

static void park_msg(struct shard *s, struct mres *r, struct mclient *c, const struct proto_msg *m)
{
    struct proto_msg copy = *m;
    uint8_t buf[PROTO_MAX_MSG];
    int len = proto_encode(&copy, buf, sizeof(buf));

    if (len > 0)
        transition_park(s, r, c->id, buf, (uint32_t)len);
}

/* ---- the engine path ---- */

/* The root resource of a lock the engine just granted (so its completion carries the slot). */
static struct mres *lock_root(struct mls *ls, const struct eng_action *a)
{
    struct eng_lock_info li;

    if (a->mode == RDLM_MODE_IV || eng_query_lock(ls->e, a->lkid, &li) != RDLM_OK || li.parent_lkid)
        return NULL;
    return mres_find(ls, li.name, li.namelen);
}

/* Send the engine's actions to the clients of the locks they concern. r/lkid: the request
 * being served, whose completion also carries the slot. */
static void route_actions(struct shard *s, struct mls *ls, const struct mres *r, uint64_t lkid)
{
    for (size_t i = 0; i < s->acts.n; i++) {
        const struct eng_action *a = &s->acts.v[i];
        uint64_t cid;
        struct mclient *c;

        if (a->kind == ENG_ACT_LVB || !u64map_get(&s->lock_client, a->lkid, &cid))
            continue;
        c = client_by_id(s, (uint32_t)cid);
        if (a->kind == ENG_ACT_BAST && c) {
            struct proto_msg m = {0};
            m.hdr.type = MSG_BAST;
            m.hdr.ls = ls->id;
            m.u.bast = (struct msg_bast){a->lkid, a->mode, a->hint};
            s->stats.basts++;
            send_msg(s, c, &m);
        } else if (a->kind == ENG_ACT_COMPLETE) {
            struct msg_complete mc = {
                .lkid = a->lkid,
                .op = a->op,
                .status = a->status,
                .sbflags = a->sbflags,
                .lvb_read = a->lvb_read,
                .mode = a->mode,
                .lvbseq = a->lvbseq,
            };
            memcpy(mc.lvb, a->lvb, RDLM_LVB_LEN);
            if (a->op == ENG_OP_REQUEST && a->status == RDLM_OK)
                orphan_note_group(s, ls, a->lkid); /* before the member can act on it */
            complete_slot(s, a->lkid == lkid ? r : lock_root(ls, a), &mc);
            if (c)
                send_completion(s, c, &mc);
            /* the lock ended (an ABORTED request is followed by its unlock's completion) */
            if ((a->mode == RDLM_MODE_IV && a->status != RDLM_E_ABORTED) || a->op == ENG_OP_UNLOCK)
                u64map_del(&s->lock_client, a->lkid);
        }
    }
    eng_actions_clear(&s->acts);
}

/* Send the ABORTED completion of lkid's pending request to client cid (not to the client that
 * unlocked it), and take it out of the actions. */
static void route_aborted_to(struct shard *s, uint64_t lkid, uint32_t cid)
{
    struct mclient *c = client_by_id(s, cid);

    for (size_t i = 0; i < s->acts.n; i++) {
        struct eng_action *a = &s->acts.v[i];
        if (a->kind != ENG_ACT_COMPLETE || a->lkid != lkid || a->op != ENG_OP_REQUEST)
            continue;
        if (c) {
            struct msg_complete mc = {.lkid = lkid,
                                      .op = a->op,
                                      .status = a->status,
                                      .sbflags = a->sbflags,
                                      .mode = a->mode};
            send_completion(s, c, &mc);
        }
        a->kind = ENG_ACT_LVB; /* handled: route_actions skips it */
    }
}

void serve_actions(struct shard *s, struct mls *ls)
{
    route_actions(s, ls, NULL, 0);
}

/* Mirror a SLOW resource's engine state into its slot: counts (SLOW kept) and the LVB. */
void serve_sync_word(struct shard *s, struct mres *r)
{
    struct eng_res_info info;
    uint64_t w, word;

    if (r->slot == LW_NO_SLOT || r->state != RS_SLOW)
        return;
    w = word_load(s, r->slot);
    word = lw_make(lw_gen(w), true);
    if (eng_query_res(r->ls->e, 0, r->name, r->namelen, &info) == RDLM_OK) {
        for (int m = RDLM_MODE_NL; m <= RDLM_MODE_EX; m++)
            for (uint32_t k = 0; k < info.granted_per_mode[m]; k++)
                if (!lw_add(word, m, &word))
                    break; /* saturated: stays SLOW (transition_maybe_fast checks) */
        if (info.lvb_status != ENG_LVB_NONE) {
            struct lvb_record *rec = &s->lvbs[r->slot];
            rec->seq = info.lvbseq;
            rec->status = info.lvb_status == ENG_LVB_VALID ? LVBR_VALID : LVBR_INVALID;
            memcpy(rec->value, info.lvb, RDLM_LVB_LEN);
        }
    }
    word_set(s, r->slot, word);
}

static void after_engine(struct shard *s, struct mres *r)
{
    if (!r)
        return;
    serve_sync_word(s, r);
    transition_maybe_fast(s, r);
}

/* An adoption ends an orphan: its keeper hears of it. */
static int adopt_or_request(struct shard *s, struct mls *ls, const struct eng_req *er)
{
    struct orphan_watch w;
    int st;

    if (!(er->flags & RDLM_LKF_ORPHAN))
        return eng_request(ls->e, er, &s->acts);
    orphan_watch_begin(ls, &w);
    st = eng_request(ls->e, er, &s->acts);
    orphan_watch_end(s, ls, &w);
    return st;
}

static void engine_request(struct shard *s, struct mclient *c, struct mres *r,
                           const struct msg_request *q)
{
    struct mls *ls = c->ls;
    bool conv = q->flags & RDLM_LKF_CONVERT;
    struct eng_req er = {
        .lkid = q->lkid,
        .parent_lkid = q->parent,
        .name = q->name.bytes,
        .namelen = q->name.len,
        .mode = q->mode,
        .flags = q->flags & ~RDLM_LKF_WAIT,
        .owner = client_owner(c, q->group),
        .xid = q->xid,
        .timeout_cs = q->timeout_cs,
        .rd_id = q->rd_id,
        .hint = q->hint,
        .has_bast = q->has_bast,
        .lvb = (q->flags & RDLM_LKF_VALBLK) ? q->lvb : NULL,
    };
    int st;

    if (q->lvb_written) { /* the record has it already: the engine loaded it from there */
        er.flags &= ~(RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK);
        er.lvb = NULL;
    }
    s->stats.engine_ops++;
    if (!conv && u64map_put(&s->lock_client, q->lkid, c->id) < 0) {
        send_complete(s, c, q->lkid, ENG_OP_REQUEST, RDLM_E_NOMEM, RDLM_MODE_IV);
        return;
    }
    st = adopt_or_request(s, ls, &er);
    if (st != RDLM_OK) {
        if (!conv)
            u64map_del(&s->lock_client, q->lkid);
        send_complete(s, c, q->lkid, ENG_OP_REQUEST, (uint8_t)st, conv ? q->grmode : RDLM_MODE_IV);
    } else if (conv) {
        u64map_put(&s->lock_client, q->lkid, c->id); /* the converter gets its completions */
    }
    route_actions(s, ls, r, q->lkid);
    if (st == RDLM_OK)
        deadlock_note_wait(s, ls, q->lkid); /* if it queued: when its wait began */
    after_engine(s, r);
}

/* ---- the counts path (FAST resources) ---- */

static void read_lvb(struct shard *s, const struct mres *r, struct msg_complete *mc)
{
    const struct lvb_record *rec = &s->lvbs[r->slot];

    if (rec->status == LVBR_NONE)
        return;
    mc->lvb_read = 1;
    mc->lvbseq = rec->seq;
    memcpy(mc->lvb, rec->value, RDLM_LVB_LEN);
}

static void write_lvb(struct shard *s, const struct mres *r, uint32_t flags, const uint8_t *lvb)
{
    struct lvb_record *rec = &s->lvbs[r->slot];

    if (flags & RDLM_LKF_IVVALBLK) {
        rec->status = LVBR_INVALID;
    } else if (flags & RDLM_LKF_VALBLK) {
        memcpy(rec->value, lvb, RDLM_LVB_LEN);
        rec->seq++;
        rec->status = LVBR_VALID;
    }
}

enum { COUNTS_SERVED, COUNTS_NEED_SLOW, COUNTS_BOGUS };

/*
 * Move r's word from w to nw. With an LVB write (wflags has VALBLK or IVVALBLK), clients are
 * locked out for it: SLOW is set by CAS first, the record written, then the new counts stored
 * with SLOW clear, so no client can be granted and read the record before it is written.
 */
static bool counts_commit(struct shard *s, struct mres *r, uint64_t w, uint64_t nw, uint32_t wflags,
                          const uint8_t *lvb)
{
    if (!(wflags & (RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK)))
        return word_cas(s, r->slot, w, nw);
    if (!word_cas(s, r->slot, w, w | LW_SLOW))
        return false;
    write_lvb(s, r, wflags, lvb);
    word_set(s, r->slot, nw);
    return true;
}

/* Serve q from r's counts if that is the VMS answer; else COUNTS_NEED_SLOW. */
static int counts_request(struct shard *s, struct mclient *c, struct mres *r,
                          const struct msg_request *q)
{
    bool conv = q->flags & RDLM_LKF_CONVERT;
    int own = conv ? q->grmode : RDLM_MODE_IV;
    int op = rdlm_lvbop[own + 1][q->mode];
    struct msg_complete mc = {.lkid = q->lkid, .op = ENG_OP_REQUEST};

    if ((q->flags & ~COUNTS_OK_FLAGS) || q->group || q->xid) /* xid: the deadlock owner */
        return COUNTS_NEED_SLOW;
    if (conv && own < RDLM_MODE_NL)
        return COUNTS_BOGUS;
    for (int tries = 0; tries < CAS_TRIES; tries++) {
        uint64_t w = word_load(s, r->slot), nw = w;
        if (lw_slow(w))
            return COUNTS_NEED_SLOW;
        if (conv && !lw_sub(w, own, &nw))
            return COUNTS_BOGUS;
        if ((q->flags & RDLM_LKF_VALBLK) && op == RDLM_LVB_READ &&
            (lw_count(w, RDLM_MODE_PW) || lw_count(w, RDLM_MODE_EX)) && own < RDLM_MODE_PW)
            return COUNTS_NEED_SLOW; /* a writer may be writing the record */
        if (!lw_compatible(w, q->mode, own, rdlm_compat)) {
            if ((q->flags & RDLM_LKF_NOQUEUE) && !(q->flags & RDLM_LKF_NOQUEUEBAST)) {
                mc.status = RDLM_E_NOTQUEUED;
                mc.mode = (int8_t)own;
                complete_slot(s, r, &mc);
                send_completion(s, c, &mc);
                return COUNTS_SERVED;
            }
            return COUNTS_NEED_SLOW;
        }
        if (!lw_add(nw, q->mode, &nw))
            return COUNTS_NEED_SLOW; /* counter full */
        if (!counts_commit(s, r, w, nw, op == RDLM_LVB_WRITE && !q->lvb_written ? q->flags : 0,
                           q->lvb))
            continue;
        mc.status = RDLM_OK;
        mc.mode = q->mode;
        if ((q->flags & RDLM_LKF_VALBLK) && op == RDLM_LVB_READ)
            read_lvb(s, r, &mc);
        if ((q->flags & RDLM_LKF_VALBLK) && s->lvbs[r->slot].status == LVBR_INVALID)
            mc.sbflags |= RDLM_SBF_VALNOTVALID;
        complete_slot(s, r, &mc);
        s->stats.fast_served++;
        send_completion(s, c, &mc);
        return COUNTS_SERVED;
    }
    return COUNTS_NEED_SLOW;
}

static int counts_unlock(struct shard *s, struct mclient *c, struct mres *r,
                         const struct msg_unlock *u)
{
    uint32_t wflags = u->grmode >= RDLM_MODE_PW && !u->lvb_written ? u->flags : 0;

    if (u->grmode < RDLM_MODE_NL)
        return COUNTS_BOGUS;
    for (int tries = 0; tries < CAS_TRIES; tries++) {
        uint64_t w = word_load(s, r->slot), nw;
        if (lw_slow(w))
            return COUNTS_NEED_SLOW;
        if (!lw_sub(w, u->grmode, &nw))
            return COUNTS_BOGUS;
        if (!counts_commit(s, r, w, nw, wflags, u->lvb))
            continue;
        s->stats.fast_served++;
        send_complete(s, c, u->lkid, ENG_OP_UNLOCK, RDLM_E_UNLOCKED, RDLM_MODE_IV);
        return COUNTS_SERVED;
    }
    return COUNTS_NEED_SLOW;
}

/* ---- REQUEST ---- */

static bool check_ls(struct shard *s, struct mclient *c, const struct proto_msg *m, uint64_t lkid,
                     uint8_t op)
{
    if (c->ls && m->hdr.ls == c->ls->id)
        return true;
    send_complete(s, c, lkid, op, RDLM_E_NOTCONN, RDLM_MODE_IV);
    return false;
}

/* A new sublock whose parent lock the engine does not know: the parent was granted on the
 * one-sided fast path of its root resource. Move that resource off the fast path (its
 * holders report their locks) and park the request behind it; true if parked. */
static bool parent_on_fast_path(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_request *q = &m->u.request;
    struct mres *r;

    if (engine_knows(c->ls, q->parent) || !q->root.len)
        return false;
    r = mres_find(c->ls, q->root.bytes, q->root.len);
    if (!r || r->state == RS_SLOW)
        return false; /* the engine answers: no such parent */
    park_msg(s, r, c, m);
    if (r->state == RS_FAST)
        transition_start(s, r);
    return true;
}

void serve_request(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_request *q = &m->u.request;
    bool conv = q->flags & RDLM_LKF_CONVERT;
    struct mres *r;
    int rc;

    if (!check_ls(s, c, m, q->lkid, ENG_OP_REQUEST))
        return;
    if (recover_hold_request(s, c, m))
        return;
    s->stats.requests++;
    if (q->parent && !conv && parent_on_fast_path(s, c, m))
        return;
    if (q->parent || (conv && engine_knows(c->ls, q->lkid))) {
        r = q->parent ? NULL : mres_find(c->ls, q->name.bytes, q->name.len);
        engine_request(s, c, r, q);
        return;
    }
    r = conv ? mres_find(c->ls, q->name.bytes, q->name.len)
             : mres_get(s, c->ls, q->name.bytes, q->name.len);
    if (conv && q->group && r && r->state == RS_FAST)
        r = NULL; /* a group lock is never a count in the word: this one ended */
    if (!r) {
        send_complete(s, c, q->lkid, ENG_OP_REQUEST, conv ? RDLM_E_NOLOCK : RDLM_E_NOMEM,
                      conv ? q->grmode : RDLM_MODE_IV);
        return;
    }
    mres_add_interest(r, c->id);
    switch (r->state) {
    case RS_TRANSITION:
        park_msg(s, r, c, m);
        return;
    case RS_SLOW:
        if (conv) { /* a conversion of a lock the engine does not hold: stale */
            send_complete(s, c, q->lkid, ENG_OP_REQUEST, RDLM_E_NOLOCK, q->grmode);
            return;
        }
        engine_request(s, c, r, q);
        return;
    }
    rc = counts_request(s, c, r, q);
    if (rc == COUNTS_BOGUS) {
        send_complete(s, c, q->lkid, ENG_OP_REQUEST, RDLM_E_NOLOCK, q->grmode);
    } else if (rc == COUNTS_NEED_SLOW) {
        park_msg(s, r, c, m);
        transition_start(s, r);
    }
}

/* ---- UNLOCK ---- */

static void engine_unlock(struct shard *s, struct mclient *c, struct mres *r,
                          const struct msg_unlock *u)
{
    uint32_t flags = u->flags & ~RDLM_LKF_WAIT;
    uint64_t requester;
    int st;

    if (u->lvb_written) /* as in engine_request */
        flags &= ~(RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK);
    s->stats.engine_ops++;
    if (!u64map_get(&s->lock_client, u->lkid, &requester))
        requester = c->id;
    u64map_put(&s->lock_client, u->lkid, c->id);
    st = eng_unlock(c->ls->e, u->lkid, flags, (flags & RDLM_LKF_VALBLK) ? u->lvb : NULL, &s->acts);
    if (st != RDLM_OK)
        send_complete(s, c, u->lkid, ENG_OP_UNLOCK, (uint8_t)st, u->grmode);
    if (requester != c->id) /* a group lock another member was requesting: it gets the ABORTED */
        route_aborted_to(s, u->lkid, (uint32_t)requester);
    route_actions(s, c->ls, r, u->lkid);
    after_engine(s, r);
}

void serve_unlock(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_unlock *u = &m->u.unlock;
    struct mres *r;

    if (!check_ls(s, c, m, u->lkid, ENG_OP_UNLOCK))
        return;
    if (recover_hold_unlock(s, c, m))
        return;
    s->stats.requests++;
    r = u->parent ? NULL : mres_find(c->ls, u->name.bytes, u->name.len);
    if (engine_knows(c->ls, u->lkid)) {
        engine_unlock(s, c, r, u);
        return;
    }
    /* a group lock is never a count in the word: one the engine does not know ended */
    if (!r || r->state == RS_SLOW || (u->group && r->state == RS_FAST)) {
        send_complete(s, c, u->lkid, ENG_OP_UNLOCK, RDLM_E_NOLOCK, u->grmode);
        return;
    }
    if (r->state == RS_TRANSITION) {
        park_msg(s, r, c, m);
        return;
    }
    switch (counts_unlock(s, c, r, u)) {
    case COUNTS_BOGUS:
        send_complete(s, c, u->lkid, ENG_OP_UNLOCK, RDLM_E_NOLOCK, u->grmode);
        break;
    case COUNTS_NEED_SLOW: /* the word is SLOW, or clients' CASes kept winning: the engine */
        park_msg(s, r, c, m);
        transition_start(s, r);
        break;
    }
}

/* ---- CANCEL ---- */

/* r is in TRANSITION with a parked request for lkid. */
static bool parked_in(const struct mres *r, uint64_t lkid)
{
    if (!r || r->state != RS_TRANSITION)
        return false;
    for (const struct parked *p = r->parked_head; p; p = p->next) {
        struct proto_msg pm;
        if (proto_decode(p->bytes, p->len, &pm) == 0 && pm.hdr.type == MSG_REQUEST &&
            pm.u.request.lkid == lkid)
            return true;
    }
    return false;
}

/* The TRANSITION resource with a parked request for lkid, if any. */
static struct mres *parked_with(struct mls *ls, uint64_t lkid)
{
    for (uint32_t b = 0; b < ls->nbuckets; b++)
        for (struct mres *r = ls->buckets[b]; r; r = r->hnext)
            if (parked_in(r, lkid))
                return r;
    return NULL;
}

/* m asks about lkid, whose request is parked (its resource is in TRANSITION): park m behind
 * it, so that it is answered once the request is known. false if lkid has no parked request. */
bool serve_park_behind(struct shard *s, struct mclient *c, const struct proto_msg *m, uint64_t lkid)
{
    struct mres *r = c->ls ? parked_with(c->ls, lkid) : NULL;

    if (r)
        park_msg(s, r, c, m);
    return r != NULL;
}

void serve_cancel(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_cancel *k = &m->u.cancel;
    struct eng_lock_info info;
    struct mres *r = NULL;
    int st;

    if (!c->ls || m->hdr.ls != c->ls->id) {
        send_reply(s, c, m->hdr.reqid, RDLM_E_NOTCONN, NULL, 0);
        return;
    }
    if (eng_query_lock(c->ls->e, k->lkid, &info) != RDLM_OK) {
        r = parked_with(c->ls, k->lkid);
        if (r)
            park_msg(s, r, c, m);
        else if (!recover_hold_cancel(s, c, m))
            send_reply(s, c, m->hdr.reqid, RDLM_E_CANCELGRANT, NULL, 0);
        return;
    }
    if (!info.parent_lkid)
        r = mres_find(c->ls, info.name, info.namelen);
    if (parked_in(r, k->lkid)) { /* a conversion behind a transition: answered once it is known */
        park_msg(s, r, c, m);
        return;
    }
    st = k->deadlock ? eng_cancel_deadlock(c->ls->e, k->lkid, &s->acts)
                     : eng_cancel(c->ls->e, k->lkid, k->flags, &s->acts);
    send_reply(s, c, m->hdr.reqid, (uint8_t)st, NULL, 0);
    route_actions(s, c->ls, NULL, 0);
    after_engine(s, r);
}

/* ---- clients leaving, time passing ---- */

void serve_settle(struct shard *s, struct mls *ls)
{
    serve_actions(s, ls);
    for (uint32_t b = 0; b < ls->nbuckets; b++)
        for (struct mres *r = ls->buckets[b], *next; r; r = next) {
            next = r->hnext;
            if (r->state == RS_SLOW)
                after_engine(s, r);
        }
}

/* The owner's locks in ls are released (PERSISTENT ones become orphans, whose keepers hear). */
void serve_purge_owner(struct shard *s, struct mls *ls, const struct eng_owner *owner)
{
    struct orphan_watch w;

    orphan_watch_begin(ls, &w);
    eng_purge_owner(ls->e, owner, &s->acts);
    orphan_watch_end(s, ls, &w);
    serve_settle(s, ls);
}

void serve_client_gone(struct shard *s, struct mclient *c)
{
    struct eng_owner owner = client_owner(c, 0);
    size_t pos = 0;
    uint64_t lkid, cid;

    mres_drop_client(s, c->id);
    while (u64map_next(&s->lock_client, &pos, &lkid, &cid))
        if (cid == c->id) {
            u64map_del(&s->lock_client, lkid);
            pos = 0; /* deletion shifts entries: restart */
        }
    if (c->ls)
        serve_purge_owner(s, c->ls, &owner);
}

void serve_tick(struct shard *s, uint64_t now)
{
    uint64_t cs = (now - s->start_ns) / 10000000ull;

    for (struct mls *ls = s->lss; ls; ls = ls->next) {
        eng_advance_time(ls->e, cs, &s->acts);
        if (s->acts.n)
            serve_settle(s, ls);
    }
}
