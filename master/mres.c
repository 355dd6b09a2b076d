/*
 * master/mres.c - what a shard masters: lockspaces (each with its lock engine), their root
 * resources (name -> slot, FAST/TRANSITION/SLOW state, interest set), and the slot tables:
 * lock words and LVB records in registered memory, allocated on the shard's NUMA node, that
 * clients CAS, READ and WRITE directly.
 *
 * Words are changed only through the transport's local atomics (docs/protocol.md invariant 4).
 * A free slot's word has SLOW set, so a client with a stale cached copy can never CAS it.
 */
#include "master/daemon.h"

#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/placement.h"
#include "master/topology.h"

/* ---- slot tables ---- */

int shard_tables_init(struct shard *s)
{
    size_t wlen = (size_t)s->nslots * sizeof(uint64_t);
    size_t llen = (size_t)s->nslots * sizeof(struct lvb_record);
    int rc;

    s->words = rdlm_numa_alloc(wlen, s->d->numa_node);
    s->lvbs = rdlm_numa_alloc(llen, s->d->numa_node);
    s->slot_res = calloc(s->nslots, sizeof(*s->slot_res));
    s->free_slots = malloc(s->nslots * sizeof(*s->free_slots));
    if (!s->words || !s->lvbs || !s->slot_res || !s->free_slots)
        return -12; /* -ENOMEM */
    for (uint32_t i = 0; i < s->nslots; i++) {
        s->words[i] = lw_make(1, true);
        s->free_slots[i] = s->nslots - 1 - i; /* pop from the end: slot 0 first */
    }
    s->nfree = s->nslots;
    rc = rt_reg(s->ctx, s->words, wlen, &s->words_mr);
    if (rc == 0)
        rc = rt_reg(s->ctx, s->lvbs, llen, &s->lvbs_mr);
    return rc;
}

void shard_tables_free(struct shard *s)
{
    while (s->lss) {
        struct mls *ls = s->lss;
        s->lss = ls->next;
        for (uint32_t b = 0; b < ls->nbuckets; b++)
            while (ls->buckets[b])
                mres_free(s, ls->buckets[b]);
        eng_destroy(ls->e);
        free(ls->buckets);
        free(ls);
    }
    if (s->words_mr)
        rt_dereg(s->words_mr);
    if (s->lvbs_mr)
        rt_dereg(s->lvbs_mr);
    rdlm_numa_free(s->words, (size_t)s->nslots * sizeof(uint64_t));
    rdlm_numa_free(s->lvbs, (size_t)s->nslots * sizeof(struct lvb_record));
    free(s->slot_res);
    free(s->free_slots);
}

uint64_t word_load(struct shard *s, uint32_t slot)
{
    return rt_local_load(s->words_mr, (size_t)slot * sizeof(uint64_t));
}

bool word_cas(struct shard *s, uint32_t slot, uint64_t expect, uint64_t swap)
{
    uint64_t old = 0;

    if (rt_local_cas(s->words_mr, (size_t)slot * sizeof(uint64_t), expect, swap, &old) < 0)
        return false;
    return old == expect;
}

/* Set a word the master alone may change (SLOW set, or a slot no client can use). */
void word_set(struct shard *s, uint32_t slot, uint64_t value)
{
    for (int i = 0; i < 1000; i++) {
        uint64_t cur = word_load(s, slot);
        if (cur == value || word_cas(s, slot, cur, value))
            return;
    }
    log_msg("shard %u: slot %u: word keeps changing under the master", s->index, slot);
}

static uint32_t slot_alloc(struct shard *s)
{
    uint32_t slot;
    uint64_t w;

    if (!s->nfree)
        return LW_NO_SLOT;
    slot = s->free_slots[--s->nfree];
    w = word_load(s, slot);
    word_set(s, slot, lw_make(lw_gen(w), false)); /* counts zero, SLOW clear: FAST */
    memset(&s->lvbs[slot], 0, sizeof(s->lvbs[slot]));
    return slot;
}

