/*
 * master/recover.c - what a shard does when the membership view changes (docs/protocol.md
 * section 6): the resources whose master was lost are rebuilt on their new masters from the
 * reports of the clients that hold locks on them.
 *
 *   lost node ──► coordinator: view E (membership.c) ──► every daemon adopts E
 *   each shard:   closes the clients of nodes outside E (their locks are purged once E is
 *                 fenced: a lost node's processes are gone with it), and parks every request
 *                 for a resource
 *                 that E moved here until the barrier
 *   home shard 0: RECOVER(E) to each client handle whose home it is
 *   client:       RECOVER_LOCKS (its locks on each moved resource) + RECOVER_END to each new
 *                 master, waits for the REPLYs, then RECOVER_DONE(E) to its home
 *   home shard 0: the orphans it keeps for this node's dead processes reported likewise
 *                 (keeper.c: ORPHAN REPORT + END to each new master, which answers ENDED)
 *   home shard 0: all its home clients done (or gone), its orphans' reports confirmed
 *                 ──► done_epoch = E in its heartbeats
 *   each shard:   every member of E done ──► install the reported locks, set the LVB by the
 *                 Linux rules, replay the parked requests (the clients' re-sent requests
 *                 among them), resume
 *
 * Resources moved here are recognised without any directory: placed here by view E and
 * elsewhere by the last view this shard finished recovering (views only lose members, so a
 * resource never moves away from a live master). A request for a resource the shard's own
 * view does not place here comes from a client that already has a newer view: it waits in
 * the "future" list until the shard's view catches up.
 *
 * LVB of a rebuilt resource (Linux fs/dlm/recover.c recover_lvb): the value of a reported
 * PW/EX holder; else of the PR holder with the highest sequence; both valid. If only NL/CR
 * holders carried it, the value with the highest sequence, marked invalid. If no reported
 * lock carried it, none (as in Linux: the value died with the master).
 */
#include "master/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/placement.h"

#define FUTURE_KEEP_NS (10ull * 1000 * 1000 * 1000)

/* ---- placement under a view ---- */

struct rdlm_placement_target shard_place(const struct shard *s, uint64_t ls_id, uint64_t mask,
                                         const uint8_t *name, uint16_t len)
{
    const struct rdlm_cluster_config *cfg = &s->d->cfg;
    struct rdlm_member m[64];
    size_t n = cfg->nnodes < 64 ? cfg->nnodes : 64;

    for (size_t i = 0; i < n; i++) {
        m[i].node = cfg->nodes[i].id;
        m[i].shards = (mask & (1ull << i)) ? cfg->nodes[i].shards : 0;
    }
    return rdlm_place(m, n, ls_id, 0, name, len);
}

static struct rdlm_placement_target place(const struct shard *s, const struct mls *ls,
                                          uint64_t mask, const uint8_t *name, uint16_t len)
{
    return shard_place(s, ls->id, mask, name, len);
}

static bool placed_here(const struct shard *s, struct rdlm_placement_target t)
{
    return t.node == s->node && t.shard == s->index;
}

/* Placed here now, elsewhere before the view being recovered. */
static bool moved_here(const struct shard *s, const struct mls *ls, const uint8_t *name,
                       uint16_t len)
{
    return s->rec_active && placed_here(s, place(s, ls, s->masters, name, len)) &&
           !placed_here(s, place(s, ls, s->stable_mask, name, len));
}

/* ---- resources being rebuilt ---- */

static struct mres *rebuilding(struct shard *s, struct mls *ls, const uint8_t *name, uint16_t len)
{
    struct mres *r = mres_find(ls, name, len);

    if (r)
        return r->rec ? r : NULL;
    r = mres_get(s, ls, name, len);
    if (!r)
        return NULL;
    r->rec = calloc(1, sizeof(*r->rec));
    if (!r->rec) {
        mres_free(s, r);
        return NULL;
    }
    if (r->slot != LW_NO_SLOT) /* no client may CAS it before the barrier */
        word_set(s, r->slot, word_load(s, r->slot) | LW_SLOW);
    r->state = RS_TRANSITION;
    r->nholds = r->nawaiting = 0;
    s->stats.recovered_resources++;
    return r;
}

