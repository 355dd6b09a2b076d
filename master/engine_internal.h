/*
 * master/engine_internal.h - the engine's data structures and the functions its files share.
 *
 * Files of the engine, by concern:
 *   engine_tables.c   the three 6x6 tables (compatibility, LVB operation, QUECVT legality)
 *   engine_store.c    resources and locks: hash tables, queues, owners, allocation
 *   engine_grant.c    grantability, grant + LVB, grant-pending, blocking ASTs
 *   engine_request.c  eng_request: validation, new requests, conversions, orphan adoption
 *   engine_release.c  unlock, cancel, timeouts, owner and orphan purges
 *   engine_query.c    queries and action lists
 *
 * Memory: a lock is 64 bytes from a pool (plus 8 for its hash bucket); its rarely used fields
 * (parent, children, timer, xid, hint, a saved LVB, the high bits of its stamp) live in an
 * extension allocated on demand.
 * A resource is 66 bytes plus its name, malloc'd; its LVB is allocated on first write.
 */
#ifndef RDLM_MASTER_ENGINE_INTERNAL_H
#define RDLM_MASTER_ENGINE_INTERNAL_H

#include "master/engine.h"
#include "master/pool.h"
#include "common/modes.h"

enum { Q_GRANTED = 0, Q_CONVERTING = 1, Q_WAITING = 2, Q_COUNT = 3 };

/* lock->bits */
#define LB_HAS_BAST   0x01u /* the lock has a blocking callback */
#define LB_ORPHAN     0x02u /* owner died, lock kept (PERSISTENT) */
#define LB_SAVED_BAST 0x04u /* has_bast before the pending conversion */
#define LB_SAVED_LVB  0x08u /* ext->lvb holds the caller's LVB for a queued write-path grant */
#define LB_NOSTAMP    0x10u /* the stamp could not be kept (no memory at a wrap): never reported */

struct eng_lock;

/* Fields most locks never need. */
struct eng_lock_ext {
    struct eng_lock *parent;      /* parent lock, for a lock on a sub-resource */
    struct eng_lock *child_first; /* sublocks, in creation order */
    struct eng_lock *child_last;
    struct eng_lock *sib_next, *sib_prev;     /* links among the parent's sublocks */
    struct eng_lock *timer_next, *timer_prev; /* links on the engine's timer list */
    uint64_t deadline;                        /* clock value at which the request times out */
    uint32_t timeout_cs;                      /* timeout of the pending request */
    bool timer_armed;                         /* on the timer list */
    uint32_t nchildren;
    uint64_t xid;              /* deadlock-search owner, 0 = the owner */
    uint64_t hint;             /* given to locks this request blocks */
    uint64_t saved_hint;       /* hint before the pending conversion */
    uint8_t lvb[RDLM_LVB_LEN]; /* caller's LVB for a queued write-path grant */
    uint64_t stamp_hi;         /* wraps of eng_lock.stamp */
};

struct eng_lock {
    struct eng_lock *qnext, *qprev; /* resource queue, circular */
    struct eng_lock *hnext;         /* lock-id hash chain */
    struct eng_res *res;
    uint64_t lkid;
    struct eng_lock_ext *ext; /* NULL unless needed */
    uint32_t flags;           /* RDLM_LKF_* of the last request */
    uint32_t owner;           /* index into the owner table */
    int8_t grmode;            /* granted mode, RDLM_MODE_IV if never granted */
    int8_t rqmode;            /* requested mode (== grmode when nothing pending) */
    int8_t highbast;          /* highest BAST mode since the last grant (NL = none) */
    uint8_t state;            /* enum eng_lock_state */
    uint8_t sbflags;          /* DEMOTED / ALTMODE not yet reported */
    uint8_t bits;             /* LB_* */
    uint16_t stamp;           /* low bits of the lock's change count (eng_stamp) */
};
_Static_assert(sizeof(void *) != 8 || sizeof(struct eng_lock) == 64, "a lock is 64 bytes");

struct eng_lvb {
    uint64_t seq;
    uint8_t status; /* enum eng_lvb_status */
    uint8_t data[RDLM_LVB_LEN];
};

#define RES_PERSISTENT 0x01u

struct eng_res {
    struct eng_res *hnext;       /* resource hash chain */
    struct eng_res *parent;      /* parent resource of a sub-resource, NULL for a root */
    struct eng_lock *q[Q_COUNT]; /* queue heads (circular lists) */
    struct eng_lvb *lvb;         /* NULL until first written or invalidated */
    uint32_t hash;
    uint32_t nsubres;    /* sub-resources alive under this one */
    uint32_t rd_id;      /* recovery domain of a persistent resource */
    uint32_t bast_count; /* blocking ASTs emitted for this resource */
    uint8_t flags;       /* RES_* */
    uint8_t namelen;
    uint8_t name[];
};

struct eng_owner_rec {
    struct eng_owner who;
    uint32_t nlocks; /* locks (incl. orphans) referring to this record */
};

struct eng {
    struct eng_res **res_buckets; /* resource hash table */
    size_t res_nbuckets, res_count;
    struct eng_lock **lock_buckets; /* lock-id hash table */
    size_t lock_nbuckets, lock_count;
    struct pool lock_pool;
    struct eng_owner_rec *owners; /* owner table (index 0 unused) */
    uint32_t owners_n, owners_cap;
    struct eng_lock *timer_head; /* locks with a TIMEOUT request pending */
    uint64_t now_cs;             /* the clock */
    struct eng_res **touched;    /* resources affected by a purge, in order */
    size_t touched_n, touched_cap;
    uint16_t stamp_seed; /* first stamp of the next new lock */
    eng_rd_create_fn rd_create; /* engine_rd.c: does a new persistent resource start invalid? */
    void *rd_arg;
};

