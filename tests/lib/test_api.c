/*
 * tests/lib/test_api.c - librdlm's native API against a real 1-node cluster (two rdlmd shards
 * on 127.0.0.1, started with rdlmctl in a temporary directory and stopped at the end):
 * argument validation returns the documented status and changes nothing; the basic
 * semantics work through both paths (one-sided fast path and messages): synchronous and
 * asynchronous calls, completion and blocking callbacks with mode and hint, NOQUEUE, LVB
 * transfer, conversions, cancel (including the cancel-loses-to-grant case), queries, fd-driven
 * dispatch, orphans and purge, handles closing with locks held.
 *
 * Every wait is bounded (WAIT_MS); the cluster is always stopped (a group teardown, and an
 * atexit handler for the abort paths).
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rdlm.h"
#include "tests/lib/cluster_fixture.h"

#define WAIT_MS 5000

static int start_cluster(void **state)
{
    (void)state;
    return fixture_cluster_up("api", 1, 2);
}

static int stop_cluster_group(void **state)
{
    (void)state;
    fixture_cluster_down();
    return 0;
}

/* ---- helpers ---- */

static rdlm_ls *open_ls(uint32_t flags)
{
    rdlm_ls *ls = NULL;

    assert_int_equal(rdlm_ls_open("api", flags, &ls), RDLM_OK);
    assert_non_null(ls);
    return ls;
}

struct cb {
    volatile int completions;
    volatile int basts;
    volatile int bast_mode;
    volatile uint64_t bast_hint;
};

static void on_ast(void *arg)
{
    struct cb *c = arg;

    __atomic_add_fetch(&c->completions, 1, __ATOMIC_SEQ_CST);
}

static void on_bast(void *arg, int mode, uint64_t hint)
{
    struct cb *c = arg;

    c->bast_mode = mode;
    c->bast_hint = hint;
    __atomic_add_fetch(&c->basts, 1, __ATOMIC_SEQ_CST);
}

static bool wait_for(volatile int *counter, int want)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= want)
            return true;
        usleep(1000);
    }
    return false;
}

static int lock_sync(rdlm_ls *ls, int mode, struct rdlm_lksb *sb, uint32_t flags, const char *name)
{
    return rdlm_lock(ls, mode, sb, flags | RDLM_LKF_WAIT, name, name ? (unsigned)strlen(name) : 0,
                     NULL, NULL, NULL, NULL);
}

/* ---- argument validation ---- */

