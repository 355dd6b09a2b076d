/*
 * tests/engine-unit/test_rdomain.c - recovery domains in the engine (docs/engine.md section
 * 15; spec A.1 rows 20-23, B.5, B.10, B.12): listing the persistent resources of a domain
 * whose LVB is invalid (not valid ones, not another domain's, not non-persistent ones),
 * validation (valid, zero, sequence bumped; NOLOCK / PR_RD_MISMATCH / bad arguments change
 * nothing), invalidating a domain, and the create hook (a new persistent resource starts
 * invalid; the grant that creates it reports VALNOTVALID).
 */
#include <string.h>

#include "tests/engine-unit/helpers.h"

#define P1 th_owner(1, 100) /* the default owner */
#define RD 0x1234u
#define RD2 0x5678u

static int persist_lvb(struct t *t, uint64_t id, const char *name, int mode, uint32_t rd,
                       const uint8_t *lvb)
{
    struct eng_req r = rq(t, id, name, mode, RDLM_LKF_PERSIST_RES | RDLM_LKF_VALBLK);
    r.rd_id = rd;
    r.lvb = lvb;
    return req(t, &r);
}

struct names {
    size_t n;
    char v[16][RDLM_RESNAME_MAXLEN + 1];
    size_t stop_after; /* 0: never */
};

static bool collect(void *arg, const uint8_t *name, uint16_t namelen)
{
    struct names *ns = arg;
    if (ns->n < 16) {
        memcpy(ns->v[ns->n], name, namelen);
        ns->v[ns->n][namelen] = 0;
    }
    ns->n++;
    return !ns->stop_after || ns->n < ns->stop_after;
}

static bool has(const struct names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n && i < 16; i++)
        if (strcmp(ns->v[i], name) == 0)
            return true;
    return false;
}

/* A persistent resource written by a PW holder that then dies: invalid (B.5 holder failure). */
static void make_invalid(struct t *t, uint64_t id, const char *name, uint32_t rd)
{
    ok(t, persist_lvb(t, id, name, PW, rd, LV(7)));
    ok(t, conv_lvb(t, id, NL, 0, LV(7))); /* PW -> NL writes */
    ok(t, conv(t, id, PW, 0));
}

static void list_finds_only_invalid_persistent_of_the_domain(void **state)
{
    struct t *t = *state;
    struct names ns = {0};

    make_invalid(t, 1, "a", RD);
    make_invalid(t, 2, "b", RD);
    make_invalid(t, 3, "other-domain", RD2);
    ok(t, persist_lvb(t, 4, "valid", PW, RD, LV(1)));
    ok(t, conv_lvb(t, 4, NL, 0, LV(1))); /* written: valid */
    ok(t, lock_lvb(t, 5, "plain", EX, 0, LV(2)));
    ok(t, purge(t, P1)); /* every holder dies: PW/EX LVBs invalid */
    expect_res_lvb(t, "a", ENG_LVB_INVALID, 1, LV(7));
    expect_res_lvb(t, "valid", ENG_LVB_VALID, 1, LV(1)); /* held NL: nothing written */
    assert_false(res_exists(t, 0, "plain"));             /* not persistent: gone */
    assert_int_equal(eng_rd_list_invalid(t->e, RD, collect, &ns), 2);
    assert_int_equal(ns.n, 2);
    assert_true(has(&ns, "a"));
    assert_true(has(&ns, "b"));
    ns.n = 0;
    assert_int_equal(eng_rd_list_invalid(t->e, RD2, collect, &ns), 1);
    assert_true(has(&ns, "other-domain"));
    ns.n = 0;
    assert_int_equal(eng_rd_list_invalid(t->e, 0, collect, &ns), 0);
    assert_int_equal(eng_rd_list_invalid(t->e, 0x999, collect, &ns), 0);
    assert_int_equal(eng_rd_list_invalid(t->e, RD, NULL, NULL), 0);
    ns.stop_after = 1;
    assert_int_equal(eng_rd_list_invalid(t->e, RD, collect, &ns), 1); /* fn said stop */
}

static void validate_sets_valid_zero_and_bumps_seq(void **state)
{
    struct t *t = *state;
    static const uint8_t zero[RDLM_LVB_LEN];
    struct names ns = {0};

    make_invalid(t, 1, "a", RD);
    ok(t, purge(t, P1));
    expect_res_lvb(t, "a", ENG_LVB_INVALID, 1, LV(7));
    eng_actions_clear(&t->a);
    assert_int_equal(eng_rd_validate(t->e, RD, "a", 1, &t->a), RDLM_OK);
    t->cur = 0;
    expect_lvb_write(t, "a", zero, 2);
    expect_end(t);
    expect_res_lvb(t, "a", ENG_LVB_VALID, 2, zero);
    assert_int_equal(eng_rd_list_invalid(t->e, RD, collect, &ns), 0);
    /* a VALBLK grant now reads the zero value, without VALNOTVALID */
    ok(t, persist_lvb(t, 2, "a", PR, RD, LV(3)));
    expect_granted_read(t, 2, PR, 0, zero, 2);
    expect_end(t);
}

