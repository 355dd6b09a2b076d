/*
 * master/orphan.c - the master's half of keeping orphans (docs/protocol.md section 6, "Orphans
 * kept by their owner's node"): an engine call that may turn locks into orphans (an owner's
 * purge) or end orphans (adoption, a purge of orphans) is bracketed by orphan_watch_begin and
 * orphan_watch_end; the difference between the orphans before and after goes as ORPHAN KEEP
 * (a new orphan, with what a new master needs to rebuild it) or ORPHAN DROP to the keeper:
 * shard 0 of the node of the orphan's dead owner (keeper.c), through the outbox. A group lock
 * is kept likewise by its container's node: every grant or conversion of one sends its state
 * (orphan_note_group); its end is the container registry's LOCK_DEL (glc.c).
 */
#include "master/daemon.h"

#include <stdlib.h>
#include <string.h>

void orphan_watch_begin(struct mls *ls, struct orphan_watch *w)
{
    struct eng_lock_info li;

    w->n = eng_orphan_ids(ls->e, &w->ids);
    w->nodes = malloc((w->n ? w->n : 1) * sizeof(*w->nodes));
    for (size_t i = 0; w->nodes && i < w->n; i++)
        w->nodes[i] = eng_query_lock(ls->e, w->ids[i], &li) == RDLM_OK ? li.owner.node : 0;
}

/* The root resource of lkid's tree: its name into root; false if a parent is missing. */
static bool root_of(const struct eng *e, uint64_t lkid, struct msg_name *root)
{
    struct eng_lock_info li;

    for (unsigned depth = 0; depth < 64; depth++) {
        if (eng_query_lock(e, lkid, &li) != RDLM_OK)
            return false;
        if (!li.parent_lkid) {
            root->len = li.namelen;
            memcpy(root->bytes, li.name, li.namelen);
            return true;
        }
        lkid = li.parent_lkid;
    }
    return false;
}

/* What a new master needs to rebuild the orphan (or group lock): the lock, its resource's
 * persistence, and the resource's value block while valid (no one can write it while the orphan is
 * PR or above; below, the value reads as invalid after a rebuild anyway: recover.c note_lvb). */
static bool fill_keep(const struct mls *ls, const struct eng_lock_info *li, struct msg_orphan *o)
{
    struct eng_res_info ri;
    struct msg_reclock *l = &o->lock;

    if (!root_of(ls->e, li->lkid, &o->root) ||
        eng_query_res(ls->e, li->parent_lkid, li->name, li->namelen, &ri) != RDLM_OK)
        return false;
    o->op = ORPHAN_KEEP;
    o->orphan = li->orphan;
    o->owner_kind = li->owner.kind;
    o->owner_node = (uint16_t)li->owner.node;
    o->owner_id = li->owner.id;
    o->ls.len = (uint16_t)strlen(ls->name);
    memcpy(o->ls.bytes, ls->name, o->ls.len);
    l->lkid = li->lkid;
    l->hint = li->hint;
    l->xid = li->xid;
    l->flags = li->flags;
    l->mode = li->grmode;
    l->rd_id = ri.persistent ? ri.rd_id : 0;
    if (li->parent_lkid) {
        l->parent = li->parent_lkid;
        l->subname.len = li->namelen;
        memcpy(l->subname.bytes, li->name, li->namelen);
    } else if (ri.lvb_status == ENG_LVB_VALID) {
        l->has_lvb = 1;
        l->lvbseq = ri.lvbseq;
        memcpy(l->lvb, ri.lvb, RDLM_LVB_LEN);
    }
    return true;
}

static void send_keep(struct shard *s, struct mls *ls, uint64_t lkid)
{
    struct proto_msg *m = calloc(1, sizeof(*m));
    struct eng_lock_info li;

    if (!m)
        return;
    m->hdr.type = MSG_ORPHAN;
    m->hdr.ls = ls->id;
    if (eng_query_lock(ls->e, lkid, &li) == RDLM_OK && li.state != ENG_LKS_WAITING &&
        (li.orphan || li.owner.kind == ENG_OWNER_GROUP) && fill_keep(ls, &li, &m->u.orphan))
        outbox_send(s, (uint16_t)li.owner.node, 0, m);
    free(m);
}

static void send_drop(struct shard *s, struct mls *ls, uint64_t lkid, uint32_t node)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_ORPHAN;
    m.hdr.ls = ls->id;
    m.u.orphan.op = ORPHAN_DROP;
    m.u.orphan.lock.lkid = lkid;
    m.u.orphan.lock.mode = RDLM_MODE_NL;
    outbox_send(s, (uint16_t)node, 0, &m);
}

/* A request of lkid completed OK (granted, converted, demoted): if it is a group lock, its
 * container's node keeps its new state. */
void orphan_note_group(struct shard *s, struct mls *ls, uint64_t lkid)
{
    send_keep(s, ls, lkid);
}

/* Both lists ascending: a merge. */
void orphan_watch_end(struct shard *s, struct mls *ls, struct orphan_watch *w)
{
    uint64_t *now;
    size_t n = eng_orphan_ids(ls->e, &now), i = 0, j = 0;

    while (i < w->n || j < n) {
        if (j == n || (i < w->n && w->ids[i] < now[j])) {
            if (w->nodes && w->nodes[i])
                send_drop(s, ls, w->ids[i], w->nodes[i]);
            i++;
        } else if (i == w->n || now[j] < w->ids[i]) {
            send_keep(s, ls, now[j++]);
        } else {
            i++;
            j++;
        }
    }
    free(now);
    free(w->ids);
    free(w->nodes);
    *w = (struct orphan_watch){0};
}
