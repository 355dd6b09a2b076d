/*
 * master/deadlock.c - the multi-resource deadlock search across masters (docs/protocol.md
 * section 5): "snapshot + confirm".
 *
 * Every shard remembers when each request it queued started waiting. A shard holding a wait
 * older than deadlock_wait_ms becomes a searcher for that lockspace (one search at a time per
 * shard and lockspace, the next no sooner than deadlock_wait/2 after the last): it asks every
 * (node, shard) of the membership view, itself included without a message, for its wait-for
 * edges (engine.h eng_query_waits, with cluster-wide owners), builds the wait graph, finds
 * cycles through a wait older than deadlock_wait, then asks the masters of each cycle's edges
 * whether every edge is still there with both locks' stamps unchanged. A confirmed cycle is a
 * deadlock: its waiting request with the largest lock id (so concurrent searchers of one cycle
 * agree) is cancelled with RDLM_E_DEADLOCK by its master, which records the cycle in a ring
 * that `rdlmctl deadlocks` shows. A peer that fails or does not answer makes the search give
 * up; the next one starts later.
 *
 * The connections to other shards (ROLE_PEER) are opened on first need and kept.
 *
 * The search lives in three files, which share master/deadlock_internal.h:
 *   deadlock.c         this file: per-shard state, the wait starts, the victim's cancellation
 *                      and the ring of deadlocks, the DL_* message dispatch, peer connections,
 *                      the scan that starts searches and times them out, what rdlmctl shows
 *   deadlock_search.c  a search's life cycle and its snapshot: asking every (node, shard) for
 *                      its wait-for edges, answering such a query, collecting the answers
 *   deadlock_graph.c   the wait graph and its cycles, their confirmation at the masters of
 *                      their edges, the choice of the victim
 */
#include "master/deadlock_internal.h"
#include "rdlm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the scan interval and the search timeout ---- */

static uint64_t scan_ns(const struct shard *s)
{
    uint64_t n = dl_wait_ns(s) / 4;

    return n < 10000000ull ? 10000000ull : n > 100000000ull ? 100000000ull : n;
}

static uint64_t timeout_ns(const struct shard *s)
{
    uint64_t n = 2 * dl_wait_ns(s);

    return n < 5000000000ull ? 5000000000ull : n;
}

/* ---- per-shard state ---- */

static struct dl_shard *dl_get(struct shard *s)
{
    const struct rdlm_cluster_config *cfg = &s->d->cfg;
    struct dl_shard *dl;
    uint32_t n = 0;

    if (s->dl)
        return s->dl;
    dl = calloc(1, sizeof(*dl));
    if (!dl)
        return NULL;
    for (size_t i = 0; i < cfg->nnodes; i++)
        n += cfg->nodes[i].shards;
    dl->peers = calloc(n ? n : 1, sizeof(*dl->peers));
    if (!dl->peers) {
        free(dl);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nnodes; i++)
        for (uint32_t k = 0; k < cfg->nodes[i].shards; k++) {
            if (cfg->nodes[i].id == s->node && k == s->index)
                continue;
            dl->peers[dl->npeers++] = (struct dl_peer){
                .node = (uint16_t)cfg->nodes[i].id, .shard = (uint16_t)k, .node_index = (int)i};
        }
    s->dl = dl;
    return dl;
}

struct dl_ls *dl_ls_get(struct dl_shard *dl, uint64_t id, bool create)
{
    struct dl_ls *l;

    for (l = dl->lss; l; l = l->next)
        if (l->id == id)
            return l;
    if (!create || !(l = calloc(1, sizeof(*l))))
        return NULL;
    l->id = id;
    u64map_init(&l->waits);
    l->next = dl->lss;
    dl->lss = l;
    return l;
}

static bool pending(const struct eng_lock_info *li)
{
    return li->state == ENG_LKS_CONVERTING || li->state == ENG_LKS_WAITING;
}

void deadlock_note_wait(struct shard *s, struct mls *ls, uint64_t lkid)
{
    struct dl_shard *dl = dl_get(s);
    struct eng_lock_info li;
    struct dl_ls *l;

    if (!dl || eng_query_lock(ls->e, lkid, &li) != RDLM_OK || !pending(&li))
        return;
    l = dl_ls_get(dl, ls->id, true);
    if (l)
        u64map_put(&l->waits, lkid, now_ns());
}

/* ---- the victim (at its master) ---- */

static void record(struct shard *s, const struct mls *ls, const struct msg_dl_cancel *k)
{
    struct dl_shard *dl = dl_get(s);
    struct dl_record *r;

    if (!dl)
        return;
    r = &dl->ring[dl->recorded++ % DL_RING];
    memset(r, 0, sizeof(*r));
    clock_gettime(CLOCK_REALTIME, &r->when);
    memcpy(r->ls, ls->name, sizeof(r->ls));
    r->victim = k->victim;
    r->node = k->node;
    r->shard = k->shard;
    r->n = k->n < PROTO_DL_CYCLE ? k->n : PROTO_DL_CYCLE;
    memcpy(r->s, k->s, r->n * sizeof(r->s[0]));
}