static void api_rejects_bad_arguments(void **state)
{
    rdlm_ls *ls = open_ls(0);
    struct rdlm_lksb sb = {0};
    uint8_t lvb[RDLM_LVB_LEN];
    char longname[RDLM_RESNAME_MAXLEN + 1];

    (void)state;
    memset(longname, 'x', sizeof(longname));
    assert_int_equal(
        rdlm_lock(NULL, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, "a", 1, NULL, NULL, NULL, NULL),
        RDLM_E_INVAL);
    assert_int_equal(
        rdlm_lock(ls, RDLM_MODE_EX, NULL, RDLM_LKF_WAIT, "a", 1, NULL, NULL, NULL, NULL),
        RDLM_E_INVAL);
    assert_int_equal(lock_sync(ls, 6, &sb, 0, "a"), RDLM_E_INVAL);
    assert_int_equal(lock_sync(ls, -1, &sb, 0, "a"), RDLM_E_INVAL);
    /* asynchronous without a completion callback */
    assert_int_equal(rdlm_lock(ls, RDLM_MODE_EX, &sb, 0, "a", 1, NULL, NULL, NULL, NULL),
                     RDLM_E_INVAL);
    assert_int_equal(
        rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, "a", 0, NULL, NULL, NULL, NULL),
        RDLM_E_NAMELEN);
    assert_int_equal(rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, longname, sizeof(longname),
                               NULL, NULL, NULL, NULL),
                     RDLM_E_NAMELEN);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_VALBLK, "a"), RDLM_E_INVAL);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_QUECVT, "a"), RDLM_E_INVAL);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_CANCEL, "a"), RDLM_E_INVAL);
    assert_int_equal(lock_sync(ls, RDLM_MODE_CR, &sb, RDLM_LKF_EXPEDITE, "a"), RDLM_E_INVAL);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_CONVDEADLK, "a"), RDLM_E_INVAL);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_TIMEOUT, "a"), RDLM_E_INVAL);
    sb.lkid = 12345;
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_CONVERT, NULL), RDLM_E_NOLOCK);
    assert_int_equal(rdlm_unlock(ls, 12345, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_NOLOCK);
    assert_int_equal(rdlm_unlock(ls, 12345, RDLM_LKF_CANCEL, &sb, NULL), RDLM_E_INVAL);
    assert_int_equal(rdlm_cancel(ls, 12345, 0), RDLM_E_NOLOCK);
    assert_int_equal(rdlm_cancel(ls, 12345, RDLM_LKF_FORCEUNLOCK), RDLM_E_INVAL);
    rdlm_ls *other = ls;
    assert_int_equal(rdlm_ls_open(NULL, 0, &other), RDLM_E_INVAL);
    assert_null(other);
    /* a valid request still works afterwards: nothing was disturbed */
    memset(&sb, 0, sizeof(sb));
    sb.lvb = lvb;
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_VALBLK, "a"), RDLM_OK);
    assert_int_equal(rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_UNLOCKED);
    /* the lock is gone: a second unlock names no lock */
    assert_int_equal(rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_NOLOCK);
    assert_int_equal(rdlm_ls_close(ls), RDLM_OK);
}

/* ---- the two paths ---- */

static void run_noqueue_and_lvb(int fast)
{
    rdlm_ls *a = open_ls(0), *b = open_ls(0);
    uint8_t va[RDLM_LVB_LEN] = "written by a", vb[RDLM_LVB_LEN] = {0};
    struct rdlm_lksb sa = {.lvb = va}, sb = {.lvb = vb};
    char name[32];

    snprintf(name, sizeof(name), "nq-%d", fast);
    rdlm_ls_set_fastpath(a, fast);
    rdlm_ls_set_fastpath(b, fast);
    assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sa, RDLM_LKF_VALBLK, name), RDLM_OK);
    assert_int_equal(lock_sync(b, RDLM_MODE_PR, &sb, RDLM_LKF_NOQUEUE, name), RDLM_E_NOTQUEUED);
    /* EX -> NL with VALBLK publishes a's value */
    assert_int_equal(lock_sync(a, RDLM_MODE_NL, &sa, RDLM_LKF_CONVERT | RDLM_LKF_VALBLK, NULL),
                     RDLM_OK);
    memset(&sb, 0, sizeof(sb));
    sb.lvb = vb;
    assert_int_equal(lock_sync(b, RDLM_MODE_PR, &sb, RDLM_LKF_VALBLK, name), RDLM_OK);
    assert_string_equal((char *)vb, "written by a");
    assert_int_equal(sb.sbflags & RDLM_SBF_VALNOTVALID, 0);
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(rdlm_unlock(a, sa.lkid, RDLM_LKF_WAIT, &sa, NULL), RDLM_E_UNLOCKED);
    rdlm_ls_close(b);
    rdlm_ls_close(a);
}

static void api_noqueue_and_lvb_fast(void **state)
{
    (void)state;
    run_noqueue_and_lvb(1);
}

static void api_noqueue_and_lvb_two_sided(void **state)
{
    (void)state;
    run_noqueue_and_lvb(0);
}

/* An async request that must wait: the holder gets a BAST with the blocked mode and hint, the
 * waiter's completion callback runs once when the holder lets go. */
