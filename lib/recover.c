/*
 * lib/recover.c - the client's part of recovery (docs/protocol.md section 6): the home
 * daemon says RECOVER with a new membership view; every resource whose master the view
 * changed (its old master was lost) is re-placed, and this handle tells the new master which
 * locks it holds there (RECOVER_LOCKS, with the LVB each last read or wrote, for the Linux
 * LVB rules), then RECOVER_END, waits for the REPLY, and says RECOVER_DONE to its home. The
 * new master grants nothing on those resources until every live node's clients are done.
 * Then the operations that were on their way to the lost master are sent again: requests and
 * conversions re-sent (they queue anew), unlocks done (the lock died with the master and was
 * not reported); a cancel waiting for the lost master is sent again, after the request; a
 * request whose cancel the lost master had accepted completes as cancelled (its CANCELED
 * died with the master).
 *
 * Runs from the progress loop, under the handle's mutex, never nested (ls->in_recovery): it
 * may connect to new masters and wait for their replies, which drives progress itself.
 */
#include "lib/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "master/engine.h"

#define END_TIMEOUT_MS 10000

/* Members: nodes in the cluster now; masters: those resources are placed on. */
void view_apply(struct rdlm_ls *ls, uint32_t epoch, uint64_t mask, uint64_t masters)
{
    ls->view_epoch = epoch;
    ls->view_mask = mask;
    for (size_t i = 0; i < ls->nmembers; i++)
        ls->members[i].shards =
            i < 64 && (masters & mask & (1ull << i)) ? ls->cfg.nodes[i].shards : 0;
}

static bool node_in_view(const struct rdlm_ls *ls, uint32_t node)
{
    for (size_t i = 0; i < ls->nmembers && i < 64; i++)
        if (ls->members[i].node == node)
            return ls->view_mask & (1ull << i);
    return false;
}

/* Connections to nodes the view left out are as good as failed, even if the transport has
 * not noticed (a partition is silent): suspend what waits on them. */
static void fail_lost_conns(struct rdlm_ls *ls)
{
    for (size_t i = 0; i < ls->nmembers * ls->max_shards; i++) {
        struct cconn *cc = ls->conns[i];
        if (cc && !node_in_view(ls, cc->node) && !cc->closed)
            conn_failed(ls, cc);
    }
}

/* A connection that failed although its node is still a member: that master purged our
 * locks when it saw us go, so the handle cannot go on. */
static bool live_master_failed(const struct rdlm_ls *ls)
{
    for (size_t i = 0; i < ls->nmembers * ls->max_shards; i++) {
        const struct cconn *cc = ls->conns[i];
        if (cc && cc->failed && node_in_view(ls, cc->node))
            return true;
    }
    return false;
}

static void complete_here(struct rdlm_ls *ls, struct clock *l, uint8_t op, uint8_t status,
                          int8_t mode)
{
    struct msg_complete c = {
        .lkid = l->lkid, .op = op, .status = status, .mode = mode, .slot = LW_NO_SLOT};

    l->resend = false;
    lock_complete(ls, l, &c);
}

static void flush_locks(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m)
{
    if (m->u.recover_locks.n)
        conn_send(ls, cc, m);
    m->u.recover_locks.n = 0;
}

/* The root resource of res's tree, and res's depth in it (0: res is a root); NULL if a parent
 * lock is unknown here. */
static struct cres *tree_root(struct rdlm_ls *ls, struct cres *res, unsigned *depth)
{
    *depth = 0;
    while (res && res->parent && *depth < 64) {
        struct clock *p = lock_find(ls, res->parent);
        res = p ? p->res : NULL;
        ++*depth;
    }
    return res && !res->parent ? res : NULL;
}

/* The ids of this handle's locks in r's tree (r itself and every sub-resource under it),
 * parents before children; *n of them. */
static uint64_t *tree_locks(struct rdlm_ls *ls, struct cres *r, size_t *n)
{
    uint64_t *ids = calloc(ls->locks.n + 1, sizeof(*ids)), lkid, v;
    unsigned *depth = calloc(ls->locks.n + 1, sizeof(*depth)), d;
    size_t pos = 0;

    *n = 0;
    while (ids && depth && u64map_next(&ls->locks, &pos, &lkid, &v))
        if (tree_root(ls, ((struct clock *)(uintptr_t)v)->res, &d) == r) {
            size_t i = (*n)++;
            for (; i > 0 && depth[i - 1] > d; i--) { /* insertion by depth, stable */
                ids[i] = ids[i - 1];
                depth[i] = depth[i - 1];
            }
            ids[i] = lkid;
            depth[i] = d;
        }
    free(depth);
    if (!depth) {
        free(ids);
        return NULL;
    }
    return ids;
}

