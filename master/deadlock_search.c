/*
 * master/deadlock_search.c - a deadlock search's life cycle and its snapshot (the design is at
 * the top of deadlock.c): start a search, connect to and ask every (node, shard) of the
 * membership view for its wait-for edges, answer such a query as a master (owners made
 * cluster-wide, old waits marked), collect the answers, give up or end. Once every answer is
 * in, deadlock_graph.c takes over (dl_analyze).
 */
#include "master/deadlock_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- owners ---- */

static struct msg_dl_owner owner_of(struct shard *s, const struct eng_wait_lock *l)
{
    uint64_t cid;
    struct mclient *c;

    if (l->orphan)
        return (struct msg_dl_owner){DLO_LOCK, 0, 0, l->lkid};
    if (l->xid)
        return (struct msg_dl_owner){DLO_XID, 0, 0, l->xid};
    if (l->owner.kind == ENG_OWNER_GROUP)
        return (struct msg_dl_owner){DLO_GROUP, (uint16_t)l->owner.node, 0, l->owner.id};
    if (u64map_get(&s->lock_client, l->lkid, &cid) && (c = client_by_id(s, (uint32_t)cid)) &&
        c->hello.role == ROLE_CLIENT)
        return (struct msg_dl_owner){DLO_PROCESS, c->hello.node, c->hello.pid,
                                     c->hello.incarnation};
    return (struct msg_dl_owner){DLO_LOCK, 0, 0, l->lkid};
}

int dl_owner_cmp(const struct msg_dl_owner *a, const struct msg_dl_owner *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* ---- a master's edges ---- */

struct edge_list {
    struct shard *s;
    struct u64map *waits; /* for DLE_OLD; NULL: none is old */
    uint64_t now;
    struct msg_dl_edge *v;
    uint32_t n, cap, max, waiter_first;
    bool truncated;
};

static bool add_edge(void *arg, const struct eng_wait *w)
{
    struct edge_list *el = arg;
    struct msg_dl_edge e = {
        .waiter = w->waiter.lkid,
        .wstamp = w->waiter.stamp,
        .blocker = w->blocker.lkid,
        .bstamp = w->blocker.stamp,
        .wowner = owner_of(el->s, &w->waiter),
        .bowner = owner_of(el->s, &w->blocker),
        .flags = w->lasting ? DLE_LASTING : 0,
    };
    uint64_t since;

    if (dl_owner_cmp(&e.wowner, &e.bowner) == 0)
        return true; /* an owner waiting for itself: not a cycle of owners */
    if (el->n == 0 || el->v[el->n - 1].waiter != e.waiter)
        el->waiter_first = el->n;
    for (uint32_t i = el->waiter_first; i < el->n; i++) /* one lasting edge per owner is enough */
        if ((e.flags & DLE_LASTING) && (el->v[i].flags & DLE_LASTING) &&
            dl_owner_cmp(&el->v[i].bowner, &e.bowner) == 0)
            return true;
    if (el->waits && u64map_get(el->waits, e.waiter, &since) &&
        el->now - since >= dl_wait_ns(el->s))
        e.flags |= DLE_OLD;
    if (el->n == el->max) {
        el->truncated = true;
        return false;
    }
    if (el->n == el->cap) {
        uint32_t cap = el->cap ? 2 * el->cap : 64;
        struct msg_dl_edge *nv = realloc(el->v, cap * sizeof(*nv));
        if (!nv) {
            el->truncated = true;
            return false;
        }
        el->v = nv;
        el->cap = cap;
    }
    el->v[el->n++] = e;
    return true;
}

/* The edges of lockspace id at this shard (none if it does not know it). */
static void local_edges(struct shard *s, uint64_t id, uint32_t max, struct edge_list *el)
{
    struct mls *ls = mls_by_id(s, id);
    struct dl_ls *l = s->dl ? dl_ls_get(s->dl, id, false) : NULL;

    memset(el, 0, sizeof(*el));
    el->s = s;
    el->waits = l ? &l->waits : NULL;
    el->now = now_ns();
    el->max = max;
    if (ls)
        eng_query_waits(ls->e, add_edge, el);
}

void dl_answer_query(struct shard *s, struct mclient *c, const struct proto_msg *q)
{
    struct proto_msg *m = calloc(1, sizeof(*m));
    struct edge_list el;
    uint32_t i = 0;

    if (!m)
        return;
    local_edges(s, q->hdr.ls, DL_SHARD_EDGES, &el);
    m->hdr.type = MSG_DL_EDGES;
    m->hdr.ls = q->hdr.ls;
    m->hdr.reqid = q->hdr.reqid;
    do {
        uint32_t k = el.n - i < PROTO_DL_EDGES ? el.n - i : PROTO_DL_EDGES;
        if (k)
            memcpy(m->u.dl_edges.e, el.v + i, k * sizeof(*el.v));
        m->u.dl_edges.n = (uint16_t)k;
        i += k;
        m->u.dl_edges.last = i == el.n;
        m->u.dl_edges.truncated = el.truncated;
        if (send_msg(s, c, m) < 0)
            break;
    } while (i < el.n);
    free(el.v);
    free(m);
}

/* ---- a search ---- */

void dl_search_free(struct dl_search *x)
{
    if (!x)
        return;
    free(x->peer_state);
    free(x->edges);
    free(x->v);
    free(x->owners);
    free(x->owner_first);
    free(x->owner_v);
    free(x);
}

void dl_search_end(struct shard *s, struct dl_ls *l, const char *why)
{
    uint64_t now = now_ns();

    if (why) {
        s->dl->given_up++;
        if (now - s->dl->last_log_ns >= DL_LOG_EVERY_NS) {
            s->dl->last_log_ns = now;
            log_msg("shard %u: deadlock search gave up (%s); will retry", s->index, why);
        }
    }
    dl_search_free(l->search);
    l->search = NULL;
    l->last_search_ns = now;
}

void dl_send_to_peer(struct shard *s, struct dl_peer *p, struct proto_msg *m)
{
    if (p->c && p->open && !p->c->closing)
        send_msg(s, p->c, m);
}

void dl_ask_peer(struct shard *s, struct dl_ls *l, uint32_t i)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_DL_QUERY;
    m.hdr.ls = l->id;
    m.hdr.reqid = l->search->id;
    m.u.dl_query.node = s->node;
    m.u.dl_query.shard = (uint16_t)s->index;
    dl_send_to_peer(s, &s->dl->peers[i], &m);
    l->search->peer_state[i] = PS_ASKED;
}