static void api_async_wait_bast_and_completion(void **state)
{
    rdlm_ls *a = open_ls(0), *b = open_ls(0);
    struct rdlm_lksb sa = {0}, sb = {0};
    struct cb ca = {0}, cbb = {0};
    struct rdlm_lock_ext ext = {.hint = 0x5eed};

    (void)state;
    assert_int_equal(rdlm_lock(a, RDLM_MODE_PR, &sa, 0, "bast", 4, on_ast, &ca, on_bast, NULL),
                     RDLM_OK);
    assert_true(wait_for(&ca.completions, 1));
    assert_int_equal(sa.status, RDLM_OK);
    assert_int_equal(rdlm_lock(b, RDLM_MODE_EX, &sb, 0, "bast", 4, on_ast, &cbb, on_bast, &ext),
                     RDLM_OK);
    assert_true(wait_for(&ca.basts, 1));
    assert_int_equal(ca.bast_mode, RDLM_MODE_EX);
    assert_int_equal(ca.bast_hint, 0x5eed);
    usleep(20000);
    assert_int_equal(cbb.completions, 0); /* still waiting behind PR */
    assert_int_equal(rdlm_unlock(a, sa.lkid, 0, &sa, NULL), RDLM_OK);
    assert_true(wait_for(&ca.completions, 2)); /* a's unlock completed */
    assert_int_equal(sa.status, RDLM_E_UNLOCKED);
    assert_true(wait_for(&cbb.completions, 1));
    assert_int_equal(sb.status, RDLM_OK);
    usleep(20000);
    assert_int_equal(cbb.completions, 1); /* exactly one */
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_UNLOCKED);
    rdlm_ls_close(b);
    rdlm_ls_close(a);
}

/* Cancel a waiting request: CANCELED once; cancel after the grant: CANCELGRANT, no more
 * completions. */
static void api_cancel(void **state)
{
    rdlm_ls *a = open_ls(0), *b = open_ls(0);
    struct rdlm_lksb sa = {0}, sb = {0};
    struct cb cbb = {0};

    (void)state;
    assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sa, 0, "cancel"), RDLM_OK);
    assert_int_equal(rdlm_lock(b, RDLM_MODE_EX, &sb, 0, "cancel", 6, on_ast, &cbb, NULL, NULL),
                     RDLM_OK);
    usleep(20000);
    assert_int_equal(rdlm_cancel(b, sb.lkid, RDLM_LKF_CANCELWAITOK), RDLM_OK);
    assert_true(wait_for(&cbb.completions, 1));
    assert_int_equal(sb.status, RDLM_E_CANCELED);
    assert_int_equal(rdlm_cancel(b, sb.lkid, 0), RDLM_E_NOLOCK); /* the request is over */
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(lock_sync(b, RDLM_MODE_NL, &sb, 0, "cancel"), RDLM_OK);
    assert_int_equal(rdlm_cancel(b, sb.lkid, 0), RDLM_E_CANCELGRANT);
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(rdlm_unlock(a, sa.lkid, RDLM_LKF_WAIT, &sa, NULL), RDLM_E_UNLOCKED);
    usleep(20000);
    assert_int_equal(cbb.completions, 1);
    rdlm_ls_close(b);
    rdlm_ls_close(a);
}

/* A conversion of a lock with an operation in flight is refused with BUSY. */
static void api_busy(void **state)
{
    rdlm_ls *a = open_ls(0), *b = open_ls(0);
    struct rdlm_lksb sa = {0}, sb = {0};
    struct cb cbb = {0};

    (void)state;
    assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sa, 0, "busy"), RDLM_OK);
    assert_int_equal(lock_sync(b, RDLM_MODE_NL, &sb, 0, "busy"), RDLM_OK);
    assert_int_equal(
        rdlm_lock(b, RDLM_MODE_EX, &sb, RDLM_LKF_CONVERT, NULL, 0, on_ast, &cbb, NULL, NULL),
        RDLM_OK);
    assert_int_equal(lock_sync(b, RDLM_MODE_PR, &sb, RDLM_LKF_CONVERT, NULL), RDLM_E_BUSY);
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_BUSY);
    assert_int_equal(rdlm_unlock(a, sa.lkid, RDLM_LKF_WAIT, &sa, NULL), RDLM_E_UNLOCKED);
    assert_true(wait_for(&cbb.completions, 1));
    assert_int_equal(sb.status, RDLM_OK);
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_UNLOCKED);
    rdlm_ls_close(b);
    rdlm_ls_close(a);
}

