/*
 * tests/libdlm/test_libdlm.c - the libdlm front end (include/rdlm/libdlm.h) against a real
 * 1-node cluster (two rdlmd shards on 127.0.0.1, started with rdlmctl in a temporary
 * directory and stopped at the end): every call, every status a completion leaves in
 * sb_status and every errno a call returns, the argument rules of spec B.7 (a refused call
 * changes nothing: no lock, no AST, the lksb untouched), and the observed Linux behaviour of
 * spec D (LVB copy on unlock, untouched buffer, invalidation by a dying holder, positive
 * statuses, EEXIST from a second pthread_init, handles not shared across fork).
 *
 * Two handles of one process are two owners, so one process can make every conflict. Every
 * wait is bounded (WAIT_MS); the cluster is always stopped (a group teardown, and an atexit
 * handler for the abort paths).
 */
#include <errno.h>
#include <libdlm.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rdlm.h"

#define WAIT_MS 5000

static char g_dir[256];
static char g_ctl[512];

static void stop_cluster(void)
{
    char cmd[2048];

    if (!g_dir[0])
        return;
    snprintf(cmd, sizeof(cmd), "%s down --dir %s >/dev/null 2>&1; rm -rf %s", g_ctl, g_dir, g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_libdlm: cluster stop failed\n");
    g_dir[0] = 0;
}

static int start_cluster(void **state)
{
    char cmd[1024], cfg[300];
    const char *build = getenv("RDLM_BUILD") ? getenv("RDLM_BUILD") : "build";

    (void)state;
    snprintf(g_ctl, sizeof(g_ctl), "%s/master/rdlmctl", build);
    snprintf(g_dir, sizeof(g_dir), "/tmp/rdlm-libdlm-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    atexit(stop_cluster);
    snprintf(cmd, sizeof(cmd), "%s up 1 --shards 2 --dir %s >/dev/null", g_ctl, g_dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cfg, sizeof(cfg), "%s/cluster.ini", g_dir);
    setenv("RDLM_CONFIG", cfg, 1);
    return 0;
}

static int stop_cluster_group(void **state)
{
    (void)state;
    stop_cluster();
    return 0;
}

/* ---- helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* A lockspace handle whose ASTs run in its own thread. */
static dlm_lshandle_t open_threaded(const char *name)
{
    dlm_lshandle_t ls = dlm_open_lockspace(name);

    if (!ls)
        fprintf(stderr, "open %s: %s\n", name, strerror(errno));
    assert_non_null(ls);
    assert_int_equal(dlm_ls_pthread_init(ls), 0);
    return ls;
}

struct cb {
    struct dlm_lksb *lksb; /* read at AST time */
    volatile int asts;
    volatile int basts;
    volatile int status; /* sb_status when the last AST ran */
    volatile int flags;  /* sb_flags then */
    pthread_t thread;    /* where it ran */
};

static void on_ast(void *arg)
{
    struct cb *c = arg;

    if (!c)
        return;
    c->status = c->lksb ? c->lksb->sb_status : -1;
    c->flags = c->lksb ? c->lksb->sb_flags : 0;
    c->thread = pthread_self();
    __atomic_add_fetch(&c->asts, 1, __ATOMIC_SEQ_CST);
}

static void on_bast(void *arg)
{
    struct cb *c = arg;

    if (c)
        __atomic_add_fetch(&c->basts, 1, __ATOMIC_SEQ_CST);
}

static bool wait_for(volatile int *counter, int want)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= want)
            return true;
        sleep_ms(1);
    }
    return false;
}

/* fd-driven delivery: poll the lockspace fd and dispatch until *counter reaches want. */
static bool dispatch_for(int fd, volatile int *counter, int want)
{
    struct pollfd p = {fd, POLLIN, 0};

    for (int i = 0; i < WAIT_MS / 5; i++) {
        if (*counter >= want)
            return true;
        if (poll(&p, 1, 5) > 0)
            assert_int_equal(dlm_dispatch(fd), 0);
    }
    return *counter >= want;
}

static int lock_wait(dlm_lshandle_t ls, uint32_t mode, struct dlm_lksb *sb, uint32_t flags,
                     const char *name)
{
    return dlm_ls_lock_wait(ls, mode, sb, flags, name, name ? (unsigned int)strlen(name) : 0, 0,
                            NULL, NULL, NULL);
}

static int lock_async(dlm_lshandle_t ls, uint32_t mode, struct dlm_lksb *sb, uint32_t flags,
                      const char *name, struct cb *c)
{
    c->lksb = sb;
    return dlm_ls_lock(ls, mode, sb, flags, name, name ? (unsigned int)strlen(name) : 0, 0, on_ast,
                       c, on_bast, NULL);
}

/* -1 and errno err, nothing else. */
#define assert_fails(call, err)                                                                    \
    do {                                                                                           \
        errno = 0;                                                                                 \
        assert_int_equal((call), -1);                                                              \
        assert_int_equal(errno, (err));                                                            \
    } while (0)

static void unlock_ok(dlm_lshandle_t ls, struct dlm_lksb *sb)
{
    assert_int_equal(dlm_ls_unlock_wait(ls, sb->sb_lkid, 0, sb), 0);
    assert_int_equal(sb->sb_status, EUNLOCK);
}

/* EX on name is free (nobody holds anything on it): a NOQUEUE EX is granted. */
static void assert_free(dlm_lshandle_t ls, const char *name)
{
    struct dlm_lksb sb = {0};

    assert_int_equal(lock_wait(ls, LKM_EXMODE, &sb, LKF_NOQUEUE, name), 0);
    unlock_ok(ls, &sb);
}

/* ---- the header ---- */

static void libdlm_constants_match(void **state)
{
    (void)state;
    assert_int_equal(LKM_NLMODE, RDLM_MODE_NL);
    assert_int_equal(LKM_CRMODE, RDLM_MODE_CR);
    assert_int_equal(LKM_CWMODE, RDLM_MODE_CW);
    assert_int_equal(LKM_PRMODE, RDLM_MODE_PR);
    assert_int_equal(LKM_PWMODE, RDLM_MODE_PW);
    assert_int_equal(LKM_EXMODE, RDLM_MODE_EX);
    assert_int_equal(LKF_NOQUEUE, 0x1);
    assert_int_equal(LKF_CANCEL, 0x2);
    assert_int_equal(LKF_CONVERT, 0x4);
    assert_int_equal(LKF_VALBLK, 0x8);
    assert_int_equal(LKF_QUECVT, 0x10);
    assert_int_equal(LKF_IVVALBLK, 0x20);
    assert_int_equal(LKF_CONVDEADLK, 0x40);
    assert_int_equal(LKF_PERSISTENT, 0x80);
    assert_int_equal(LKF_NODLCKWT, 0x100);
    assert_int_equal(LKF_NODLCKBLK, 0x200);
    assert_int_equal(LKF_EXPEDITE, 0x400);
    assert_int_equal(LKF_NOQUEUEBAST, 0x800);
    assert_int_equal(LKF_HEADQUE, 0x1000);
    assert_int_equal(LKF_NOORDER, 0x2000);
    assert_int_equal(LKF_ORPHAN, 0x4000);
    assert_int_equal(LKF_ALTPR, 0x8000);
    assert_int_equal(LKF_ALTCW, 0x10000);
    assert_int_equal(LKF_FORCEUNLOCK, 0x20000);
    assert_int_equal(LKF_TIMEOUT, 0x40000);
    assert_int_equal(LKF_WAIT, 0x80000000u);
    assert_int_equal(LKF_ALTCW, RDLM_LKF_ALTCW); /* the native values are Linux's */
    assert_int_equal(LKF_TIMEOUT, RDLM_LKF_TIMEOUT);
    assert_int_equal(DLM_SBF_DEMOTED, 0x01);
    assert_int_equal(DLM_SBF_VALNOTVALID, 0x02);
    assert_int_equal(DLM_SBF_ALTMODE, 0x04);
    assert_int_equal(DLM_SBF_ALTMODE, RDLM_SBF_ALTMODE);
    assert_int_equal(DLM_LSFL_NODIR, 0x1);
    assert_int_equal(DLM_LSFL_TIMEWARN, 0x2);
    assert_int_equal(DLM_LSFL_FS, 0x4);
    assert_int_equal(DLM_LSFL_NEWEXCL, 0x8);
    assert_int_equal(DLM_LSFL_SOFTIRQ, 0x10);
    assert_int_equal(ECANCEL, 0x10001);
    assert_int_equal(EUNLOCK, 0x10002);
    assert_int_equal(EINPROG, 0x10003);
    assert_int_equal(DLM_LVB_LEN, RDLM_LVB_LEN);
    assert_int_equal(DLM_RESNAME_MAXLEN, RDLM_RESNAME_MAXLEN);
    assert_int_equal(DLM_LOCKSPACE_LEN, RDLM_LOCKSPACE_MAXLEN);
    /* struct dlm_lksb: the kernel ABI layout */
    assert_int_equal(offsetof(struct dlm_lksb, sb_status), 0);
    assert_int_equal(offsetof(struct dlm_lksb, sb_lkid), 4);
    assert_int_equal(offsetof(struct dlm_lksb, sb_flags), 8);
    assert_int_equal(offsetof(struct dlm_lksb, sb_lvbptr), sizeof(void *) == 8 ? 16 : 12);
}

