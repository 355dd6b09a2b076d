/*
 * master/deadlock_graph.c - a deadlock search once its snapshot is complete (the design is at
 * the top of deadlock.c): build the wait graph from the edges deadlock_search.c collected, find
 * the shortest cycles through old waits, ask the masters of each cycle's edges to confirm them
 * (and answer such a request as a master), then have the victim of each confirmed cycle
 * cancelled by its master (deadlock.c) and end the search.
 */
#include "master/deadlock_internal.h"
#include "rdlm.h"

#include <stdlib.h>
#include <string.h>

/* ---- the graph ---- */

static int owner_qcmp(const void *a, const void *b)
{
    return dl_owner_cmp(a, b);
}

static int edge_cmp(const void *a, const void *b)
{
    const struct dl_edge *x = a, *y = b;

    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return x->e.waiter < y->e.waiter ? -1 : x->e.waiter > y->e.waiter;
}

static int32_t find_vertex(const struct dl_search *x, uint32_t src, uint64_t lkid)
{
    uint32_t lo = 0, hi = x->nv;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct dl_vertex *v = &x->v[mid];
        if (v->src == src && v->lkid == lkid)
            return (int32_t)mid;
        if (v->src < src || (v->src == src && v->lkid < lkid))
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int32_t find_owner(const struct dl_search *x, const struct msg_dl_owner *o)
{
    const struct msg_dl_owner *f =
        bsearch(o, x->owners, x->nowners, sizeof(*x->owners), owner_qcmp);

    return f ? (int32_t)(f - x->owners) : -1;
}

/* Vertices (one per waiting request), the owner table and each owner's vertices. */
static int build_graph(struct dl_search *x)
{
    uint32_t k = 0;

    if (x->nedges) /* no edge at all: edges is NULL, and qsort's pointer must not be */
        qsort(x->edges, x->nedges, sizeof(*x->edges), edge_cmp);
    x->v = calloc(x->nedges ? x->nedges : 1, sizeof(*x->v));
    x->owners = calloc(x->nedges ? x->nedges : 1, sizeof(*x->owners));
    if (!x->v || !x->owners)
        return -1;
    for (uint32_t i = 0; i < x->nedges; i++) {
        const struct dl_edge *e = &x->edges[i];
        if (x->nv && x->v[x->nv - 1].src == e->src && x->v[x->nv - 1].lkid == e->e.waiter) {
            x->v[x->nv - 1].n++;
            continue;
        }
        x->v[x->nv++] = (struct dl_vertex){
            .lkid = e->e.waiter, .src = e->src, .first = i, .n = 1, .old = e->e.flags & DLE_OLD};
        x->owners[x->nowners++] = e->e.wowner;
    }
    qsort(x->owners, x->nowners, sizeof(*x->owners), owner_qcmp);
    for (uint32_t i = 0; i < x->nowners; i++)
        if (k == 0 || dl_owner_cmp(&x->owners[k - 1], &x->owners[i]) != 0)
            x->owners[k++] = x->owners[i];
    x->nowners = k;
    x->owner_first = calloc(x->nowners + 1, sizeof(*x->owner_first));
    x->owner_v = calloc(x->nv ? x->nv : 1, sizeof(*x->owner_v));
    if (!x->owner_first || !x->owner_v)
        return -1;
    for (uint32_t i = 0; i < x->nv; i++) {
        x->v[i].owner = (uint32_t)find_owner(x, &x->edges[x->v[i].first].e.wowner);
        x->owner_first[x->v[i].owner + 1]++;
    }
    for (uint32_t o = 0; o < x->nowners; o++)
        x->owner_first[o + 1] += x->owner_first[o];
    {
        uint32_t *fill = calloc(x->nowners ? x->nowners : 1, sizeof(*fill));
        if (!fill)
            return -1;
        for (uint32_t i = 0; i < x->nv; i++) {
            uint32_t o = x->v[i].owner;
            x->owner_v[x->owner_first[o] + fill[o]++] = i;
        }
        free(fill);
    }
    return 0;
}

/* ---- cycles ---- */

/*
 * The arcs out of vertex u: for each edge, a lasting blocker leads to every wait of its
 * owner (the owner makes no move while it waits, so the blocker stays); a blocker that blocks
 * only while pending leads to its own wait alone (docs/protocol.md section 5).
 */
struct bfs {
    int32_t *prev_v;
    uint32_t *prev_e;
    uint32_t *queue;
    uint32_t work;
};

/* Shortest cycle through start over unused vertices; its length, 0 if none. */
static uint32_t find_cycle(struct dl_search *x, struct bfs *b, uint32_t start, struct dl_cycle *c)
{
    uint32_t head = 0, tail = 0, path[PROTO_DL_CYCLE], pe[PROTO_DL_CYCLE];

    for (uint32_t i = 0; i < x->nv; i++)
        b->prev_v[i] = -2; /* not reached */
    b->prev_v[start] = -1;
    b->queue[tail++] = start;
    while (head < tail) {
        uint32_t u = b->queue[head++];
        const struct dl_vertex *vu = &x->v[u];
        for (uint32_t ei = vu->first; ei < vu->first + vu->n; ei++) {
            const struct msg_dl_edge *e = &x->edges[ei].e;
            uint32_t from = 0, to = 0, single = 0;
            const uint32_t *list = &single;
            if (e->flags & DLE_LASTING) {
                int32_t o = find_owner(x, &e->bowner);
                if (o < 0)
                    continue;
                from = x->owner_first[o];
                to = x->owner_first[o + 1];
                list = x->owner_v;
            } else {
                int32_t t = find_vertex(x, vu->src, e->blocker);
                if (t < 0)
                    continue;
                single = (uint32_t)t;
                to = 1;
            }
            for (uint32_t j = from; j < to; j++) {
                uint32_t t = list[j];
                if (++b->work > DL_MAX_WORK)
                    return 0;
                if (x->v[t].used)
                    continue;
                if (t == start) { /* found: walk back from u */
                    uint32_t n = 0, cur = u, edge = ei;
                    for (;;) {
                        if (n == PROTO_DL_CYCLE)
                            return 0; /* too long to confirm in one message: left alone */
                        path[n] = cur;
                        pe[n++] = edge;
                        if (cur == start)
                            break;
                        edge = b->prev_e[cur];
                        cur = (uint32_t)b->prev_v[cur];
                    }
                    c->n = n;
                    for (uint32_t i = 0; i < n; i++) { /* reversed: start first */
                        c->vertex[i] = path[n - 1 - i];
                        c->edge[i] = pe[n - 1 - i];
                    }
                    return n;
                }
                if (b->prev_v[t] != -2)
                    continue;
                b->prev_v[t] = (int32_t)u;
                b->prev_e[t] = ei;
                b->queue[tail++] = t;
            }
        }
    }
    return 0;
}

/* ---- confirmation (at the master of an edge) ---- */

struct confirm_arg {
    const struct msg_dl_check *k;
    struct msg_dl_fact *f;
};

static bool match_edge(void *arg, const struct eng_wait *w)
{
    struct confirm_arg *a = arg;

    if (w->waiter.stamp != a->k->wstamp || w->blocker.lkid != a->k->blocker ||
        w->blocker.stamp != a->k->bstamp)
        return true;
    a->f->present = 1;
    a->f->wgrmode = w->waiter.grmode;
    a->f->wrqmode = w->waiter.rqmode;
    a->f->bgrmode = w->blocker.grmode;
    a->f->name.len = w->namelen;
    memcpy(a->f->name.bytes, w->name, w->namelen);
    return false;
}

static void confirm_edges(struct shard *s, uint64_t id, const struct msg_dl_check *k, uint32_t n,
                          struct msg_dl_fact *f)
{
    struct mls *ls = mls_by_id(s, id);

    for (uint32_t i = 0; i < n; i++) {
        struct confirm_arg a = {&k[i], &f[i]};
        memset(&f[i], 0, sizeof(f[i]));
        f[i].wgrmode = f[i].wrqmode = f[i].bgrmode = RDLM_MODE_IV;
        if (ls)
            eng_query_blockers(ls->e, k[i].waiter, match_edge, &a);
    }
}

void dl_answer_confirm(struct shard *s, struct mclient *c, const struct proto_msg *q)
{
    struct proto_msg *m = calloc(1, sizeof(*m));

    if (!m)
        return;
    m->hdr.type = MSG_DL_CONFIRMED;
    m->hdr.ls = q->hdr.ls;
    m->hdr.reqid = q->hdr.reqid;
    m->u.dl_confirmed.cycle = q->u.dl_confirm.cycle;
    m->u.dl_confirmed.n = q->u.dl_confirm.n;
    confirm_edges(s, q->hdr.ls, q->u.dl_confirm.c, q->u.dl_confirm.n, m->u.dl_confirmed.f);
    send_msg(s, c, m);
    free(m);
}

/* ---- confirmation (at the searcher) ---- */

/* Ask each master of cycle ci's edges; the local ones are checked at once. False if the
 * search had to end. */
static bool send_confirms(struct shard *s, struct dl_ls *l, uint32_t ci)
{
    struct dl_search *x = l->search;
    struct dl_cycle *c = &x->cycles[ci];
    struct proto_msg *m = calloc(1, sizeof(*m));
    bool sent[PROTO_DL_CYCLE] = {false};

    if (!m) {
        dl_search_end(s, l, "out of memory");
        return false;
    }
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t src = x->v[c->vertex[i]].src, idx[PROTO_DL_CYCLE], n = 0;
        struct msg_dl_check k[PROTO_DL_CYCLE];
        struct msg_dl_fact f[PROTO_DL_CYCLE];
        if (sent[i])
            continue;
        for (uint32_t j = i; j < c->n; j++) {
            const struct msg_dl_edge *e = &x->edges[c->edge[j]].e;
            if (x->v[c->vertex[j]].src != src)
                continue;
            sent[j] = true;
            idx[n] = j;
            k[n++] = (struct msg_dl_check){e->waiter, e->wstamp, e->blocker, e->bstamp};
        }
        if (src == s->dl->npeers) {
            confirm_edges(s, l->id, k, n, f);
            for (uint32_t j = 0; j < n; j++)
                c->fact[idx[j]] = f[j];
            continue;
        }
        struct dl_peer *p = &s->dl->peers[src];
        if (!p->c || !p->open || p->c->closing) {
            free(m);
            dl_search_end(s, l, "a peer went away");
            return false;
        }
        memset(m, 0, sizeof(*m));
        m->hdr.type = MSG_DL_CONFIRM;
        m->hdr.ls = l->id;
        m->hdr.reqid = x->id;
        m->u.dl_confirm.cycle = (uint8_t)ci;
        m->u.dl_confirm.n = (uint16_t)n;
        memcpy(m->u.dl_confirm.c, k, n * sizeof(k[0]));
        c->awaiting++;
        send_msg(s, p->c, m);
    }
    free(m);
    return true;
}

