/*
 * master/keeper.c - the keeper's half of keeping orphans (docs/protocol.md section 6, "Orphans
 * kept by their owner's node"), on shard 0 of every node: the locks no live process of this
 * node holds, as their masters described them (ORPHAN KEEP and DROP: orphan.c) - orphans whose
 * dead owner was a process (or a container) of this node, and the group locks of this node's
 * containers (kept while the container's registry has them: glc.c).
 *
 * A PERSISTENT lock outlives its owner as an orphan in its master's engine; a group lock
 * outlives the member that requested it. If their master is lost, no live process may report
 * them (their owner is dead, or no member has a record of them), so the keeper does:
 *
 *   view E moves a kept orphan's resource (its master was lost):
 *   keeper --ORPHAN REPORT(E) per orphan--> the new master   (recover.c installs it at the
 *   keeper --ORPHAN END(E)--> each new master reported to      barrier, as an orphan of the
 *   new master --ORPHAN ENDED(E)--> keeper                     same owner)
 *   every ENDED(E) in (or KEEPER_END_WAIT_NS passed) ──► this node may announce done_epoch E
 *
 * As in Linux, a node's death takes its processes' orphans with it: the keeper dies with the
 * node. An orphan whose DROP died with its master comes back after a rebuild (only if no live
 * lock conflicts with it: transition.c), where `rdlmctl purge` or an adoption ends it.
 */
#include "master/daemon.h"

#include <stdlib.h>
#include <string.h>

#include "common/u64map.h"

#define KEEPER_END_WAIT_NS (10ull * 1000 * 1000 * 1000)

struct kept {
    struct kept *next; /* same lock id, another lockspace */
    uint64_t lsid;
    struct msg_orphan o; /* as KEEP said it */
};

struct keeper {
    struct u64map by_lkid; /* lkid -> struct kept * (a chain) */
    size_t count;
    uint32_t epoch;   /* the view whose reports are out */
    uint32_t pending; /* ENDED still awaited for it */
    uint64_t deadline_ns;
};

static struct keeper *keeper_of(struct shard *s)
{
    if (!s->keeper && (s->keeper = calloc(1, sizeof(*s->keeper))))
        u64map_init(&s->keeper->by_lkid);
    return s->keeper;
}

static struct kept **find(struct keeper *k, uint64_t lsid, uint64_t lkid, struct kept **head)
{
    uint64_t v = 0;
    struct kept **pp;

    *head = u64map_get(&k->by_lkid, lkid, &v) ? (struct kept *)(uintptr_t)v : NULL;
    for (pp = head; *pp; pp = &(*pp)->next)
        if ((*pp)->lsid == lsid)
            return pp;
    return pp;
}

static void keep(struct keeper *k, uint64_t lsid, const struct msg_orphan *o)
{
    struct kept *head, **pp = find(k, lsid, o->lock.lkid, &head), *e = *pp;

    if (!e) {
        if (!(e = calloc(1, sizeof(*e))))
            return;
        e->lsid = lsid;
        e->next = head;
        if (u64map_put(&k->by_lkid, o->lock.lkid, (uint64_t)(uintptr_t)e) < 0) {
            free(e);
            return;
        }
        k->count++;
    }
    e->o = *o;
}

static void drop(struct keeper *k, uint64_t lsid, uint64_t lkid, bool orphans_too)
{
    struct kept *head, **pp = find(k, lsid, lkid, &head), *e = *pp;

    if (!e || (e->o.orphan && !orphans_too))
        return;
    *pp = e->next;
    if (pp == &head && head) /* the chain's head changed */
        u64map_put(&k->by_lkid, lkid, (uint64_t)(uintptr_t)head);
    else if (pp == &head)
        u64map_del(&k->by_lkid, lkid);
    free(e);
    k->count--;
}

/* A group lock ended (its registry's LOCK_DEL, glc.c): an orphan of that id stays. */
void keeper_forget(struct shard *s, uint64_t lsid, uint64_t lkid)
{
    if (s->keeper)
        drop(s->keeper, lsid, lkid, false);
}

/* A container ended: its group locks are released everywhere (its PERSISTENT ones become
 * orphans, whose KEEPs follow from their masters). */
void keeper_forget_group(struct shard *s, uint64_t container)
{
    struct keeper *k = s->keeper;
    size_t pos = 0, n = 0;
    uint64_t lkid, v, (*gone)[2] = NULL;

    if (!k || !(gone = calloc(k->count + 1, sizeof(*gone))))
        return;
    while (u64map_next(&k->by_lkid, &pos, &lkid, &v))
        for (const struct kept *e = (const struct kept *)(uintptr_t)v; e; e = e->next)
            if (!e->o.orphan && e->o.owner_id == container && n < k->count) {
                gone[n][0] = e->lsid;
                gone[n++][1] = lkid;
            }
    for (size_t i = 0; i < n; i++)
        drop(k, gone[i][0], gone[i][1], false);
    free(gone);
}

