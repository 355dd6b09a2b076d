/*
 * docs/examples/libdlm/lvb_counter.c - a counter kept in a lock value block, passed between
 * processes by lock conversions: each worker keeps an NL lock on the resource (which keeps
 * the LVB alive) and, for every increment, converts NL -> EX with LKF_VALBLK (reading the
 * counter), adds one, and converts EX -> NL with LKF_VALBLK (publishing it). In the end the
 * parent reads the counter with a PR lock and checks that no increment was lost.
 *
 * The workers are forked before the parent opens the lockspace (a process with a lockspace
 * open has threads, and a child of a threaded process should not do much before exec); they
 * start when the parent, holding its NL lock, writes to a pipe.
 *
 * usage: lvb_counter [LOCKSPACE [WORKERS [INCREMENTS]]]
 */
#include <libdlm.h>
#include <stdint.h>

#include "common.h"

static const char resource[] = "lvb-counter";

static uint64_t get(const char *lvb)
{
    uint64_t v;

    memcpy(&v, lvb, sizeof(v));
    return v;
}

static void put(char *lvb, uint64_t v)
{
    memcpy(lvb, &v, sizeof(v));
}

static int worker(const char *lsname, int increments)
{
    char lvb[DLM_LVB_LEN] = {0};
    struct dlm_lksb lksb = {.sb_lvbptr = lvb};
    dlm_lshandle_t ls = dlm_open_lockspace(lsname); /* after fork: a handle of our own */

    if (!ls)
        FAIL("open lockspace: %s", strerror(errno));
    if (dlm_ls_lock_wait(ls, LKM_NLMODE, &lksb, LKF_VALBLK, resource, sizeof(resource) - 1, 0, NULL,
                         NULL, NULL) < 0)
        FAIL("NL lock: %s", strerror(errno));
    for (int i = 0; i < increments; i++) {
        if (dlm_ls_lock_wait(ls, LKM_EXMODE, &lksb, LKF_CONVERT | LKF_VALBLK, NULL, 0, 0, NULL,
                             NULL, NULL) < 0)
            FAIL("NL -> EX: %s", strerror(errno));
        if (lksb.sb_flags & DLM_SBF_VALNOTVALID)
            FAIL("the LVB is marked invalid");
        put(lvb, get(lvb) + 1);
        if (dlm_ls_lock_wait(ls, LKM_NLMODE, &lksb, LKF_CONVERT | LKF_VALBLK, NULL, 0, 0, NULL,
                             NULL, NULL) < 0)
            FAIL("EX -> NL: %s", strerror(errno));
    }
    if (dlm_ls_unlock_wait(ls, lksb.sb_lkid, 0, &lksb) < 0 || lksb.sb_status != EUNLOCK)
        FAIL("unlock: %s", strerror(errno));
    dlm_close_lockspace(ls);
    return 0;
}

int main(int argc, char **argv)
{
    const char *lsname = example_lockspace(argc, argv);
    int workers = argc > 2 ? atoi(argv[2]) : 3;
    int increments = argc > 3 ? atoi(argv[3]) : 200;
    char lvb[DLM_LVB_LEN] = {0};
    struct dlm_lksb keep = {.sb_lvbptr = lvb}, reader = {.sb_lvbptr = lvb};
    pid_t pids[16];
    dlm_lshandle_t ls;
    uint64_t start;
    int go[2];

    example_name = "lvb_counter";
    if (workers < 1 || workers > 16 || increments < 1)
        FAIL("usage: lvb_counter [LOCKSPACE [WORKERS(1..16) [INCREMENTS]]]");
    if (pipe(go) < 0)
        FAIL("pipe: %s", strerror(errno));
    for (int i = 0; i < workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            FAIL("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            char c;
            close(go[1]);
            _exit(read(go[0], &c, 1) == 1 ? worker(lsname, increments) : 1);
        }
    }
    close(go[0]);
    ls = dlm_create_lockspace(lsname, 0600);
    if (!ls)
        FAIL("create lockspace %s: %s", lsname, strerror(errno));
    /* The parent's NL lock keeps the resource (and its LVB) alive between the workers. */
    if (dlm_ls_lock_wait(ls, LKM_NLMODE, &keep, LKF_VALBLK, resource, sizeof(resource) - 1, 0, NULL,
                         NULL, NULL) < 0)
        FAIL("NL lock: %s", strerror(errno));
    start = get(lvb); /* 0, or what an earlier run left */
    for (int i = 0; i < workers; i++)
        if (write(go[1], "g", 1) != 1)
            FAIL("pipe: %s", strerror(errno));
    for (int i = 0; i < workers; i++)
        if (wait_child(pids[i], 60000) != 0)
            FAIL("worker %d failed", i);
    if (dlm_ls_lock_wait(ls, LKM_PRMODE, &reader, LKF_VALBLK, resource, sizeof(resource) - 1, 0,
                         NULL, NULL, NULL) < 0)
        FAIL("PR lock: %s", strerror(errno));
    if (get(lvb) != start + (uint64_t)workers * (uint64_t)increments)
        FAIL("counter %llu, expected %llu", (unsigned long long)get(lvb),
             (unsigned long long)(start + (uint64_t)workers * (uint64_t)increments));
    printf("lvb_counter: %d workers x %d increments: counter %llu -> %llu, OK\n", workers,
           increments, (unsigned long long)start, (unsigned long long)get(lvb));
    dlm_ls_unlock_wait(ls, reader.sb_lkid, 0, &reader);
    dlm_ls_unlock_wait(ls, keep.sb_lkid, 0, &keep);
    dlm_release_lockspace(lsname, ls, 0);
    return 0;
}
