/*
 * tests/engine-unit/test_grant_rules.c - the grant algorithm, one or more tests per numbered
 * rule of spec B.2 (contract section 3 `grantable`/`try_grant`, section 5 requests and section
 * 10 grant-pending). Every test asserts the exact actions (completions and the BASTs the
 * contract's queue-BASTs / pending-BASTs emit) and the queues afterwards.
 *
 * Rule 12 (after-recovery: conversions on a rebuilt resource granted without order) has no
 * entry point in the engine API (there is no recovery/rebuild call); it is recorded as a
 * skipped test.
 */
#include "tests/engine-unit/helpers.h"

/* ---- rule 1: EXPEDITE ------------------------------------------------------------------- */

static void b2_rule1_expedite_nl_granted_ahead_of_waiters(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PR, 0));
    expect_bast(t, 1, PR, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", NL, RDLM_LKF_EXPEDITE));
    expect_granted(t, 3, NL);
    expect_end(t);
    expect_queues(t, "r", "1 3", "", "2");
}

static void b2_rule1_expedite_nl_granted_ahead_of_conversions(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", NL, RDLM_LKF_EXPEDITE));
    expect_granted(t, 3, NL);
    expect_end(t);
    expect_queues(t, "r", "1 3", "2", "");
}

/* Contrast: the same NL request without EXPEDITE waits behind the waiter (rule 7). */
static void b2_rule1_nl_without_expedite_waits_behind_waiters(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PR, 0));
    expect_bast(t, 1, PR, HINT(2));
    ok(t, lock(t, 3, "r", NL, 0));
    expect_end(t);
    expect_lock(t, 3, WAITING, IV, NL);
    expect_queues(t, "r", "1", "", "2 3");
}

/* ---- rule 2: compatible with the granted mode of every other lock on GRANTED and CONVERTING */

static void b2_rule2_request_blocked_by_granted_lock(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    expect_lock(t, 2, WAITING, IV, EX);
    expect_queues(t, "r", "1", "", "2");
}

static void b2_rule2_converting_lock_blocks_with_its_granted_mode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PW);
    must_grant(t, 2, "r", NL);
    must_grant(t, 3, "r", CR);
    /* 1: PW -> EX blocked by 3 (CR); it keeps holding PW on CONVERTING. */
    ok(t, conv(t, 1, EX, 0));
    expect_bast(t, 3, EX, HINT(1));
    expect_end(t);
    expect_lock(t, 1, CONVERTING, PW, EX);
    /* 2: NL -> PR is compatible with every lock on GRANTED (3: CR) but not with the PW held
     * by converting lock 1: it is queued (no conversion deadlock: NL blocks nothing). */
    ok(t, conv(t, 2, PR, 0));
    expect_end(t);
    expect_lock(t, 2, CONVERTING, NL, PR);
    expect_queues(t, "r", "3", "1 2", "");
}

static void b2_rule2_own_granted_mode_does_not_block(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, conv(t, 1, EX, 0));
    expect_granted(t, 1, EX);
    expect_end(t);
    expect_lock(t, 1, GRANTED, EX, EX);
}

static void b2_rule2_locks_of_one_owner_conflict(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0)); /* same default owner */
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    expect_lock(t, 2, WAITING, IV, EX);
}

/* ---- rule 3: a first-time conversion without QUECVT is granted in place ---------------- */

/* Setup shared by rules 3 and 4: 1 NL, 4 PR granted; 2 PR->EX converting; 3 CR waiting. */
static void setup_queued_conversion_and_waiter(struct t *t)
{
    must_grant(t, 1, "r", NL);
    must_grant(t, 4, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, 0));
    expect_bast(t, 4, EX, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", CR, 0));
    expect_end(t);
    expect_queues(t, "r", "1 4", "2", "3");
}

static void b2_rule3_compatible_conversion_overtakes_queued_conversions_and_waiters(void **state)
{
    struct t *t = *state;
    setup_queued_conversion_and_waiter(t);
    ok(t, conv(t, 1, CR, 0));
    expect_granted(t, 1, CR);
    /* grant-pending: nothing grantable; pending-BASTs: high = EX (lock 2), lock 1's highbast was
     * reset by its grant and CR blocks EX; lock 4 already got EX. */
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    expect_lock(t, 1, GRANTED, CR, CR);
    expect_queues(t, "r", "1 4", "2", "3");
}

/* ---- rule 4: a first-time conversion with QUECVT waits if CONVERTING is not empty -------- */

static void b2_rule4_quecvt_conversion_queues_behind_conversions(void **state)
{
    struct t *t = *state;
    setup_queued_conversion_and_waiter(t);
    ok(t, conv(t, 1, CR, RDLM_LKF_QUECVT));
    expect_end(t);
    expect_lock(t, 1, CONVERTING, NL, CR);
    expect_queues(t, "r", "4", "2 1", "3");
}

