/*
 * tests/engine-unit/test_query.c - the queries (contract section 12; TruCluster dlm_get_lkinfo
 * and dlm_get_rsbinfo): every field of eng_lock_info for granted, converting and waiting locks
 * and orphans; every field of eng_res_info (LVB status/seq/content, counts, modes, persistence,
 * granted_per_mode); queue order; the engine's resource and lock counts.
 */
#include "tests/engine-unit/helpers.h"

#include <string.h>

static void q_lkinfo_granted_lock(void **state)
{
    struct t *t = *state;
    struct eng_req r = rq(t, 7, "res", PR, RDLM_LKF_NOORDER | RDLM_LKF_NODLCKBLK);
    r.xid = 1234;
    r.hint = 0xfeed;
    r.owner = th_group(3, 99);
    ok(t, req(t, &r));
    struct eng_lock_info li = qlock(t, 7);
    assert_int_equal(li.lkid, 7);
    assert_int_equal(li.parent_lkid, 0);
    assert_int_equal(li.grmode, PR);
    assert_int_equal(li.rqmode, PR);
    assert_int_equal(li.state, GRANTED);
    assert_false(li.orphan);
    assert_int_equal(li.flags, RDLM_LKF_NOORDER | RDLM_LKF_NODLCKBLK);
    assert_int_equal(li.owner.kind, ENG_OWNER_GROUP);
    assert_int_equal(li.owner.node, 3);
    assert_int_equal(li.owner.id, 99);
    assert_int_equal(li.xid, 1234);
    assert_int_equal(li.timeout_cs, 0);
    assert_int_equal(li.hint, 0xfeed);
    assert_int_equal(li.namelen, 3);
    assert_memory_equal(li.name, "res", 3);
}

static void q_lkinfo_waiting_and_converting_locks(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    struct eng_req c = cvrq(2, EX, RDLM_LKF_TIMEOUT);
    c.timeout_cs = 77;
    c.hint = 0x22;
    ok(t, req(t, &c));
    struct eng_req w = rq(t, 3, "r", CW, RDLM_LKF_TIMEOUT | RDLM_LKF_HEADQUE);
    w.timeout_cs = 88;
    ok(t, req(t, &w));
    struct eng_lock_info li = qlock(t, 2);
    assert_int_equal(li.state, CONVERTING);
    assert_int_equal(li.grmode, PR);
    assert_int_equal(li.rqmode, EX);
    assert_int_equal(li.timeout_cs, 77);
    assert_int_equal(li.hint, 0x22);
    assert_true(li.flags & RDLM_LKF_TIMEOUT);
    li = qlock(t, 3);
    assert_int_equal(li.state, WAITING);
    assert_int_equal(li.grmode, IV);
    assert_int_equal(li.rqmode, CW);
    assert_int_equal(li.timeout_cs, 88);
    assert_int_equal(li.flags, RDLM_LKF_TIMEOUT | RDLM_LKF_HEADQUE);
}

static void q_lkinfo_sublock_and_orphan(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "a", PR, RDLM_LKF_PERSISTENT));
    ok(t, sublock(t, 10, 1, "child", CR, RDLM_LKF_PERSISTENT));
    struct eng_lock_info li = qlock(t, 10);
    assert_int_equal(li.parent_lkid, 1);
    assert_int_equal(li.namelen, 5);
    assert_memory_equal(li.name, "child", 5);
    ok(t, purge(t, th_owner(1, 100)));
    assert_true(qlock(t, 1).orphan);
    assert_true(qlock(t, 10).orphan);
}

static void q_lkinfo_binary_name(void **state)
{
    struct t *t = *state;
    uint8_t name[RDLM_RESNAME_MAXLEN];
    for (size_t i = 0; i < sizeof name; i++)
        name[i] = (uint8_t)(255 - i);
    name[3] = 0;
    struct eng_req r = rq(t, 1, NULL, NL, 0);
    r.name = name;
    r.namelen = sizeof name;
    ok(t, req(t, &r));
    struct eng_lock_info li = qlock(t, 1);
    assert_int_equal(li.namelen, sizeof name);
    assert_memory_equal(li.name, name, sizeof name);
    struct eng_res_info ri;
    assert_int_equal(eng_query_res(t->e, 0, name, sizeof name, &ri), RDLM_OK);
    name[3] = 1; /* a different name */
    assert_int_equal(eng_query_res(t->e, 0, name, sizeof name, &ri), RDLM_E_NOLOCK);
}

static void q_rsbinfo_counts_and_modes(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", CR);
    must_grant(t, 3, "r", PR);
    ok(t, conv(t, 3, EX, 0));
    expect_bast(t, 1, EX, HINT(3));
    expect_bast(t, 2, EX, HINT(3));
    ok(t, lock(t, 4, "r", PW, 0));
    ok(t, lock(t, 5, "r", CW, 0));
    must_grant(t, 6, "other", NL);
    struct eng_res_info ri = qres(t, "r");
    assert_int_equal(ri.lvb_status, ENG_LVB_NONE);
    assert_int_equal(ri.lvbseq, 0);
    assert_int_equal(ri.subres_count, 0);
    assert_int_equal(ri.lock_count, 5);
    assert_int_equal(ri.bast_count, 2);
    assert_int_equal(ri.granted_count, 3); /* the converting lock holds PR */
    assert_int_equal(ri.granted_mode, PR);
    assert_int_equal(ri.convert_mode, EX);
    assert_int_equal(ri.wait_mode, PW);
    assert_false(ri.persistent);
    assert_int_equal(ri.rd_id, 0);
    static const uint32_t per_mode[RDLM_MODE_COUNT] = {0, 1, 0, 2, 0, 0};
    assert_memory_equal(ri.granted_per_mode, per_mode, sizeof per_mode);
    expect_counts(t, 2, 6);
}

