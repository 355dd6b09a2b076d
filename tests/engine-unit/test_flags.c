/*
 * tests/engine-unit/test_flags.c - request flags not covered by a rule file of their own (spec
 * B.2 rule 9, B.7; contract sections 2 and 5): HEADQUE for new requests and conversions, every
 * request flag accepted on its own and recorded in the lock's flags (those of its last
 * request), NODLCKBLK and NOQUEUEBAST without effect on grants, NOQUEUE on a grantable
 * request, xid recorded.
 */
#include "tests/engine-unit/helpers.h"

static void flag_headque_new_request_queued_at_head(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", EX);
    ok(t, lock(t, 2, "r", PR, 0));
    ok(t, lock(t, 3, "r", CR, RDLM_LKF_HEADQUE));
    ok(t, lock(t, 4, "r", CW, 0));
    ok(t, lock(t, 5, "r", NL, RDLM_LKF_HEADQUE));
    expect_queues(t, "r", "1", "", "5 3 2 4");
    /* The head is granted first. */
    ok(t, conv(t, 1, CR, 0));
    expect_granted(t, 1, CR);
    expect_granted(t, 5, NL);
    expect_granted(t, 3, CR);
    expect_granted(t, 2, PR);
    /* 4 (CW) is blocked by 2's PR: pending-BASTs, PR holder with a CW pending. */
    expect_bast(t, 2, CW, HINT(4));
    expect_end(t);
}

/* A compatible HEADQUE request is still not granted at once when WAITING is not empty (rule 7):
 * it sits at the head until the next re-scan grants it. */
static void flag_headque_compatible_request_waits_for_next_rescan(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 9, "r", NL);
    ok(t, lock(t, 2, "r", EX, 0));
    expect_bast(t, 1, EX, HINT(2));
    ok(t, lock(t, 3, "r", CR, RDLM_LKF_HEADQUE));
    expect_end(t);
    expect_queues(t, "r", "1 9", "", "3 2");
    ok(t, unlock(t, 9, 0));
    expect_unlocked(t, 9);
    expect_granted(t, 3, CR);
    /* pending-BASTs: high EX (2); 1 has highbast EX already; 3 (CR) was just granted. */
    expect_bast(t, 3, EX, HINT(2));
    expect_end(t);
}

static void flag_headque_conversion_queued_at_head(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "r", PR);
    must_grant(t, 2, "r", NL);
    must_grant(t, 3, "r", NL);
    ok(t, conv(t, 2, EX, 0));
    ok(t, conv(t, 3, PW, RDLM_LKF_HEADQUE));
    expect_queues(t, "r", "1", "3 2", "");
    ok(t, unlock(t, 1, 0));
    expect_unlocked(t, 1);
    expect_granted(t, 3, PW);
    expect_bast(t, 3, EX, HINT(2));
    expect_end(t);
}

