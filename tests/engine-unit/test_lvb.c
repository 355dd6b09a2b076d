/*
 * tests/engine-unit/test_lvb.c - the lock value block beyond the lvbop table (spec B.5, B.9,
 * contract sections 6 and 11): never-written LVB reads nothing, lvbseq bumped by writes only,
 * IVVALBLK on write and read paths, VALNOTVALID while invalid, invalidation before the first
 * write (32 zero bytes), the transfer at grant time, unlock writes only from PW/EX, the LVB of
 * a non-persistent resource dies with it.
 */
#include "tests/engine-unit/helpers.h"

#include <stdio.h>
#include <string.h>

static void b5_never_written_lvb_reads_nothing(void **state)
{
    struct t *t = *state;
    ok(t, lock_lvb(t, 1, "r", PR, 0, LV(0x55)));
    expect_granted(t, 1, PR); /* lvb_read 0: caller's buffer untouched */
    expect_end(t);
    ok(t, conv_lvb(t, 1, EX, 0, LV(0x55)));
    expect_granted(t, 1, EX);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_NONE, 0, NULL);
}

static void b5_each_write_bumps_lvbseq(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, conv_lvb(t, 1, EX, 0, LV(1)));
    expect_lvb_write(t, "r", LV(1), 1);
    expect_granted(t, 1, EX);
    expect_end(t);
    ok(t, conv_lvb(t, 1, PW, 0, LV(2)));
    expect_lvb_write(t, "r", LV(2), 2);
    expect_granted(t, 1, PW);
    ok(t, conv_lvb(t, 1, PW, 0, LV(3)));
    expect_lvb_write(t, "r", LV(3), 3);
    expect_granted(t, 1, PW);
    /* A read does not bump the sequence. */
    ok(t, conv_lvb(t, 1, EX, 0, LV(9)));
    expect_granted_read(t, 1, EX, 0, LV(3), 3);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_VALID, 3, LV(3));
}

static void b5_ivvalblk_on_write_path_invalidates_keeping_content(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, conv_lvb(t, 1, EX, 0, LV(0xA1)));
    expect_lvb_write(t, "r", LV(0xA1), 1);
    ok(t, conv(t, 1, NL, RDLM_LKF_IVVALBLK));
    expect_lvb_invalid(t, "r");
    expect_granted(t, 1, NL);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_INVALID, 1, LV(0xA1));
    /* Every VALBLK grant while invalid: the content, VALNOTVALID, still OK. */
    ok(t, lock_lvb(t, 2, "r", PR, 0, LV(0)));
    expect_granted_read(t, 2, PR, RDLM_SBF_VALNOTVALID, LV(0xA1), 1);
    expect_end(t);
    ok(t, lock_lvb(t, 3, "r", CR, 0, LV(0)));
    expect_granted_read(t, 3, CR, RDLM_SBF_VALNOTVALID, LV(0xA1), 1);
    expect_end(t);
    /* A grant without VALBLK carries no VALNOTVALID. */
    must_grant(t, 4, "r", CR);
}

static void b5_ivvalblk_wins_over_valblk(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PW);
    ok(t, conv_lvb(t, 1, CR, RDLM_LKF_IVVALBLK, LV(0x77)));
    expect_lvb_invalid(t, "r");
    expect_complete_sb(t, 1, RDLM_OK, CR, RDLM_SBF_VALNOTVALID);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_INVALID, 0, LV(0));
}

static void b5_ivvalblk_on_read_path_does_nothing(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, conv_lvb(t, 1, NL, 0, LV(0xA1)));
    expect_lvb_write(t, "r", LV(0xA1), 1);
    ok(t, conv(t, 1, EX, RDLM_LKF_IVVALBLK)); /* NL -> EX reads: IVVALBLK ignored */
    expect_granted(t, 1, EX);
    expect_end(t);
    ok(t, conv(t, 1, EX, 0));
    ok(t, conv(t, 1, PR, RDLM_LKF_IVVALBLK)); /* EX -> PR writes: invalidates */
    expect_lvb_invalid(t, "r");
    expect_granted(t, 1, PR);
    ok(t, lock(t, 2, "r", CR, RDLM_LKF_IVVALBLK)); /* UN -> CR reads: ignored */
    expect_granted(t, 2, CR);
    expect_end(t);
    ok(t, conv(t, 2, CR, RDLM_LKF_IVVALBLK)); /* CR -> CR reads */
    expect_granted(t, 2, CR);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_INVALID, 1, LV(0xA1));
}

