/*
 * tests/engine-unit/test_action_lifetime.c - the actions of a call stay usable after it returns
 * (engine.h: "An accepted call returns RDLM_OK and appends actions to the caller's list ...
 * The daemon carries the actions out"). In particular an ENG_ACT_LVB must name its resource
 * (it carries a copy of the name) even when the same call frees that resource: the
 * last unlock of a non-persistent resource with VALBLK/IVVALBLK, a purge of its last holder
 * (also of sublocks), a purge of its last orphan.
 *
 * These tests read the name of such actions; anything dangling is caught by the sanitizer
 * build (make SAN=1). They are in a program of their own because ASan aborts the whole
 * program at the first error.
 */
#include "tests/engine-unit/helpers.h"

#include <string.h>

/* Every LVB action of the last call names a resource: returns how many there are. */
static size_t check_lvb_names(struct t *t, const char *const *names)
{
    size_t k = 0;
    for (size_t i = 0; i < t->a.n; i++) {
        const struct eng_action *x = &t->a.v[i];
        if (x->kind != ENG_ACT_LVB)
            continue;
        uint16_t nl = x->namelen;
        const uint8_t *nm = x->name;
        assert_non_null(nm);
        assert_int_equal(nl, strlen(names[k]));
        assert_memory_equal(nm, names[k], nl);
        k++;
    }
    return k;
}

static void lifetime_lvb_action_of_last_unlock(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "gone", EX);
    ok(t, unlock_lvb(t, 1, RDLM_LKF_VALBLK, LV(0x66)));
    expect_counts(t, 0, 0);
    static const char *const names[] = {"gone"};
    assert_int_equal(check_lvb_names(t, names), 1);
}

static void lifetime_lvb_action_of_last_unlock_ivvalblk(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "gone", PW);
    ok(t, unlock(t, 1, RDLM_LKF_IVVALBLK));
    static const char *const names[] = {"gone"};
    assert_int_equal(check_lvb_names(t, names), 1);
}

static void lifetime_lvb_action_of_purged_last_holder(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "gone", EX);
    ok(t, purge(t, th_owner(1, 100)));
    expect_counts(t, 0, 0);
    static const char *const names[] = {"gone"};
    assert_int_equal(check_lvb_names(t, names), 1);
}

static void lifetime_lvb_action_of_purged_last_orphan(void **state)
{
    struct t *t = *state;
    ok(t, lock(t, 1, "gone", EX, RDLM_LKF_PERSISTENT));
    ok(t, purge(t, th_owner(1, 100)));
    ok(t, purge_orphans(t, 1, 100));
    expect_counts(t, 0, 0);
    static const char *const names[] = {"gone"};
    assert_int_equal(check_lvb_names(t, names), 1);
}

static void lifetime_lvb_actions_of_purged_sublocks(void **state)
{
    struct t *t = *state;
    must_grant(t, 1, "a", EX);
    ok(t, sublock(t, 10, 1, "x", EX, 0));
    ok(t, sublock(t, 11, 10, "y", PW, 0));
    ok(t, purge(t, th_owner(1, 100)));
    expect_counts(t, 0, 0);
    static const char *const names[] = {"y", "x", "a"};
    assert_int_equal(check_lvb_names(t, names), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(lifetime_lvb_action_of_last_unlock),
        TEST(lifetime_lvb_action_of_last_unlock_ivvalblk),
        TEST(lifetime_lvb_action_of_purged_last_holder),
        TEST(lifetime_lvb_action_of_purged_last_orphan),
        TEST(lifetime_lvb_actions_of_purged_sublocks),
    };
    return cmocka_run_group_tests_name("engine-unit/action_lifetime", tests, NULL, NULL);
}
