/*
 * master/engine_store.c - where the engine keeps things: the resource and lock-id hash
 * tables, the three circular queues of a resource, the owner table, the timer list, and the
 * engine's create/destroy. No lock-model rule lives here.
 */
#include "master/engine_internal.h"
#include "common/mix.h"

#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#define INITIAL_BUCKETS 64u

#define mix64 rdlm_mix64

static uint32_t res_hash(const struct eng_res *parent, const void *name, uint16_t namelen)
{
    return (uint32_t)XXH3_64bits_withSeed(name, namelen, (uint64_t)(uintptr_t)parent);
}

struct eng *eng_create(void)
{
    struct eng *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->res_nbuckets = INITIAL_BUCKETS;
    e->lock_nbuckets = INITIAL_BUCKETS;
    e->res_buckets = calloc(e->res_nbuckets, sizeof(*e->res_buckets));
    e->lock_buckets = calloc(e->lock_nbuckets, sizeof(*e->lock_buckets));
    e->owners_cap = 16;
    e->owners_n = 1; /* index 0 means "no owner" */
    e->owners = calloc(e->owners_cap, sizeof(*e->owners));
    if (!e->res_buckets || !e->lock_buckets || !e->owners) {
        eng_destroy(e);
        return NULL;
    }
    pool_init(&e->lock_pool, sizeof(struct eng_lock));
    return e;
}

void eng_destroy(struct eng *e)
{
    if (!e)
        return;
    for (size_t b = 0; b < e->lock_nbuckets && e->lock_buckets; b++)
        for (struct eng_lock *l = e->lock_buckets[b]; l; l = l->hnext)
            free(l->ext);
    for (size_t b = 0; b < e->res_nbuckets && e->res_buckets; b++) {
        struct eng_res *r = e->res_buckets[b];
        while (r) {
            struct eng_res *next = r->hnext;
            free(r->lvb);
            free(r);
            r = next;
        }
    }
    pool_destroy(&e->lock_pool);
    free(e->res_buckets);
    free(e->lock_buckets);
    free(e->owners);
    free(e->touched);
    free(e);
}

/* ---- resources ---- */

static void res_table_grow(struct eng *e)
{
    size_t n = e->res_nbuckets * 2;
    struct eng_res **b = calloc(n, sizeof(*b));

    if (!b)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < e->res_nbuckets; i++) {
        struct eng_res *r = e->res_buckets[i];
        while (r) {
            struct eng_res *next = r->hnext;
            r->hnext = b[r->hash & (n - 1)];
            b[r->hash & (n - 1)] = r;
            r = next;
        }
    }
    free(e->res_buckets);
    e->res_buckets = b;
    e->res_nbuckets = n;
}

struct eng_res *eng_res_find(const struct eng *e, const struct eng_res *parent, const void *name,
                             uint16_t namelen)
{
    uint32_t h = res_hash(parent, name, namelen);

    for (struct eng_res *r = e->res_buckets[h & (e->res_nbuckets - 1)]; r; r = r->hnext)
        if (r->hash == h && r->parent == parent && r->namelen == namelen &&
            memcmp(r->name, name, namelen) == 0)
            return r;
    return NULL;
}

struct eng_res *eng_res_get(struct eng *e, struct eng_res *parent, const void *name,
                            uint16_t namelen)
{
    struct eng_res *r = eng_res_find(e, parent, name, namelen);

    if (r)
        return r;
    r = calloc(1, sizeof(*r) + namelen);
    if (!r)
        return NULL;
    r->parent = parent;
    r->namelen = (uint8_t)namelen;
    memcpy(r->name, name, namelen);
    r->hash = res_hash(parent, name, namelen);
    if (e->res_count >= e->res_nbuckets)
        res_table_grow(e);
    r->hnext = e->res_buckets[r->hash & (e->res_nbuckets - 1)];
    e->res_buckets[r->hash & (e->res_nbuckets - 1)] = r;
    e->res_count++;
    if (parent)
        parent->nsubres++;
    return r;
}

static bool res_unused(const struct eng_res *r)
{
    return !r->q[Q_GRANTED] && !r->q[Q_CONVERTING] && !r->q[Q_WAITING] && r->nsubres == 0 &&
           !(r->flags & RES_PERSISTENT);
}

/* Free r, then its ancestors, while they are unused. */
void eng_res_release_if_unused(struct eng *e, struct eng_res *r)
{
    while (r && res_unused(r)) {
        struct eng_res *parent = r->parent;
        struct eng_res **pp = &e->res_buckets[r->hash & (e->res_nbuckets - 1)];

        while (*pp != r)
            pp = &(*pp)->hnext;
        *pp = r->hnext;
        e->res_count--;
        for (size_t i = 0; i < e->touched_n; i++)
            if (e->touched[i] == r)
                e->touched[i] = NULL;
        free(r->lvb);
        free(r);
        if (parent)
            parent->nsubres--;
        r = parent;
    }
}

