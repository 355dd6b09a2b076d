/*
 * tests/tcdlm/test_tcdlm.c - the TruCluster DLM front end (<sys/dlm.h>, include/rdlm/tcdlm.h)
 * against a real 1-node cluster (two rdlmd shards on 127.0.0.1, started with rdlmctl through
 * tests/lib/cluster_fixture.c and stopped at the end): every call, every dlm_status_t each can
 * return (docs/tcdlm.md), the argument rules (a refused call changes nothing: no lock, no
 * routine called, the caller's lock id untouched), the three ways routines are delivered, the
 * value block, lock and resource information, group lock containers and recovery domains.
 *
 * Namespaces are process state, so every test starts with none joined and ends with
 * dlm_detach (which also puts delivery back to the default). Conflicts inside one process use
 * two namespaces' handles, or a forked child (which starts with no DLM state of its own).
 * Credential rules run in forked children that drop their euid (the suite runs as root in CI;
 * they are skipped otherwise). Every wait is bounded (WAIT_MS).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dlm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/cluster_fixture.h"

#define WAIT_MS 5000
#define UID_A   4001 /* DLM_USER namespaces the tests use (root may join any) */
#define UID_B   4002
#define NOBODY  65534

static int start_cluster(void **state)
{
    (void)state;
    return fixture_cluster_up("tcdlm", 1, 2);
}

static int stop_cluster(void **state)
{
    (void)state;
    fixture_cluster_down();
    return 0;
}

/* Every test: no namespace before, none after. */
static int setup(void **state)
{
    (void)state;
    return dlm_detach() == DLM_NOTATTACHED ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dlm_unlock(NULL, NULL, DLM_DEQALL);
    dlm_glc_detach();
    dlm_detach();
    return 0;
}

/* ---- helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

struct rec { /* what the routines saw; notprm is its address */
    volatile int cpl, blk;
    volatile dlm_status_t status;
    dlm_lkid_t cpl_lkid, blk_lkid;
    volatile callback_arg_t hint;
    volatile dlm_lkmode_t blk_mode;
    pthread_t thread;
    volatile int in_handler; /* the routine ran inside the signal handler */
};

static volatile sig_atomic_t g_in_handler;

static void cpl(callback_arg_t notprm, dlm_lkid_t *lkid, dlm_status_t status)
{
    struct rec *r = (struct rec *)notprm;

    r->status = status;
    r->cpl_lkid = *lkid;
    r->thread = pthread_self();
    r->in_handler = g_in_handler;
    __atomic_add_fetch(&r->cpl, 1, __ATOMIC_SEQ_CST);
}

static void blk(callback_arg_t notprm, callback_arg_t hint, dlm_lkid_t *lkid, dlm_lkmode_t mode)
{
    struct rec *r = (struct rec *)notprm;

    r->hint = hint;
    r->blk_mode = mode;
    r->blk_lkid = *lkid;
    r->thread = pthread_self();
    __atomic_add_fetch(&r->blk, 1, __ATOMIC_SEQ_CST);
}

#define ARG(r) ((callback_arg_t)(uintptr_t)(r))

static bool wait_for(volatile int *counter, int want)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= want)
            return true;
        sleep_ms(1);
    }
    return false;
}

static dlm_nsp_t join(dlm_nsid_t nsid, dlm_flags_t flags)
{
    dlm_nsp_t nsp = -1;

    assert_int_equal(dlm_nsjoin(nsid, &nsp, flags), DLM_SUCCESS);
    assert_true(nsp >= 1 && nsp <= DLM_NSPROCMAX);
    return nsp;
}

static unsigned char *N(const char *s)
{
    return (unsigned char *)s;
}

#define LEN(s) ((unsigned short)strlen(s))

/* A synchronous lock on name in nsp: its status. */
static dlm_status_t lk(dlm_nsp_t nsp, const char *name, dlm_lkmode_t mode, dlm_flags_t flags,
                       dlm_lkid_t *id)
{
    return dlm_lock(nsp, N(name), LEN(name), NULL, id, mode, NULL, flags, 0, 0, NULL, 0);
}

/* An asynchronous lock recorded in r. */
static dlm_status_t qlk(dlm_nsp_t nsp, const char *name, dlm_lkmode_t mode, dlm_flags_t flags,
                        dlm_lkid_t *id, struct rec *r, callback_arg_t hint)
{
    return dlm_quelock(nsp, N(name), LEN(name), NULL, id, mode, NULL, flags, ARG(r), hint, blk, 0,
                       cpl);
}

static void unlock_ok(dlm_lkid_t *id)
{
    assert_int_equal(dlm_unlock(id, NULL, 0), DLM_SUCCESS);
}

/* Nothing holds name in nsp: a NOQUEUE EX is granted. */
static void assert_free_at(dlm_nsp_t nsp, const char *name, int line)
{
    dlm_lkid_t id;
    dlm_status_t st = lk(nsp, name, DLM_EXMODE, DLM_NOQUEUE, &id);

    if (st != DLM_SUCCESS)
        fail_msg("line %d: %s is held: %s", line, name, dlm_sperrno(st));
    unlock_ok(&id);
}

#define assert_free(nsp, name) assert_free_at(nsp, name, __LINE__)

static bool same_id(dlm_lkid_t a, dlm_lkid_t b)
{
    return a.seqn == b.seqn && a.hndl == b.hndl;
}

static const dlm_lkid_t SENTINEL = {0xdeadbeef, 0xfeedf00d};

/* In a forked child: a check that exits with the line number. */
#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child check failed, line %d: %s\n", __LINE__, #cond);                 \
            _exit(100);                                                                            \
        }                                                                                          \
    } while (0)

static int wait_child(pid_t pid)
{
    int status;

    for (int i = 0; i < 2 * WAIT_MS; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        sleep_ms(1);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* The cluster directory readable by an unprivileged child. */
static void open_cluster_dir(void)
{
    char path[512];

    chmod(fixture_cluster_dir(), 0755);
    snprintf(path, sizeof(path), "%s/cluster.ini", fixture_cluster_dir());
    chmod(path, 0644);
}

/* ---- the header ---- */

static void tc_constants(void **state)
{
    (void)state;
    assert_int_equal(DLM_SUCCESS, 0);
    assert_int_equal(DLM_SYNCH, 1);
    assert_int_equal(DLM_MORE_TO_TRAVERSE, 5);
    assert_int_equal(DLM_ABORT, 16);
    assert_int_equal(DLM_NOTQUEUED, 36);
    assert_int_equal(DLM_PUBNS_DISALLOW, 56);
    assert_int_equal(DLM_NLMODE, 1);
    assert_int_equal(DLM_EXMODE, 6);
    assert_int_equal(DLM_WAITING, 3);
    assert_int_equal(sizeof(dlm_valb_t), 32);
    assert_int_equal(sizeof(callback_arg_t), sizeof(void *));
    assert_int_equal(DLM_RESNAMELEN, 64);
    assert_int_equal(DLM_NOQUEUE, 0x8);
    assert_int_equal(DLM_VALB, 0x1000);
    assert_int_equal(DLM_TXID_GLOBAL, 0x10000);
    assert_int_equal(DLM_GLC_FORCE, 0x8);
}

/* Every code has its own text, "NAME: meaning"; unknown ones the TruCluster text. */
static void tc_messages(void **state)
{
    static const struct {
        dlm_status_t st;
        const char *name;
    } codes[] = {
#define C(x) {x, #x}
        C(DLM_SUCCESS),         C(DLM_SYNCH),
        C(DLM_SUCCVALNOTVALID), C(DLM_SYNCVALNOTVALID),
        C(DLM_MORE_TO_RECOVER), C(DLM_MORE_TO_TRAVERSE),
        C(DLM_ABORT),           C(DLM_ATTACHED),
        C(DLM_BADPARAM),        C(DLM_CANCEL),
        C(DLM_CANCELGRANT),     C(DLM_CANCELWAIT),
        C(DLM_CVTUNGRANT),      C(DLM_DEADLOCK),
        C(DLM_EFAULT),          C(DLM_ENOENT),
        C(DLM_ENOSYS),          C(DLM_HASLOCKS),
        C(DLM_INSFMEM),         C(DLM_INTR),
        C(DLM_IVBUFLEN),        C(DLM_IVLOCKID),
        C(DLM_LKBUSY),          C(DLM_NOACCESS),
        C(DLM_NOLOCKID),        C(DLM_NOTATTACHED),
        C(DLM_NOTQUEUED),       C(DLM_PARNOTGRANT),
        C(DLM_RETRY),           C(DLM_SUBLOCKS),
        C(DLM_TIMEOUT),         C(DLM_TOOMANYNS),
        C(DLM_UNEXPERR),        C(DLM_HASPROCS),
        C(DLM_KILLFAIL),        C(DLM_ATTACHEDGROUP),
        C(DLM_NO_GROUP),        C(DLM_ENAMETOOLONG),
        C(DLM_TOOMANYRD),       C(DLM_IS_PR),
        C(DLM_NOT_PR),          C(DLM_IVRDID),
        C(DLM_PR_RD_MISMATCH),  C(DLM_IVHNDL),
        C(DLM_EALREADY),        C(DLM_EINPROGRESS),
        C(DLM_PUBNS_DISALLOW),
#undef C
    };
    static char buf[16384], want[16384];
    char path[] = "/tmp/tcdlm-stderr-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    ssize_t n;

    (void)state;
    assert_int_equal(sizeof(codes) / sizeof(codes[0]), 47);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *t = dlm_sperrno(codes[i].st);
        assert_int_equal(strncmp(t, codes[i].name, strlen(codes[i].name)), 0);
        assert_int_equal(t[strlen(codes[i].name)], ':');
        assert_true(strlen(t) > strlen(codes[i].name) + 4);
    }
    assert_string_equal(dlm_sperrno((dlm_status_t)6), "DLM_ILLEGAL_EEROR");
    assert_string_equal(dlm_sperrno((dlm_status_t)15), "DLM_ILLEGAL_EEROR");
    assert_string_equal(dlm_sperrno((dlm_status_t)57), "DLM_ILLEGAL_EEROR");
    assert_string_equal(dlm_sperrno((dlm_status_t)-1), "DLM_ILLEGAL_EEROR");
    /* dlm_perror and dlm_perrno print to stderr: every code, and an unknown one */
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        dlm_perror("ctx", codes[i].st);
        dlm_perrno(codes[i].st);
    }
    dlm_perror("", DLM_ABORT);
    dlm_perrno((dlm_status_t)99);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    buf[n] = 0;
    want[0] = 0;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        size_t len = strlen(want);
        snprintf(want + len, sizeof(want) - len, "ctx: %s\n%s\n", dlm_sperrno(codes[i].st),
                 dlm_sperrno(codes[i].st));
    }
    strcat(want, dlm_sperrno(DLM_ABORT));
    strcat(want, "\nDLM_ILLEGAL_EEROR\n");
    assert_string_equal(buf, want);
}

/* ---- namespaces ---- */