static void libdlm_versions(void **state)
{
    uint32_t a = 0, b = 9, c = 9;

    (void)state;
    assert_int_equal(dlm_kernel_version(&a, &b, &c), 0);
    assert_int_equal(a, 6); /* the v6 device interface: lockx, purge, deadlock cancel */
    assert_int_equal(b, 0);
    assert_int_equal(c, 2);
    a = b = c = 0;
    dlm_library_version(&a, &b, &c);
    assert_int_equal(a, 6);
    assert_fails(dlm_kernel_version(NULL, &b, &c), EINVAL);
}

/* ---- the default lockspace (first: nothing has opened it yet) ---- */

static void libdlm_default_lockspace(void **state)
{
    struct dlm_lksb sb = {0}, other_sb = {0};
    struct cb c = {0};
    dlm_lshandle_t other;
    int id = 0, id2 = 0, fd;

    (void)state;
    /* nothing open yet: the unlock calls have no lockspace */
    assert_fails(dlm_unlock(1, 0, &sb, NULL), ENOTCONN);
    assert_fails(dlm_unlock_wait(1, 0, &sb), ENOTCONN);
    assert_fails(unlock_resource(1), ENOTCONN);
    assert_int_equal(dlm_pthread_cleanup(), 0);

    /* dlm_get_fd opens it; ASTs wait for dlm_dispatch */
    fd = dlm_get_fd();
    assert_true(fd >= 0);
    assert_int_equal(dlm_get_fd(), fd);
    c.lksb = &sb;
    assert_int_equal(dlm_lock(LKM_EXMODE, &sb, 0, "dflt", 4, 0, on_ast, &c, NULL, NULL), 0);
    assert_true(sb.sb_lkid != 0);
    sleep_ms(30);
    assert_int_equal(c.asts, 0); /* not dispatched yet */
    assert_int_equal(sb.sb_status, EINPROG);
    assert_true(dispatch_for(fd, &c.asts, 1));
    assert_int_equal(c.status, 0);
    assert_int_equal(dlm_unlock(sb.sb_lkid, 0, &sb, &c), 0);
    assert_true(dispatch_for(fd, &c.asts, 2));
    assert_int_equal(c.status, EUNLOCK);
    assert_fails(dlm_unlock(sb.sb_lkid, 0, &sb, &c), ENOENT);

    /* the synchronous calls */
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(dlm_lock_wait(LKM_PRMODE, &sb, 0, "dflt", 4, 0, NULL, NULL, NULL), 0);
    assert_int_equal(sb.sb_status, 0);
    other = dlm_open_lockspace("default"); /* another owner in the same lockspace */
    assert_non_null(other);
    assert_fails(lock_wait(other, LKM_EXMODE, &other_sb, LKF_NOQUEUE, "dflt"), EAGAIN);
    memset(&other_sb, 0, sizeof(other_sb));
    assert_int_equal(lock_wait(other, LKM_CRMODE, &other_sb, 0, "dflt"), 0);
    assert_fails(
        dlm_lock_wait(LKM_EXMODE, &sb, LKF_CONVERT | LKF_NOQUEUE, NULL, 0, 0, NULL, NULL, NULL),
        EAGAIN);
    assert_int_equal(sb.sb_status, EAGAIN);
    unlock_ok(other, &other_sb);
    assert_int_equal(dlm_unlock_wait(sb.sb_lkid, 0, &sb), 0);
    assert_int_equal(sb.sb_status, EUNLOCK);
    assert_fails(dlm_lock_wait(LKM_EXMODE, NULL, 0, "dflt", 4, 0, NULL, NULL, NULL), EINVAL);
    assert_fails(dlm_lock(LKM_EXMODE, &sb, 0, "dflt", 4, 0, on_ast, &c, NULL, &c), ENOSYS);

    /* the simplified API */
    assert_int_equal(lock_resource("simple", LKM_EXMODE, 0, &id), 0);
    assert_true(id > 0);
    memset(&other_sb, 0, sizeof(other_sb));
    assert_fails(lock_wait(other, LKM_CRMODE, &other_sb, LKF_NOQUEUE, "simple"), EAGAIN);
    id2 = id;
    assert_int_equal(lock_resource("simple", LKM_NLMODE, LKF_CONVERT, &id2), 0);
    assert_int_equal(id2, id);
    assert_int_equal(lock_wait(other, LKM_EXMODE, &other_sb, LKF_NOQUEUE, "simple"), 0);
    assert_fails(lock_resource("simple", LKM_EXMODE, LKF_CONVERT | LKF_NOQUEUE, &id2), EAGAIN);
    assert_fails(lock_resource("simple", LKM_EXMODE, LKF_NOQUEUE, &id2), EAGAIN);
    unlock_ok(other, &other_sb);
    assert_fails(lock_resource("simple", LKM_EXMODE, 0, NULL), EINVAL);
    assert_fails(lock_resource(NULL, LKM_EXMODE, 0, &id2), EINVAL);
    assert_fails(lock_resource("simple", 7, 0, &id2), EINVAL);
    id2 = 0x7ffffff2;
    assert_fails(lock_resource("simple", LKM_NLMODE, LKF_CONVERT, &id2), ENOENT);
    assert_int_equal(unlock_resource(id), 0);
    assert_fails(unlock_resource(id), ENOENT);
    assert_fails(unlock_resource(0), EINVAL);

    /* the AST thread of the default lockspace */
    assert_int_equal(dlm_pthread_init(), 0);
    assert_fails(dlm_pthread_init(), EEXIST); /* D.5 */
    memset(&sb, 0, sizeof(sb));
    memset(&c, 0, sizeof(c));
    c.lksb = &sb;
    assert_int_equal(dlm_lock(LKM_EXMODE, &sb, 0, "dflt", 4, 0, on_ast, &c, NULL, NULL), 0);
    assert_true(wait_for(&c.asts, 1)); /* no dispatch needed now */
    assert_false(pthread_equal(c.thread, pthread_self()));
    /* cleanup stops the thread and closes the default lockspace (releasing its locks) */
    assert_int_equal(dlm_pthread_cleanup(), 0);
    assert_fails(dlm_unlock(sb.sb_lkid, 0, &sb, NULL), ENOTCONN);
    memset(&other_sb, 0, sizeof(other_sb));
    assert_int_equal(lock_wait(other, LKM_EXMODE, &other_sb, LKF_NOQUEUE, "dflt"), 0);
    unlock_ok(other, &other_sb);
    assert_int_equal(dlm_close_lockspace(other), 0);
    /* lock_resource opens it again, with an AST thread, as libdlm's does */
    assert_int_equal(lock_resource("simple", LKM_PRMODE, 0, &id), 0);
    assert_fails(dlm_pthread_init(), EEXIST);
    assert_int_equal(unlock_resource(id), 0);
    assert_int_equal(dlm_pthread_cleanup(), 0);
}

/* ---- lockspaces ---- */