static void slot_release(struct shard *s, uint32_t slot)
{
    uint64_t w = word_load(s, slot);

    word_set(s, slot, lw_make((uint16_t)(lw_gen(w) + 1), true));
    memset(&s->lvbs[slot], 0, sizeof(s->lvbs[slot]));
    s->slot_res[slot] = NULL;
    s->free_slots[s->nfree++] = slot;
}

static bool grow(struct mres ***v, size_t *cap)
{
    size_t ncap = *cap ? 2 * *cap : 16;
    struct mres **nv = realloc(*v, ncap * sizeof(*nv));

    if (!nv)
        return false;
    *v = nv;
    *cap = ncap;
    return true;
}

/* ---- lockspaces ---- */

struct mls *mls_by_id(struct shard *s, uint64_t id)
{
    for (struct mls *ls = s->lss; ls; ls = ls->next)
        if (ls->id == id)
            return ls;
    return NULL;
}

struct mls *mls_get(struct shard *s, const char *name, uint16_t len)
{
    struct mls *ls;
    char buf[RDLM_LOCKSPACE_MAXLEN + 1];

    if (len == 0 || len > RDLM_LOCKSPACE_MAXLEN)
        return NULL;
    memcpy(buf, name, len);
    buf[len] = 0;
    for (ls = s->lss; ls; ls = ls->next)
        if (strcmp(ls->name, buf) == 0)
            return ls;
    ls = calloc(1, sizeof(*ls));
    if (!ls)
        return NULL;
    ls->e = eng_create();
    ls->nbuckets = 256;
    ls->buckets = calloc(ls->nbuckets, sizeof(*ls->buckets));
    if (!ls->e || !ls->buckets) {
        eng_destroy(ls->e);
        free(ls->buckets);
        free(ls);
        return NULL;
    }
    memcpy(ls->name, buf, len + 1);
    ls->id = rdlm_ls_seed(buf);
    rd_ls_new(s, ls);
    ls->next = s->lss;
    s->lss = ls;
    return ls;
}

/* ---- resources ---- */

static uint32_t bucket_of(const struct mls *ls, const uint8_t *name, uint16_t len)
{
    return (uint32_t)XXH3_64bits(name, len) & (ls->nbuckets - 1);
}

struct mres *mres_find(struct mls *ls, const uint8_t *name, uint16_t len)
{
    for (struct mres *r = ls->buckets[bucket_of(ls, name, len)]; r; r = r->hnext)
        if (r->namelen == len && memcmp(r->name, name, len) == 0)
            return r;
    return NULL;
}

static void grow_buckets(struct mls *ls)
{
    uint32_t n = ls->nbuckets * 2;
    struct mres **b = calloc(n, sizeof(*b));

    if (!b)
        return;
    for (uint32_t i = 0; i < ls->nbuckets; i++)
        while (ls->buckets[i]) {
            struct mres *r = ls->buckets[i];
            uint32_t nb = (uint32_t)XXH3_64bits(r->name, r->namelen) & (n - 1);
            ls->buckets[i] = r->hnext;
            r->hnext = b[nb];
            b[nb] = r;
        }
    free(ls->buckets);
    ls->buckets = b;
    ls->nbuckets = n;
}

struct mres *mres_get(struct shard *s, struct mls *ls, const uint8_t *name, uint16_t len)
{
    struct mres *r = mres_find(ls, name, len);
    uint32_t b;

    if (r || len == 0 || len > RDLM_RESNAME_MAXLEN)
        return r;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (ls->nres >= ls->nbuckets)
        grow_buckets(ls);
    r->ls = ls;
    r->namelen = (uint8_t)len;
    memcpy(r->name, name, len);
    r->slot = slot_alloc(s);
    r->state = r->slot == LW_NO_SLOT ? RS_SLOW : RS_FAST;
    if (r->slot != LW_NO_SLOT)
        s->slot_res[r->slot] = r;
    b = bucket_of(ls, name, len);
    r->hnext = ls->buckets[b];
    ls->buckets[b] = r;
    ls->nres++;
    return r;
}

