/*
 * tests/engine-unit/test_validation.c - argument validation (spec B.7, contract section 2): every
 * rule of every entry point -> its status, and "nothing changed": no action, the same lock and
 * resource counts, the same queues, lock and resource information (expect_rejected compares a
 * snapshot of everything the test touched). Also the order in which the rules are checked
 * where two rules with different statuses both apply, and the statuses each entry point can
 * return.
 */
#include "tests/engine-unit/helpers.h"

#include <string.h>

/*
 * A populated lockspace, so that "nothing changed" means something: resource "v" with
 * 1 PR, 4 NL granted, 2 PR->EX converting, 3 CR waiting; resource "w" with 10 EX.
 */
static void fixture(struct t *t)
{
    must_grant(t, 1, "v", PR);
    must_grant(t, 2, "v", PR);
    must_grant(t, 4, "v", NL);
    ok(t, conv(t, 2, EX, 0));
    ok(t, lock(t, 3, "v", CR, 0));
    must_grant(t, 10, "w", EX);
    expect_queues(t, "v", "1 4", "2", "3");
    expect_counts(t, 2, 5);
}

/* ---- eng_request, both kinds ------------------------------------------------------------ */

static void v_req_rule1_mode_out_of_range(void **state)
{
    struct t *t = *state;
    fixture(t);
    static const int bad[] = {-2, IV, 6, 7, 100, -128};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_rejected(t, lock(t, 20, "v", bad[i], 0), RDLM_E_INVAL);
        expect_rejected(t, lock(t, 20, "new", bad[i], 0), RDLM_E_INVAL);
        expect_rejected(t, conv(t, 1, bad[i], 0), RDLM_E_INVAL);
    }
}

static void v_req_rule2_flag_outside_request_set(void **state)
{
    struct t *t = *state;
    fixture(t);
    static const uint32_t bad[] = {
        RDLM_LKF_CANCEL, RDLM_LKF_FORCEUNLOCK, RDLM_LKF_CANCELWAITOK, RDLM_LKF_WAIT,
        0x00200000u,     0x00400000u,          0x01000000u,           0x40000000u,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_rejected(t, lock(t, 20, "v", NL, bad[i]), RDLM_E_INVAL);
        expect_rejected(t, lock(t, 20, "new", NL, bad[i]), RDLM_E_INVAL);
        expect_rejected(t, conv(t, 1, PR, bad[i]), RDLM_E_INVAL);
    }
}

static void v_req_rule3_quecvt_without_convert(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock(t, 20, "v", CR, RDLM_LKF_QUECVT), RDLM_E_INVAL);
}

static void v_req_rule3_convdeadlk_without_convert(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock(t, 20, "v", CR, RDLM_LKF_CONVDEADLK), RDLM_E_INVAL);
}

static void v_req_rule3_convdeadlk_with_noqueue(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, conv(t, 1, EX, RDLM_LKF_CONVDEADLK | RDLM_LKF_NOQUEUE), RDLM_E_INVAL);
}

static void v_req_rule3_expedite_with_convert_quecvt_noqueue_or_not_nl(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, conv(t, 4, NL, RDLM_LKF_EXPEDITE), RDLM_E_INVAL);
    expect_rejected(t, conv(t, 4, CR, RDLM_LKF_EXPEDITE | RDLM_LKF_QUECVT), RDLM_E_INVAL);
    expect_rejected(t, lock(t, 20, "v", NL, RDLM_LKF_EXPEDITE | RDLM_LKF_NOQUEUE), RDLM_E_INVAL);
    for (int m = CR; m <= EX; m++)
        expect_rejected(t, lock(t, 20, "v", m, RDLM_LKF_EXPEDITE), RDLM_E_INVAL);
    /* The valid form is accepted. */
    ok(t, lock(t, 20, "v", NL, RDLM_LKF_EXPEDITE));
    expect_granted(t, 20, NL);
}

static void v_req_rule3_orphan_with_convert(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, conv(t, 1, PR, RDLM_LKF_ORPHAN), RDLM_E_INVAL);
}

static void v_req_rule3_persist_res_with_convert(void **state)
{
    struct t *t = *state;
    fixture(t);
    struct eng_req r = cvrq(1, PR, RDLM_LKF_PERSIST_RES);
    r.rd_id = 5;
    expect_rejected(t, req(t, &r), RDLM_E_INVAL);
}

static void v_req_rule4_valblk_without_lvb(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock_lvb(t, 20, "v", CR, 0, NULL), RDLM_E_INVAL);
    expect_rejected(t, conv_lvb(t, 1, PR, 0, NULL), RDLM_E_INVAL);
}