static void libdlm_lockspaces(void **state)
{
    char longname[DLM_LOCKSPACE_LEN + 2];
    struct dlm_lksb sb = {0};
    struct cb c = {0};
    dlm_lshandle_t a, b, x;
    const char *cfg = getenv("RDLM_CONFIG");
    char saved[300];

    (void)state;
    memset(longname, 'n', sizeof(longname));
    longname[DLM_LOCKSPACE_LEN + 1] = 0;
    errno = 0;
    assert_null(dlm_create_lockspace(longname, 0600));
    assert_int_equal(errno, EINVAL);
    longname[DLM_LOCKSPACE_LEN] = 0; /* 64 characters: fine */
    x = dlm_create_lockspace(longname, 0600);
    assert_non_null(x);
    assert_int_equal(dlm_close_lockspace(x), 0);
    errno = 0;
    assert_null(dlm_create_lockspace("", 0600));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(dlm_open_lockspace(NULL));
    assert_int_equal(errno, EINVAL);

    a = dlm_create_lockspace("t-ls", 0600);
    assert_non_null(a);
    errno = 0;
    assert_null(dlm_new_lockspace("t-ls", 0600, DLM_LSFL_NEWEXCL));
    assert_int_equal(errno, EEXIST);
    x = dlm_new_lockspace("t-ls2", 0600, DLM_LSFL_NEWEXCL | DLM_LSFL_TIMEWARN);
    assert_non_null(x);
    b = dlm_open_lockspace("t-ls");
    assert_non_null(b);
    assert_true(dlm_ls_get_fd(a) >= 0);
    assert_true(dlm_ls_get_fd(b) >= 0);
    assert_int_not_equal(dlm_ls_get_fd(a), dlm_ls_get_fd(b));

    /* a handle's locks go with it */
    assert_int_equal(lock_wait(b, LKM_EXMODE, &sb, 0, "held"), 0);
    assert_int_equal(dlm_close_lockspace(b), 0);
    assert_free(a, "held");

    /* a closed (or never opened) handle: ENOTCONN everywhere */
    assert_fails(dlm_close_lockspace(b), ENOTCONN);
    assert_fails(dlm_close_lockspace(NULL), ENOTCONN);
    assert_fails(dlm_ls_get_fd(b), ENOTCONN);
    assert_fails(dlm_ls_pthread_init(b), ENOTCONN);
    assert_fails(dlm_ls_pthread_init(NULL), ENOTCONN);
    c.lksb = &sb;
    assert_fails(dlm_ls_lock(b, LKM_EXMODE, &sb, 0, "x", 1, 0, on_ast, &c, NULL, NULL), ENOTCONN);
    assert_fails(dlm_ls_lock(NULL, LKM_EXMODE, &sb, 0, "x", 1, 0, on_ast, &c, NULL, NULL),
                 ENOTCONN);
    assert_fails(lock_wait(NULL, LKM_EXMODE, &sb, 0, "x"), ENOTCONN);
    assert_fails(dlm_ls_lockx(NULL, LKM_EXMODE, &sb, 0, "x", 1, 0, on_ast, &c, NULL, NULL, NULL),
                 ENOTCONN);
    assert_fails(dlm_ls_unlock(b, 1, 0, &sb, NULL), ENOTCONN);
    assert_fails(dlm_ls_unlock_wait(NULL, 1, 0, &sb), ENOTCONN);
    assert_fails(dlm_ls_deadlock_cancel(NULL, 1, 0), ENOTCONN);
    assert_fails(dlm_ls_purge(NULL, 0, 0), ENOTCONN);
    assert_fails(dlm_ls_purge(b, 0, 0), ENOTCONN);
    assert_fails(dlm_release_lockspace("t-ls", b, 0), ENOTCONN);
    assert_int_equal(c.asts, 0);

    assert_int_equal(dlm_release_lockspace("t-ls2", x, 1), 0);
    assert_int_equal(dlm_release_lockspace("t-ls", a, 0), 0);

    /* no cluster to reach */
    snprintf(saved, sizeof(saved), "%s", cfg);
    setenv("RDLM_CONFIG", "/nonexistent/cluster.ini", 1);
    errno = 0;
    assert_null(dlm_open_lockspace("t-ls"));
    assert_int_equal(errno, ENOTCONN);
    setenv("RDLM_CONFIG", saved, 1);
}

/* ---- argument validation (spec B.7) ---- */

static void libdlm_request_validation(void **state)
{
    dlm_lshandle_t ls = open_threaded("t-valid");
    char lvb[DLM_LVB_LEN] = "untouched";
    char longname[DLM_RESNAME_MAXLEN + 1];
    struct dlm_lksb sb = {.sb_status = 1234}, held = {0};
    struct cb c = {.lksb = &sb};
    uint64_t t = 10;
    int r = 0;

    (void)state;
    memset(longname, 'r', sizeof(longname));
#define REJECT(err, mode, flags, name, len, ast)                                                   \
    do {                                                                                           \
        assert_fails(                                                                              \
            dlm_ls_lock(ls, (mode), &sb, (flags), (name), (len), 0, (ast), &c, on_bast, NULL),     \
            (err));                                                                                \
        assert_int_equal(sb.sb_status, 1234);                                                      \
    } while (0)
    REJECT(EINVAL, 6, 0, "v", 1, on_ast);
    REJECT(EINVAL, (uint32_t)-1, 0, "v", 1, on_ast);
    REJECT(EINVAL, LKM_EXMODE, LKF_CANCEL, "v", 1, on_ast);
    REJECT(EINVAL, LKM_EXMODE, LKF_QUECVT, "v", 1, on_ast);
    REJECT(EINVAL, LKM_EXMODE, LKF_CONVDEADLK, "v", 1, on_ast);
    REJECT(EINVAL, LKM_NLMODE, LKF_EXPEDITE | LKF_NOQUEUE, "v", 1, on_ast);
    REJECT(EINVAL, LKM_PRMODE, LKF_EXPEDITE, "v", 1, on_ast);
    REJECT(EINVAL, LKM_EXMODE, 0, "v", 1, NULL); /* asynchronous without an AST */
    REJECT(EINVAL, LKM_EXMODE, LKF_VALBLK, "v", 1, on_ast);
    REJECT(EINVAL, LKM_EXMODE, 0, longname, sizeof(longname), on_ast);
    REJECT(EINVAL, LKM_EXMODE, 0, "v", 0, on_ast);
    REJECT(EINVAL, LKM_EXMODE, 0, NULL, 1, on_ast);
    REJECT(EINVAL, LKM_EXMODE, LKF_CONVERT, NULL, 0, on_ast); /* sb_lkid 0 */
    sb.sb_lkid = 1;
    REJECT(EINVAL, LKM_EXMODE, LKF_CONVERT | LKF_CONVDEADLK | LKF_NOQUEUE, NULL, 0, on_ast);
    REJECT(EINVAL, LKM_NLMODE, LKF_CONVERT | LKF_EXPEDITE, NULL, 0, on_ast);
    REJECT(EINVAL, LKM_NLMODE, LKF_CONVERT | LKF_QUECVT | LKF_EXPEDITE, NULL, 0, on_ast);
    REJECT(ENOENT, LKM_EXMODE, LKF_CONVERT, NULL, 0, on_ast); /* no lock 1 */
    sb.sb_lkid = 0;
    assert_fails(dlm_ls_lock(ls, LKM_EXMODE, NULL, 0, "v", 1, 0, on_ast, &c, NULL, NULL), EINVAL);
    assert_fails(dlm_ls_lock(ls, LKM_EXMODE, &sb, 0, "v", 1, 0, on_ast, &c, NULL, &r), ENOSYS);
    /* the other request calls check the same rules */
    assert_fails(lock_wait(ls, LKM_EXMODE, &sb, LKF_VALBLK, "v"), EINVAL);
    assert_fails(lock_wait(ls, 6, &sb, 0, "v"), EINVAL);
    assert_fails(dlm_ls_lock_wait(ls, LKM_EXMODE, &sb, 0, "v", 1, 0, NULL, NULL, &r), ENOSYS);
    assert_fails(
        dlm_ls_lockx(ls, LKM_EXMODE, &sb, LKF_QUECVT, "v", 1, 0, on_ast, &c, NULL, NULL, &t),
        EINVAL);
    assert_fails(dlm_lock(LKM_EXMODE, &sb, LKF_CANCEL, "v", 1, 0, on_ast, &c, NULL, NULL), EINVAL);
    assert_int_equal(sb.sb_status, 1234);

    /* QUECVT: only the conversions of the VMS table */
    assert_int_equal(lock_wait(ls, LKM_PRMODE, &held, 0, "v"), 0);
    assert_fails(lock_wait(ls, LKM_PRMODE, &held, LKF_CONVERT | LKF_QUECVT, NULL), EINVAL);
    assert_fails(lock_wait(ls, LKM_NLMODE, &held, LKF_CONVERT | LKF_QUECVT, NULL), EINVAL);
    assert_int_equal(lock_wait(ls, LKM_EXMODE, &held, LKF_CONVERT | LKF_QUECVT, NULL), 0);
    assert_fails(lock_wait(ls, LKM_PWMODE, &held, LKF_CONVERT | LKF_QUECVT, NULL), EINVAL);
    unlock_ok(ls, &held);

    /* nothing happened: no AST, no lock, the LVB buffer as it was */
    sleep_ms(20);
    assert_int_equal(c.asts, 0);
    assert_string_equal(lvb, "untouched");
    assert_free(ls, "v");
    /* EXPEDITE as allowed: a new NL request */
    memset(&held, 0, sizeof(held));
    assert_int_equal(lock_wait(ls, LKM_NLMODE, &held, LKF_EXPEDITE, "v"), 0);
    unlock_ok(ls, &held);
    /* flags Linux ignores on a request are ignored */
    memset(&held, 0, sizeof(held));
    assert_int_equal(lock_wait(ls, LKM_EXMODE, &held, LKF_FORCEUNLOCK | 0x00100000, "v"), 0);
    assert_int_equal(lock_wait(ls, LKM_NLMODE, &held, LKF_CONVERT | LKF_ORPHAN, NULL), 0);
    unlock_ok(ls, &held);
#undef REJECT
    dlm_close_lockspace(ls);
}