static void q_rsbinfo_nl_counted_and_most_restrictive_mode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", NL);
    must_grant(t, 2, "r", NL);
    must_grant(t, 3, "r", CR);
    must_grant(t, 4, "r", PW);
    struct eng_res_info ri = qres(t, "r");
    assert_int_equal(ri.granted_mode, PW);
    assert_int_equal(ri.granted_count, 4);
    assert_int_equal(ri.convert_mode, IV);
    assert_int_equal(ri.wait_mode, IV);
    static const uint32_t per_mode[RDLM_MODE_COUNT] = {2, 1, 0, 0, 1, 0};
    assert_memory_equal(ri.granted_per_mode, per_mode, sizeof per_mode);
}

static void q_rsbinfo_lvb_and_persistence(void **state)
{
    struct t *t = *state;
    struct eng_req r = rq(t, 1, "p", EX, RDLM_LKF_PERSIST_RES);
    r.rd_id = 9;
    ok(t, req(t, &r));
    ok(t, conv_lvb(t, 1, NL, 0, LV(0x3c)));
    struct eng_res_info ri = qres(t, "p");
    assert_int_equal(ri.lvb_status, ENG_LVB_VALID);
    assert_int_equal(ri.lvbseq, 1);
    assert_memory_equal(ri.lvb, LV(0x3c), RDLM_LVB_LEN);
    assert_true(ri.persistent);
    assert_int_equal(ri.rd_id, 9);
    ok(t, unlock(t, 1, 0));
    ri = qres(t, "p");
    assert_int_equal(ri.lock_count, 0);
    assert_int_equal(ri.granted_count, 0);
    assert_int_equal(ri.granted_mode, IV);
    assert_int_equal(ri.convert_mode, IV);
    assert_int_equal(ri.wait_mode, IV);
    static const uint32_t none[RDLM_MODE_COUNT] = {0};
    assert_memory_equal(ri.granted_per_mode, none, sizeof none);
}

static void q_rsbinfo_subres_count(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    ok(t, sublock(t, 10, 1, "x", NL, 0));
    ok(t, sublock(t, 11, 1, "y", NL, 0));
    ok(t, sublock(t, 12, 1, "y", NL, 0));
    assert_int_equal(qres(t, "a").subres_count, 2);
    ok(t, sublock(t, 13, 10, "z", NL, 0));
    assert_int_equal(qsubres(t, 1, "x").subres_count, 1);
    ok(t, unlock(t, 13, 0));
    assert_int_equal(qsubres(t, 1, "x").subres_count, 0);
    assert_int_equal(qsubres(t, 1, "y").lock_count, 2);
    ok(t, unlock(t, 11, 0));
    assert_int_equal(qres(t, "a").subres_count, 2);
    ok(t, unlock(t, 12, 0));
    assert_int_equal(qres(t, "a").subres_count, 1);
}

static void q_queues_in_order(void **state)
{
    struct t *t = *state;
    must_grant(t, 5, "r", PR);
    must_grant(t, 3, "r", PR);
    must_grant(t, 9, "r", NL);
    ok(t, conv(t, 9, EX, 0));
    ok(t, conv(t, 3, PW, RDLM_LKF_NODLCKWT));
    ok(t, lock(t, 8, "r", CR, 0));
    ok(t, lock(t, 1, "r", CR, 0));
    ok(t, lock(t, 4, "r", CR, RDLM_LKF_HEADQUE));
    expect_queues(t, "r", "5", "9 3", "4 8 1");
    /* A too small array: n still reports the full length. */
    uint64_t ids[3][1];
    struct eng_queues q = {.cap = 1, .lkid = {ids[0], ids[1], ids[2]}};
    assert_int_equal(eng_query_queues(t->e, 0, "r", 1, &q), RDLM_OK);
    assert_int_equal(ids[0][0], 5);
    assert_int_equal(ids[1][0], 9);
    assert_int_equal(ids[2][0], 4);
}

static void q_engine_counts(void **state)
{
    struct t *t = *state;
    expect_counts(t, 0, 0);
    must_grant(t, 1, "a", EX);
    ok(t, lock(t, 2, "a", EX, 0));
    must_grant(t, 3, "b", EX);
    expect_counts(t, 2, 3);
    ok(t, lock(t, 4, "b", EX, RDLM_LKF_NOQUEUE));
    expect_counts(t, 2, 3);
    ok(t, unlock(t, 3, 0));
    expect_counts(t, 1, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(q_lkinfo_granted_lock),
        TEST(q_lkinfo_waiting_and_converting_locks),
        TEST(q_lkinfo_sublock_and_orphan),
        TEST(q_lkinfo_binary_name),
        TEST(q_rsbinfo_counts_and_modes),
        TEST(q_rsbinfo_nl_counted_and_most_restrictive_mode),
        TEST(q_rsbinfo_lvb_and_persistence),
        TEST(q_rsbinfo_subres_count),
        TEST(q_queues_in_order),
        TEST(q_engine_counts),
    };
    return cmocka_run_group_tests_name("engine-unit/query", tests, NULL, NULL);
}
