/*
 * tests/engine-unit/test_waits.c - the wait-for edges a deadlock search collects
 * (eng_query_waits, eng_query_blockers; engine.h and docs/protocol.md section 5): blockers by
 * granted mode, by converting mode, by queue order (FIFO, conversions before new requests),
 * NOORDER, alternate modes, "lasting" versus "while pending", NODLCKWT and NODLCKBLK, orphans,
 * sub-resources, stopping early; and the lock stamps that prove an edge did not change.
 */
#include "tests/engine-unit/helpers.h"

#include <string.h>

#define MAX_EDGES 64

struct edges {
    size_t n;
    struct eng_wait v[MAX_EDGES];
    uint8_t names[MAX_EDGES][RDLM_RESNAME_MAXLEN];
    size_t stop_after; /* 0 = never stop */
};

static bool collect(void *arg, const struct eng_wait *w)
{
    struct edges *es = arg;

    assert_true(es->n < MAX_EDGES);
    es->v[es->n] = *w;
    memcpy(es->names[es->n], w->name, w->namelen);
    es->v[es->n].name = es->names[es->n];
    es->n++;
    return es->stop_after == 0 || es->n < es->stop_after;
}

static struct edges *waits(struct t *t)
{
    static struct edges es;

    memset(&es, 0, sizeof(es));
    size_t n = eng_query_waits(t->e, collect, &es);
    assert_int_equal(n, es.n);
    return &es;
}

/* The edge waiter <- blocker, or NULL. */
static const struct eng_wait *edge(const struct edges *es, uint64_t waiter, uint64_t blocker)
{
    for (size_t i = 0; i < es->n; i++)
        if (es->v[i].waiter.lkid == waiter && es->v[i].blocker.lkid == blocker)
            return &es->v[i];
    return NULL;
}

/* The edge must exist, with that lasting flag. */
static void must_edge(const struct edges *es, uint64_t waiter, uint64_t blocker, bool lasting)
{
    const struct eng_wait *w = edge(es, waiter, blocker);

    if (!w)
        fail_msg("no edge %lu <- %lu", (unsigned long)waiter, (unsigned long)blocker);
    if (w->lasting != lasting)
        fail_msg("edge %lu <- %lu: lasting %d, want %d", (unsigned long)waiter,
                 (unsigned long)blocker, w->lasting, lasting);
}

static uint64_t stamp_of(struct t *t, uint64_t id)
{
    return qlock(t, id).stamp;
}

/* A granted incompatible lock blocks; compatible ones (NL, the same PR) do not. */
static void w_granted_blockers(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", NL);
    must_grant(t, 3, "r", PR);
    ok(t, lock(t, 4, "r", PW, 0)); /* blocked by 1 and 3 */
    struct edges *es = waits(t);
    assert_int_equal(es->n, 2);
    must_edge(es, 4, 1, true);
    must_edge(es, 4, 3, true);
    const struct eng_wait *w = edge(es, 4, 1);
    assert_int_equal(w->waiter.state, WAITING);
    assert_int_equal(w->waiter.rqmode, PW);
    assert_int_equal(w->waiter.grmode, IV);
    assert_int_equal(w->blocker.state, GRANTED);
    assert_int_equal(w->blocker.grmode, PR);
    assert_int_equal(w->blocker.owner.kind, ENG_OWNER_PROCESS);
    assert_int_equal(w->blocker.owner.id, 100);
    assert_int_equal(w->parent_lkid, 0);
    assert_int_equal(w->namelen, 1);
    assert_memory_equal(w->name, "r", 1);
    assert_int_equal(w->waiter.stamp, stamp_of(t, 4));
    assert_int_equal(w->blocker.stamp, stamp_of(t, 1));
}

/* Waiting requests are FIFO: one waits for every waiting request ahead of it; the edge is
 * lasting only when the one ahead, once granted, still blocks it. */
static void w_waiting_fifo(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PR, 0));
    ok(t, lock(t, 3, "r", PR, 0));
    ok(t, lock(t, 4, "r", EX, 0));
    struct edges *es = waits(t);
    must_edge(es, 2, 1, true);
    must_edge(es, 3, 1, true);
    must_edge(es, 3, 2, false); /* PR after PR: blocks only while 2 waits */
    must_edge(es, 4, 1, true);
    must_edge(es, 4, 2, true);
    must_edge(es, 4, 3, true);
    assert_null(edge(es, 2, 3)); /* behind: no */
    assert_null(edge(es, 2, 4));
    assert_int_equal(es->n, 6);
}

