/*
 * tests/lib/test_freeze.c - a master that loses quorum for a moment and gets it back
 * (master/recover.c freeze and thaw; docs/protocol.md section 6, "No quorum"), against a real
 * 3-node cluster of 1 shard each. Nodes 2 and 3 are stopped (SIGSTOP) until node 1 has frozen
 * (it hears no majority: half of node_timeout_ms without their heartbeats), then resumed
 * before anyone is declared lost; node 1 thaws. Meanwhile:
 *   - a lock granted from the lock word's counts before the freeze is unlocked while node 1 is
 *     frozen: the unlock waits, and completes UNLOCKED after the thaw (it used to be dropped:
 *     the word kept the SLOW the freeze had set, and an unlock of a FAST resource whose word
 *     is SLOW went nowhere);
 *   - after the thaw, a resource that was on the fast path before the freeze is on it again:
 *     a lock and its unlock are one-sided (the freeze's SLOW is gone from its word).
 * Every wait is bounded; the stopped daemons are resumed on any failure (stop()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rdlm.h"
#include "tests/lib/cluster_fixture.h"

#define LS_NAME "freeze"

static atomic_int g_unlocked = -1; /* the async unlock's completion status */
static struct rdlm_lksb g_sb;

static void on_unlock(void *arg)
{
    (void)arg;
    atomic_store(&g_unlocked, g_sb.status);
}

static int lock_sync(rdlm_ls *ls, int mode, struct rdlm_lksb *sb, const char *name)
{
    return rdlm_lock(ls, mode, sb, RDLM_LKF_WAIT, name, strlen(name), NULL, NULL, NULL, NULL);
}

/* How many lines of node 1's log have what. */
static int node1_count(const char *what)
{
    char path[400], line[512];
    FILE *f;
    int seen = 0;

    snprintf(path, sizeof(path), "%s/node-1.log", fixture_cluster_dir());
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        seen += strstr(line, what) != NULL;
    if (f)
        fclose(f);
    return seen;
}

/* Until node 1's log has what (bounded, 10 s); true if it did. */
static bool node1_logged(const char *what)
{
    for (int t = 0; t < 1000; t++) {
        if (node1_count(what) > 0)
            return true;
        usleep(10000);
    }
    return false;
}

/* EX then its unlock, on the fast path if the resource is on it: how many of the two were
 * one-sided. */
static uint64_t one_sided_lock_unlock(rdlm_ls *ls, const char *name)
{
    struct rdlm_stats before, after;
    struct rdlm_lksb sb = {0};

    rdlm_ls_stats(ls, &before);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, name), RDLM_OK);
    assert_int_equal(rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    rdlm_ls_stats(ls, &after);
    return (after.fast_grants - before.fast_grants) + (after.fast_unlocks - before.fast_unlocks);
}

static void test_unlock_across_a_freeze(void **state)
{
    rdlm_ls *a;
    char held[32], idle[32];

    (void)state;
    assert_int_equal(rdlm_ls_open(LS_NAME, 0, &a), RDLM_OK);
    assert_int_equal(fixture_name_on_node(a, 1, "held", held, sizeof(held)), 0);
    assert_int_equal(fixture_name_on_node(a, 1, "idle", idle, sizeof(idle)), 0);
    /* both resources on the fast path, their locks counts in the word */
    assert_int_equal(one_sided_lock_unlock(a, held), 2);
    assert_int_equal(one_sided_lock_unlock(a, idle), 2);
    assert_int_equal(rdlm_lock(a, RDLM_MODE_EX, &g_sb, RDLM_LKF_WAIT, held, strlen(held), on_unlock,
                               NULL, NULL, NULL),
                     RDLM_OK);
    assert_int_equal(atomic_load(&g_unlocked), -1);

    assert_int_equal(fixture_signal_node(2, SIGSTOP), 0);
    assert_int_equal(fixture_signal_node(3, SIGSTOP), 0);
    if (!node1_logged("no quorum: frozen")) {
        fixture_signal_node(2, SIGCONT);
        fixture_signal_node(3, SIGCONT);
        fail_msg("node 1 did not freeze with nodes 2 and 3 stopped");
    }
    assert_int_equal(rdlm_unlock(a, g_sb.lkid, 0, &g_sb, NULL), RDLM_OK); /* waits: frozen */
    usleep(50000);
    assert_int_equal(fixture_signal_node(2, SIGCONT), 0);
    assert_int_equal(fixture_signal_node(3, SIGCONT), 0);
    assert_true(node1_logged("quorum again: serving"));

    for (int t = 0; t < 1000 && atomic_load(&g_unlocked) < 0; t++) /* (dispatch thread) */
        usleep(10000);
    assert_int_equal(atomic_load(&g_unlocked), RDLM_E_UNLOCKED);
    assert_int_equal(node1_count("membership view 2"), 0); /* nobody was declared lost */
    /* the fast path is back for both (held: once the handle has learnt its word again, which
     * a two-sided unlock does not tell) */
    assert_int_equal(one_sided_lock_unlock(a, idle), 2);
    (void)one_sided_lock_unlock(a, held);
    assert_int_equal(one_sided_lock_unlock(a, held), 2);
    rdlm_ls_close(a);
}

static int start(void **state)
{
    (void)state;
    setenv("RDLM_NODE", "1", 1);
    return fixture_cluster_up("freeze", 3, 1);
}

static int stop(void **state)
{
    (void)state;
    fixture_signal_node(2, SIGCONT); /* if a check failed while they were stopped */
    fixture_signal_node(3, SIGCONT);
    fixture_cluster_down();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlock_across_a_freeze),
    };

    return cmocka_run_group_tests_name("librdlm-freeze", tests, start, stop);
}
