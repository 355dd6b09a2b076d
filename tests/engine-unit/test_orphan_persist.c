/*
 * tests/engine-unit/test_orphan_persist.c - orphan locks (spec B.10 Linux LKF_PERSISTENT,
 * contract sections 7 and 11 "Purge owner"/"Purge orphans") and persistent resources (B.10
 * TruCluster DLM_PERSIST, contract section 2 rule 10): a PERSISTENT lock survives its owner's
 * purge as an orphan that still blocks and has no BAST, adoption re-keys it, ORPHANMODE and
 * NOORPHAN, purge_orphans by (node, pid) and pid 0; IS_PR / NOT_PR / PR_RD_MISMATCH, a
 * persistent resource survives its last unlock with its LVB.
 */
#include <stdlib.h>

#include "tests/engine-unit/helpers.h"

#define P1 th_owner(1, 100) /* the default owner */
#define P2 th_owner(2, 200)

static int lock_as(struct t *t, struct eng_owner o, uint64_t id, const char *name, int mode,
                   uint32_t flags)
{
    struct eng_req r = rq(t, id, name, mode, flags);
    r.owner = o;
    return req(t, &r);
}

static int persist_res(struct t *t, uint64_t id, const char *name, int mode, uint32_t rd)
{
    struct eng_req r = rq(t, id, name, mode, RDLM_LKF_PERSIST_RES);
    r.rd_id = rd;
    return req(t, &r);
}

/* ---- orphans ------------------------------------------------------------------------------ */

static void b10_persistent_lock_survives_purge_as_orphan(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_PERSISTENT));
    expect_granted(t, 1, PR);
    must_grant(t, 2, "q", PR); /* non-persistent: force-unlocked */
    ok(t, purge(t, P1));
    expect_none(t);
    struct eng_lock_info li = qlock(t, 1);
    assert_true(li.orphan);
    assert_int_equal(li.state, GRANTED);
    assert_int_equal(li.grmode, PR);
    expect_gone(t, 2);
    expect_counts(t, 1, 1);
    assert_false(res_exists(t, 0, "q"));
}

static void b10_orphan_still_blocks_and_gets_no_bast(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", EX, RDLM_LKF_PERSISTENT));
    ok(t, purge(t, P1));
    expect_none(t);
    ok(t, lock_as(t, P2, 2, "r", PR, RDLM_LKF_NOQUEUE));
    expect_complete(t, 2, RDLM_E_NOTQUEUED, IV);
    expect_end(t);
    ok(t, lock_as(t, P2, 3, "r", PR, 0)); /* waits; the orphan has no bast */
    expect_end(t);
    expect_lock(t, 3, WAITING, IV, PR);
    assert_int_equal(qres(t, "r").bast_count, 0);
}

static void b10_purge_cancels_orphans_pending_conversion_silently(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_PERSISTENT));
    ok(t, lock_as(t, P2, 2, "r", PR, 0));
    expect_granted(t, 2, PR);
    ok(t, conv(t, 1, EX, RDLM_LKF_PERSISTENT));
    expect_bast(t, 2, EX, HINT(1));
    expect_end(t);
    ok(t, purge(t, P1));
    expect_none(t); /* no CANCELED for the dead owner */
    expect_lock(t, 1, GRANTED, PR, PR);
    assert_true(qlock(t, 1).orphan);
    expect_pending(t, 1, 0);
}