/* HEADQUE puts a request first: the order, not the arrival, decides. */
static void w_headque_order(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0));
    ok(t, lock(t, 3, "r", EX, RDLM_LKF_HEADQUE));
    struct edges *es = waits(t);
    must_edge(es, 2, 3, true);
    assert_null(edge(es, 3, 2));
}

/* A conversion waits for granted and converting locks whose grmode conflicts (ahead or
 * behind) and for conversions ahead of it; waiting requests never block a conversion. */
static void w_converting(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", NL);
    must_grant(t, 3, "r", NL);
    ok(t, conv(t, 2, EX, 0)); /* blocked by 1 (PR) */
    ok(t, lock(t, 5, "r", PW, 0));
    ok(t, conv(t, 3, PW, 0)); /* blocked by 1; behind 2 */
    expect_lock(t, 3, CONVERTING, NL, PW);
    struct edges *es = waits(t);
    must_edge(es, 2, 1, true);
    assert_null(edge(es, 2, 3)); /* behind, holding NL */
    must_edge(es, 3, 1, true);
    must_edge(es, 3, 2, true); /* ahead on CONVERTING */
    assert_null(edge(es, 2, 5));
    assert_null(edge(es, 3, 5));
    /* A new request waits for every conversion (CONVERTING must be empty). */
    must_edge(es, 5, 1, true);
    must_edge(es, 5, 2, true);
    must_edge(es, 5, 3, true);
    assert_int_equal(es->n, 6);
}

/* A conversion deadlock kept queued by NODLCKWT: the first conversion waits for the second
 * (behind it, holding PR); the second's own wait is excluded. */
static void w_conversion_deadlock_nodlckwt(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 1, EX, 0));
    ok(t, conv(t, 2, EX, RDLM_LKF_NODLCKWT));
    expect_lock(t, 2, CONVERTING, PR, EX);
    struct edges *es = waits(t);
    must_edge(es, 1, 2, true);
    assert_int_equal(es->n, 1);
    assert_int_equal(es->v[0].waiter.state, CONVERTING);
    assert_int_equal(es->v[0].waiter.grmode, PR);
    assert_int_equal(es->v[0].blocker.state, CONVERTING);
}

/* A conversion ahead whose requested mode is compatible blocks only while it waits. */
static void w_converting_order_not_lasting(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    must_grant(t, 2, "r", NL);
    ok(t, conv(t, 2, CR, 0));
    ok(t, lock(t, 3, "r", CR, 0));
    struct edges *es = waits(t);
    must_edge(es, 2, 1, true);
    must_edge(es, 3, 1, true);
    must_edge(es, 3, 2, false);
}

/* NOORDER ignores the queue order: only modes block. */
static void w_noorder_only_modes(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PW);
    ok(t, lock(t, 2, "r", EX, 0));
    ok(t, lock(t, 3, "r", CR, RDLM_LKF_NOORDER)); /* compatible with PW: granted */
    expect_granted(t, 3, CR);
    ok(t, lock(t, 4, "r", PR, RDLM_LKF_NOORDER)); /* PW blocks it */
    struct edges *es = waits(t);
    must_edge(es, 4, 1, true);
    assert_null(edge(es, 4, 2));
    must_edge(es, 2, 1, true);
}

/* With ALTCW a blocker counts only if it also blocks the alternate mode. */
static void w_alternate_mode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", CR);
    must_grant(t, 2, "r", PR);
    ok(t, lock(t, 3, "r", EX, RDLM_LKF_ALTCW)); /* CW would do but for PR */
    expect_lock(t, 3, WAITING, IV, EX);
    struct edges *es = waits(t);
    must_edge(es, 3, 2, true);
    assert_null(edge(es, 3, 1)); /* CR does not block the alternate CW */
    assert_int_equal(es->n, 1);
}

