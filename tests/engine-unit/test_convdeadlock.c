/*
 * tests/engine-unit/test_convdeadlock.c - conversion deadlock (spec B.3, contract section 4 and
 * 5.2 step 1, section 10): detection with a conversion ahead and behind, the default EDEADLK
 * revert, CONVDEADLK demotion to NL (at request time and in grant-pending), NODLCKWT's
 * self-BAST, NOQUEUE skipping the test and the test running before the alternate modes.
 */
#include "tests/engine-unit/helpers.h"

/* A PR and B PR; A converts to EX and waits for B: B -> EX is a conversion deadlock. */
static void setup_pr_pair(struct t *t, bool b_has_bast)
{
    must_grant(t, 1, "r", PR);
    if (b_has_bast)
        must_grant(t, 2, "r", PR);
    else
        must_grant_nobast(t, 2, "r", PR);
    ok(t, conv(t, 1, EX, 0));
    if (b_has_bast)
        expect_bast(t, 2, EX, HINT(1));
    expect_end(t);
    expect_lock(t, 1, CONVERTING, PR, EX);
}

static void b3_deadlock_with_conversion_ahead_reverts_with_edeadlk(void **state)
{
    struct t *t = *state;
    setup_pr_pair(t, true);
    ok(t, conv_hb(t, 2, EX, 0, 0x999, false));
    expect_complete(t, 2, RDLM_E_DEADLOCK, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
    /* The old hint is restored with the revert. */
    assert_int_equal(qlock(t, 2).hint, HINT(2));
    expect_queues(t, "r", "2", "1", "");
    expect_pending(t, 2, 0);
    expect_pending(t, 1, 1);
}

/* Ahead: only this lock's grmode blocking the earlier request is needed. */
static void b3_deadlock_ahead_needs_only_own_grmode_blocking_earlier_request(void **state)
{
    struct t *t = *state;
    must_grant(t, 9, "r", PR);
    must_grant(t, 1, "r", NL);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 1, EX, 0)); /* blocked by 9 and 2 */
    expect_bast(t, 9, EX, HINT(1));
    expect_bast(t, 2, EX, HINT(1));
    expect_end(t);
    /* 2: PR -> PW is blocked by 9 only (1 holds NL), but 2's PR blocks 1's EX ahead of it. */
    ok(t, conv(t, 2, PW, 0));
    expect_complete(t, 2, RDLM_E_DEADLOCK, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
}

/* Behind: a lock behind this one makes a deadlock only with mutual incompatibility. */
static void b3_deadlock_behind_requires_mutual_incompatibility(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 9, "r", PR);
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", NL);
    must_grant(t, 5, "r", NL);
    ok(t, conv(t, 1, EX, RDLM_LKF_CONVDEADLK)); /* blocked by 9; nothing converts: no deadlock */
    expect_end(t);
    ok(t, conv(t, 2, PW, 0)); /* blocked by 9 and by 1's PR; 2's NL blocks nothing ahead */
    expect_end(t);
    expect_queues(t, "r", "9 5", "1 2", "");
    /* Re-scan: 1's PR blocks 2's PW (behind), but 2's NL does not block 1's EX: no deadlock,
     * so 1 is not demoted despite CONVDEADLK. */
    ok(t, unlock(t, 5, 0));
    expect_unlocked(t, 5);
    expect_end(t);
    expect_lock(t, 1, CONVERTING, PR, EX);
    expect_lock(t, 2, CONVERTING, NL, PW);
}

static void b3_convdeadlk_demotes_to_nl_and_queues(void **state)
{
    struct t *t = *state;
    setup_pr_pair(t, true);
    ok(t, conv(t, 2, EX, RDLM_LKF_CONVDEADLK));
    /* 2 demoted to NL; the CONVERTING re-scan grants 1; 2 (EX vs 1's EX) is queued and its
     * queue-BASTs reach 1, whose highbast was reset by its grant. */
    expect_granted(t, 1, EX);
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    expect_lock(t, 2, CONVERTING, NL, EX);
    expect_queues(t, "r", "1", "2", "");
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_complete_sb(t, 2, RDLM_OK, EX, RDLM_SBF_DEMOTED);
    expect_end(t);
    /* DEMOTED is reported once. */
    ok(t, conv(t, 2, PR, 0));
    expect_granted(t, 2, PR);
    expect_end(t);
}

static void b3_convdeadlk_in_grant_pending_demotes_lock_ahead(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    must_grant(t, 5, "r", NL);
    ok(t, conv(t, 1, EX, RDLM_LKF_CONVDEADLK)); /* no deadlock yet: queued */
    expect_bast(t, 2, EX, HINT(1));
    expect_end(t);
    ok(t, conv(t, 2, EX, RDLM_LKF_NODLCKWT)); /* deadlock, NODLCKWT: queued (highbast EX) */
    expect_end(t);
    expect_queues(t, "r", "5", "1 2", "");
    /* Re-scan: 1 deadlocks with 2 behind it (mutual), CONVDEADLK demotes 1 to NL. */
    ok(t, unlock(t, 5, 0));
    expect_unlocked(t, 5);
    expect_end(t);
    expect_lock(t, 1, CONVERTING, NL, EX);
    expect_lock(t, 2, CONVERTING, PR, EX);
    /* Cancelling the demoted conversion reports NL with DEMOTED; 2 is then first and granted. */
    ok(t, cancel(t, 1, 0));
    expect_complete_sb(t, 1, RDLM_E_CANCELED, NL, RDLM_SBF_DEMOTED);
    expect_granted(t, 2, EX);
    expect_end(t);
    expect_lock(t, 1, GRANTED, NL, NL);
}