static void b2_rule4_quecvt_conversion_granted_when_converting_empty(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", NL);
    must_grant(t, 2, "r", PR);
    ok(t, lock(t, 3, "r", EX, 0)); /* a waiter does not matter for a conversion */
    expect_bast(t, 2, EX, HINT(3));
    ok(t, conv(t, 1, CR, RDLM_LKF_QUECVT));
    expect_granted(t, 1, CR);
    /* pending-BASTs: high EX; 1 (CR, highbast reset) gets it; 2 already has EX. */
    expect_bast(t, 1, EX, HINT(3));
    expect_end(t);
}

/* ---- rule 5: NOORDER ---------------------------------------------------------------------- */

static void b2_rule5_noorder_new_request_granted_past_waiters(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    ok(t, lock(t, 3, "r", CR, RDLM_LKF_NOORDER));
    expect_granted(t, 3, CR);
    expect_end(t);
    /* Contrast: without NOORDER the same request waits. */
    ok(t, lock(t, 4, "r", CR, 0));
    expect_end(t);
    expect_queues(t, "r", "1 3", "", "2 4");
}

static void b2_rule5_noorder_queued_request_granted_when_not_first(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PW);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    ok(t, lock(t, 3, "r", PR, RDLM_LKF_NOORDER));
    expect_end(t);
    ok(t, lock(t, 4, "r", PR, 0)); /* the same without NOORDER stays queued */
    expect_end(t);
    /* Down-conversion PW -> CR: granted in place, then grant-pending. */
    ok(t, conv(t, 1, CR, 0));
    expect_granted(t, 1, CR);
    expect_granted(t, 3, PR);
    /* pending-BASTs: high = EX (2), both granted locks have a reset highbast. */
    expect_bast(t, 1, EX, HINT(2));
    expect_bast(t, 3, EX, HINT(2));
    expect_end(t);
    expect_queues(t, "r", "1 3", "", "2 4");
}

/* ---- rule 6: a queued conversion is granted only when first on CONVERTING ---------------- */

