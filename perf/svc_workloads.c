/*
 * perf/svc_workloads.c - the service benchmark scenarios and their runner (see
 * svc_workloads.h). A run shares one memory region (a memfd) between the runner and its
 * clients: the run's spec, a start barrier (every client has opened its handle and set up
 * before the clock starts), absolute warm-up/measure/end times, and one result slot per
 * client (counts and a latency histogram). Process clients are this program re-executed with
 * --svc-child, so no verbs state ever crosses a fork.
 */
#include "perf/svc_workloads.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perf/lat_hist.h"
#include "perf/redis_lock.h"
#include "rdlm.h"
#include "verbs/transport.h"

#define PRIVATE_NAMES  16  /* names per client in the uncontended scenarios */
#define READY_TIMEOUT  120 /* seconds for every client to open its handle and set up */
#define FINISH_GRACE   60  /* seconds after the end for the last operation to complete */
#define MAX_TXN_LOCKS  16
#define LVB_READ_MAGIC "rdlm-bench-lvb"

static const char *const scenario_names[SVC_NSCENARIOS] = {
    "uncontended_fast",
    "uncontended_two_sided",
    "convert_nl_ex_nl",
    "lvb_read",
    "lvb_write",
    "uniform",
    "zipf",
    "hot_readers",
    "hot_writers",
    "hot_mixed",
    "txn",
    "redis",
    "cas_floor",
};

const char *svc_scenario_name(enum svc_scenario s)
{
    return (unsigned)s < SVC_NSCENARIOS ? scenario_names[s] : "?";
}

/* ---- the shared region ---- */

struct slot {
    _Atomic int done;
    int failed;
    uint64_t ops, one_sided, two_sided, cas_retries, t_last;
    char error[160];
    struct lat_hist hist;
};

struct shared {
    struct svc_spec spec;
    uint32_t run_id;
    _Atomic int ready;         /* clients set up (or failed) */
    _Atomic int abort_run;     /* a client failed before the start: everyone leaves */
    _Atomic uint64_t t_go;     /* 0 until the start; then the warm-up begins */
    uint64_t t_measure, t_end; /* CLOCK_MONOTONIC ns, written before t_go */
    struct slot slot[];
};

static size_t shared_size(int clients)
{
    return sizeof(struct shared) + (size_t)clients * sizeof(struct slot);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

    nanosleep(&ts, NULL);
}

/* ---- random numbers: splitmix64, and Zipf by Gray et al. (SIGMOD 1994) ---- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rnd01(uint64_t *s)
{
    return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

struct zipf {
    unsigned n;
    double theta, alpha, zetan, eta, half_pow;
};

static void zipf_init(struct zipf *z, unsigned n, double theta)
{
    double zeta2 = 1.0 + pow(0.5, theta);

    z->n = n;
    z->theta = theta;
    z->zetan = 0;
    for (unsigned i = 1; i <= n; i++)
        z->zetan += 1.0 / pow((double)i, theta);
    z->alpha = 1.0 / (1.0 - theta);
    z->eta = (1.0 - pow(2.0 / n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
    z->half_pow = pow(0.5, theta);
}

/* A rank in [0, n): 0 is the most popular. */
static unsigned zipf_next(const struct zipf *z, uint64_t *s)
{
    double u = rnd01(s), uz = u * z->zetan;
    unsigned k;

    if (uz < 1.0)
        return 0;
    if (uz < 1.0 + z->half_pow)
        return 1;
    k = (unsigned)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return k < z->n ? k : z->n - 1;
}

/* ---- one client ---- */

struct client {
    struct shared *sh;
    struct slot *slot;
    int idx;
    rdlm_ls *ls;
    struct redis_lock *redis;
    uint64_t rng, k, lvb_next;
    struct zipf zipf;
    struct rdlm_lksb sb; /* the held lock of CONVERT and the LVB scenarios */
    uint8_t lvb[RDLM_LVB_LEN];
    char err[160];
};

static int failed(struct client *c, const char *what, const char *name, int st)
{
    snprintf(c->err, sizeof(c->err), "%s %s: %s", what, name ? name : "",
             st >= 0 ? rdlm_status_str(st) : "check failed");
    return -1;
}