static void libdlm_unlock_validation(void **state)
{
    dlm_lshandle_t ls = open_threaded("t-uvalid"), other = open_threaded("t-uvalid");
    struct dlm_lksb sb = {0}, theirs = {0};

    (void)state;
    assert_int_equal(lock_wait(ls, LKM_EXMODE, &sb, 0, "u"), 0);
    assert_fails(dlm_ls_unlock(ls, 0, 0, &sb, NULL), EINVAL);
    assert_fails(dlm_ls_unlock(ls, sb.sb_lkid, LKF_CONVERT, &sb, NULL), EINVAL);
    assert_fails(dlm_ls_unlock(ls, sb.sb_lkid, LKF_NOQUEUE, &sb, NULL), EINVAL);
    assert_fails(dlm_ls_unlock(ls, sb.sb_lkid, LKF_CANCEL | LKF_FORCEUNLOCK, &sb, NULL), EINVAL);
    assert_fails(dlm_ls_unlock_wait(ls, sb.sb_lkid, LKF_PERSISTENT, &sb), EINVAL);
    assert_fails(dlm_ls_unlock(ls, 0x7fffffff, 0, &sb, NULL), ENOENT);
    /* another handle's lock is not ours to unlock */
    assert_int_equal(lock_wait(other, LKM_NLMODE, &theirs, 0, "u"), 0);
    assert_fails(dlm_ls_unlock(ls, theirs.sb_lkid, 0, &theirs, NULL), ENOENT);
    unlock_ok(other, &theirs);
    assert_int_equal(sb.sb_status, 0); /* untouched by the refusals */
    unlock_ok(ls, &sb);
    assert_fails(dlm_ls_unlock_wait(ls, sb.sb_lkid, 0, &sb), ENOENT); /* it ended */
    assert_fails(dlm_ls_unlock(ls, sb.sb_lkid, LKF_CANCEL, &sb, NULL), ENOENT);
    dlm_close_lockspace(other);
    dlm_close_lockspace(ls);
}

/* ---- delivery ---- */

static void libdlm_fd_dispatch(void **state)
{
    dlm_lshandle_t ls = dlm_open_lockspace("t-fd");
    struct dlm_lksb sb = {0};
    struct cb c = {0};
    int fd = dlm_ls_get_fd(ls);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(lock_async(ls, LKM_EXMODE, &sb, 0, "fd", &c), 0);
    assert_true(sb.sb_lkid != 0);
    sleep_ms(30);
    assert_int_equal(c.asts, 0); /* ASTs wait for dlm_dispatch */
    assert_int_equal(sb.sb_status, EINPROG);
    assert_true(dispatch_for(fd, &c.asts, 1));
    assert_int_equal(c.status, 0);
    assert_true(pthread_equal(c.thread, pthread_self()));
    assert_int_equal(dlm_dispatch(fd), 0); /* nothing pending: fine */
    assert_int_equal(dlm_ls_unlock(ls, sb.sb_lkid, 0, &sb, NULL), 0);
    assert_true(dispatch_for(fd, &c.asts, 2));
    assert_int_equal(c.status, EUNLOCK);
    assert_fails(dlm_dispatch(-1), EBADF);
    assert_fails(dlm_dispatch(0), EBADF);
    dlm_close_lockspace(ls);
    assert_fails(dlm_dispatch(fd), EBADF);
}

static void libdlm_ast_thread(void **state)
{
    dlm_lshandle_t ls = dlm_open_lockspace("t-thread");
    struct dlm_lksb sb = {0};
    struct cb c = {0};

    (void)state;
    assert_int_equal(dlm_ls_pthread_init(ls), 0);
    assert_fails(dlm_ls_pthread_init(ls), EEXIST); /* D.5 */
    assert_int_equal(lock_async(ls, LKM_EXMODE, &sb, 0, "thr", &c), 0);
    assert_true(wait_for(&c.asts, 1));
    assert_int_equal(c.status, 0);
    assert_false(pthread_equal(c.thread, pthread_self()));
    assert_int_equal(dlm_ls_unlock(ls, sb.sb_lkid, 0, &sb, NULL), 0);
    assert_true(wait_for(&c.asts, 2));
    assert_int_equal(c.status, EUNLOCK);
    assert_int_equal(dlm_close_lockspace(ls), 0); /* stops the thread */
}

/* Closing a lockspace from one of its own ASTs (in its AST thread). */
static dlm_lshandle_t g_close_me;
static volatile int g_closed = -2;

static void close_from_ast(void *arg)
{
    (void)arg;
    g_closed = dlm_close_lockspace(g_close_me);
}

static void libdlm_close_from_ast(void **state)
{
    struct dlm_lksb sb = {0};

    (void)state;
    g_close_me = open_threaded("t-closeast");
    assert_int_equal(
        dlm_ls_lock(g_close_me, LKM_EXMODE, &sb, 0, "c", 1, 0, close_from_ast, NULL, NULL, NULL),
        0);
    assert_true(wait_for(&g_closed, 0));
    assert_int_equal(g_closed, 0);
    assert_fails(dlm_ls_get_fd(g_close_me), ENOTCONN);
}

/* ---- requests ---- */

static void libdlm_wait_calls(void **state)
{
    dlm_lshandle_t a = open_threaded("t-wait"), b = open_threaded("t-wait");
    struct dlm_lksb sa = {0}, sb = {0};
    struct cb c = {.lksb = &sb};

    (void)state;
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, 0, "w"), 0);
    assert_int_equal(sa.sb_status, 0);
    assert_true(sa.sb_lkid != 0);
    assert_fails(lock_wait(b, LKM_PRMODE, &sb, LKF_NOQUEUE, "w"), EAGAIN);
    assert_int_equal(sb.sb_status, EAGAIN);
    /* LKF_WAIT makes dlm_ls_lock synchronous: no AST */
    memset(&sb, 0, sizeof(sb));
    assert_fails(
        dlm_ls_lock(b, LKM_PRMODE, &sb, LKF_NOQUEUE | LKF_WAIT, "w", 1, 0, on_ast, &c, NULL, NULL),
        EAGAIN);
    /* asynchronously: accepted, then the AST says EAGAIN (and the lock is gone) */
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(
        dlm_ls_lock(b, LKM_PRMODE, &sb, LKF_NOQUEUE, "w", 1, 0, on_ast, &c, NULL, NULL), 0);
    assert_true(wait_for(&c.asts, 1));
    assert_int_equal(c.status, EAGAIN);
    assert_fails(dlm_ls_unlock(b, sb.sb_lkid, 0, &sb, NULL), ENOENT);
    unlock_ok(a, &sa);
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(dlm_ls_lock(b, LKM_PRMODE, &sb, LKF_WAIT, "w", 1, 0, on_ast, &c, NULL, NULL),
                     0);
    assert_int_equal(sb.sb_status, 0);
    assert_int_equal(dlm_ls_unlock(b, sb.sb_lkid, LKF_WAIT, &sb, NULL), 0);
    assert_int_equal(sb.sb_status, EUNLOCK);
    sleep_ms(20);
    assert_int_equal(c.asts, 1);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