/* NODLCKWT: the request's wait is not an edge; NODLCKBLK: the lock never blocks in an edge. */
static void w_nodlckwt_nodlckblk(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, RDLM_LKF_NODLCKWT));
    ok(t, lock(t, 3, "r", EX, 0));
    must_grant(t, 4, "s", EX);
    ok(t, lock(t, 5, "s", EX, RDLM_LKF_NODLCKBLK)); /* waiting: its wait counts */
    ok(t, lock(t, 6, "s", EX, 0));
    must_grant(t, 7, "u", PR);
    ok(t, lock(t, 8, "u", PR, RDLM_LKF_NODLCKBLK)); /* granted: blocks nobody in an edge */
    expect_granted(t, 8, PR);
    ok(t, lock(t, 9, "u", EX, 0));
    struct edges *es = waits(t);
    assert_null(edge(es, 2, 1));
    must_edge(es, 3, 1, true);
    must_edge(es, 3, 2, true); /* 2 still blocks others */
    must_edge(es, 5, 4, true);
    must_edge(es, 6, 4, true);
    assert_null(edge(es, 6, 5));
    must_edge(es, 9, 7, true);
    assert_null(edge(es, 9, 8));
    assert_int_equal(es->n, 5);
}

/* Orphans block (they never wait); the owner and flags of each side are reported. */
static void w_orphan_blocks(void **state)
{
    struct t *t = *state;
    t->owner = OWNER(2, 200);
    ok(t, lock(t, 1, "r", EX, RDLM_LKF_PERSISTENT));
    expect_granted(t, 1, EX);
    t->owner = OWNER(1, 100);
    ok(t, lock(t, 2, "r", PR, 0));
    ok(t, purge(t, OWNER(2, 200)));
    expect_lock(t, 1, GRANTED, EX, EX);
    assert_true(qlock(t, 1).orphan);
    struct edges *es = waits(t);
    assert_int_equal(es->n, 1);
    must_edge(es, 2, 1, true);
    assert_true(es->v[0].blocker.orphan);
    assert_false(es->v[0].waiter.orphan);
    assert_int_equal(es->v[0].blocker.owner.node, 2);
}

/* Sub-resources: the edge names the resource by its parent lock and name; the xid and the
 * group owner are reported. */
static void w_subresource_xid_group(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "p", NL);
    ok(t, sublock(t, 2, 1, "c", EX, 0));
    expect_granted(t, 2, EX);
    t->owner = th_group(1, 55);
    must_grant(t, 3, "p", NL);
    struct eng_req r = rq(t, 4, "c", PR, 0);
    r.parent_lkid = 3; /* not the same parent lock: another owner's; use its own */
    r.xid = 777;
    ok(t, req(t, &r));
    t->owner = OWNER(1, 100);
    struct eng_req r2 = rq(t, 5, "c", PR, 0);
    r2.parent_lkid = 1;
    r2.xid = 778;
    ok(t, req(t, &r2));
    struct edges *es = waits(t);
    /* 4 is on the sub-resource "c" of 3's resource "p": the same as 1's "p". */
    must_edge(es, 4, 2, true);
    must_edge(es, 5, 2, true);
    const struct eng_wait *w = edge(es, 4, 2);
    assert_int_equal(w->waiter.xid, 777);
    assert_int_equal(w->waiter.owner.kind, ENG_OWNER_GROUP);
    assert_int_equal(w->waiter.owner.id, 55);
    assert_int_equal(w->parent_lkid, 3);
    assert_memory_equal(w->name, "c", 1);
    assert_int_equal(edge(es, 5, 2)->parent_lkid, 1);
}

/* eng_query_blockers: one waiter; nothing for a granted lock; NOLOCK for an unknown one. */
static void w_blockers_of_one(void **state)
{
    struct t *t = *state;
    struct edges es;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0));
    ok(t, lock(t, 3, "r", EX, 0));
    memset(&es, 0, sizeof(es));
    assert_int_equal(eng_query_blockers(t->e, 3, collect, &es), RDLM_OK);
    assert_int_equal(es.n, 2);
    must_edge(&es, 3, 1, true);
    must_edge(&es, 3, 2, true);
    memset(&es, 0, sizeof(es));
    assert_int_equal(eng_query_blockers(t->e, 1, collect, &es), RDLM_OK);
    assert_int_equal(es.n, 0);
    assert_int_equal(eng_query_blockers(t->e, 99, collect, &es), RDLM_E_NOLOCK);
}

