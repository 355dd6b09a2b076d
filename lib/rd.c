/*
 * lib/rd.c - recovery domains, the client side (docs/protocol.md section 7; the daemon side
 * is master/rd.c): rdlm_rd_attach / detach / collect / validate / collection_free. The
 * library does the fan-out itself, synchronously, through the caller's handle:
 *   attach     RD_ATTACH at the domain master (placement of the name, PROTO_RD_SEED)
 *   collect    RD_COLLECT at the domain master, then RD_SCAN (paged) to every (node, shard)
 *              of the view: the collection
 *   validate   RD_VALIDATE to the master of each collected resource, a rescan (any invalid
 *              resource left: MORE_TO_RECOVER), RD_VALIDATE_END at the domain master, and
 *              after OK, RD_CLEAR to every shard (new resources start valid again)
 *   detach     with INVALIDATE: RD_INVALIDATE to every shard first; RD_DETACH at the master
 * The attachments are process-wide state (rd_tab), each made through one handle: it ends when
 * that handle is closed (rd_ls_closed), and is made again at the new domain master when a
 * view loses the old one (rd_recover, from the handle's recovery).
 * The exchanges with the shards are in rd_wire.c.
 * Lock order: a handle's mutex, then rd_mu (rd_mu is never held while taking a handle's).
 */
#include "lib/rd_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/rdname.h"

#define RD_MAX_ATTACH 64 /* attachments of one process */

struct rd_entry {
    uint32_t rd_id;
    uint8_t kind;   /* RDLM_RD_PROCESS or RDLM_RD_GROUP */
    uint64_t group; /* GROUP: the container it was made for */
    uint8_t namelen;
    char name[RDLM_RDNAME_MAXLEN];
    rdlm_ls *ls;                     /* the handle it was made through */
    uint32_t mnode, mshard;          /* the domain master it was made at */
    struct rdlm_rd_collection *coll; /* the outstanding collection of this process */
};

static pthread_mutex_t rd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rd_entry rd_tab[RD_MAX_ATTACH];
static unsigned rd_n;

/* ---- the process's attachments (under rd_mu) ---- */

static struct rd_entry *entry_find(uint32_t rd_id, uint8_t kind)
{
    for (unsigned i = 0; i < rd_n; i++)
        if (rd_tab[i].rd_id == rd_id && (!kind || rd_tab[i].kind == kind))
            return &rd_tab[i];
    return NULL;
}

static void entry_del(struct rd_entry *e)
{
    *e = rd_tab[--rd_n];
}

static void set_coll(uint32_t rd_id, struct rdlm_rd_collection *c)
{
    for (unsigned i = 0; i < rd_n; i++)
        if (rd_tab[i].rd_id == rd_id)
            rd_tab[i].coll = c;
}

bool rd_group_attached(void)
{
    bool yes = false;

    pthread_mutex_lock(&rd_mu);
    for (unsigned i = 0; i < rd_n; i++)
        yes |= rd_tab[i].kind == RDLM_RD_GROUP;
    pthread_mutex_unlock(&rd_mu);
    return yes;
}

void rd_ls_closed(rdlm_ls *ls)
{
    pthread_mutex_lock(&rd_mu);
    for (unsigned i = 0; i < rd_n;)
        if (rd_tab[i].ls == ls) /* the caller still owns its collection, if any */
            entry_del(&rd_tab[i]);
        else
            i++;
    pthread_mutex_unlock(&rd_mu);
}

/* ---- the API ---- */

struct msgs {
    struct proto_msg m, reply;
};

/* A child after fork(): its parent's attachments are not its own (nor its handles). */
static void forget_in_child(void)
{
    pthread_mutex_init(&rd_mu, NULL);
    rd_n = 0;
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, forget_in_child);
}

