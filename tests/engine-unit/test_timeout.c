/*
 * tests/engine-unit/test_timeout.c - TIMEOUT requests and the engine clock (spec B.11, contract
 * section 9): the deadline is the clock at the request plus timeout_cs, eng_advance_time
 * expires pending requests in (deadline, lkid) order, an expired conversion reverts to its
 * granted mode, an expired new lock vanishes, a grant clears the timer, time never goes
 * backwards (RDLM_E_INVAL, nothing expired).
 */
#include "tests/engine-unit/helpers.h"

static int lock_to(struct t *t, uint64_t id, const char *name, int mode, uint32_t timeout_cs)
{
    struct eng_req r = rq(t, id, name, mode, RDLM_LKF_TIMEOUT);
    r.timeout_cs = timeout_cs;
    return req(t, &r);
}

static int conv_to(struct t *t, uint64_t id, int mode, uint32_t timeout_cs, uint64_t hint)
{
    struct eng_req r = cvrq(id, mode, RDLM_LKF_TIMEOUT);
    r.timeout_cs = timeout_cs;
    r.hint = hint;
    return req(t, &r);
}

static void b11_new_request_times_out_and_vanishes(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    ok(t, lock_to(t, 2, "r", EX, 50));
    expect_end(t);
    assert_int_equal(qlock(t, 2).timeout_cs, 50);
    ok(t, advance(t, 49));
    expect_none(t);
    expect_lock(t, 2, WAITING, IV, EX);
    ok(t, advance(t, 50));
    expect_complete(t, 2, RDLM_E_TIMEDOUT, IV);
    expect_end(t);
    expect_gone(t, 2);
    expect_counts(t, 1, 1);
    ok(t, advance(t, 1000)); /* expires once */
    expect_none(t);
}

static void b11_deadline_counts_from_request_time(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    ok(t, advance(t, 100));
    ok(t, lock_to(t, 2, "r", PR, 50));
    ok(t, advance(t, 149));
    expect_none(t);
    ok(t, advance(t, 150));
    expect_complete(t, 2, RDLM_E_TIMEDOUT, IV);
    expect_end(t);
}

static void b11_conversion_times_out_and_reverts(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", PR);
    must_grant(t, 2, "r", PR);
    ok(t, conv_to(t, 2, EX, 30, 0x55));
    expect_end(t);
    expect_lock(t, 2, CONVERTING, PR, EX);
    ok(t, advance(t, 30));
    expect_complete(t, 2, RDLM_E_TIMEDOUT, PR);
    expect_end(t);
    expect_lock(t, 2, GRANTED, PR, PR);
    struct eng_lock_info li = qlock(t, 2);
    assert_int_equal(li.hint, HINT(2)); /* old hint restored */
    assert_int_equal(li.timeout_cs, 0);
    expect_queues(t, "r", "1 2", "", "");
}

static void b11_expiry_in_deadline_then_lkid_order(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    ok(t, lock_to(t, 9, "r", EX, 50));
    ok(t, lock_to(t, 5, "r", EX, 50));
    ok(t, lock_to(t, 7, "r", EX, 40));
    ok(t, lock_to(t, 8, "r", EX, 60));
    must_grant_nobast(t, 3, "q", PR);
    must_grant(t, 4, "q", PR);
    ok(t, conv_to(t, 4, EX, 50, HINT(4)));
    ok(t, advance(t, 55));
    expect_complete(t, 7, RDLM_E_TIMEDOUT, IV);
    expect_complete(t, 4, RDLM_E_TIMEDOUT, PR);
    expect_complete(t, 5, RDLM_E_TIMEDOUT, IV);
    expect_complete(t, 9, RDLM_E_TIMEDOUT, IV);
    expect_end(t);
    expect_lock(t, 8, WAITING, IV, EX);
    expect_queues(t, "r", "1", "", "8");
}

static void b11_expiry_rescans_the_queue(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", PR);
    ok(t, lock_to(t, 2, "r", EX, 10));
    ok(t, lock(t, 3, "r", CR, 0));
    ok(t, advance(t, 10));
    expect_complete(t, 2, RDLM_E_TIMEDOUT, IV);
    expect_granted(t, 3, CR);
    expect_end(t);
}

static void b11_grant_clears_the_timer(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock_to(t, 2, "r", EX, 10));
    must_grant(t, 3, "q", PR);
    must_grant(t, 4, "q", PR);
    ok(t, conv_to(t, 4, EX, 10, HINT(4)));
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_granted(t, 2, EX);
    ok(t, unlock(t, 3, 0));
    expect_unlocked(t, 3);
    expect_granted(t, 4, EX);
    assert_int_equal(qlock(t, 2).timeout_cs, 0);
    ok(t, advance(t, 100));
    expect_none(t);
    expect_lock(t, 2, GRANTED, EX, EX);
    expect_lock(t, 4, GRANTED, EX, EX);
}

static void b11_immediately_granted_request_never_times_out(void **state)
{
    struct t *t = *state;
    ok(t, lock_to(t, 1, "r", EX, 5));
    expect_granted(t, 1, EX);
    expect_end(t);
    ok(t, conv_to(t, 1, PR, 5, HINT(1)));
    expect_granted(t, 1, PR);
    ok(t, advance(t, 100));
    expect_none(t);
    expect_lock(t, 1, GRANTED, PR, PR);
}

static void b11_timeout_ignored_without_flag(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    struct eng_req r = rq(t, 2, "r", EX, 0);
    r.timeout_cs = 10;
    ok(t, req(t, &r));
    ok(t, advance(t, 1000));
    expect_none(t);
    expect_lock(t, 2, WAITING, IV, EX);
}

static void b11_time_backwards_is_rejected_and_expires_nothing(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    ok(t, advance(t, 100));
    ok(t, lock_to(t, 2, "r", EX, 10)); /* deadline 110 */
    expect_rejected(t, advance(t, 50), RDLM_E_INVAL);
    expect_rejected(t, advance(t, 99), RDLM_E_INVAL);
    expect_lock(t, 2, WAITING, IV, EX);
    ok(t, advance(t, 109));
    expect_none(t);
    ok(t, advance(t, 110));
    expect_complete(t, 2, RDLM_E_TIMEDOUT, IV);
}

static void b11_cancelled_request_does_not_time_out_later(void **state)
{
    struct t *t = *state;
    must_grant_nobast(t, 1, "r", EX);
    ok(t, lock_to(t, 2, "r", EX, 10));
    ok(t, cancel(t, 2, RDLM_LKF_CANCELWAITOK));
    expect_complete(t, 2, RDLM_E_CANCELED, IV);
    ok(t, lock(t, 2, "r", EX, 0)); /* the id is reused without a timeout */
    ok(t, advance(t, 10));
    expect_none(t);
    expect_lock(t, 2, WAITING, IV, EX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b11_new_request_times_out_and_vanishes),
        TEST(b11_deadline_counts_from_request_time),
        TEST(b11_conversion_times_out_and_reverts),
        TEST(b11_expiry_in_deadline_then_lkid_order),
        TEST(b11_expiry_rescans_the_queue),
        TEST(b11_grant_clears_the_timer),
        TEST(b11_immediately_granted_request_never_times_out),
        TEST(b11_timeout_ignored_without_flag),
        TEST(b11_time_backwards_is_rejected_and_expires_nothing),
        TEST(b11_cancelled_request_does_not_time_out_later),
    };
    return cmocka_run_group_tests_name("engine-unit/timeout", tests, NULL, NULL);
}
