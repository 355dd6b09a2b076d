/*
 * tests/cluster/deadlock_client.c - the deadlock search end to end (tests/cluster/
 * test_deadlock.sh runs it against `rdlmctl up 3 --shards 2`): planted cycles of two and three
 * owners over resources mastered on different nodes, a cycle of transactions (xid) spanning
 * four processes (and the same without xids, which is no cycle), conversion deadlock through
 * the service (EDEADLK, CONVDEADLK), a long wait that is no deadlock, NODLCKWT and NODLCKBLK;
 * and "hostile", run on its own: shard-to-shard messages from a stranger (a DL_CANCEL obeys
 * the stamp; malformed ones and ones on a client connection close that connection only).
 *
 * Usage: deadlock_client DEADLOCK_WAIT_MS [SCENARIO...]   (RDLM_CONFIG names the cluster)
 * Each owner is a child process with its own lockspace handle, driven by the parent over
 * pipes (one command line, one answer line); the parent never opens the lockspace. Prints
 * "PASS name" or "FAIL name: why" per scenario, "victim NAME LKID" per victim (the script looks
 * for them in `rdlmctl deadlocks`), and "N passed, N failed". Every wait is bounded:
 * DL_BOUND_MS (default 2000) is the search time allowed beyond deadlock_wait.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/placement.h"
#include "common/proto.h"
#include "rdlm.h"
#include "tests/lib/raw_conn.h"
#include "verbs/transport.h"

#define LS_NAME   "dltest"
#define MAX_TAGS  16
#define LINE_MAX_ 256

static unsigned W;      /* deadlock_wait_ms */
static unsigned BOUND;  /* search time allowed beyond W */
static char run_id[16]; /* makes names unique per run */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ==== the owner (child) ==== */

struct tag {
    struct rdlm_lksb lksb;
    int done;         /* a completion arrived since the last request */
    int status;       /* of that completion */
    uint8_t sbflags;  /* of that completion */
    uint64_t done_ms; /* when */
};

