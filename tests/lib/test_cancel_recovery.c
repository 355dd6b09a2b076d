/*
 * tests/lib/test_cancel_recovery.c - rdlm_cancel whose answer comes from a master that dies
 * (lib/lock.c do_cancel, lib/recover.c; docs/protocol.md section 6), against a real 3-node
 * cluster of 2 shards each, started with fault injection.
 *
 * The race, made reproducible: a process's requests wait on node-3 resources (another
 * process holds them EX). Node 3 is stopped (SIGSTOP) while the process asks to cancel them,
 * one thread per request, then the process is stopped; node 3 resumes and accepts the cancels
 * - its REPLYs (OK) go out, the CANCELED completions after them are lost (rdlmctl
 * lose-completions: as if node 3 died between the two) - and node 3 is killed. Once the
 * survivors' view has left node 3 out, the process resumes with the REPLYs, the closed
 * connection and the RECOVER in its socket buffers: some OKs are read in the batch that
 * carries the RECOVER, or taken by their threads only after the recovery marked the request
 * for re-sending to the new master. rdlm_cancel's contract: OK means the request completes
 * CANCELED. The OK of a master that then died is no such promise: the cancel must go to the
 * new master too (or the request complete CANCELED at once), never leave the re-sent request
 * waiting there. The process reports what each rdlm_cancel returned and how each request
 * completed; the test then checks that nothing of it is left at the new masters.
 * Without the fix in do_cancel, 5 runs of 6 failed (an OK whose request never completed).
 *
 * Every wait is bounded; the helper process is killed at the end if a check failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rdlm.h"
#include "tests/lib/cluster_fixture.h"

#define LS_NAME "cancelrec"

/* ---- the process whose cancels are answered by a dying master ---- */

#define NREQ                                                                                       \
    8 /* requests, each cancelled by its own thread: the batch that carries the                    \
         RECOVER carries some of their REPLYs too, whatever the threads' timing */

struct kid_cmd {
    char config[256], names[NREQ][32];
};
struct kid_report {
    int st[NREQ];         /* of the step; of each rdlm_cancel */
    int completion[NREQ]; /* each request's completion status; -1 if none came within 10 s */
};

static struct fixture_kid g_kid = {-1, -1, -1};
static struct kid_state {
    rdlm_ls *ls;
    struct rdlm_lksb sb[NREQ];
    atomic_int completion[NREQ];
    int st[NREQ];
} g_k;

static void on_complete(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;

    atomic_store(&g_k.completion[i], g_k.sb[i].status);
}