static void park_in(struct shard *s, struct mres *r, struct mclient *c, const struct proto_msg *m)
{
    struct proto_msg copy = *m;
    uint8_t buf[PROTO_MAX_MSG];
    int len = proto_encode(&copy, buf, sizeof(buf));

    if (len > 0)
        transition_park(s, r, c->id, buf, (uint32_t)len);
}

/* The Linux rules, one reported lock at a time. */
static void note_lvb(struct mres_rec *rec, const struct msg_reclock *l)
{
    bool take;

    if (!(l->flags & RDLM_LKF_VALBLK) || !l->has_lvb)
        return;
    if (l->mode >= RDLM_MODE_PW)
        take = !rec->ex;
    else if (l->mode == RDLM_MODE_PR)
        take = !rec->ex && (!rec->big || (int64_t)(l->lvbseq - rec->seq) > 0);
    else
        take = !rec->big && (!rec->have || (int64_t)(l->lvbseq - rec->seq) >= 0);
    rec->have = true;
    if (!take)
        return;
    rec->big |= l->mode >= RDLM_MODE_PR;
    rec->ex |= l->mode >= RDLM_MODE_PW;
    rec->seq = l->lvbseq;
    memcpy(rec->lvb, l->lvb, RDLM_LVB_LEN);
}

/* ---- messages from clients with a newer view ---- */

static void future_park(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    struct proto_msg copy = *m;
    uint8_t buf[PROTO_MAX_MSG];
    int len = proto_encode(&copy, buf, sizeof(buf));
    struct future_msg *f;

    if (len <= 0 || !(f = malloc(sizeof(*f) + (size_t)len)))
        return;
    f->next = NULL;
    f->client = c->id;
    f->since_ns = now_ns();
    f->len = (uint32_t)len;
    memcpy(f->bytes, buf, (size_t)len);
    if (s->future_tail)
        s->future_tail->next = f;
    else
        s->future_head = f;
    s->future_tail = f;
}

/* Requests kept longer than FUTURE_KEEP_NS: their view never came (a client configured with
 * other nodes, or a view that failed): they complete with NOTCONN, and a cancel is answered
 * NOTCONN. */
static void future_expire(struct shard *s, uint64_t now)
{
    struct future_msg *f;

    while ((f = s->future_head) && now - f->since_ns >= FUTURE_KEEP_NS) {
        struct mclient *c = client_by_id(s, f->client);
        struct proto_msg m;
        bool known = c && proto_decode(f->bytes, f->len, &m) == 0;
        s->future_head = f->next;
        if (!s->future_head)
            s->future_tail = NULL;
        if (known && m.hdr.type == MSG_REQUEST)
            send_complete(s, c, m.u.request.lkid, ENG_OP_REQUEST, RDLM_E_NOTCONN, RDLM_MODE_IV);
        else if (known && m.hdr.type == MSG_CANCEL) /* its caller waits for an answer */
            send_reply(s, c, m.hdr.reqid, RDLM_E_NOTCONN, NULL, 0);
        if (c)
            log_msg("shard %u: dropped a %s from %s: its view never came", s->index,
                    proto_type_name(f->bytes[3]), rt_conn_peer(c->conn));
        free(f);
    }
}

/* The shard's view moved: re-dispatch the list (a message still ahead parks again). */
static void future_replay(struct shard *s)
{
    struct future_msg *f = s->future_head;

    s->future_head = s->future_tail = NULL;
    while (f) {
        struct future_msg *next = f->next;
        struct mclient *c = client_by_id(s, f->client);
        if (c)
            shard_dispatch(s, c, f->bytes, f->len);
        free(f);
        f = next;
    }
}

/* ---- no quorum: grant nothing ---- */

/* Without quorum every REQUEST, UNLOCK and CANCEL waits (in the future list, so it fails
 * with NOTCONN if quorum does not come back in time); one-sided grants are stopped by SLOW
 * in every word (freeze). */
bool recover_frozen(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    if (!s->frozen)
        return false;
    future_park(s, c, m);
    return true;
}