static void b2_rule6_queued_conversion_granted_only_when_first(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", NL);
    must_grant(t, 3, "r", NL);
    must_grant(t, 5, "r", NL);
    ok(t, conv(t, 2, EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    ok(t, conv(t, 3, CR, RDLM_LKF_QUECVT));
    expect_end(t);
    expect_queues(t, "r", "1 5", "2 3", "");
    /* 3 is compatible with every granted mode but is not first: it stays. */
    ok(t, unlock(t, 5, 0));
    expect_unlocked(t, 5);
    expect_end(t);
    expect_lock(t, 3, CONVERTING, NL, CR);
    /* 1 goes: 2 is granted; 3, now first, is blocked by 2's EX. */
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_granted(t, 2, EX);
    expect_bast(t, 2, CR, HINT(3));
    expect_end(t);
    ok(t, unlock(t, 2, 0));
    expect_unlocked(t, 2);
    expect_granted(t, 3, CR);
    expect_end(t);
}

/* ---- rule 7: a new request is granted at once only if CONVERTING and WAITING are empty ---- */

static void b2_rule7_new_request_waits_behind_waiters(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    ok(t, lock(t, 3, "r", CR, 0)); /* compatible with PR, but 2 waits */
    expect_end(t);
    expect_lock(t, 3, WAITING, IV, CR);
    expect_queues(t, "r", "1", "", "2 3");
}

static void b2_rule7_new_request_waits_behind_conversions(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    ok(t, lock(t, 3, "r", CR, 0)); /* compatible with both granted modes */
    expect_end(t);
    expect_lock(t, 3, WAITING, IV, CR);
    expect_queues(t, "r", "1", "2", "3");
}

/* ---- rule 8: a queued new request: CONVERTING empty and first on WAITING ----------------- */

static void b2_rule8_queued_request_granted_only_when_first(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, lock(t, 3, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(3));
    expect_bast(t, 2, EX, HINT(3));
    expect_end(t);
    ok(t, lock(t, 4, "r", CR, 0));
    expect_end(t);
    ok(t, unlock(t, 1, 0)); /* 4 is compatible with 2 but not first */
    expect_unlocked(t, 1);
    expect_end(t);
    expect_lock(t, 4, WAITING, IV, CR);
    ok(t, unlock(t, 2, 0));
    expect_unlocked(t, 2);
    expect_granted(t, 3, EX);
    expect_bast(t, 3, CR, HINT(4));
    expect_end(t);
    ok(t, unlock(t, 3, 0));
    expect_unlocked(t, 3);
    expect_granted(t, 4, CR);
    expect_end(t);
}

static void b2_rule8_queued_request_waits_while_converting_not_empty(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    must_grant(t, 5, "r", NL);
    ok(t, conv(t, 2, EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    ok(t, lock(t, 3, "r", CR, 0));
    expect_end(t);
    ok(t, unlock(t, 5, 0)); /* re-scan: 3 is first on WAITING, compatible, but 2 converts */
    expect_unlocked(t, 5);
    expect_end(t);
    expect_lock(t, 3, WAITING, IV, CR);
}

/* ---- rule 9: not grantable -> NOQUEUE fails, else queued ---------------------------------- */

static void b2_rule9_noqueue_new_request_fails_and_vanishes(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", CR, RDLM_LKF_NOQUEUE));
    expect_complete(t, 2, RDLM_E_NOTQUEUED, IV);
    expect_end(t);
    expect_gone(t, 2);
    expect_counts(t, 1, 1);
    expect_queues(t, "r", "1", "", "");
}

static void b2_rule9_noqueue_conversion_fails_and_keeps_granted_mode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, RDLM_LKF_NOQUEUE));
    expect_complete(t, 2, RDLM_E_NOTQUEUED, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
    expect_queues(t, "r", "1 2", "", "");
}

static void b2_rule9_requests_queue_at_the_tail(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    for (uint64_t id = 10; id <= 12; id++)
        ok(t, lock(t, id, "r", PR, 0));
    expect_queues(t, "r", "1", "", "10 11 12");
    must_grant(t, 2, "q", PR);
    must_grant(t, 3, "q", NL);
    must_grant(t, 4, "q", NL);
    must_grant(t, 6, "q", NL);
    ok(t, conv(t, 3, EX, 0));
    ok(t, conv(t, 4, EX, 0));
    ok(t, conv(t, 6, PW, 0));
    expect_queues(t, "q", "2", "3 4 6", "");
}

/* ---- rule 10: re-scan after every release; conversions before new requests ---------------- */

static void b2_rule10_conversion_granted_before_earlier_waiter(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", NL);
    must_grant(t, 2, "r", EX);
    ok(t, lock(t, 3, "r", EX, 0)); /* waits first */
    expect_bast(t, 2, EX, HINT(3));
    expect_end(t);
    ok(t, conv(t, 1, EX, 0)); /* converts later */
    expect_end(t);
    ok(t, unlock(t, 2, 0));
    expect_unlocked(t, 2);
    expect_granted(t, 1, EX);
    expect_bast(t, 1, EX, HINT(3)); /* pending-BASTs for the waiter */
    expect_end(t);
    expect_lock(t, 3, WAITING, IV, EX);
}

static void b2_rule10_converting_scan_restarts_after_each_grant(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PW);
    must_grant(t, 2, "r", NL);
    must_grant(t, 3, "r", NL);
    ok(t, conv(t, 2, PR, 0));
    expect_bast(t, 1, PR, HINT(2));
    expect_end(t);
    ok(t, conv(t, 3, CR, RDLM_LKF_QUECVT)); /* compatible with PW, but queued behind 2 */
    expect_end(t);
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_granted(t, 2, PR);
    expect_granted(t, 3, CR);
    expect_end(t);
    expect_queues(t, "r", "2 3", "", "");
}

static void b2_rule10_waiting_pass_grants_every_compatible_head(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PR, 0));
    expect_bast(t, 1, PR, HINT(2));
    ok(t, lock(t, 3, "r", CR, 0));
    ok(t, lock(t, 4, "r", PR, 0));
    ok(t, lock(t, 5, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(5));
    ok(t, lock(t, 6, "r", CR, 0));
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_granted(t, 2, PR);
    expect_granted(t, 3, CR);
    expect_granted(t, 4, PR);
    /* 5 (EX) blocked; 6 not first. pending-BASTs: high EX to 2, 3, 4 (highbast reset). */
    expect_bast(t, 2, EX, HINT(5));
    expect_bast(t, 3, EX, HINT(5));
    expect_bast(t, 4, EX, HINT(5));
    expect_end(t);
    expect_queues(t, "r", "2 3 4", "", "5 6");
}

/* ---- rule 11: ALTPR / ALTCW --------------------------------------------------------------- */

static void b2_rule11_altpr_grants_pr_with_altmode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", EX, RDLM_LKF_ALTPR));
    expect_complete_sb(t, 2, RDLM_OK, PR, RDLM_SBF_ALTMODE);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
    /* ALTMODE is cleared once reported. */
    ok(t, conv(t, 2, PR, 0));
    expect_granted(t, 2, PR);
    expect_end(t);
}