static int lock_new(struct client *c, struct rdlm_lksb *sb, int mode, uint32_t flags,
                    const char *name)
{
    int st = rdlm_lock(c->ls, mode, sb, flags | RDLM_LKF_WAIT, name, (unsigned)strlen(name), NULL,
                       NULL, NULL, NULL);

    return st == RDLM_OK ? 0 : failed(c, "lock", name, st);
}

static int convert(struct client *c, struct rdlm_lksb *sb, int mode, uint32_t flags)
{
    int st = rdlm_lock(c->ls, mode, sb, flags | RDLM_LKF_CONVERT | RDLM_LKF_WAIT, NULL, 0, NULL,
                       NULL, NULL, NULL);

    return st == RDLM_OK ? 0 : failed(c, "convert to", rdlm_mode_str(mode), st);
}

static int unlock(struct client *c, struct rdlm_lksb *sb)
{
    int st = rdlm_unlock(c->ls, sb->lkid, RDLM_LKF_WAIT, sb, NULL);

    return st == RDLM_E_UNLOCKED ? 0 : failed(c, "unlock", NULL, st);
}

static int lock_unlock(struct client *c, int mode, const char *name)
{
    struct rdlm_lksb sb = {0};

    return lock_new(c, &sb, mode, 0, name) < 0 ? -1 : unlock(c, &sb);
}

static uint64_t lvb_get(const struct client *c)
{
    uint64_t v;

    memcpy(&v, c->lvb, sizeof(v));
    return v;
}

/* CAS_FLOOR: the transport as rdlm-pingpong's client sets it up (rdma: busy-poll). The
 * connection is made once per process and kept for every later run (interleaved rounds):
 * `rdlm-pingpong server` serves one connection and exits when it closes. */
static struct {
    pthread_mutex_t mu;
    rt_ctx *rt;
    rt_conn *conn;
    struct rt_rdesc rd;
} floor_link = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int floor_setup(struct client *c)
{
    const struct svc_spec *sp = &c->sh->spec;
    struct rt_config cfg;
    struct rt_completion ev;
    int ret = 0;

    pthread_mutex_lock(&floor_link.mu); /* held by this client until it finishes */
    if (floor_link.conn)
        return 0;
    rt_config_init(&cfg);
    cfg.backend = sp->floor_rdma ? RT_BACKEND_RDMA : RT_BACKEND_TCP;
    cfg.spin_us = sp->floor_rdma ? 2000000 : 50;
    if (!floor_link.rt)
        ret = rt_ctx_create(&cfg, &floor_link.rt);
    if (ret == 0)
        ret = rt_connect_sync(floor_link.rt, "127.0.0.1", (uint16_t)sp->floor_port, "pingpong", 8,
                              10000, &floor_link.conn);
    for (int tries = 0; ret == 0 && tries < 100; tries++)
        if (rt_poll(floor_link.rt, &ev, 1, 100) == 1 && ev.type == RT_EV_RECV &&
            ev.len == RT_RDESC_WIRE) {
            rt_rdesc_unpack(ev.data, &floor_link.rd);
            return 0;
        }
    if (floor_link.conn)
        rt_close(floor_link.conn);
    floor_link.conn = NULL;
    snprintf(c->err, sizeof(c->err), "rdlm-pingpong server on port %d: %s", sp->floor_port,
             ret ? strerror(-ret) : "no descriptor");
    return -1; /* client_run's clean-up unlocks */
}

static int floor_cas(struct client *c)
{
    uint64_t old;
    int st = rt_cas_sync(floor_link.conn, &floor_link.rd, 0, c->k, c->k + 1, &old, 5000);

    if (st != RT_OK) {
        snprintf(c->err, sizeof(c->err), "CAS: %d %.100s", st, rt_conn_error(floor_link.conn));
        return -1;
    }
    c->k = old == c->k ? c->k + 1 : old;
    return 0;
}