int rdlm_rd_attach(rdlm_ls *ls, const char *name, uint32_t flags, uint32_t *rd_id)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    size_t len;
    uint64_t group = 0;
    uint32_t id;
    struct msgs *x;
    struct rdlm_placement_target t;
    int st;

    if (!ls || !name || !rd_id || (flags != RDLM_RD_PROCESS && flags != RDLM_RD_GROUP))
        return RDLM_E_INVAL;
    pthread_once(&once, register_fork_handler);
    len = strnlen(name, RDLM_RDNAME_MAXLEN + 1);
    if (!rdlm_rd_name_ok(name, len))
        return RDLM_E_NAMELEN;
    if (flags == RDLM_RD_GROUP && !(group = rdlm_glc_current()))
        return RDLM_E_NOTATTACHED;
    id = rdlm_rd_hash(name, len);
    pthread_mutex_lock(&rd_mu);
    st = entry_find(id, (uint8_t)flags) ? RDLM_E_ATTACHED
         : rd_n == RD_MAX_ATTACH        ? RDLM_E_TOOMANY
                                        : RDLM_OK;
    pthread_mutex_unlock(&rd_mu);
    if (st != RDLM_OK)
        return st;
    if (!(x = calloc(1, sizeof(*x))))
        return RDLM_E_NOMEM;
    x->m.u.rd.op = RD_ATTACH;
    x->m.u.rd.flags = flags;
    x->m.u.rd.rd_id = id;
    x->m.u.rd.group = group;
    x->m.u.rd.namelen = (uint16_t)len;
    memcpy(x->m.u.rd.name, name, len);
    pthread_mutex_lock(&ls->mu);
    t = rd_master_of(ls, name, len);
    st = rd_ask_master(ls, name, len, &x->m, &x->reply);
    if (st == RDLM_OK) {
        pthread_mutex_lock(&rd_mu);
        if (entry_find(id, (uint8_t)flags)) {
            st = RDLM_E_ATTACHED; /* another thread won */
        } else if (rd_n == RD_MAX_ATTACH) {
            st = RDLM_E_TOOMANY;
        } else {
            struct rd_entry *e = &rd_tab[rd_n++];
            memset(e, 0, sizeof(*e));
            e->rd_id = id;
            e->kind = (uint8_t)flags;
            e->group = group;
            e->namelen = (uint8_t)len;
            memcpy(e->name, name, len);
            e->ls = ls;
            e->mnode = t.node;
            e->mshard = t.shard;
            e->coll = entry_find(id, 0) ? entry_find(id, 0)->coll : NULL;
        }
        pthread_mutex_unlock(&rd_mu);
    }
    pthread_mutex_unlock(&ls->mu);
    free(x);
    if (st == RDLM_OK)
        *rd_id = id;
    return st;
}

/* Does this handle hold locks on persistent resources of the domain (for that attachment)? */
static bool holds_locks(struct rdlm_ls *ls, uint32_t rd_id, uint8_t kind, uint64_t group)
{
    size_t pos = 0;
    uint64_t lkid, v;

    while (u64map_next(&ls->locks, &pos, &lkid, &v)) {
        const struct clock *l = (const struct clock *)(uintptr_t)v;
        if ((l->flags & RDLM_LKF_PERSIST_RES) && l->rd_id == rd_id &&
            (kind == RDLM_RD_PROCESS ? l->group == 0 : l->group == group))
            return true;
    }
    return false;
}

int rdlm_rd_detach(rdlm_ls *ls, uint32_t rd_id, uint32_t flags)
{
    uint8_t kind = (uint8_t)(flags & (RDLM_RD_PROCESS | RDLM_RD_GROUP));
    struct rd_entry e, *p;
    struct msgs *x;
    int st = RDLM_OK;

    if (!ls || (flags & ~(RDLM_RD_PROCESS | RDLM_RD_GROUP | RDLM_RD_INVALIDATE)) ||
        kind == (RDLM_RD_PROCESS | RDLM_RD_GROUP))
        return RDLM_E_INVAL;
    pthread_mutex_lock(&rd_mu);
    p = entry_find(rd_id, kind);
    if (p)
        e = *p;
    pthread_mutex_unlock(&rd_mu);
    if (!p)
        return RDLM_E_NOTATTACHED;
    if (e.coll)
        return RDLM_E_ALREADY;
    if (!(x = calloc(1, sizeof(*x))))
        return RDLM_E_NOMEM;
    pthread_mutex_lock(&ls->mu);
    if (holds_locks(ls, rd_id, e.kind, e.group))
        st = RDLM_E_HASLOCKS;
    if (st == RDLM_OK && (flags & RDLM_RD_INVALIDATE)) {
        x->m.u.rd.op = RD_INVALIDATE;
        x->m.u.rd.rd_id = rd_id;
        st = rd_ask_all(ls, &x->m, &x->reply);
    }
    if (st == RDLM_OK) {
        memset(&x->m, 0, sizeof(x->m));
        x->m.u.rd.op = RD_DETACH;
        x->m.u.rd.rd_id = rd_id;
        x->m.u.rd.flags = e.kind | (flags & RDLM_RD_INVALIDATE);
        x->m.u.rd.group = e.group;
        st = rd_ask_master(ls, e.name, e.namelen, &x->m, &x->reply);
    }
    if (st == RDLM_OK || st == RDLM_E_NOTATTACHED) { /* NOTATTACHED: the master forgot us */
        pthread_mutex_lock(&rd_mu);
        if ((p = entry_find(rd_id, e.kind)))
            entry_del(p);
        pthread_mutex_unlock(&rd_mu);
    }
    pthread_mutex_unlock(&ls->mu);
    free(x);
    return st;
}