struct mres *mres_by_slot(struct shard *s, uint32_t slot, uint16_t gen)
{
    struct mres *r;

    if (slot >= s->nslots)
        return NULL;
    r = s->slot_res[slot];
    if (!r || lw_gen(word_load(s, slot)) != gen)
        return NULL;
    return r;
}

void mres_free(struct shard *s, struct mres *r)
{
    struct mres **pp = &r->ls->buckets[bucket_of(r->ls, r->name, r->namelen)];

    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    r->ls->nres--;
    if (r->slot != LW_NO_SLOT)
        slot_release(s, r->slot);
    while (r->parked_head) {
        struct parked *p = r->parked_head;
        r->parked_head = p->next;
        free(p);
    }
    free(r->interest);
    free(r->awaiting);
    free(r->holds);
    free(r->hold_client);
    free(r->rec);
    free(r);
}

int mres_add_interest(struct mres *r, uint32_t client)
{
    for (uint32_t i = 0; i < r->ninterest; i++)
        if (r->interest[i] == client)
            return 0;
    if (r->ninterest == r->interest_cap) {
        uint32_t cap = r->interest_cap ? 2 * r->interest_cap : 4;
        uint32_t *v = realloc(r->interest, cap * sizeof(*v));
        uint8_t *a = realloc(r->awaiting, cap);
        if (!v || !a) {
            if (v)
                r->interest = v;
            if (a)
                r->awaiting = a;
            return -1;
        }
        r->interest = v;
        r->awaiting = a;
        r->interest_cap = cap;
    }
    r->awaiting[r->ninterest] = 0;
    r->interest[r->ninterest++] = client;
    return 0;
}

/* A client left: take it out of every interest set (finishing transitions that waited on it). */
/* The client is gone: it leaves every interest set. A FAST resource it cached whose word holds
 * counts is moved to the engine at once, so that the counts it held are released now (the
 * others' hold reports do not explain them: transition.c) rather than at the next contention:
 * until then a NOQUEUE request would be refused from the counts alone. */
void mres_drop_client(struct shard *s, uint32_t client)
{
    struct mres **fast = NULL;
    size_t n = 0, cap = 0;

    for (struct mls *ls = s->lss; ls; ls = ls->next)
        for (uint32_t b = 0; b < ls->nbuckets; b++)
            for (struct mres *r = ls->buckets[b]; r; r = r->hnext)
                for (uint32_t i = 0; i < r->ninterest; i++) {
                    if (r->interest[i] != client)
                        continue;
                    transition_client_gone(s, r, client);
                    if (r->state == RS_FAST && !lw_idle(word_load(s, r->slot)) &&
                        (n < cap || grow(&fast, &cap)))
                        fast[n++] = r;
                    break;
                }
    for (size_t i = 0; i < n; i++) /* after the walk: a transition may change the buckets */
        transition_start(s, fast[i]);
    free(fast);
}

/* Reclaim FAST slots idle for toss_ns: SLOW set, gen bumped, interest and LVB dropped. */
void slots_sweep(struct shard *s, uint64_t now, uint64_t toss_ns)
{
    for (uint32_t slot = 0; slot < s->nslots; slot++) {
        struct mres *r = s->slot_res[slot];
        uint64_t w;

        if (!r || r->state != RS_FAST)
            continue;
        w = word_load(s, slot);
        if (!lw_idle(w) || r->ninterest) {
            r->idle_since_ns = 0; /* in use, or cached by a connected client */
            continue;
        }
        if (!r->idle_since_ns)
            r->idle_since_ns = now;
        if (now - r->idle_since_ns < toss_ns)
            continue;
        /* The CAS fails if a client took a lock meanwhile: then it is not idle. */
        if (!word_cas(s, slot, w, lw_make(lw_gen(w), true)))
            continue;
        s->stats.reclaims++;
        mres_free(s, r);
    }
}