static int setup(struct client *c)
{
    const struct svc_spec *sp = &c->sh->spec;
    char name[64];

    c->rng = c->sh->run_id * 1000003ull + (uint64_t)c->idx + 1;
    if (sp->scenario == SVC_REDIS) {
        c->redis = redis_lock_connect(sp->redis_port, c->err, sizeof(c->err));
        return c->redis ? 0 : -1;
    }
    if (sp->scenario == SVC_CAS_FLOOR)
        return floor_setup(c);
    int st = rdlm_ls_open("bench", sp->dispatch_thread ? 0 : RDLM_LS_FD_DISPATCH, &c->ls);
    if (st != RDLM_OK)
        return failed(c, "rdlm_ls_open", "bench", st);
    if (sp->scenario == SVC_UNCONTENDED_SLOW)
        rdlm_ls_set_fastpath(c->ls, 0);
    c->sb.lvb = c->lvb;
    switch (sp->scenario) {
    case SVC_CONVERT:
        snprintf(name, sizeof(name), "c%u.%d", c->sh->run_id, c->idx);
        return lock_new(c, &c->sb, RDLM_MODE_NL, 0, name);
    case SVC_LVB_READ: /* client 0 writes the value every reader checks */
        snprintf(name, sizeof(name), "l%u", c->sh->run_id);
        if (lock_new(c, &c->sb, RDLM_MODE_NL, RDLM_LKF_VALBLK, name) < 0)
            return -1;
        if (c->idx != 0)
            return 0;
        if (convert(c, &c->sb, RDLM_MODE_EX, RDLM_LKF_VALBLK) < 0)
            return -1;
        memset(c->lvb, 0, sizeof(c->lvb));
        memcpy(c->lvb, LVB_READ_MAGIC, sizeof(LVB_READ_MAGIC));
        return convert(c, &c->sb, RDLM_MODE_NL, RDLM_LKF_VALBLK);
    case SVC_LVB_WRITE: /* a counter in the LVB of a private resource */
        snprintf(name, sizeof(name), "w%u.%d", c->sh->run_id, c->idx);
        if (lock_new(c, &c->sb, RDLM_MODE_NL, RDLM_LKF_VALBLK, name) < 0 ||
            convert(c, &c->sb, RDLM_MODE_EX, RDLM_LKF_VALBLK) < 0)
            return -1;
        memset(c->lvb, 0, sizeof(c->lvb));
        c->lvb_next = 0;
        return convert(c, &c->sb, RDLM_MODE_NL, RDLM_LKF_VALBLK);
    case SVC_ZIPF:
    case SVC_TXN:
        zipf_init(&c->zipf, sp->resources, sp->theta);
        return 0;
    default:
        return 0;
    }
}