static void tc_not_attached(void **state)
{
    dlm_lkid_t id = SENTINEL, par = {1, 1};
    dlm_rsbinfo_t ri;
    dlm_lkinfo_t li;
    dlm_glc_id_t gid = 7;
    dlm_rd_id_t rd = 9;
    dlm_nsp_t nsp = 3, list[1] = {1};
    struct rec r = {0};
    int old = -5;

    (void)state;
    assert_int_equal(lk(1, "x", DLM_EXMODE, 0, &id), DLM_NOTATTACHED);
    assert_int_equal(qlk(1, "x", DLM_EXMODE, 0, &id, &r, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_locktp(1, N("x"), 1, NULL, &id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0, 0, 0),
                     DLM_NOTATTACHED);
    assert_int_equal(
        dlm_quelocktp(1, N("x"), 1, NULL, &id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0, cpl, 0, 0),
        DLM_NOTATTACHED);
    assert_true(same_id(id, SENTINEL));
    assert_int_equal(dlm_get_rsbinfo(1, N("x"), 1, &ri, NULL), DLM_NOTATTACHED);
    assert_int_equal(dlm_set_signal(SIGUSR1, &old), DLM_NOTATTACHED);
    assert_int_equal(old, -5);
    assert_int_equal(dlm_nsleave(&nsp, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_detach(), DLM_NOTATTACHED);
    assert_int_equal(dlm_unlock(NULL, NULL, DLM_DEQALL), DLM_NOTATTACHED);
    assert_int_equal(dlm_glc_create(&gid, 0, list, 1), DLM_NOTATTACHED);
    assert_int_equal(dlm_glc_attach(1, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_glc_detach(), DLM_NOTATTACHED);
    assert_int_equal(dlm_glc_destroy(1, 0), DLM_NOTATTACHED);
    assert_int_equal(gid, 7);
    assert_int_equal(dlm_rd_attach("rd", &rd, DLM_RD_PROCESS), DLM_NOTATTACHED);
    assert_int_equal(rd, 9);
    assert_int_equal(dlm_cvt(&par, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_quecvt(&par, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0, cpl), DLM_NOTATTACHED);
    assert_int_equal(dlm_unlock(&par, NULL, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_cancel(&par, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_get_lkinfo(&par, &li), DLM_NOTATTACHED);
    assert_int_equal(dlm_notify(), 0);
    assert_int_equal(r.cpl, 0);
}

static void tc_nsjoin_rules(void **state)
{
    dlm_nsp_t sys, nsp = -7, again = -7, u, g, bad;
    dlm_lkid_t id;

    (void)state;
    /* BADPARAM; nothing joined */
    assert_int_equal(dlm_nsjoin(0, NULL, 0), DLM_BADPARAM);
    assert_int_equal(dlm_nsjoin(UID_A, &nsp, DLM_USER | DLM_GROUP), DLM_BADPARAM);
    assert_int_equal(dlm_nsjoin(UID_A, &nsp, 0), DLM_BADPARAM);
    assert_int_equal(dlm_nsjoin(0, &nsp, 0x80), DLM_BADPARAM);
    assert_int_equal(nsp, -7);
    assert_int_equal(dlm_detach(), DLM_NOTATTACHED);
    /* the system namespace (root), a second join, JOIN_SAME_OK */
    sys = join(0, 0);
    assert_int_equal(dlm_nsjoin(0, &again, 0), DLM_ATTACHED);
    assert_int_equal(again, -7);
    assert_int_equal(dlm_nsjoin(0, &again, DLM_JOIN_SAME_OK), DLM_SUCCESS);
    assert_int_equal(again, sys);
    assert_int_equal(dlm_nsjoin(0, &again, DLM_JOIN_SAME_OK), DLM_SUCCESS);
    /* user and group namespaces are other namespaces */
    u = join(UID_A, DLM_USER);
    g = join(UID_A, DLM_GROUP);
    assert_true(u != sys && g != sys && u != g);
    assert_int_equal(lk(u, "ns-r", DLM_EXMODE, 0, &id), DLM_SUCCESS);
    assert_int_equal(lk(g, "ns-r", DLM_EXMODE, DLM_NOQUEUE, &id), DLM_SUCCESS);
    assert_int_equal(lk(sys, "ns-r", DLM_EXMODE, DLM_NOQUEUE, &id), DLM_SUCCESS);
    /* nsleave: BADPARAM, NOTATTACHED, HASLOCKS */
    assert_int_equal(dlm_nsleave(NULL, 0), DLM_BADPARAM);
    assert_int_equal(dlm_nsleave(&sys, 1), DLM_BADPARAM);
    bad = 0;
    assert_int_equal(dlm_nsleave(&bad, 0), DLM_NOTATTACHED);
    bad = DLM_NSPROCMAX + 1;
    assert_int_equal(dlm_nsleave(&bad, 0), DLM_NOTATTACHED);
    bad = -1;
    assert_int_equal(dlm_nsleave(&bad, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_nsleave(&sys, 0), DLM_HASLOCKS);
    assert_int_equal(dlm_detach(), DLM_HASLOCKS);
    unlock_ok(&id);
    /* one nsleave undoes the three joins */
    assert_int_equal(dlm_nsleave(&sys, 0), DLM_SUCCESS);
    assert_int_equal(lk(sys, "ns-r2", DLM_EXMODE, 0, &id), DLM_NOTATTACHED);
    assert_int_equal(dlm_nsleave(&sys, 0), DLM_NOTATTACHED);
    /* the user namespace's lock keeps it: HASLOCKS from detach too */
    assert_int_equal(dlm_detach(), DLM_HASLOCKS);
    assert_int_equal(dlm_unlock(NULL, NULL, DLM_DEQALL), DLM_SUCCESS);
    assert_int_equal(dlm_detach(), DLM_SUCCESS);
    assert_int_equal(dlm_detach(), DLM_NOTATTACHED);
}

static void tc_toomanyns(void **state)
{
    dlm_nsp_t nsp[DLM_NSPROCMAX], extra = -3;

    (void)state;
    for (int i = 0; i < DLM_NSPROCMAX; i++)
        nsp[i] = join(5000 + (dlm_nsid_t)i, DLM_USER);
    assert_int_equal(dlm_nsjoin(6000, &extra, DLM_USER), DLM_TOOMANYNS);
    assert_int_equal(extra, -3);
    /* a namespace already joined is still found */
    assert_int_equal(dlm_nsjoin(5003, &extra, DLM_USER | DLM_JOIN_SAME_OK), DLM_SUCCESS);
    assert_int_equal(extra, nsp[3]);
    assert_int_equal(dlm_nsleave(&nsp[0], 0), DLM_SUCCESS);
    assert_int_equal(dlm_nsjoin(6000, &extra, DLM_USER), DLM_SUCCESS);
    assert_int_equal(dlm_detach(), DLM_SUCCESS);
}

/* A child that drops to uid/gid NOBODY: the permission rules of docs/tcdlm.md. */
static void tc_nsjoin_noaccess(void **state)
{
    pid_t pid;

    (void)state;
    if (geteuid() != 0)
        skip();
    open_cluster_dir();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dlm_nsp_t nsp = -1;
        dlm_lkid_t id;
        CHILD_CHECK(setgroups(0, NULL) == 0 && setegid(NOBODY) == 0 && seteuid(NOBODY) == 0);
        CHILD_CHECK(dlm_nsjoin(0, &nsp, 0) == DLM_NOACCESS);
        CHILD_CHECK(dlm_nsjoin(UID_A, &nsp, DLM_USER) == DLM_NOACCESS);
        CHILD_CHECK(dlm_nsjoin(0, &nsp, DLM_USER) == DLM_NOACCESS);
        CHILD_CHECK(dlm_nsjoin(UID_A, &nsp, DLM_GROUP) == DLM_NOACCESS);
        CHILD_CHECK(nsp == -1);
        CHILD_CHECK(dlm_nsjoin(NOBODY, &nsp, DLM_USER) == DLM_SUCCESS);
        CHILD_CHECK(lk(nsp, "mine", DLM_EXMODE, 0, &id) == DLM_SUCCESS);
        CHILD_CHECK(dlm_nsjoin(NOBODY, &nsp, DLM_GROUP) == DLM_SUCCESS);
        CHILD_CHECK(dlm_unlock(NULL, NULL, DLM_DEQALL) == DLM_SUCCESS);
        CHILD_CHECK(dlm_detach() == DLM_SUCCESS);
        _exit(0);
    }
    assert_int_equal(wait_child(pid), 0);
}

/* No cluster configuration: DLM_ENOSYS. */
static void tc_nsjoin_enosys(void **state)
{
    pid_t pid;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dlm_nsp_t nsp = -1;
        setenv("RDLM_CONFIG", "/nonexistent/cluster.ini", 1);
        CHILD_CHECK(dlm_nsjoin(0, &nsp, 0) == DLM_ENOSYS);
        CHILD_CHECK(nsp == -1);
        CHILD_CHECK(dlm_detach() == DLM_NOTATTACHED);
        _exit(0);
    }
    assert_int_equal(wait_child(pid), 0);
}

/* ---- requests ---- */

/* B.7-style: every refused request leaves no lock, calls nothing, and leaves *lkid_p alone. */
static void tc_lock_validation(void **state)
{
    dlm_nsp_t nsp = join(0, 0);
    dlm_lkid_t id = SENTINEL, unknown = {12345, 678}, zero = {0, 0};
    dlm_valb_t vb = {{0}};
    struct rec r = {0};
    unsigned char name65[65];

    (void)state;
    memset(name65, 'n', sizeof(name65));
    assert_int_equal(dlm_lock(nsp, N("v"), 1, NULL, NULL, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_NOMODE, 0, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", (dlm_lkmode_t)7, 0, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, DLM_QUECVT, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, DLM_DEQALL, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, DLM_INVVALBLK, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, DLM_PERSIST, &id), DLM_BADPARAM); /* tp only */
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, DLM_GROUP_LOCK, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, DLM_TXID_LOCAL, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, 0x80000000u, &id), DLM_BADPARAM);
    assert_int_equal(lk(nsp, "v", DLM_EXMODE, DLM_VALB, &id), DLM_BADPARAM); /* no valb_p */
    assert_int_equal(lk(nsp, "v", DLM_PRMODE, DLM_EXPEDITE, &id), DLM_BADPARAM);
    assert_int_equal(dlm_lock(nsp, NULL, 1, NULL, &id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_BADPARAM);
    assert_int_equal(dlm_lock(nsp, N("v"), 0, NULL, &id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_IVBUFLEN);
    assert_int_equal(dlm_lock(nsp, name65, 65, NULL, &id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_IVBUFLEN);
    assert_int_equal(lk(nsp + 1, "v", DLM_EXMODE, 0, &id), DLM_NOTATTACHED);
    assert_int_equal(lk(0, "v", DLM_EXMODE, 0, &id), DLM_NOTATTACHED);
    assert_int_equal(dlm_lock(nsp, N("v"), 1, &unknown, &id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_IVLOCKID);
    /* the tp forms */
    assert_int_equal(dlm_locktp(nsp, N("v"), 1, NULL, &id, DLM_EXMODE, NULL,
                                DLM_TXID_LOCAL | DLM_TXID_GLOBAL, 0, 0, NULL, 0, 5, 0),
                     DLM_BADPARAM);
    assert_int_equal(dlm_locktp(nsp, N("v"), 1, NULL, &id, DLM_EXMODE, NULL, DLM_TXID_GLOBAL, 0, 0,
                                NULL, 0, 0, 0),
                     DLM_BADPARAM);
    assert_int_equal(dlm_locktp(nsp, N("v"), 1, NULL, &id, DLM_EXMODE, NULL, DLM_GROUP_LOCK, 0, 0,
                                NULL, 0, 0, 0),
                     DLM_NOTATTACHED);
    assert_int_equal(
        dlm_locktp(nsp, N("v"), 1, NULL, &id, DLM_EXMODE, NULL, DLM_PERSIST, 0, 0, NULL, 0, 0, 0),
        DLM_IVRDID);
    assert_int_equal(dlm_quelocktp(nsp, N("v"), 1, NULL, &id, DLM_EXMODE, NULL, DLM_PERSIST,
                                   ARG(&r), 0, NULL, 0, cpl, 0, 7),
                     DLM_IVRDID);
    assert_int_equal(dlm_quelocktp(nsp, N("v"), 1, NULL, &id, DLM_EXMODE, &vb, DLM_QUECVT, ARG(&r),
                                   0, NULL, 0, cpl, 0, 0),
                     DLM_BADPARAM);
    assert_int_equal(qlk(nsp, "v", DLM_EXMODE, DLM_QUECVT, &id, &r, 0), DLM_BADPARAM);
    assert_int_equal(qlk(nsp, "", DLM_EXMODE, 0, &id, &r, 0), DLM_IVBUFLEN);
    assert_int_equal(
        dlm_quelock(nsp, N("v"), 1, NULL, NULL, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0, cpl),
        DLM_BADPARAM);
    assert_true(same_id(id, SENTINEL));
    /* a zero parent id is a root lock */
    assert_int_equal(dlm_lock(nsp, N("v"), 1, &zero, &id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    unlock_ok(&id);
    sleep_ms(50);
    assert_int_equal(r.cpl, 0);
    assert_free(nsp, "v");
}

struct waiter { /* a thread in a synchronous dlm_lock */
    dlm_nsp_t nsp;
    const char *name;
    dlm_lkmode_t mode;
    dlm_flags_t flags;
    unsigned int timeout;
    dlm_lkid_t id;
    volatile int done;
    dlm_status_t st;
    pthread_t t;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;

    w->st = dlm_lock(w->nsp, N(w->name), LEN(w->name), NULL, &w->id, w->mode, NULL, w->flags, 0, 0,
                     NULL, w->timeout);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void start_waiter(struct waiter *w)
{
    assert_int_equal(pthread_create(&w->t, NULL, waiter_main, w), 0);
}

/* A thread in a synchronous dlm_cvt of w->id to w->mode. */
static void *cvt_main(void *arg)
{
    struct waiter *w = arg;

    w->st = dlm_cvt(&w->id, w->mode, NULL, w->flags, 0, 0, NULL, w->timeout);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void start_cvt(struct waiter *w)
{
    assert_int_equal(pthread_create(&w->t, NULL, cvt_main, w), 0);
    sleep_ms(100);
    assert_int_equal(w->done, 0); /* it waits */
}

static void tc_sync_lock(void **state)
{
    dlm_nsp_t a = join(0, 0), b = join(UID_A, DLM_USER);
    dlm_lkid_t h, id = SENTINEL;
    struct waiter w;

    (void)state;
    (void)b;
    /* granted without waiting */
    assert_int_equal(lk(a, "s1", DLM_EXMODE, 0, &h), DLM_SUCCESS);
    assert_false(same_id(h, SENTINEL));
    unlock_ok(&h);
    assert_int_equal(lk(a, "s1", DLM_EXMODE, DLM_SYNCSTS, &h), DLM_SYNCH);
    /* conflicts: NOQUEUE, timeout (nothing changes: id untouched) */
    assert_int_equal(lk(a, "s1", DLM_PRMODE, DLM_NOQUEUE, &id), DLM_NOTQUEUED);
    assert_int_equal(lk(a, "s1", DLM_PRMODE, DLM_NOQUEUE | DLM_SYNCSTS, &id), DLM_NOTQUEUED);
    assert_int_equal(dlm_lock(a, N("s1"), 2, NULL, &id, DLM_PRMODE, NULL, 0, 0, 0, NULL, 20),
                     DLM_TIMEOUT);
    assert_int_equal(
        dlm_lock(a, N("s1"), 2, NULL, &id, DLM_PRMODE, NULL, DLM_SYNCSTS, 0, 0, NULL, 20),
        DLM_TIMEOUT);
    assert_true(same_id(id, SENTINEL));
    /* a request that had to wait returns DLM_SUCCESS, even with SYNCSTS */
    w = (struct waiter){.nsp = a, .name = "s1", .mode = DLM_PRMODE, .flags = DLM_SYNCSTS};
    start_waiter(&w);
    sleep_ms(100);
    assert_int_equal(w.done, 0);
    unlock_ok(&h);
    pthread_join(w.t, NULL);
    assert_int_equal(w.st, DLM_SUCCESS);
    /* EXPEDITE NL is granted at once, past a waiting EX */
    {
        struct rec rx = {0};
        dlm_lkid_t x;
        assert_int_equal(qlk(a, "s1", DLM_EXMODE, 0, &x, &rx, 0), DLM_SUCCESS);
        assert_int_equal(lk(a, "s1", DLM_NLMODE, DLM_EXPEDITE | DLM_SYNCSTS, &h), DLM_SYNCH);
        unlock_ok(&h);
        unlock_ok(&w.id);
        assert_true(wait_for(&rx.cpl, 1));
        unlock_ok(&x);
    }
    assert_free(a, "s1");
}

static void tc_async_lock(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t h, id = SENTINEL, id2;
    struct rec r = {0}, r2 = {0};

    (void)state;
    /* queued, then completed in the dispatch thread (the default delivery) */
    assert_int_equal(qlk(a, "q1", DLM_EXMODE, 0, &h, &r, 0), DLM_SUCCESS);
    assert_true(wait_for(&r.cpl, 1));
    assert_int_equal(r.status, DLM_SUCCESS);
    assert_true(same_id(r.cpl_lkid, h));
    assert_false(pthread_equal(r.thread, pthread_self()));
    /* SYNCSTS: granted at once, DLM_SYNCH and no completion routine */
    assert_int_equal(qlk(a, "q2", DLM_EXMODE, DLM_SYNCSTS, &id2, &r2, 0), DLM_SYNCH);
    sleep_ms(100);
    assert_int_equal(r2.cpl, 0);
    unlock_ok(&id2);
    /* a request that waits: DLM_SUCCESS now, the outcome later */
    r.cpl = 0;
    assert_int_equal(qlk(a, "q1", DLM_PRMODE, DLM_SYNCSTS, &id, &r2, 0), DLM_SUCCESS);
    assert_false(same_id(id, SENTINEL));
    sleep_ms(50);
    assert_int_equal(r2.cpl, 0);
    unlock_ok(&h);
    assert_true(wait_for(&r2.cpl, 1));
    assert_int_equal(r2.status, DLM_SUCCESS);
    assert_true(same_id(r2.cpl_lkid, id));
    /* NOQUEUE: queued (SUCCESS), and the routine gets DLM_NOTQUEUED */
    assert_int_equal(lk(a, "q3", DLM_EXMODE, 0, &h), DLM_SUCCESS);
    memset(&r, 0, sizeof(r));
    assert_int_equal(qlk(a, "q3", DLM_PRMODE, DLM_NOQUEUE, &id2, &r, 0), DLM_SUCCESS);
    assert_true(wait_for(&r.cpl, 1));
    assert_int_equal(r.status, DLM_NOTQUEUED);
    memset(&r, 0, sizeof(r));
    assert_int_equal(qlk(a, "q3", DLM_PRMODE, DLM_NOQUEUE | DLM_SYNCSTS, &id2, &r, 0), DLM_SUCCESS);
    assert_true(wait_for(&r.cpl, 1));
    assert_int_equal(r.status, DLM_NOTQUEUED);
    /* timeout */
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        dlm_quelock(a, N("q3"), 2, NULL, &id2, DLM_PRMODE, NULL, 0, ARG(&r), 0, NULL, 10, cpl),
        DLM_SUCCESS);
    assert_true(wait_for(&r.cpl, 1));
    assert_int_equal(r.status, DLM_TIMEOUT);
    assert_int_equal(dlm_get_lkinfo(&id2, &(dlm_lkinfo_t){0}), DLM_IVLOCKID);
    /* no completion routine at all */
    assert_int_equal(
        dlm_quelock(a, N("q4"), 2, NULL, &id2, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0, NULL),
        DLM_SUCCESS);
    for (int i = 0; i < 100 && dlm_unlock(&id2, NULL, 0) != DLM_SUCCESS; i++)
        sleep_ms(10);
    unlock_ok(&h);
    unlock_ok(&id);
    assert_free(a, "q1");
    assert_free(a, "q3");
    assert_free(a, "q4");
}

/* ---- blocking routines ---- */

static void tc_blocking(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t h, w;
    struct rec rh = {0}, rw = {0};

    (void)state;
    assert_int_equal(dlm_lock(a, N("b1"), 2, NULL, &h, DLM_PRMODE, NULL, 0, ARG(&rh), 0, blk, 0),
                     DLM_SUCCESS);
    /* a compatible request blocks nothing */
    assert_int_equal(qlk(a, "b1", DLM_CRMODE, 0, &w, &rw, 0x11), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    unlock_ok(&w);
    sleep_ms(50);
    assert_int_equal(rh.blk, 0);
    /* an incompatible one: the holder's routine gets the requester's hint and mode */
    memset(&rw, 0, sizeof(rw));
    assert_int_equal(qlk(a, "b1", DLM_EXMODE, 0, &w, &rw, 0x77), DLM_SUCCESS);
    assert_true(wait_for(&rh.blk, 1));
    assert_int_equal(rh.hint, 0x77);
    assert_int_equal(rh.blk_mode, DLM_EXMODE);
    assert_true(same_id(rh.blk_lkid, h));
    assert_int_equal(rw.cpl, 0);
    /* the holder gives way: down to NL, and the waiter is granted */
    assert_int_equal(dlm_cvt(&h, DLM_NLMODE, NULL, 0, ARG(&rh), 0, blk, 0), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    assert_int_equal(rw.status, DLM_SUCCESS);
    unlock_ok(&w);
    unlock_ok(&h);
}

/* ---- conversions ---- */

static void tc_convert(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t h, o, w, unknown = {1, 2};
    struct rec r1 = {0}, r2 = {0}, rw = {0}, ro = {0};
    dlm_lkinfo_t li;

    (void)state;
    assert_int_equal(dlm_lock(a, N("c1"), 2, NULL, &h, DLM_NLMODE, NULL, 0, ARG(&r1), 0x1, blk, 0),
                     DLM_SUCCESS);
    /* refused: nothing changes */
    assert_int_equal(dlm_cvt(NULL, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0), DLM_BADPARAM);
    assert_int_equal(dlm_cvt(&unknown, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0), DLM_IVLOCKID);
    assert_int_equal(dlm_cvt(&h, DLM_NOMODE, NULL, 0, ARG(&r2), 0, blk, 0), DLM_BADPARAM);
    assert_int_equal(dlm_cvt(&h, DLM_EXMODE, NULL, DLM_DEQALL, ARG(&r2), 0, blk, 0), DLM_BADPARAM);
    assert_int_equal(dlm_cvt(&h, DLM_EXMODE, NULL, DLM_PERSIST, ARG(&r2), 0, blk, 0), DLM_BADPARAM);
    assert_int_equal(dlm_cvt(&h, DLM_EXMODE, NULL, DLM_EXPEDITE, ARG(&r2), 0, blk, 0),
                     DLM_BADPARAM);
    assert_int_equal(dlm_cvt(&h, DLM_EXMODE, NULL, DLM_VALB, ARG(&r2), 0, blk, 0), DLM_BADPARAM);
    assert_int_equal(dlm_quecvt(&h, DLM_EXMODE, NULL, 0x40000000u, ARG(&r2), 0, blk, 0, cpl),
                     DLM_BADPARAM);
    assert_int_equal(dlm_get_lkinfo(&h, &li), DLM_SUCCESS);
    assert_int_equal(li.notprm, ARG(&r1));
    assert_int_equal(li.grmode, DLM_NLMODE);
    /* up and down, sync and async, SYNCSTS */
    assert_int_equal(dlm_cvt(&h, DLM_EXMODE, NULL, 0, ARG(&r1), 0, blk, 0), DLM_SUCCESS);
    assert_int_equal(dlm_cvt(&h, DLM_PRMODE, NULL, DLM_SYNCSTS, ARG(&r1), 0, blk, 0), DLM_SYNCH);
    assert_int_equal(dlm_quecvt(&h, DLM_PWMODE, NULL, 0, ARG(&r1), 0, blk, 0, cpl), DLM_SUCCESS);
    assert_true(wait_for(&r1.cpl, 1));
    assert_int_equal(r1.status, DLM_SUCCESS);
    assert_int_equal(dlm_quecvt(&h, DLM_CRMODE, NULL, DLM_SYNCSTS, ARG(&r1), 0, blk, 0, cpl),
                     DLM_SYNCH);
    sleep_ms(50);
    assert_int_equal(r1.cpl, 1);
    /* a conflicting holder: NOQUEUE, timeout, QUECVT */
    assert_int_equal(dlm_lock(a, N("c1"), 2, NULL, &o, DLM_PRMODE, NULL, 0, ARG(&ro), 0, blk, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_cvt(&h, DLM_EXMODE, NULL, DLM_NOQUEUE, ARG(&r2), 0, blk, 0),
                     DLM_NOTQUEUED);
    assert_int_equal(dlm_cvt(&h, DLM_EXMODE, NULL, 0, ARG(&r2), 0, blk, 10), DLM_TIMEOUT);
    assert_int_equal(dlm_get_lkinfo(&h, &li), DLM_SUCCESS);
    assert_int_equal(li.grmode, DLM_CRMODE);
    assert_int_equal(li.lkstate, DLM_GRANTED);
    assert_int_equal(li.notprm, ARG(&r1)); /* a conversion not granted restores them */
    /* converting: LKBUSY; the new notprm/hint/blkrtn are in effect meanwhile */
    assert_int_equal(dlm_quecvt(&h, DLM_EXMODE, NULL, DLM_QUECVT, ARG(&r2), 0x22, blk, 0, cpl),
                     DLM_SUCCESS);
    assert_int_equal(dlm_cvt(&h, DLM_NLMODE, NULL, 0, ARG(&r2), 0, blk, 0), DLM_LKBUSY);
    assert_int_equal(dlm_quecvt(&h, DLM_NLMODE, NULL, 0, ARG(&r2), 0, blk, 0, cpl), DLM_LKBUSY);
    assert_int_equal(dlm_get_lkinfo(&h, &li), DLM_SUCCESS);
    assert_int_equal(li.lkstate, DLM_CONVERTING);
    assert_int_equal(li.rqmode, DLM_EXMODE);
    assert_int_equal(li.notprm, ARG(&r2));
    assert_int_equal(li.hint, 0x22);
    /* a waiting new lock: CVTUNGRANT */
    assert_int_equal(qlk(a, "c1", DLM_EXMODE, 0, &w, &rw, 0), DLM_SUCCESS);
    assert_int_equal(dlm_cvt(&w, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0), DLM_CVTUNGRANT);
    assert_int_equal(dlm_quecvt(&w, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0, cpl), DLM_CVTUNGRANT);
    /* the other holder leaves: the conversion, then the waiter */
    unlock_ok(&o);
    assert_true(wait_for(&r2.cpl, 1));
    assert_int_equal(r2.status, DLM_SUCCESS);
    assert_true(same_id(r2.cpl_lkid, h));
    /* QUECVT of an illegal pair (EX -> NL is not a QUECVT conversion) */
    assert_int_equal(dlm_cvt(&h, DLM_NLMODE, NULL, DLM_QUECVT, ARG(&r2), 0, blk, 0), DLM_BADPARAM);
    assert_int_equal(dlm_cvt(&h, DLM_NLMODE, NULL, 0, ARG(&r2), 0, blk, 0), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    unlock_ok(&w);
    unlock_ok(&h);
    assert_free(a, "c1");
}

/* ---- cancel ---- */

static void tc_cancel(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t h, w, c, unknown = {3, 4};
    struct rec rh = {0}, rw = {0}, rc = {0}, rc2 = {0};
    dlm_lkinfo_t li;

    (void)state;
    assert_int_equal(lk(a, "k1", DLM_EXMODE, 0, &h), DLM_SUCCESS);
    assert_int_equal(dlm_cancel(NULL, 0), DLM_BADPARAM);
    assert_int_equal(dlm_cancel(&h, 0x2), DLM_BADPARAM);
    assert_int_equal(dlm_cancel(&unknown, 0), DLM_IVLOCKID);
    assert_int_equal(dlm_cancel(&h, 0), DLM_CANCELGRANT);
    assert_int_equal(dlm_cancel(&h, DLM_CANCELWAITOK), DLM_CANCELGRANT);
    /* a waiting request: CANCELWAIT without CANCELWAITOK (still waiting), then cancelled */
    assert_int_equal(qlk(a, "k1", DLM_PRMODE, 0, &w, &rw, 0), DLM_SUCCESS);
    assert_int_equal(dlm_cancel(&w, 0), DLM_CANCELWAIT);
    assert_int_equal(dlm_get_lkinfo(&w, &li), DLM_SUCCESS);
    assert_int_equal(li.lkstate, DLM_WAITING);
    assert_int_equal(dlm_cancel(&w, DLM_CANCELWAITOK), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    assert_int_equal(rw.status, DLM_CANCEL);
    assert_int_equal(dlm_get_lkinfo(&w, &li), DLM_IVLOCKID);
    assert_int_equal(dlm_cancel(&w, DLM_CANCELWAITOK), DLM_IVLOCKID);
    /* a converting request reverts, and the old routines are back */
    assert_int_equal(dlm_lock(a, N("k2"), 2, NULL, &c, DLM_PRMODE, NULL, 0, ARG(&rc), 0x5, blk, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_lock(a, N("k2"), 2, NULL, &w, DLM_PRMODE, NULL, 0, ARG(&rh), 0, blk, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_quecvt(&c, DLM_EXMODE, NULL, 0, ARG(&rc2), 0x6, NULL, 0, cpl),
                     DLM_SUCCESS);
    sleep_ms(50);
    assert_int_equal(dlm_cancel(&c, 0), DLM_SUCCESS);
    assert_true(wait_for(&rc2.cpl, 1));
    assert_int_equal(rc2.status, DLM_CANCEL);
    assert_int_equal(rc.cpl, 0);
    assert_int_equal(dlm_get_lkinfo(&c, &li), DLM_SUCCESS);
    assert_int_equal(li.grmode, DLM_PRMODE);
    assert_int_equal(li.lkstate, DLM_GRANTED);
    assert_int_equal(li.notprm, ARG(&rc));
    assert_int_equal(li.hint, 0x5);
    assert_true(li.blkrtn == blk);
    /* a synchronous request that waited and was granted: nothing left to cancel */
    {
        struct waiter wt = {.nsp = a, .name = "k1", .mode = DLM_PRMODE};
        start_waiter(&wt);
        sleep_ms(100);
        assert_int_equal(wt.done, 0);
        unlock_ok(&h);
        pthread_join(wt.t, NULL);
        assert_int_equal(wt.st, DLM_SUCCESS);
        assert_int_equal(dlm_cancel(&wt.id, DLM_CANCELWAITOK), DLM_CANCELGRANT);
        unlock_ok(&wt.id);
    }
    /* a synchronous conversion cancelled from another thread: its caller gets DLM_CANCEL */
    {
        struct waiter wt = {.id = c, .mode = DLM_EXMODE};
        start_cvt(&wt);
        assert_int_equal(dlm_cancel(&c, 0), DLM_SUCCESS);
        pthread_join(wt.t, NULL);
        assert_int_equal(wt.st, DLM_CANCEL);
        assert_int_equal(dlm_get_lkinfo(&c, &li), DLM_SUCCESS);
        assert_int_equal(li.grmode, DLM_PRMODE);
    }
    unlock_ok(&c);
    unlock_ok(&w);
    assert_free(a, "k1");
    assert_free(a, "k2");
}

/* ---- unlock ---- */

static void tc_unlock(void **state)
{
    dlm_nsp_t a = join(0, 0), b = join(UID_A, DLM_USER);
    dlm_lkid_t h, h4, w, p, s, x[4], unknown = {5, 6}, zero = {0, 0};
    dlm_valb_t vb = {{1, 2, 3}};
    struct rec rw = {0}, rc = {0};

    (void)state;
    assert_int_equal(lk(a, "u1", DLM_EXMODE, 0, &h), DLM_SUCCESS);
    /* refused */
    assert_int_equal(dlm_unlock(NULL, NULL, 0), DLM_BADPARAM);
    assert_int_equal(dlm_unlock(&h, NULL, DLM_VALB), DLM_BADPARAM);
    assert_int_equal(dlm_unlock(&h, &vb, DLM_VALB | DLM_INVVALBLK), DLM_BADPARAM);
    assert_int_equal(dlm_unlock(&h, NULL, DLM_NOQUEUE), DLM_BADPARAM);
    assert_int_equal(dlm_unlock(&h, NULL, DLM_DEQALL), DLM_BADPARAM);
    assert_int_equal(dlm_unlock(NULL, &vb, DLM_DEQALL | DLM_VALB), DLM_BADPARAM);
    assert_int_equal(dlm_unlock(&unknown, NULL, 0), DLM_IVLOCKID);
    assert_int_equal(dlm_unlock(&zero, NULL, 0), DLM_IVLOCKID);
    assert_int_equal(lk(a, "u1", DLM_EXMODE, DLM_NOQUEUE, &w), DLM_NOTQUEUED);
    /* a waiting request dequeued: SUCCESS, its routine DLM_ABORT */
    assert_int_equal(qlk(a, "u1", DLM_EXMODE, 0, &w, &rw, 0), DLM_SUCCESS);
    sleep_ms(50);
    assert_int_equal(dlm_unlock(&w, NULL, 0), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    assert_int_equal(rw.status, DLM_ABORT);
    assert_int_equal(dlm_unlock(&w, NULL, 0), DLM_IVLOCKID);
    /* a converting one: the lock goes, the conversion's routine gets DLM_ABORT */
    assert_int_equal(lk(a, "u2", DLM_PRMODE, 0, &s), DLM_SUCCESS);
    assert_int_equal(lk(a, "u2", DLM_PRMODE, 0, &w), DLM_SUCCESS);
    assert_int_equal(dlm_quecvt(&w, DLM_EXMODE, NULL, 0, ARG(&rc), 0, NULL, 0, cpl), DLM_SUCCESS);
    sleep_ms(50);
    assert_int_equal(dlm_unlock(&w, NULL, 0), DLM_SUCCESS);
    assert_true(wait_for(&rc.cpl, 1));
    assert_int_equal(rc.status, DLM_ABORT);
    /* a synchronous conversion dequeued by another thread's unlock: DLM_ABORT */
    {
        struct waiter wt = {.mode = DLM_EXMODE};
        assert_int_equal(lk(a, "u2", DLM_PRMODE, 0, &wt.id), DLM_SUCCESS);
        start_cvt(&wt);
        assert_int_equal(dlm_unlock(&wt.id, NULL, 0), DLM_SUCCESS);
        pthread_join(wt.t, NULL);
        assert_int_equal(wt.st, DLM_ABORT);
        assert_int_equal(dlm_unlock(&wt.id, NULL, 0), DLM_IVLOCKID);
    }
    unlock_ok(&s);
    assert_free(a, "u2");
    /* a parent lock that is not granted: PARNOTGRANT, for a sublock request */
    assert_int_equal(lk(a, "u4", DLM_EXMODE, 0, &h4), DLM_SUCCESS);
    memset(&rw, 0, sizeof(rw));
    assert_int_equal(qlk(a, "u4", DLM_EXMODE, 0, &p, &rw, 0), DLM_SUCCESS);
    sleep_ms(50);
    assert_int_equal(dlm_lock(a, N("sub"), 3, &p, &s, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_PARNOTGRANT);
    assert_int_equal(dlm_unlock(&p, NULL, 0), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    assert_int_equal(rw.status, DLM_ABORT);
    unlock_ok(&h4);
    /* sublocks */
    assert_int_equal(lk(a, "u3", DLM_EXMODE, 0, &p), DLM_SUCCESS);
    assert_int_equal(dlm_lock(a, N("sub"), 3, &p, &s, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_unlock(&p, NULL, 0), DLM_SUBLOCKS);
    unlock_ok(&s);
    unlock_ok(&p);
    /* DEQALL: every lock in every namespace, sublocks first */
    assert_int_equal(lk(a, "d1", DLM_EXMODE, 0, &x[0]), DLM_SUCCESS);
    assert_int_equal(dlm_lock(a, N("d1s"), 3, &x[0], &x[1], DLM_PRMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_lock(a, N("d1t"), 3, &x[1], &x[2], DLM_PRMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    assert_int_equal(lk(b, "d2", DLM_EXMODE, 0, &x[3]), DLM_SUCCESS);
    assert_int_equal(dlm_unlock(NULL, NULL, DLM_DEQALL), DLM_SUCCESS);
    for (int i = 0; i < 4; i++)
        assert_int_equal(dlm_unlock(&x[i], NULL, 0), DLM_IVLOCKID);
    assert_free(a, "u1");
    assert_free(a, "d1");
    assert_free(b, "d2");
    assert_int_equal(dlm_unlock(NULL, NULL, DLM_DEQALL), DLM_SUCCESS); /* nothing left */
}

/* ---- value blocks ---- */

static void tc_value_block(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t w, r;
    dlm_valb_t vb = {{0}}, rb = {{0}};
    dlm_rsbinfo_t ri;
    struct rec rec = {0};

    (void)state;
    assert_int_equal(dlm_lock(a, N("v1"), 2, NULL, &w, DLM_EXMODE, &vb, DLM_VALB, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    for (int i = 0; i < DLM_VALBLKSIZE; i++)
        vb.valblk[i] = 100u + (unsigned)i;
    /* down from EX with VALB writes */
    assert_int_equal(dlm_cvt(&w, DLM_NLMODE, &vb, DLM_VALB, 0, 0, NULL, 0), DLM_SUCCESS);
    assert_int_equal(dlm_lock(a, N("v1"), 2, NULL, &r, DLM_PRMODE, &rb, DLM_VALB, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    assert_memory_equal(&rb, &vb, sizeof(vb));
    unlock_ok(&r);
    /* the writer up again, a new value, written by the unlock */
    memset(&rb, 0, sizeof(rb));
    assert_int_equal(dlm_cvt(&w, DLM_PWMODE, &rb, DLM_VALB, 0, 0, NULL, 0), DLM_SUCCESS);
    assert_memory_equal(&rb, &vb, sizeof(vb));
    rb.valblk[0] = 777;
    assert_int_equal(dlm_unlock(&w, &rb, DLM_VALB), DLM_SUCCESS);
    assert_int_equal(dlm_lock(a, N("v1"), 2, NULL, &w, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_SUCCESS); /* keeps the resource */
    memset(&vb, 0, sizeof(vb));
    assert_int_equal(dlm_quelock(a, N("v1"), 2, NULL, &r, DLM_CRMODE, &vb, DLM_VALB | DLM_SYNCSTS,
                                 0, 0, NULL, 0, NULL),
                     DLM_SYNCH);
    assert_int_equal(vb.valblk[0], 777);
    unlock_ok(&r);
    /* invalidated by an unlock: SUCCVALNOTVALID / SYNCVALNOTVALID, vbstatus INVALID */
    assert_int_equal(dlm_lock(a, N("v1"), 2, NULL, &r, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_unlock(&r, NULL, DLM_INVVALBLK), DLM_SUCCESS);
    assert_int_equal(dlm_get_rsbinfo(a, N("v1"), 2, &ri, NULL), DLM_SUCCESS);
    assert_int_equal(ri.vbstatus, DLM_VB_INVALID);
    assert_int_equal(dlm_lock(a, N("v1"), 2, NULL, &r, DLM_PRMODE, &vb, DLM_VALB, 0, 0, NULL, 0),
                     DLM_SUCCVALNOTVALID);
    unlock_ok(&r);
    assert_int_equal(
        dlm_lock(a, N("v1"), 2, NULL, &r, DLM_EXMODE, &vb, DLM_VALB | DLM_SYNCSTS, 0, 0, NULL, 0),
        DLM_SYNCVALNOTVALID);
    unlock_ok(&r);
    /* the same through conversions (w is NL) and through a completion routine */
    assert_int_equal(dlm_cvt(&w, DLM_PRMODE, &vb, DLM_VALB, 0, 0, NULL, 0), DLM_SUCCVALNOTVALID);
    assert_int_equal(dlm_cvt(&w, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0), DLM_SUCCESS);
    assert_int_equal(dlm_cvt(&w, DLM_CRMODE, &vb, DLM_VALB | DLM_SYNCSTS, 0, 0, NULL, 0),
                     DLM_SYNCVALNOTVALID);
    assert_int_equal(dlm_quecvt(&w, DLM_PRMODE, &vb, DLM_VALB, ARG(&rec), 0, NULL, 0, cpl),
                     DLM_SUCCESS);
    assert_true(wait_for(&rec.cpl, 1));
    assert_int_equal(rec.status, DLM_SUCCVALNOTVALID);
    assert_int_equal(dlm_cvt(&w, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0), DLM_SUCCESS);
    assert_int_equal(
        dlm_quelock(a, N("v1"), 2, NULL, &r, DLM_EXMODE, &vb, DLM_VALB, ARG(&rec), 0, NULL, 0, cpl),
        DLM_SUCCESS);
    assert_true(wait_for(&rec.cpl, 2));
    assert_int_equal(rec.status, DLM_SUCCVALNOTVALID);
    vb.valblk[0] = 1;
    /* an EX holder writes it: valid again */
    assert_int_equal(dlm_unlock(&r, &vb, DLM_VALB), DLM_SUCCESS);
    assert_int_equal(dlm_get_rsbinfo(a, N("v1"), 2, &ri, NULL), DLM_SUCCESS);
    assert_int_equal(ri.vbstatus, DLM_VB_VALID);
    assert_int_equal(ri.valb.valblk[0], 1);
    unlock_ok(&w);
}

/* ---- information ---- */

static void tc_info(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t h, s, w, c, unknown = {9, 9};
    dlm_valb_t vb = {{42}};
    struct rec r = {0}, rw = {0};
    dlm_lkinfo_t li;
    dlm_rsbinfo_t ri;

    (void)state;
    assert_int_equal(dlm_lock(a, N("i1"), 2, NULL, &h, DLM_PWMODE, &vb, DLM_VALB | DLM_NODLCKWT,
                              ARG(&r), 0x99, blk, 500),
                     DLM_SUCCESS);
    assert_int_equal(dlm_get_lkinfo(NULL, &li), DLM_BADPARAM);
    assert_int_equal(dlm_get_lkinfo(&h, NULL), DLM_BADPARAM);
    assert_int_equal(dlm_get_lkinfo(&unknown, &li), DLM_IVLOCKID);
    assert_int_equal(dlm_get_lkinfo(&h, &li), DLM_SUCCESS);
    assert_int_equal(li.resnlen, 2);
    assert_memory_equal(li.resnam, "i1", 2);
    assert_int_equal(li.parlkid.seqn, 0);
    assert_int_equal(li.parlkid.hndl, 0);
    assert_int_equal(li.rqmode, DLM_PWMODE);
    assert_int_equal(li.grmode, DLM_PWMODE);
    assert_int_equal(li.lkstate, DLM_GRANTED);
    assert_ptr_equal(li.valb, &vb);
    assert_int_equal(li.flags, DLM_VALB | DLM_NODLCKWT);
    assert_int_equal(li.notprm, ARG(&r));
    assert_int_equal(li.hint, 0x99);
    assert_true(li.blkrtn == blk);
    assert_int_equal(li.timeout, 500);
    assert_null(li.cplrtn);
    assert_int_equal(li.sig, 0);
    assert_int_equal(li.lk_pid, getpid());
    /* a sublock */
    assert_int_equal(dlm_lock(a, N("i1s"), 3, &h, &s, DLM_CRMODE, NULL, 0, 0, 0, NULL, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_get_lkinfo(&s, &li), DLM_SUCCESS);
    assert_true(same_id(li.parlkid, h));
    /* a waiting request and a converting one: their states and queue modes */
    assert_int_equal(
        dlm_quelock(a, N("i1"), 2, NULL, &w, DLM_EXMODE, NULL, 0, ARG(&rw), 0, NULL, 0, cpl),
        DLM_SUCCESS);
    assert_int_equal(lk(a, "i2", DLM_PRMODE, 0, &c), DLM_SUCCESS);
    sleep_ms(50);
    assert_int_equal(dlm_get_lkinfo(&w, &li), DLM_SUCCESS);
    assert_int_equal(li.lkstate, DLM_WAITING);
    assert_int_equal(li.grmode, DLM_NOMODE);
    assert_int_equal(li.rqmode, DLM_EXMODE);
    assert_true(li.cplrtn == cpl);
    /* the resource */
    assert_int_equal(dlm_get_rsbinfo(a, N("i1"), 2, NULL, NULL), DLM_BADPARAM);
    assert_int_equal(dlm_get_rsbinfo(a, NULL, 2, &ri, NULL), DLM_BADPARAM);
    assert_int_equal(dlm_get_rsbinfo(a, N("i1"), 0, &ri, NULL), DLM_IVBUFLEN);
    assert_int_equal(dlm_get_rsbinfo(a, N("i1"), 65, &ri, NULL), DLM_IVBUFLEN);
    assert_int_equal(dlm_get_rsbinfo(a + 1, N("i1"), 2, &ri, NULL), DLM_NOTATTACHED);
    assert_int_equal(dlm_get_rsbinfo(a, N("i1s"), 3, &ri, &unknown), DLM_IVLOCKID);
    assert_int_equal(dlm_get_rsbinfo(a, N("i1"), 2, &ri, NULL), DLM_SUCCESS);
    assert_int_equal(ri.lckcnt, 2);
    assert_int_equal(ri.ggcnt, 1);
    assert_int_equal(ri.ggmode, DLM_PWMODE);
    assert_int_equal(ri.wtqmode, DLM_EXMODE);
    assert_int_equal(ri.cvtqmode, DLM_NOMODE);
    assert_int_equal(ri.subrescnt, 1);
    assert_int_equal(ri.vbstatus, DLM_VB_NONE);
    assert_int_equal(dlm_get_rsbinfo(a, N("i1s"), 3, &ri, &h), DLM_SUCCESS);
    assert_int_equal(ri.lckcnt, 1);
    assert_int_equal(ri.ggmode, DLM_CRMODE);
    assert_int_equal(dlm_get_rsbinfo(a, N("i-none"), 6, &ri, NULL), DLM_ENOENT);
    unlock_ok(&s);
    unlock_ok(&h);
    assert_true(wait_for(&rw.cpl, 1));
    unlock_ok(&w);
    unlock_ok(&c);
}

/* ---- delivery ---- */

static void tc_default_delivery(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t h, w;
    struct rec rh = {0}, rw = {0};

    (void)state;
    assert_int_equal(dlm_lock(a, N("dd"), 2, NULL, &h, DLM_EXMODE, NULL, 0, ARG(&rh), 0, blk, 0),
                     DLM_SUCCESS);
    assert_int_equal(qlk(a, "dd", DLM_EXMODE, 0, &w, &rw, 3), DLM_SUCCESS);
    /* nobody calls the library: the dispatch thread runs the routines */
    assert_true(wait_for(&rh.blk, 1));
    assert_false(pthread_equal(rh.thread, pthread_self()));
    assert_int_equal(dlm_notify(), 0);
    unlock_ok(&h);
    assert_true(wait_for(&rw.cpl, 1));
    assert_false(pthread_equal(rw.thread, pthread_self()));
    unlock_ok(&w);
}

static volatile int g_prog_handler;

static void prog_handler(int sig)
{
    (void)sig;
    g_prog_handler++;
}

/* The routine that converts the holder down from inside the signal handler. */
static dlm_lkid_t g_holder;
static volatile int g_downs;

static void blk_down(callback_arg_t notprm, callback_arg_t hint, dlm_lkid_t *lkid,
                     dlm_lkmode_t mode)
{
    (void)hint;
    (void)mode;
    if (dlm_cvt(lkid, DLM_NLMODE, NULL, 0, notprm, 0, blk_down, 0) == DLM_SUCCESS)
        g_downs++;
}

static void tc_signal_delivery(void **state)
{
    struct sigaction prog = {.sa_handler = prog_handler}, now;
    dlm_nsp_t a;
    dlm_lkid_t w;
    struct rec rw = {0};
    int old = -1;

    (void)state;
    sigaction(SIGUSR2, &prog, NULL);
    a = join(0, 0);
    assert_int_equal(dlm_set_signal(SIGKILL, &old), DLM_BADPARAM);
    assert_int_equal(dlm_set_signal(SIGSTOP, &old), DLM_BADPARAM);
    assert_int_equal(dlm_set_signal(-1, &old), DLM_BADPARAM);
    assert_int_equal(dlm_set_signal(SIGRTMAX + 1, &old), DLM_BADPARAM);
    assert_int_equal(old, -1);
    assert_int_equal(dlm_set_signal(SIGUSR2, &old), DLM_SUCCESS);
    assert_int_equal(old, 0);
    assert_int_equal(dlm_set_signal(SIGUSR2, NULL), DLM_SUCCESS);
    /* routines run in the handler, in this (the only unblocked) thread; they may call the
     * library synchronously */
    assert_int_equal(
        dlm_lock(a, N("sg"), 2, NULL, &g_holder, DLM_EXMODE, NULL, 0, 0, 0, blk_down, 0),
        DLM_SUCCESS);
    assert_int_equal(dlm_get_lkinfo(&g_holder, &(dlm_lkinfo_t){0}), DLM_SUCCESS);
    assert_int_equal(qlk(a, "sg", DLM_PRMODE, 0, &w, &rw, 0), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    assert_int_equal(g_downs, 1);
    assert_int_equal(rw.status, DLM_SUCCESS);
    assert_true(pthread_equal(rw.thread, pthread_self()));
    assert_int_equal(g_prog_handler, 0);
    {
        dlm_lkinfo_t li;
        assert_int_equal(dlm_get_lkinfo(&w, &li), DLM_SUCCESS);
        assert_int_equal(li.sig, SIGUSR2);
    }
    unlock_ok(&w);
    /* polling: queued until dlm_notify, which says how many it ran */
    assert_int_equal(dlm_set_signal(0, &old), DLM_SUCCESS);
    assert_int_equal(old, SIGUSR2);
    sigaction(SIGUSR2, NULL, &now);
    assert_true(now.sa_handler == prog_handler); /* the program's handler is back */
    memset(&rw, 0, sizeof(rw));
    g_downs = 0;
    assert_int_equal(dlm_cvt(&g_holder, DLM_EXMODE, NULL, 0, 0, 0, blk_down, 0), DLM_SUCCESS);
    assert_int_equal(qlk(a, "sg", DLM_PRMODE, 0, &w, &rw, 0), DLM_SUCCESS);
    sleep_ms(200);
    assert_int_equal(g_downs, 0);
    assert_int_equal(rw.cpl, 0);
    for (int i = 0; i < WAIT_MS && rw.cpl == 0; i++) {
        dlm_notify();
        sleep_ms(1);
    }
    assert_int_equal(g_downs, 1);
    assert_int_equal(rw.cpl, 1);
    assert_int_equal(rw.status, DLM_SUCCESS);
    assert_true(pthread_equal(rw.thread, pthread_self()));
    assert_int_equal(dlm_notify(), 0);
    assert_int_equal(dlm_set_signal(0, &old), DLM_SUCCESS);
    assert_int_equal(old, 0);
    unlock_ok(&w);
    unlock_ok(&g_holder);
    /* dlm_detach puts the default delivery back */
    assert_int_equal(dlm_detach(), DLM_SUCCESS);
    a = join(0, 0);
    memset(&rw, 0, sizeof(rw));
    assert_int_equal(qlk(a, "sg", DLM_PRMODE, 0, &w, &rw, 0), DLM_SUCCESS);
    assert_true(wait_for(&rw.cpl, 1));
    assert_false(pthread_equal(rw.thread, pthread_self()));
    unlock_ok(&w);
    signal(SIGUSR2, SIG_DFL);
}

/* ---- transactions and deadlocks ---- */

static void tc_transactions(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_lkid_t t1a, t2b, t1b, t2a;
    struct rec r1 = {0}, r2 = {0};

    (void)state;
    assert_int_equal(dlm_locktp(a, N("ta"), 2, NULL, &t1a, DLM_EXMODE, NULL, DLM_TXID_GLOBAL, 0, 0,
                                NULL, 0, 1001, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_locktp(a, N("tb"), 2, NULL, &t2b, DLM_EXMODE, NULL, DLM_TXID_LOCAL, 0, 0,
                                NULL, 0, 1002, 0),
                     DLM_SUCCESS);
    /* each waits for the other: one of them is the victim */
    assert_int_equal(dlm_quelocktp(a, N("tb"), 2, NULL, &t1b, DLM_EXMODE, NULL, DLM_TXID_GLOBAL,
                                   ARG(&r1), 0, NULL, 0, cpl, 1001, 0),
                     DLM_SUCCESS);
    assert_int_equal(dlm_quelocktp(a, N("ta"), 2, NULL, &t2a, DLM_EXMODE, NULL, DLM_TXID_LOCAL,
                                   ARG(&r2), 0, NULL, 0, cpl, 1002, 0),
                     DLM_SUCCESS);
    for (int i = 0; i < 4 * WAIT_MS && r1.cpl + r2.cpl == 0; i++)
        sleep_ms(1);
    assert_int_equal(r1.cpl + r2.cpl, 1);
    if (r1.cpl) {
        assert_int_equal(r1.status, DLM_DEADLOCK);
        unlock_ok(&t1a);
        assert_true(wait_for(&r2.cpl, 1));
        assert_int_equal(r2.status, DLM_SUCCESS);
        unlock_ok(&t2a);
    } else {
        assert_int_equal(r2.status, DLM_DEADLOCK);
        unlock_ok(&t2b);
        assert_true(wait_for(&r1.cpl, 1));
        assert_int_equal(r1.status, DLM_SUCCESS);
        unlock_ok(&t1b);
    }
    assert_int_equal(dlm_unlock(NULL, NULL, DLM_DEQALL), DLM_SUCCESS);
}

/* ---- group lock containers ---- */

/* Children are forked before this process is in a container: a child of an attached process
 * would inherit the native attachment. They get their orders through a pipe. */
struct kid {
    pid_t pid;
    int to[2], from[2];
};

static void kid_start(struct kid *k, void (*fn)(struct kid *))
{
    assert_int_equal(pipe(k->to), 0);
    assert_int_equal(pipe(k->from), 0);
    k->pid = fork();
    assert_true(k->pid >= 0);
    if (k->pid == 0) {
        close(k->to[1]);
        close(k->from[0]);
        fn(k);
        _exit(0);
    }
    close(k->to[0]);
    close(k->from[1]);
}

static void put64(int fd, uint64_t v)
{
    if (write(fd, &v, sizeof(v)) != sizeof(v))
        _exit(101);
}

static uint64_t get64(int fd)
{
    uint64_t v = 0;
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (;;) {
        ssize_t n = read(fd, &v, sizeof(v));
        if (n == sizeof(v))
            return v;
        if (n == 0)
            return UINT64_MAX;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20)
            return UINT64_MAX;
        sleep_ms(2);
    }
}

static uint64_t lkid64(dlm_lkid_t id)
{
    return ((uint64_t)id.hndl << 32) | id.seqn;
}

static dlm_lkid_t lkid_of(uint64_t v)
{
    return (dlm_lkid_t){(unsigned)v, (unsigned)(v >> 32)};
}

/* The other PR holder of tc_conversion_deadlock: converts to EX when told, reports. */
static void cd_holder(struct kid *k)
{
    dlm_nsp_t nsp = -1;
    dlm_lkid_t id;
    dlm_status_t st;

    CHILD_CHECK(dlm_nsjoin(0, &nsp, 0) == DLM_SUCCESS);
    CHILD_CHECK(lk(nsp, "cd", DLM_PRMODE, 0, &id) == DLM_SUCCESS);
    put64(k->from[1], 1);
    CHILD_CHECK(get64(k->to[0]) == 1);
    st = dlm_cvt(&id, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0);
    put64(k->from[1], (uint64_t)st);
    CHILD_CHECK(get64(k->to[0]) == 2);
    CHILD_CHECK(dlm_unlock(&id, NULL, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_detach() == DLM_SUCCESS);
}

/* Two PR holders (two processes) both converting to EX: a conversion deadlock, one of the
 * two conversions is the victim (its lock stays PR), the other is granted once it leaves. */
static void tc_conversion_deadlock(void **state)
{
    struct kid k;
    dlm_nsp_t a;
    dlm_lkid_t x;
    struct rec rx = {0};
    uint64_t theirs;

    (void)state;
    kid_start(&k, cd_holder);
    a = join(0, 0);
    assert_int_equal(get64(k.from[0]), 1);
    assert_int_equal(lk(a, "cd", DLM_PRMODE, 0, &x), DLM_SUCCESS);
    assert_int_equal(dlm_quecvt(&x, DLM_EXMODE, NULL, 0, ARG(&rx), 0, NULL, 0, cpl), DLM_SUCCESS);
    put64(k.to[1], 1);
    theirs = get64(k.from[0]); /* the child's dlm_cvt returned: a victim was chosen */
    if (theirs == DLM_DEADLOCK) {
        put64(k.to[1], 2); /* the child unlocks: ours is granted */
        assert_true(wait_for(&rx.cpl, 1));
        assert_int_equal(rx.status, DLM_SUCCESS);
    } else {
        assert_int_equal(theirs, DLM_SUCCESS); /* granted after ours failed */
        assert_true(wait_for(&rx.cpl, 1));
        assert_int_equal(rx.status, DLM_DEADLOCK);
        put64(k.to[1], 2);
    }
    assert_int_equal(wait_child(k.pid), 0);
    unlock_ok(&x);
    assert_free(a, "cd");
}

/* A member: attaches, converts and unlocks the creator's group lock, makes one of its own,
 * and detaches when told. */
static void glc_member(struct kid *k)
{
    dlm_glc_id_t id = get64(k->to[0]);
    dlm_lkid_t gl = lkid_of(get64(k->to[0])), mine;
    dlm_nsp_t nsp = -1;

    CHILD_CHECK(dlm_glc_attach(id, 0) == DLM_NOTATTACHED); /* no namespace yet */
    CHILD_CHECK(dlm_nsjoin(0, &nsp, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_glc_attach(id ^ 0x5a5a0000u, 0) == DLM_ENOENT);
    CHILD_CHECK(dlm_glc_attach(id, 1) == DLM_BADPARAM);
    CHILD_CHECK(dlm_glc_attach(id, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_glc_attach(id, 0) == DLM_ATTACHED);
    CHILD_CHECK(dlm_cvt(&gl, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_cvt(&gl, DLM_PWMODE, NULL, 0, 0, 0, NULL, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_unlock(&gl, NULL, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_locktp(nsp, N("g2"), 2, NULL, &mine, DLM_EXMODE, NULL, DLM_GROUP_LOCK, 0, 0,
                           NULL, 0, 0, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_nsleave(&nsp, 0) == DLM_ATTACHEDGROUP);
    put64(k->from[1], lkid64(mine));
    CHILD_CHECK(get64(k->to[0]) == 1);
    CHILD_CHECK(dlm_glc_detach() == DLM_SUCCESS);
    CHILD_CHECK(dlm_glc_detach() == DLM_NOTATTACHED);
    put64(k->from[1], 2);
}

/* Attaches and stays until killed. */
static void glc_sitter(struct kid *k)
{
    dlm_glc_id_t id = get64(k->to[0]);
    dlm_nsp_t nsp = -1;

    CHILD_CHECK(dlm_nsjoin(0, &nsp, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_glc_attach(id, 0) == DLM_SUCCESS);
    put64(k->from[1], 1);
    for (;;)
        pause();
}

/* Not root, not the creator, none of the container's namespaces: NOACCESS. */
static void glc_stranger(struct kid *k)
{
    dlm_glc_id_t id = get64(k->to[0]);
    dlm_nsp_t nsp = -1;

    CHILD_CHECK(setgroups(0, NULL) == 0 && setegid(NOBODY) == 0 && seteuid(NOBODY) == 0);
    CHILD_CHECK(dlm_nsjoin(NOBODY, &nsp, DLM_USER) == DLM_SUCCESS);
    CHILD_CHECK(dlm_glc_destroy(id, 0) == DLM_NOACCESS);
    CHILD_CHECK(dlm_detach() == DLM_SUCCESS);
    put64(k->from[1], 1);
}

static void tc_glc_arguments(void **state)
{
    dlm_nsp_t a = join(0, 0), list[2], many[DLM_NSPROCMAX + 1];
    dlm_glc_id_t id = 5, id2 = 6;

    (void)state;
    list[0] = a;
    list[1] = a + 1;
    for (int i = 0; i <= DLM_NSPROCMAX; i++)
        many[i] = a;
    assert_int_equal(dlm_glc_create(NULL, 0, list, 1), DLM_BADPARAM);
    assert_int_equal(dlm_glc_create(&id, 0, NULL, 1), DLM_BADPARAM);
    assert_int_equal(dlm_glc_create(&id, 0, list, 0), DLM_BADPARAM);
    assert_int_equal(dlm_glc_create(&id, 0, many, DLM_NSPROCMAX + 1), DLM_BADPARAM);
    assert_int_equal(dlm_glc_create(&id, DLM_GLC_OWNED | DLM_GLC_PERM, list, 1), DLM_BADPARAM);
    assert_int_equal(dlm_glc_create(&id, DLM_GLC_LOCKS, list, 1), DLM_BADPARAM);
    assert_int_equal(dlm_glc_create(&id, 0, list, 2), DLM_NOTATTACHED);
    assert_int_equal(id, 5);
    assert_int_equal(dlm_glc_detach(), DLM_NOTATTACHED);
    assert_int_equal(dlm_glc_destroy(1, DLM_GLC_PERM), DLM_BADPARAM);
    assert_int_equal(dlm_glc_destroy(0, 0), DLM_ENOENT);
    assert_int_equal(dlm_glc_destroy(0x12345678, 0), DLM_ENOENT);
    assert_int_equal(dlm_glc_attach(0, 0), DLM_ENOENT);
    assert_int_equal(dlm_glc_attach(0x12345678, 0), DLM_ENOENT);
    assert_int_equal(dlm_glc_create(&id, 0, list, 1), DLM_SUCCESS);
    assert_int_equal(dlm_glc_create(&id2, 0, list, 1), DLM_ATTACHED);
    assert_int_equal(id2, 6);
    assert_int_equal(dlm_glc_attach(id, 0), DLM_ATTACHED);
    assert_int_equal(dlm_nsleave(&a, 0), DLM_ATTACHEDGROUP);
    assert_int_equal(dlm_glc_detach(), DLM_SUCCESS); /* the last: destroyed */
    assert_int_equal(dlm_glc_attach(id, 0), DLM_ENOENT);
    /* a pending group request of the caller is cancelled by its detach */
    {
        dlm_lkid_t own, grp;
        struct rec r = {0};
        assert_int_equal(lk(a, "gw", DLM_EXMODE, 0, &own), DLM_SUCCESS);
        assert_int_equal(dlm_glc_create(&id, 0, list, 1), DLM_SUCCESS);
        assert_int_equal(dlm_quelocktp(a, N("gw"), 2, NULL, &grp, DLM_EXMODE, NULL, DLM_GROUP_LOCK,
                                       ARG(&r), 0, NULL, 0, cpl, 0, 0),
                         DLM_SUCCESS);
        sleep_ms(50);
        assert_int_equal(r.cpl, 0);
        assert_int_equal(dlm_glc_detach(), DLM_SUCCESS);
        assert_true(wait_for(&r.cpl, 1));
        assert_int_equal(r.status, DLM_CANCEL);
        unlock_ok(&own);
        assert_free(a, "gw");
    }
    assert_int_equal(dlm_nsleave(&a, 0), DLM_SUCCESS);
}

static void tc_glc_members(void **state)
{
    struct kid k;
    dlm_nsp_t a;
    dlm_glc_id_t id;
    dlm_lkid_t gl, theirs;
    dlm_lkinfo_t li;

    (void)state;
    kid_start(&k, glc_member);
    a = join(0, 0);
    assert_int_equal(dlm_glc_create(&id, 0, &a, 1), DLM_SUCCESS);
    assert_int_equal(
        dlm_locktp(a, N("g1"), 2, NULL, &gl, DLM_EXMODE, NULL, DLM_GROUP_LOCK, 0, 0, NULL, 0, 0, 0),
        DLM_SUCCESS);
    /* a group lock is not a lock of the process: no HASLOCKS for it */
    assert_int_equal(dlm_nsleave(&a, 0), DLM_ATTACHEDGROUP);
    put64(k.to[1], id);
    put64(k.to[1], lkid64(gl));
    theirs = lkid_of(get64(k.from[0]));
    assert_true(lkid64(theirs) != UINT64_MAX);
    /* the member unlocked ours; we may manipulate theirs */
    assert_free(a, "g1");
    assert_int_equal(dlm_get_lkinfo(&theirs, &li), DLM_IVLOCKID); /* not ours: no record */
    assert_int_equal(dlm_cvt(&theirs, DLM_PRMODE, NULL, 0, 0, 0, NULL, 0), DLM_SUCCESS);
    assert_int_equal(dlm_cancel(&theirs, 0), DLM_CANCELGRANT);
    assert_int_equal(dlm_glc_destroy(id, 0), DLM_HASPROCS);
    assert_int_equal(dlm_glc_detach(), DLM_SUCCESS); /* the member keeps it */
    assert_int_equal(dlm_cvt(&theirs, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0), DLM_IVLOCKID);
    assert_int_equal(dlm_glc_destroy(id, 0), DLM_HASPROCS);
    assert_int_equal(dlm_glc_destroy(id, DLM_GLC_LOCKS), DLM_HASPROCS);
    put64(k.to[1], 1); /* the member's detach is the last: its locks go */
    assert_int_equal(get64(k.from[0]), 2);
    assert_int_equal(wait_child(k.pid), 0);
    assert_free(a, "g2");
    assert_int_equal(dlm_glc_destroy(id, 0), DLM_ENOENT);
}

static void tc_glc_perm_force_owned(void **state)
{
    struct kid stranger, sitter, owned;
    dlm_nsp_t a;
    dlm_glc_id_t id;
    dlm_lkid_t gl;

    (void)state;
    if (geteuid() != 0)
        skip();
    open_cluster_dir();
    kid_start(&stranger, glc_stranger);
    kid_start(&sitter, glc_sitter);
    kid_start(&owned, glc_sitter);
    a = join(0, 0);
    /* PERM: survives its last detach, with its locks */
    assert_int_equal(dlm_glc_create(&id, DLM_GLC_PERM, &a, 1), DLM_SUCCESS);
    assert_int_equal(
        dlm_locktp(a, N("g3"), 2, NULL, &gl, DLM_EXMODE, NULL, DLM_GROUP_LOCK, 0, 0, NULL, 0, 0, 0),
        DLM_SUCCESS);
    assert_int_equal(dlm_glc_detach(), DLM_SUCCESS);
    assert_int_equal(lk(a, "g3", DLM_EXMODE, DLM_NOQUEUE, &gl), DLM_NOTQUEUED);
    assert_int_equal(dlm_glc_destroy(id, 0), DLM_HASLOCKS);
    put64(stranger.to[1], id);
    assert_int_equal(get64(stranger.from[0]), 1);
    assert_int_equal(wait_child(stranger.pid), 0);
    assert_int_equal(dlm_glc_destroy(id, DLM_GLC_LOCKS), DLM_SUCCESS);
    assert_int_equal(dlm_glc_destroy(id, DLM_GLC_LOCKS), DLM_ENOENT);
    assert_free(a, "g3");
    /* FORCE: destroyed with an attached process, which is killed */
    assert_int_equal(dlm_glc_create(&id, 0, &a, 1), DLM_SUCCESS);
    put64(sitter.to[1], id);
    assert_int_equal(get64(sitter.from[0]), 1);
    assert_int_equal(dlm_glc_detach(), DLM_SUCCESS);
    assert_int_equal(dlm_glc_destroy(id, DLM_GLC_LOCKS), DLM_HASPROCS);
    assert_int_equal(dlm_glc_destroy(id, DLM_GLC_FORCE), DLM_SUCCESS);
    assert_int_equal(wait_child(sitter.pid), 128 + SIGKILL);
    assert_int_equal(dlm_glc_attach(id, 0), DLM_ENOENT);
    /* OWNED: the creator's detach destroys it and kills the members */
    assert_int_equal(dlm_glc_create(&id, DLM_GLC_OWNED, &a, 1), DLM_SUCCESS);
    put64(owned.to[1], id);
    assert_int_equal(get64(owned.from[0]), 1);
    assert_int_equal(dlm_glc_detach(), DLM_SUCCESS);
    assert_int_equal(wait_child(owned.pid), 128 + SIGKILL);
    assert_int_equal(dlm_glc_attach(id, 0), DLM_ENOENT);
}

/* ---- recovery domains ---- */

static void tc_rd_arguments(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_rd_id_t rd = 77, rds[DLM_RDPROCMAX];
    dlm_rd_collection_hndl_t h = 5;
    char name[40];
    int n = 0;

    (void)state;
    assert_int_equal(dlm_rd_attach(NULL, &rd, DLM_RD_PROCESS), DLM_BADPARAM);
    assert_int_equal(dlm_rd_attach("", &rd, DLM_RD_PROCESS), DLM_BADPARAM);
    assert_int_equal(dlm_rd_attach("rda", NULL, DLM_RD_PROCESS), DLM_BADPARAM);
    assert_int_equal(dlm_rd_attach("rda", &rd, 0), DLM_BADPARAM);
    assert_int_equal(dlm_rd_attach("rda", &rd, DLM_RD_PROCESS | DLM_RD_GROUP), DLM_BADPARAM);
    assert_int_equal(dlm_rd_attach("rda", &rd, DLM_RD_INVALIDATE), DLM_BADPARAM);
    memset(name, 'r', sizeof(name));
    name[DLM_RDNAMELEN + 1] = 0;
    assert_int_equal(dlm_rd_attach(name, &rd, DLM_RD_PROCESS), DLM_ENAMETOOLONG);
    assert_int_equal(dlm_rd_attach("rda", &rd, DLM_RD_GROUP), DLM_NOTATTACHED); /* no container */
    assert_int_equal(rd, 77);
    name[DLM_RDNAMELEN] = 0; /* the longest name */
    assert_int_equal(dlm_rd_attach(name, &rds[n++], DLM_RD_PROCESS), DLM_SUCCESS);
    assert_int_equal(dlm_rd_attach(name, &rd, DLM_RD_PROCESS), DLM_ATTACHED);
    while (n < DLM_RDPROCMAX) {
        snprintf(name, sizeof(name), "rd-many-%d", n);
        assert_int_equal(dlm_rd_attach(name, &rds[n++], DLM_RD_PROCESS), DLM_SUCCESS);
    }
    assert_int_equal(dlm_rd_attach("rd-one-more", &rd, DLM_RD_PROCESS), DLM_TOOMANYRD);
    assert_int_equal(rd, 77);
    /* detach, collect, validate, traverse: their own arguments */
    assert_int_equal(dlm_rd_detach(rds[0], 0x8), DLM_BADPARAM);
    assert_int_equal(dlm_rd_detach(0, 0), DLM_IVRDID);
    assert_int_equal(dlm_rd_detach(DLM_RDPROCMAX + 1, 0), DLM_IVRDID);
    assert_int_equal(dlm_rd_collect(rds[0], NULL, 0), DLM_BADPARAM);
    assert_int_equal(dlm_rd_collect(rds[0], &h, 1), DLM_BADPARAM);
    assert_int_equal(dlm_rd_collect(0, &h, 0), DLM_IVRDID);
    assert_int_equal(dlm_rd_validate(rds[0], NULL, 0), DLM_BADPARAM);
    assert_int_equal(dlm_rd_validate(rds[0], &h, 1), DLM_BADPARAM);
    assert_int_equal(dlm_rd_validate(0, &h, 0), DLM_IVRDID);
    assert_int_equal(dlm_rd_validate(rds[0], &h, 0), DLM_IVHNDL);
    {
        unsigned long cur = 0;
        unsigned char rn[DLM_RESNAMELEN];
        unsigned short rl;
        dlm_nsp_t ns;
        assert_int_equal(dlm_rd_traverse(&h, &cur, rn, &rl, &ns), DLM_IVHNDL);
        assert_int_equal(dlm_rd_traverse(NULL, &cur, rn, &rl, &ns), DLM_BADPARAM);
    }
    assert_int_equal(h, 5);
    for (int i = 0; i < n; i++)
        assert_int_equal(dlm_rd_detach(rds[i], 0), DLM_SUCCESS);
    assert_int_equal(dlm_rd_detach(rds[0], 0), DLM_IVRDID);
    (void)a;
}

static void tc_rd_persistence(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_rd_id_t rd, rd2;
    dlm_lkid_t p, q, n;
    dlm_rd_collection_hndl_t h, h2;
    dlm_valb_t vb;

    (void)state;
    assert_int_equal(dlm_rd_attach("rdp", &rd, DLM_RD_PROCESS), DLM_SUCCESS);
    assert_int_equal(dlm_rd_attach("rdp2", &rd2, DLM_RD_PROCESS), DLM_SUCCESS);
    assert_int_equal(
        dlm_locktp(a, N("pr1"), 3, NULL, &p, DLM_PRMODE, NULL, DLM_PERSIST, 0, 0, NULL, 0, 0, rd),
        DLM_SUCCESS);
    /* mixing: IS_PR, PR_RD_MISMATCH, NOT_PR */
    assert_int_equal(lk(a, "pr1", DLM_PRMODE, 0, &q), DLM_IS_PR);
    assert_int_equal(
        dlm_locktp(a, N("pr1"), 3, NULL, &q, DLM_PRMODE, NULL, DLM_PERSIST, 0, 0, NULL, 0, 0, rd2),
        DLM_PR_RD_MISMATCH);
    assert_int_equal(lk(a, "np1", DLM_PRMODE, 0, &n), DLM_SUCCESS);
    assert_int_equal(
        dlm_locktp(a, N("np1"), 3, NULL, &q, DLM_PRMODE, NULL, DLM_PERSIST, 0, 0, NULL, 0, 0, rd),
        DLM_NOT_PR);
    unlock_ok(&n);
    /* holding a persistent lock in it: HASLOCKS */
    assert_int_equal(dlm_rd_detach(rd, 0), DLM_HASLOCKS);
    /* a collection: EALREADY while outstanding; validated */
    assert_int_equal(dlm_rd_collect(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_rd_collect(rd, &h2, 0), DLM_EALREADY);
    assert_int_equal(dlm_rd_validate(rd2, &h, 0), DLM_IVHNDL);
    {
        unsigned long cur = 0;
        unsigned char rn[DLM_RESNAMELEN];
        unsigned short rl;
        dlm_nsp_t ns;
        assert_int_equal(dlm_rd_traverse(&h, &cur, rn, &rl, &ns), DLM_SUCCESS); /* none invalid */
    }
    /* something becomes invalid after the collect: MORE_TO_RECOVER */
    assert_int_equal(dlm_cvt(&p, DLM_PWMODE, NULL, 0, 0, 0, NULL, 0), DLM_SUCCESS);
    assert_int_equal(dlm_unlock(&p, NULL, DLM_INVVALBLK), DLM_SUCCESS);
    assert_int_equal(dlm_rd_validate(rd, &h, 0), DLM_MORE_TO_RECOVER);
    assert_int_equal(h, 0);
    assert_int_equal(dlm_rd_collect(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_rd_validate(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_locktp(a, N("pr1"), 3, NULL, &p, DLM_PRMODE, NULL,
                                DLM_PERSIST | DLM_SYNCSTS, 0, 0, NULL, 0, 0, rd),
                     DLM_SYNCH);
    unlock_ok(&p);
    /* DLM_RD_INVALIDATE: the domain's resources are invalid until recovered */
    assert_int_equal(dlm_rd_detach(rd2, DLM_RD_INVALIDATE), DLM_SUCCESS);
    assert_int_equal(dlm_rd_detach(rd, DLM_RD_INVALIDATE), DLM_SUCCESS);
    assert_int_equal(dlm_rd_attach("rdp", &rd, DLM_RD_PROCESS), DLM_SUCCESS);
    assert_int_equal(dlm_locktp(a, N("pr1"), 3, NULL, &p, DLM_PRMODE, &vb, DLM_PERSIST | DLM_VALB,
                                0, 0, NULL, 0, 0, rd),
                     DLM_SUCCVALNOTVALID);
    assert_int_equal(dlm_rd_collect(rd, &h, 0), DLM_SUCCESS);
    unlock_ok(&p);
    assert_int_equal(dlm_rd_detach(rd, 0), DLM_EALREADY); /* its collection is outstanding */
    assert_int_equal(dlm_rd_validate(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_rd_detach(rd, 0), DLM_SUCCESS);
    /* a handle outlives the namespaces: without one, DLM_NOTATTACHED */
    assert_int_equal(dlm_rd_attach("rdp", &rd, DLM_RD_PROCESS), DLM_SUCCESS);
    assert_int_equal(dlm_rd_collect(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_nsleave(&a, 0), DLM_SUCCESS);
    assert_int_equal(dlm_rd_collect(rd, &h2, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_rd_validate(rd, &h, 0), DLM_NOTATTACHED);
    assert_int_equal(dlm_rd_detach(rd, 0), DLM_NOTATTACHED);
}

/* A PW holder of a persistent resource that dies: the others see DLM_SUCCVALNOTVALID; one
 * collects, traverses, validates; the value block is then valid and zero. */
static const char *g_rd_name = "rdk", *g_rd_res = "pk"; /* for the children */

static void rd_holder(struct kid *k)
{
    dlm_nsp_t nsp = -1;
    dlm_rd_id_t rd;
    dlm_lkid_t id;
    dlm_valb_t vb = {{0}};

    CHILD_CHECK(dlm_nsjoin(0, &nsp, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_rd_attach((char *)g_rd_name, &rd, DLM_RD_PROCESS) == DLM_SUCCESS);
    CHILD_CHECK(dlm_locktp(nsp, N(g_rd_res), LEN(g_rd_res), NULL, &id, DLM_PWMODE, &vb,
                           DLM_PERSIST | DLM_VALB, 0, 0, NULL, 0, 0, rd) == DLM_SUCCESS);
    vb.valblk[0] = 5;
    CHILD_CHECK(dlm_cvt(&id, DLM_NLMODE, &vb, DLM_VALB, 0, 0, NULL, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_cvt(&id, DLM_PWMODE, &vb, DLM_VALB, 0, 0, NULL, 0) == DLM_SUCCESS);
    put64(k->from[1], 1);
    for (;;)
        pause();
}

/* Collects the domain and stays (with its collection outstanding) until killed. */
static void rd_collector(struct kid *k)
{
    dlm_nsp_t nsp = -1;
    dlm_rd_id_t rd;
    dlm_rd_collection_hndl_t h;

    CHILD_CHECK(get64(k->to[0]) == 1);
    CHILD_CHECK(dlm_nsjoin(0, &nsp, 0) == DLM_SUCCESS);
    CHILD_CHECK(dlm_rd_attach((char *)g_rd_name, &rd, DLM_RD_PROCESS) == DLM_SUCCESS);
    CHILD_CHECK(dlm_rd_collect(rd, &h, 0) == DLM_SUCCESS);
    put64(k->from[1], 1);
    for (;;)
        pause();
}

/* The collector's death makes the resources collectable again. */
static void tc_rd_collector_dies(void **state)
{
    struct kid holder, collector;
    dlm_nsp_t a;
    dlm_rd_id_t rd;
    dlm_rd_collection_hndl_t h;
    dlm_status_t st = DLM_EALREADY;
    unsigned long cur = 0;
    unsigned char rn[DLM_RESNAMELEN];
    unsigned short rl = 0;
    dlm_nsp_t ns = -1;

    (void)state;
    g_rd_name = "rdc";
    g_rd_res = "pc";
    kid_start(&holder, rd_holder);
    kid_start(&collector, rd_collector);
    assert_int_equal(get64(holder.from[0]), 1);
    kill(holder.pid, SIGKILL);
    assert_int_equal(wait_child(holder.pid), 128 + SIGKILL);
    sleep_ms(200);
    put64(collector.to[1], 1);
    assert_int_equal(get64(collector.from[0]), 1);
    a = join(0, 0);
    assert_int_equal(dlm_rd_attach("rdc", &rd, DLM_RD_PROCESS), DLM_SUCCESS);
    assert_int_equal(dlm_rd_collect(rd, &h, 0), DLM_EALREADY);
    kill(collector.pid, SIGKILL);
    assert_int_equal(wait_child(collector.pid), 128 + SIGKILL);
    for (int i = 0; i < 400 && st == DLM_EALREADY; i++) {
        st = dlm_rd_collect(rd, &h, 0);
        if (st == DLM_EALREADY)
            sleep_ms(25);
    }
    assert_int_equal(st, DLM_SUCCESS);
    assert_int_equal(dlm_rd_traverse(&h, &cur, rn, &rl, &ns), DLM_MORE_TO_TRAVERSE);
    assert_int_equal(rl, 2);
    assert_memory_equal(rn, "pc", 2);
    assert_int_equal(ns, a);
    assert_int_equal(dlm_rd_validate(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_rd_detach(rd, 0), DLM_SUCCESS);
}

static void tc_rd_holder_dies(void **state)
{
    struct kid k;
    dlm_nsp_t a;
    dlm_rd_id_t rd;
    dlm_lkid_t id;
    dlm_valb_t vb = {{9}};
    dlm_rd_collection_hndl_t h, h2;
    unsigned long cur = 0;
    unsigned char rn[DLM_RESNAMELEN];
    unsigned short rl = 0;
    dlm_nsp_t ns = -1;
    dlm_rsbinfo_t ri;

    (void)state;
    g_rd_name = "rdk";
    g_rd_res = "pk";
    kid_start(&k, rd_holder);
    assert_int_equal(get64(k.from[0]), 1);
    a = join(0, 0);
    assert_int_equal(dlm_rd_attach("rdk", &rd, DLM_RD_PROCESS), DLM_SUCCESS);
    kill(k.pid, SIGKILL);
    assert_int_equal(wait_child(k.pid), 128 + SIGKILL);
    for (int i = 0; i < 200; i++) { /* the master learns of the death */
        dlm_status_t st = dlm_locktp(a, N("pk"), 2, NULL, &id, DLM_PRMODE, &vb,
                                     DLM_PERSIST | DLM_VALB | DLM_NOQUEUE, 0, 0, NULL, 0, 0, rd);
        if (st != DLM_NOTQUEUED) {
            assert_int_equal(st, DLM_SUCCVALNOTVALID);
            break;
        }
        sleep_ms(25);
    }
    unlock_ok(&id);
    assert_int_equal(dlm_rd_collect(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_rd_traverse(&h, &cur, rn, &rl, &ns), DLM_MORE_TO_TRAVERSE);
    assert_int_equal(rl, 2);
    assert_memory_equal(rn, "pk", 2);
    assert_int_equal(ns, a);
    assert_int_equal(dlm_rd_traverse(&h, &cur, rn, &rl, &ns), DLM_SUCCESS);
    assert_int_equal(dlm_rd_collect(rd, &h2, 0), DLM_EALREADY);
    assert_int_equal(dlm_rd_validate(rd, &h, 0), DLM_SUCCESS);
    assert_int_equal(dlm_get_rsbinfo(a, N("pk"), 2, &ri, NULL), DLM_SUCCESS);
    assert_int_equal(ri.vbstatus, DLM_VB_VALID);
    assert_int_equal(dlm_locktp(a, N("pk"), 2, NULL, &id, DLM_PRMODE, &vb, DLM_PERSIST | DLM_VALB,
                                0, 0, NULL, 0, 0, rd),
                     DLM_SUCCESS);
    for (int i = 0; i < DLM_VALBLKSIZE; i++)
        assert_int_equal(vb.valblk[i], 0);
    unlock_ok(&id);
    assert_int_equal(dlm_rd_detach(rd, 0), DLM_SUCCESS);
}

/* glc_detach while attached to a domain for the group: ATTACHED. */
static void tc_rd_group(void **state)
{
    dlm_nsp_t a = join(0, 0);
    dlm_glc_id_t id;
    dlm_rd_id_t rd;
    dlm_lkid_t gl;

    (void)state;
    assert_int_equal(dlm_glc_create(&id, 0, &a, 1), DLM_SUCCESS);
    assert_int_equal(dlm_rd_attach("rdg", &rd, DLM_RD_GROUP), DLM_SUCCESS);
    assert_int_equal(dlm_locktp(a, N("pg"), 2, NULL, &gl, DLM_EXMODE, NULL,
                                DLM_PERSIST | DLM_GROUP_LOCK, 0, 0, NULL, 0, 0, rd),
                     DLM_SUCCESS);
    assert_int_equal(dlm_glc_detach(), DLM_ATTACHED);
    unlock_ok(&gl);
    assert_int_equal(dlm_rd_detach(rd, 0), DLM_SUCCESS);
    assert_int_equal(dlm_glc_detach(), DLM_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(tc_constants),
        T(tc_messages),
        T(tc_not_attached),
        T(tc_nsjoin_rules),
        T(tc_toomanyns),
        T(tc_nsjoin_noaccess),
        T(tc_nsjoin_enosys),
        T(tc_lock_validation),
        T(tc_sync_lock),
        T(tc_async_lock),
        T(tc_blocking),
        T(tc_convert),
        T(tc_cancel),
        T(tc_unlock),
        T(tc_value_block),
        T(tc_info),
        T(tc_default_delivery),
        T(tc_signal_delivery),
        T(tc_conversion_deadlock),
        T(tc_transactions),
        T(tc_glc_arguments),
        T(tc_glc_members),
        T(tc_glc_perm_force_owned),
        T(tc_rd_arguments),
        T(tc_rd_persistence),
        T(tc_rd_holder_dies),
        T(tc_rd_collector_dies),
        T(tc_rd_group),
#undef T
    };

    return cmocka_run_group_tests(tests, start_cluster, stop_cluster);
}