static void b5_invalid_cleared_by_next_write(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, conv_lvb(t, 1, EX, 0, LV(1)));
    ok(t, conv(t, 1, EX, RDLM_LKF_IVVALBLK));
    expect_lvb_invalid(t, "r");
    expect_res_lvb(t, "r", ENG_LVB_INVALID, 1, NULL);
    ok(t, conv_lvb(t, 1, NL, 0, LV(2)));
    expect_lvb_write(t, "r", LV(2), 2);
    expect_granted(t, 1, NL);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_VALID, 2, LV(2));
    ok(t, lock_lvb(t, 2, "r", PR, 0, LV(0)));
    expect_granted_read(t, 2, PR, 0, LV(2), 2);
}

static void b5_invalidated_before_written_reads_zeroes(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, conv(t, 1, NL, RDLM_LKF_IVVALBLK));
    expect_lvb_invalid(t, "r");
    expect_granted(t, 1, NL);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_INVALID, 0, LV(0));
    ok(t, lock_lvb(t, 2, "r", PR, 0, LV(0x99)));
    expect_granted_read(t, 2, PR, RDLM_SBF_VALNOTVALID, LV(0), 0);
    expect_end(t);
}

static void b5_lvb_transferred_at_grant_time(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, conv_lvb(t, 1, EX, 0, LV(0xA1)));
    expect_lvb_write(t, "r", LV(0xA1), 1);
    ok(t, lock_lvb(t, 2, "r", PR, 0, LV(0)));
    expect_bast(t, 1, PR, HINT(2));
    expect_end(t);
    /* The waiter reads the value written by the down-conversion that unblocks it. */
    ok(t, conv_lvb(t, 1, NL, 0, LV(0xB2)));
    expect_lvb_write(t, "r", LV(0xB2), 2);
    expect_granted(t, 1, NL);
    expect_granted_read(t, 2, PR, 0, LV(0xB2), 2);
    expect_end(t);
}

static void b5_queued_conversion_reads_at_grant_time(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    must_grant(t, 2, "r", NL);
    ok(t, conv_lvb(t, 2, PR, 0, LV(0))); /* NL -> PR reads, but only when granted */
    expect_bast(t, 1, PR, HINT(2));
    expect_end(t);
    ok(t, conv_lvb(t, 1, CR, 0, LV(0xC3)));
    expect_lvb_write(t, "r", LV(0xC3), 1);
    expect_granted(t, 1, CR);
    expect_granted_read(t, 2, PR, 0, LV(0xC3), 1);
    expect_end(t);
}

static void b9_unlock_valblk_writes_only_from_pw_or_ex(void **state)
{
    struct t *t = *state;
    for (int m = NL; m <= EX; m++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", m);
        must_grant(t, 1, name, NL); /* keeps the resource and its LVB alive */
        must_grant(t, 2, name, m);
        ok(t, unlock_lvb(t, 2, RDLM_LKF_VALBLK, LV(0x40 + (uint8_t)m)));
        if (m >= PW)
            expect_lvb_write(t, name, LV(0x40 + (uint8_t)m), 1);
        expect_unlocked(t, 2);
        expect_end(t);
        if (m >= PW)
            expect_res_lvb(t, name, ENG_LVB_VALID, 1, LV(0x40 + (uint8_t)m));
        else
            expect_res_lvb(t, name, ENG_LVB_NONE, 0, NULL);
        ok(t, unlock(t, 1, 0));
    }
}