/* Sub-resources follow their root to its new master. */
static void move_subresources(struct rdlm_ls *ls, struct cres *root)
{
    unsigned d;

    for (uint32_t b = 0; b < ls->res_nbuckets; b++)
        for (struct cres *r = ls->res_buckets[b]; r; r = r->hnext)
            if (r->parent && tree_root(ls, r, &d) == root)
                r->cc = root->cc;
}

static void fill_reclock(struct msg_reclock *e, const struct clock *l)
{
    memset(e, 0, sizeof(*e)); /* the array is reused after a flush */
    e->lkid = l->lkid;
    e->hint = l->hint;
    e->group = l->group;
    e->xid = l->xid;
    e->lvbseq = l->lvb_copy_seq;
    e->flags = l->flags;
    e->mode = l->grmode;
    e->has_bast = l->bast != NULL;
    e->has_lvb = l->has_lvb_copy;
    memcpy(e->lvb, l->lvb_copy, RDLM_LVB_LEN);
    e->rd_id = l->persist_rd;
    if (l->res->parent) {
        e->parent = l->res->parent;
        e->subname.len = l->res->namelen;
        memcpy(e->subname.bytes, l->res->name, l->res->namelen);
    }
}

/* The locks of this handle on r's tree, whose master changed: report, finish or mark for
 * re-send. */
static void report_resource(struct rdlm_ls *ls, struct cres *r, uint32_t epoch, struct proto_msg *m)
{
    size_t n = 0;
    uint64_t *ids = tree_locks(ls, r, &n);
    struct cconn *cc = r->cc;

    if (!ids) {
        break_handle_why(ls, "recovery: out of memory");
        return;
    }
    move_subresources(ls, r);
    memset(&m->u.recover_locks, 0, sizeof(m->u.recover_locks));
    m->hdr.type = MSG_RECOVER_LOCKS;
    m->u.recover_locks.epoch = epoch;
    m->u.recover_locks.name.len = r->namelen;
    memcpy(m->u.recover_locks.name.bytes, r->name, r->namelen);
    for (size_t i = 0; i < n; i++) {
        struct clock *l = lock_find(ls, ids[i]);
        if (!l)
            continue;
        if (l->unlocking && l->pending) { /* it died with the master, unreported */
            complete_here(ls, l, ENG_OP_UNLOCK, RDLM_E_UNLOCKED, RDLM_MODE_IV);
            continue;
        }
        if (l->group && !l->pending && !glc_lock_current(ls, l)) {
            lock_free(ls, l); /* another member ended it: a stale record */
            continue;
        }
        if (l->pending && !l->unlocking && (l->flags & RDLM_LKF_CONVDEADLK) &&
            l->grmode > RDLM_MODE_NL) {
            /* the lost master may have demoted it to NL (its completion died with it): the
             * new master must not believe the old mode, which others may hold now */
            l->grmode = RDLM_MODE_NL;
            l->demoted = true;
        }
        if (l->grmode != RDLM_MODE_IV) {
            fill_reclock(&m->u.recover_locks.locks[m->u.recover_locks.n++], l);
            if (m->u.recover_locks.n == PROTO_MAX_RECLOCKS)
                flush_locks(ls, cc, m);
        }
        if (!l->pending)
            continue;
        if (l->cancel_accepted) /* cancelled there; its CANCELED died with the master */
            complete_here(ls, l, ENG_OP_REQUEST, RDLM_E_CANCELED, l->grmode);
        else
            l->resend = true;
    }
    flush_locks(ls, cc, m);
    cc->rec_sent = epoch;
    free(ids);
}

/* Re-place every root resource by the new view; report where the master changed. Roots
 * are collected first: connecting drives progress, which may free sub-resources. */
static void replace_resources(struct rdlm_ls *ls, uint32_t epoch, struct proto_msg *m)
{
    struct cres **roots = calloc(ls->nres + 1, sizeof(*roots));
    size_t n = 0;

    if (!roots) {
        break_handle_why(ls, "recovery: out of memory");
        return;
    }
    for (uint32_t b = 0; b < ls->res_nbuckets; b++)
        for (struct cres *r = ls->res_buckets[b]; r; r = r->hnext)
            if (!r->parent && n < ls->nres)
                roots[n++] = r;
    for (size_t i = 0; i < n && !ls->broken; i++) {
        struct cres *r = roots[i];
        struct rdlm_placement_target t =
            rdlm_place(ls->members, ls->nmembers, ls->id, 0, r->name, r->namelen);
        if (r->cc && !r->cc->failed && r->cc->node == t.node && r->cc->shard == t.shard)
            continue;
        r->slot = LW_NO_SLOT;
        if (!r->nlocks) {
            r->cc = NULL; /* placed again at its next use */
            continue;
        }
        r->cc = t.node ? conn_for(ls, t.node, t.shard) : NULL;
        if (!r->cc || r->cc->failed) {
            break_handle_why(ls, "recovery: the new master is unreachable");
            break;
        }
        report_resource(ls, r, epoch, m);
    }
    free(roots);
}