static void b10_adoption_rekeys_orphan(void **state)
{
    struct t *t = *state;
    struct eng_req r = rq(t, 1, "r", PW, RDLM_LKF_PERSISTENT);
    r.xid = 77;
    ok(t, req(t, &r));
    ok(t, purge(t, P1));
    expect_counts(t, 1, 1);
    struct eng_req a = rq(t, 50, "r", PW, RDLM_LKF_ORPHAN | RDLM_LKF_NODLCKBLK);
    a.owner = P2;
    a.xid = 88;
    a.hint = 0xabc;
    ok(t, req(t, &a));
    expect_complete(t, 50, RDLM_OK, PW); /* sbflags 0, no LVB */
    expect_end(t);
    expect_gone(t, 1);
    struct eng_lock_info li = qlock(t, 50);
    assert_false(li.orphan);
    assert_int_equal(li.state, GRANTED);
    assert_int_equal(li.grmode, PW);
    assert_int_equal(li.owner.kind, ENG_OWNER_PROCESS);
    assert_int_equal(li.owner.node, 2);
    assert_int_equal(li.owner.id, 200);
    assert_int_equal(li.xid, 88);
    assert_int_equal(li.hint, 0xabc);
    assert_int_equal(li.flags, RDLM_LKF_NODLCKBLK); /* without ORPHAN */
    expect_counts(t, 1, 1);
    expect_queues(t, "r", "50", "", "");
}

static void b10_adopted_lock_has_bast_of_request(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", EX, RDLM_LKF_PERSISTENT));
    ok(t, purge(t, P1));
    ok(t, lock_as(t, P2, 50, "r", EX, RDLM_LKF_ORPHAN));
    expect_granted(t, 50, EX);
    ok(t, lock_as(t, P2, 51, "r", PR, 0));
    expect_bast(t, 50, PR, HINT(51));
    expect_end(t);
}

static void b10_adoption_with_lvb_transfers_nothing(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", EX, RDLM_LKF_PERSISTENT));
    ok(t, conv_lvb(t, 1, PR, RDLM_LKF_PERSISTENT, LV(0x42)));
    expect_lvb_write(t, "r", LV(0x42), 1);
    ok(t, purge(t, P1));
    expect_none(t);
    struct eng_req a = rq(t, 50, "r", PR, RDLM_LKF_ORPHAN | RDLM_LKF_VALBLK);
    a.lvb = LV(0);
    a.owner = P2;
    ok(t, req(t, &a));
    expect_complete(t, 50, RDLM_OK, PR);
    expect_end(t);
}

static void b10_adoption_picks_first_granted_orphan_of_that_mode(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 7, "r", PR, RDLM_LKF_PERSISTENT));
    ok(t, lock(t, 3, "r", CR, RDLM_LKF_PERSISTENT));
    ok(t, lock(t, 5, "r", PR, RDLM_LKF_PERSISTENT));
    expect_queues(t, "r", "7 3 5", "", "");
    ok(t, purge(t, P1));
    ok(t, lock_as(t, P2, 50, "r", PR, RDLM_LKF_ORPHAN));
    expect_granted(t, 50, PR);
    expect_gone(t, 7);
    assert_true(qlock(t, 5).orphan);
    assert_true(qlock(t, 3).orphan);
    ok(t, lock_as(t, P2, 51, "r", CR, RDLM_LKF_ORPHAN));
    expect_granted(t, 51, CR);
    expect_gone(t, 3);
}

static void b10_orphanmode_when_no_orphan_of_that_mode(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_PERSISTENT));
    ok(t, purge(t, P1));
    for (int m = NL; m <= EX; m++) {
        if (m == PR)
            continue;
        expect_rejected(t, lock_as(t, P2, 50, "r", m, RDLM_LKF_ORPHAN), RDLM_E_ORPHANMODE);
    }
    assert_true(qlock(t, 1).orphan);
}

static void b10_noorphan_without_orphans(void **state)
{
    struct t *t = *state;
    expect_rejected(t, lock(t, 50, "r", PR, RDLM_LKF_ORPHAN), RDLM_E_NOORPHAN); /* no resource */
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", PR, RDLM_LKF_PERSISTENT)); /* persistent but its owner is alive */
    expect_rejected(t, lock_as(t, P2, 50, "r", PR, RDLM_LKF_ORPHAN), RDLM_E_NOORPHAN);
    /* An adopted orphan is no longer an orphan. */
    ok(t, purge(t, P1));
    ok(t, lock_as(t, P2, 50, "r", PR, RDLM_LKF_ORPHAN));
    expect_rejected(t, lock_as(t, P2, 51, "r", PR, RDLM_LKF_ORPHAN), RDLM_E_NOORPHAN);
}

