/*
 * tests/engine-unit/test_bast.c - blocking ASTs (spec B.6, contract section 8): queue-BASTs when a
 * request is queued, de-duplication by highbast, the PR/CW special case, reset at grant,
 * pending-BASTs after grant-pending (high / cw rule, hint of the first pending lock), no BAST
 * without a bast routine, the requester's hint, NOQUEUEBAST to GRANTED then CONVERTING, the
 * resource's bast_count.
 */
#include "tests/engine-unit/helpers.h"

static void b6_bast_carries_blocked_mode_and_requester_hint(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    struct eng_req r = rq(t, 2, "r", PR, 0);
    r.hint = 0xdeadbeef;
    ok(t, req(t, &r));
    expect_bast(t, 1, PR, 0xdeadbeef);
    expect_end(t);
    assert_int_equal(qres(t, "r").bast_count, 1);
}

static void b6_bast_dedup_only_higher_mode_than_highbast(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", CR, 0));
    expect_bast(t, 1, CR, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", CR, 0)); /* same mode: no new BAST */
    expect_end(t);
    ok(t, lock(t, 4, "r", PR, 0));
    expect_bast(t, 1, PR, HINT(4));
    expect_end(t);
    ok(t, lock(t, 5, "r", CR, 0)); /* lower */
    expect_end(t);
    ok(t, lock(t, 6, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(6));
    expect_end(t);
    ok(t, lock(t, 7, "r", PW, 0));
    expect_end(t);
    assert_int_equal(qres(t, "r").bast_count, 3);
}

static void b6_bast_not_sent_for_compatible_request_mode(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", CR);
    ok(t, lock(t, 3, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(3));
    expect_bast(t, 2, EX, HINT(3));
    expect_end(t);
    ok(t, lock(t, 4, "r", PR, 0)); /* queued behind 3; compatible with PR and CR: no BAST */
    expect_end(t);
}

static void b6_pr_held_cw_requested_bast_repeats_until_ex_sent(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", CW, 0));
    expect_bast(t, 1, CW, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", CW, 0)); /* special case: highbast CW < EX -> again */
    expect_bast(t, 1, CW, HINT(3));
    expect_end(t);
    ok(t, lock(t, 4, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(4));
    expect_end(t);
    ok(t, lock(t, 5, "r", CW, 0)); /* highbast EX: none */
    expect_end(t);
}

static void b6_pr_held_cw_requested_after_higher_bast(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", PW, 0));
    expect_bast(t, 1, PW, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", CW, 0)); /* CW < PW, but the PR/CW case only needs highbast < EX */
    expect_bast(t, 1, CW, HINT(3));
    expect_end(t);
}

static void b6_cw_held_pr_requested_special_case(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", CW);
    ok(t, lock(t, 2, "r", PR, 0));
    expect_bast(t, 1, PR, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", PR, 0));
    expect_bast(t, 1, PR, HINT(3));
    expect_end(t);
    ok(t, lock(t, 4, "r", PW, 0)); /* ordinary rule: PR < PW, incompatible */
    expect_bast(t, 1, PW, HINT(4));
    expect_end(t);
    ok(t, lock(t, 5, "r", PR, 0)); /* special case again: PW < EX */
    expect_bast(t, 1, PR, HINT(5));
    expect_end(t);
    ok(t, lock(t, 6, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(6));
    expect_end(t);
    ok(t, lock(t, 7, "r", PR, 0));
    expect_end(t);
}

static void b6_highbast_reset_at_grant(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", EX, 0)); /* highbast EX: none */
    expect_end(t);
    /* A grant (here a same-mode conversion) resets highbast: pending-BASTs send EX again. */
    ok(t, conv(t, 1, EX, 0));
    expect_granted(t, 1, EX);
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    /* Down-conversion EX -> PR: granted, reset, 2 still blocked -> BAST again. */
    ok(t, conv(t, 1, PR, 0));
    expect_granted(t, 1, PR);
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
}

static void b6_no_bast_without_bast_routine(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_end(t);
    ok(t, unlock(t, 2, RDLM_LKF_FORCEUNLOCK));
    expect_complete(t, 2, RDLM_E_ABORTED, IV);
    expect_unlocked(t, 2);
    expect_end(t);
    assert_int_equal(qres(t, "r").bast_count, 0);
}

static void b6_conversion_replaces_bast_routine(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, conv_hb(t, 1, PR, 0, HINT(1), false));
    expect_granted(t, 1, PR);
    expect_end(t);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_end(t);
    ok(t, conv_hb(t, 1, PR, 0, HINT(1), true)); /* a routine again: pending-BASTs reach it */
    expect_granted(t, 1, PR);
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
}

static void b6_conversion_hint_delivered_to_blocker(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", NL);
    ok(t, conv_hb(t, 2, EX, 0, 0x7777, true));
    expect_bast(t, 1, EX, 0x7777);
    expect_end(t);
}

static void b6_no_bast_to_converting_or_waiting_locks_on_queueing(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv(t, 2, EX, 0)); /* 2 now on CONVERTING holding PR */
    expect_end(t);
    ok(t, lock(t, 3, "r", PW, 0)); /* blocked by 2's PR too, but 2 is not on GRANTED */
    expect_end(t);
    ok(t, lock(t, 4, "r", EX, 0)); /* 3 waits: never BASTed */
    expect_end(t);
}

/* pending-BASTs: high = PR, a CW request pending, holder PR -> BAST mode CW, hint of the CW. */
static void b6_pending_basts_pr_holder_gets_cw_when_cw_pending(void **state)
{
    struct t *t = *state;
    must_grant(t, 9, "r", NL);
    must_grant_nobast(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", CW, 0));
    ok(t, lock(t, 3, "r", PR, 0)); /* behind 2 */
    expect_end(t);
    ok(t, conv_hb(t, 1, PR, 0, HINT(1), true)); /* granted in place: highbast reset */
    expect_granted(t, 1, PR);
    expect_bast(t, 1, CW, HINT(2));
    expect_end(t);
    /* highbast is now PR (high): the PR/CW case still only needs highbast < EX. */
    ok(t, unlock(t, 9, 0));
    expect_unlocked(t, 9);
    expect_bast(t, 1, CW, HINT(2));
    expect_end(t);
}

static void b6_pending_basts_cw_holder_gets_pr(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", CW);
    ok(t, lock(t, 2, "r", PR, 0));
    expect_end(t);
    ok(t, conv_hb(t, 1, CW, 0, HINT(1), true));
    expect_granted(t, 1, CW);
    expect_bast(t, 1, PR, HINT(2));
    expect_end(t);
}

static void b6_pending_basts_high_mode_ordinary_rule(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", CR);
    must_grant(t, 2, "r", NL);
    ok(t, lock(t, 3, "r", EX, 0));
    ok(t, lock(t, 4, "r", PR, 0));
    expect_end(t);
    ok(t, conv_hb(t, 1, CR, 0, HINT(1), true));
    expect_granted(t, 1, CR);
    expect_bast(t, 1, EX, HINT(3)); /* high = EX; 2 (NL) is compatible: none */
    expect_end(t);
    /* highbast EX now: the next pending-BASTs round sends nothing. */
    ok(t, unlock(t, 2, 0));
    expect_unlocked(t, 2);
    expect_end(t);
}

static void b6_pending_basts_hint_of_first_pending_converting_before_waiting(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    must_grant(t, 2, "r", NL);
    ok(t, lock(t, 3, "r", EX, 0)); /* waits first */
    ok(t, conv(t, 2, EX, 0));      /* converts later */
    expect_end(t);
    ok(t, conv_hb(t, 1, EX, 0, HINT(1), true));
    expect_granted(t, 1, EX);
    expect_bast(t, 1, EX, HINT(2)); /* the converting lock's hint */
    expect_end(t);
}

static void b6_noqueuebast_failed_request_basts_granted_then_converting(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", CR);
    ok(t, conv(t, 2, PW, 0));
    expect_bast(t, 1, PW, HINT(2));
    expect_end(t);
    ok(t, lock(t, 3, "r", EX, RDLM_LKF_NOQUEUE | RDLM_LKF_NOQUEUEBAST));
    expect_complete(t, 3, RDLM_E_NOTQUEUED, IV);
    expect_bast(t, 1, EX, HINT(3));
    expect_bast(t, 2, EX, HINT(3));
    expect_end(t);
    expect_gone(t, 3);
}

static void b6_noqueuebast_failed_conversion_skips_itself(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 4, "r", PR);
    must_grant(t, 2, "r", CR);
    ok(t, conv(t, 2, PW, 0));
    expect_bast(t, 1, PW, HINT(2));
    expect_bast(t, 4, PW, HINT(2));
    expect_end(t);
    ok(t, conv(t, 4, EX, RDLM_LKF_NOQUEUE | RDLM_LKF_NOQUEUEBAST));
    expect_complete(t, 4, RDLM_E_NOTQUEUED, PR);
    expect_bast(t, 1, EX, HINT(4));
    expect_bast(t, 2, EX, HINT(4));
    expect_end(t);
    expect_lock(t, 4, GRANTED, PR, PR);
}

static void b6_plain_noqueue_failure_sends_no_bast(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, lock(t, 2, "r", EX, RDLM_LKF_NOQUEUE));
    expect_complete(t, 2, RDLM_E_NOTQUEUED, IV);
    expect_end(t);
    must_grant(t, 3, "r", PR);
    ok(t, conv(t, 3, EX, RDLM_LKF_NOQUEUE));
    expect_complete(t, 3, RDLM_E_NOTQUEUED, PR);
    expect_end(t);
    assert_int_equal(qres(t, "r").bast_count, 0);
}

static void b6_bast_count_counts_every_bast(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, lock(t, 3, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(3));
    expect_bast(t, 2, EX, HINT(3));
    ok(t, conv(t, 1, PR, 0));
    expect_granted(t, 1, PR);
    expect_bast(t, 1, EX, HINT(3));
    expect_end(t);
    assert_int_equal(qres(t, "r").bast_count, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b6_bast_carries_blocked_mode_and_requester_hint),
        TEST(b6_bast_dedup_only_higher_mode_than_highbast),
        TEST(b6_bast_not_sent_for_compatible_request_mode),
        TEST(b6_pr_held_cw_requested_bast_repeats_until_ex_sent),
        TEST(b6_pr_held_cw_requested_after_higher_bast),
        TEST(b6_cw_held_pr_requested_special_case),
        TEST(b6_highbast_reset_at_grant),
        TEST(b6_no_bast_without_bast_routine),
        TEST(b6_conversion_replaces_bast_routine),
        TEST(b6_conversion_hint_delivered_to_blocker),
        TEST(b6_no_bast_to_converting_or_waiting_locks_on_queueing),
        TEST(b6_pending_basts_pr_holder_gets_cw_when_cw_pending),
        TEST(b6_pending_basts_cw_holder_gets_pr),
        TEST(b6_pending_basts_high_mode_ordinary_rule),
        TEST(b6_pending_basts_hint_of_first_pending_converting_before_waiting),
        TEST(b6_noqueuebast_failed_request_basts_granted_then_converting),
        TEST(b6_noqueuebast_failed_conversion_skips_itself),
        TEST(b6_plain_noqueue_failure_sends_no_bast),
        TEST(b6_bast_count_counts_every_bast),
    };
    return cmocka_run_group_tests_name("engine-unit/bast", tests, NULL, NULL);
}