/* ---- locks ---- */

static size_t lock_bucket(const struct eng *e, uint64_t lkid)
{
    return mix64(lkid) & (e->lock_nbuckets - 1);
}

static void lock_table_grow(struct eng *e)
{
    size_t n = e->lock_nbuckets * 2;
    struct eng_lock **b = calloc(n, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < e->lock_nbuckets; i++) {
        struct eng_lock *l = e->lock_buckets[i];
        while (l) {
            struct eng_lock *next = l->hnext;
            size_t nb = mix64(l->lkid) & (n - 1);
            l->hnext = b[nb];
            b[nb] = l;
            l = next;
        }
    }
    free(e->lock_buckets);
    e->lock_buckets = b;
    e->lock_nbuckets = n;
}

struct eng_lock *eng_lock_find(const struct eng *e, uint64_t lkid)
{
    for (struct eng_lock *l = e->lock_buckets[lock_bucket(e, lkid)]; l; l = l->hnext)
        if (l->lkid == lkid)
            return l;
    return NULL;
}

static void lock_hash_add(struct eng *e, struct eng_lock *l)
{
    size_t b = lock_bucket(e, l->lkid);

    l->hnext = e->lock_buckets[b];
    e->lock_buckets[b] = l;
}

static void lock_hash_del(struct eng *e, struct eng_lock *l)
{
    struct eng_lock **pp = &e->lock_buckets[lock_bucket(e, l->lkid)];

    while (*pp != l)
        pp = &(*pp)->hnext;
    *pp = l->hnext;
}

struct eng_lock *eng_lock_new(struct eng *e, uint64_t lkid, struct eng_res *r, uint32_t owner)
{
    struct eng_lock *l = pool_alloc(&e->lock_pool);

    if (!l)
        return NULL;
    if (e->lock_count >= e->lock_nbuckets)
        lock_table_grow(e);
    l->lkid = lkid;
    l->res = r;
    l->owner = owner;
    l->grmode = RDLM_MODE_IV;
    l->rqmode = RDLM_MODE_IV;
    l->highbast = RDLM_MODE_NL;
    l->stamp = e->stamp_seed++; /* a new lock with an old id does not look like the old one */
    lock_hash_add(e, l);
    e->lock_count++;
    e->owners[owner].nlocks++;
    return l;
}

void eng_lock_rekey(struct eng *e, struct eng_lock *l, uint64_t lkid)
{
    lock_hash_del(e, l);
    l->lkid = lkid;
    lock_hash_add(e, l);
}

struct eng_lock_ext *eng_lock_ext(struct eng_lock *l)
{
    if (!l->ext)
        l->ext = calloc(1, sizeof(*l->ext));
    return l->ext;
}

void eng_stamp_wrap(struct eng_lock *l)
{
    if (eng_lock_ext(l))
        l->ext->stamp_hi++;
    else
        l->bits |= LB_NOSTAMP; /* its stamp may repeat: a search never relies on it */
}

/* Unlink l from its parent's sublock list. */
static void lock_unlink_parent(struct eng_lock *l)
{
    struct eng_lock_ext *x = l->ext;
    struct eng_lock_ext *px;

    if (!x || !x->parent)
        return;
    px = x->parent->ext;
    if (x->sib_prev)
        x->sib_prev->ext->sib_next = x->sib_next;
    else
        px->child_first = x->sib_next;
    if (x->sib_next)
        x->sib_next->ext->sib_prev = x->sib_prev;
    else
        px->child_last = x->sib_prev;
    px->nchildren--;
    x->parent = NULL;
}

/* Remove l from its queue, the hash table, its parent and the timer list; free it. */
void eng_lock_delete(struct eng *e, struct eng_lock *l)
{
    if (l->state)
        eng_q_del(l->res, eng_q_of(l), l);
    eng_timer_disarm(e, l);
    lock_unlink_parent(l);
    lock_hash_del(e, l);
    e->owners[l->owner].nlocks--;
    e->lock_count--;
    free(l->ext);
    pool_free(&e->lock_pool, l);
}

/* ---- queues (circular doubly-linked lists, head pointer in the resource) ---- */

void eng_q_add(struct eng_res *r, int q, struct eng_lock *l, bool head)
{
    struct eng_lock *h = r->q[q];

    eng_stamp(l); /* every queue change is a state change */
    if (!h) {
        l->qnext = l->qprev = l;
        r->q[q] = l;
        return;
    }
    l->qnext = h;
    l->qprev = h->qprev;
    h->qprev->qnext = l;
    h->qprev = l;
    if (head)
        r->q[q] = l;
}