/* Cycle ci is fully answered: if every edge held, cancel its victim. */
static void resolve_cycle(struct shard *s, struct dl_ls *l, uint32_t ci)
{
    struct dl_search *x = l->search;
    struct dl_cycle *c = &x->cycles[ci];
    struct proto_msg *m;
    struct msg_dl_cancel *k;
    uint32_t victim = 0;

    c->done = true;
    for (uint32_t i = 0; i < c->n; i++)
        if (!c->fact[i].present)
            return; /* it changed: not (or no longer) a deadlock */
    m = calloc(1, sizeof(*m));
    if (!m)
        return;
    k = &m->u.dl_cancel;
    for (uint32_t i = 1; i < c->n; i++)
        if (x->v[c->vertex[i]].lkid > x->v[c->vertex[victim]].lkid)
            victim = i;
    m->hdr.type = MSG_DL_CANCEL;
    m->hdr.ls = l->id;
    m->hdr.reqid = x->id;
    k->victim = x->v[c->vertex[victim]].lkid;
    k->vstamp = x->edges[c->edge[victim]].e.wstamp;
    k->node = s->node;
    k->shard = (uint16_t)s->index;
    k->n = (uint16_t)c->n;
    for (uint32_t i = 0; i < c->n; i++) {
        const struct msg_dl_edge *e = &x->edges[c->edge[i]].e;
        k->s[i] = (struct msg_dl_step){
            .owner = e->wowner,
            .lkid = e->waiter,
            .blocker = e->blocker,
            .grmode = c->fact[i].wgrmode,
            .rqmode = c->fact[i].wrqmode,
            .bgrmode = c->fact[i].bgrmode,
            .name = c->fact[i].name,
        };
    }
    s->dl->cycles++;
    {
        uint32_t src = x->v[c->vertex[victim]].src;
        if (src == s->dl->npeers)
            dl_cancel_victim(s, l->id, k);
        else
            dl_send_to_peer(s, &s->dl->peers[src], m);
    }
    free(m);
}