int rdlm_rd_collect(rdlm_ls *ls, uint32_t rd_id, struct rdlm_rd_collection **out)
{
    struct rd_entry e, *p;
    struct rdlm_rd_collection *c;
    struct msgs *x;
    bool any;
    int st;

    if (!ls || !out)
        return RDLM_E_INVAL;
    *out = NULL;
    pthread_mutex_lock(&rd_mu);
    p = entry_find(rd_id, 0);
    if (p)
        e = *p;
    pthread_mutex_unlock(&rd_mu);
    if (!p)
        return RDLM_E_NOTATTACHED;
    if (e.coll)
        return RDLM_E_ALREADY;
    x = calloc(1, sizeof(*x));
    c = calloc(1, sizeof(*c));
    if (!x || !c) {
        free(x);
        free(c);
        return RDLM_E_NOMEM;
    }
    c->rd_id = rd_id;
    x->m.u.rd.op = RD_COLLECT;
    x->m.u.rd.rd_id = rd_id;
    x->m.u.rd.group = rdlm_glc_current();
    pthread_mutex_lock(&ls->mu);
    st = rd_ask_master(ls, e.name, e.namelen, &x->m, &x->reply);
    if (st == RDLM_OK) {
        st = rd_scan_all(ls, rd_id, c, &any, &x->m, &x->reply);
        if (st != RDLM_OK) { /* give the collection up: collectable again */
            memset(&x->m, 0, sizeof(x->m));
            x->m.u.rd.op = RD_ABORT;
            x->m.u.rd.rd_id = rd_id;
            rd_ask_master(ls, e.name, e.namelen, &x->m, &x->reply);
        }
    }
    if (st == RDLM_OK) {
        pthread_mutex_lock(&rd_mu);
        set_coll(rd_id, c);
        pthread_mutex_unlock(&rd_mu);
        *out = c;
    }
    pthread_mutex_unlock(&ls->mu);
    free(x);
    if (st != RDLM_OK)
        rdlm_rd_collection_free(c);
    return st;
}

/* RD_VALIDATE the collected resources mastered by (node, shard), in batches. */
static int validate_at(struct rdlm_ls *ls, uint32_t node, uint32_t shard,
                       const struct rdlm_rd_collection *c, struct msgs *x)
{
    struct cconn *cc = NULL;
    int st = RDLM_OK;

    memset(&x->m, 0, sizeof(x->m));
    for (uint32_t i = 0; i <= c->count && st == RDLM_OK; i++) {
        if (i < c->count) {
            const struct rdlm_rd_item *it = &c->items[i];
            struct rdlm_placement_target t =
                rdlm_place(ls->members, ls->nmembers, it->ls_id, 0, it->name, it->namelen);
            struct msg_rd_item *w;
            if (t.node != node || t.shard != shard)
                continue;
            w = &x->m.u.rd.items[x->m.u.rd.n++];
            w->lsid = it->ls_id;
            w->name.len = it->namelen;
            memcpy(w->name.bytes, it->name, it->namelen);
            if (x->m.u.rd.n < PROTO_RD_ITEMS)
                continue;
        }
        if (!x->m.u.rd.n)
            continue;
        x->m.u.rd.op = RD_VALIDATE;
        x->m.u.rd.rd_id = c->rd_id;
        if (!cc)
            cc = conn_for(ls, node, shard);
        st = rd_ask(ls, cc, &x->m, &x->reply);
        memset(&x->m, 0, sizeof(x->m));
    }
    return st;
}

