/*
 * tests/engine-unit/test_purge.c - eng_purge_owner (contract section 11 "Purge owner", spec B.5
 * holder failure, B.9/B.10): no completion for the dead owner's locks (pending ones are
 * dropped silently), LVB invalidated for PW/EX holders only, waiters behind the dead owner
 * granted, resources handled in the order they were first affected, owners are (kind, node,
 * id) triples.
 */
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

static void purge_no_completion_for_dead_owner_waiters_granted(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock_as(t, P2, 20, "q", EX, 0));
    ok(t, lock(t, 2, "q", PR, 0)); /* P1 waiting */
    ok(t, lock_as(t, P2, 30, "s", PR, 0));
    must_grant(t, 3, "s", PR);
    ok(t, conv(t, 3, EX, 0)); /* P1 converting */
    struct eng_req w = rq(t, 21, "r", PR, RDLM_LKF_VALBLK);
    w.owner = P2;
    w.lvb = LV(0x77);
    ok(t, req(t, &w));
    ok(t, purge(t, P1));
    /* Only the EX holder's LVB invalidation and the grant of the P2 waiter. */
    expect_lvb_invalid(t, "r");
    expect_granted_read(t, 21, PR, RDLM_SBF_VALNOTVALID, LV(0), 0);
    expect_end(t);
    for (uint64_t id = 1; id <= 3; id++) {
        expect_gone(t, id);
        expect_pending(t, id, 0);
    }
    expect_queues(t, "q", "20", "", "");
    expect_queues(t, "s", "30", "", "");
    expect_counts(t, 3, 3);
}

static void purge_invalidates_lvb_only_for_pw_ex_holders(void **state)
{
    struct t *t = *state;
    for (int m = NL; m <= EX; m++) {
        char name[8] = {'m', (char)('0' + m), 0};
        ok(t, lock_as(t, P2, 100 + (uint64_t)m, name, NL, 0)); /* keeps it alive */
        must_grant(t, (uint64_t)m + 1, name, m);
    }
    ok(t, purge(t, P1));
    expect_lvb_invalid(t, "m4");
    expect_lvb_invalid(t, "m5");
    expect_end(t);
    for (int m = NL; m <= EX; m++) {
        char name[8] = {'m', (char)('0' + m), 0};
        expect_res_lvb(t, name, m >= PW ? ENG_LVB_INVALID : ENG_LVB_NONE, 0, NULL);
    }
}

static void purge_converting_pw_holder_invalidates_with_granted_mode(void **state)
{
    struct t *t = *state;
    ok(t, lock_as(t, P2, 20, "r", CR, 0));
    must_grant(t, 1, "r", PW);
    ok(t, conv(t, 1, EX, 0)); /* blocked by 20's CR */
    ok(t, purge(t, P1));
    expect_lvb_invalid(t, "r");
    expect_end(t);
}

static void purge_resources_in_first_affected_order(void **state)
{
    struct t *t = *state;
    must_grant(t, 5, "r1", EX);
    must_grant(t, 3, "r2", EX);
    ok(t, lock_as(t, P2, 50, "r1", PR, 0));
    ok(t, lock_as(t, P2, 30, "r2", PR, 0));
    ok(t, purge(t, P1));
    /* Step 2 by ascending lkid (3 on r2, then 5 on r1), step 3 in that order. */
    expect_lvb_invalid(t, "r2");
    expect_lvb_invalid(t, "r1");
    expect_granted(t, 30, PR);
    expect_granted(t, 50, PR);
    expect_end(t);
}

static void purge_pending_locks_affect_resources_first(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r1", EX); /* granted, lkid 1 */
    ok(t, lock_as(t, P2, 40, "r2", EX, 0));
    ok(t, lock(t, 9, "r2", EX, 0));         /* P1 pending on r2, lkid 9 */
    ok(t, lock_as(t, P2, 41, "r2", NL, 0)); /* behind 9 */
    ok(t, lock_as(t, P2, 10, "r1", PR, 0)); /* behind 1 */
    ok(t, purge(t, P1));
    /* Step 1 touches r2 (lock 9), step 2 r1 (lock 1): grant-pending on r2 first. */
    expect_lvb_invalid(t, "r1");
    expect_granted(t, 41, NL);
    expect_granted(t, 10, PR);
    expect_end(t);
}

static void purge_group_and_process_owners_are_distinct(void **state)
{
    struct t *t = *state;
    ok(t, lock_as(t, th_owner(1, 7), 1, "r", PR, 0));
    ok(t, lock_as(t, th_group(1, 7), 2, "r", PR, 0));
    ok(t, lock_as(t, th_owner(2, 7), 3, "r", PR, 0));
    ok(t, purge(t, th_group(1, 7)));
    expect_none(t);
    expect_gone(t, 2);
    expect_lock(t, 1, GRANTED, PR, PR);
    expect_lock(t, 3, GRANTED, PR, PR);
    ok(t, purge(t, th_owner(1, 7)));
    expect_gone(t, 1);
    expect_lock(t, 3, GRANTED, PR, PR);
}

static void purge_waiting_persistent_request_is_dropped(void **state)
{
    struct t *t = *state;
    ok(t, lock_as(t, P2, 20, "r", EX, 0));
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_PERSISTENT)); /* never granted: not an orphan */
    ok(t, purge(t, P1));
    expect_none(t);
    expect_gone(t, 1);
    expect_counts(t, 1, 1);
}

static void purge_twice_is_harmless(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    ok(t, purge(t, P1));
    expect_none(t);
    ok(t, purge(t, P1));
    expect_none(t);
    expect_counts(t, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(purge_no_completion_for_dead_owner_waiters_granted),
        TEST(purge_invalidates_lvb_only_for_pw_ex_holders),
        TEST(purge_converting_pw_holder_invalidates_with_granted_mode),
        TEST(purge_resources_in_first_affected_order),
        TEST(purge_pending_locks_affect_resources_first),
        TEST(purge_group_and_process_owners_are_distinct),
        TEST(purge_waiting_persistent_request_is_dropped),
        TEST(purge_twice_is_harmless),
    };
    return cmocka_run_group_tests_name("engine-unit/purge", tests, NULL, NULL);
}
