/*
 * master/tools/rdlm-demo.c - the main demo (`make run`): several client processes do real
 * locking work on a running cluster and the parent shows what happened.
 *
 * Each worker opens lockspace "demo" and, for a fixed time, loops over a mix of
 *   - private locks (EX on a name of its own: the uncontended case, one CAS each way),
 *   - shared reads (PR on one of a few shared names, held together by the workers),
 *   - a shared counter: EX on "counter" with VALBLK; the counter lives in the lock value block
 *     and is incremented under EX, so at the end it must equal the sum of all increments —
 *     mutual exclusion and LVB transfer checked for real, across processes and masters.
 * Workers report operation counts, the fast-path share and latency percentiles through a
 * pipe. Usage: rdlm-demo [-p PROCS] [-t SECONDS]   (RDLM_CONFIG must name the cluster)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rdlm.h"

#define HIST_BUCKETS 64 /* log2 buckets of nanoseconds */

struct result {
    uint64_t ops, private_ops, shared_ops, counter_ops, errors;
    uint64_t fast_grants, fast_unlocks, two_sided, requests;
    uint64_t hist[HIST_BUCKETS];
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void record(struct result *r, uint64_t ns)
{
    int b = 0;

    while (b < HIST_BUCKETS - 1 && (1ull << (b + 1)) <= ns)
        b++;
    r->hist[b]++;
}

/* One lock+unlock pair, timed. */
static int lock_unlock(rdlm_ls *ls, struct result *r, int mode, const char *name, uint8_t *lvb,
                       bool increment)
{
    struct rdlm_lksb sb = {.lvb = lvb};
    uint32_t vb = lvb ? RDLM_LKF_VALBLK : 0;
    uint64_t t0 = now_ns();
    int st = rdlm_lock(ls, mode, &sb, RDLM_LKF_WAIT | vb, name, (unsigned)strlen(name), NULL, NULL,
                       NULL, NULL);

    if (st != RDLM_OK) {
        if (r->errors++ < 3)
            fprintf(stderr, "rdlm-demo: lock %s: %s\n", name, rdlm_status_str(st));
        return -1;
    }
    if (increment) {
        uint64_t v;
        memcpy(&v, lvb, sizeof(v));
        v++;
        memcpy(lvb, &v, sizeof(v));
    }
    st = rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT | vb, &sb, NULL);
    record(r, now_ns() - t0);
    if (st != RDLM_E_UNLOCKED) {
        if (r->errors++ < 3)
            fprintf(stderr, "rdlm-demo: unlock %s: %s\n", name, rdlm_status_str(st));
        return -1;
    }
    r->ops++;
    return 0;
}

static void worker(int id, int seconds, int fd)
{
    struct result r = {0};
    struct rdlm_stats st;
    char mine[32], shared[32];
    uint8_t lvb[RDLM_LVB_LEN] = {0};
    rdlm_ls *ls;
    uint64_t end = now_ns() + (uint64_t)seconds * 1000000000ull;
    unsigned seed = (unsigned)id * 7919u + 1;

    if (rdlm_ls_open("demo", 0, &ls) != RDLM_OK) {
        fprintf(stderr, "worker %d: cannot open lockspace demo (is the cluster up?)\n", id);
        exit(1);
    }
    for (uint64_t i = 0; now_ns() < end; i++) {
        unsigned roll = (unsigned)rand_r(&seed) % 100;
        if (roll < 70) {
            snprintf(mine, sizeof(mine), "private-%d-%u", id, (unsigned)(i % 8));
            r.private_ops += lock_unlock(ls, &r, RDLM_MODE_EX, mine, NULL, false) == 0;
        } else if (roll < 95) {
            snprintf(shared, sizeof(shared), "shared-%u", roll % 4);
            r.shared_ops += lock_unlock(ls, &r, RDLM_MODE_PR, shared, NULL, false) == 0;
        } else {
            r.counter_ops += lock_unlock(ls, &r, RDLM_MODE_EX, "counter", lvb, true) == 0;
        }
    }
    rdlm_ls_stats(ls, &st);
    r.fast_grants = st.fast_grants;
    r.fast_unlocks = st.fast_unlocks;
    r.two_sided = st.two_sided;
    r.requests = st.requests;
    rdlm_ls_close(ls);
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        exit(1);
    exit(0);
}

static double percentile(const uint64_t *hist, uint64_t total, double p)
{
    uint64_t want = (uint64_t)(p * (double)total), seen = 0;

    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += hist[b];
        if (seen > want)
            return (double)(3ull << b) / 2.0 / 1000.0; /* bucket middle, in microseconds */
    }
    return 0;
}