int rdlm_rd_validate(rdlm_ls *ls, uint32_t rd_id, struct rdlm_rd_collection *c)
{
    struct rd_entry e, *p;
    struct msgs *x;
    bool any = false;
    int st = RDLM_OK;

    if (!ls || !c || c->rd_id != rd_id)
        return RDLM_E_INVAL;
    pthread_mutex_lock(&rd_mu);
    p = entry_find(rd_id, 0);
    if (p)
        e = *p;
    pthread_mutex_unlock(&rd_mu);
    if (!p) {
        rdlm_rd_collection_free(c);
        return RDLM_E_NOTATTACHED;
    }
    if (e.coll != c)
        return RDLM_E_INVAL;
    if (!(x = calloc(1, sizeof(*x))))
        return RDLM_E_NOMEM;
    pthread_mutex_lock(&ls->mu);
    for (size_t i = 0; i < ls->nmembers && st == RDLM_OK; i++)
        for (uint32_t s = 0; s < ls->members[i].shards && st == RDLM_OK; s++)
            st = validate_at(ls, ls->members[i].node, s, c, x);
    /* whatever is invalid now (a collected one whose validation failed, one that became
     * invalid since): more to recover */
    if (st == RDLM_OK)
        st = rd_scan_all(ls, rd_id, NULL, &any, &x->m, &x->reply);
    if (st == RDLM_OK || st == RDLM_E_NOTCONN) {
        int end;
        memset(&x->m, 0, sizeof(x->m));
        x->m.u.rd.op = RD_VALIDATE_END;
        x->m.u.rd.rd_id = rd_id;
        x->m.u.rd.group = rdlm_glc_current();
        x->m.u.rd.flags = any || st != RDLM_OK ? RDF_MORE : 0;
        end = rd_ask_master(ls, e.name, e.namelen, &x->m, &x->reply);
        st = end == RDLM_OK && st != RDLM_OK ? RDLM_E_MORE_TO_RECOVER : end;
    }
    if (st == RDLM_OK) {
        memset(&x->m, 0, sizeof(x->m));
        x->m.u.rd.op = RD_CLEAR;
        x->m.u.rd.rd_id = rd_id;
        rd_ask_all(ls, &x->m, &x->reply); /* a shard missed keeps its mark: the safe side */
    }
    pthread_mutex_unlock(&ls->mu);
    free(x);
    if (st == RDLM_E_INVAL)
        return st; /* not our outstanding collection at the master: c stays */
    pthread_mutex_lock(&rd_mu);
    set_coll(rd_id, NULL);
    pthread_mutex_unlock(&rd_mu);
    free(c->items);
    free(c);
    return st;
}

void rdlm_rd_collection_free(struct rdlm_rd_collection *c)
{
    struct rd_entry e = {0};
    bool outstanding = false;

    if (!c)
        return;
    pthread_mutex_lock(&rd_mu);
    for (unsigned i = 0; i < rd_n; i++)
        if (rd_tab[i].coll == c) {
            e = rd_tab[i];
            outstanding = true;
        }
    if (outstanding)
        set_coll(c->rd_id, NULL);
    pthread_mutex_unlock(&rd_mu);
    if (outstanding) { /* given up without validating: collectable again */
        struct msgs *x = calloc(1, sizeof(*x));
        if (x) {
            x->m.u.rd.op = RD_ABORT;
            x->m.u.rd.rd_id = c->rd_id;
            pthread_mutex_lock(&e.ls->mu);
            rd_ask_master(e.ls, e.name, e.namelen, &x->m, &x->reply);
            pthread_mutex_unlock(&e.ls->mu);
            free(x);
        }
    }
    free(c->items);
    free(c);
}

/* ---- recovery: the domain master of an attachment was lost (under ls->mu) ---- */

void rd_recover(struct rdlm_ls *ls)
{
    struct rd_entry v[RD_MAX_ATTACH];
    unsigned n = 0;
    struct msgs *x;

    pthread_mutex_lock(&rd_mu);
    for (unsigned i = 0; i < rd_n; i++) {
        struct rdlm_placement_target t = rd_master_of(ls, rd_tab[i].name, rd_tab[i].namelen);
        if (rd_tab[i].ls == ls && (t.node != rd_tab[i].mnode || t.shard != rd_tab[i].mshard))
            v[n++] = rd_tab[i];
    }
    pthread_mutex_unlock(&rd_mu);
    if (!n || !(x = calloc(1, sizeof(*x))))
        return;
    for (unsigned i = 0; i < n && !ls->broken; i++) {
        struct rdlm_placement_target t = rd_master_of(ls, v[i].name, v[i].namelen);
        memset(&x->m, 0, sizeof(x->m));
        x->m.u.rd.op = RD_ATTACH;
        x->m.u.rd.flags = v[i].kind | RDF_REATTACH | (v[i].coll ? RDF_COLLECTOR : 0);
        x->m.u.rd.rd_id = v[i].rd_id;
        x->m.u.rd.group = v[i].group;
        x->m.u.rd.namelen = v[i].namelen;
        memcpy(x->m.u.rd.name, v[i].name, v[i].namelen);
        if (rd_ask_master(ls, v[i].name, v[i].namelen, &x->m, &x->reply) == RDLM_OK) {
            struct rd_entry *p;
            pthread_mutex_lock(&rd_mu);
            if ((p = entry_find(v[i].rd_id, v[i].kind)) && p->ls == ls) {
                p->mnode = t.node;
                p->mshard = t.shard;
            }
            pthread_mutex_unlock(&rd_mu);
        }
    }
    free(x);
}