void dl_cancel_victim(struct shard *s, uint64_t id, const struct msg_dl_cancel *k)
{
    struct mls *ls = mls_by_id(s, id);
    struct eng_lock_info li;
    struct mres *r = NULL;

    if (!ls || eng_query_lock(ls->e, k->victim, &li) != RDLM_OK || !pending(&li) ||
        li.stamp != k->vstamp)
        return; /* gone or changed: another searcher was first, or the cycle broke */
    if (!li.parent_lkid)
        r = mres_find(ls, li.name, li.namelen);
    if (eng_cancel_deadlock(ls->e, k->victim, &s->acts) != RDLM_OK) {
        eng_actions_clear(&s->acts);
        return;
    }
    log_msg("shard %u: deadlock in %s: a cycle of %u, found by node %u shard %u; victim %016lx "
            "on \"%.*s\"",
            s->index, ls->name, k->n, k->node, k->shard, (unsigned long)k->victim, li.namelen,
            li.name);
    record(s, ls, k);
    serve_actions(s, ls);
    if (r) {
        serve_sync_word(s, r);
        transition_maybe_fast(s, r);
    }
}

/* ---- messages ---- */

static int peer_index(struct shard *s, const struct mclient *c)
{
    for (uint32_t i = 0; s->dl && i < s->dl->npeers; i++)
        if (s->dl->peers[i].c == c)
            return (int)i;
    return -1;
}

void deadlock_msg(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    int p = peer_index(s, c);

    switch (m->hdr.type) {
    case MSG_DL_QUERY:
    case MSG_DL_CONFIRM:
    case MSG_DL_CANCEL:
        if (c->hello.role != ROLE_PEER)
            break;
        if (m->hdr.type == MSG_DL_QUERY)
            dl_answer_query(s, c, m);
        else if (m->hdr.type == MSG_DL_CONFIRM)
            dl_answer_confirm(s, c, m);
        else
            dl_cancel_victim(s, m->hdr.ls, &m->u.dl_cancel);
        return;
    case MSG_DL_EDGES:
    case MSG_DL_CONFIRMED:
        if (p < 0)
            break;
        if (m->hdr.type == MSG_DL_EDGES)
            dl_got_edges(s, p, m);
        else
            dl_got_confirmed(s, p, m);
        return;
    }
    log_msg("shard %u: unexpected %s from %s; closing it", s->index, proto_type_name(m->hdr.type),
            rt_conn_peer(c->conn));
    s->stats.malformed++;
    c->closing = true;
}

/* ---- connections ---- */

void deadlock_conn_up(struct shard *s, struct mclient *c)
{
    int p = peer_index(s, c);

    if (p < 0)
        return;
    s->dl->peers[p].open = true;
    for (struct dl_ls *l = s->dl->lss; l; l = l->next)
        if (l->search && l->search->phase == PH_SNAPSHOT && l->search->peer_state[p] == PS_CONNECT)
            dl_ask_peer(s, l, (uint32_t)p);
}

void deadlock_conn_gone(struct shard *s, struct mclient *c)
{
    int p = peer_index(s, c);

    if (p < 0)
        return;
    s->dl->peers[p].c = NULL;
    s->dl->peers[p].open = false;
    for (struct dl_ls *l = s->dl->lss; l; l = l->next) {
        struct dl_search *x = l->search;
        bool needed = false;
        if (!x)
            continue;
        if (x->phase == PH_SNAPSHOT)
            needed = x->peer_state[p] == PS_CONNECT || x->peer_state[p] == PS_ASKED;
        for (uint32_t ci = 0; x->phase == PH_CONFIRM && ci < x->ncycles; ci++)
            for (uint32_t i = 0; i < x->cycles[ci].n; i++)
                needed |= !x->cycles[ci].done && x->v[x->cycles[ci].vertex[i]].src == (uint32_t)p;
        if (needed)
            dl_search_end(s, l, "a peer went away");
    }
}

/* ---- time ---- */

/* Drop the waits that ended; true if a wait older than deadlock_wait remains. */
static bool prune_waits(struct shard *s, struct dl_ls *l, uint64_t now)
{
    struct mls *ls = mls_by_id(s, l->id);
    uint64_t *gone = NULL, lkid, since;
    size_t pos = 0, ngone = 0, cap = 0;
    bool old = false;

    while (u64map_next(&l->waits, &pos, &lkid, &since)) {
        struct eng_lock_info li;
        if (ls && eng_query_lock(ls->e, lkid, &li) == RDLM_OK && pending(&li) &&
            !(li.flags & RDLM_LKF_NODLCKWT)) {
            old |= now - since >= dl_wait_ns(s);
            continue;
        }
        if (ngone == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            uint64_t *v = realloc(gone, ncap * sizeof(*v));
            if (!v)
                break;
            gone = v;
            cap = ncap;
        }
        gone[ngone++] = lkid;
    }
    for (size_t i = 0; i < ngone; i++)
        u64map_del(&l->waits, gone[i]);
    free(gone);
    return old;
}

