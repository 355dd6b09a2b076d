/*
 * docs/examples/libdlm/orphan_adopt.c - persistent locks outliving their process. A worker
 * takes EX with LKF_PERSISTENT, records its progress in the LVB (the EX -> PW conversion
 * writes it) and dies holding PW: the lock becomes an orphan, still granted, still blocking
 * others. A successor adopts it (LKF_ORPHAN, same name and mode: 0; another mode: EAGAIN;
 * no orphan: ENOENT), reads the progress by converting to EX with LKF_VALBLK, and finishes.
 * A second orphan is removed with dlm_ls_purge(nodeid 0 = this node, the dead pid).
 *
 * Both workers are forked before the successor opens the lockspace (a child of a process with
 * threads should not do much before exec); the second one waits for a byte on a pipe.
 *
 * usage: orphan_adopt [LOCKSPACE]
 */
#include <libdlm.h>

#include "common.h"

static const char resource[] = "orphan-adopt";
static const char purged[] = "orphan-purged";
static const char progress[] = "step 3 of 5";

/* Take EX (persistent), write the progress, step down to PW, and die holding it. */
static int worker(const char *lsname, const char *name, size_t namelen)
{
    char lvb[DLM_LVB_LEN] = {0};
    struct dlm_lksb lksb = {.sb_lvbptr = lvb};
    dlm_lshandle_t ls = dlm_open_lockspace(lsname);

    if (!ls || dlm_ls_lock_wait(ls, LKM_EXMODE, &lksb, LKF_PERSISTENT | LKF_VALBLK, name,
                                (unsigned int)namelen, 0, NULL, NULL, NULL) < 0)
        FAIL("worker: EX: %s", strerror(errno));
    strcpy(lvb, progress);
    if (dlm_ls_lock_wait(ls, LKM_PWMODE, &lksb, LKF_CONVERT | LKF_PERSISTENT | LKF_VALBLK, NULL, 0,
                         0, NULL, NULL, NULL) < 0)
        FAIL("worker: EX -> PW: %s", strerror(errno));
    _exit(0); /* no unlock: the lock is left behind as an orphan */
}

/* Fork a worker for name; it starts when a byte arrives on fd go (-1: at once). */
static pid_t fork_worker(const char *lsname, const char *name, size_t namelen, int go)
{
    pid_t pid = fork();
    char c;

    if (pid < 0)
        FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        if (go >= 0 && read(go, &c, 1) != 1)
            _exit(1);
        worker(lsname, name, namelen);
    }
    return pid;
}

int main(int argc, char **argv)
{
    const char *lsname = example_lockspace(argc, argv);
    char lvb[DLM_LVB_LEN] = {0};
    struct dlm_lksb lksb = {.sb_lvbptr = lvb}, probe = {0};
    dlm_lshandle_t ls;
    pid_t first, dead;
    int rc = -1, go[2];

    example_name = "orphan_adopt";
    if (pipe(go) < 0)
        FAIL("pipe: %s", strerror(errno));
    first = fork_worker(lsname, resource, sizeof(resource) - 1, -1);
    dead = fork_worker(lsname, purged, sizeof(purged) - 1, go[0]);
    close(go[0]);
    if (wait_child(first, 30000) != 0)
        FAIL("the first worker failed");
    ls = dlm_open_lockspace(lsname);
    if (!ls)
        FAIL("open lockspace: %s", strerror(errno));

    /* The orphan still holds PW: an EX try-lock fails. */
    if (dlm_ls_lock_wait(ls, LKM_EXMODE, &probe, LKF_NOQUEUE, resource, sizeof(resource) - 1, 0,
                         NULL, NULL, NULL) != -1 ||
        errno != EAGAIN)
        FAIL("try-lock on the orphan's resource: expected EAGAIN");
    /* No orphan of that name: ENOENT. */
    if (dlm_ls_lock_wait(ls, LKM_PWMODE, &lksb, LKF_ORPHAN, "no-such-orphan", 14, 0, NULL, NULL,
                         NULL) != -1 ||
        errno != ENOENT)
        FAIL("adopting a missing orphan: expected ENOENT, got %s", strerror(errno));
    /* The master learns of the death when the worker's connection closes: retry a while. */
    for (int i = 0; i < 500 && rc < 0; i++) {
        rc = dlm_ls_lock_wait(ls, LKM_EXMODE, &lksb, LKF_ORPHAN | LKF_PERSISTENT, resource,
                              sizeof(resource) - 1, 0, NULL, NULL, NULL);
        if (rc < 0 && errno == ENOENT)
            sleep_ms(10);
        else if (rc == 0 || errno != EAGAIN)
            FAIL("adopting in the wrong mode: expected EAGAIN, got %d/%s", rc, strerror(errno));
    }
    if (rc == 0 || errno != EAGAIN)
        FAIL("the orphan never appeared");
    /* The right mode: adopted at once, no AST. */
    if (dlm_ls_lock_wait(ls, LKM_PWMODE, &lksb, LKF_ORPHAN | LKF_PERSISTENT, resource,
                         sizeof(resource) - 1, 0, NULL, NULL, NULL) < 0)
        FAIL("adopt: %s", strerror(errno));
    if (dlm_ls_lock_wait(ls, LKM_EXMODE, &lksb, LKF_CONVERT | LKF_VALBLK, NULL, 0, 0, NULL, NULL,
                         NULL) < 0)
        FAIL("PW -> EX: %s", strerror(errno));
    if (strcmp(lvb, progress) != 0 || (lksb.sb_flags & DLM_SBF_VALNOTVALID))
        FAIL("progress \"%.32s\" (flags %d), expected \"%s\"", lvb, lksb.sb_flags, progress);
    if (dlm_ls_unlock_wait(ls, lksb.sb_lkid, 0, &lksb) < 0)
        FAIL("unlock: %s", strerror(errno));

    /* A second orphan, removed by purging its dead owner's orphans. */
    if (write(go[1], "g", 1) != 1 || wait_child(dead, 30000) != 0)
        FAIL("the second worker failed");
    rc = -1;
    for (int i = 0; i < 500 && rc < 0; i++) {
        if (dlm_ls_purge(ls, 0, (int)dead) < 0)
            FAIL("purge: %s", strerror(errno));
        memset(&probe, 0, sizeof(probe));
        rc = dlm_ls_lock_wait(ls, LKM_EXMODE, &probe, LKF_NOQUEUE, purged, sizeof(purged) - 1, 0,
                              NULL, NULL, NULL);
        if (rc < 0 && errno != EAGAIN)
            FAIL("try-lock after purge: %s", strerror(errno));
        if (rc < 0)
            sleep_ms(10);
    }
    if (rc < 0)
        FAIL("the purged orphan still holds its lock");
    dlm_ls_unlock_wait(ls, probe.sb_lkid, 0, &probe);
    printf("orphan_adopt: adopted the orphan (\"%s\"), purged another, OK\n", lvb);
    dlm_close_lockspace(ls);
    return 0;
}