/* ---- reports after a view change ---- */

struct target {
    uint16_t node, shard;
};

static bool same_target(struct rdlm_placement_target a, struct rdlm_placement_target b)
{
    return a.node == b.node && a.shard == b.shard;
}

static void add_target(struct target **v, uint32_t *n, struct rdlm_placement_target t)
{
    struct target *nv;

    for (uint32_t i = 0; i < *n; i++)
        if ((*v)[i].node == t.node && (*v)[i].shard == t.shard)
            return;
    if (!(nv = realloc(*v, (*n + 1) * sizeof(*nv))))
        return;
    *v = nv;
    nv[(*n)++] = (struct target){(uint16_t)t.node, (uint16_t)t.shard};
}

static void report_one(struct shard *s, const struct kept *e, struct rdlm_placement_target t)
{
    struct proto_msg *m = calloc(1, sizeof(*m));

    if (!m)
        return;
    m->hdr.type = MSG_ORPHAN;
    m->hdr.ls = e->lsid;
    m->u.orphan = e->o;
    m->u.orphan.op = ORPHAN_REPORT;
    m->u.orphan.epoch = s->view_epoch;
    outbox_send(s, (uint16_t)t.node, (uint16_t)t.shard, m);
    free(m);
}

static void send_end(struct shard *s, const struct target *t)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_ORPHAN;
    m.u.orphan.op = ORPHAN_END;
    m.u.orphan.epoch = s->view_epoch;
    outbox_send(s, t->node, t->shard, &m);
}

/* Shard 0, the view changed and moved resources (recover.c): report the orphans whose
 * master it changed to their new masters. */
void keeper_view(struct shard *s)
{
    struct keeper *k = s->keeper;
    struct target *targets = NULL;
    uint32_t ntargets = 0;
    size_t pos = 0;
    uint64_t lkid, v;

    if (!k)
        return;
    k->epoch = s->view_epoch;
    k->pending = 0;
    while (u64map_next(&k->by_lkid, &pos, &lkid, &v))
        for (const struct kept *e = (const struct kept *)(uintptr_t)v; e; e = e->next) {
            const struct msg_name *root = &e->o.root;
            struct rdlm_placement_target was =
                shard_place(s, e->lsid, s->stable_mask, root->bytes, root->len);
            struct rdlm_placement_target now =
                shard_place(s, e->lsid, s->masters, root->bytes, root->len);
            if (same_target(was, now) || !now.node ||
                (!e->o.orphan && !glc_has_lock(s, e->o.owner_id, lkid)))
                continue; /* not moved; or a group lock its container no longer has */
            report_one(s, e, now);
            add_target(&targets, &ntargets, now);
        }
    for (uint32_t i = 0; i < ntargets; i++)
        send_end(s, &targets[i]);
    k->pending = ntargets;
    k->deadline_ns = now_ns() + KEEPER_END_WAIT_NS;
    if (ntargets)
        log_msg("shard %u: view %u: reported kept orphans to %u new master(s)", s->index,
                s->view_epoch, ntargets);
    free(targets);
}

/* Shard 0: may this node say it has reported everything for the current view? */
bool keeper_done(struct shard *s)
{
    struct keeper *k = s->keeper;

    if (!k || !k->pending || k->epoch != s->view_epoch)
        return true;
    if (now_ns() < k->deadline_ns)
        return false;
    log_msg("shard %u: view %u: %u new master(s) never confirmed our orphans' reports; going on",
            s->index, k->epoch, k->pending);
    k->pending = 0;
    return true;
}

/* ---- messages ---- */

void keeper_msg(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_orphan *o = &m->u.orphan;
    struct keeper *k;

    if (s->index != 0 || !(k = keeper_of(s))) {
        log_msg("shard %u: ORPHAN %u from %s is for shard 0: ignored", s->index, o->op,
                rt_conn_peer(c->conn));
        return;
    }
    if (o->op == ORPHAN_KEEP && o->owner_node == s->node)
        keep(k, m->hdr.ls, o);
    else if (o->op == ORPHAN_DROP)
        drop(k, m->hdr.ls, o->lock.lkid, true);
    else if (o->op == ORPHAN_ENDED && o->epoch == k->epoch && k->pending)
        k->pending--;
}

size_t keeper_count(const struct shard *s)
{
    return s->keeper ? s->keeper->count : 0;
}

void keeper_free(struct shard *s)
{
    struct keeper *k = s->keeper;
    size_t pos = 0;
    uint64_t lkid, v;

    if (!k)
        return;
    while (u64map_next(&k->by_lkid, &pos, &lkid, &v))
        for (struct kept *e = (struct kept *)(uintptr_t)v, *next; e; e = next) {
            next = e->next;
            free(e);
        }
    u64map_free(&k->by_lkid);
    free(k);
    s->keeper = NULL;
}