/* Blocking ASTs get the completion AST's argument (the _wait calls: their bastarg). */
static void libdlm_basts(void **state)
{
    dlm_lshandle_t a = open_threaded("t-bast"), b = open_threaded("t-bast");
    struct dlm_lksb sa = {0}, sa2 = {0}, sb = {0};
    struct cb ca = {0}, ca2 = {0}, cbb = {0};

    (void)state;
    assert_int_equal(lock_async(a, LKM_PRMODE, &sa, 0, "bast", &ca), 0);
    assert_true(wait_for(&ca.asts, 1));
    assert_int_equal(dlm_ls_lock_wait(a, LKM_CRMODE, &sa2, 0, "bast", 4, 0, &ca2, on_bast, NULL),
                     0);
    assert_int_equal(lock_async(b, LKM_EXMODE, &sb, 0, "bast", &cbb), 0);
    assert_true(wait_for(&ca.basts, 1));
    assert_true(wait_for(&ca2.basts, 1));
    sleep_ms(20);
    assert_int_equal(cbb.asts, 0); /* still waiting */
    assert_int_equal(cbb.basts, 0);
    unlock_ok(a, &sa2);
    assert_int_equal(dlm_ls_unlock(a, sa.sb_lkid, 0, &sa, NULL), 0);
    assert_true(wait_for(&ca.asts, 2));
    assert_int_equal(ca.status, EUNLOCK);
    assert_true(wait_for(&cbb.asts, 1));
    assert_int_equal(cbb.status, 0);
    assert_int_equal(ca.basts, 1);
    unlock_ok(b, &sb);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

/* A conversion replaces the routines, argument and lksb; an unlock the argument and lksb. */
static void libdlm_replacements(void **state)
{
    dlm_lshandle_t ls = open_threaded("t-repl");
    struct dlm_lksb s1 = {0}, s2 = {0}, s3 = {0};
    struct cb c1 = {0}, c2 = {0}, c3 = {0};

    (void)state;
    assert_int_equal(lock_async(ls, LKM_NLMODE, &s1, 0, "r", &c1), 0);
    assert_true(wait_for(&c1.asts, 1));
    s2.sb_lkid = s1.sb_lkid;
    assert_int_equal(lock_async(ls, LKM_EXMODE, &s2, LKF_CONVERT, NULL, &c2), 0);
    assert_true(wait_for(&c2.asts, 1));
    assert_int_equal(c2.status, 0);
    assert_int_equal(s2.sb_lkid, s1.sb_lkid);
    assert_int_equal(c1.asts, 1);
    c3.lksb = &s3;
    assert_int_equal(dlm_ls_unlock(ls, s1.sb_lkid, 0, &s3, &c3), 0);
    assert_true(wait_for(&c3.asts, 1));
    assert_int_equal(c3.status, EUNLOCK);
    assert_int_equal(s3.sb_lkid, s1.sb_lkid);
    assert_int_equal(s2.sb_status, 0); /* the new lksb got the outcome */
    assert_int_equal(c2.asts, 1);
    /* unlock without a lksb or argument: the last ones */
    memset(&s1, 0, sizeof(s1));
    assert_int_equal(lock_async(ls, LKM_EXMODE, &s1, 0, "r", &c1), 0);
    assert_true(wait_for(&c1.asts, 2));
    assert_int_equal(dlm_ls_unlock(ls, s1.sb_lkid, 0, NULL, NULL), 0);
    assert_true(wait_for(&c1.asts, 3));
    assert_int_equal(s1.sb_status, EUNLOCK);
    dlm_close_lockspace(ls);
}

/* EBUSY, cancel (ECANCEL, or nothing when the grant won), force unlock of a waiting request. */
static void libdlm_busy_cancel_force(void **state)
{
    dlm_lshandle_t a = open_threaded("t-busy"), b = open_threaded("t-busy");
    struct dlm_lksb sa = {0}, sb = {0}, sn = {0}, s2 = {0};
    struct cb cbb = {0}, cancel = {0}, cn = {0};

    (void)state;
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, 0, "busy"), 0);
    assert_int_equal(lock_wait(b, LKM_NLMODE, &sb, 0, "busy"), 0);
    assert_int_equal(lock_async(b, LKM_EXMODE, &sb, LKF_CONVERT, NULL, &cbb), 0);
    sleep_ms(20);
    assert_int_equal(cbb.asts, 0); /* queued behind a's EX */
    assert_fails(lock_wait(b, LKM_PRMODE, &sb, LKF_CONVERT, NULL), EBUSY);
    assert_fails(dlm_ls_unlock(b, sb.sb_lkid, 0, &sb, NULL), EBUSY);
    /* cancel: ECANCEL through the lock's AST with the new argument; it stays NL */
    cancel.lksb = &sb;
    assert_int_equal(dlm_ls_unlock(b, sb.sb_lkid, LKF_CANCEL, &sb, &cancel), 0);
    assert_true(wait_for(&cancel.asts, 1));
    assert_int_equal(cancel.status, ECANCEL);
    assert_int_equal(cbb.asts, 0);
    /* nothing pending: a cancel returns 0 and no AST comes */
    assert_int_equal(dlm_ls_unlock(b, sb.sb_lkid, LKF_CANCEL, &sb, &cancel), 0);
    sleep_ms(20);
    assert_int_equal(cancel.asts, 1);
    unlock_ok(b, &sb); /* still there, at NL */

    /* a new request that waits: it cannot be converted (never granted) */
    assert_int_equal(lock_async(b, LKM_PRMODE, &sn, 0, "busy", &cn), 0);
    s2.sb_lkid = sn.sb_lkid;
    assert_fails(lock_wait(b, LKM_NLMODE, &s2, LKF_CONVERT, NULL), EBUSY);
    /* a force unlock ends it: one EUNLOCK, nothing else */
    assert_int_equal(dlm_ls_unlock(b, sn.sb_lkid, LKF_FORCEUNLOCK, &sn, NULL), 0);
    assert_true(wait_for(&cn.asts, 1));
    assert_int_equal(cn.status, EUNLOCK);
    sleep_ms(20);
    assert_int_equal(cn.asts, 1);
    assert_fails(dlm_ls_unlock(b, sn.sb_lkid, 0, &sn, NULL), ENOENT);
    /* a cancelled new request is gone */
    memset(&sn, 0, sizeof(sn));
    memset(&cn, 0, sizeof(cn));
    assert_int_equal(lock_async(b, LKM_PRMODE, &sn, 0, "busy", &cn), 0);
    assert_int_equal(dlm_ls_unlock(b, sn.sb_lkid, LKF_CANCEL, NULL, NULL), 0);
    assert_true(wait_for(&cn.asts, 1));
    assert_int_equal(cn.status, ECANCEL);
    assert_fails(dlm_ls_unlock(b, sn.sb_lkid, 0, &sn, NULL), ENOENT);
    /* a conversion of an unknown lock, or of another handle's */
    s2.sb_lkid = 0x7ffffff0;
    assert_fails(lock_wait(b, LKM_NLMODE, &s2, LKF_CONVERT, NULL), ENOENT);
    s2.sb_lkid = sa.sb_lkid;
    assert_fails(lock_wait(b, LKM_NLMODE, &s2, LKF_CONVERT, NULL), ENOENT);
    unlock_ok(a, &sa);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

struct waiter {
    dlm_lshandle_t ls;
    struct dlm_lksb sb;
    volatile int started;
    volatile int done;
    int rc, err;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;