static void b10_adopted_persistent_lock_can_be_orphaned_again(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_PERSISTENT));
    ok(t, purge(t, P1));
    ok(t, lock_as(t, P2, 50, "r", PR, RDLM_LKF_ORPHAN | RDLM_LKF_PERSISTENT));
    ok(t, purge(t, P2));
    expect_none(t);
    assert_true(qlock(t, 50).orphan);
    /* Adopted without PERSISTENT: the next purge removes it. */
    ok(t, lock(t, 60, "r", PR, RDLM_LKF_ORPHAN));
    ok(t, purge(t, P1));
    expect_none(t);
    expect_gone(t, 60);
    expect_counts(t, 0, 0);
}

static void b10_purge_orphans_by_node_and_pid(void **state)
{
    struct t *t = *state;
    ok(t, lock_as(t, th_owner(1, 100), 1, "a", PR, RDLM_LKF_PERSISTENT));
    ok(t, lock_as(t, th_owner(1, 101), 2, "a", PR, RDLM_LKF_PERSISTENT));
    ok(t, lock_as(t, th_owner(2, 100), 3, "a", PR, RDLM_LKF_PERSISTENT));
    ok(t, lock_as(t, th_owner(1, 102), 4, "a", PR, RDLM_LKF_PERSISTENT)); /* stays alive */
    ok(t, purge(t, th_owner(1, 100)));
    ok(t, purge(t, th_owner(1, 101)));
    ok(t, purge(t, th_owner(2, 100)));
    ok(t, purge_orphans(t, 1, 100));
    expect_none(t);
    expect_gone(t, 1);
    assert_true(qlock(t, 2).orphan);
    assert_true(qlock(t, 3).orphan);
    /* pid 0: every orphan of node 1, but not a live lock of node 1. */
    ok(t, purge_orphans(t, 1, 0));
    expect_none(t);
    expect_gone(t, 2);
    assert_true(qlock(t, 3).orphan);
    assert_false(qlock(t, 4).orphan);
    ok(t, purge_orphans(t, 3, 0)); /* nothing there */
    expect_none(t);
    ok(t, purge_orphans(t, 2, 100));
    expect_gone(t, 3);
    expect_counts(t, 1, 1);
}

static void b10_purge_orphans_invalidates_pw_ex_lvb_and_grants_waiters(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", EX, RDLM_LKF_PERSISTENT));
    ok(t, conv_lvb(t, 1, EX, RDLM_LKF_PERSISTENT, LV(0x10)));
    ok(t, purge(t, P1));
    expect_none(t);
    struct eng_req w = rq(t, 2, "r", PR, RDLM_LKF_VALBLK);
    w.owner = P2;
    w.lvb = LV(0);
    ok(t, req(t, &w));
    expect_end(t);
    ok(t, purge_orphans(t, 1, 100));
    expect_lvb_invalid(t, "r");
    expect_granted_read(t, 2, PR, RDLM_SBF_VALNOTVALID, LV(0x10), 1);
    expect_end(t);
    expect_gone(t, 1);
}

static void b10_purge_orphans_of_pr_lock_leaves_lvb(void **state)
{
    struct t *t = *state;
    must_grant(t, 9, "r", NL);
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_PERSISTENT));
    ok(t, lock(t, 8, "r", EX, RDLM_LKF_PERSISTENT | RDLM_LKF_NOQUEUE));
    expect_complete(t, 8, RDLM_E_NOTQUEUED, IV);
    ok(t, lock_as(t, P2, 2, "q", NL, 0));
    struct eng_owner other = th_owner(1, 555);
    ok(t, lock_as(t, other, 3, "r", PR, RDLM_LKF_PERSISTENT));
    ok(t, purge(t, other));
    ok(t, purge_orphans(t, 1, 555));
    expect_none(t);
    expect_res_lvb(t, "r", ENG_LVB_NONE, 0, NULL);
}

