/*
 * tests/engine-unit/test_subres.c - sub-resources (TruCluster resource trees; contract sections
 * 2 rule 8, 5.1, 11): the parent qualifies the name (the same name under two parents are two
 * resources), the sub-resource belongs to the parent lock's *resource*, PARNOTGRANT, SUBLOCKS,
 * a force unlock removes sublocks depth first in creation order, resources and then empty
 * ancestors are freed, subres_count.
 */
#include "tests/engine-unit/helpers.h"

static void sub_parent_qualifies_name(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    must_grant(t, 2, "b", NL);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    expect_granted(t, 10, EX);
    expect_end(t);
    ok(t, sublock(t, 11, 2, "x", EX, 0));
    expect_granted(t, 11, EX);
    expect_end(t);
    must_grant(t, 12, "x", EX); /* the root "x" is yet another resource */
    expect_counts(t, 5, 5);
    expect_subqueues(t, 1, "x", "10", "", "");
    expect_subqueues(t, 2, "x", "11", "", "");
    expect_queues(t, "x", "12", "", "");
    assert_int_equal(qres(t, "a").subres_count, 1);
    assert_int_equal(qres(t, "b").subres_count, 1);
    assert_int_equal(qres(t, "x").subres_count, 0);
    struct eng_lock_info li = qlock(t, 10);
    assert_int_equal(li.parent_lkid, 1);
}

static void sub_subresource_belongs_to_parent_resource(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    must_grant(t, 3, "a", NL);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    expect_granted(t, 10, EX);
    ok(t, sublock(t, 13, 3, "x", EX, 0)); /* the same sub-resource, via another parent lock */
    expect_bast(t, 10, EX, HINT(13));
    expect_end(t);
    expect_subqueues(t, 1, "x", "10", "", "13");
    expect_subqueues(t, 3, "x", "10", "", "13");
    assert_int_equal(qres(t, "a").subres_count, 1);
}

static void sub_parnotgrant_until_parent_granted(void **state)
{
    struct t *t = *state;
    must_grant(t, 9, "a", EX);
    ok(t, lock(t, 1, "a", PR, 0));
    expect_rejected(t, sublock(t, 10, 1, "x", NL, 0), RDLM_E_PARNOTGRANT);
    ok(t, unlock(t, 9, 0));
    expect_unlocked(t, 9);
    expect_granted(t, 1, PR);
    ok(t, sublock(t, 10, 1, "x", NL, 0));
    expect_granted(t, 10, NL);
}

static void sub_sublocks_block_unlock_until_children_gone(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", EX);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    ok(t, sublock(t, 11, 10, "y", EX, 0));
    expect_rejected(t, unlock(t, 1, 0), RDLM_E_SUBLOCKS);
    expect_rejected(t, unlock(t, 10, 0), RDLM_E_SUBLOCKS);
    ok(t, unlock(t, 11, 0));
    expect_unlocked(t, 11);
    expect_end(t);
    ok(t, unlock(t, 10, 0));
    expect_unlocked(t, 10);
    expect_end(t);
    assert_int_equal(qres(t, "a").subres_count, 0);
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_counts(t, 0, 0);
}

static void sub_waiting_sublock_counts_as_sublock(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    must_grant(t, 2, "a", NL);
    ok(t, sublock(t, 20, 2, "x", EX, 0));
    ok(t, sublock(t, 10, 1, "x", EX, 0)); /* waits behind 20 */
    expect_lock(t, 10, WAITING, IV, EX);
    expect_rejected(t, unlock(t, 1, 0), RDLM_E_SUBLOCKS);
}

static void sub_force_unlock_removes_sublocks_depth_first(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    must_grant(t, 2, "a", NL);
    ok(t, sublock(t, 20, 2, "x", EX, 0));
    ok(t, sublock(t, 10, 1, "x", EX, 0)); /* waiting child of 1 */
    expect_bast(t, 20, EX, HINT(10));
    ok(t, sublock(t, 11, 1, "y", EX, 0));
    ok(t, sublock(t, 12, 11, "z", PW, 0));
    ok(t, sublock(t, 13, 1, "w", CR, 0));
    expect_counts(t, 5, 7);
    ok(t, unlock(t, 1, RDLM_LKF_FORCEUNLOCK));
    expect_complete(t, 10, RDLM_E_ABORTED, IV);
    expect_unlocked(t, 10);
    expect_unlocked(t, 12);
    expect_unlocked(t, 11);
    expect_unlocked(t, 13);
    expect_unlocked(t, 1);
    expect_end(t);
    for (uint64_t id = 10; id <= 13; id++)
        expect_gone(t, id);
    expect_gone(t, 1);
    /* "a" (lock 2) and a/x (lock 20) remain; a/y, a/y/z, a/w are freed. */
    expect_counts(t, 2, 2);
    assert_int_equal(qres(t, "a").subres_count, 1);
}

static void sub_force_unlock_sublock_release_grants_waiter(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    must_grant(t, 2, "a", NL);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    ok(t, sublock(t, 20, 2, "x", PR, 0)); /* waits behind 10 */
    expect_bast(t, 10, PR, HINT(20));
    ok(t, unlock(t, 1, RDLM_LKF_FORCEUNLOCK));
    expect_unlocked(t, 10);
    expect_granted(t, 20, PR);
    expect_unlocked(t, 1);
    expect_end(t);
}