static void v_req_rule4_timeout_zero(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock(t, 20, "v", EX, RDLM_LKF_TIMEOUT), RDLM_E_INVAL);
    expect_rejected(t, conv(t, 1, EX, RDLM_LKF_TIMEOUT), RDLM_E_INVAL);
}

static void v_req_rule4_persist_res_rd_id_zero(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock(t, 20, "new", EX, RDLM_LKF_PERSIST_RES), RDLM_E_INVAL);
}

/* ---- eng_request, new ------------------------------------------------------------------- */

static void v_new_rule5_lkid_zero(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock(t, 0, "v", NL, 0), RDLM_E_INVAL);
    expect_rejected(t, lock(t, 0, "new", NL, 0), RDLM_E_INVAL);
}

static void v_new_rule5_bad_owner_kind(void **state)
{
    struct t *t = *state;
    fixture(t);
    static const uint8_t bad[] = {0, 3, 255};
    for (size_t i = 0; i < sizeof bad; i++) {
        struct eng_req r = rq(t, 20, "v", NL, 0);
        r.owner.kind = bad[i];
        expect_rejected(t, req(t, &r), RDLM_E_INVAL);
    }
    struct eng_req g = rq(t, 20, "v", NL, 0);
    g.owner = th_group(1, 5);
    ok(t, req(t, &g));
}

static void v_new_rule6_name_length(void **state)
{
    struct t *t = *state;
    fixture(t);
    uint8_t name[RDLM_RESNAME_MAXLEN + 1];
    memset(name, 'n', sizeof name);
    struct eng_req r = rq(t, 20, NULL, NL, 0);
    r.name = name;
    r.namelen = 0;
    expect_rejected(t, req(t, &r), RDLM_E_NAMELEN);
    r.namelen = RDLM_RESNAME_MAXLEN + 1;
    expect_rejected(t, req(t, &r), RDLM_E_NAMELEN);
    r.namelen = UINT16_MAX;
    expect_rejected(t, req(t, &r), RDLM_E_NAMELEN);
    r.name = NULL;
    r.namelen = 0;
    expect_rejected(t, req(t, &r), RDLM_E_NAMELEN); /* length is checked first */
    r.namelen = 3;
    expect_rejected(t, req(t, &r), RDLM_E_INVAL);
    /* The maximum is accepted. */
    r.name = name;
    r.namelen = RDLM_RESNAME_MAXLEN;
    ok(t, req(t, &r));
    expect_granted(t, 20, NL);
    assert_int_equal(qlock(t, 20).namelen, RDLM_RESNAME_MAXLEN);
}

static void v_new_rule7_lkid_in_use(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock(t, 1, "v", NL, 0), RDLM_E_EXISTS);    /* granted */
    expect_rejected(t, lock(t, 2, "zz", NL, 0), RDLM_E_EXISTS);   /* converting */
    expect_rejected(t, lock(t, 3, "v", NL, 0), RDLM_E_EXISTS);    /* waiting */
    expect_rejected(t, lock(t, 10, "new", EX, 0), RDLM_E_EXISTS); /* other resource */
}

static void v_new_rule8_parent_unknown(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, sublock(t, 20, 99, "s", NL, 0), RDLM_E_NOLOCK);
}

static void v_new_rule8_parent_waiting(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, sublock(t, 20, 3, "s", NL, 0), RDLM_E_PARNOTGRANT);
    /* A converting parent holds a granted mode: accepted. */
    ok(t, sublock(t, 21, 2, "s", NL, 0));
    expect_granted(t, 21, NL);
}

static void v_new_rule8_parent_of_another_owner(void **state)
{
    struct t *t = *state;
    fixture(t);
    struct eng_req r = rq(t, 20, "s", NL, 0);
    r.parent_lkid = 1;
    r.owner = th_owner(1, 101);
    expect_rejected(t, req(t, &r), RDLM_E_INVAL);
    r.owner = th_group(1, 100); /* same numbers, another kind */
    expect_rejected(t, req(t, &r), RDLM_E_INVAL);
}

static void v_new_rule8_persistent_under_nonpersistent_parent(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, sublock(t, 20, 1, "s", NL, RDLM_LKF_PERSISTENT), RDLM_E_INVAL);
}

