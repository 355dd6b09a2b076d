/*
 * tests/engine-unit/helpers.h - a tiny DSL for the cmocka unit tests of the lock engine.
 *
 * Every test gets a fresh engine (struct t) from th_setup. Operations (lock, conv, unlock,
 * cancel, ...) clear the action list, call the engine, return its status and leave the
 * emitted actions in t->a; the expect_* macros then consume those actions in order
 * (expect_complete, expect_bast, expect_lvb_write, ..., expect_end) and report the caller's
 * file and line, with a dump of the actions, on a mismatch.
 *
 * Independently of what a test checks, every call is audited against the invariants of the
 * contract (docs/engine.md): a rejected call emits nothing; every accepted request gets
 * exactly one COMPLETE(REQUEST) (never two, never one without a pending request, none for a
 * dead owner's locks); every accepted unlock gets exactly one COMPLETE(UNLOCK).
 */
#ifndef RDLM_TESTS_ENGINE_UNIT_HELPERS_H
#define RDLM_TESTS_ENGINE_UNIT_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "master/engine.h"
#include "rdlm/constants.h"

/* Short mode names. */
#define NL RDLM_MODE_NL
#define CR RDLM_MODE_CR
#define CW RDLM_MODE_CW
#define PR RDLM_MODE_PR
#define PW RDLM_MODE_PW
#define EX RDLM_MODE_EX
#define IV RDLM_MODE_IV

#define GRANTED    ENG_LKS_GRANTED
#define CONVERTING ENG_LKS_CONVERTING
#define WAITING    ENG_LKS_WAITING

/* The compatibility table of the contract (section 1), written out again for the tests. */
extern const int th_compat[6][6];

/* The default hint of lock id: requests built by rq()/cvrq() pass HINT(id). */
#define HINT(id) (0x4000u + (uint64_t)(id))
/* expect_bast: do not check the hint. */
#define ANY_HINT UINT64_MAX

#define MAX_TRACKED 512
#define MAX_NAMES   256

struct th_lock {
    uint64_t lkid;
    struct eng_owner owner;
    int pending; /* accepted requests not yet completed (0 or 1) */
};

struct th_name {
    uint64_t parent; /* parent lock id, 0 = root */
    uint16_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
};

struct t {
    struct eng *e;
    struct eng_actions a;   /* the actions of the last call */
    size_t cur;             /* expect_* cursor into a */
    int rc;                 /* status of the last call */
    struct eng_owner owner; /* default owner of new requests */
    struct th_lock locks[MAX_TRACKED];
    size_t nlocks;
    struct th_name names[MAX_NAMES];
    size_t nnames;
};

/* cmocka fixtures. */
int th_setup(void **state);
int th_teardown(void **state);
#define TEST(f) cmocka_unit_test_setup_teardown(f, th_setup, th_teardown)

/* Owners. */
struct eng_owner th_owner(uint32_t node, uint64_t pid);
struct eng_owner th_group(uint32_t node, uint64_t id);
#define OWNER(node, pid) th_owner(node, pid)

/* A 32-byte LVB filled with byte c (static storage, one buffer per value of c). */
const uint8_t *LV(uint8_t c);

/* Request builders: default owner t->owner, hint HINT(id), has_bast true. */
struct eng_req rq(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags);
struct eng_req cvrq(uint64_t id, int mode, uint32_t flags);

/* Operations: they clear t->a, call the engine, audit the result, return the status. */
int req(struct t *t, const struct eng_req *r);
int lock(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags);
int sublock(struct t *t, uint64_t id, uint64_t parent, const char *name, int mode, uint32_t flags);
int conv(struct t *t, uint64_t id, int mode, uint32_t flags);
/* The same with has_bast = false (the lock has no blocking callback). */
int lock_nobast(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags);
/* A conversion with an explicit hint and has_bast. */
int conv_hb(struct t *t, uint64_t id, int mode, uint32_t flags, uint64_t hint, bool has_bast);
/* With RDLM_LKF_VALBLK added and the caller's LVB. */
int lock_lvb(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags,
             const uint8_t *lvb);
int conv_lvb(struct t *t, uint64_t id, int mode, uint32_t flags, const uint8_t *lvb);
int unlock(struct t *t, uint64_t id, uint32_t flags);
int unlock_lvb(struct t *t, uint64_t id, uint32_t flags, const uint8_t *lvb);
int cancel(struct t *t, uint64_t id, uint32_t flags);
int cancel_dl(struct t *t, uint64_t id);
int advance(struct t *t, uint64_t now_cs);
int purge(struct t *t, struct eng_owner owner);
int purge_orphans(struct t *t, uint32_t node, uint64_t pid);

/* Convenience: the call must return RDLM_OK / the given status. */
#define ok(t, call) th_rc(t, __FILE__, __LINE__, #call, (call), RDLM_OK)
void th_rc(struct t *t, const char *file, int line, const char *what, int got, int want);

/* Setup shorthand: a new lock that must be granted at once, emitting only its completion. */
#define must_grant(t, id, name, mode)                                                              \
    do {                                                                                           \
        ok(t, lock(t, id, name, mode, 0));                                                         \
        expect_granted(t, id, mode);                                                               \
        expect_end(t);                                                                             \
    } while (0)
#define must_grant_nobast(t, id, name, mode)                                                       \
    do {                                                                                           \
        ok(t, lock_nobast(t, id, name, mode, 0));                                                  \
        expect_granted(t, id, mode);                                                               \
        expect_end(t);                                                                             \
    } while (0)

/* Action expectations (consume t->a in order). */
const struct eng_action *th_expect_complete(struct t *t, const char *file, int line, uint64_t id,
                                            int op, int status, int mode, int sbflags);