static void freeze(struct shard *s)
{
    s->frozen = true;
    for (uint32_t slot = 0; slot < s->nslots; slot++)
        if (s->slot_res[slot] && s->slot_res[slot]->state == RS_FAST)
            word_set(s, slot, word_load(s, slot) | LW_SLOW);
    log_msg("shard %u: no quorum: frozen (nothing is granted, one-sided included)", s->index);
}

/* The SLOW that freeze set in the words of FAST resources goes (no client CAS can have
 * succeeded on a SLOW word, and nothing else leaves SLOW in a FAST resource's word). */
static void thaw(struct shard *s)
{
    for (uint32_t slot = 0; slot < s->nslots; slot++)
        if (s->slot_res[slot] && s->slot_res[slot]->state == RS_FAST)
            word_set(s, slot, word_load(s, slot) & ~LW_SLOW);
    s->frozen = false;
    log_msg("shard %u: quorum again: serving", s->index);
    future_replay(s);
}

/* ---- REQUEST or UNLOCK for a resource that does not exist here yet ---- */

/* A conversion or unlock may arrive before the report of its lock (another thread of the
 * client sends it while the recovering thread waits): it parks with the resource too. */
static bool hold_named(struct shard *s, struct mclient *c, const struct proto_msg *m,
                       const struct msg_name *name)
{
    struct mres *r;

    if (mres_find(c->ls, name->bytes, name->len))
        return false;
    if (!placed_here(s, place(s, c->ls, s->masters, name->bytes, name->len))) {
        future_park(s, c, m);
        return true;
    }
    if (!moved_here(s, c->ls, name->bytes, name->len))
        return false;
    r = rebuilding(s, c->ls, name->bytes, name->len);
    if (!r)
        return false;
    mres_add_interest(r, c->id);
    park_in(s, r, c, m);
    return true;
}

static bool engine_has(const struct mclient *c, uint64_t lkid)
{
    struct eng_lock_info info;

    return eng_query_lock(c->ls->e, lkid, &info) == RDLM_OK;
}

bool recover_hold_request(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_request *q = &m->u.request;

    if (q->parent || ((q->flags & RDLM_LKF_CONVERT) && engine_has(c, q->lkid)))
        return false;
    return hold_named(s, c, m, &q->name);
}

bool recover_hold_unlock(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_unlock *u = &m->u.unlock;

    if (u->parent || engine_has(c, u->lkid))
        return false;
    return hold_named(s, c, m, &u->name);
}

/* A cancel of a request that waits in the future list (its client has a newer view than this
 * shard): it waits behind it, and is answered once the request is known (not CANCELGRANT
 * for a request that was never granted). */
bool recover_hold_cancel(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    for (struct future_msg *f = s->future_head; f; f = f->next) {
        struct proto_msg fm;
        if (f->client == c->id && proto_decode(f->bytes, f->len, &fm) == 0 &&
            fm.hdr.type == MSG_REQUEST && fm.u.request.lkid == m->u.cancel.lkid) {
            future_park(s, c, m);
            return true;
        }
    }
    return false;
}

/* ---- the clients' reports ---- */

static struct msg_hold hold_of(const struct msg_reclock *l)
{
    return (struct msg_hold){.lkid = l->lkid,
                             .hint = l->hint,
                             .flags = l->flags,
                             .mode = l->mode,
                             .has_bast = l->has_bast,
                             .group = l->group,
                             .xid = l->xid,
                             .parent = l->parent,
                             .subname = l->subname,
                             .rd_id = l->rd_id};
}

/* A reported lock joins r's rebuild; a root resource's lock also takes part in its LVB (a
 * sub-resource's LVB reads as invalid: transition.c install_holds). */
static void add_reported(struct shard *s, struct mres *r, uint32_t client, const struct msg_hold *h,
                         const struct msg_reclock *l)
{
    if (transition_add_hold(r, client, h) == 0) {
        if (!l->parent)
            note_lvb(r->rec, l);
        s->stats.recovered_locks++;
    }
}