/* ---- persistent resources ----------------------------------------------------------------- */

static void b10_persist_res_creates_persistent_resource(void **state)
{
    struct t *t = *state;
    ok(t, persist_res(t, 1, "p", EX, 42));
    expect_granted(t, 1, EX);
    expect_end(t);
    struct eng_res_info ri = qres(t, "p");
    assert_true(ri.persistent);
    assert_int_equal(ri.rd_id, 42);
    ok(t, persist_res(t, 2, "p", NL, 42)); /* same domain: accepted */
    expect_granted(t, 2, NL);
}

static void b10_is_pr_for_plain_lock_on_persistent_resource(void **state)
{
    struct t *t = *state;
    ok(t, persist_res(t, 1, "p", NL, 42));
    expect_rejected(t, lock(t, 2, "p", NL, 0), RDLM_E_IS_PR);
    expect_rejected(t, lock(t, 2, "p", NL, RDLM_LKF_PERSISTENT), RDLM_E_IS_PR);
}

static void b10_pr_rd_mismatch_for_other_domain(void **state)
{
    struct t *t = *state;
    ok(t, persist_res(t, 1, "p", NL, 42));
    expect_rejected(t, persist_res(t, 2, "p", NL, 43), RDLM_E_PR_RD_MISMATCH);
}

static void b10_not_pr_for_persist_res_on_plain_resource(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", NL);
    expect_rejected(t, persist_res(t, 2, "r", NL, 42), RDLM_E_NOT_PR);
}

static void b10_persistent_resource_survives_last_unlock_with_lvb(void **state)
{
    struct t *t = *state;
    ok(t, persist_res(t, 1, "p", EX, 42));
    ok(t, unlock_lvb(t, 1, RDLM_LKF_VALBLK, LV(0x5a)));
    expect_lvb_write(t, "p", LV(0x5a), 1);
    expect_unlocked(t, 1);
    expect_end(t);
    expect_counts(t, 1, 0);
    struct eng_res_info ri = qres(t, "p");
    assert_true(ri.persistent);
    assert_int_equal(ri.rd_id, 42);
    assert_int_equal(ri.lock_count, 0);
    expect_res_lvb(t, "p", ENG_LVB_VALID, 1, LV(0x5a));
    /* Still persistent for new requests, and its LVB is read back. */
    expect_rejected(t, lock(t, 2, "p", PR, 0), RDLM_E_IS_PR);
    struct eng_req r = rq(t, 2, "p", PR, RDLM_LKF_PERSIST_RES | RDLM_LKF_VALBLK);
    r.rd_id = 42;
    r.lvb = LV(0);
    ok(t, req(t, &r));
    expect_granted_read(t, 2, PR, 0, LV(0x5a), 1);
    expect_end(t);
}

static void b10_persistent_resource_lvb_invalidated_by_holder_death(void **state)
{
    struct t *t = *state;
    ok(t, persist_res(t, 1, "p", PW, 42));
    ok(t, conv_lvb(t, 1, PW, 0, LV(0x11)));
    expect_lvb_write(t, "p", LV(0x11), 1);
    ok(t, purge(t, P1));
    expect_lvb_invalid(t, "p");
    expect_end(t);
    expect_counts(t, 1, 0);
    expect_res_lvb(t, "p", ENG_LVB_INVALID, 1, LV(0x11));
    struct eng_req r = rq(t, 2, "p", PR, RDLM_LKF_PERSIST_RES | RDLM_LKF_VALBLK);
    r.rd_id = 42;
    r.lvb = LV(0);
    r.owner = P2;
    ok(t, req(t, &r));
    expect_granted_read(t, 2, PR, RDLM_SBF_VALNOTVALID, LV(0x11), 1);
}