const struct eng_action *th_expect_read(struct t *t, const char *file, int line, uint64_t id,
                                        int mode, int sbflags, const uint8_t *lvb, uint64_t seq);
void th_expect_bast(struct t *t, const char *file, int line, uint64_t id, int mode, uint64_t hint);
void th_expect_lvb(struct t *t, const char *file, int line, const char *name, bool valid,
                   const uint8_t *lvb, uint64_t seq);
void th_expect_end(struct t *t, const char *file, int line);

/* COMPLETE(REQUEST, status, mode), sbflags 0, no LVB read. */
#define expect_complete(t, id, st, md)                                                             \
    th_expect_complete(t, __FILE__, __LINE__, id, ENG_OP_REQUEST, st, md, 0)
/* The same with the given sbflags. */
#define expect_complete_sb(t, id, st, md, sb)                                                      \
    th_expect_complete(t, __FILE__, __LINE__, id, ENG_OP_REQUEST, st, md, sb)
/* COMPLETE(REQUEST, OK, mode) with an LVB read of lvb / seq. */
#define expect_granted_read(t, id, md, sb, lvb, seq)                                               \
    th_expect_read(t, __FILE__, __LINE__, id, md, sb, lvb, seq)
#define expect_granted(t, id, md) expect_complete(t, id, RDLM_OK, md)
/* COMPLETE(UNLOCK, UNLOCKED, IV). */
#define expect_unlocked(t, id)                                                                     \
    th_expect_complete(t, __FILE__, __LINE__, id, ENG_OP_UNLOCK, RDLM_E_UNLOCKED, IV, 0)
#define expect_bast(t, id, md, hint) th_expect_bast(t, __FILE__, __LINE__, id, md, hint)
/* ENG_ACT_LVB of the root resource name: written (lvb, seq) or invalidated. */
#define expect_lvb_write(t, name, lvb, seq)                                                        \
    th_expect_lvb(t, __FILE__, __LINE__, name, true, lvb, seq)
#define expect_lvb_invalid(t, name) th_expect_lvb(t, __FILE__, __LINE__, name, false, NULL, 0)
/* No more actions. */
#define expect_end(t)               th_expect_end(t, __FILE__, __LINE__)
/* The last call emitted nothing at all. */
#define expect_none(t)                                                                             \
    do {                                                                                           \
        (t)->cur = 0;                                                                              \
        th_expect_end(t, __FILE__, __LINE__);                                                      \
    } while (0)

/* State expectations (queries). */
void th_expect_lock(struct t *t, const char *file, int line, uint64_t id, int state, int gr,
                    int rqm);
void th_expect_gone(struct t *t, const char *file, int line, uint64_t id);
void th_expect_queues(struct t *t, const char *file, int line, uint64_t parent, const char *name,
                      const char *granted, const char *converting, const char *waiting);
void th_expect_res_lvb(struct t *t, const char *file, int line, uint64_t parent, const char *name,
                       int status, uint64_t seq, const uint8_t *lvb);
void th_expect_counts(struct t *t, const char *file, int line, size_t nres, size_t nlocks);
void th_expect_pending(struct t *t, const char *file, int line, uint64_t id, int pending);
#define expect_lock(t, id, st, gr, rqm) th_expect_lock(t, __FILE__, __LINE__, id, st, gr, rqm)
#define expect_gone(t, id)              th_expect_gone(t, __FILE__, __LINE__, id)
/* Queue contents as space-separated lock ids, e.g. expect_queues(t, "r", "1 2", "3", ""). */
#define expect_queues(t, name, g, c, w) th_expect_queues(t, __FILE__, __LINE__, 0, name, g, c, w)
#define expect_subqueues(t, parent, name, g, c, w)                                                 \
    th_expect_queues(t, __FILE__, __LINE__, parent, name, g, c, w)
/* Resource LVB: status (ENG_LVB_*), lvbseq and, if lvb != NULL, content. */
#define expect_res_lvb(t, name, st, seq, lvb)                                                      \
    th_expect_res_lvb(t, __FILE__, __LINE__, 0, name, st, seq, lvb)
#define expect_counts(t, nres, nlocks) th_expect_counts(t, __FILE__, __LINE__, nres, nlocks)
/* The number of accepted-but-uncompleted requests of lock id (0 or 1). */
#define expect_pending(t, id, n)       th_expect_pending(t, __FILE__, __LINE__, id, n)

/* Queries returning values. */
struct eng_lock_info qlock(struct t *t, uint64_t id);    /* fails the test on error */
struct eng_res_info qres(struct t *t, const char *name); /* root resource */
struct eng_res_info qsubres(struct t *t, uint64_t parent, const char *name);
bool res_exists(struct t *t, uint64_t parent, const char *name);

/* Snapshots of the whole observable state (every lock and resource the test touched). */
struct th_snap;
struct th_snap *snap_take(struct t *t);
void th_expect_unchanged(struct t *t, const char *file, int line, struct th_snap *s);
/* The call was rejected with st, emitted nothing and changed nothing (frees the snapshot). */
#define expect_unchanged(t, s) th_expect_unchanged(t, __FILE__, __LINE__, s)
#define expect_rejected(t, call, st)                                                               \
    do {                                                                                           \
        struct th_snap *snap_ = snap_take(t);                                                      \
        th_rc(t, __FILE__, __LINE__, #call, (call), (st));                                         \
        (t)->cur = 0;                                                                              \
        th_expect_end(t, __FILE__, __LINE__);                                                      \
        th_expect_unchanged(t, __FILE__, __LINE__, snap_);                                         \
    } while (0)

/* Dump the actions of the last call (debugging aid). */
void th_dump(const struct t *t);

#endif /* RDLM_TESTS_ENGINE_UNIT_HELPERS_H */
