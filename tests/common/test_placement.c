/*
 * tests/common/test_placement.c - rendezvous placement (common/placement.c): determinism,
 * balance, minimal movement on leave/join, weighting by shard count, seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/placement.h"

#define NAMES 100000

static size_t name_of(unsigned i, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "resource-%u", i);
}

static struct rdlm_placement_target place_i(const struct rdlm_member *m, size_t n, uint64_t seed,
                                            unsigned i)
{
    char name[32];
    size_t len = name_of(i, name, sizeof(name));
    return rdlm_place(m, n, seed, 0, name, len);
}

static void test_deterministic(void **state)
{
    (void)state;
    const struct rdlm_member m[] = {{1, 2}, {2, 2}, {3, 2}};
    const struct rdlm_member reversed[] = {{3, 2}, {2, 2}, {1, 2}};
    uint64_t seed = rdlm_ls_seed("ls");
    assert_int_equal(seed, rdlm_ls_seed("ls"));
    assert_int_not_equal(seed, rdlm_ls_seed("ls2"));
    for (unsigned i = 0; i < 1000; i++) {
        struct rdlm_placement_target a = place_i(m, 3, seed, i), b = place_i(m, 3, seed, i);
        struct rdlm_placement_target c = place_i(reversed, 3, seed, i);
        assert_int_equal(a.node, b.node);
        assert_int_equal(a.shard, b.shard);
        assert_int_equal(a.node, c.node); /* member order does not matter */
        assert_int_equal(a.shard, c.shard);
        assert_in_range(a.node, 1, 3);
        assert_in_range(a.shard, 0, 1);
    }
}

static void test_balance(void **state)
{
    (void)state;
    const struct rdlm_member m[] = {{1, 2}, {2, 2}, {3, 2}};
    unsigned count[4][2] = {{0}};
    uint64_t seed = rdlm_ls_seed("balance");
    for (unsigned i = 0; i < NAMES; i++) {
        struct rdlm_placement_target t = place_i(m, 3, seed, i);
        count[t.node][t.shard]++;
    }
    double mean = NAMES / 6.0;
    for (unsigned node = 1; node <= 3; node++) {
        for (unsigned s = 0; s < 2; s++) {
            if (count[node][s] < mean * 0.95 || count[node][s] > mean * 1.05)
                fail_msg("node %u shard %u has %u names (mean %.0f)", node, s, count[node][s],
                         mean);
        }
    }
}

/* Node 2 leaves: only its names move. Node 4 joins: names move only to it. */
static void test_minimal_movement(void **state)
{
    (void)state;
    const struct rdlm_member three[] = {{1, 2}, {2, 2}, {3, 2}};
    const struct rdlm_member two[] = {{1, 2}, {3, 2}};
    const struct rdlm_member four[] = {{1, 2}, {2, 2}, {3, 2}, {4, 2}};
    uint64_t seed = rdlm_ls_seed("move");
    unsigned moved_in = 0;
    for (unsigned i = 0; i < NAMES; i++) {
        struct rdlm_placement_target a = place_i(three, 3, seed, i);
        struct rdlm_placement_target b = place_i(two, 2, seed, i);
        struct rdlm_placement_target c = place_i(four, 4, seed, i);
        if (a.node != 2) {
            assert_int_equal(b.node, a.node);
            assert_int_equal(b.shard, a.shard);
        } else {
            assert_int_not_equal(b.node, 2);
        }
        if (c.node != 4) {
            assert_int_equal(c.node, a.node);
            assert_int_equal(c.shard, a.shard);
        } else {
            moved_in++;
        }
    }
    /* the newcomer takes about a quarter */
    assert_in_range(moved_in, NAMES / 4 - NAMES / 50, NAMES / 4 + NAMES / 50);
}

static void test_weights(void **state)
{
    (void)state;
    const struct rdlm_member m[] = {{7, 2}, {9, 1}, {11, 0}};
    unsigned per_node[12] = {0};
    uint64_t seed = rdlm_ls_seed("weights");
    for (unsigned i = 0; i < NAMES; i++)
        per_node[place_i(m, 3, seed, i).node]++;
    double ratio = (double)per_node[7] / per_node[9];
    if (ratio < 1.9 || ratio > 2.1)
        fail_msg("2-shard node got %u, 1-shard node %u (ratio %.3f)", per_node[7], per_node[9],
                 ratio);
    assert_int_equal(per_node[11], 0); /* no shards, no names */
}

static void test_seeds_and_parents(void **state)
{
    (void)state;
    const struct rdlm_member m[] = {{1, 4}, {2, 4}};
    uint64_t s1 = rdlm_ls_seed("a"), s2 = rdlm_ls_seed("b");
    unsigned differ_ls = 0, differ_parent = 0;
    for (unsigned i = 0; i < 1000; i++) {
        char name[32];
        size_t len = name_of(i, name, sizeof(name));
        struct rdlm_placement_target a = rdlm_place(m, 2, s1, 0, name, len);
        struct rdlm_placement_target b = rdlm_place(m, 2, s2, 0, name, len);
        struct rdlm_placement_target c = rdlm_place(m, 2, s1, 12345, name, len);
        differ_ls += a.node != b.node || a.shard != b.shard;
        differ_parent += a.node != c.node || a.shard != c.shard;
    }
    /* independent placements agree 1 time in 8 */
    assert_in_range(differ_ls, 800, 950);
    assert_in_range(differ_parent, 800, 950);
}

static void test_edge_cases(void **state)
{
    (void)state;
    const struct rdlm_member none[] = {{1, 0}};
    const struct rdlm_member one[] = {{5, 1}};
    struct rdlm_placement_target t = rdlm_place(none, 1, 1, 0, "x", 1);
    assert_int_equal(t.node, 0);
    t = rdlm_place(NULL, 0, 1, 0, "x", 1);
    assert_int_equal(t.node, 0);
    t = rdlm_place(one, 1, 1, 0, "", 0); /* empty names are fine */
    assert_int_equal(t.node, 5);
    assert_int_equal(t.shard, 0);
}

static void test_speed(void **state)
{
    (void)state;
    const struct rdlm_member m[] = {{1, 4}, {2, 4}, {3, 4}, {4, 4}};
    uint64_t seed = rdlm_ls_seed("speed"), sink = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (unsigned i = 0; i < NAMES; i++)
        sink += place_i(m, 4, seed, i).node;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / NAMES;
    printf("rdlm_place over 16 (node, shard) pairs: %.0f ns per name (sink %llu)\n", ns,
           (unsigned long long)sink);
    assert_true(ns < 20000); /* generous: sanitizer builds and loaded machines */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_balance),
        cmocka_unit_test(test_minimal_movement),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_seeds_and_parents),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