static void spin_us(unsigned us)
{
    uint64_t end = now_ns() + (uint64_t)us * 1000;

    while (now_ns() < end)
        ;
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

/* One transaction: K distinct resources, locked in ascending order (the global order that
 * makes it deadlock-free), one of them EX and the others PR, held, released in reverse. */
static int txn(struct client *c)
{
    const struct svc_spec *sp = &c->sh->spec;
    unsigned keys[MAX_TXN_LOCKS], n = 0, k = sp->txn_locks, ex;
    struct rdlm_lksb sb[MAX_TXN_LOCKS];
    char name[64];
    int rc = 0, held = 0;

    while (n < k) {
        unsigned key = zipf_next(&c->zipf, &c->rng), dup = 0;
        for (unsigned i = 0; i < n; i++)
            dup |= keys[i] == key;
        if (!dup)
            keys[n++] = key;
    }
    qsort(keys, n, sizeof(keys[0]), cmp_uint);
    ex = (unsigned)(rnd(&c->rng) % n);
    memset(sb, 0, sizeof(sb));
    for (unsigned i = 0; i < n && rc == 0; i++) {
        snprintf(name, sizeof(name), "t%u.%06u", c->sh->run_id, keys[i]);
        rc = lock_new(c, &sb[i], i == ex ? RDLM_MODE_EX : RDLM_MODE_PR, 0, name);
        held += rc == 0;
    }
    if (rc == 0 && sp->hold_us)
        spin_us(sp->hold_us);
    while (held > 0)
        if (unlock(c, &sb[--held]) < 0)
            rc = -1;
    return rc;
}

static int step(struct client *c)
{
    const struct svc_spec *sp = &c->sh->spec;
    char name[64];

    switch (sp->scenario) {
    case SVC_UNCONTENDED_FAST:
    case SVC_UNCONTENDED_SLOW:
        snprintf(name, sizeof(name), "u%u.%d.%u", c->sh->run_id, c->idx,
                 (unsigned)(c->k++ % PRIVATE_NAMES));
        return lock_unlock(c, RDLM_MODE_EX, name);
    case SVC_CONVERT:
        return convert(c, &c->sb, RDLM_MODE_EX, 0) < 0 ? -1 : convert(c, &c->sb, RDLM_MODE_NL, 0);
    case SVC_LVB_READ:
        if (convert(c, &c->sb, RDLM_MODE_PR, RDLM_LKF_VALBLK) < 0)
            return -1;
        if (memcmp(c->lvb, LVB_READ_MAGIC, sizeof(LVB_READ_MAGIC)) != 0)
            return failed(c, "LVB read: not the value written", NULL, -1);
        return convert(c, &c->sb, RDLM_MODE_NL, 0);
    case SVC_LVB_WRITE: {
        if (convert(c, &c->sb, RDLM_MODE_EX, RDLM_LKF_VALBLK) < 0)
            return -1;
        uint64_t v = lvb_get(c);
        if (v != c->lvb_next) {
            snprintf(c->err, sizeof(c->err), "LVB write: read %llu, expected %llu",
                     (unsigned long long)v, (unsigned long long)c->lvb_next);
            return -1;
        }
        c->lvb_next = v + 1;
        memcpy(c->lvb, &c->lvb_next, sizeof(v));
        return convert(c, &c->sb, RDLM_MODE_NL, RDLM_LKF_VALBLK);
    }
    case SVC_UNIFORM:
    case SVC_ZIPF:
        snprintf(name, sizeof(name), "r%u.%u", c->sh->run_id,
                 sp->scenario == SVC_ZIPF ? zipf_next(&c->zipf, &c->rng)
                                          : (unsigned)(rnd(&c->rng) % sp->resources));
        return lock_unlock(c, RDLM_MODE_EX, name);
    case SVC_HOT_READERS:
    case SVC_HOT_WRITERS:
    case SVC_HOT_MIXED: {
        int mode = sp->scenario == SVC_HOT_READERS   ? RDLM_MODE_PR
                   : sp->scenario == SVC_HOT_WRITERS ? RDLM_MODE_EX
                   : rnd(&c->rng) % 5 == 0           ? RDLM_MODE_EX
                                                     : RDLM_MODE_PR;
        snprintf(name, sizeof(name), "h%u", c->sh->run_id);
        return lock_unlock(c, mode, name);
    }
    case SVC_TXN:
        return txn(c);
    case SVC_REDIS:
        snprintf(name, sizeof(name), "rl%u.%d.%u", c->sh->run_id, c->idx,
                 (unsigned)(c->k++ % PRIVATE_NAMES));
        return redis_lock_pair(c->redis, name, c->err, sizeof(c->err));
    case SVC_CAS_FLOOR:
        return floor_cas(c);
    default:
        return failed(c, "unknown scenario", NULL, -1);
    }
}

/* Wait a little. A handle without a dispatch thread must be driven while it holds locks
 * (the master may need its answer, e.g. for a FAST->SLOW transition), so this polls it. */
static void idle(struct client *c)
{
    struct pollfd p;

    if (!c->ls || c->sh->spec.dispatch_thread) {
        sleep_us(200);
        return;
    }
    p = (struct pollfd){.fd = rdlm_ls_fd(c->ls), .events = POLLIN};
    poll(&p, 1, 1);
    rdlm_dispatch(c->ls);
}

static void stats_now(struct client *c, struct rdlm_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (c->ls)
        rdlm_ls_stats(c->ls, st);
}

/* The whole life of a client: set up, wait for the start, warm up, measure, clean up. */
static void client_run(struct shared *sh, int idx)
{
    struct slot *s = &sh->slot[idx];
    struct client *c = calloc(1, sizeof(*c));
    struct rdlm_stats st0 = {0}, st1;
    uint64_t t0, t1;
    int measuring = 0;

    lat_hist_reset(&s->hist);
    if (!c) {
        s->failed = 1;
        snprintf(s->error, sizeof(s->error), "out of memory");
        atomic_fetch_add(&sh->ready, 1);
        atomic_store(&s->done, 1);
        return;
    }
    c->sh = sh;
    c->slot = s;
    c->idx = idx;
    if (setup(c) < 0) {
        s->failed = 1;
        atomic_fetch_add(&sh->ready, 1);
        goto out;
    }
    atomic_fetch_add(&sh->ready, 1);
    while (atomic_load(&sh->t_go) == 0) {
        if (atomic_load(&sh->abort_run))
            goto out;
        idle(c);
    }
    /* Measured: every operation that completes from t_measure on (one that started in the
     * warm-up counts with its whole latency); no operation starts at or after t_end. */
    for (;;) {
        t0 = now_ns();
        if (t0 >= sh->t_end)
            break;
        if (!measuring)
            stats_now(c, &st0);
        if (step(c) < 0) {
            s->failed = 1;
            break;
        }
        t1 = now_ns();
        if (t1 >= sh->t_measure) {
            measuring = 1;
            lat_hist_add(&s->hist, t1 - t0);
            s->ops++;
        }
        s->t_last = t1;
    }
    stats_now(c, &st1);
    if (measuring) {
        s->one_sided = (st1.fast_grants + st1.fast_unlocks) - (st0.fast_grants + st0.fast_unlocks);
        s->two_sided = st1.two_sided - st0.two_sided;
        s->cas_retries = st1.cas_retries - st0.cas_retries;
    }
out:
    if (s->failed)
        snprintf(s->error, sizeof(s->error), "client %d: %.140s", idx, c->err);
    if (c->ls)
        rdlm_ls_close(c->ls); /* releases the held lock of CONVERT and the LVB scenarios */
    redis_lock_close(c->redis);
    if (c->sh->spec.scenario == SVC_CAS_FLOOR)
        pthread_mutex_unlock(&floor_link.mu);
    free(c);
    atomic_store(&s->done, 1);
}

struct thread_arg {
    struct shared *sh;
    int idx;
};

static void *client_thread(void *arg)
{
    const struct thread_arg *a = arg;

    client_run(a->sh, a->idx);
    return NULL;
}

int svc_child_main(int argc, char **argv)
{
    struct stat stt;
    struct shared *sh;
    int fd, idx, failed_;

    if (argc != 4)
        return 2;
    fd = atoi(argv[2]);
    idx = atoi(argv[3]);
    if (fstat(fd, &stt) < 0)
        return 2;
    sh = mmap(NULL, (size_t)stt.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED || idx < 0 || idx >= sh->spec.clients)
        return 2;
    close(fd);
    client_run(sh, idx);
    failed_ = sh->slot[idx].failed;
    munmap(sh, (size_t)stt.st_size);
    return failed_ ? 1 : 0;
}

/* ---- the runner ---- */

struct kept {
    char name[64];
    struct svc_spec spec;
    struct svc_result res;
    struct lat_hist hist;
};
static struct kept *kept;
static size_t nkept;

/* Runs of the same scenario, kind and client count (interleaved rounds) are merged into one. */
static void keep(const struct svc_spec *spec, const struct svc_result *res,
                 const struct lat_hist *h)
{
    char name[64];
    struct kept *k;

    snprintf(name, sizeof(name), "%s/%s:%d", svc_scenario_name(spec->scenario),
             spec->procs ? "procs" : "threads", spec->clients);
    for (size_t i = 0; i < nkept; i++) {
        k = &kept[i];
        if (strcmp(k->name, name) != 0)
            continue;
        lat_hist_merge(&k->hist, h);
        k->res.ops += res->ops;
        k->res.seconds += res->seconds;
        k->res.one_sided += res->one_sided;
        k->res.two_sided += res->two_sided;
        k->res.cas_retries += res->cas_retries;
        if (res->error[0] && !k->res.error[0])
            memcpy(k->res.error, res->error, sizeof(k->res.error));
        k->res.ops_per_s = k->res.seconds > 0 ? (double)k->res.ops / k->res.seconds : 0;
        k->res.p50_us = lat_hist_quantile_us(&k->hist, 0.50);
        k->res.p90_us = lat_hist_quantile_us(&k->hist, 0.90);
        k->res.p99_us = lat_hist_quantile_us(&k->hist, 0.99);
        k->res.p999_us = lat_hist_quantile_us(&k->hist, 0.999);
        k->res.max_us = (double)k->hist.max_ns / 1000.0;
        return;
    }
    k = realloc(kept, (nkept + 1) * sizeof(*kept));
    if (!k)
        return;
    kept = k;
    k = &kept[nkept++];
    memcpy(k->name, name, sizeof(name));
    k->spec = *spec;
    k->res = *res;
    k->hist = *h;
}

static int all_done(struct shared *sh, int n)
{
    for (int i = 0; i < n; i++)
        if (!atomic_load(&sh->slot[i].done))
            return 0;
    return 1;
}

int svc_run(const struct svc_spec *spec, struct svc_result *res)
{
    static uint32_t runs;
    int n = spec->clients, fd = -1, started = 0, rc = 0, timed_out = 0;
    size_t size = shared_size(n);
    pid_t pids[SVC_MAX_CLIENTS];
    pthread_t tids[SVC_MAX_CLIENTS];
    struct thread_arg targs[SVC_MAX_CLIENTS];
    struct shared *sh = MAP_FAILED;
    struct lat_hist *merged = calloc(1, sizeof(*merged));
    uint64_t deadline, t_last = 0;
    char exe[PATH_MAX] = "", fdarg[16] = "", idxarg[16];

    memset(res, 0, sizeof(*res));
    if (!merged || n < 1 || n > SVC_MAX_CLIENTS || spec->seconds <= 0 ||
        (spec->scenario == SVC_TXN && (spec->txn_locks < 1 || spec->txn_locks > MAX_TXN_LOCKS ||
                                       spec->txn_locks * 2 > spec->resources)) ||
        ((spec->scenario == SVC_UNIFORM || spec->scenario == SVC_ZIPF) && !spec->resources)) {
        snprintf(res->error, sizeof(res->error), "bad spec");
        free(merged);
        return -1;
    }
    lat_hist_reset(merged);
    fd = memfd_create("rdlm-bench", 0);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
        (sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        snprintf(res->error, sizeof(res->error), "shared memory: %s", strerror(errno));
        rc = -1;
        goto out;
    }
    sh->spec = *spec;
    sh->run_id = ((uint32_t)getpid() % 100000u) * 1000u + (++runs % 1000u);
    if (spec->procs) {
        ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (len <= 0) {
            snprintf(res->error, sizeof(res->error), "readlink /proc/self/exe failed");
            rc = -1;
            goto out;
        }
        exe[len] = 0;
        snprintf(fdarg, sizeof(fdarg), "%d", fd);
    }
    for (; started < n; started++) {
        if (spec->procs) {
            snprintf(idxarg, sizeof(idxarg), "%d", started);
            pids[started] = fork();
            if (pids[started] == 0) {
                execl(exe, exe, "--svc-child", fdarg, idxarg, (char *)NULL);
                _exit(127);
            }
            if (pids[started] < 0)
                break;
        } else {
            targs[started] = (struct thread_arg){sh, started};
            if (pthread_create(&tids[started], NULL, client_thread, &targs[started]) != 0)
                break;
        }
    }
    if (started < n) {
        snprintf(res->error, sizeof(res->error), "could not start client %d", started);
        atomic_store(&sh->abort_run, 1);
        rc = -1;
    }
    /* The start barrier: every client set up (a process client that died counts as failed). */
    deadline = now_ns() + READY_TIMEOUT * 1000000000ull;
    while (rc == 0 && atomic_load(&sh->ready) < n) {
        if (now_ns() > deadline) {
            snprintf(res->error, sizeof(res->error), "clients not ready after %d s", READY_TIMEOUT);
            rc = -1;
        }
        for (int i = 0; spec->procs && i < n && rc == 0; i++) {
            int status;
            if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                pids[i] = -1;
                if (!atomic_load(&sh->slot[i].done)) {
                    snprintf(res->error, sizeof(res->error), "client %d died while setting up", i);
                    rc = -1;
                }
            }
        }
        sleep_us(1000);
    }
    for (int i = 0; i < n && rc == 0; i++)
        if (sh->slot[i].failed) {
            snprintf(res->error, sizeof(res->error), "%s", sh->slot[i].error);
            rc = -1;
        }
    if (rc == 0) {
        uint64_t t = now_ns();
        sh->t_measure = t + (uint64_t)(spec->warmup * 1e9);
        sh->t_end = sh->t_measure + (uint64_t)(spec->seconds * 1e9);
        atomic_store(&sh->t_go, t);
    } else {
        atomic_store(&sh->abort_run, 1);
    }
    /* Wait for every client; a client stuck in a lock call past the grace time fails the run,
     * and so does a process client that died without its result. */
    deadline = (rc == 0 ? sh->t_end : now_ns()) + FINISH_GRACE * 1000000000ull;
    while (!all_done(sh, started) && now_ns() < deadline) {
        for (int i = 0; spec->procs && i < started; i++) {
            if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
                pids[i] = -1;
                if (!atomic_load(&sh->slot[i].done)) {
                    snprintf(sh->slot[i].error, sizeof(sh->slot[i].error),
                             "client %d died during the run", i);
                    sh->slot[i].failed = 1;
                    atomic_store(&sh->slot[i].done, 1);
                }
            }
        }
        sleep_us(2000);
    }
    if (!all_done(sh, started)) {
        timed_out = 1;
        if (rc == 0)
            snprintf(res->error, sizeof(res->error),
                     "a client was still in a lock call %d s after the end", FINISH_GRACE);
        rc = -1;
    }
    for (int i = 0; i < started; i++) {
        if (spec->procs) {
            if (pids[i] <= 0)
                continue;
            if (timed_out)
                kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        } else if (timed_out) {
            pthread_detach(tids[i]); /* the region stays mapped for it: leaked on purpose */
        } else {
            pthread_join(tids[i], NULL);
        }
    }
    for (int i = 0; i < started && rc == 0; i++) {
        struct slot *s = &sh->slot[i];
        if (s->failed) {
            snprintf(res->error, sizeof(res->error), "%s", s->error);
            rc = -1;
        }
        lat_hist_merge(merged, &s->hist);
        res->ops += s->ops;
        res->one_sided += s->one_sided;
        res->two_sided += s->two_sided;
        res->cas_retries += s->cas_retries;
        if (s->t_last > t_last)
            t_last = s->t_last;
    }
    if (rc == 0) {
        if (t_last < sh->t_end)
            t_last = sh->t_end;
        res->seconds = (double)(t_last - sh->t_measure) / 1e9;
        res->ops_per_s = (double)res->ops / res->seconds;
        res->p50_us = lat_hist_quantile_us(merged, 0.50);
        res->p90_us = lat_hist_quantile_us(merged, 0.90);
        res->p99_us = lat_hist_quantile_us(merged, 0.99);
        res->p999_us = lat_hist_quantile_us(merged, 0.999);
        res->max_us = (double)merged->max_ns / 1000.0;
        if (res->ops == 0) {
            snprintf(res->error, sizeof(res->error), "no operation completed");
            rc = -1;
        }
    }