/* The counter, read in a child process: the parent never opens the lockspace itself, so its
 * children start with no RDMA state inherited through fork (libibverbs forbids using
 * registrations across fork). */
static uint64_t read_counter_here(void);

static uint64_t read_counter(void)
{
    int pfd[2];
    uint64_t v = 0;
    pid_t pid;

    if (pipe(pfd) < 0)
        return 0;
    pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        v = read_counter_here();
        exit(write(pfd[1], &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 1);
    }
    close(pfd[1]);
    if (pid < 0 || read(pfd[0], &v, sizeof(v)) != (ssize_t)sizeof(v))
        v = 0;
    close(pfd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return v;
}

static uint64_t read_counter_here(void)
{
    uint8_t lvb[RDLM_LVB_LEN] = {0};
    struct rdlm_lksb sb = {.lvb = lvb};
    uint64_t v = 0;
    rdlm_ls *ls;

    if (rdlm_ls_open("demo", 0, &ls) != RDLM_OK)
        return 0;
    if (rdlm_lock(ls, RDLM_MODE_PR, &sb, RDLM_LKF_WAIT | RDLM_LKF_VALBLK, "counter", 7, NULL, NULL,
                  NULL, NULL) == RDLM_OK) {
        memcpy(&v, lvb, sizeof(v));
        rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, &sb, NULL);
    }
    rdlm_ls_close(ls);
    return v;
}

static void report(const struct result *t, int procs, int seconds, uint64_t counter0,
                   uint64_t counter1)
{
    uint64_t fast = t->fast_grants + t->fast_unlocks;
    uint64_t ops2 = 2 * t->ops; /* a lock and an unlock each */

    printf("\nrdlm demo: %d processes, %d s, lockspace \"demo\"\n", procs, seconds);
    printf("  lock+unlock pairs   %10" PRIu64 "  (%.0f per second)\n", t->ops,
           (double)t->ops / seconds);
    printf("    private EX        %10" PRIu64 "\n    shared PR         %10" PRIu64
           "\n    counter EX+LVB    %10" PRIu64 "\n",
           t->private_ops, t->shared_ops, t->counter_ops);
    printf("  one-sided fast path %9.1f%% of lock and unlock operations (%" PRIu64 " of %" PRIu64
           ")\n",
           ops2 ? 100.0 * (double)fast / (double)ops2 : 0.0, fast, ops2);
    printf("  latency of a lock+unlock pair: p50 %.1f us  p90 %.1f us  p99 %.1f us\n",
           percentile(t->hist, t->ops, 0.5), percentile(t->hist, t->ops, 0.9),
           percentile(t->hist, t->ops, 0.99));
    printf("  shared counter in the LVB: %" PRIu64 " -> %" PRIu64 " (+%" PRIu64
           "), increments made: %" PRIu64 "  %s\n",
           counter0, counter1, counter1 - counter0, t->counter_ops,
           counter1 - counter0 == t->counter_ops ? "OK: no update lost" : "MISMATCH");
    printf("  errors: %" PRIu64 "\n", t->errors);
}

int main(int argc, char **argv)
{
    int procs = 4, seconds = 3, ch, pfd[2], failed = 0;
    struct result total = {0};
    uint64_t counter0;

    while ((ch = getopt(argc, argv, "p:t:")) != -1) {
        if (ch == 'p')
            procs = atoi(optarg);
        else if (ch == 't')
            seconds = atoi(optarg);
        else {
            fprintf(stderr, "usage: rdlm-demo [-p PROCS] [-t SECONDS]\n");
            return 2;
        }
    }
    if (procs < 1 || procs > 64 || seconds < 1 || seconds > 600 || pipe(pfd) < 0)
        return 2;
    counter0 = read_counter();
    for (int i = 0; i < procs; i++)
        if (fork() == 0) {
            close(pfd[0]);
            worker(i, seconds, pfd[1]);
        }
    close(pfd[1]);
    for (int i = 0; i < procs; i++) {
        struct result r;
        if (read(pfd[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
            failed++;
            continue;
        }
        total.ops += r.ops;
        total.private_ops += r.private_ops;
        total.shared_ops += r.shared_ops;
        total.counter_ops += r.counter_ops;
        total.errors += r.errors;
        total.fast_grants += r.fast_grants;
        total.fast_unlocks += r.fast_unlocks;
        total.two_sided += r.two_sided;
        for (int b = 0; b < HIST_BUCKETS; b++)
            total.hist[b] += r.hist[b];
    }
    while (wait(NULL) > 0)
        ;
    uint64_t counter1 = read_counter();
    report(&total, procs, seconds, counter0, counter1);
    return failed || total.errors || counter1 - counter0 != total.counter_ops ? 1 : 0;
}