/* fd-driven delivery: callbacks run only inside rdlm_dispatch, after the fd is readable. */
static void api_fd_dispatch(void **state)
{
    rdlm_ls *a = open_ls(RDLM_LS_FD_DISPATCH);
    struct rdlm_lksb sa = {0};
    struct cb ca = {0};
    struct pollfd p = {rdlm_ls_fd(a), POLLIN, 0};

    (void)state;
    assert_true(p.fd >= 0);
    assert_int_equal(rdlm_lock(a, RDLM_MODE_EX, &sa, 0, "fd", 2, on_ast, &ca, NULL, NULL), RDLM_OK);
    for (int i = 0; i < WAIT_MS / 10 && ca.completions == 0; i++)
        if (poll(&p, 1, 10) > 0 || i % 10 == 0)
            rdlm_dispatch(a);
    assert_int_equal(ca.completions, 1);
    assert_int_equal(sa.status, RDLM_OK);
    assert_int_equal(rdlm_unlock(a, sa.lkid, RDLM_LKF_WAIT, &sa, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(rdlm_ls_start_dispatch(a), RDLM_OK);
    assert_int_equal(rdlm_ls_start_dispatch(a), RDLM_E_EXISTS);
    rdlm_ls_close(a);
}

/* Queries: the lock's own view; the resource at its master. */
static void api_queries(void **state)
{
    rdlm_ls *a = open_ls(0);
    struct rdlm_lksb sa = {0};
    struct rdlm_lock_info li;
    struct rdlm_res_info ri;

    (void)state;
    assert_int_equal(lock_sync(a, RDLM_MODE_PW, &sa, 0, "query"), RDLM_OK);
    assert_int_equal(rdlm_query_lock(a, sa.lkid, &li), RDLM_OK);
    assert_int_equal(li.grmode, RDLM_MODE_PW);
    assert_int_equal(li.namelen, 5);
    assert_memory_equal(li.name, "query", 5);
    assert_int_equal(rdlm_query_resource(a, "query", 5, 0, &ri), RDLM_OK);
    assert_int_equal(ri.granted_mode, RDLM_MODE_PW);
    assert_int_equal(ri.granted_count, 1);
    assert_int_equal(rdlm_query_lock(a, 999, &li), RDLM_E_NOLOCK);
    assert_int_equal(rdlm_query_resource(a, "", 0, 0, &ri), RDLM_E_NAMELEN);
    assert_int_equal(rdlm_unlock(a, sa.lkid, RDLM_LKF_WAIT, &sa, NULL), RDLM_E_UNLOCKED);
    rdlm_ls_close(a);
}

/* Closing a handle releases its locks (PERSISTENT ones stay as orphans until purged). */
static void api_close_releases_and_orphans(void **state)
{
    rdlm_ls *a = open_ls(0), *b = open_ls(0);
    struct rdlm_lksb sa = {0}, sp = {0}, sb = {0};

    (void)state;
    assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sa, 0, "closed"), RDLM_OK);
    assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sp, RDLM_LKF_PERSISTENT, "orphan"), RDLM_OK);
    assert_int_equal(rdlm_ls_close(a), RDLM_OK);
    assert_int_equal(lock_sync(b, RDLM_MODE_EX, &sb, RDLM_LKF_NOQUEUE, "closed"), RDLM_OK);
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_UNLOCKED);
    /* the orphan still holds EX ... */
    for (int i = 0; i < 100; i++) {
        memset(&sb, 0, sizeof(sb));
        if (lock_sync(b, RDLM_MODE_EX, &sb, RDLM_LKF_NOQUEUE, "orphan") == RDLM_E_NOTQUEUED)
            break;
        rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL);
        usleep(10000); /* the master purges a's connection when it sees it close */
    }
    assert_int_equal(sb.status, RDLM_E_NOTQUEUED);
    /* ... until purged: every orphan of this node and pid */
    assert_int_equal(rdlm_purge(b, 0, (uint32_t)getpid()), RDLM_OK);
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(lock_sync(b, RDLM_MODE_EX, &sb, RDLM_LKF_NOQUEUE, "orphan"), RDLM_OK);
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_UNLOCKED);
    rdlm_ls_close(b);
}

