/*
 * tests/engine-unit/test_cancel_unlock.c - cancel (spec B.8, contract section 11 "Cancel" and
 * validation) and unlock (spec B.9, section 11 "Unlock"): converting revert, waiting removal,
 * CANCELGRANT (the cancel-loses-to-grant race: the grant is the one completion), CANCELWAIT,
 * deadlock cancel, the re-scan after a cancel, EUNLOCK completions, force unlock of pending
 * requests (ABORTED then UNLOCKED), the re-scan after an unlock, freeing unused resources.
 */
#include "tests/engine-unit/helpers.h"

/* ---- cancel ---------------------------------------------------------------------------- */

static void b8_cancel_conversion_reverts_to_granted_mode(void **state)
{
    struct t *t = *state;
    must_grant(t, 2, "r", PR);
    must_grant_nobast(t, 1, "r", PR);
    ok(t, conv_hb(t, 2, EX, 0, 0x1234, true));
    expect_end(t);
    expect_queues(t, "r", "1", "2", "");
    ok(t, cancel(t, 2, 0));
    expect_complete(t, 2, RDLM_E_CANCELED, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
    assert_int_equal(qlock(t, 2).hint, HINT(2)); /* old hint restored */
    expect_queues(t, "r", "1 2", "", "");        /* back at the tail of GRANTED */
    expect_pending(t, 2, 0);
}

static void b8_cancel_conversion_restores_old_bast_routine(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant_nobast(t, 2, "r", PR);
    ok(t, conv_hb(t, 2, EX, 0, HINT(2), true)); /* conversion installs a routine */
    expect_bast(t, 1, EX, HINT(2));
    ok(t, cancel(t, 2, RDLM_LKF_CANCELWAITOK));
    expect_complete(t, 2, RDLM_E_CANCELED, PR);
    expect_end(t);
    ok(t, lock(t, 3, "r", EX, 0)); /* 2 has no routine again: only 1 (highbast EX) ... none */
    expect_end(t);
    ok(t, conv(t, 1, PR, 0)); /* reset 1's highbast: pending-BASTs reach 1 but not 2 */
    expect_granted(t, 1, PR);
    expect_bast(t, 1, EX, HINT(3));
    expect_end(t);
}

static void b8_cancel_waiting_removes_request(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PR, 0));
    expect_bast(t, 1, PR, HINT(2));
    ok(t, cancel(t, 2, RDLM_LKF_CANCELWAITOK));
    expect_complete(t, 2, RDLM_E_CANCELED, IV);
    expect_end(t);
    expect_gone(t, 2);
    expect_counts(t, 1, 1);
}

static void b8_cancel_waiting_rescans_queue(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    ok(t, lock(t, 3, "r", CR, 0));
    expect_end(t);
    ok(t, cancel(t, 2, RDLM_LKF_CANCELWAITOK));
    expect_complete(t, 2, RDLM_E_CANCELED, IV);
    expect_granted(t, 3, CR);
    expect_end(t);
}

static void b8_cancel_conversion_rescans_queue(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", PR);
    must_grant(t, 2, "r", CR);
    ok(t, conv(t, 2, EX, 0));
    ok(t, lock(t, 3, "r", CR, 0)); /* behind the conversion */
    expect_end(t);
    ok(t, cancel(t, 2, 0));
    expect_complete(t, 2, RDLM_E_CANCELED, CR);
    expect_granted(t, 3, CR);
    expect_end(t);
}

/* TruCluster: the reverted holder gets a BAST if it blocks pending requests. */
static void b8_reverted_holder_basted_when_blocking(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", PR);
    must_grant(t, 2, "r", CR);
    ok(t, conv(t, 2, EX, 0));
    expect_end(t);
    ok(t, lock(t, 3, "r", EX, 0));
    expect_end(t);
    ok(t, cancel(t, 2, 0));
    expect_complete(t, 2, RDLM_E_CANCELED, CR);
    expect_bast(t, 2, EX, HINT(3));
    expect_end(t);
}

static void b8_cancel_granted_returns_cancelgrant_and_emits_nothing(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    expect_rejected(t, cancel(t, 1, 0), RDLM_E_CANCELGRANT);
    expect_rejected(t, cancel(t, 1, RDLM_LKF_CANCELWAITOK), RDLM_E_CANCELGRANT);
    expect_lock(t, 1, GRANTED, PR, PR);
}

static void b8_cancel_loses_to_grant_exactly_one_completion(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_pending(t, 2, 1);
    ok(t, unlock(t, 1, 0)); /* the grant wins the race */
    expect_unlocked(t, 1);
    expect_granted(t, 2, EX);
    expect_end(t);
    expect_pending(t, 2, 0);
    expect_rejected(t, cancel(t, 2, RDLM_LKF_CANCELWAITOK), RDLM_E_CANCELGRANT);
    expect_rejected(t, cancel_dl(t, 2), RDLM_E_CANCELGRANT);
    /* The same race for a conversion. */
    must_grant(t, 3, "q", PR);
    must_grant(t, 4, "q", PR);
    ok(t, conv(t, 4, EX, 0));
    ok(t, unlock(t, 3, 0));
    expect_unlocked(t, 3);
    expect_granted(t, 4, EX);
    expect_end(t);
    expect_rejected(t, cancel(t, 4, 0), RDLM_E_CANCELGRANT);
    expect_lock(t, 4, GRANTED, EX, EX);
}