static void connect_peer(struct shard *s, struct dl_peer *p)
{
    p->c = shard_connect_peer(s, p->node, p->shard);
    p->open = false;
}

static int add_edges(struct dl_search *x, const struct msg_dl_edge *e, uint32_t n, uint32_t src)
{
    for (uint32_t i = 0; i < n; i++) {
        if (x->nedges == DL_SEARCH_EDGES) {
            x->truncated = true;
            return 0;
        }
        if (x->nedges == x->cap) {
            uint32_t cap = x->cap ? 2 * x->cap : 256;
            struct dl_edge *nv = realloc(x->edges, cap * sizeof(*nv));
            if (!nv)
                return -1;
            x->edges = nv;
            x->cap = cap;
        }
        x->edges[x->nedges++] = (struct dl_edge){e[i], src};
    }
    return 0;
}

void dl_search_start(struct shard *s, struct dl_ls *l, uint64_t now)
{
    struct dl_shard *dl = s->dl;
    struct dl_search *x = calloc(1, sizeof(*x));
    struct edge_list el;
    uint64_t mask;

    if (!x)
        return;
    mask = membership_mask(s->d, &x->epoch, NULL);
    if (!(mask & (1ull << s->d->my_index)) || atomic_load(&s->d->excluded)) {
        free(x); /* not a member of a view (yet): nothing to search with */
        l->last_search_ns = now;
        return;
    }
    x->peer_state = calloc(dl->npeers ? dl->npeers : 1, 1);
    if (!x->peer_state) {
        free(x);
        return;
    }
    x->id = ++dl->next_id;
    x->started_ns = now;
    x->phase = PH_SNAPSHOT;
    l->search = x;
    dl->searches++;
    for (uint32_t i = 0; i < dl->npeers; i++) {
        struct dl_peer *p = &dl->peers[i];
        if (p->node_index < 0 || p->node_index >= 64 || !(mask & (1ull << p->node_index)))
            continue;
        x->outstanding++;
        if (!p->c)
            connect_peer(s, p);
        if (!p->c) {
            dl_search_end(s, l, "cannot connect to a peer");
            return;
        }
        x->peer_state[i] = PS_CONNECT;
        if (p->open)
            dl_ask_peer(s, l, i);
    }
    local_edges(s, l->id, DL_SHARD_EDGES, &el);
    if (add_edges(x, el.v, el.n, dl->npeers) < 0) {
        free(el.v);
        dl_search_end(s, l, "out of memory");
        return;
    }
    x->truncated |= el.truncated;
    free(el.v);
    if (x->outstanding == 0)
        dl_analyze(s, l);
}

/* ---- collecting the answers ---- */

struct dl_ls *dl_search_of(struct shard *s, const struct proto_msg *m)
{
    struct dl_ls *l = s->dl ? dl_ls_get(s->dl, m->hdr.ls, false) : NULL;

    return l && l->search && l->search->id == m->hdr.reqid ? l : NULL;
}

void dl_got_edges(struct shard *s, int p, const struct proto_msg *m)
{
    struct dl_ls *l = dl_search_of(s, m);
    struct dl_search *x = l ? l->search : NULL;

    if (!x || x->phase != PH_SNAPSHOT || x->peer_state[p] != PS_ASKED)
        return; /* an answer to a search that ended */
    if (add_edges(x, m->u.dl_edges.e, m->u.dl_edges.n, (uint32_t)p) < 0) {
        dl_search_end(s, l, "out of memory");
        return;
    }
    x->truncated |= m->u.dl_edges.truncated;
    if (!m->u.dl_edges.last)
        return;
    x->peer_state[p] = PS_DONE;
    if (--x->outstanding == 0)
        dl_analyze(s, l);
}
