/*
 * master/glc.c - group lock containers (TruCluster process lock groups), kept by shard 0 of
 * each node for the processes of that node (docs/protocol.md section 8).
 *
 *   process --GLC CREATE/ATTACH/DETACH/DESTROY--> home shard 0    (REPLY)
 *   process --GLC LOCK_ADD / LOCK_DEL-----------> home shard 0    (a group lock began / ended)
 *   process --GLC LOCK_FIND---------------------> home shard 0    (REPLY: lockspace, name)
 *   home shard 0 --GLC PURGE (ROLE_PEER)--------> every shard of the view (release its locks)
 *
 * A container's locks are owned, in every master's engine, by the owner GROUP(node, id); the
 * container ids of a node are unique across daemon restarts (incarnation in the high half).
 * The registry (LOCK_ADD/DEL) lets any attached process find a group lock another member
 * made: the lock's state itself stays with its master, which also tells this shard (the
 * keeper, keeper.c) every state a group lock reaches, so that the lock is rebuilt if its
 * master is lost even when no live member has a record of it. A container ends (its locks are
 * purged everywhere) at its last detach unless PERM, at destroy, and, if OWNED, when its
 * creator detaches or dies; then every other attached process is killed.
 */
#include "master/daemon.h"

#include "rdlm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GLC_MAX_PER_NODE 4096

struct glc_lock { /* a group lock, as registered by the member that created it */
    struct glc_lock *next;
    uint64_t lkid, lsid;
    struct msg_name name;
};

struct glc {
    struct glc *next;
    uint64_t id;
    uint32_t flags;
    uint32_t creator;     /* client id of the creator's attachment; UINT32_MAX when gone */
    uint32_t creator_pid; /* for the access rule of destroy */
    uint16_t nls;
    uint64_t lss[RDLM_GLC_MAX_LS_WIRE];
    uint32_t nmembers, cap;
    uint32_t *members; /* client ids of the attachments */
    struct glc_lock *locks;
    uint32_t nlocks;
};

struct glc_table {
    struct glc *all;
    uint32_t count;
    uint32_t serial;
};

static struct glc_table *table(struct shard *s)
{
    if (!s->glc)
        s->glc = calloc(1, sizeof(*s->glc));
    return s->glc;
}

static struct glc *find(struct glc_table *t, uint64_t id)
{
    for (struct glc *g = t ? t->all : NULL; g; g = g->next)
        if (g->id == id)
            return g;
    return NULL;
}

static int member_index(const struct glc *g, uint32_t client)
{
    for (uint32_t i = 0; i < g->nmembers; i++)
        if (g->members[i] == client)
            return (int)i;
    return -1;
}

/* The container process (pid, incarnation) is attached to, through any connection. */
static struct glc *attached_glc(struct shard *s, const struct mclient *c)
{
    for (struct glc *g = s->glc ? s->glc->all : NULL; g; g = g->next)
        for (uint32_t i = 0; i < g->nmembers; i++) {
            const struct mclient *o = client_by_id(s, g->members[i]);
            if (o && o->hello.pid == c->hello.pid && o->hello.incarnation == c->hello.incarnation)
                return g;
        }
    return NULL;
}

static struct glc *glc_of_member(struct shard *s, uint32_t client)
{
    for (struct glc *g = s->glc ? s->glc->all : NULL; g; g = g->next)
        if (member_index(g, client) >= 0)
            return g;
    return NULL;
}

static int add_member(struct glc *g, uint32_t client)
{
    if (g->nmembers == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 4;
        uint32_t *v = realloc(g->members, cap * sizeof(*v));
        if (!v)
            return RDLM_E_NOMEM;
        g->members = v;
        g->cap = cap;
    }
    g->members[g->nmembers++] = client;
    return RDLM_OK;
}

/* ---- PURGE: release a container's locks on every shard ---- */