static void v_new_rule9_orphan_statuses(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, lock(t, 20, "nothere", PR, RDLM_LKF_ORPHAN), RDLM_E_NOORPHAN);
    expect_rejected(t, lock(t, 20, "v", PR, RDLM_LKF_ORPHAN), RDLM_E_NOORPHAN);
    struct eng_req p = rq(t, 30, "o", PR, RDLM_LKF_PERSISTENT);
    p.owner = th_owner(7, 7);
    ok(t, req(t, &p));
    ok(t, purge(t, th_owner(7, 7)));
    expect_rejected(t, lock(t, 20, "o", EX, RDLM_LKF_ORPHAN), RDLM_E_ORPHANMODE);
}

static void v_new_rule10_persistent_resource_statuses(void **state)
{
    struct t *t = *state;
    fixture(t);
    struct eng_req p = rq(t, 30, "p", PR, RDLM_LKF_PERSIST_RES);
    p.rd_id = 5;
    ok(t, req(t, &p));
    expect_rejected(t, lock(t, 20, "p", PR, 0), RDLM_E_IS_PR);
    p.lkid = 20;
    p.rd_id = 6;
    expect_rejected(t, req(t, &p), RDLM_E_PR_RD_MISMATCH);
    struct eng_req q = rq(t, 20, "v", NL, RDLM_LKF_PERSIST_RES);
    q.rd_id = 5;
    expect_rejected(t, req(t, &q), RDLM_E_NOT_PR);
}

/* ---- eng_request, conversion --------------------------------------------------------------- */

static void v_cvt_rule5_unknown_lock(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, conv(t, 99, PR, 0), RDLM_E_NOLOCK);
    expect_rejected(t, conv(t, 0, PR, 0), RDLM_E_NOLOCK);
}

static void v_cvt_rule6_waiting_and_converting(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, conv(t, 3, CR, 0), RDLM_E_NOTGRANTED);
    expect_rejected(t, conv(t, 2, EX, 0), RDLM_E_BUSY);
    expect_rejected(t, conv(t, 2, NL, 0), RDLM_E_BUSY);
}

static void v_cvt_rule7_illegal_quecvt(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, conv(t, 1, CR, RDLM_LKF_QUECVT), RDLM_E_INVAL); /* PR -> CR */
    expect_rejected(t, conv(t, 1, PR, RDLM_LKF_QUECVT), RDLM_E_INVAL); /* PR -> PR */
    expect_rejected(t, conv(t, 10, PW, RDLM_LKF_QUECVT), RDLM_E_INVAL);
}

static void v_cvt_ignores_name_parent_and_owner(void **state)
{
    struct t *t = *state;
    fixture(t);
    struct eng_req r = cvrq(10, PW, 0);
    r.name = NULL;
    r.namelen = 0;
    r.parent_lkid = 12345;
    r.owner.kind = 0;
    ok(t, req(t, &r));
    expect_granted(t, 10, PW);
    expect_end(t);
}

/* ---- order of the request rules ----------------------------------------------------------- */

static void v_order_request_rules(void **state)
{
    struct t *t = *state;
    fixture(t);
    /* 2 before 6: a bad flag with an empty name. */
    struct eng_req r = rq(t, 20, NULL, NL, RDLM_LKF_CANCEL);
    expect_rejected(t, req(t, &r), RDLM_E_INVAL);
    /* 4 before 6: TIMEOUT 0 with an empty name. */
    r = rq(t, 20, NULL, EX, RDLM_LKF_TIMEOUT);
    expect_rejected(t, req(t, &r), RDLM_E_INVAL);
    /* 5 before 6: lkid 0 with an empty name. */
    r = rq(t, 0, NULL, NL, 0);
    expect_rejected(t, req(t, &r), RDLM_E_INVAL);
    /* 6 before 7: a used lkid with an empty name. */
    r = rq(t, 1, NULL, NL, 0);
    expect_rejected(t, req(t, &r), RDLM_E_NAMELEN);
    /* 7 before 8: a used lkid with an unknown parent. */
    expect_rejected(t, sublock(t, 1, 99, "s", NL, 0), RDLM_E_EXISTS);
    /* 8 before 9: an unknown parent with ORPHAN. */
    expect_rejected(t, sublock(t, 20, 99, "s", NL, RDLM_LKF_ORPHAN), RDLM_E_NOLOCK);
    /* 8 before 10: a waiting parent with PERSIST_RES on a new sub-resource. */
    r = rq(t, 20, "s", NL, RDLM_LKF_PERSIST_RES);
    r.parent_lkid = 3;
    r.rd_id = 1;
    expect_rejected(t, req(t, &r), RDLM_E_PARNOTGRANT);
    /* Conversion: 3 before 5 (flag combination on an unknown lock). */
    expect_rejected(t, conv(t, 99, EX, RDLM_LKF_CONVDEADLK | RDLM_LKF_NOQUEUE), RDLM_E_INVAL);
    /* Conversion: 6 before 7 (illegal QUECVT of a waiting / converting lock). */
    expect_rejected(t, conv(t, 3, NL, RDLM_LKF_QUECVT), RDLM_E_NOTGRANTED);
    expect_rejected(t, conv(t, 2, NL, RDLM_LKF_QUECVT), RDLM_E_BUSY);
}