/* engine_tables.c */
#define LVB_READ  RDLM_LVB_READ
#define LVB_WRITE RDLM_LVB_WRITE
#define eng_lvbop rdlm_lvbop
extern const bool eng_quecvt_ok[RDLM_MODE_COUNT][RDLM_MODE_COUNT];
static inline bool eng_modes_compat(int held, int req)
{
    return held < 0 || req < 0 || rdlm_compat[held][req];
}

/* engine_store.c */
struct eng_res *eng_res_find(const struct eng *e, const struct eng_res *parent, const void *name,
                             uint16_t namelen);
struct eng_res *eng_res_get(struct eng *e, struct eng_res *parent, const void *name,
                            uint16_t namelen);
void eng_res_release_if_unused(struct eng *e, struct eng_res *r);
struct eng_lock *eng_lock_find(const struct eng *e, uint64_t lkid);
struct eng_lock *eng_lock_new(struct eng *e, uint64_t lkid, struct eng_res *r, uint32_t owner);
void eng_lock_rekey(struct eng *e, struct eng_lock *l, uint64_t lkid);
void eng_lock_delete(struct eng *e, struct eng_lock *l);
struct eng_lock_ext *eng_lock_ext(struct eng_lock *l);
void eng_q_add(struct eng_res *r, int q, struct eng_lock *l, bool head);
void eng_q_del(struct eng_res *r, int q, struct eng_lock *l);
static inline struct eng_lock *eng_q_next(const struct eng_res *r, int q, const struct eng_lock *l)
{
    return l->qnext == r->q[q] ? NULL : l->qnext;
}
static inline int eng_q_of(const struct eng_lock *l)
{
    return l->state == ENG_LKS_GRANTED      ? Q_GRANTED
           : l->state == ENG_LKS_CONVERTING ? Q_CONVERTING
                                            : Q_WAITING;
}
void eng_lock_move(struct eng_lock *l, uint8_t state, bool head);
uint32_t eng_owner_intern(struct eng *e, const struct eng_owner *o);
const struct eng_owner *eng_owner_of(const struct eng *e, const struct eng_lock *l);
void eng_timer_arm(struct eng *e, struct eng_lock *l, uint32_t timeout_cs);
void eng_timer_disarm(struct eng *e, struct eng_lock *l);
void eng_touch(struct eng *e, struct eng_res *r);

/*
 * The stamp: a per-lock count of state changes (queued, granted, converted, demoted, reverted,
 * adopted, orphaned), 16 bits in the lock and the wraps in its extension, so that a deadlock
 * search can prove a lock did not change between two looks (docs/protocol.md section 5).
 */
void eng_stamp_wrap(struct eng_lock *l);
static inline void eng_stamp(struct eng_lock *l)
{
    if (++l->stamp == 0)
        eng_stamp_wrap(l);
}
static inline uint64_t eng_lock_stamp(const struct eng_lock *l)
{
    return ((l->ext ? l->ext->stamp_hi : 0) << 16) | l->stamp;
}
size_t eng_collect_locks(const struct eng *e,
                         bool (*pick)(const struct eng *, const struct eng_lock *, const void *),
                         const void *arg, struct eng_lock ***out);

/* engine_query.c */
struct eng_action *eng_emit(struct eng_actions *out, uint8_t kind);
int eng_emit_complete(struct eng_actions *out, const struct eng_lock *l, uint8_t op, uint8_t status,
                      int8_t mode, uint8_t sbflags);

/* engine_grant.c */
bool eng_grantable(const struct eng_lock *l, bool now);
bool eng_cvt_deadlock(const struct eng_lock *l);
bool eng_try_grant(struct eng_lock *l, bool now);
bool eng_try_alternate(struct eng_lock *l, bool now);
void eng_grant(struct eng *e, struct eng_lock *l, const uint8_t *lvb, struct eng_actions *out);
void eng_grant_pending(struct eng *e, struct eng_res *r, struct eng_actions *out);
void eng_converting_pass(struct eng *e, struct eng_res *r, struct eng_actions *out, int8_t *high,
                         bool *cw);
void eng_queue_basts(struct eng *e, const struct eng_lock *rq, int q, struct eng_actions *out);
void eng_self_bast(struct eng *e, struct eng_lock *l, struct eng_actions *out);
void eng_lvb_invalidate(struct eng *e, struct eng_res *r, struct eng_actions *out);
void eng_lvb_write(struct eng *e, struct eng_res *r, const uint8_t *lvb, struct eng_actions *out);
uint64_t eng_lock_hint(const struct eng_lock *l);

/* engine_release.c */
void eng_revert(struct eng *e, struct eng_lock *l);

/* engine_rd.c: r was just made persistent (a new resource): its LVB may start invalid */
void eng_rd_created(struct eng *e, struct eng_res *r, struct eng_actions *out);

/* engine_request.c: make l (with its extension) a child of parent (extension too). */
void eng_link_parent(struct eng_lock *l, struct eng_lock *parent);

#endif /* RDLM_MASTER_ENGINE_INTERNAL_H */