void recover_locks(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_recover_locks *k = &m->u.recover_locks;
    struct mres *r;

    if (!c->ls || m->hdr.ls != c->ls->id)
        return;
    if (k->epoch > s->view_epoch) {
        future_park(s, c, m);
        return;
    }
    r = mres_find(c->ls, k->name.bytes, k->name.len);
    if (!r || !r->rec)
        r = moved_here(s, c->ls, k->name.bytes, k->name.len)
                ? rebuilding(s, c->ls, k->name.bytes, k->name.len)
                : NULL;
    if (!r) {
        log_msg("shard %u: %s reported locks on %.*s, which is not being rebuilt here: ignored",
                s->index, rt_conn_peer(c->conn), k->name.len, k->name.bytes);
        return;
    }
    mres_add_interest(r, c->id);
    for (unsigned i = 0; i < k->n; i++) {
        struct msg_hold h = hold_of(&k->locks[i]);
        add_reported(s, r, c->id, &h, &k->locks[i]);
    }
}

void recover_end(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    if (m->u.recover.epoch > s->view_epoch)
        future_park(s, c, m); /* after the reports parked before it */
    else
        send_reply(s, c, m->hdr.reqid, RDLM_OK, NULL, 0);
}

/* ---- the keepers' reports of orphans (keeper.c) ---- */

static void orphan_report(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_orphan *o = &m->u.orphan;
    struct mls *ls = mls_get(s, (const char *)o->ls.bytes, o->ls.len);
    struct mres *r = NULL;
    struct msg_hold h = hold_of(&o->lock);

    h.has_bast = 0; /* no one to call */
    h.group = 0;    /* the owner says it */
    h.kept = 1;
    h.orphan = o->orphan;
    h.owner_kind = o->owner_kind;
    h.owner_node = o->owner_node;
    h.owner_id = o->owner_id;
    if (ls && ls->id == m->hdr.ls) {
        r = mres_find(ls, o->root.bytes, o->root.len);
        if (!r || !r->rec)
            r = moved_here(s, ls, o->root.bytes, o->root.len)
                    ? rebuilding(s, ls, o->root.bytes, o->root.len)
                    : NULL;
    }
    if (!r) {
        log_msg("shard %u: %s reported a kept lock on %.*s, which is not being rebuilt here: "
                "ignored",
                s->index, rt_conn_peer(c->conn), o->root.len, o->root.bytes);
        return;
    }
    if (getenv("RDLMD_TRACE"))
        log_msg("kept lock report %.*s lkid %016llx mode %d flags %x has_lvb %u", o->root.len,
                o->root.bytes, (unsigned long long)o->lock.lkid, o->lock.mode, o->lock.flags,
                o->lock.has_lvb);
    add_reported(s, r, HOLD_NO_CLIENT, &h, &o->lock);
}

/* ORPHAN REPORT and END, from a keeper on a ROLE_PEER connection. */
void recover_orphan(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    struct proto_msg ended = {0};

    if (m->u.orphan.epoch > s->view_epoch) {
        future_park(s, c, m); /* END after the reports parked before it */
        return;
    }
    if (m->u.orphan.op == ORPHAN_REPORT) {
        orphan_report(s, c, m);
        return;
    }
    ended.hdr.type = MSG_ORPHAN;
    ended.u.orphan.op = ORPHAN_ENDED;
    ended.u.orphan.epoch = m->u.orphan.epoch;
    send_msg(s, c, &ended);
}

/* ---- the locks of a lost node's processes: released once it is fenced ---- */

/* A process of a lost node may still run, and believe it holds its locks, until its node is
 * fenced (as Linux recovery waits for fencing): its connections are kept, unserved, as they
 * are until then (recover_hold_lost), so its locks stay - its one-sided counts included:
 * a transition waits for its hold report - and block others; at the fence they are closed and
 * its locks released as for any process that is gone. */
bool recover_hold_lost(struct shard *s, const struct mclient *c)
{
    return c->lost && atomic_load(&s->d->fenced_epoch) < s->view_epoch;
}

/* The containers of lost nodes ended with them: their group locks go (PERSISTENT ones stay as
 * orphans) once the nodes are fenced. */
static void lost_groups_purge(struct shard *s)
{
    for (struct mls *ls = s->lss; ls; ls = ls->next) {
        struct orphan_watch w;
        orphan_watch_begin(ls, &w);
        for (size_t i = 0; i < s->d->cfg.nnodes && i < 64; i++)
            if (!(s->view_mask & (1ull << i)))
                eng_purge_groups_of(ls->e, s->d->cfg.nodes[i].id, &s->acts);
        orphan_watch_end(s, ls, &w);
        serve_settle(s, ls);
    }
    s->groups_purged_epoch = s->view_epoch;
}