static void flag_each_request_flag_accepted_and_recorded(void **state)
{
    struct t *t = *state;
    static const uint32_t flags[] = {
        RDLM_LKF_NOQUEUE,   RDLM_LKF_IVVALBLK,    RDLM_LKF_PERSISTENT, RDLM_LKF_NODLCKWT,
        RDLM_LKF_NODLCKBLK, RDLM_LKF_NOQUEUEBAST, RDLM_LKF_HEADQUE,    RDLM_LKF_NOORDER,
        RDLM_LKF_ALTPR,     RDLM_LKF_ALTCW,
    };
    uint64_t id = 1;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++, id++) {
        ok(t, lock(t, id, "r", NL, flags[i]));
        expect_granted(t, id, NL);
        expect_end(t);
        assert_int_equal(qlock(t, id).flags, flags[i]);
    }
    ok(t, lock_lvb(t, id, "r", NL, 0, LV(1)));
    expect_granted(t, id, NL);
    assert_int_equal(qlock(t, id).flags, RDLM_LKF_VALBLK);
    id++;
    ok(t, lock(t, id, "r", NL, RDLM_LKF_EXPEDITE));
    expect_granted(t, id, NL);
    assert_int_equal(qlock(t, id).flags, RDLM_LKF_EXPEDITE);
    id++;
    struct eng_req r = rq(t, id, "r", NL, RDLM_LKF_TIMEOUT);
    r.timeout_cs = 5;
    ok(t, req(t, &r));
    expect_granted(t, id, NL);
    assert_int_equal(qlock(t, id).flags, RDLM_LKF_TIMEOUT);
    id++;
    r = rq(t, id, "p", NL, RDLM_LKF_PERSIST_RES);
    r.rd_id = 1;
    ok(t, req(t, &r));
    expect_granted(t, id, NL);
    assert_int_equal(qlock(t, id).flags, RDLM_LKF_PERSIST_RES);
    /* Conversion flags. */
    static const uint32_t cflags[] = {RDLM_LKF_QUECVT, RDLM_LKF_CONVDEADLK,
                                      RDLM_LKF_QUECVT | RDLM_LKF_CONVDEADLK};
    static const int cmode[] = {CR, CR, CW};
    for (size_t i = 0; i < 3; i++) {
        ok(t, conv(t, 1, cmode[i], cflags[i]));
        expect_granted(t, 1, cmode[i]);
        assert_true((qlock(t, 1).flags & cflags[i]) == cflags[i]);
    }
}

static void flag_conversion_replaces_lock_flags(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_NOORDER | RDLM_LKF_NODLCKBLK));
    ok(t, conv(t, 1, EX, RDLM_LKF_QUECVT));
    uint32_t f = qlock(t, 1).flags;
    assert_true(f & RDLM_LKF_QUECVT);
    assert_false(f & RDLM_LKF_NOORDER);
    assert_false(f & RDLM_LKF_NODLCKBLK);
}

static void flag_nodlckblk_and_noqueuebast_do_not_change_grants(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_NODLCKBLK));
    ok(t, lock(t, 2, "r", EX, RDLM_LKF_NOQUEUEBAST)); /* without NOQUEUE: just waits */
    expect_bast(t, 1, EX, HINT(2));
    expect_end(t);
    expect_lock(t, 2, WAITING, IV, EX);
    ok(t, lock(t, 3, "r", CR, RDLM_LKF_NODLCKBLK | RDLM_LKF_NOQUEUE));
    expect_complete(t, 3, RDLM_E_NOTQUEUED, IV); /* behind the waiter */
}

static void flag_noqueue_on_grantable_request_grants(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "r", PR, RDLM_LKF_NOQUEUE));
    expect_granted(t, 1, PR);
    expect_end(t);
    ok(t, conv(t, 1, EX, RDLM_LKF_NOQUEUE));
    expect_granted(t, 1, EX);
    expect_end(t);
}

static void flag_xid_recorded(void **state)
{
    struct t *t = *state;
    struct eng_req r = rq(t, 1, "r", PR, 0);
    r.xid = 0xabcdef;
    ok(t, req(t, &r));
    assert_int_equal(qlock(t, 1).xid, 0xabcdef);
    struct eng_req c = cvrq(1, CR, 0);
    c.xid = 5; /* a conversion: xid is that of the lock, given at creation */
    ok(t, req(t, &c));
    must_grant(t, 2, "r", NL);
    assert_int_equal(qlock(t, 2).xid, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(flag_headque_new_request_queued_at_head),
        TEST(flag_headque_compatible_request_waits_for_next_rescan),
        TEST(flag_headque_conversion_queued_at_head),
        TEST(flag_each_request_flag_accepted_and_recorded),
        TEST(flag_conversion_replaces_lock_flags),
        TEST(flag_nodlckblk_and_noqueuebast_do_not_change_grants),
        TEST(flag_noqueue_on_grantable_request_grants),
        TEST(flag_xid_recorded),
    };
    return cmocka_run_group_tests_name("engine-unit/flags", tests, NULL, NULL);
}