/* ---- eng_unlock --------------------------------------------------------------------------- */

static void v_unlock_rule1_bad_flags(void **state)
{
    struct t *t = *state;
    fixture(t);
    static const uint32_t bad[] = {RDLM_LKF_CANCEL,       RDLM_LKF_NOQUEUE, RDLM_LKF_CONVERT,
                                   RDLM_LKF_CANCELWAITOK, RDLM_LKF_QUECVT,  RDLM_LKF_PERSISTENT,
                                   RDLM_LKF_WAIT,         0x40000000u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_rejected(t, unlock(t, 1, bad[i]), RDLM_E_INVAL);
        expect_rejected(t, unlock(t, 99, bad[i]), RDLM_E_INVAL); /* before NOLOCK */
    }
}

static void v_unlock_rule1_valblk_without_lvb(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, unlock_lvb(t, 10, RDLM_LKF_VALBLK, NULL), RDLM_E_INVAL);
    expect_rejected(t, unlock_lvb(t, 99, RDLM_LKF_VALBLK, NULL), RDLM_E_INVAL);
}

static void v_unlock_rule2_unknown_lock(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, unlock(t, 99, 0), RDLM_E_NOLOCK);
    expect_rejected(t, unlock(t, 0, 0), RDLM_E_NOLOCK);
    expect_rejected(t, unlock(t, 99, RDLM_LKF_FORCEUNLOCK), RDLM_E_NOLOCK);
}

static void v_unlock_rule3_pending_busy(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, unlock(t, 2, 0), RDLM_E_BUSY);
    expect_rejected(t, unlock(t, 3, 0), RDLM_E_BUSY);
    expect_rejected(t, unlock(t, 3, RDLM_LKF_IVVALBLK), RDLM_E_BUSY);
}

static void v_unlock_rule3_sublocks(void **state)
{
    struct t *t = *state;
    fixture(t);
    ok(t, sublock(t, 20, 10, "s", EX, 0));
    expect_rejected(t, unlock(t, 10, 0), RDLM_E_SUBLOCKS);
    /* A converting parent with sublocks: BUSY is checked first. */
    ok(t, sublock(t, 21, 2, "s", NL, 0));
    expect_rejected(t, unlock(t, 2, 0), RDLM_E_BUSY);
}

/* ---- eng_cancel / eng_cancel_deadlock ------------------------------------------------------- */

static void v_cancel_rule1_bad_flags(void **state)
{
    struct t *t = *state;
    fixture(t);
    static const uint32_t bad[] = {RDLM_LKF_CANCEL, RDLM_LKF_FORCEUNLOCK, RDLM_LKF_VALBLK,
                                   RDLM_LKF_NOQUEUE, 0x40000000u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_rejected(t, cancel(t, 2, bad[i]), RDLM_E_INVAL);
        expect_rejected(t, cancel(t, 99, bad[i]), RDLM_E_INVAL);
    }
}

static void v_cancel_rule2_unknown_lock(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, cancel(t, 99, 0), RDLM_E_NOLOCK);
    expect_rejected(t, cancel(t, 99, RDLM_LKF_CANCELWAITOK), RDLM_E_NOLOCK);
    expect_rejected(t, cancel_dl(t, 99), RDLM_E_NOLOCK);
}

static void v_cancel_rule3_granted_cancelgrant(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, cancel(t, 1, 0), RDLM_E_CANCELGRANT);
    expect_rejected(t, cancel(t, 10, RDLM_LKF_CANCELWAITOK), RDLM_E_CANCELGRANT);
    expect_rejected(t, cancel_dl(t, 4), RDLM_E_CANCELGRANT);
}

static void v_cancel_rule4_waiting_cancelwait(void **state)
{
    struct t *t = *state;
    fixture(t);
    expect_rejected(t, cancel(t, 3, 0), RDLM_E_CANCELWAIT);
}

/* ---- time, purges, queries ---------------------------------------------------------------- */

static void v_advance_time_backwards(void **state)
{
    struct t *t = *state;
    fixture(t);
    ok(t, advance(t, 100));
    expect_none(t);
    expect_rejected(t, advance(t, 99), RDLM_E_INVAL);
    expect_rejected(t, advance(t, 0), RDLM_E_INVAL);
    ok(t, advance(t, 100)); /* the same time again is fine */
    expect_none(t);
}