static struct tag tags[MAX_TAGS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void ast(void *arg)
{
    struct tag *t = arg;
    pthread_mutex_lock(&mu);
    t->done = 1;
    t->status = t->lksb.status;
    t->sbflags = t->lksb.sbflags;
    t->done_ms = now_ms();
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void answer(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void answer(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

/* Commands: L tag name mode flags xid | C tag mode flags | U tag | X tag | W tag ms | Q */
static int owner_main(int in_fd, int out_fd)
{
    FILE *in = fdopen(in_fd, "r"), *out = fdopen(out_fd, "w");
    char line[LINE_MAX_], name[128];
    rdlm_ls *ls;
    int rc = rdlm_ls_create(LS_NAME, 0, &ls);

    if (rc == RDLM_E_EXISTS)
        rc = rdlm_ls_open(LS_NAME, 0, &ls);
    answer(out, "ready %d", rc);
    if (rc)
        return 1;
    while (fgets(line, sizeof(line), in)) {
        unsigned tg = 0, flags = 0, ms = 0;
        int mode = 0;
        unsigned long long xid = 0;
        char op = line[0];
        struct tag *t;
        if (op == 'Q')
            break;
        if (sscanf(line + 1, "%u", &tg) != 1 || tg >= MAX_TAGS) {
            answer(out, "E bad command");
            continue;
        }
        t = &tags[tg];
        switch (op) {
        case 'L': {
            struct rdlm_lock_ext ext = {0};
            sscanf(line + 1, "%u %127s %d %x %llx", &tg, name, &mode, &flags, &xid);
            ext.xid = xid;
            pthread_mutex_lock(&mu);
            memset(t, 0, sizeof(*t));
            pthread_mutex_unlock(&mu);
            rc = rdlm_lock(ls, mode, &t->lksb, flags, name, (unsigned)strlen(name), ast, t, NULL,
                           &ext);
            answer(out, "A %d %016" PRIx64, rc, t->lksb.lkid);
            break;
        }
        case 'C':
            sscanf(line + 1, "%u %d %x", &tg, &mode, &flags);
            pthread_mutex_lock(&mu);
            t->done = 0;
            pthread_mutex_unlock(&mu);
            rc = rdlm_lock(ls, mode, &t->lksb, flags | RDLM_LKF_CONVERT, NULL, 0, ast, t, NULL,
                           NULL);
            answer(out, "A %d %016" PRIx64, rc, t->lksb.lkid);
            break;
        case 'U':
            rc = rdlm_unlock(ls, t->lksb.lkid, RDLM_LKF_WAIT, &t->lksb, NULL);
            answer(out, "U %d", rc);
            break;
        case 'X':
            rc = rdlm_cancel(ls, t->lksb.lkid, RDLM_LKF_CANCELWAITOK);
            answer(out, "X %d", rc);
            break;
        case 'W': {
            sscanf(line + 1, "%u %u", &tg, &ms);
            uint64_t end = now_ms() + ms;
            pthread_mutex_lock(&mu);
            while (!t->done && now_ms() < end) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 5 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&cv, &mu, &ts);
            }
            if (t->done)
                answer(out, "D %d %u %" PRIu64, t->status, t->sbflags, t->done_ms);
            else
                answer(out, "T");
            pthread_mutex_unlock(&mu);
            break;
        }
        default:
            answer(out, "E bad command");
        }
    }
    rdlm_ls_close(ls);
    return 0;
}

/* ==== the parent ==== */

struct owner {
    pid_t pid;
    FILE *to, *from;
    char reply[LINE_MAX_];
};

static char why[512]; /* the failure of the current scenario */

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
    va_list ap;
    if (why[0])
        return -1; /* keep the first */
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return -1;
}

static int spawn(struct owner *o)
{
    int down[2], up[2];
    if (pipe(down) < 0 || pipe(up) < 0)
        return failf("pipe: %s", strerror(errno));
    fflush(NULL);
    o->pid = fork();
    if (o->pid < 0)
        return failf("fork: %s", strerror(errno));
    if (o->pid == 0) {
        close(down[1]);
        close(up[0]);
        _exit(owner_main(down[0], up[1]));
    }
    close(down[0]);
    close(up[1]);
    o->to = fdopen(down[1], "w");
    o->from = fdopen(up[0], "r");
    if (!fgets(o->reply, sizeof(o->reply), o->from) || strncmp(o->reply, "ready 0", 7) != 0)
        return failf("an owner could not open the lockspace: %s", o->reply);
    return 0;
}

static void reap(struct owner *o)
{
    if (o->pid <= 0)
        return;
    fputs("Q\n", o->to);
    fclose(o->to);
    fclose(o->from);
    for (int i = 0; i < 100; i++) { /* 5 s */
        if (waitpid(o->pid, NULL, WNOHANG) == o->pid) {
            o->pid = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(o->pid, SIGKILL);
    waitpid(o->pid, NULL, 0);
    o->pid = 0;
}

static const char *cmd(struct owner *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *cmd(struct owner *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->to, fmt, ap);
    va_end(ap);
    fputc('\n', o->to);
    fflush(o->to);
    if (!fgets(o->reply, sizeof(o->reply), o->from)) {
        failf("owner %d died", (int)o->pid);
        strcpy(o->reply, "E dead");
    }
    return o->reply;
}

/* A new lock request; returns its lkid (0 and a failure if not accepted). */
static uint64_t lock_req(struct owner *o, int tag, const char *name, int mode, unsigned flags,
                         uint64_t xid)
{
    int rc = -1;
    unsigned long long lkid = 0;
    sscanf(cmd(o, "L %d %s %d %x %" PRIx64, tag, name, mode, flags, xid), "A %d %llx", &rc, &lkid);
    if (rc != 0)
        failf("lock %s mode %d: rc %d", name, mode, rc);
    return lkid;
}

static void convert_req(struct owner *o, int tag, int mode, unsigned flags)
{
    int rc = -1;
    sscanf(cmd(o, "C %d %d %x", tag, mode, flags), "A %d", &rc);
    if (rc != 0)
        failf("convert to mode %d: rc %d", mode, rc);
}

/* Wait up to ms for the completion of tag: 1 (status etc. set), 0 on timeout. */
static int wait_done(struct owner *o, int tag, unsigned ms, int *status, unsigned *sbf,
                     uint64_t *at)
{
    unsigned long long t = 0;
    unsigned sb = 0;
    int st = -1;
    const char *r = cmd(o, "W %d %u", tag, ms);
    if (r[0] != 'D')
        return 0;
    sscanf(r, "D %d %u %llu", &st, &sb, &t);
    if (status)
        *status = st;
    if (sbf)
        *sbf = sb;
    if (at)
        *at = t;
    return 1;
}

/* The request of tag must complete with want within ms. */
static int expect_done(struct owner *o, int tag, int want, unsigned ms, const char *what)
{
    int st;
    if (!wait_done(o, tag, ms, &st, NULL, NULL))
        return failf("%s: no completion within %u ms", what, ms);
    if (st != want)
        return failf("%s: %s, expected %s", what, rdlm_status_str(st), rdlm_status_str(want));
    return 0;
}

static int unlock_req(struct owner *o, int tag)
{
    int rc = -1;
    sscanf(cmd(o, "U %d", tag), "U %d", &rc);
    if (rc != RDLM_E_UNLOCKED && rc != RDLM_OK)
        return failf("unlock: %s", rdlm_status_str(rc));
    return 0;
}

static int cancel_req(struct owner *o, int tag)
{
    int rc = -1;
    sscanf(cmd(o, "X %d", tag), "X %d", &rc);
    if (rc != RDLM_OK)
        return failf("cancel: %s", rdlm_status_str(rc));
    return 0;
}

/* ---- resource names mastered where we want them ---- */

static struct rdlm_cluster_config cfg;

/* A name "dl-<run>-<label>-<k>" whose master is on node (the k-th node of the config);
 * returns that master. */
static struct rdlm_placement_target name_on(const char *label, size_t node_index, char *out,
                                            size_t len)
{
    struct rdlm_member m[64];
    size_t n = cfg.nnodes < 64 ? cfg.nnodes : 64;
    uint32_t want = cfg.nodes[node_index % n].id;
    for (size_t i = 0; i < n; i++)
        m[i] = (struct rdlm_member){cfg.nodes[i].id, cfg.nodes[i].shards};
    for (unsigned k = 0;; k++) {
        snprintf(out, len, "dl-%s-%s-%u", run_id, label, k);
        struct rdlm_placement_target t =
            rdlm_place(m, n, rdlm_ls_seed(LS_NAME), 0, out, strlen(out));
        if (t.node == want)
            return t;
    }
}

/* ---- the cycle helpers ---- */

/* Of the pending requests (owner[i], tag[i]), exactly one must end with DEADLOCK within the
 * bound, no sooner than W after the earliest of them was made (at t0). Returns its index. */
static int one_victim(struct owner **o, const int *tag, int n, uint64_t t_first, uint64_t t_close,
                      const char *label)
{
    uint64_t limit = t_close + W + BOUND;
    int victim = -1, st;
    uint64_t at;

    while (victim < 0 && now_ms() < limit) {
        for (int i = 0; i < n && victim < 0; i++) {
            if (!wait_done(o[i], tag[i], 20, &st, NULL, &at))
                continue;
            if (st != RDLM_E_DEADLOCK)
                return failf("%s: request %d completed %s before any victim", label, i,
                             rdlm_status_str(st));
            victim = i;
        }
    }
    if (victim < 0)
        return failf("%s: no victim within deadlock_wait + %u ms", label, BOUND);
    if (at + 20 < t_first + W)
        return failf("%s: victim after %" PRIu64 " ms, before deadlock_wait", label, at - t_first);
    printf("  %s: victim after %" PRIu64 " ms from the cycle's last request (deadlock_wait %u)\n",
           label, at > t_close ? at - t_close : 0, W);
    /* no second victim: the others stay pending (nobody released anything) for another
     * deadlock_wait, long enough for every other searcher of the cycle to have acted */
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (i == victim)
            continue;
        if (wait_done(o[i], tag[i], first ? W : 1, &st, NULL, NULL))
            return failf("%s: request %d also completed (%s)", label, i, rdlm_status_str(st));
        first = false;
    }
    return victim;
}

/* After the victim: owners release in turn; every other pending request must be granted. */
static int drain(struct owner **o, const int *held, const int *tag, int n, int victim,
                 const char *label)
{
    int left = n - 1, st;
    bool done[8] = {false};
    done[victim] = true;
    if (unlock_req(o[victim], held[victim]) < 0)
        return -1;
    uint64_t limit = now_ms() + 5000 + 2 * W;
    while (left > 0 && now_ms() < limit) {
        for (int i = 0; i < n; i++) {
            if (done[i] || !wait_done(o[i], tag[i], 20, &st, NULL, NULL))
                continue;
            if (st != RDLM_OK)
                return failf("%s: request %d completed %s, expected a grant", label, i,
                             rdlm_status_str(st));
            done[i] = true;
            left--;
            if (unlock_req(o[i], tag[i]) < 0 || unlock_req(o[i], held[i]) < 0)
                return -1;
        }
    }
    if (left > 0)
        return failf("%s: %d request(s) not granted after the victim's owner released", label,
                     left);
    return 0;
}

/* A cycle of n owners: owner i holds r[i] EX, then requests r[(i+1) % n] EX; r[i] is mastered
 * on node i. xids: per owner (0 = none). */
static int cycle(int n, const char *label)
{
    struct owner ow[3] = {{0}};
    struct owner *o[3] = {&ow[0], &ow[1], &ow[2]};
    char r[3][96];
    int held[3] = {0, 0, 0}, tag[3] = {1, 1, 1}, victim, rc = -1;
    uint64_t lkid[3], t_first = 0, t_close = 0;

    for (int i = 0; i < n; i++) {
        char l[32];
        snprintf(l, sizeof(l), "%s%d", label, i);
        name_on(l, (size_t)i, r[i], sizeof(r[i]));
        if (spawn(o[i]) < 0)
            goto out;
    }
    for (int i = 0; i < n; i++) {
        lock_req(o[i], held[i], r[i], RDLM_MODE_EX, 0, 0);
        if (expect_done(o[i], held[i], RDLM_OK, 5000, "first lock") < 0)
            goto out;
    }
    for (int i = 0; i < n; i++) {
        lkid[i] = lock_req(o[i], tag[i], r[(i + 1) % n], RDLM_MODE_EX, 0, 0);
        if (i == 0)
            t_first = now_ms();
        t_close = now_ms();
    }
    if (why[0])
        goto out;
    victim = one_victim(o, tag, n, t_first, t_close, label);
    if (victim < 0)
        goto out;
    printf("victim %s %016" PRIx64 "\n", label, lkid[victim]);
    rc = drain(o, held, tag, n, victim, label);
out:
    for (int i = 0; i < n; i++)
        reap(o[i]);
    return rc;
}

static int s_two(void)
{
    return cycle(2, "two");
}

static int s_three(void)
{
    return cycle(3, "three");
}

/* Transactions T1 = {P0, P1}, T2 = {P2, P3}: P0 holds r0 (T1), P2 holds r1 (T2); P1 asks r1
 * (T1), P3 asks r0 (T2). With xids: T1 -> T2 -> T1. Without: P1 -> P2, P3 -> P0, no cycle. */
static int xid_case(bool with_xid, const char *label)
{
    struct owner ow[4] = {{0}};
    char r[2][96];
    uint64_t t1 = with_xid ? 0x7100000000000000ull | (uint64_t)getpid() : 0;
    uint64_t t2 = with_xid ? 0x7200000000000000ull | (uint64_t)getpid() : 0;
    uint64_t lk1, lk3, t_first, t_close;
    int rc = -1, st = -1;

    name_on(label, 0, r[0], sizeof(r[0]));
    name_on(label, 1, r[1], sizeof(r[1]));
    for (int i = 0; i < 4; i++)
        if (spawn(&ow[i]) < 0)
            goto out;
    lock_req(&ow[0], 0, r[0], RDLM_MODE_EX, 0, t1);
    lock_req(&ow[2], 0, r[1], RDLM_MODE_EX, 0, t2);
    if (expect_done(&ow[0], 0, RDLM_OK, 5000, "P0 lock") < 0 ||
        expect_done(&ow[2], 0, RDLM_OK, 5000, "P2 lock") < 0)
        goto out;
    lk1 = lock_req(&ow[1], 1, r[1], RDLM_MODE_EX, 0, t1);
    t_first = now_ms();
    lk3 = lock_req(&ow[3], 1, r[0], RDLM_MODE_EX, 0, t2);
    t_close = now_ms();
    if (why[0])
        goto out;
    if (!with_xid) {
        for (int i = 1; i <= 3; i += 2)
            if (wait_done(&ow[i], 1, i == 1 ? 3 * W : 1, &st, NULL, NULL)) {
                failf("%s: P%d completed %s: no cycle without xids", label, i, rdlm_status_str(st));
                goto out;
            }
        if (unlock_req(&ow[0], 0) < 0 || expect_done(&ow[3], 1, RDLM_OK, 5000, "P3") < 0 ||
            unlock_req(&ow[2], 0) < 0 || expect_done(&ow[1], 1, RDLM_OK, 5000, "P1") < 0)
            goto out;
        rc = 0;
        goto out;
    }
    {
        struct owner *o[2] = {&ow[1], &ow[3]};
        int tag[2] = {1, 1};
        int v = one_victim(o, tag, 2, t_first, t_close, label);
        if (v < 0)
            goto out;
        printf("victim %s %016" PRIx64 "\n", label, v == 0 ? lk1 : lk3);
        /* the victim's transaction releases: T1 (P0 frees r0, P3 gets it) or T2 */
        if (v == 0)
            rc = unlock_req(&ow[0], 0) < 0 || expect_done(&ow[3], 1, RDLM_OK, 5000, "P3") < 0 ? -1
                                                                                              : 0;
        else
            rc = unlock_req(&ow[2], 0) < 0 || expect_done(&ow[1], 1, RDLM_OK, 5000, "P1") < 0 ? -1
                                                                                              : 0;
    }
out:
    for (int i = 0; i < 4; i++)
        reap(&ow[i]);
    return rc;
}

static int s_xid(void)
{
    return xid_case(true, "xid");
}

static int s_noxid(void)
{
    return xid_case(false, "noxid");
}

/* Conversion deadlock through the service: both hold PR, both convert to EX. */
static int s_conversion(void)
{
    struct owner a = {0}, b = {0};
    char r[96];
    int rc = -1, st = -1;
    unsigned sb = 0;
    uint64_t t0;

    name_on("conv", 2, r, sizeof(r));
    if (spawn(&a) < 0 || spawn(&b) < 0)
        goto out;
    lock_req(&a, 0, r, RDLM_MODE_PR, 0, 0);
    lock_req(&b, 0, r, RDLM_MODE_PR, 0, 0);
    if (expect_done(&a, 0, RDLM_OK, 5000, "A PR") < 0 ||
        expect_done(&b, 0, RDLM_OK, 5000, "B PR") < 0)
        goto out;
    convert_req(&a, 0, RDLM_MODE_EX, 0);
    t0 = now_ms();
    convert_req(&b, 0, RDLM_MODE_EX, 0); /* B's PR blocks A's EX ahead of it: EDEADLK at once */
    if (expect_done(&b, 0, RDLM_E_DEADLOCK, W / 2, "B's conversion (EDEADLK at queue time)") < 0)
        goto out;
    if (now_ms() - t0 > W / 2 + 50) {
        failf("EDEADLK took %" PRIu64 " ms", now_ms() - t0);
        goto out;
    }
    if (wait_done(&a, 0, 50, &st, NULL, NULL)) {
        failf("A completed (%s) while B still holds PR", rdlm_status_str(st));
        goto out;
    }
    if (unlock_req(&b, 0) < 0 || expect_done(&a, 0, RDLM_OK, 5000, "A's EX after B left") < 0)
        goto out;
    /* CONVDEADLK: B takes PR again (after A goes back to PR), converts with CONVDEADLK */
    convert_req(&a, 0, RDLM_MODE_PR, 0);
    if (expect_done(&a, 0, RDLM_OK, 5000, "A back to PR") < 0)
        goto out;
    lock_req(&b, 1, r, RDLM_MODE_PR, 0, 0);
    if (expect_done(&b, 1, RDLM_OK, 5000, "B PR again") < 0)
        goto out;
    convert_req(&a, 0, RDLM_MODE_EX, 0);
    convert_req(&b, 1, RDLM_MODE_EX, RDLM_LKF_CONVDEADLK); /* B demoted to NL: A gets EX */
    if (expect_done(&a, 0, RDLM_OK, W / 2, "A's EX after B's demotion") < 0)
        goto out;
    if (wait_done(&b, 1, 50, &st, NULL, NULL)) {
        failf("B completed (%s) while A holds EX", rdlm_status_str(st));
        goto out;
    }
    if (unlock_req(&a, 0) < 0)
        goto out;
    if (!wait_done(&b, 1, 5000, &st, &sb, NULL) || st != RDLM_OK || !(sb & RDLM_SBF_DEMOTED)) {
        failf("B's CONVDEADLK conversion: status %s sbflags %#x (want OK with DEMOTED)",
              rdlm_status_str(st), sb);
        goto out;
    }
    rc = unlock_req(&b, 1);
out:
    reap(&a);
    reap(&b);
    return rc;
}

/* A holds r EX for 3 deadlock_wait; B waits for it, C waits for B's other lock (a chain, not
 * a cycle): nobody is a victim, everybody is granted in turn. */
static int s_longwait(void)
{
    struct owner a = {0}, b = {0}, c = {0};
    char r[96], r2[96];
    int rc = -1, st = -1;
    uint64_t t_wait, t_release;

    name_on("long", 0, r, sizeof(r));
    name_on("long2", 1, r2, sizeof(r2));
    if (spawn(&a) < 0 || spawn(&b) < 0 || spawn(&c) < 0)
        goto out;
    lock_req(&a, 0, r, RDLM_MODE_EX, 0, 0);
    lock_req(&b, 0, r2, RDLM_MODE_EX, 0, 0);
    if (expect_done(&a, 0, RDLM_OK, 5000, "A EX") < 0 ||
        expect_done(&b, 0, RDLM_OK, 5000, "B EX") < 0)
        goto out;
    lock_req(&b, 1, r, RDLM_MODE_EX, 0, 0);
    t_wait = now_ms();
    lock_req(&c, 0, r2, RDLM_MODE_PR, 0, 0);
    if (why[0])
        goto out;
    if (wait_done(&b, 1, 3 * W, &st, NULL, NULL) || wait_done(&c, 0, 1, &st, NULL, NULL)) {
        failf("a long wait completed (%s) while A still holds", rdlm_status_str(st));
        goto out;
    }
    t_release = now_ms();
    if (unlock_req(&a, 0) < 0 || expect_done(&b, 1, RDLM_OK, 5000, "B after A released") < 0)
        goto out;
    if (wait_done(&c, 0, 1, &st, NULL, NULL)) {
        failf("C completed (%s) while B still holds r2", rdlm_status_str(st));
        goto out;
    }
    if (unlock_req(&b, 0) < 0 || expect_done(&c, 0, RDLM_OK, 5000, "C after B released") < 0)
        goto out;
    printf("  longwait: B waited %" PRIu64 " ms (deadlock_wait %u), no victim\n",
           t_release - t_wait, W);
    rc = unlock_req(&b, 1) < 0 || unlock_req(&c, 0) < 0 ? -1 : 0;
out:
    reap(&a);
    reap(&b);
    reap(&c);
    return rc;
}

/* A two-owner cycle that the flags take out of the search: no victim in 3 deadlock_wait;
 * then B cancels its request and releases, and A is granted. wt: A's request has NODLCKWT;
 * else B's held lock has NODLCKBLK. */
static int excluded_cycle(bool wt, const char *label)
{
    struct owner a = {0}, b = {0};
    char r0[96], r1[96];
    int rc = -1, st = -1;

    name_on(label, 0, r0, sizeof(r0));
    name_on(label, 1, r1, sizeof(r1));
    if (spawn(&a) < 0 || spawn(&b) < 0)
        goto out;
    lock_req(&a, 0, r0, RDLM_MODE_EX, 0, 0);
    lock_req(&b, 0, r1, RDLM_MODE_EX, wt ? 0 : RDLM_LKF_NODLCKBLK, 0);
    if (expect_done(&a, 0, RDLM_OK, 5000, "A EX") < 0 ||
        expect_done(&b, 0, RDLM_OK, 5000, "B EX") < 0)
        goto out;
    lock_req(&a, 1, r1, RDLM_MODE_EX, wt ? RDLM_LKF_NODLCKWT : 0, 0);
    lock_req(&b, 1, r0, RDLM_MODE_EX, 0, 0);
    if (why[0])
        goto out;
    if (wait_done(&a, 1, 3 * W, &st, NULL, NULL) || wait_done(&b, 1, 1, &st, NULL, NULL)) {
        failf("%s: a request completed (%s): the cycle is excluded", label, rdlm_status_str(st));
        goto out;
    }
    if (cancel_req(&b, 1) < 0 || expect_done(&b, 1, RDLM_E_CANCELED, 5000, "B's cancel") < 0 ||
        unlock_req(&b, 0) < 0 || expect_done(&a, 1, RDLM_OK, 5000, "A after B released") < 0)
        goto out;
    rc = unlock_req(&a, 0) < 0 || unlock_req(&a, 1) < 0 ? -1 : 0;
out:
    reap(&a);
    reap(&b);
    return rc;
}

static int s_nodlckwt(void)
{
    return excluded_cycle(true, "nodlckwt");
}

static int s_nodlckblk(void)
{
    return excluded_cycle(false, "nodlckblk");
}

/* ---- hostile: the shard-to-shard messages from a stranger ---- */

static int dl_open(struct raw_conn *r, struct rdlm_placement_target t, uint8_t role)
{
    struct proto_hello hello = {role, (uint16_t)t.node, (uint32_t)getpid(), 1};

    if (raw_open(r, &cfg, t.node, t.shard, &hello) < 0)
        return failf("hostile: cannot connect to node %u shard %u", t.node, t.shard);
    return 0;
}

static int dl_send(struct raw_conn *r, struct proto_msg *m, int patch_at, uint8_t patch)
{
    return raw_send(r, m, patch_at, patch) < 0 ? failf("hostile: send failed") : 0;
}

/* The next message of type on the connection within ms, into *m; 0, or -1 (closed: 1). */
static int dl_recv(struct raw_conn *r, uint8_t type, unsigned ms, struct proto_msg *m, int *closed)
{
    enum raw_recv_result res = raw_recv(r, type, ms, m);

    *closed = res == RAW_CLOSED;
    return res == RAW_GOT ? 0 : -1;
}

static int s_hostile(void)
{
    struct owner a = {0}, b = {0};
    struct raw_conn peer = {0}, cl = {0};
    struct proto_msg *m = calloc(1, sizeof(*m)), *in = calloc(1, sizeof(*in));
    char r[96];
    int rc = -1, closed, st;
    uint64_t lkid, wstamp = 0;
    bool seen = false;
    struct rdlm_placement_target t = name_on("hostile", 1, r, sizeof(r));

    if (!m || !in || spawn(&a) < 0 || spawn(&b) < 0)
        goto out;
    lock_req(&a, 0, r, RDLM_MODE_EX, 0, 0);
    if (expect_done(&a, 0, RDLM_OK, 5000, "A EX") < 0)
        goto out;
    lkid = lock_req(&b, 0, r, RDLM_MODE_EX, 0, 0); /* waits at node t.node shard t.shard */
    sleep_ms(100);
    if (why[0] || dl_open(&peer, t, ROLE_PEER) < 0)
        goto out;
    /* A query for a lockspace the shard does not know: one empty last answer. */
    m->hdr.type = MSG_DL_QUERY;
    m->hdr.ls = 0x5eed;
    m->hdr.reqid = 7;
    if (dl_send(&peer, m, -1, 0) < 0)
        goto out;
    if (dl_recv(&peer, MSG_DL_EDGES, 5000, in, &closed) < 0 || in->hdr.reqid != 7 ||
        !in->u.dl_edges.last || in->u.dl_edges.n != 0) {
        failf("hostile: no empty DL_EDGES for an unknown lockspace (closed %d)", closed);
        goto out;
    }
    /* The real lockspace: B's wait is reported with its stamp. */
    m->hdr.ls = rdlm_ls_seed(LS_NAME);
    m->hdr.reqid = 8;
    if (dl_send(&peer, m, -1, 0) < 0)
        goto out;
    do {
        if (dl_recv(&peer, MSG_DL_EDGES, 5000, in, &closed) < 0) {
            failf("hostile: no DL_EDGES for the lockspace");
            goto out;
        }
        for (unsigned i = 0; i < in->u.dl_edges.n; i++)
            if (in->u.dl_edges.e[i].waiter == lkid) {
                wstamp = in->u.dl_edges.e[i].wstamp;
                seen = true;
            }
    } while (!in->u.dl_edges.last);
    if (!seen) {
        failf("hostile: B's wait %016" PRIx64 " is not among the edges", lkid);
        goto out;
    }
    /* Confirming edges that do not exist: answered, none present. */
    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_CONFIRM;
    m->u.dl_confirm.cycle = 5;
    m->u.dl_confirm.n = 2;
    m->u.dl_confirm.c[0] = (struct msg_dl_check){lkid, wstamp + 1, 1, 1};
    m->u.dl_confirm.c[1] = (struct msg_dl_check){12345, 1, 2, 3};
    if (dl_send(&peer, m, -1, 0) < 0)
        goto out;
    if (dl_recv(&peer, MSG_DL_CONFIRMED, 5000, in, &closed) < 0 || in->u.dl_confirmed.n != 2 ||
        in->u.dl_confirmed.cycle != 5 || in->u.dl_confirmed.f[0].present ||
        in->u.dl_confirmed.f[1].present) {
        failf("hostile: DL_CONFIRM of absent edges not answered as absent");
        goto out;
    }
    /* A cancel with the wrong stamp, and one of an unknown lock: nothing happens. */
    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_CANCEL;
    m->u.dl_cancel.victim = lkid;
    m->u.dl_cancel.vstamp = wstamp + 1;
    if (dl_send(&peer, m, -1, 0) < 0)
        goto out;
    m->u.dl_cancel.victim = 0x99999;
    if (dl_send(&peer, m, -1, 0) < 0)
        goto out;
    if (wait_done(&b, 0, 300, &st, NULL, NULL)) {
        failf("hostile: a DL_CANCEL with a wrong stamp ended B's request (%s)",
              rdlm_status_str(st));
        goto out;
    }
    /* With the right stamp it is the victim's cancel: B gets RDLM_E_DEADLOCK. */
    m->u.dl_cancel.victim = lkid;
    m->u.dl_cancel.vstamp = wstamp;
    if (dl_send(&peer, m, -1, 0) < 0 ||
        expect_done(&b, 0, RDLM_E_DEADLOCK, 5000, "hostile: B after a DL_CANCEL") < 0)
        goto out;
    printf("victim hostile %016" PRIx64 "\n", lkid);
    /* Malformed: a DL_EDGES whose count exceeds the limit closes that connection. */
    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_EDGES;
    if (dl_send(&peer, m, PROTO_HDR_LEN + 2, PROTO_DL_EDGES + 1) < 0)
        goto out;
    if (dl_recv(&peer, MSG_DL_EDGES, 5000, in, &closed) == 0 || !closed) {
        failf("hostile: a malformed DL_EDGES did not close the connection");
        goto out;
    }
    /* A client connection may not send shard-to-shard messages. */
    if (dl_open(&cl, t, ROLE_CLIENT) < 0)
        goto out;
    m->hdr.type = MSG_DL_CANCEL;
    m->u.dl_cancel.victim = lkid;
    if (dl_send(&cl, m, -1, 0) < 0)
        goto out;
    if (dl_recv(&cl, MSG_DL_EDGES, 5000, in, &closed) == 0 || !closed) {
        failf("hostile: DL_CANCEL on a client connection did not close it");
        goto out;
    }
    /* The master still serves: A converts down and up, B locks again after A leaves. */
    lock_req(&b, 1, r, RDLM_MODE_PR, 0, 0);
    if (unlock_req(&a, 0) < 0 || expect_done(&b, 1, RDLM_OK, 5000, "B after the noise") < 0)
        goto out;
    rc = unlock_req(&b, 1);
out:
    raw_close(&peer);
    raw_close(&cl);
    reap(&a);
    reap(&b);
    free(m);
    free(in);
    return rc;
}

static const struct {
    const char *name;
    int (*fn)(void);
} scenarios[] = {
    {"two", s_two},           {"three", s_three},           {"xid", s_xid},
    {"noxid", s_noxid},       {"conversion", s_conversion}, {"longwait", s_longwait},
    {"nodlckwt", s_nodlckwt}, {"nodlckblk", s_nodlckblk},   {"hostile", s_hostile},
};

int main(int argc, char **argv)
{
    char err[256];
    int pass = 0, fail = 0;
    const char *b = getenv("DL_BOUND_MS");

    if (argc < 2 || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: deadlock_client DEADLOCK_WAIT_MS [SCENARIO...]\n");
        return 2;
    }
    W = (unsigned)atoi(argv[1]);
    BOUND = b && atoi(b) > 0 ? (unsigned)atoi(b) : 2000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    snprintf(run_id, sizeof(run_id), "%x", (unsigned)(getpid() ^ (unsigned)time(NULL)));
    if (rdlm_config_load(rdlm_config_path(), &cfg, err, sizeof(err)) < 0 || cfg.nnodes < 3) {
        fprintf(stderr, "deadlock_client: needs a cluster of 3 nodes: %s\n", err);
        return 2;
    }
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        bool run = argc == 2 && strcmp(scenarios[i].name, "hostile") != 0; /* on request only */
        for (int k = 2; k < argc; k++)
            run |= strcmp(argv[k], scenarios[i].name) == 0;
        if (!run)
            continue;
        why[0] = 0;
        uint64_t t0 = now_ms();
        int rc = scenarios[i].fn();
        if (rc == 0 && !why[0]) {
            printf("PASS %s (%" PRIu64 " ms)\n", scenarios[i].name, now_ms() - t0);
            pass++;
        } else {
            printf("FAIL %s: %s\n", scenarios[i].name, why[0] ? why : "failed");
            fail++;
        }
    }
    rdlm_config_free(&cfg);
    printf("deadlock_client: %d passed, %d failed\n", pass, fail);
    return fail ? 1 : 0;
}