void deadlock_tick(struct shard *s, uint64_t now)
{
    struct dl_shard *dl = s->dl;

    if (!dl || now - dl->last_scan_ns < scan_ns(s))
        return;
    dl->last_scan_ns = now;
    for (struct dl_ls *l = dl->lss; l; l = l->next) {
        if (l->search) {
            if (now - l->search->started_ns >= timeout_ns(s))
                dl_search_end(s, l, "no answer in time");
            continue;
        }
        if (l->waits.n == 0 || now - l->last_search_ns < dl_wait_ns(s) / 2 ||
            !prune_waits(s, l, now)) /* prunes, and says whether an old wait remains */
            continue;
        dl_search_start(s, l, now);
    }
}

/* ---- what rdlmctl shows ---- */

static int owner_text(const struct msg_dl_owner *o, char *buf, size_t len)
{
    switch (o->kind) {
    case DLO_PROCESS:
        return snprintf(buf, len, "process %u on node %u (handle %08x)", o->pid, o->node,
                        (unsigned)o->id);
    case DLO_GROUP:
        return snprintf(buf, len, "group %lu on node %u", (unsigned long)o->id, o->node);
    case DLO_XID:
        return snprintf(buf, len, "transaction %#lx", (unsigned long)o->id);
    default:
        return snprintf(buf, len, "lock %016lx", (unsigned long)o->id);
    }
}

int deadlock_status(struct shard *s, char *buf, size_t len)
{
    const struct dl_shard *dl = s->dl;
    size_t waits = 0;

    for (const struct dl_ls *l = dl ? dl->lss : NULL; l; l = l->next)
        waits += l->waits.n;
    return snprintf(buf, len,
                    "  deadlocks %lu (victims cancelled here), searches %lu (gave up %lu), "
                    "cycles confirmed %lu, waits tracked %zu\n",
                    (unsigned long)(dl ? dl->recorded : 0), (unsigned long)(dl ? dl->searches : 0),
                    (unsigned long)(dl ? dl->given_up : 0), (unsigned long)(dl ? dl->cycles : 0),
                    waits);
}

static size_t put(size_t len, size_t off, int n)
{
    if (n < 0)
        return off;
    return off + (size_t)n < len ? off + (size_t)n : len - 1; /* truncated: the NUL stays */
}

int deadlock_list(struct shard *s, char *buf, size_t len)
{
    const struct dl_shard *dl = s->dl;
    uint64_t total = dl ? dl->recorded : 0;
    size_t off = 0;

    if (len == 0)
        return 0;
    buf[0] = 0;
    off = put(len, off,
              snprintf(buf, len, "node %u shard %u: %lu deadlock(s) resolved here%s\n", s->node,
                       s->index, (unsigned long)total, total ? " (most recent first)" : ""));
    for (uint64_t i = 0; i < total && i < DL_RING && off < len; i++) {
        const struct dl_record *r = &dl->ring[(total - 1 - i) % DL_RING];
        struct tm tm;
        char when[32], who[96];
        gmtime_r(&r->when.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        off = put(len, off,
                  snprintf(buf + off, len - off,
                           "  %s lockspace %s: cycle of %u, found by node %u shard %u, victim "
                           "%016lx\n",
                           when, r->ls, r->n, r->node, r->shard, (unsigned long)r->victim));
        for (uint32_t k = 0; k < r->n && off < len; k++) {
            const struct msg_dl_step *st = &r->s[k];
            owner_text(&st->owner, who, sizeof(who));
            off = put(len, off,
                      snprintf(buf + off, len - off,
                               "    %s %016lx %s->%s on \"%.*s\" waits for %016lx (%s)%s\n", who,
                               (unsigned long)st->lkid, rdlm_mode_str(st->grmode),
                               rdlm_mode_str(st->rqmode), st->name.len, st->name.bytes,
                               (unsigned long)st->blocker, rdlm_mode_str(st->bgrmode),
                               st->lkid == r->victim ? "  <- victim" : ""));
        }
    }
    return (int)off;
}

void deadlock_free(struct shard *s)
{
    struct dl_shard *dl = s->dl;

    if (!dl)
        return;
    while (dl->lss) {
        struct dl_ls *l = dl->lss;
        dl->lss = l->next;
        dl_search_free(l->search);
        u64map_free(&l->waits);
        free(l);
    }
    free(dl->peers);
    free(dl);
    s->dl = NULL;
}