static void validate_refuses_and_changes_nothing(void **state)
{
    struct t *t = *state;

    make_invalid(t, 1, "a", RD);
    must_grant(t, 2, "plain", PR);
    eng_actions_clear(&t->a);
    assert_int_equal(eng_rd_validate(t->e, RD2, "a", 1, &t->a), RDLM_E_PR_RD_MISMATCH);
    assert_int_equal(eng_rd_validate(t->e, RD, "nope", 4, &t->a), RDLM_E_NOLOCK);
    assert_int_equal(eng_rd_validate(t->e, RD, "plain", 5, &t->a), RDLM_E_NOLOCK);
    assert_int_equal(eng_rd_validate(t->e, 0, "a", 1, &t->a), RDLM_E_INVAL);
    assert_int_equal(eng_rd_validate(t->e, RD, "a", 0, &t->a), RDLM_E_NAMELEN);
    assert_int_equal(eng_rd_validate(t->e, RD, "a", RDLM_RESNAME_MAXLEN + 1, &t->a),
                     RDLM_E_NAMELEN);
    assert_int_equal(eng_rd_validate(t->e, RD, NULL, 1, &t->a), RDLM_E_INVAL);
    assert_int_equal(eng_rd_validate(NULL, RD, "a", 1, &t->a), RDLM_E_INVAL);
    assert_int_equal(t->a.n, 0);
    ok(t, purge(t, P1));
    expect_res_lvb(t, "a", ENG_LVB_INVALID, 1, LV(7));
}

static void invalidate_marks_every_persistent_resource_of_the_domain(void **state)
{
    struct t *t = *state;

    ok(t, persist_lvb(t, 1, "a", PW, RD, LV(1)));
    ok(t, conv_lvb(t, 1, NL, 0, LV(1)));
    ok(t, persist_lvb(t, 2, "b", NL, RD, LV(0))); /* never written: no LVB yet */
    ok(t, persist_lvb(t, 3, "c", PW, RD2, LV(3)));
    ok(t, conv_lvb(t, 3, NL, 0, LV(3)));
    must_grant(t, 4, "plain", EX);
    eng_actions_clear(&t->a);
    assert_int_equal(eng_rd_invalidate(t->e, RD, &t->a), 2);
    t->cur = 0;
    assert_int_equal(t->a.n, 2);
    for (size_t i = 0; i < t->a.n; i++) {
        assert_int_equal(t->a.v[i].kind, ENG_ACT_LVB);
        assert_int_equal(t->a.v[i].lvb_read, 0);
    }
    expect_res_lvb(t, "a", ENG_LVB_INVALID, 1, LV(1)); /* value and sequence kept */
    expect_res_lvb(t, "b", ENG_LVB_INVALID, 0, NULL);
    expect_res_lvb(t, "c", ENG_LVB_VALID, 1, LV(3));
    assert_int_equal(qres(t, "plain").lvb_status, ENG_LVB_NONE);
    assert_int_equal(eng_rd_invalidate(t->e, 0, &t->a), 0);
    assert_int_equal(eng_rd_invalidate(t->e, 0x999, &t->a), 0);
    /* the next VALBLK grant reports it */
    ok(t, persist_lvb(t, 5, "a", PR, RD, LV(9)));
    expect_granted_read(t, 5, PR, RDLM_SBF_VALNOTVALID, LV(1), 1);
    expect_end(t);
}

struct hook {
    int calls;
    uint32_t rd;
    char name[RDLM_RESNAME_MAXLEN + 1];
    bool answer;
};

static bool hook(void *arg, uint32_t rd_id, const uint8_t *name, uint16_t namelen)
{
    struct hook *h = arg;
    h->calls++;
    h->rd = rd_id;
    memcpy(h->name, name, namelen);
    h->name[namelen] = 0;
    return h->answer;
}

static void create_hook_makes_new_persistent_resources_start_invalid(void **state)
{
    struct t *t = *state;
    static const uint8_t zero[RDLM_LVB_LEN];
    struct hook h = {.answer = true};
    struct names ns = {0};

    eng_rd_set_create_hook(t->e, hook, &h);
    ok(t, persist_lvb(t, 1, "new", PR, RD, LV(4)));
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.rd, RD);
    assert_string_equal(h.name, "new");
    expect_lvb_invalid(t, "new");
    expect_granted_read(t, 1, PR, RDLM_SBF_VALNOTVALID, zero, 0);
    expect_end(t);
    assert_int_equal(eng_rd_list_invalid(t->e, RD, collect, &ns), 1);
    /* an existing persistent resource is not asked again */
    ok(t, persist_lvb(t, 2, "new", PR, RD, LV(4)));
    assert_int_equal(h.calls, 1);
    /* neither are non-persistent resources nor sub-resources */
    must_grant(t, 3, "plain", PR);
    ok(t, sublock(t, 4, 1, "sub", PR, 0));
    assert_int_equal(h.calls, 1);
    /* the hook says no: starts with no LVB, as usual */
    h.answer = false;
    ok(t, persist_lvb(t, 5, "fresh", PR, RD, LV(4)));
    assert_int_equal(h.calls, 2);
    expect_granted(t, 5, PR);
    expect_end(t);
    assert_int_equal(qres(t, "fresh").lvb_status, ENG_LVB_NONE);
    /* validation ends it */
    eng_actions_clear(&t->a);
    assert_int_equal(eng_rd_validate(t->e, RD, "new", 3, &t->a), RDLM_OK);
    assert_int_equal(qres(t, "new").lvb_status, ENG_LVB_VALID);
    /* no hook: nothing asked */
    eng_rd_set_create_hook(t->e, NULL, NULL);
    h.answer = true;
    ok(t, persist_lvb(t, 6, "third", PR, RD, LV(4)));
    assert_int_equal(h.calls, 2);
    assert_int_equal(qres(t, "third").lvb_status, ENG_LVB_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(list_finds_only_invalid_persistent_of_the_domain),
        TEST(validate_sets_valid_zero_and_bumps_seq),
        TEST(validate_refuses_and_changes_nothing),
        TEST(invalidate_marks_every_persistent_resource_of_the_domain),
        TEST(create_hook_makes_new_persistent_resources_start_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