/* This shard's part: the owner GROUP(node, id) loses its locks in every lockspace. */
static void purge_here(struct shard *s, uint16_t node, uint64_t id)
{
    struct eng_owner owner = {ENG_OWNER_GROUP, node, id};

    for (struct mls *ls = s->lss; ls; ls = ls->next) {
        struct orphan_watch w;
        orphan_watch_begin(ls, &w);
        eng_purge_owner(ls->e, &owner, &s->acts);
        orphan_watch_end(s, ls, &w);
        serve_settle(s, ls);
    }
}

static void purge_send(struct shard *s, uint16_t node, uint16_t shard, uint64_t id)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_GLC;
    m.u.glc.op = GLC_PURGE;
    m.u.glc.id = id;
    outbox_send(s, node, shard, &m);
}

/* Release container id's locks on every shard of every member of the view. */
static void purge_everywhere(struct shard *s, uint64_t id)
{
    struct glc_table *t = table(s);
    const struct rdlm_cluster_config *cfg = &s->d->cfg;

    purge_here(s, s->node, id);
    for (size_t i = 0; t && i < cfg->nnodes; i++) {
        if (!(s->view_mask & (1ull << i)))
            continue;
        for (uint32_t sh = 0; sh < cfg->nodes[i].shards; sh++)
            if (cfg->nodes[i].id != s->node || sh != s->index)
                purge_send(s, (uint16_t)cfg->nodes[i].id, (uint16_t)sh, id);
    }
}

/* ---- a container's end ---- */

static void free_glc(struct glc *g)
{
    while (g->locks) {
        struct glc_lock *k = g->locks;
        g->locks = k->next;
        free(k);
    }
    free(g->members);
    free(g);
}

/* Kill every attached process but the one on connection `except`; 0, or -1 if a kill
 * failed (then nothing else is done). */
static int kill_members(struct shard *s, struct glc *g, uint32_t except)
{
    for (uint32_t i = 0; i < g->nmembers; i++) {
        struct mclient *c = client_by_id(s, g->members[i]);
        if (!c || g->members[i] == except || c->hello.pid <= 1 ||
            c->hello.pid == (uint32_t)getpid())
            continue;
        if (kill((pid_t)c->hello.pid, SIGKILL) < 0 && errno != ESRCH)
            return -1;
    }
    return 0;
}