static void search_maybe_done(struct shard *s, struct dl_ls *l)
{
    struct dl_search *x = l->search;

    for (uint32_t ci = 0; ci < x->ncycles; ci++) {
        if (!x->cycles[ci].done && x->cycles[ci].awaiting == 0)
            resolve_cycle(s, l, ci);
        if (!x->cycles[ci].done)
            return;
    }
    dl_search_end(s, l, NULL);
}

void dl_analyze(struct shard *s, struct dl_ls *l)
{
    struct dl_search *x = l->search;
    struct bfs b = {0};
    uint32_t *order = NULL, nold = 0, epoch;

    x->phase = PH_CONFIRM;
    membership_mask(s->d, &epoch, NULL);
    if (epoch != x->epoch) {
        dl_search_end(s, l, "the membership changed");
        return;
    }
    if (build_graph(x) < 0) {
        dl_search_end(s, l, "out of memory");
        return;
    }
    b.prev_v = calloc(x->nv ? x->nv : 1, sizeof(*b.prev_v));
    b.prev_e = calloc(x->nv ? x->nv : 1, sizeof(*b.prev_e));
    b.queue = calloc(x->nv ? x->nv : 1, sizeof(*b.queue));
    order = calloc(x->nv ? x->nv : 1, sizeof(*order));
    if (!b.prev_v || !b.prev_e || !b.queue || !order) {
        free(b.prev_v);
        free(b.prev_e);
        free(b.queue);
        free(order);
        dl_search_end(s, l, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < x->nv; i++)
        if (x->v[i].old)
            order[nold++] = i;
    for (uint32_t i = 0; i < nold && x->ncycles < DL_MAX_CYCLES; i++) {
        struct dl_cycle *c = &x->cycles[x->ncycles];
        if (x->v[order[i]].used || !find_cycle(x, &b, order[i], c))
            continue;
        for (uint32_t k = 0; k < c->n; k++)
            x->v[c->vertex[k]].used = true;
        x->ncycles++;
    }
    free(b.prev_v);
    free(b.prev_e);
    free(b.queue);
    free(order);
    for (uint32_t ci = 0; ci < x->ncycles; ci++)
        if (!send_confirms(s, l, ci))
            return; /* the search ended */
    search_maybe_done(s, l);
}

void dl_got_confirmed(struct shard *s, int p, const struct proto_msg *m)
{
    struct dl_ls *l = dl_search_of(s, m);
    struct dl_search *x = l ? l->search : NULL;
    const struct msg_dl_confirmed *a = &m->u.dl_confirmed;
    struct dl_cycle *c;
    uint32_t j = 0;

    if (!x || x->phase != PH_CONFIRM || a->cycle >= x->ncycles)
        return;
    c = &x->cycles[a->cycle];
    if (c->done || c->awaiting == 0)
        return;
    for (uint32_t i = 0; i < c->n; i++) { /* the facts come in the order the checks went */
        if (x->v[c->vertex[i]].src != (uint32_t)p)
            continue;
        if (j < a->n)
            c->fact[i] = a->f[j];
        j++;
    }
    if (j != a->n) { /* not what we asked: treat as not confirmed */
        for (uint32_t i = 0; i < c->n; i++)
            c->fact[i].present = 0;
    }
    c->awaiting--;
    search_maybe_done(s, l);
}
