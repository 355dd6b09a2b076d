/*
 * docs/examples/libdlm/noqueue_trylock.c - try-locks with LKF_NOQUEUE. While another process
 * holds EX, a NOQUEUE request fails at once instead of waiting: dlm_ls_lock_wait returns -1
 * with errno EAGAIN, and dlm_ls_lock completes with sb_status EAGAIN. Once the holder lets go
 * the same try-lock succeeds. The ASTs run in the lockspace's AST thread (dlm_ls_pthread_init).
 *
 * usage: noqueue_trylock [LOCKSPACE]
 */
#include <libdlm.h>
#include <pthread.h>

#include "common.h"

static const char resource[] = "noqueue-trylock";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

static void ast(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    done = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static int holder_main(const char *lsname, int to_parent, int from_parent)
{
    struct dlm_lksb lksb = {0};
    dlm_lshandle_t ls = dlm_open_lockspace(lsname);
    char c;

    if (!ls || dlm_ls_lock_wait(ls, LKM_EXMODE, &lksb, 0, resource, sizeof(resource) - 1, 0, NULL,
                                NULL, NULL) < 0)
        FAIL("holder: EX: %s", strerror(errno));
    if (write(to_parent, "h", 1) != 1 || read(from_parent, &c, 1) != 1)
        FAIL("holder: pipe");
    if (dlm_ls_unlock_wait(ls, lksb.sb_lkid, 0, &lksb) < 0)
        FAIL("holder: unlock: %s", strerror(errno));
    if (write(to_parent, "u", 1) != 1)
        FAIL("holder: pipe");
    dlm_close_lockspace(ls);
    return 0;
}

int main(int argc, char **argv)
{
    const char *lsname = example_lockspace(argc, argv);
    struct dlm_lksb lksb = {0};
    struct timespec until;
    int up[2], down[2], rc = -1;
    dlm_lshandle_t ls;
    pid_t holder;
    char c;

    example_name = "noqueue_trylock";
    if (pipe(up) < 0 || pipe(down) < 0)
        FAIL("pipe: %s", strerror(errno));
    holder = fork();
    if (holder < 0)
        FAIL("fork: %s", strerror(errno));
    if (holder == 0)
        _exit(holder_main(lsname, up[1], down[0]));
    ls = dlm_open_lockspace(lsname);
    if (!ls || dlm_ls_pthread_init(ls) < 0)
        FAIL("open lockspace: %s", strerror(errno));
    if (read(up[0], &c, 1) != 1)
        FAIL("the holder died before taking EX");

    /* Synchronous try-lock: -1, EAGAIN. */
    if (dlm_ls_lock_wait(ls, LKM_PRMODE, &lksb, LKF_NOQUEUE, resource, sizeof(resource) - 1, 0,
                         NULL, NULL, NULL) != -1 ||
        errno != EAGAIN || lksb.sb_status != EAGAIN)
        FAIL("sync try-lock while held: expected -1/EAGAIN, got errno %d status %d", errno,
             lksb.sb_status);
    /* Asynchronous try-lock: accepted, then the AST says EAGAIN. */
    if (dlm_ls_lock(ls, LKM_EXMODE, &lksb, LKF_NOQUEUE, resource, sizeof(resource) - 1, 0, ast,
                    NULL, NULL, NULL) < 0)
        FAIL("async try-lock: %s", strerror(errno));
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (!done && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    pthread_mutex_unlock(&mu);
    if (!done || lksb.sb_status != EAGAIN)
        FAIL("async try-lock while held: expected an AST with EAGAIN, got %d", lksb.sb_status);

    /* The holder lets go: the same try-lock now succeeds. */
    if (write(down[1], "r", 1) != 1 || read(up[0], &c, 1) != 1)
        FAIL("pipe");
    for (int i = 0; i < 200 && rc < 0; i++) {
        memset(&lksb, 0, sizeof(lksb));
        rc = dlm_ls_lock_wait(ls, LKM_EXMODE, &lksb, LKF_NOQUEUE, resource, sizeof(resource) - 1, 0,
                              NULL, NULL, NULL);
        if (rc < 0 && errno != EAGAIN)
            FAIL("try-lock after release: %s", strerror(errno));
        if (rc < 0)
            sleep_ms(10);
    }
    if (rc < 0)
        FAIL("try-lock still fails after the holder released");
    if (dlm_ls_unlock_wait(ls, lksb.sb_lkid, 0, &lksb) < 0)
        FAIL("unlock: %s", strerror(errno));
    if (wait_child(holder, 10000) != 0)
        FAIL("the holder failed");
    printf("noqueue_trylock: EAGAIN while held (sync and async), granted after release, OK\n");
    dlm_close_lockspace(ls);
    return 0;
}