static void kid_say(int st)
{
    struct kid_report r;

    for (int i = 0; i < NREQ; i++) {
        r.st[i] = st < 0 ? g_k.st[i] : st;
        r.completion[i] = atomic_load(&g_k.completion[i]);
    }
    if (write(g_kid.rep, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(3);
}

static bool kid_wait_cmd(void)
{
    char c;

    return read(g_kid.cmd, &c, 1) == 1;
}

static void *cancel_one(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;

    g_k.st[i] = rdlm_cancel(g_k.ls, g_k.sb[i].lkid, RDLM_LKF_CANCELWAITOK);
    return NULL;
}

static bool all_completed(void)
{
    for (int i = 0; i < NREQ; i++)
        if (atomic_load(&g_k.completion[i]) < 0)
            return false;
    return true;
}

/* As node 1: an EX request on each name (they wait: the parent holds them), then on command
 * the cancels, one thread each; reports what rdlm_cancel returned and the completions
 * (waits up to 10 s for them). */
static void kid_main(void)
{
    struct kid_cmd c;
    pthread_t th[NREQ];
    int st;

    alarm(300);
    for (int i = 0; i < NREQ; i++)
        atomic_store(&g_k.completion[i], -1);
    if (read(g_kid.cmd, &c, sizeof(c)) != (ssize_t)sizeof(c))
        _exit(1);
    setenv("RDLM_CONFIG", c.config, 1);
    setenv("RDLM_NODE", "1", 1);
    st = rdlm_ls_open(LS_NAME, 0, &g_k.ls);
    for (int i = 0; i < NREQ && st == RDLM_OK; i++)
        st = rdlm_lock(g_k.ls, RDLM_MODE_EX, &g_k.sb[i], 0, c.names[i], strlen(c.names[i]),
                       on_complete, (void *)(uintptr_t)i, NULL, NULL);
    if (st == RDLM_OK)
        usleep(300000); /* at the master, queued behind the parent's EX */
    kid_say(st);
    if (st != RDLM_OK || !kid_wait_cmd())
        _exit(1);
    for (int i = 0; i < NREQ; i++)
        if (pthread_create(&th[i], NULL, cancel_one, (void *)(uintptr_t)i) != 0)
            _exit(2);
    kid_say(RDLM_OK); /* cancelling now */
    for (int i = 0; i < NREQ; i++)
        pthread_join(th[i], NULL);
    for (int t = 0; t < 1000 && !all_completed(); t++)
        usleep(10000);
    kid_say(-1);
    if (kid_wait_cmd())
        rdlm_ls_close(g_k.ls);
    _exit(0);
}

static struct kid_report kid_hear(void)
{
    struct kid_report r;

    memset(&r, 0xff, sizeof(r)); /* -1 everywhere */
    assert_int_equal(read(g_kid.rep, &r, sizeof(r)), (ssize_t)sizeof(r));
    return r;
}

static void kid_go(void)
{
    assert_int_equal(write(g_kid.cmd, "g", 1), 1);
}

/* ---- the parent ---- */

static int lock_sync(rdlm_ls *ls, int mode, struct rdlm_lksb *sb, uint32_t flags, const char *name)
{
    return rdlm_lock(ls, mode, sb, flags | RDLM_LKF_WAIT, name, strlen(name), NULL, NULL, NULL,
                     NULL);
}

/* Until node 1's daemon has a view without node 3 (bounded). */
static void wait_node3_out(void)
{
    char out[4096];

    for (int t = 0; t < 300; t++) {
        (void)fixture_ctl("status", out, sizeof(out)); /* (fails: node 3 does not answer) */
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
            if (strstr(line, "node 1 (self) up") && strstr(line, "node 3 DOWN not a member"))
                return;
        usleep(100000);
    }
    fail_msg("node 3 never left the view:\n%s", out);
}

static void test_cancel_answered_by_a_dying_master(void **state)
{
    rdlm_ls *b;
    struct kid_cmd c = {0};
    struct rdlm_lksb held[NREQ] = {0}, probe = {0};
    struct kid_report r;
    char out[512], prefix[8];

    (void)state;
    assert_int_equal(rdlm_ls_open(LS_NAME, 0, &b), RDLM_OK);
    for (int i = 0; i < NREQ; i++) {
        snprintf(prefix, sizeof(prefix), "cr%d.", i);
        assert_int_equal(fixture_name_on_node(b, 3, prefix, c.names[i], sizeof(c.names[i])), 0);
        assert_int_equal(lock_sync(b, RDLM_MODE_EX, &held[i], 0, c.names[i]), RDLM_OK);
    }
    snprintf(c.config, sizeof(c.config), "%s", getenv("RDLM_CONFIG"));
    assert_int_equal(write(g_kid.cmd, &c, sizeof(c)), (ssize_t)sizeof(c));
    r = kid_hear();
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(r.st[i], RDLM_OK);
        assert_int_equal(r.completion[i], -1); /* they wait */
    }

    assert_int_equal(fixture_ctl("lose-completions --node 3", out, sizeof(out)), 0);
    assert_int_equal(fixture_signal_node(3, SIGSTOP), 0);
    kid_go();
    assert_int_equal(kid_hear().st[0], RDLM_OK);
    usleep(300000); /* the CANCELs are in node 3's socket; the kid waits for the answers */
    assert_int_equal(kill(g_kid.pid, SIGSTOP), 0);
    assert_int_equal(fixture_signal_node(3, SIGCONT), 0);
    usleep(300000); /* node 3 accepts the cancels: REPLYs OK sent, the CANCELEDs lost */
    assert_int_equal(fixture_kill_node(3), 0);
    wait_node3_out();
    usleep(300000); /* the RECOVER in the kid's socket too */
    assert_int_equal(kill(g_kid.pid, SIGCONT), 0);

    r = kid_hear();
    for (int i = 0; i < NREQ; i++) {
        if (r.st[i] != RDLM_OK) /* (node 3 accepted them all; CANCELGRANT would be a lie too) */
            fail_msg("request %d: rdlm_cancel returned %d (%s), completed %d", i, r.st[i],
                     rdlm_status_str(r.st[i]), r.completion[i]);
        if (r.completion[i] != RDLM_E_CANCELED) /* the promise of OK */
            fail_msg("request %d: rdlm_cancel returned OK, but the request completed %d (-1: "
                     "not within 10 s)",
                     i, r.completion[i]);
    }
    /* nothing of the kid's waits at the new masters: once ours are gone, the names are free */
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(rdlm_unlock(b, held[i].lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
        assert_int_equal(lock_sync(b, RDLM_MODE_EX, &probe, RDLM_LKF_NOQUEUE, c.names[i]), RDLM_OK);
        assert_int_equal(rdlm_unlock(b, probe.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    }
    kid_go();
    assert_int_equal(waitpid(g_kid.pid, NULL, 0), g_kid.pid);
    g_kid.pid = -1;
    rdlm_ls_close(b);
}

static int start(void **state)
{
    (void)state;
    setenv("RDLM_NODE", "1", 1);
    return fixture_cluster_up_with("cancelrec", 3, 2, "--fault-injection");
}

static int stop(void **state)
{
    (void)state;
    fixture_reap_kid(&g_kid); /* if a check failed before it ended */
    fixture_cluster_down();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_answered_by_a_dying_master),
    };

    if (fixture_fork_kid(&g_kid, kid_main) < 0) {
        fprintf(stderr, "test_cancel_recovery: cannot fork the helper process\n");
        return 1;
    }
    return cmocka_run_group_tests_name("librdlm-cancel-recovery", tests, start, stop);
}