    w->started = 1;
    w->rc = lock_wait(w->ls, LKM_EXMODE, &w->sb, 0, "cw");
    w->err = errno;
    w->done = 1;
    return NULL;
}

/* dlm_unlock_wait(LKF_CANCEL): waits for the cancelled request; -1 ECANCEL, no AST. A
 * dlm_lock_wait whose request another thread cancels returns -1 ECANCEL. */
static void libdlm_cancel_wait(void **state)
{
    dlm_lshandle_t a = open_threaded("t-cwait"), b = open_threaded("t-cwait");
    struct dlm_lksb sa = {0}, sb = {0};
    struct cb cbb = {0};

    (void)state;
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, 0, "cw"), 0);
    assert_int_equal(lock_async(b, LKM_EXMODE, &sb, 0, "cw", &cbb), 0);
    assert_fails(dlm_ls_unlock_wait(b, sb.sb_lkid, LKF_CANCEL, &sb), ECANCEL);
    assert_int_equal(sb.sb_status, ECANCEL);
    assert_fails(dlm_ls_unlock_wait(b, sb.sb_lkid, 0, &sb), ENOENT);
    sleep_ms(20);
    assert_int_equal(cbb.asts, 0);
    /* a synchronous request cancelled from another thread */
    struct waiter w = {.ls = b};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    assert_true(wait_for(&w.started, 1));
    for (int i = 0; i < WAIT_MS && w.sb.sb_lkid == 0; i++)
        sleep_ms(1);
    sleep_ms(20);
    assert_int_equal(w.done, 0);
    assert_int_equal(dlm_ls_unlock(b, w.sb.sb_lkid, LKF_CANCEL, NULL, NULL), 0);
    assert_true(wait_for(&w.done, 1));
    pthread_join(t, NULL);
    assert_int_equal(w.rc, -1);
    assert_int_equal(w.err, ECANCEL);
    assert_int_equal(w.sb.sb_status, ECANCEL);
    /* granted: nothing to cancel */
    assert_int_equal(dlm_ls_unlock_wait(a, sa.sb_lkid, LKF_CANCEL, &sa), 0);
    unlock_ok(a, &sa);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

/* A second unlock while the first is on its way: EINPROGRESS (two-sided handles, so that the
 * first waits for the master's answer). */
static void libdlm_unlock_in_progress(void **state)
{
    dlm_lshandle_t ls;
    int inprogress = 0;

    (void)state;
    setenv("RDLM_FASTPATH", "0", 1);
    ls = open_threaded("t-inprog");
    unsetenv("RDLM_FASTPATH");
    for (int i = 0; i < 50 && inprogress < 3; i++) {
        struct dlm_lksb sb = {0};
        struct cb c = {0};

        assert_int_equal(lock_async(ls, LKM_EXMODE, &sb, 0, "inprog", &c), 0);
        assert_true(wait_for(&c.asts, 1));
        assert_int_equal(dlm_ls_unlock(ls, sb.sb_lkid, 0, &sb, NULL), 0);
        errno = 0;
        assert_int_equal(dlm_ls_unlock(ls, sb.sb_lkid, 0, &sb, NULL), -1);
        assert_true(errno == EINPROGRESS || errno == ENOENT);
        inprogress += errno == EINPROGRESS;
        errno = 0;
        if (dlm_ls_unlock(ls, sb.sb_lkid, LKF_CANCEL, &sb, NULL) < 0)
            assert_true(errno == EBUSY || errno == ENOENT);
        assert_true(wait_for(&c.asts, 2));
        assert_int_equal(c.status, EUNLOCK);
    }
    assert_true(inprogress > 0);
    dlm_close_lockspace(ls);
}