/* RECOVER_END to every master we reported to; their REPLYs say all was applied. */
static void end_reports(struct rdlm_ls *ls, uint32_t epoch, struct proto_msg *m)
{
    for (size_t i = 0; i < ls->nmembers * ls->max_shards && !ls->broken; i++) {
        struct cconn *cc = ls->conns[i];
        struct proto_msg *reply;
        if (!cc || cc->failed || cc->rec_sent != epoch)
            continue;
        reply = calloc(1, sizeof(*reply));
        memset(m, 0, sizeof(*m));
        m->hdr.type = MSG_RECOVER_END;
        m->u.recover.epoch = epoch;
        if (!reply || request_reply(ls, cc, m, reply, END_TIMEOUT_MS) < 0 ||
            reply->u.reply.status != RDLM_OK)
            break_handle_why(ls, "recovery: a new master did not confirm our report");
        free(reply);
    }
}

/* Connections to masters the view left out: nothing refers to them any more. */
static void drop_lost_conns(struct rdlm_ls *ls)
{
    for (size_t i = 0; i < ls->nmembers * ls->max_shards; i++) {
        struct cconn *cc = ls->conns[i];
        if (!cc || node_in_view(ls, cc->node))
            continue;
        for (uint32_t b = 0; b < ls->res_nbuckets; b++)
            for (struct cres *r = ls->res_buckets[b]; r; r = r->hnext)
                if (r->cc == cc)
                    r->cc = NULL; /* unused resources of a lost master */
        if (cc->conn)
            rt_close(cc->conn);
        free(cc);
        ls->conns[i] = NULL;
    }
}

static void resend_all(struct rdlm_ls *ls)
{
    size_t pos = 0;
    uint64_t lkid, v;

    while (u64map_next(&ls->locks, &pos, &lkid, &v)) {
        struct clock *l = (struct clock *)(uintptr_t)v;
        if (!l->resend || !l->pending)
            continue;
        l->resend = false;
        l->lvb_prewritten = false; /* the lost master's record went with it */
        if (!l->res->cc || resend_request(ls, l) < 0) {
            complete_here(ls, l, ENG_OP_REQUEST, RDLM_E_NOTCONN, l->grmode);
            pos = 0;
        }
    }
}

static void recover_epoch(struct rdlm_ls *ls, uint32_t epoch, uint64_t mask, uint64_t masters)
{
    struct proto_msg *m = calloc(1, sizeof(*m));

    if (!m) {
        break_handle_why(ls, "recovery: out of memory");
        return;
    }
    view_apply(ls, epoch, mask, masters);
    if (client_trace() || getenv("RDLM_DEBUG"))
        fprintf(stderr, "rdlm %d: %llu ms: view %u (members 0x%llx, masters 0x%llx): recovering\n",
                getpid(), (unsigned long long)(mono_ns() / 1000000), epoch,
                (unsigned long long)mask, (unsigned long long)masters);
    fail_lost_conns(ls);
    if (live_master_failed(ls))
        break_handle_why(ls, "recovery: a live master dropped us (our locks there were purged)");
    if (!ls->broken)
        replace_resources(ls, epoch, m);
    if (!ls->broken)
        end_reports(ls, epoch, m);
    if (!ls->broken)
        rd_recover(ls); /* recovery domains whose domain master was lost */
    if (!ls->broken) {
        memset(m, 0, sizeof(*m));
        m->hdr.type = MSG_RECOVER_DONE;
        m->u.recover.epoch = epoch;
        if (conn_send(ls, ls->home, m) < 0)
            break_handle_why(ls, "recovery: the home daemon is gone");
    }
    free(m);
    if (ls->broken)
        return;
    drop_lost_conns(ls);
    ls->master_failed_ns = 0;
    resend_all(ls);
    if (client_trace() || getenv("RDLM_DEBUG"))
        fprintf(stderr, "rdlm %d: %llu ms: view %u: reported and re-sent\n", getpid(),
                (unsigned long long)(mono_ns() / 1000000), epoch);
}

void recover_run(struct rdlm_ls *ls)
{
    ls->in_recovery = true;
    while (ls->rec_want_epoch > ls->view_epoch && !ls->broken)
        recover_epoch(ls, ls->rec_want_epoch, ls->rec_want_mask, ls->rec_want_masters);
    ls->in_recovery = false;
}