static void b8_cancel_waiting_without_cancelwaitok_is_cancelwait(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_rejected(t, cancel(t, 2, 0), RDLM_E_CANCELWAIT);
    expect_lock(t, 2, WAITING, IV, EX);
    expect_pending(t, 2, 1);
}

static void b8_deadlock_cancel_of_waiting_request(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0));
    ok(t, lock(t, 3, "r", NL, 0));
    ok(t, cancel_dl(t, 2)); /* no CANCELWAITOK needed */
    expect_complete(t, 2, RDLM_E_DEADLOCK, IV);
    expect_granted(t, 3, NL);
    expect_end(t);
    expect_gone(t, 2);
}

static void b8_deadlock_cancel_of_conversion(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, 0));
    ok(t, cancel_dl(t, 2));
    expect_complete(t, 2, RDLM_E_DEADLOCK, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
}

/* ---- unlock ----------------------------------------------------------------------------- */

static void b9_unlock_completes_with_eunlock_and_frees_resource(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_end(t);
    expect_gone(t, 1);
    expect_counts(t, 0, 0);
    assert_false(res_exists(t, 0, "r"));
    expect_rejected(t, unlock(t, 1, 0), RDLM_E_NOLOCK);
}

static void b9_unlock_grants_waiters(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PR, 0));
    ok(t, lock(t, 3, "r", PR, 0));
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_granted(t, 2, PR);
    expect_granted(t, 3, PR);
    expect_end(t);
}

static void b9_unlock_pending_without_force_is_busy(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, 0));
    ok(t, lock(t, 3, "r", EX, 0));
    expect_rejected(t, unlock(t, 2, 0), RDLM_E_BUSY);
    expect_rejected(t, unlock(t, 3, 0), RDLM_E_BUSY);
    expect_rejected(t, unlock(t, 3, RDLM_LKF_VALBLK), RDLM_E_BUSY);
}

static void b9_force_unlock_waiting_aborts_then_unlocks(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", EX, 0));
    ok(t, lock(t, 3, "r", CR, 0));
    ok(t, unlock(t, 2, RDLM_LKF_FORCEUNLOCK));
    expect_complete(t, 2, RDLM_E_ABORTED, IV);
    expect_unlocked(t, 2);
    expect_granted(t, 3, CR);
    expect_end(t);
    expect_gone(t, 2);
}

static void b9_force_unlock_converting_aborts_then_unlocks(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", CR);
    must_grant(t, 2, "r", PW);
    ok(t, conv(t, 2, EX, 0));
    ok(t, lock(t, 3, "r", PR, 0)); /* blocked by 2's PW, behind the conversion */
    expect_end(t);
    /* LVB write uses the granted mode (PW) of the converting lock. */
    ok(t, unlock_lvb(t, 2, RDLM_LKF_FORCEUNLOCK | RDLM_LKF_VALBLK, LV(0x21)));
    expect_complete(t, 2, RDLM_E_ABORTED, IV);
    expect_lvb_write(t, "r", LV(0x21), 1);
    expect_unlocked(t, 2);
    expect_granted(t, 3, PR);
    expect_end(t);
}

static void b9_force_unlock_of_granted_lock_is_plain_unlock(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, unlock(t, 1, RDLM_LKF_FORCEUNLOCK));
    expect_unlocked(t, 1);
    expect_end(t);
    expect_counts(t, 0, 0);
}

static void b9_unlock_of_converting_blocker_grants_conversion_first(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, 0));
    ok(t, lock(t, 3, "r", PR, 0));
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_granted(t, 2, EX);
    expect_bast(t, 2, PR, HINT(3));
    expect_end(t);
    expect_lock(t, 3, WAITING, IV, PR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b8_cancel_conversion_reverts_to_granted_mode),
        TEST(b8_cancel_conversion_restores_old_bast_routine),
        TEST(b8_cancel_waiting_removes_request),
        TEST(b8_cancel_waiting_rescans_queue),
        TEST(b8_cancel_conversion_rescans_queue),
        TEST(b8_reverted_holder_basted_when_blocking),
        TEST(b8_cancel_granted_returns_cancelgrant_and_emits_nothing),
        TEST(b8_cancel_loses_to_grant_exactly_one_completion),
        TEST(b8_cancel_waiting_without_cancelwaitok_is_cancelwait),
        TEST(b8_deadlock_cancel_of_waiting_request),
        TEST(b8_deadlock_cancel_of_conversion),
        TEST(b9_unlock_completes_with_eunlock_and_frees_resource),
        TEST(b9_unlock_grants_waiters),
        TEST(b9_unlock_pending_without_force_is_busy),
        TEST(b9_force_unlock_waiting_aborts_then_unlocks),
        TEST(b9_force_unlock_converting_aborts_then_unlocks),
        TEST(b9_force_unlock_of_granted_lock_is_plain_unlock),
        TEST(b9_unlock_of_converting_blocker_grants_conversion_first),
    };
    return cmocka_run_group_tests_name("engine-unit/cancel_unlock", tests, NULL, NULL);
}