/* Conversion deadlock: EDEADLK (the lock keeps its mode), or with CONVDEADLK a demotion. */
static void libdlm_conversion_deadlock(void **state)
{
    dlm_lshandle_t a = open_threaded("t-cvtdl"), b = open_threaded("t-cvtdl");
    struct dlm_lksb sa = {0}, sb = {0};
    struct cb ca = {0}, cbb = {0};

    (void)state;
    assert_int_equal(lock_wait(a, LKM_PRMODE, &sa, 0, "dl"), 0);
    assert_int_equal(lock_wait(b, LKM_PRMODE, &sb, 0, "dl"), 0);
    assert_int_equal(lock_async(a, LKM_EXMODE, &sa, LKF_CONVERT, NULL, &ca), 0);
    sleep_ms(20);
    assert_int_equal(lock_async(b, LKM_EXMODE, &sb, LKF_CONVERT, NULL, &cbb), 0);
    assert_true(wait_for(&cbb.asts, 1));
    assert_int_equal(cbb.status, EDEADLK);
    assert_int_equal(ca.asts, 0);
    assert_fails(lock_wait(b, LKM_EXMODE, &sb, LKF_CONVERT, NULL), EDEADLK); /* synchronously */
    assert_int_equal(sb.sb_status, EDEADLK);
    /* b still holds PR: a QUECVT to PR from PR is illegal, to EX legal (grmode is PR) */
    assert_fails(lock_wait(b, LKM_PRMODE, &sb, LKF_CONVERT | LKF_QUECVT, NULL), EINVAL);
    unlock_ok(b, &sb);
    assert_true(wait_for(&ca.asts, 1));
    assert_int_equal(ca.status, 0);

    /* again, b resolving it with CONVDEADLK: demoted to NL, granted EX after a */
    assert_int_equal(lock_wait(a, LKM_PRMODE, &sa, LKF_CONVERT, NULL), 0);
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(lock_wait(b, LKM_PRMODE, &sb, 0, "dl"), 0);
    assert_int_equal(lock_async(a, LKM_EXMODE, &sa, LKF_CONVERT, NULL, &ca), 0);
    sleep_ms(20);
    assert_int_equal(lock_async(b, LKM_EXMODE, &sb, LKF_CONVERT | LKF_CONVDEADLK, NULL, &cbb), 0);
    assert_true(wait_for(&ca.asts, 2)); /* b's PR went: a's EX is granted */
    assert_int_equal(ca.status, 0);
    unlock_ok(a, &sa);
    assert_true(wait_for(&cbb.asts, 2));
    assert_int_equal(cbb.status, 0);
    assert_true(cbb.flags & DLM_SBF_DEMOTED);
    unlock_ok(b, &sb);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

static void libdlm_deadlock_cancel(void **state)
{
    dlm_lshandle_t a = open_threaded("t-dlc"), b = open_threaded("t-dlc");
    struct dlm_lksb sa = {0}, sb = {0};
    struct cb ca = {0}, cbb = {0};

    (void)state;
    assert_int_equal(lock_async(a, LKM_EXMODE, &sa, 0, "dlc", &ca), 0);
    assert_true(wait_for(&ca.asts, 1));
    assert_int_equal(lock_async(b, LKM_EXMODE, &sb, 0, "dlc", &cbb), 0);
    assert_fails(dlm_ls_deadlock_cancel(b, 0, 0), EINVAL);
    assert_fails(dlm_ls_deadlock_cancel(b, sb.sb_lkid, LKF_CANCEL | LKF_FORCEUNLOCK), EINVAL);
    assert_fails(dlm_ls_deadlock_cancel(b, sb.sb_lkid, LKF_WAIT), EINVAL);
    assert_fails(dlm_ls_deadlock_cancel(b, sb.sb_lkid, LKF_CONVERT), EINVAL);
    assert_fails(dlm_ls_deadlock_cancel(b, 0x7ffffff1, 0), ENOENT);
    assert_fails(dlm_ls_deadlock_cancel(b, sa.sb_lkid, 0), ENOENT); /* a's, not b's */
    assert_int_equal(dlm_ls_deadlock_cancel(b, sb.sb_lkid, 0), 0);
    assert_true(wait_for(&cbb.asts, 1));
    assert_int_equal(cbb.status, EDEADLK);
    assert_fails(dlm_ls_unlock(b, sb.sb_lkid, 0, &sb, NULL), ENOENT); /* the new lock ended */
    /* granted: nothing to cancel, no AST */
    assert_int_equal(dlm_ls_deadlock_cancel(a, sa.sb_lkid, 0), 0);
    sleep_ms(20);
    assert_int_equal(ca.asts, 1);
    unlock_ok(a, &sa);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

/* dlm_ls_lockx: timeouts (ETIMEDOUT; a conversion keeps its mode) and transaction ids. */
static void libdlm_lockx(void **state)
{
    dlm_lshandle_t a = open_threaded("t-lockx"), b = open_threaded("t-lockx");
    struct dlm_lksb sa = {0}, sb = {0};
    struct cb cbb = {.lksb = &sb};
    uint64_t timeout = 10, xid = 0x1234, zero = 0;

    (void)state;
    if (dlm_ls_lockx(a, LKM_EXMODE, &sa, 0, "x", 1, 0, on_ast, NULL, NULL, &xid, NULL) < 0)
        fail_msg("lockx: %s", strerror(errno));
    sleep_ms(20);
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, LKF_CONVERT, NULL), 0); /* it was granted */
    assert_int_equal(dlm_ls_lockx(b, LKM_PRMODE, &sb, LKF_TIMEOUT, "x", 1, 0, on_ast, &cbb, NULL,
                                  NULL, &timeout),
                     0);
    assert_true(wait_for(&cbb.asts, 1));
    assert_int_equal(cbb.status, ETIMEDOUT);
    assert_fails(dlm_ls_unlock(b, sb.sb_lkid, 0, &sb, NULL), ENOENT); /* the new lock is gone */
    /* a conversion that times out keeps its granted mode */
    memset(&sb, 0, sizeof(sb));
    assert_int_equal(lock_wait(b, LKM_NLMODE, &sb, 0, "x"), 0);
    assert_int_equal(dlm_ls_lockx(b, LKM_EXMODE, &sb, LKF_CONVERT | LKF_TIMEOUT, NULL, 0, 0, on_ast,
                                  &cbb, NULL, NULL, &timeout),
                     0);
    assert_true(wait_for(&cbb.asts, 2));
    assert_int_equal(cbb.status, ETIMEDOUT);
    /* synchronously (LKF_WAIT): -1 ETIMEDOUT */
    assert_fails(dlm_ls_lockx(b, LKM_EXMODE, &sb, LKF_CONVERT | LKF_TIMEOUT | LKF_WAIT, NULL, 0, 0,
                              NULL, NULL, NULL, NULL, &timeout),
                 ETIMEDOUT);
    /* LKF_TIMEOUT without a timeout: waits (until cancelled) */
    assert_int_equal(dlm_ls_lockx(b, LKM_EXMODE, &sb, LKF_CONVERT | LKF_TIMEOUT, NULL, 0, 0, on_ast,
                                  &cbb, NULL, NULL, &zero),
                     0);
    sleep_ms(50);
    assert_int_equal(cbb.asts, 2);
    assert_int_equal(dlm_ls_unlock(b, sb.sb_lkid, LKF_CANCEL, &sb, NULL), 0);
    assert_true(wait_for(&cbb.asts, 3));
    assert_int_equal(cbb.status, ECANCEL);
    unlock_ok(b, &sb); /* still NL */
    unlock_ok(a, &sa);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

/* ---- lock value blocks ---- */

static void libdlm_lvb(void **state)
{
    dlm_lshandle_t a = open_threaded("t-lvb"), b = open_threaded("t-lvb");
    char la[DLM_LVB_LEN], lb[DLM_LVB_LEN];
    struct dlm_lksb sa = {.sb_lvbptr = la}, sb = {.sb_lvbptr = lb}, keep = {0};

    (void)state;
    assert_int_equal(lock_wait(b, LKM_NLMODE, &keep, 0, "lvb"), 0); /* keeps the resource */
    /* D.2: a never-written LVB leaves the caller's buffer as it was */
    memset(la, 0xaa, sizeof(la));
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, LKF_VALBLK, "lvb"), 0);
    for (size_t i = 0; i < sizeof(la); i++)
        assert_int_equal((unsigned char)la[i], 0xaa);
    /* a down-conversion from EX with VALBLK writes the buffer */
    strcpy(la, "one");
    assert_int_equal(lock_wait(a, LKM_NLMODE, &sa, LKF_CONVERT | LKF_VALBLK, NULL), 0);
    assert_int_equal(lock_wait(b, LKM_PRMODE, &sb, LKF_VALBLK, "lvb"), 0);
    assert_string_equal(lb, "one");
    assert_int_equal(sb.sb_flags & DLM_SBF_VALNOTVALID, 0);
    unlock_ok(b, &sb);
    /* D.1: an unlock with VALBLK writes the value last read, not the buffer */
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, LKF_CONVERT | LKF_VALBLK, NULL), 0);
    assert_string_equal(la, "one");
    strcpy(la, "two");
    assert_int_equal(dlm_ls_unlock_wait(a, sa.sb_lkid, LKF_VALBLK, &sa), 0);
    memset(lb, 0, sizeof(lb));
    assert_int_equal(lock_wait(b, LKM_PRMODE, &sb, LKF_VALBLK, "lvb"), 0);
    assert_string_equal(lb, "one");
    unlock_ok(b, &sb);
    /* ... or the value last passed to a conversion */
    memset(&sa, 0, sizeof(sa));
    sa.sb_lvbptr = la;
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, LKF_VALBLK, "lvb"), 0);
    strcpy(la, "three");
    assert_int_equal(lock_wait(a, LKM_PWMODE, &sa, LKF_CONVERT | LKF_VALBLK, NULL), 0);
    strcpy(la, "four");
    assert_int_equal(dlm_ls_unlock_wait(a, sa.sb_lkid, LKF_VALBLK, &sa), 0);
    assert_int_equal(lock_wait(b, LKM_PRMODE, &sb, LKF_VALBLK, "lvb"), 0);
    assert_string_equal(lb, "three");
    unlock_ok(b, &sb);
    /* IVVALBLK invalidates: the next VALBLK grant says VALNOTVALID */
    memset(&sa, 0, sizeof(sa));
    assert_int_equal(lock_wait(a, LKM_EXMODE, &sa, 0, "lvb"), 0);
    assert_int_equal(dlm_ls_unlock_wait(a, sa.sb_lkid, LKF_IVVALBLK, &sa), 0);
    assert_int_equal(lock_wait(b, LKM_PRMODE, &sb, LKF_VALBLK, "lvb"), 0);
    assert_true(sb.sb_flags & DLM_SBF_VALNOTVALID);
    /* writing it again makes it valid */
    assert_int_equal(lock_wait(b, LKM_EXMODE, &sb, LKF_CONVERT | LKF_VALBLK, NULL), 0);
    strcpy(lb, "five");
    assert_int_equal(lock_wait(b, LKM_NLMODE, &sb, LKF_CONVERT | LKF_VALBLK, NULL), 0);
    assert_int_equal(lock_wait(b, LKM_PRMODE, &sb, LKF_CONVERT | LKF_VALBLK, NULL), 0);
    assert_int_equal(sb.sb_flags & DLM_SBF_VALNOTVALID, 0);
    assert_string_equal(lb, "five");
    unlock_ok(b, &sb);
    unlock_ok(b, &keep);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

/* The process of libdlm_lvb_holder_dies (test_libdlm --die-holding-ex LOCKSPACE): a fresh
 * process (exec'd, not just forked from this threaded one) that dies holding EX. */
static int die_holding_ex(const char *lsname)
{
    char l2[DLM_LVB_LEN];
    struct dlm_lksb s2 = {.sb_lvbptr = l2};
    dlm_lshandle_t mine = dlm_open_lockspace(lsname);

    if (!mine || lock_wait(mine, LKM_EXMODE, &s2, LKF_VALBLK, "die") < 0)
        _exit(1);
    _exit(0);
}