/* The callback may stop the query. */
static void w_stop_early(void **state)
{
    struct t *t = *state;
    struct edges es;
    must_grant(t, 1, "r", EX);
    for (uint64_t id = 2; id <= 6; id++)
        ok(t, lock(t, id, "r", EX, 0));
    memset(&es, 0, sizeof(es));
    es.stop_after = 3;
    assert_int_equal(eng_query_waits(t->e, collect, &es), 3);
    assert_int_equal(es.n, 3);
    assert_int_equal(waits(t)->n, 1 + 2 + 3 + 4 + 5);
}

/* Stamps change with every state change of the lock and with nothing else. */
static void w_stamps(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    uint64_t s1 = stamp_of(t, 1), s2 = stamp_of(t, 2);
    assert_int_not_equal(s1, s2);  /* new locks start apart */
    ok(t, lock(t, 3, "r", EX, 0)); /* others queue: 1 and 2 unchanged */
    assert_int_equal(stamp_of(t, 1), s1);
    assert_int_equal(stamp_of(t, 2), s2);
    uint64_t s3 = stamp_of(t, 3);
    /* A rejected call changes nothing. */
    expect_rejected(t, conv(t, 3, PR, 0), RDLM_E_NOTGRANTED);
    assert_int_equal(stamp_of(t, 3), s3);
    /* A conversion granted at once: converted. */
    ok(t, conv(t, 1, NL, 0));
    uint64_t s1b = stamp_of(t, 1);
    assert_int_not_equal(s1b, s1);
    /* A queued conversion, then its cancel: back to GRANTED at the same mode, new stamp. */
    ok(t, conv(t, 1, EX, 0));
    uint64_t s1c = stamp_of(t, 1);
    assert_int_not_equal(s1c, s1b);
    ok(t, cancel(t, 1, 0));
    expect_lock(t, 1, GRANTED, NL, NL);
    assert_int_not_equal(stamp_of(t, 1), s1c);
    assert_int_not_equal(stamp_of(t, 1), s1b);
    /* A refused conversion (conversion deadlock) is a change too: its flags were taken. */
    ok(t, conv(t, 1, PR, 0));
    expect_granted(t, 1, PR);
    ok(t, conv(t, 1, EX, 0)); /* waits for 2 */
    uint64_t s2b = stamp_of(t, 2);
    ok(t, conv(t, 2, EX, 0)); /* PR blocks 1's EX ahead: EDEADLK */
    expect_complete(t, 2, RDLM_E_DEADLOCK, PR);
    assert_int_not_equal(stamp_of(t, 2), s2b);
    /* A grant: 3 waits; unlocking 2 and 1 grants 3. */
    ok(t, cancel(t, 1, 0));
    ok(t, unlock(t, 1, 0));
    ok(t, unlock(t, 2, 0));
    expect_lock(t, 3, GRANTED, EX, EX);
    assert_int_not_equal(stamp_of(t, 3), s3);
}

/* A lock that changes more than 65535 times keeps distinct stamps (the wrap goes to the
 * extension). */
static void w_stamp_wraps(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", NL);
    uint64_t first = stamp_of(t, 1), prev = first;
    for (int i = 0; i < 70000; i++) {
        ok(t, conv(t, 1, i % 2 ? NL : CR, 0));
        uint64_t s = stamp_of(t, 1);
        assert_true(s > prev);
        prev = s;
    }
    assert_true(prev - first >= 70000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(w_granted_blockers),
        TEST(w_waiting_fifo),
        TEST(w_headque_order),
        TEST(w_converting),
        TEST(w_conversion_deadlock_nodlckwt),
        TEST(w_converting_order_not_lasting),
        TEST(w_noorder_only_modes),
        TEST(w_alternate_mode),
        TEST(w_nodlckwt_nodlckblk),
        TEST(w_orphan_blocks),
        TEST(w_subresource_xid_group),
        TEST(w_blockers_of_one),
        TEST(w_stop_early),
        TEST(w_stamps),
        TEST(w_stamp_wraps),
    };
    return cmocka_run_group_tests_name("engine-unit/waits", tests, NULL, NULL);
}