out:
    keep(spec, res, merged);
    free(merged);
    if (sh != MAP_FAILED && !(timed_out && !spec->procs))
        munmap(sh, size);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- output ---- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static int mkdirs(const char *dir)
{
    char p[PATH_MAX];

    snprintf(p, sizeof(p), "%s", dir);
    for (char *q = p + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            if (mkdir(p, 0777) < 0 && errno != EEXIST)
                return -1;
            *q = '/';
        }
    return mkdir(p, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

static FILE *open_in(const char *dir, const char *sub, const char *file, const char *how)
{
    char p[PATH_MAX];

    snprintf(p, sizeof(p), "%s/%s", dir, sub);
    if (mkdirs(p) < 0)
        return NULL;
    snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, file);
    return fopen(p, how);
}

static void write_run_json(FILE *f, const struct kept *k)
{
    const struct svc_result *r = &k->res;

    fprintf(f, "    {\"name\": ");
    json_string(f, k->name);
    fprintf(f,
            ", \"scenario\": \"%s\", \"clients\": %d, \"kind\": \"%s\", \"seconds\": %.3f, "
            "\"ops\": %llu, \"ops_per_s\": %.1f, ",
            svc_scenario_name(k->spec.scenario), k->spec.clients,
            k->spec.procs ? "procs" : "threads", r->seconds, (unsigned long long)r->ops,
            r->ops_per_s);
    lat_hist_write_json_fields(&k->hist, f);
    fprintf(f,
            ", \"one_sided_ops\": %llu, \"two_sided_ops\": %llu, \"cas_retries\": %llu, "
            "\"error\": ",
            (unsigned long long)r->one_sided, (unsigned long long)r->two_sided,
            (unsigned long long)r->cas_retries);
    if (r->error[0])
        json_string(f, r->error);
    else
        fputs("null", f);
    fprintf(f, ",\n     \"buckets_ns\": [");
    lat_hist_write_json_buckets(&k->hist, f);
    fprintf(f, "]}");
}

int svc_write_results(const char *dir, const char *backend, const char *mode)
{
    FILE *f = open_in(dir, ".", "latency.json", "w"), *t;
    char file[160];
    int rc = 0;

    if (!f)
        return -1;
    fprintf(f, "{\n  \"backend\": ");
    json_string(f, backend);
    fprintf(f, ",\n  \"mode\": ");
    json_string(f, mode);
    fprintf(f, ",\n  \"latency\": \"per operation, microseconds; buckets_ns: [upper edge, "
               "count] of a log-linear histogram (1.6%% wide)\",\n  \"runs\": [\n");
    for (size_t i = 0; i < nkept; i++) {
        write_run_json(f, &kept[i]);
        fputs(i + 1 < nkept ? ",\n" : "\n", f);
    }
    fprintf(f, "  ]\n}\n");
    rc |= fclose(f) ? -1 : 0;

    t = open_in(dir, "data", "runs.tsv", "w");
    if (!t)
        return -1;
    fprintf(t, "# name scenario kind clients ops seconds ops_per_s p50_us p90_us p99_us p999_us "
               "max_us one_sided two_sided cas_retries ok\n");
    for (size_t i = 0; i < nkept; i++) {
        const struct kept *k = &kept[i];
        const struct svc_result *r = &k->res;
        fprintf(t, "%s %s %s %d %llu %.3f %.1f %.2f %.2f %.2f %.2f %.2f %llu %llu %llu %d\n",
                k->name, svc_scenario_name(k->spec.scenario), k->spec.procs ? "procs" : "threads",
                k->spec.clients, (unsigned long long)r->ops, r->seconds, r->ops_per_s, r->p50_us,
                r->p90_us, r->p99_us, r->p999_us, r->max_us, (unsigned long long)r->one_sided,
                (unsigned long long)r->two_sided, (unsigned long long)r->cas_retries,
                r->error[0] == 0);
        if (r->error[0] || !k->hist.count)
            continue;
        snprintf(file, sizeof(file), "%s-%s-%d.dat", svc_scenario_name(k->spec.scenario),
                 k->spec.procs ? "procs" : "threads", k->spec.clients);
        FILE *c = open_in(dir, "data/cdf", file, "w");
        if (!c) {
            rc = -1;
            continue;
        }
        fprintf(c, "# %s: latency_us cumulative_fraction\n", k->name);
        lat_hist_write_cdf(&k->hist, c);
        rc |= fclose(c) ? -1 : 0;
    }
    rc |= fclose(t) ? -1 : 0;

    /* Throughput against clients: one file per scenario and kind, in run order. */
    for (int s = 0; s < SVC_NSCENARIOS; s++)
        for (int procs = 0; procs <= 1; procs++) {
            FILE *p = NULL;
            for (size_t j = 0; j < nkept * SVC_MAX_CLIENTS; j++) { /* by client count */
                const struct kept *k = &kept[j % nkept];
                if ((int)k->spec.scenario != s || k->spec.procs != procs || k->res.error[0] ||
                    k->spec.clients != (int)(j / nkept) + 1)
                    continue;
                if (!p) {
                    snprintf(file, sizeof(file), "%s-%s.dat", svc_scenario_name(k->spec.scenario),
                             procs ? "procs" : "threads");
                    p = open_in(dir, "data/tput", file, "w");
                    if (!p)
                        return -1;
                    fprintf(p, "# clients ops_per_s p50_us p99_us\n");
                }
                fprintf(p, "%d %.1f %.2f %.2f\n", k->spec.clients, k->res.ops_per_s, k->res.p50_us,
                        k->res.p99_us);
            }
            if (p)
                rc |= fclose(p) ? -1 : 0;
        }
    return rc;
}