void eng_q_del(struct eng_res *r, int q, struct eng_lock *l)
{
    if (l->qnext == l) {
        r->q[q] = NULL;
    } else {
        l->qprev->qnext = l->qnext;
        l->qnext->qprev = l->qprev;
        if (r->q[q] == l)
            r->q[q] = l->qnext;
    }
    l->qnext = l->qprev = NULL;
}

void eng_lock_move(struct eng_lock *l, uint8_t state, bool head)
{
    eng_q_del(l->res, eng_q_of(l), l);
    l->state = state;
    eng_q_add(l->res, eng_q_of(l), l, head);
}

/* ---- owners ---- */

static bool owner_eq(const struct eng_owner *a, const struct eng_owner *b)
{
    return a->kind == b->kind && a->node == b->node && a->id == b->id;
}

/* Index of the owner record for o (created if new); 0 when out of memory. */
uint32_t eng_owner_intern(struct eng *e, const struct eng_owner *o)
{
    uint32_t free_slot = 0;

    for (uint32_t i = 1; i < e->owners_n; i++) {
        if (owner_eq(&e->owners[i].who, o))
            return i;
        if (!free_slot && e->owners[i].nlocks == 0)
            free_slot = i;
    }
    if (free_slot) {
        e->owners[free_slot].who = *o;
        return free_slot;
    }
    if (e->owners_n == e->owners_cap) {
        struct eng_owner_rec *n = realloc(e->owners, 2 * e->owners_cap * sizeof(*n));
        if (!n)
            return 0;
        e->owners = n;
        e->owners_cap *= 2;
    }
    e->owners[e->owners_n].who = *o;
    e->owners[e->owners_n].nlocks = 0;
    return e->owners_n++;
}

const struct eng_owner *eng_owner_of(const struct eng *e, const struct eng_lock *l)
{
    return &e->owners[l->owner].who;
}

/* ---- the timer list ---- */

void eng_timer_arm(struct eng *e, struct eng_lock *l, uint32_t timeout_cs)
{
    struct eng_lock_ext *x = eng_lock_ext(l);

    eng_timer_disarm(e, l);
    x->deadline = e->now_cs + timeout_cs;
    x->timeout_cs = timeout_cs;
    x->timer_armed = true;
    x->timer_prev = NULL;
    x->timer_next = e->timer_head;
    if (e->timer_head)
        e->timer_head->ext->timer_prev = l;
    e->timer_head = l;
}

void eng_timer_disarm(struct eng *e, struct eng_lock *l)
{
    struct eng_lock_ext *x = l->ext;

    if (!x || !x->timer_armed)
        return;
    if (x->timer_prev)
        x->timer_prev->ext->timer_next = x->timer_next;
    else
        e->timer_head = x->timer_next;
    if (x->timer_next)
        x->timer_next->ext->timer_prev = x->timer_prev;
    x->timer_armed = false;
    x->timeout_cs = 0;
    x->timer_next = x->timer_prev = NULL;
}

/* ---- purge bookkeeping ---- */

void eng_touch(struct eng *e, struct eng_res *r)
{
    for (size_t i = 0; i < e->touched_n; i++)
        if (e->touched[i] == r)
            return;
    if (e->touched_n == e->touched_cap) {
        size_t cap = e->touched_cap ? 2 * e->touched_cap : 16;
        struct eng_res **n = realloc(e->touched, cap * sizeof(*n));
        if (!n)
            abort(); /* bookkeeping of a purge in progress cannot be dropped */
        e->touched = n;
        e->touched_cap = cap;
    }
    e->touched[e->touched_n++] = r;
}

static int cmp_lkid(const void *a, const void *b)
{
    uint64_t x = (*(struct eng_lock *const *)a)->lkid;
    uint64_t y = (*(struct eng_lock *const *)b)->lkid;

    return x < y ? -1 : x > y;
}

/* Every lock for which pick() is true, sorted by lkid; *out is malloc'd (caller frees). */
size_t eng_collect_locks(const struct eng *e,
                         bool (*pick)(const struct eng *, const struct eng_lock *, const void *),
                         const void *arg, struct eng_lock ***out)
{
    size_t n = 0, cap = 16;
    struct eng_lock **v = malloc(cap * sizeof(*v));

    if (!v)
        abort();
    for (size_t b = 0; b < e->lock_nbuckets; b++) {
        for (struct eng_lock *l = e->lock_buckets[b]; l; l = l->hnext) {
            if (!pick(e, l, arg))
                continue;
            if (n == cap) {
                cap *= 2;
                struct eng_lock **nv = realloc(v, cap * sizeof(*v));
                if (!nv)
                    abort();
                v = nv;
            }
            v[n++] = l;
        }
    }
    qsort(v, n, sizeof(*v), cmp_lkid);
    *out = v;
    return n;
}

size_t eng_resource_count(const struct eng *e)
{
    return e->res_count;
}

size_t eng_lock_count(const struct eng *e)
{
    return e->lock_count;
}