/* ---- regressions ---- */

/* A lock that went down to NL (where a PW/EX holder may publish) and back up to EX without
 * VALBLK no longer knows the LVB's sequence: its VALBLK unlock must count the other writer. */
static void api_lvbseq_after_nl(void **state)
{
    rdlm_ls *ls = open_ls(0);
    uint8_t va[RDLM_LVB_LEN] = {0}, vb[RDLM_LVB_LEN] = {0};
    struct rdlm_lksb a = {.lvb = va}, b = {.lvb = vb};

    (void)state;
    /* first use (two-sided, caches the slot) and a first write */
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &a, RDLM_LKF_VALBLK, "seq"), RDLM_OK);
    va[0] = 1;
    assert_int_equal(rdlm_unlock(ls, a.lkid, RDLM_LKF_VALBLK | RDLM_LKF_WAIT, &a, NULL),
                     RDLM_E_UNLOCKED);
    memset(&a, 0, sizeof(a));
    a.lvb = va;
    assert_int_equal(lock_sync(ls, RDLM_MODE_PR, &a, RDLM_LKF_VALBLK, "seq"), RDLM_OK);
    uint64_t seq0 = a.lvbseq;
    assert_int_equal(lock_sync(ls, RDLM_MODE_NL, &a, RDLM_LKF_CONVERT, NULL), RDLM_OK);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &b, RDLM_LKF_VALBLK, "seq"), RDLM_OK);
    vb[0] = 2;
    assert_int_equal(rdlm_unlock(ls, b.lkid, RDLM_LKF_VALBLK | RDLM_LKF_WAIT, &b, NULL),
                     RDLM_E_UNLOCKED);
    assert_int_equal(lock_sync(ls, RDLM_MODE_EX, &a, RDLM_LKF_CONVERT, NULL), RDLM_OK);
    va[0] = 3;
    assert_int_equal(rdlm_unlock(ls, a.lkid, RDLM_LKF_VALBLK | RDLM_LKF_WAIT, &a, NULL),
                     RDLM_E_UNLOCKED);
    memset(&b, 0, sizeof(b));
    b.lvb = vb;
    assert_int_equal(lock_sync(ls, RDLM_MODE_PR, &b, RDLM_LKF_VALBLK, "seq"), RDLM_OK);
    assert_int_equal(vb[0], 3);
    assert_int_equal(b.lvbseq, seq0 + 2);
    assert_int_equal(rdlm_unlock(ls, b.lkid, RDLM_LKF_WAIT, &b, NULL), RDLM_E_UNLOCKED);
    rdlm_ls_close(ls);
}

struct first_use {
    rdlm_ls *ls;
    pthread_barrier_t *bar;
    struct rdlm_lksb sb;
    char name[32];
    int rc;
};

static void *first_use_thread(void *arg)
{
    struct first_use *f = arg;

    pthread_barrier_wait(f->bar);
    f->rc = lock_sync(f->ls, RDLM_MODE_PR, &f->sb, 0, f->name);
    return NULL;
}