/* "each sublock is first force-unlocked the same way": with the unlock's IVVALBLK, so the
 * PW/EX sublocks invalidate their resources' LVBs too (as purge_owner's force unlock does). */
static void sub_force_unlock_flags_apply_to_sublocks(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", EX);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    ok(t, sublock(t, 11, 10, "y", PW, 0));
    ok(t, sublock(t, 12, 1, "z", CR, 0));
    t->owner = th_owner(2, 200); /* keeps the resources alive */
    must_grant(t, 2, "a", NL);
    ok(t, sublock(t, 20, 2, "x", NL, 0));
    ok(t, sublock(t, 21, 20, "y", NL, 0));
    ok(t, unlock(t, 1, RDLM_LKF_FORCEUNLOCK | RDLM_LKF_IVVALBLK));
    expect_lvb_invalid(t, "y");
    expect_unlocked(t, 11);
    expect_lvb_invalid(t, "x");
    expect_unlocked(t, 10);
    expect_unlocked(t, 12); /* CR: nothing to invalidate */
    expect_lvb_invalid(t, "a");
    expect_unlocked(t, 1);
    expect_end(t);
}

static void sub_resource_kept_alive_by_subresource(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    struct eng_req r = rq(t, 10, "x", EX, RDLM_LKF_PERSIST_RES);
    r.parent_lkid = 1;
    r.rd_id = 3;
    ok(t, req(t, &r));
    expect_granted(t, 10, EX);
    ok(t, unlock(t, 10, 0)); /* the persistent sub-resource stays */
    expect_unlocked(t, 10);
    assert_int_equal(qres(t, "a").subres_count, 1);
    assert_true(qsubres(t, 1, "x").persistent);
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_end(t);
    /* "a" has no lock but a sub-resource: not freed. */
    expect_counts(t, 2, 0);
    struct eng_res_info ri = qres(t, "a");
    assert_int_equal(ri.lock_count, 0);
    assert_int_equal(ri.subres_count, 1);
}

static void sub_unused_resources_and_ancestors_freed(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", NL);
    ok(t, sublock(t, 10, 1, "x", NL, 0));
    ok(t, sublock(t, 11, 10, "y", NL, 0));
    expect_counts(t, 3, 3);
    ok(t, unlock(t, 11, 0));
    expect_counts(t, 2, 2);
    assert_int_equal(qsubres(t, 1, "x").subres_count, 0);
    ok(t, unlock(t, 10, 0));
    expect_counts(t, 1, 1);
    ok(t, unlock(t, 1, 0));
    expect_counts(t, 0, 0);
}

static void sub_lvb_is_per_resource(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "x", EX);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    ok(t, conv_lvb(t, 10, NL, 0, LV(0x10)));
    expect_lvb_write(t, "x", LV(0x10), 1);
    expect_granted(t, 10, NL);
    expect_res_lvb(t, "x", ENG_LVB_NONE, 0, NULL); /* the root "x" is untouched */
    struct eng_res_info ri = qsubres(t, 1, "x");
    assert_int_equal(ri.lvb_status, ENG_LVB_VALID);
    assert_int_equal(ri.lvbseq, 1);
}

static void sub_purge_removes_sublocks_depth_first(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", EX);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    ok(t, sublock(t, 11, 10, "y", PW, 0));
    ok(t, sublock(t, 12, 1, "z", PW, 0));
    /* Another owner keeps every resource alive with NL locks (test_action_lifetime.c covers
     * LVB actions of resources freed by the same call). */
    t->owner = th_owner(2, 200);
    must_grant(t, 2, "a", NL);
    ok(t, sublock(t, 20, 2, "x", NL, 0));
    ok(t, sublock(t, 21, 20, "y", NL, 0));
    ok(t, sublock(t, 22, 2, "z", NL, 0));
    ok(t, purge(t, th_owner(1, 100)));
    /* Lock 1 (lowest lkid) goes first, its sublocks before it, depth first: y, x, z, a. */
    expect_lvb_invalid(t, "y");
    expect_lvb_invalid(t, "x");
    expect_lvb_invalid(t, "z");
    expect_lvb_invalid(t, "a");
    expect_end(t);
    expect_counts(t, 4, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(sub_parent_qualifies_name),
        TEST(sub_subresource_belongs_to_parent_resource),
        TEST(sub_parnotgrant_until_parent_granted),
        TEST(sub_sublocks_block_unlock_until_children_gone),
        TEST(sub_waiting_sublock_counts_as_sublock),
        TEST(sub_force_unlock_removes_sublocks_depth_first),
        TEST(sub_force_unlock_sublock_release_grants_waiter),
        TEST(sub_force_unlock_flags_apply_to_sublocks),
        TEST(sub_resource_kept_alive_by_subresource),
        TEST(sub_unused_resources_and_ancestors_freed),
        TEST(sub_lvb_is_per_resource),
        TEST(sub_purge_removes_sublocks_depth_first),
    };
    return cmocka_run_group_tests_name("engine-unit/subres", tests, NULL, NULL);
}