static void fenced(struct shard *s)
{
    size_t n = 0;

    for (uint32_t i = 0; i < s->nclients; i++) {
        struct mclient *c = s->clients[i];
        if (c && c->lost && !c->closing) {
            c->closing = true;
            n++;
        }
    }
    if (n)
        log_msg("shard %u: view %u fenced: %zu connection(s) of lost nodes' processes closed, "
                "their locks released",
                s->index, s->view_epoch, n);
    if (s->groups_purged_epoch < s->view_epoch)
        lost_groups_purge(s);
}

/* ---- home clients (shard 0) ---- */

static void send_recover(struct shard *s, struct mclient *c, uint32_t epoch, uint64_t mask,
                         uint64_t masters)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_RECOVER;
    m.hdr.ls = c->ls ? c->ls->id : 0;
    m.u.recover = (struct msg_recover){epoch, mask, masters};
    c->rec_pending = epoch;
    send_msg(s, c, &m);
}

void recover_home_open(struct shard *s, struct mclient *c)
{
    uint32_t epoch;
    uint64_t masters, mask = membership_mask(s->d, &epoch, &masters);

    if (s->index != 0)
        return;
    c->home = true;
    if (c->info_epoch != epoch) /* the view changed since its SHARD_INFO */
        send_recover(s, c, epoch, mask, masters);
}

void recover_home_done(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    (void)s;
    if (c->home && m->u.recover.epoch >= c->rec_pending)
        c->rec_pending = 0;
}

void recover_client_gone(struct shard *s, struct mclient *c)
{
    (void)s;
    c->rec_pending = 0;
}

/* Shard 0: every home client has reported for our view (or is gone): announce it. */
static void home_check(struct shard *s)
{
    struct member *me = &s->d->members[s->d->my_index];

    if (atomic_load(&me->done_epoch) >= s->view_epoch)
        return;
    for (uint32_t i = 0; i < s->nclients; i++) {
        const struct mclient *c = s->clients[i];
        if (c && !c->closing && c->home && c->rec_pending)
            return;
    }
    if (!keeper_done(s))
        return;
    atomic_store(&me->done_epoch, s->view_epoch);
    membership_kick(s);
}

/* ---- view changes and the barrier ---- */

static void view_changed(struct shard *s, uint64_t now)
{
    uint32_t epoch;
    uint64_t masters, mask = membership_mask(s->d, &epoch, &masters);
    bool first = s->view_epoch == 0;

    s->view_epoch = epoch;
    s->view_mask = mask;
    s->masters = masters;
    rd_view(s, epoch, mask, masters, first);
    if (first) {
        s->stable_mask = masters;
        if (s->index == 0)
            atomic_store(&s->d->members[s->d->my_index].done_epoch, epoch);
        return;
    }
    for (uint32_t i = 0; i < s->nclients; i++) { /* processes of lost nodes: gone with them */
        struct mclient *c = s->clients[i];
        int n = c ? node_index(s->d, c->hello.node) : -1;
        if (c && c->hello.role == ROLE_CLIENT && (n < 0 || !(mask & (1ull << n))))
            c->lost = true; /* closed once fenced (fenced) */
    }
    if (masters != s->stable_mask && !s->rec_active) {
        s->rec_active = true;
        s->rec_start_ns = now;
        s->stats.recoveries++;
    }
    log_msg("shard %u: view %u (members 0x%llx, masters 0x%llx): %s", s->index, epoch,
            (unsigned long long)mask, (unsigned long long)masters,
            s->rec_active ? "rebuilding the resources of lost nodes" : "nothing moved");
    if (s->index == 0) {
        for (uint32_t i = 0; i < s->nclients; i++) {
            struct mclient *c = s->clients[i];
            if (c && !c->closing && c->home)
                send_recover(s, c, epoch, mask, masters);
        }
        if (s->rec_active)
            keeper_view(s);
    }
    future_replay(s);
}