static void b3_nodlckwt_queues_with_self_bast(void **state)
{
    struct t *t = *state;
    setup_pr_pair(t, false);
    ok(t, conv_hb(t, 2, EX, RDLM_LKF_NODLCKWT, HINT(2), true));
    expect_bast(t, 2, EX, ANY_HINT);
    expect_end(t);
    expect_lock(t, 2, CONVERTING, PR, EX);
    expect_pending(t, 2, 1);
    /* Cancel: the old has_bast (false) is restored, so pending-BASTs skip 2. */
    ok(t, cancel(t, 2, 0));
    expect_complete(t, 2, RDLM_E_CANCELED, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
}

static void b3_nodlckwt_without_bast_routine_no_self_bast(void **state)
{
    struct t *t = *state;
    setup_pr_pair(t, false);
    ok(t, conv_hb(t, 2, EX, RDLM_LKF_NODLCKWT, HINT(2), false));
    expect_end(t);
    expect_lock(t, 2, CONVERTING, PR, EX);
}

static void b3_noqueue_conversion_skips_deadlock_test(void **state)
{
    struct t *t = *state;
    setup_pr_pair(t, true);
    ok(t, conv(t, 2, EX, RDLM_LKF_NOQUEUE));
    expect_complete(t, 2, RDLM_E_NOTQUEUED, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
}

static void b3_deadlock_checked_before_alternate_mode(void **state)
{
    struct t *t = *state;
    setup_pr_pair(t, true);
    /* ALTPR would grant PR (compatible with 1's PR), but the deadlock test comes first. */
    ok(t, conv(t, 2, EX, RDLM_LKF_ALTPR));
    expect_complete(t, 2, RDLM_E_DEADLOCK, PR);
    expect_end(t);
}

static void b3_no_deadlock_when_conversion_grantable(void **state)
{
    struct t *t = *state;
    setup_pr_pair(t, true);
    /* 2: PR -> CR is compatible with 1's PR: granted in place, no deadlock test. */
    ok(t, conv(t, 2, CR, 0));
    expect_granted(t, 2, CR);
    /* 1 (EX) still blocked by 2's CR; pending-BASTs reach 2 (highbast reset). */
    expect_bast(t, 2, EX, HINT(1));
    expect_end(t);
}

/* After a request-time demotion the lock is re-tested with grantable(), not try_grant(): its
 * alternate mode is only tried by the next grant-pending. */
static void b3_convdeadlk_demotion_retest_skips_alternates(void **state)
{
    struct t *t = *state;
    must_grant(t, 9, "r", NL);
    must_grant(t, 3, "r", PR);
    must_grant(t, 10, "r", PR);
    ok(t, conv(t, 10, CW, 0)); /* blocked by 3's PR; no deadlock */
    expect_bast(t, 3, CW, HINT(10));
    expect_end(t);
    ok(t, conv(t, 3, EX, RDLM_LKF_CONVDEADLK | RDLM_LKF_ALTCW));
    /* deadlock (3's PR blocks 10's CW ahead): 3 demoted to NL, the re-scan grants 10; EX is
     * blocked by 10's CW and 3 is queued (ALTCW not tried), BASTing 10. */
    expect_granted(t, 10, CW);
    expect_bast(t, 10, EX, HINT(3));
    expect_end(t);
    expect_lock(t, 3, CONVERTING, NL, EX);
    /* The next grant-pending tries the alternate: CW is compatible with 10's CW. */
    ok(t, unlock(t, 9, 0));
    expect_unlocked(t, 9);
    expect_complete_sb(t, 3, RDLM_OK, CW, RDLM_SBF_DEMOTED | RDLM_SBF_ALTMODE);
    expect_end(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b3_deadlock_with_conversion_ahead_reverts_with_edeadlk),
        TEST(b3_deadlock_ahead_needs_only_own_grmode_blocking_earlier_request),
        TEST(b3_deadlock_behind_requires_mutual_incompatibility),
        TEST(b3_convdeadlk_demotes_to_nl_and_queues),
        TEST(b3_convdeadlk_in_grant_pending_demotes_lock_ahead),
        TEST(b3_nodlckwt_queues_with_self_bast),
        TEST(b3_nodlckwt_without_bast_routine_no_self_bast),
        TEST(b3_noqueue_conversion_skips_deadlock_test),
        TEST(b3_deadlock_checked_before_alternate_mode),
        TEST(b3_no_deadlock_when_conversion_grantable),
        TEST(b3_convdeadlk_demotion_retest_skips_alternates),
    };
    return cmocka_run_group_tests_name("engine-unit/convdeadlock", tests, NULL, NULL);
}