static void v_purge_owner_bad_kind(void **state)
{
    struct t *t = *state;
    fixture(t);
    struct eng_owner o = th_owner(1, 100);
    o.kind = 0;
    expect_rejected(t, purge(t, o), RDLM_E_INVAL);
    o.kind = 9;
    expect_rejected(t, purge(t, o), RDLM_E_INVAL);
}

static void v_purge_owner_without_locks_is_ok(void **state)
{
    struct t *t = *state;
    fixture(t);
    struct th_snap *s = snap_take(t);
    ok(t, purge(t, th_owner(9, 9)));
    expect_none(t);
    expect_unchanged(t, s);
    s = snap_take(t);
    ok(t, purge_orphans(t, 1, 0));
    expect_none(t);
    expect_unchanged(t, s);
}

static void v_queries_of_unknown_objects(void **state)
{
    struct t *t = *state;
    fixture(t);
    struct eng_lock_info li;
    struct eng_res_info ri;
    assert_int_equal(eng_query_lock(t->e, 99, &li), RDLM_E_NOLOCK);
    assert_int_equal(eng_query_lock(t->e, 0, &li), RDLM_E_NOLOCK);
    assert_int_equal(eng_query_res(t->e, 0, "nothere", 7, &ri), RDLM_E_NOLOCK);
    assert_int_equal(eng_query_res(t->e, 1, "v", 1, &ri), RDLM_E_NOLOCK); /* no sub-resource */
    uint64_t ids[3][8];
    struct eng_queues q = {.cap = 8, .lkid = {ids[0], ids[1], ids[2]}};
    assert_int_equal(eng_query_queues(t->e, 0, "nothere", 7, &q), RDLM_E_NOLOCK);
    assert_int_equal(eng_query_lock(t->e, 1, &li), RDLM_OK);
    assert_int_equal(eng_query_res(t->e, 0, "v", 1, &ri), RDLM_OK);
    assert_int_equal(eng_query_queues(t->e, 0, "v", 1, &q), RDLM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(v_req_rule1_mode_out_of_range),
        TEST(v_req_rule2_flag_outside_request_set),
        TEST(v_req_rule3_quecvt_without_convert),
        TEST(v_req_rule3_convdeadlk_without_convert),
        TEST(v_req_rule3_convdeadlk_with_noqueue),
        TEST(v_req_rule3_expedite_with_convert_quecvt_noqueue_or_not_nl),
        TEST(v_req_rule3_orphan_with_convert),
        TEST(v_req_rule3_persist_res_with_convert),
        TEST(v_req_rule4_valblk_without_lvb),
        TEST(v_req_rule4_timeout_zero),
        TEST(v_req_rule4_persist_res_rd_id_zero),
        TEST(v_new_rule5_lkid_zero),
        TEST(v_new_rule5_bad_owner_kind),
        TEST(v_new_rule6_name_length),
        TEST(v_new_rule7_lkid_in_use),
        TEST(v_new_rule8_parent_unknown),
        TEST(v_new_rule8_parent_waiting),
        TEST(v_new_rule8_parent_of_another_owner),
        TEST(v_new_rule8_persistent_under_nonpersistent_parent),
        TEST(v_new_rule9_orphan_statuses),
        TEST(v_new_rule10_persistent_resource_statuses),
        TEST(v_cvt_rule5_unknown_lock),
        TEST(v_cvt_rule6_waiting_and_converting),
        TEST(v_cvt_rule7_illegal_quecvt),
        TEST(v_cvt_ignores_name_parent_and_owner),
        TEST(v_order_request_rules),
        TEST(v_unlock_rule1_bad_flags),
        TEST(v_unlock_rule1_valblk_without_lvb),
        TEST(v_unlock_rule2_unknown_lock),
        TEST(v_unlock_rule3_pending_busy),
        TEST(v_unlock_rule3_sublocks),
        TEST(v_cancel_rule1_bad_flags),
        TEST(v_cancel_rule2_unknown_lock),
        TEST(v_cancel_rule3_granted_cancelgrant),
        TEST(v_cancel_rule4_waiting_cancelwait),
        TEST(v_advance_time_backwards),
        TEST(v_purge_owner_bad_kind),
        TEST(v_purge_owner_without_locks_is_ok),
        TEST(v_queries_of_unknown_objects),
    };
    return cmocka_run_group_tests_name("engine-unit/validation", tests, NULL, NULL);
}