static bool barrier_met(const struct shard *s)
{
    if (atomic_load(&s->d->fenced_epoch) < s->view_epoch)
        return false; /* a lost node may still be alive: not before it is fenced */
    for (size_t i = 0; i < s->d->cfg.nnodes && i < 64; i++)
        if ((s->view_mask & (1ull << i)) &&
            atomic_load(&s->d->members[i].done_epoch) < s->view_epoch)
            return false;
    return true;
}

static void rebuild(struct shard *s, struct mres *r)
{
    struct mres_rec *rec = r->rec;
    uint8_t status = !rec->have ? ENG_LVB_NONE : rec->big ? ENG_LVB_VALID : ENG_LVB_INVALID;

    r->rec = NULL;
    transition_finish_rebuilt(s, r, status, rec->seq, rec->lvb);
    free(rec);
}

static void finish(struct shard *s, uint64_t now)
{
    size_t n = 0, cap = 0, locks = s->stats.recovered_locks;
    struct mres **v = NULL;

    for (struct mls *ls = s->lss; ls; ls = ls->next)
        for (uint32_t b = 0; b < ls->nbuckets; b++)
            for (struct mres *r = ls->buckets[b]; r; r = r->hnext) {
                if (!r->rec)
                    continue;
                if (n == cap) {
                    struct mres **nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
                    if (!nv)
                        break;
                    v = nv;
                }
                v[n++] = r;
            }
    for (size_t i = 0; i < n; i++)
        rebuild(s, v[i]);
    free(v);
    s->stable_mask = s->masters;
    s->rec_active = false;
    s->stats.last_recovery_us = (now - s->rec_start_ns) / 1000;
    log_msg("shard %u: view %u recovered in %llu us: %zu resource(s) rebuilt (%zu locks so far)",
            s->index, s->view_epoch, (unsigned long long)s->stats.last_recovery_us, n, locks);
}

/* Excluded: the others have given up our clients' locks and rebuilt what we mastered.
 * Serve nobody, and exit (status 3) so that the service manager restarts us clean; we
 * come back as a member that masters nothing (membership.c). */
static void excluded(struct shard *s)
{
    for (uint32_t i = 0; i < s->nclients; i++)
        if (s->clients[i] && s->clients[i]->hello.role == ROLE_CLIENT)
            s->clients[i]->closing = true;
    if (s->index == 0 && !atomic_exchange(&s->d->exit_status, 3)) {
        log_msg("excluded from the membership view: exiting (status 3) to restart clean");
        kill(getpid(), SIGTERM);
    }
}

void recover_tick(struct shard *s, uint64_t now)
{
    bool quorate = atomic_load(&s->d->quorate);

    if (atomic_load(&s->d->epoch) != s->view_epoch)
        view_changed(s, now);
    if (atomic_load(&s->d->excluded))
        excluded(s);
    if (!quorate && !s->frozen)
        freeze(s);
    else if (quorate && s->frozen)
        thaw(s);
    if (s->index == 0)
        home_check(s);
    if (atomic_load(&s->d->fenced_epoch) >= s->view_epoch)
        fenced(s);
    if (s->rec_active && barrier_met(s))
        finish(s, now);
    if (s->future_head)
        future_expire(s, now);
}

void recover_free(struct shard *s)
{
    while (s->future_head) {
        struct future_msg *f = s->future_head;
        s->future_head = f->next;
        free(f);
    }
    s->future_tail = NULL;
}

int recover_status(struct shard *s, char *buf, size_t len)
{
    char kept[64] = "";

    if (s->index == 0) /* the keeper (keeper.c) */
        snprintf(kept, sizeof(kept), "; %zu orphan and group locks kept", keeper_count(s));
    return snprintf(buf, len,
                    "    recovery: view %u%s, %lu recoveries, last %lu us, %lu resources "
                    "and %lu locks rebuilt%s\n",
                    s->view_epoch, s->rec_active ? " (REBUILDING)" : "",
                    (unsigned long)s->stats.recoveries, (unsigned long)s->stats.last_recovery_us,
                    (unsigned long)s->stats.recovered_resources,
                    (unsigned long)s->stats.recovered_locks, kept);
}