static void b9_unlock_ivvalblk_invalidates_only_from_pw_or_ex(void **state)
{
    struct t *t = *state;
    for (int m = NL; m <= EX; m++) {
        char name[16];
        snprintf(name, sizeof name, "i%d", m);
        must_grant(t, 1, name, NL);
        must_grant(t, 2, name, m);
        ok(t, unlock_lvb(t, 2, RDLM_LKF_IVVALBLK | RDLM_LKF_VALBLK, LV(0x33)));
        if (m >= PW)
            expect_lvb_invalid(t, name);
        expect_unlocked(t, 2);
        expect_end(t);
        expect_res_lvb(t, name, m >= PW ? ENG_LVB_INVALID : ENG_LVB_NONE, 0, NULL);
        ok(t, unlock(t, 1, 0));
    }
}

static void b9_unlock_without_valblk_leaves_lvb(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", NL);
    must_grant(t, 2, "r", EX);
    ok(t, conv_lvb(t, 2, EX, 0, LV(5)));
    ok(t, unlock(t, 2, 0));
    expect_unlocked(t, 2);
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_VALID, 1, LV(5));
}

static void b9_lvb_of_nonpersistent_resource_dies_with_it(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, unlock_lvb(t, 1, RDLM_LKF_VALBLK, LV(0x66)));
    /* The LVB action's resource name is checked in test_action_lifetime.c. */
    assert_int_equal(t->a.n, 2);
    assert_int_equal(t->a.v[0].kind, ENG_ACT_LVB);
    assert_int_equal(t->a.v[0].lvb_read, 1);
    assert_int_equal(t->a.v[0].lvbseq, 1);
    assert_memory_equal(t->a.v[0].lvb, LV(0x66), RDLM_LVB_LEN);
    t->cur = 1;
    expect_unlocked(t, 1);
    expect_end(t);
    expect_counts(t, 0, 0);
    assert_false(res_exists(t, 0, "r"));
    ok(t, lock_lvb(t, 2, "r", PR, 0, LV(0)));
    expect_granted(t, 2, PR); /* a new resource: nothing to read */
    expect_end(t);
    expect_res_lvb(t, "r", ENG_LVB_NONE, 0, NULL);
}

static void b5_lvb_action_names_its_resource(void **state)
{
    struct t *t = *state;
    static const char bin[] = {'a', 0, 'b'};
    struct eng_req r = rq(t, 1, NULL, EX, 0);
    r.name = bin;
    r.namelen = 3;
    ok(t, req(t, &r));
    ok(t, conv_lvb(t, 1, NL, 0, LV(7)));
    assert_int_equal(t->a.n, 2);
    assert_int_equal(t->a.v[0].kind, ENG_ACT_LVB);
    uint16_t nl = t->a.v[0].namelen;
    const uint8_t *nm = t->a.v[0].name;
    assert_int_equal(nl, 3);
    assert_memory_equal(nm, bin, 3);
    assert_int_equal(t->a.v[0].lvbseq, 1);
    assert_memory_equal(t->a.v[0].lvb, LV(7), RDLM_LVB_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b5_never_written_lvb_reads_nothing),
        TEST(b5_each_write_bumps_lvbseq),
        TEST(b5_ivvalblk_on_write_path_invalidates_keeping_content),
        TEST(b5_ivvalblk_wins_over_valblk),
        TEST(b5_ivvalblk_on_read_path_does_nothing),
        TEST(b5_invalid_cleared_by_next_write),
        TEST(b5_invalidated_before_written_reads_zeroes),
        TEST(b5_lvb_transferred_at_grant_time),
        TEST(b5_queued_conversion_reads_at_grant_time),
        TEST(b9_unlock_valblk_writes_only_from_pw_or_ex),
        TEST(b9_unlock_ivvalblk_invalidates_only_from_pw_or_ex),
        TEST(b9_unlock_without_valblk_leaves_lvb),
        TEST(b9_lvb_of_nonpersistent_resource_dies_with_it),
        TEST(b5_lvb_action_names_its_resource),
    };
    return cmocka_run_group_tests_name("engine-unit/lvb", tests, NULL, NULL);
}