static void destroy(struct shard *s, struct glc *g, const char *why)
{
    struct glc_table *t = s->glc;

    for (struct glc **pp = &t->all; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    t->count--;
    if (s->d->verbose)
        log_msg("shard %u: group container %016llx ends (%s), %u locks released", s->index,
                (unsigned long long)g->id, why, g->nlocks);
    purge_everywhere(s, g->id);
    keeper_forget_group(s, g->id);
    free_glc(g);
}

/* The attachment on connection `client` ends (detach or the connection closed). */
static void detach(struct shard *s, struct glc *g, uint32_t client)
{
    int i = member_index(g, client);

    if (i < 0)
        return;
    g->members[i] = g->members[--g->nmembers];
    if ((g->flags & RDLM_GLC_OWNED) && client == g->creator) {
        kill_members(s, g, client);
        destroy(s, g, "its owner left");
        return;
    }
    if (client == g->creator)
        g->creator = UINT32_MAX;
    if (g->nmembers == 0 && !(g->flags & RDLM_GLC_PERM))
        destroy(s, g, "last detach");
}

/* ---- requests ---- */

static bool covers(const struct msg_glc *q, const struct glc *g)
{
    for (uint16_t i = 0; i < g->nls; i++) {
        bool found = false;
        for (uint16_t j = 0; j < q->nls && !found; j++)
            found = q->lss[j] == g->lss[i];
        if (!found)
            return false;
    }
    return true;
}

static bool overlaps(const struct msg_glc *q, const struct glc *g)
{
    for (uint16_t i = 0; i < g->nls; i++)
        for (uint16_t j = 0; j < q->nls; j++)
            if (q->lss[j] == g->lss[i])
                return true;
    return false;
}

static int do_create(struct shard *s, struct mclient *c, const struct msg_glc *q, uint64_t *id)
{
    struct glc_table *t = table(s);
    struct glc *g;

    if (!t)
        return RDLM_E_NOMEM;
    if ((q->flags & ~(RDLM_GLC_OWNED | RDLM_GLC_PERM)) ||
        (q->flags & RDLM_GLC_OWNED && q->flags & RDLM_GLC_PERM) || q->nls == 0)
        return RDLM_E_INVAL;
    if (attached_glc(s, c))
        return RDLM_E_ATTACHED;
    if (t->count >= GLC_MAX_PER_NODE)
        return RDLM_E_TOOMANY;
    g = calloc(1, sizeof(*g));
    if (!g || add_member(g, c->id) != RDLM_OK) {
        free(g);
        return RDLM_E_NOMEM;
    }
    g->id = ((uint64_t)s->d->incarnation << 32) | ++t->serial;
    g->flags = q->flags;
    g->creator = c->id;
    g->creator_pid = c->hello.pid;
    g->nls = q->nls;
    memcpy(g->lss, q->lss, q->nls * sizeof(q->lss[0]));
    g->next = t->all;
    t->all = g;
    t->count++;
    *id = g->id;
    return RDLM_OK;
}

static int do_attach(struct shard *s, struct mclient *c, const struct msg_glc *q)
{
    struct glc *g = find(s->glc, q->id);

    if (q->flags)
        return RDLM_E_INVAL;
    if (!g)
        return RDLM_E_NOENT;
    if (attached_glc(s, c))
        return RDLM_E_ATTACHED;
    if (!covers(q, g))
        return RDLM_E_NOTATTACHED;
    return add_member(g, c->id);
}

static int do_destroy(struct shard *s, struct mclient *c, const struct msg_glc *q)
{
    struct glc *g = find(s->glc, q->id);

    if (q->flags & ~(RDLM_GLC_LOCKS | RDLM_GLC_FORCE))
        return RDLM_E_INVAL;
    if (!g)
        return RDLM_E_NOENT;
    if (q->lkid != 0 && c->hello.pid != g->creator_pid && !overlaps(q, g))
        return RDLM_E_ACCESS; /* lkid: the caller's euid */
    if (g->nmembers > 0 && !(q->flags & RDLM_GLC_FORCE) &&
        !(g->nmembers == 1 && g->members[0] == c->id))
        return RDLM_E_HASPROCS;
    if (g->nlocks > 0 && !(q->flags & (RDLM_GLC_LOCKS | RDLM_GLC_FORCE)))
        return RDLM_E_HASLOCKS;
    if ((q->flags & RDLM_GLC_FORCE) && kill_members(s, g, c->id) < 0)
        return RDLM_E_KILLFAIL;
    destroy(s, g, "destroyed");
    return RDLM_OK;
}

static int do_lock_add(struct shard *s, struct mclient *c, const struct msg_glc *q)
{
    struct glc *g = find(s->glc, q->id);
    struct glc_lock *k;

    if (!g || member_index(g, c->id) < 0)
        return RDLM_E_NOTATTACHED;
    if (g->nlocks >= 1u << 20)
        return RDLM_E_TOOMANY;
    k = calloc(1, sizeof(*k));
    if (!k)
        return RDLM_E_NOMEM;
    *k = (struct glc_lock){g->locks, q->lkid, q->lsid, q->name};
    g->locks = k;
    g->nlocks++;
    return RDLM_OK;
}

static struct glc_lock **lock_slot(struct glc *g, uint64_t lkid)
{
    for (struct glc_lock **pp = &g->locks; *pp; pp = &(*pp)->next)
        if ((*pp)->lkid == lkid)
            return pp;
    return NULL;
}

static int do_lock_del(struct shard *s, struct mclient *c, const struct msg_glc *q)
{
    struct glc *g = find(s->glc, q->id);
    struct glc_lock **pp, *k;

    if (!g || member_index(g, c->id) < 0)
        return RDLM_E_NOTATTACHED;
    pp = lock_slot(g, q->lkid);
    if (!pp)
        return RDLM_E_NOLOCK;
    k = *pp;
    *pp = k->next;
    keeper_forget(s, k->lsid, k->lkid);
    free(k);
    g->nlocks--;
    return RDLM_OK;
}

bool glc_has_lock(struct shard *s, uint64_t container, uint64_t lkid)
{
    struct glc *g = find(s->glc, container);

    return g && lock_slot(g, lkid);
}

static int do_lock_find(struct shard *s, struct mclient *c, const struct msg_glc *q,
                        uint8_t *text, uint32_t *len)
{
    struct glc *g = find(s->glc, q->id);
    struct glc_lock **pp;

    if (!g || member_index(g, c->id) < 0)
        return RDLM_E_NOTATTACHED;
    pp = lock_slot(g, q->lkid);
    if (!pp)
        return RDLM_E_NOLOCK;
    for (int i = 0; i < 8; i++)
        text[i] = (uint8_t)((*pp)->lsid >> (8 * i));
    text[8] = (uint8_t)(*pp)->name.len;
    memcpy(text + 9, (*pp)->name.bytes, (*pp)->name.len);
    *len = 9u + (*pp)->name.len;
    return RDLM_OK;
}

/* A request from a process of this node (its home connection to shard 0). */
static void client_request(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_glc *q = &m->u.glc;
    uint8_t text[9 + RDLM_RESNAME_MAXLEN];
    uint32_t len = 0;
    uint64_t id = 0;
    int st;
    struct glc *g;

    switch (q->op) {
    case GLC_CREATE:
        st = do_create(s, c, q, &id);
        for (int i = 0; st == RDLM_OK && i < 8; i++)
            text[i] = (uint8_t)(id >> (8 * i));
        len = st == RDLM_OK ? 8 : 0;
        break;
    case GLC_ATTACH:
        st = do_attach(s, c, q);
        break;
    case GLC_DETACH:
        g = glc_of_member(s, c->id);
        st = g ? RDLM_OK : RDLM_E_NOTATTACHED;
        if (g)
            detach(s, g, c->id);
        break;
    case GLC_DESTROY:
        st = do_destroy(s, c, q);
        break;
    case GLC_LOCK_ADD:
        st = do_lock_add(s, c, q);
        break;
    case GLC_LOCK_DEL:
        st = do_lock_del(s, c, q);
        break;
    case GLC_LOCK_FIND:
        st = do_lock_find(s, c, q, text, &len);
        break;
    default:
        st = RDLM_E_INVAL;
    }
    send_reply(s, c, m->hdr.reqid, (uint8_t)st, text, len);
}

void glc_msg(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    if (m->u.glc.op == GLC_PURGE && c->hello.role == ROLE_PEER) {
        purge_here(s, c->hello.node, m->u.glc.id);
        return;
    }
    if (c->hello.role == ROLE_CLIENT && s->index == 0 && c->hello.node == s->node &&
        m->u.glc.op != GLC_PURGE) {
        client_request(s, c, m);
        return;
    }
    log_msg("shard %u: GLC op %u from %s (not its home, or not allowed); closing it", s->index,
            m->u.glc.op, rt_conn_peer(c->conn));
    s->stats.malformed++;
    c->closing = true;
}

/* ---- connections ---- */

void glc_conn_gone(struct shard *s, struct mclient *c)
{
    struct glc *g;

    if (c->hello.role == ROLE_CLIENT && (g = glc_of_member(s, c->id)))
        detach(s, g, c->id);
}

void glc_free(struct shard *s)
{
    if (!s->glc)
        return;
    while (s->glc->all) {
        struct glc *g = s->glc->all;
        s->glc->all = g->next;
        free_glc(g);
    }
    free(s->glc);
    s->glc = NULL;
}