static void b2_rule11_altcw_grants_cw_with_altmode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", CW);
    ok(t, lock(t, 2, "r", PW, RDLM_LKF_ALTCW));
    expect_complete_sb(t, 2, RDLM_OK, CW, RDLM_SBF_ALTMODE);
    expect_end(t);
    expect_lock(t, 2, GRANTED, CW, CW);
}

static void b2_rule11_failed_alternate_reverts_requested_mode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PW, RDLM_LKF_ALTPR));
    expect_bast(t, 1, PW, HINT(2));
    expect_end(t);
    expect_lock(t, 2, WAITING, IV, PW);
}

static void b2_rule11_altpr_takes_precedence_over_altcw(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", CW);
    /* ALTPR is tried (PR fails against CW); ALTCW, which would succeed, is not. */
    ok(t, lock(t, 2, "r", EX, RDLM_LKF_ALTPR | RDLM_LKF_ALTCW));
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    expect_lock(t, 2, WAITING, IV, EX);
}

static void b2_rule11_altcw_tried_when_request_is_already_pr(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", CW);
    ok(t, lock(t, 2, "r", PR, RDLM_LKF_ALTPR | RDLM_LKF_ALTCW));
    expect_complete_sb(t, 2, RDLM_OK, CW, RDLM_SBF_ALTMODE);
    expect_end(t);
}

static void b2_rule11_alternate_applies_to_conversions(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", NL);
    ok(t, conv(t, 2, EX, RDLM_LKF_ALTPR));
    expect_complete_sb(t, 2, RDLM_OK, PR, RDLM_SBF_ALTMODE);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
}

static void b2_rule11_alternate_applies_when_queued_lock_is_rescanned(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, RDLM_LKF_ALTPR));
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    ok(t, conv(t, 1, PR, 0));
    expect_granted(t, 1, PR);
    expect_complete_sb(t, 2, RDLM_OK, PR, RDLM_SBF_ALTMODE);
    expect_end(t);
    expect_queues(t, "r", "1 2", "", "");
}

/* ---- rule 12: after recovery --------------------------------------------------------------- */

static void b2_rule12_after_recovery_not_in_engine_api(void **state)
{
    (void)state;
    /* Recovery (rebuilding a resource from surviving holders) is not an engine operation: the
     * engine API has no entry point that rebuilds a resource, so rule 12 cannot be exercised
     * here. It belongs to the recovery tests of the daemon. */
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b2_rule1_expedite_nl_granted_ahead_of_waiters),
        TEST(b2_rule1_expedite_nl_granted_ahead_of_conversions),
        TEST(b2_rule1_nl_without_expedite_waits_behind_waiters),
        TEST(b2_rule2_request_blocked_by_granted_lock),
        TEST(b2_rule2_converting_lock_blocks_with_its_granted_mode),
        TEST(b2_rule2_own_granted_mode_does_not_block),
        TEST(b2_rule2_locks_of_one_owner_conflict),
        TEST(b2_rule3_compatible_conversion_overtakes_queued_conversions_and_waiters),
        TEST(b2_rule4_quecvt_conversion_queues_behind_conversions),
        TEST(b2_rule4_quecvt_conversion_granted_when_converting_empty),
        TEST(b2_rule5_noorder_new_request_granted_past_waiters),
        TEST(b2_rule5_noorder_queued_request_granted_when_not_first),
        TEST(b2_rule6_queued_conversion_granted_only_when_first),
        TEST(b2_rule7_new_request_waits_behind_waiters),
        TEST(b2_rule7_new_request_waits_behind_conversions),
        TEST(b2_rule8_queued_request_granted_only_when_first),
        TEST(b2_rule8_queued_request_waits_while_converting_not_empty),
        TEST(b2_rule9_noqueue_new_request_fails_and_vanishes),
        TEST(b2_rule9_noqueue_conversion_fails_and_keeps_granted_mode),
        TEST(b2_rule9_requests_queue_at_the_tail),
        TEST(b2_rule10_conversion_granted_before_earlier_waiter),
        TEST(b2_rule10_converting_scan_restarts_after_each_grant),
        TEST(b2_rule10_waiting_pass_grants_every_compatible_head),
        TEST(b2_rule11_altpr_grants_pr_with_altmode),
        TEST(b2_rule11_altcw_grants_cw_with_altmode),
        TEST(b2_rule11_failed_alternate_reverts_requested_mode),
        TEST(b2_rule11_altpr_takes_precedence_over_altcw),
        TEST(b2_rule11_altcw_tried_when_request_is_already_pr),
        TEST(b2_rule11_alternate_applies_to_conversions),
        TEST(b2_rule11_alternate_applies_when_queued_lock_is_rescanned),
        TEST(b2_rule12_after_recovery_not_in_engine_api),
    };
    return cmocka_run_group_tests_name("engine-unit/grant_rules", tests, NULL, NULL);
}