/* Two threads of a new handle use a master for the first time at once: one connection, so
 * the hold report at the next transition lists both locks and EX is not granted over them. */
static void api_first_use_two_threads(void **state)
{
    (void)state;
    for (int k = 0; k < 40; k++) {
        rdlm_ls *ls = open_ls(0), *other = open_ls(0);
        pthread_barrier_t bar;
        struct first_use f[2];
        pthread_t t[2];
        struct rdlm_lksb x = {0};
        struct rdlm_lock_ext ext = {.timeout_cs = 5};

        pthread_barrier_init(&bar, NULL, 2);
        for (int i = 0; i < 2; i++) {
            f[i] = (struct first_use){.ls = ls, .bar = &bar};
            snprintf(f[i].name, sizeof(f[i].name), "first-use-%d", k);
            pthread_create(&t[i], NULL, first_use_thread, &f[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(f[i].rc, RDLM_OK);
        }
        pthread_barrier_destroy(&bar);
        /* must queue (turns the resource SLOW: hold reports), then times out */
        assert_int_equal(rdlm_lock(other, RDLM_MODE_EX, &x, RDLM_LKF_WAIT | RDLM_LKF_TIMEOUT,
                                   f[0].name, (unsigned)strlen(f[0].name), NULL, NULL, NULL, &ext),
                         RDLM_E_TIMEDOUT);
        for (int i = 0; i < 2; i++)
            assert_int_equal(lock_sync(ls, RDLM_MODE_NL, &f[i].sb, RDLM_LKF_CONVERT, NULL),
                             RDLM_OK);
        rdlm_ls_close(ls);
        rdlm_ls_close(other);
    }
}

/* An asynchronous request force-unlocked at once: the master may grant it from the lock
 * word's counts before the unlock arrives (which then finds nothing to release, and the
 * grant reaches us after); the lock must still end, and the resource be free. */
static void api_force_unlock_right_after_request(void **state)
{
    rdlm_ls *a = open_ls(0), *b = open_ls(0);

    (void)state;
    for (int i = 0; i < 40; i++) {
        struct cb cb = {0};
        struct rdlm_lksb sb = {0}, ub = {0}, other = {0};
        char name[32];
        snprintf(name, sizeof(name), "force-%d", i); /* first use: the request is two-sided */
        assert_int_equal(rdlm_lock(a, RDLM_MODE_EX, &sb, 0, name, strlen(name), on_ast, &cb, NULL,
                                   NULL),
                         RDLM_OK);
        assert_int_equal(rdlm_unlock(a, sb.lkid, RDLM_LKF_FORCEUNLOCK | RDLM_LKF_WAIT, &ub, NULL),
                         RDLM_E_UNLOCKED);
        assert_int_equal(lock_sync(b, RDLM_MODE_EX, &other, RDLM_LKF_NOQUEUE, name), RDLM_OK);
        assert_int_equal(other.status, RDLM_OK);
        assert_int_equal(rdlm_unlock(b, other.lkid, RDLM_LKF_WAIT, &other, NULL), RDLM_E_UNLOCKED);
    }
    rdlm_ls_close(b);
    rdlm_ls_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(api_rejects_bad_arguments),
        cmocka_unit_test(api_noqueue_and_lvb_fast),
        cmocka_unit_test(api_noqueue_and_lvb_two_sided),
        cmocka_unit_test(api_async_wait_bast_and_completion),
        cmocka_unit_test(api_cancel),
        cmocka_unit_test(api_busy),
        cmocka_unit_test(api_fd_dispatch),
        cmocka_unit_test(api_queries),
        cmocka_unit_test(api_close_releases_and_orphans),
        cmocka_unit_test(api_lvbseq_after_nl),
        cmocka_unit_test(api_first_use_two_threads),
        cmocka_unit_test(api_force_unlock_right_after_request),
    };

    return cmocka_run_group_tests_name("librdlm-api", tests, start_cluster, stop_cluster_group);
}