/* ---- orphans rebuilt by recovery (keeper.c: eng_install_granted + eng_mark_orphan) ------ */

static void orphan_ids_lists_every_orphan_ascending(void **state)
{
    struct t *t = *state;
    uint64_t *ids;
    ok(t, lock(t, 9, "a", PR, RDLM_LKF_PERSISTENT));
    ok(t, lock(t, 3, "b", NL, RDLM_LKF_PERSISTENT));
    ok(t, lock(t, 5, "c", NL, 0));
    assert_int_equal(eng_orphan_ids(t->e, &ids), 0);
    free(ids);
    ok(t, purge(t, P1));
    assert_int_equal(eng_orphan_ids(t->e, &ids), 2);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 9);
    free(ids);
}

static void mark_orphan_makes_an_installed_lock_an_orphan(void **state)
{
    struct t *t = *state;
    struct eng_req r = rq(t, 7, "r", EX, RDLM_LKF_PERSISTENT);
    r.owner = P2;
    assert_int_equal(eng_install_granted(t->e, &r), RDLM_OK);
    assert_int_equal(eng_mark_orphan(t->e, 7), RDLM_OK);
    assert_true(qlock(t, 7).orphan);
    ok(t, lock(t, 8, "r", EX, RDLM_LKF_NOQUEUE)); /* it still blocks */
    expect_complete(t, 8, RDLM_E_NOTQUEUED, IV);
    expect_rejected(t, lock(t, 9, "r", PR, RDLM_LKF_ORPHAN), RDLM_E_ORPHANMODE);
    ok(t, purge_orphans(t, 2, 200)); /* by its dead owner's node and pid */
    expect_lvb_invalid(t, "r");      /* an EX holder's value block: as for any dead EX holder */
    expect_end(t);
    must_grant(t, 10, "r", EX);
}

static void mark_orphan_refuses_unknown_and_waiting_locks(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0)); /* waits */
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    assert_int_equal(eng_mark_orphan(t->e, 2), RDLM_E_INVAL);
    assert_int_equal(eng_mark_orphan(t->e, 77), RDLM_E_NOLOCK);
    assert_int_equal(eng_mark_orphan(NULL, 1), RDLM_E_NOLOCK);
    assert_false(qlock(t, 2).orphan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b10_persistent_lock_survives_purge_as_orphan),
        TEST(b10_orphan_still_blocks_and_gets_no_bast),
        TEST(b10_purge_cancels_orphans_pending_conversion_silently),
        TEST(b10_adoption_rekeys_orphan),
        TEST(b10_adopted_lock_has_bast_of_request),
        TEST(b10_adoption_with_lvb_transfers_nothing),
        TEST(b10_adoption_picks_first_granted_orphan_of_that_mode),
        TEST(b10_orphanmode_when_no_orphan_of_that_mode),
        TEST(b10_noorphan_without_orphans),
        TEST(b10_adopted_persistent_lock_can_be_orphaned_again),
        TEST(b10_purge_orphans_by_node_and_pid),
        TEST(b10_purge_orphans_invalidates_pw_ex_lvb_and_grants_waiters),
        TEST(b10_purge_orphans_of_pr_lock_leaves_lvb),
        TEST(b10_persist_res_creates_persistent_resource),
        TEST(b10_is_pr_for_plain_lock_on_persistent_resource),
        TEST(b10_pr_rd_mismatch_for_other_domain),
        TEST(b10_not_pr_for_persist_res_on_plain_resource),
        TEST(b10_persistent_resource_survives_last_unlock_with_lvb),
        TEST(b10_persistent_resource_lvb_invalidated_by_holder_death),
        TEST(orphan_ids_lists_every_orphan_ascending),
        TEST(mark_orphan_makes_an_installed_lock_an_orphan),
        TEST(mark_orphan_refuses_unknown_and_waiting_locks),
    };
    return cmocka_run_group_tests_name("engine-unit/orphan_persist", tests, NULL, NULL);
}