/* D.3: a process that dies holding EX invalidates the LVB. */
static void libdlm_lvb_holder_dies(void **state)
{
    dlm_lshandle_t ls = open_threaded("t-lvbdie");
    char lvb[DLM_LVB_LEN] = "valid";
    struct dlm_lksb sb = {.sb_lvbptr = lvb}, keep = {0};
    struct cb c = {.lksb = &sb};
    pid_t pid;
    int status;

    (void)state;
    assert_int_equal(lock_wait(ls, LKM_NLMODE, &keep, 0, "die"), 0);
    assert_int_equal(lock_wait(ls, LKM_EXMODE, &sb, LKF_VALBLK, "die"), 0);
    strcpy(lvb, "valid");
    assert_int_equal(lock_wait(ls, LKM_NLMODE, &sb, LKF_CONVERT | LKF_VALBLK, NULL), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_libdlm", "--die-holding-ex", "t-lvbdie", (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(lock_async(ls, LKM_PRMODE, &sb, LKF_CONVERT | LKF_VALBLK, NULL, &c), 0);
    assert_true(wait_for(&c.asts, 1));
    assert_int_equal(c.status, 0);
    assert_true(c.flags & DLM_SBF_VALNOTVALID);
    unlock_ok(ls, &sb);
    unlock_ok(ls, &keep);
    dlm_close_lockspace(ls);
}

/* Alternate modes: granted PR instead of CW, DLM_SBF_ALTMODE; the lock then is PR. */
static void libdlm_altmode(void **state)
{
    dlm_lshandle_t a = open_threaded("t-alt"), b = open_threaded("t-alt");
    struct dlm_lksb sa = {0}, sb = {0};

    (void)state;
    assert_int_equal(lock_wait(a, LKM_PRMODE, &sa, 0, "alt"), 0);
    assert_int_equal(lock_wait(b, LKM_CWMODE, &sb, LKF_ALTPR, "alt"), 0);
    assert_true(sb.sb_flags & DLM_SBF_ALTMODE);
    assert_fails(lock_wait(b, LKM_PRMODE, &sb, LKF_CONVERT | LKF_QUECVT, NULL), EINVAL);
    assert_fails(lock_wait(a, LKM_EXMODE, &sa, LKF_CONVERT | LKF_NOQUEUE, NULL), EAGAIN);
    unlock_ok(b, &sb);
    unlock_ok(a, &sa);
    dlm_close_lockspace(b);
    dlm_close_lockspace(a);
}

/* ---- persistent locks, orphans, purge ---- */

static int adopt(dlm_lshandle_t ls, uint32_t mode, struct dlm_lksb *sb, const char *name)
{
    int rc = -1;

    /* the orphan appears when the master has seen the old handle's connection close */
    for (int i = 0; i < WAIT_MS / 10; i++) {
        memset(sb, 0, sizeof(*sb));
        rc = lock_wait(ls, mode, sb, LKF_ORPHAN | LKF_PERSISTENT, name);
        if (rc == 0 || errno != ENOENT)
            return rc;
        sleep_ms(10);
    }
    return rc;
}

static void libdlm_orphans(void **state)
{
    dlm_lshandle_t x = dlm_open_lockspace("t-orph"), y = open_threaded("t-orph");
    struct dlm_lksb sx = {0}, sy = {0};
    struct cb c = {.lksb = &sy};
    int rc = -1;

    (void)state;
    assert_int_equal(lock_wait(x, LKM_EXMODE, &sx, LKF_PERSISTENT, "orph"), 0);
    assert_int_equal(dlm_close_lockspace(x), 0); /* the lock stays, as an orphan */
    assert_fails(lock_wait(y, LKM_NLMODE, &sy, LKF_ORPHAN, "no-orphan-here"), ENOENT);
    errno = 0;
    assert_int_equal(adopt(y, LKM_PRMODE, &sy, "orph"), -1);
    assert_int_equal(errno, EAGAIN); /* orphans exist, in another mode */
    assert_fails(lock_wait(y, LKM_EXMODE, &sy, LKF_NOQUEUE, "orph"), EAGAIN);
    /* adopted at once by an asynchronous call: 0, sb_status 0, no AST */
    memset(&sy, 0, sizeof(sy));
    sy.sb_status = 99;
    assert_int_equal(
        dlm_ls_lock(y, LKM_EXMODE, &sy, LKF_ORPHAN, "orph", 4, 0, on_ast, &c, NULL, NULL), 0);
    assert_int_equal(sy.sb_status, 0);
    assert_true(sy.sb_lkid != 0);
    sleep_ms(20);
    assert_int_equal(c.asts, 0);
    /* it is an ordinary lock now */
    assert_int_equal(dlm_ls_unlock(y, sy.sb_lkid, 0, &sy, NULL), 0);
    assert_true(wait_for(&c.asts, 1));
    assert_int_equal(c.status, EUNLOCK);
    assert_free(y, "orph");

    /* purge: the orphans of this node and this pid */
    x = dlm_open_lockspace("t-orph");
    memset(&sx, 0, sizeof(sx));
    assert_int_equal(lock_wait(x, LKM_PWMODE, &sx, LKF_PERSISTENT, "orph2"), 0);
    assert_int_equal(dlm_close_lockspace(x), 0);
    assert_fails(dlm_ls_purge(y, -1, 0), EINVAL);
    assert_fails(dlm_ls_purge(y, 0, -1), EINVAL);
    for (int i = 0; i < WAIT_MS / 10 && rc < 0; i++) {
        assert_int_equal(dlm_ls_purge(y, 0, (int)getpid()), 0);
        memset(&sy, 0, sizeof(sy));
        rc = lock_wait(y, LKM_EXMODE, &sy, LKF_NOQUEUE, "orph2");
        if (rc < 0) {
            assert_int_equal(errno, EAGAIN);
            sleep_ms(10);
        }
    }
    assert_int_equal(rc, 0);
    unlock_ok(y, &sy);
    dlm_close_lockspace(y);
}

/* ---- fork (D.6) ----
 * The child here is forked from this threaded process and uses the library before any exec:
 * that is the point (the atfork handling), and glibc's malloc allows it. (ASan's allocator
 * does not promise it; the parent is idle when it forks, which keeps the window tiny.) */

static void libdlm_fork(void **state)
{
    dlm_lshandle_t ls = open_threaded("t-fork");
    struct dlm_lksb sb = {0};
    pid_t pid;
    int status;

    (void)state;
    assert_int_equal(lock_wait(ls, LKM_PRMODE, &sb, 0, "f"), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct dlm_lksb s = {0};
        dlm_lshandle_t mine;

        /* the parent's handle is not the child's */
        if (lock_wait(ls, LKM_PRMODE, &s, 0, "f") != -1 || errno != ENOTCONN)
            _exit(1);
        mine = dlm_open_lockspace("t-fork");
        if (!mine || lock_wait(mine, LKM_EXMODE, &s, LKF_NOQUEUE, "f") != -1 || errno != EAGAIN)
            _exit(2);
        if (lock_wait(mine, LKM_CRMODE, &s, 0, "f") != 0)
            _exit(3);
        if (dlm_lock_wait(LKM_EXMODE, &s, LKF_NOQUEUE, "f2", 2, 0, NULL, NULL, NULL) != 0)
            _exit(4); /* a default lockspace of its own */
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    unlock_ok(ls, &sb);
    dlm_close_lockspace(ls);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--die-holding-ex") == 0)
        return die_holding_ex(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libdlm_constants_match),
        cmocka_unit_test(libdlm_versions),
        cmocka_unit_test(libdlm_default_lockspace),
        cmocka_unit_test(libdlm_lockspaces),
        cmocka_unit_test(libdlm_request_validation),
        cmocka_unit_test(libdlm_unlock_validation),
        cmocka_unit_test(libdlm_fd_dispatch),
        cmocka_unit_test(libdlm_ast_thread),
        cmocka_unit_test(libdlm_close_from_ast),
        cmocka_unit_test(libdlm_wait_calls),
        cmocka_unit_test(libdlm_basts),
        cmocka_unit_test(libdlm_replacements),
        cmocka_unit_test(libdlm_busy_cancel_force),
        cmocka_unit_test(libdlm_cancel_wait),
        cmocka_unit_test(libdlm_unlock_in_progress),
        cmocka_unit_test(libdlm_conversion_deadlock),
        cmocka_unit_test(libdlm_deadlock_cancel),
        cmocka_unit_test(libdlm_lockx),
        cmocka_unit_test(libdlm_lvb),
        cmocka_unit_test(libdlm_lvb_holder_dies),
        cmocka_unit_test(libdlm_altmode),
        cmocka_unit_test(libdlm_orphans),
        cmocka_unit_test(libdlm_fork),
    };

    return cmocka_run_group_tests_name("libdlm", tests, start_cluster, stop_cluster_group);
}
