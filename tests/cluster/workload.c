/*
 * tests/cluster/workload.c - a client of the cluster test suite (docs/testing.md).
 *
 * Opens a lockspace and runs a seeded random sequence of lock operations on a small set of
 * resources from several threads, each owning a few lock "slots": new locks in all modes,
 * conversions up and down, unlocks, cancels of pending requests; synchronous (RDLM_LKF_WAIT)
 * and asynchronous forms; blocking callbacks that down-convert or unlock (the classic
 * pattern); NOQUEUE, VALBLK, IVVALBLK, QUECVT, CONVDEADLK, HEADQUE, NOORDER, EXPEDITE,
 * ALTPR/ALTCW, TIMEOUT. Every event goes to a per-process log (format: wl_common.h) that
 * tests/cluster/checker.c verifies.
 *
 * The log is conservative: a grant is logged when its completion is delivered, and the moment
 * a lock's protection is given up (down-conversion, unlock, or a CONVDEADLK conversion, which
 * may demote the lock to NL at any time) is logged before the call is issued. So the intervals
 * the checker sees lie inside the intervals the service really granted.
 *
 * Other modes: --anchor holds an NL lock on every resource until --stop-file exists (so the
 * resources and their LVBs live for the whole scenario); --final takes and releases EX on
 * every resource (the "cluster still serves" round).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rdlm.h"
#include "tests/cluster/wl_common.h"

#define MAX_RES     256
#define MAX_THREADS 32
#define MAX_SLOTS   64 /* per worker; the random workload uses at most 16 */
#define NO_RID      0

static struct {
    const char *ls_name;
    const char *log_path;
    uint64_t seed;
    uint32_t proc;
    int threads;
    int slots;
    long ops;
    long time_ms;
    int nofast;
    int full;
    int sync_pct;
    int bast_pct;
    int bast_sync_pct;
    int hold_us;
    int cancel_ms;
    int mode; /* 0 random workload, 1 anchor, 2 final round */
    const char *ready_file;
    const char *stop_file;
    int watchdog_s;
    int drain_s;   /* after the time limit, how long the pending requests may take */
    int log_flush; /* write every record at once (a SIGKILL then loses nothing logged) */
    int nres;
    char *res[MAX_RES];
} cfg = {
    .ls_name = "rdlm-cluster-test",
    .threads = 2,
    .slots = 3,
    .ops = 100000,
    .time_ms = 2000,
    .full = 1,
    .sync_pct = 40,
    .bast_pct = 50,
    .bast_sync_pct = 30,
    .hold_us = 300,
    .cancel_ms = 20,
    .watchdog_s = 30,
    .drain_s = 5,
};

static rdlm_ls *ls;
static _Atomic uint64_t next_rid = 1;
static _Atomic uint64_t next_lid = 1;
static _Atomic uint64_t n_requests;
static _Atomic int finished;

/* ---- log ---- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char log_buf[1 << 16];
static size_t log_len;
static int log_closed;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void log_flush_locked(void)
{
    size_t off = 0;
    while (off < log_len) {
        ssize_t n = write(log_fd, log_buf + off, log_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    log_len = 0;
}

/* Appends "TYPE t <fmt>\n"; returns t. The time is taken under the mutex: the file is sorted. */
__attribute__((format(printf, 2, 3))) static uint64_t wlog(char type, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&log_mu);
    uint64_t t = now_ns();
    if (!log_closed) {
        if (log_len > sizeof(log_buf) - 512)
            log_flush_locked();
        int n = snprintf(log_buf + log_len, sizeof(log_buf) - log_len, "%c %" PRIu64 " ", type, t);
        log_len += (size_t)n;
        va_start(ap, fmt);
        n = vsnprintf(log_buf + log_len, sizeof(log_buf) - log_len - 1, fmt, ap);
        va_end(ap);
        if (n > 0)
            log_len += (size_t)n < sizeof(log_buf) - log_len - 1 ? (size_t)n
                                                                 : sizeof(log_buf) - log_len - 2;
        log_buf[log_len++] = '\n';
        if (cfg.log_flush)
            log_flush_locked();
    }
    pthread_mutex_unlock(&log_mu);
    return t;
}

static void log_close(void)
{
    pthread_mutex_lock(&log_mu);
    if (!log_closed) {
        log_flush_locked();
        log_closed = 1;
        close(log_fd);
    }
    pthread_mutex_unlock(&log_mu);
}

/* ---- random ---- */

static uint64_t rnd(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int pct(uint64_t *s, int p)
{
    return (int)(rnd(s) % 100) < p;
}

static uint64_t seed_mix(uint64_t a, uint64_t b)
{
    uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return x ? x : 1;
}

/* ---- slots ---- */

struct worker;

struct slot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct worker *w;
    int idx;
    uint64_t rng;
    struct rdlm_lksb lksb;
    uint8_t lvb[RDLM_LVB_LEN];
    uint64_t lid; /* current lock instance (0 none) */
    int res;      /* its resource */
    int gr;       /* granted mode as far as we know (-1 none) */
    uint64_t hold_until;
    int bast_action; /* 0 ignore, 1 unlock, 2 down-convert */
    uint64_t wcounter;
    /* outstanding request */
    uint64_t rid, last_rid;
    char op;
    int rq;
    uint32_t flags;
    int sync;
    int released; /* an R record was logged for it: protection regained only by a G */
    int cancelled;
    uint64_t cancel_at;
};

struct worker {
    int id;
    uint64_t rng;
    pthread_t thr;
    int nslots;
    struct slot slots[MAX_SLOTS];
    int stopping;
};

static struct worker workers[MAX_THREADS];

static const uint8_t sentinel_byte = 0xA5;

static int is_sentinel(const uint8_t *p)
{
    for (int i = 0; i < RDLM_LVB_LEN; i++)
        if (p[i] != sentinel_byte)
            return 0;
    return 1;
}

static void hex(char *out, const uint8_t *p)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < RDLM_LVB_LEN; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * RDLM_LVB_LEN] = 0;
}

static int alt_mode(uint32_t flags)
{
    if (flags & RDLM_LKF_ALTPR)
        return RDLM_MODE_PR;
    if (flags & RDLM_LKF_ALTCW)
        return RDLM_MODE_CW;
    return -1;
}

static void ast_fn(void *arg);
static void bast_fn(void *arg, int mode, uint64_t hint);

/* Log the grant of `mode` (prev: the lock's granted mode before it). */
static void log_grant(struct slot *s, uint64_t rid, int mode, int prev, int sbflags)
{
    char lvbtxt[2 * RDLM_LVB_LEN + 1] = "-";
    if ((s->flags & RDLM_LKF_VALBLK) && wl_lvb_op(prev, mode) == 'R') {
        if (is_sentinel(s->lvb))
            strcpy(lvbtxt, "S");
        else
            hex(lvbtxt, s->lvb);
    }
    wlog('G', "%" PRIu64 " %" PRIu64 " %d %d %u %d %" PRIu64 " %s", s->lid, rid, mode, prev,
         s->flags, sbflags, s->lksb.lvbseq, lvbtxt);
}

static void anomaly(struct slot *s, const char *what, int status)
{
    wlog('A', "lid=%" PRIu64 " rid=%" PRIu64 " op=%c %s status=%d(%s)", s->lid, s->rid,
         s->op ? s->op : '?', what, status, rdlm_status_str(status));
}

/* The completion of the outstanding request `rid` (slot mutex held). */
static void complete(struct slot *s, uint64_t rid, int status, int sbf)
{
    if (s->rid == NO_RID || s->rid != rid) {
        /* a completion for a request that already completed (or none outstanding) */
        uint64_t r = s->rid == NO_RID ? s->last_rid : rid;
        wlog('C', "%" PRIu64 " %" PRIu64 " %d %d %" PRIx64, r, s->lid, status, sbf, s->lksb.lkid);
        wlog('A',
             "lid=%" PRIu64 " unexpected completion status=%d(%s) (outstanding rid %" PRIu64
             ", last %" PRIu64 ")",
             s->lid, status, rdlm_status_str(status), s->rid, s->last_rid);
        return;
    }
    wlog('C', "%" PRIu64 " %" PRIu64 " %d %d %" PRIx64, rid, s->lid, status, sbf, s->lksb.lkid);
    if ((sbf & RDLM_SBF_DEMOTED) && !(s->flags & RDLM_LKF_CONVDEADLK))
        anomaly(s, "DEMOTED without CONVDEADLK", status);
    if ((sbf & RDLM_SBF_ALTMODE) && alt_mode(s->flags) < 0)
        anomaly(s, "ALTMODE without ALTPR/ALTCW", status);
    switch (status) {
    case RDLM_E_NOTQUEUED:
        if (!(s->flags & RDLM_LKF_NOQUEUE))
            anomaly(s, "NOTQUEUED without NOQUEUE", status);
        break;
    case RDLM_E_TIMEDOUT:
        if (!(s->flags & RDLM_LKF_TIMEOUT))
            anomaly(s, "TIMEDOUT without TIMEOUT", status);
        break;
    case RDLM_E_CANCELED:
        if (!s->cancelled)
            anomaly(s, "CANCELED without a cancel", status);
        break;
    case RDLM_E_ABORTED:
        anomaly(s, "ABORTED (never force-unlocked)", status);
        break;
    default:
        break;
    }

    switch (s->op) {
    case 'L':
        if (status == RDLM_OK) {
            int m = (sbf & RDLM_SBF_ALTMODE) ? alt_mode(s->flags) : s->rq;
            if (m < 0)
                m = s->rq;
            log_grant(s, rid, m, -1, sbf);
            s->gr = m;
        } else {
            if (status != RDLM_E_NOTQUEUED && status != RDLM_E_CANCELED &&
                status != RDLM_E_TIMEDOUT && status != RDLM_E_DEADLOCK)
                anomaly(s, "new lock completed with unexpected status", status);
            s->gr = -1;
        }
        break;
    case 'C':
        if (status == RDLM_OK) {
            int prev = (sbf & RDLM_SBF_DEMOTED) ? RDLM_MODE_NL : s->gr;
            int m = (sbf & RDLM_SBF_ALTMODE) ? alt_mode(s->flags) : s->rq;
            if (m < 0)
                m = s->rq;
            log_grant(s, rid, m, prev, sbf);
            s->gr = m;
        } else {
            int m = (sbf & RDLM_SBF_DEMOTED) ? RDLM_MODE_NL : s->gr;
            if (status != RDLM_E_NOTQUEUED && status != RDLM_E_CANCELED &&
                status != RDLM_E_TIMEDOUT && status != RDLM_E_DEADLOCK) {
                /* the lock's state is unknown: claim nothing, never touch it again */
                anomaly(s, "conversion completed with unexpected status", status);
                if (!s->released)
                    wlog('R', "%" PRIu64 " %" PRIu64 " -1", s->lid, rid);
                s->gr = -1;
                break;
            }
            if (s->released || m != s->gr) {
                uint32_t f = s->flags;
                s->flags &= ~RDLM_LKF_VALBLK; /* nothing read */
                log_grant(s, rid, m, m, sbf);
                s->flags = f;
            }
            s->gr = m;
        }
        break;
    case 'U':
        if (status == RDLM_E_UNLOCKED || (s->sync && status == RDLM_OK)) {
            s->gr = -1;
        } else {
            anomaly(s, "unlock completed with unexpected status", status);
            s->gr = -1; /* do not touch it again; the checker reports the anomaly */
        }
        break;
    }
    s->last_rid = rid;
    s->rid = NO_RID;
    pthread_cond_broadcast(&s->cv);
}

/* The call for `rid` was rejected (no completion will come; slot mutex held). */
static void reject(struct slot *s, uint64_t rid, int status)
{
    wlog('J', "%" PRIu64 " %" PRIu64 " %d", rid, s->lid, status);
    if (s->rid != rid) {
        wlog('A', "lid=%" PRIu64 " rid=%" PRIu64 " rejected (%s) but already completed", s->lid,
             rid, rdlm_status_str(status));
        return;
    }
    if (s->op == 'L') {
        s->gr = -1;
    } else if (status != RDLM_E_BUSY) {
        /* NOLOCK, NOTCONN, ...: the lock's state is unknown: claim nothing, abandon it */
        if (!s->released)
            wlog('R', "%" PRIu64 " %" PRIu64 " -1", s->lid, rid);
        s->gr = -1;
    } else if (s->released && s->gr >= 0) {
        uint32_t f = s->flags;
        s->flags &= ~RDLM_LKF_VALBLK;
        log_grant(s, rid, s->gr, s->gr, 0); /* protection regained (conservatively: now) */
        s->flags = f;
    }
    s->last_rid = rid;
    s->rid = NO_RID;
    pthread_cond_broadcast(&s->cv);
}

static int is_completion_status(char op, int st)
{
    if (op == 'U')
        return st == RDLM_E_UNLOCKED || st == RDLM_OK;
    return st == RDLM_OK || st == RDLM_E_NOTQUEUED || st == RDLM_E_DEADLOCK ||
           st == RDLM_E_TIMEDOUT || st == RDLM_E_CANCELED || st == RDLM_E_ABORTED;
}

/* After the call for request rid (op, sync) returned r. The slot may already carry a newer
 * request: the completion can be delivered before the call returns, and a blocking callback
 * may then have issued another request; so op and sync are the call's own. */
static void after_call(struct slot *s, uint64_t rid, char op, int sync, int r)
{
    if (sync) {
        if (is_completion_status(op, r))
            complete(s, rid, r, s->lksb.sbflags);
        else
            reject(s, rid, r);
    } else if (r != RDLM_OK) {
        reject(s, rid, r);
    }
}

static uint64_t begin_request(struct slot *s, char op, int mode, uint32_t flags, int sync)
{
    uint64_t rid = atomic_fetch_add(&next_rid, 1);
    atomic_fetch_add(&n_requests, 1);
    s->rid = rid;
    s->op = op;
    s->rq = mode;
    s->flags = flags;
    s->sync = sync;
    s->released = 0;
    s->cancelled = 0;
    s->cancel_at = UINT64_MAX;
    return rid;
}

static void fill_write(struct slot *s)
{
    struct wl_lvbval v = {
        .magic = WL_LVB_MAGIC,
        .proc = cfg.proc,
        .thread = (uint32_t)s->w->id,
        .slot = (uint32_t)s->idx,
        .counter = ++s->wcounter,
        .t_ns = now_ns(),
    };
    memcpy(s->lvb, &v, sizeof v);
}

/* Log an LVB write-path event if the operation from grmode `gr` to `to` (-1 = unlock) with
 * `flags` writes or invalidates the LVB. */
static void maybe_log_write(struct slot *s, uint64_t rid, int gr, int to, uint32_t flags)
{
    int writes = to < 0 ? gr >= RDLM_MODE_PW : wl_lvb_op(gr, to) == 'W';
    if (!writes)
        return;
    char txt[2 * RDLM_LVB_LEN + 1];
    if (flags & RDLM_LKF_IVVALBLK) {
        wlog('W', "%" PRIu64 " %" PRIu64 " %s I -", s->lid, rid, cfg.res[s->res]);
    } else if (flags & RDLM_LKF_VALBLK) {
        fill_write(s);
        hex(txt, s->lvb);
        wlog('W', "%" PRIu64 " %" PRIu64 " %s W %s", s->lid, rid, cfg.res[s->res], txt);
    }
}

static uint64_t start_lock(struct slot *s, int res, int mode, uint32_t flags, int sync, int bast,
                           uint32_t timeout_cs)
{
    s->lid = atomic_fetch_add(&next_lid, 1);
    s->res = res;
    s->gr = -1;
    memset(&s->lksb, 0, sizeof s->lksb);
    s->lksb.status = -1;
    s->lksb.lvb = s->lvb;
    memset(s->lvb, sentinel_byte, sizeof s->lvb);
    uint64_t rid = begin_request(s, 'L', mode, flags, sync);
    wlog('Q', "%" PRIu64 " %" PRIu64 " %s L %d %u %d", rid, s->lid, cfg.res[res], mode, flags,
         sync);
    struct rdlm_lock_ext ext = {.timeout_cs = timeout_cs, .hint = s->lid};
    const char *name = cfg.res[res];
    pthread_mutex_unlock(&s->mu);
    int r = rdlm_lock(ls, mode, &s->lksb, flags | (sync ? RDLM_LKF_WAIT : 0), name,
                      (unsigned)strlen(name), ast_fn, s, bast ? bast_fn : NULL, &ext);
    pthread_mutex_lock(&s->mu);
    after_call(s, rid, 'L', sync, r);
    return rid;
}

static uint64_t start_convert(struct slot *s, int mode, uint32_t flags, int sync, int bast,
                              uint32_t timeout_cs)
{
    int gr = s->gr;
    int down = wl_weaker_or_equal(mode, gr);
    uint64_t rid = begin_request(s, 'C', mode, flags | RDLM_LKF_CONVERT, sync);
    wlog('Q', "%" PRIu64 " %" PRIu64 " %s C %d %u %d", rid, s->lid, cfg.res[s->res], mode, s->flags,
         sync);
    /* What the lock surely holds while the conversion is pending: its granted mode for an
     * up-conversion; the new mode for a down-conversion (granted at once); CR for the sideways
     * PR <-> CW (its grant gives up PR/CW at an unknown moment before the completion); NL with
     * CONVDEADLK (the master may demote the lock at any moment until the completion). */
    int held = (flags & RDLM_LKF_CONVDEADLK) ? RDLM_MODE_NL : wl_meet(gr, mode);
    if (held != gr || down) {
        wlog('R', "%" PRIu64 " %" PRIu64 " %d", s->lid, rid, held);
        s->released = 1;
    }
    if (down)
        maybe_log_write(s, rid, gr, mode, flags);
    if ((flags & RDLM_LKF_VALBLK) && wl_lvb_op(gr, mode) == 'R')
        memset(s->lvb, sentinel_byte, sizeof s->lvb);
    struct rdlm_lock_ext ext = {.timeout_cs = timeout_cs, .hint = s->lid};
    pthread_mutex_unlock(&s->mu);
    int r = rdlm_lock(ls, mode, &s->lksb, flags | RDLM_LKF_CONVERT | (sync ? RDLM_LKF_WAIT : 0),
                      NULL, 0, ast_fn, s, bast ? bast_fn : NULL, &ext);
    pthread_mutex_lock(&s->mu);
    after_call(s, rid, 'C', sync, r);
    return rid;
}

static void start_unlock(struct slot *s, uint32_t flags, int sync)
{
    int gr = s->gr;
    uint64_t rid = begin_request(s, 'U', -1, flags, sync);
    wlog('Q', "%" PRIu64 " %" PRIu64 " %s U -1 %u %d", rid, s->lid, cfg.res[s->res], flags, sync);
    wlog('R', "%" PRIu64 " %" PRIu64 " -1", s->lid, rid);
    s->released = 1;
    maybe_log_write(s, rid, gr, -1, flags);
    uint64_t lkid = s->lksb.lkid;
    pthread_mutex_unlock(&s->mu);
    int r = rdlm_unlock(ls, lkid, flags | (sync ? RDLM_LKF_WAIT : 0), &s->lksb, s);
    pthread_mutex_lock(&s->mu);
    after_call(s, rid, 'U', sync, r);
}

static void do_cancel(struct slot *s)
{
    uint64_t rid = s->rid;
    uint64_t lkid = s->lksb.lkid;
    s->cancelled = 1;
    pthread_mutex_unlock(&s->mu);
    int r = rdlm_cancel(ls, lkid, RDLM_LKF_CANCELWAITOK);
    pthread_mutex_lock(&s->mu);
    wlog('X', "%" PRIu64 " %" PRIu64 " %d", rid, s->lid, r);
    if (r != RDLM_OK && r != RDLM_E_CANCELGRANT && r != RDLM_E_NOLOCK)
        wlog('A', "lid=%" PRIu64 " rid=%" PRIu64 " cancel returned %d(%s)", s->lid, rid, r,
             rdlm_status_str(r));
}

static void ast_fn(void *arg)
{
    struct slot *s = arg;
    pthread_mutex_lock(&s->mu);
    complete(s, s->rid, s->lksb.status, s->lksb.sbflags);
    pthread_mutex_unlock(&s->mu);
}

static void bast_fn(void *arg, int mode, uint64_t hint)
{
    struct slot *s = arg;
    (void)hint;
    pthread_mutex_lock(&s->mu);
    wlog('B', "%" PRIu64 " %d", s->lid, mode);
    if (s->rid == NO_RID && s->gr >= 0 && mode >= 0 && mode < RDLM_MODE_COUNT &&
        !wl_compatible(s->gr, mode) && s->bast_action && !atomic_load(&finished)) {
        int sync = pct(&s->rng, cfg.bast_sync_pct);
        uint32_t f = 0;
        if (s->gr >= RDLM_MODE_PW && pct(&s->rng, 60))
            f |= RDLM_LKF_VALBLK;
        if (s->bast_action == 1) {
            start_unlock(s, f, sync);
        } else {
            int to = wl_compatible(RDLM_MODE_CR, mode) && s->gr != RDLM_MODE_CR ? RDLM_MODE_CR
                                                                                : RDLM_MODE_NL;
            start_convert(s, to, f, sync, 1, 0);
        }
        s->hold_until = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- the random workload ---- */

static int pick_mode(uint64_t *r)
{
    static const int w[RDLM_MODE_COUNT] = {5, 15, 15, 25, 15, 25};
    int x = (int)(rnd(r) % 100);
    for (int m = 0; m < RDLM_MODE_COUNT; m++) {
        if (x < w[m])
            return m;
        x -= w[m];
    }
    return RDLM_MODE_EX;
}

/* 1 if this worker holds (or is acquiring) anything above NL besides slot `except`. */
static int holds_something(struct worker *w, struct slot *except)
{
    int any = 0;
    for (int i = 0; i < w->nslots && !any; i++) {
        struct slot *o = &w->slots[i];
        if (o == except)
            continue;
        pthread_mutex_lock(&o->mu);
        any = o->gr > RDLM_MODE_NL || o->rid != NO_RID;
        pthread_mutex_unlock(&o->mu);
    }
    return any;
}

static uint32_t timeout_cs_for(uint64_t *r)
{
    return 1 + (uint32_t)(rnd(r) % 5);
}

/* Adjust (sync, flags) so that a synchronous wait is bounded: it is either NOQUEUE, carries a
 * TIMEOUT, or the thread holds nothing anybody could wait for. Returns the sync decision. */
static int bound_sync(struct worker *w, struct slot *s, int sync, uint32_t *flags, int self_holds)
{
    if (!sync || (*flags & (RDLM_LKF_NOQUEUE | RDLM_LKF_TIMEOUT)))
        return sync;
    if (!self_holds && !holds_something(w, s))
        return sync;
    if (cfg.full) {
        *flags |= RDLM_LKF_TIMEOUT;
        return sync;
    }
    return 0;
}

static void step_new(struct worker *w, struct slot *s)
{
    uint64_t *r = &s->rng;
    int res = (int)(rnd(r) % (uint64_t)cfg.nres);
    int mode = pick_mode(r);
    uint32_t f = 0;
    if (pct(r, 20))
        f |= RDLM_LKF_NOQUEUE;
    if (pct(r, 60))
        f |= RDLM_LKF_VALBLK;
    if (cfg.full) {
        if (pct(r, 3))
            f |= RDLM_LKF_IVVALBLK;
        if (mode == RDLM_MODE_NL && !(f & RDLM_LKF_NOQUEUE) && pct(r, 40))
            f |= RDLM_LKF_EXPEDITE;
        if (pct(r, 10))
            f |= RDLM_LKF_HEADQUE;
        if (pct(r, 10))
            f |= RDLM_LKF_NOORDER;
        if (mode != RDLM_MODE_PR && pct(r, 8))
            f |= RDLM_LKF_ALTPR;
        else if (mode != RDLM_MODE_CW && pct(r, 8))
            f |= RDLM_LKF_ALTCW;
        if (pct(r, 15))
            f |= RDLM_LKF_TIMEOUT;
    }
    int sync = bound_sync(w, s, pct(r, cfg.sync_pct), &f, 0);
    int bast = pct(r, cfg.bast_pct);
    s->bast_action = bast ? (int)(rnd(r) % 3) : 0;
    uint64_t rid = start_lock(s, res, mode, f, sync, bast, timeout_cs_for(r));
    if (s->rid == rid && !s->sync)
        s->cancel_at = now_ns() + (rnd(r) % (uint64_t)(cfg.cancel_ms + 1)) * 1000000u;
}

static void step_granted(struct worker *w, struct slot *s)
{
    uint64_t *r = &s->rng;
    int gr = s->gr;
    int x = (int)(rnd(r) % 100);
    int sync = pct(r, cfg.sync_pct);
    if (x < 40 || gr == RDLM_MODE_EX) {
        if (x >= 40 && gr == RDLM_MODE_EX && pct(r, 50))
            goto down;
        uint32_t f = 0;
        if (gr >= RDLM_MODE_PW && pct(r, 60))
            f |= RDLM_LKF_VALBLK;
        if (gr >= RDLM_MODE_PW && cfg.full && pct(r, 6))
            f |= RDLM_LKF_IVVALBLK;
        start_unlock(s, f, sync);
        return;
    }
    if (x < 60 && gr > RDLM_MODE_NL) {
    down:;
        int cand[RDLM_MODE_COUNT], n = 0;
        for (int m = 0; m < RDLM_MODE_COUNT; m++)
            if (m != gr && wl_weaker_or_equal(m, gr))
                cand[n++] = m;
        int to = (n > 0 && !pct(r, 3)) ? cand[rnd(r) % (uint64_t)n] : gr;
        uint32_t f = 0;
        if (pct(r, 60))
            f |= RDLM_LKF_VALBLK;
        if (gr >= RDLM_MODE_PW && cfg.full && pct(r, 6))
            f |= RDLM_LKF_IVVALBLK;
        int bast = pct(r, cfg.bast_pct);
        s->bast_action = bast ? (int)(rnd(r) % 3) : 0;
        start_convert(s, to, f, sync, bast, 0);
        return;
    }
    /* up or sideways conversion: may have to wait */
    int cand[RDLM_MODE_COUNT], n = 0;
    for (int m = 0; m < RDLM_MODE_COUNT; m++)
        if (!wl_weaker_or_equal(m, gr))
            cand[n++] = m;
    if (n == 0) {
        start_unlock(s, 0, sync);
        return;
    }
    int to = cand[rnd(r) % (uint64_t)n];
    uint32_t f = 0;
    if (pct(r, 25))
        f |= RDLM_LKF_NOQUEUE;
    if (pct(r, 60))
        f |= RDLM_LKF_VALBLK;
    if (cfg.full) {
        if (wl_quecvt[gr][to] && pct(r, 15))
            f |= RDLM_LKF_QUECVT;
        if (!(f & RDLM_LKF_NOQUEUE) && pct(r, 15))
            f |= RDLM_LKF_CONVDEADLK;
        if (pct(r, 10))
            f |= RDLM_LKF_HEADQUE;
        if (pct(r, 10))
            f |= RDLM_LKF_NOORDER;
        if (gr <= RDLM_MODE_CR && to != RDLM_MODE_PR && pct(r, 8))
            f |= RDLM_LKF_ALTPR;
        else if (gr <= RDLM_MODE_CR && to != RDLM_MODE_CW && pct(r, 8))
            f |= RDLM_LKF_ALTCW;
        if (pct(r, 15))
            f |= RDLM_LKF_TIMEOUT;
    }
    sync = bound_sync(w, s, sync, &f, gr > RDLM_MODE_NL);
    int bast = pct(r, cfg.bast_pct);
    s->bast_action = bast ? (int)(rnd(r) % 3) : 0;
    uint64_t rid = start_convert(s, to, f, sync, bast, timeout_cs_for(r));
    if (s->rid == rid && !s->sync)
        s->cancel_at = now_ns() + (rnd(r) % (uint64_t)(cfg.cancel_ms + 1)) * 1000000u;
}

/* One step on slot s; returns 1 if a request was issued. */
static int step(struct worker *w, struct slot *s)
{
    int did = 0;
    pthread_mutex_lock(&s->mu);
    uint64_t now = now_ns();
    if (s->rid != NO_RID) {
        if (!s->sync && !s->cancelled && now >= s->cancel_at)
            do_cancel(s);
    } else if (s->gr < 0) {
        step_new(w, s);
        did = 1;
    } else if (now >= s->hold_until) {
        step_granted(w, s);
        did = 1;
    }
    if (did && s->rid == NO_RID && s->gr >= 0)
        s->hold_until = now_ns() + rnd(&s->rng) % (uint64_t)(cfg.hold_us + 1) * 1000u;
    pthread_mutex_unlock(&s->mu);
    return did;
}

/* Release everything this worker holds; bounded. Returns 1 if every slot ended idle. */
static int drain(struct worker *w, uint64_t deadline)
{
    int clean = 1;
    for (int i = 0; i < w->nslots; i++) {
        struct slot *s = &w->slots[i];
        int unlocks = 0;
        pthread_mutex_lock(&s->mu);
        while (now_ns() < deadline) {
            if (s->rid != NO_RID) {
                if (!s->sync && !s->cancelled && (s->op == 'L' || s->op == 'C') &&
                    s->cancel_at != UINT64_MAX)
                    do_cancel(s);
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 2000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
                continue;
            }
            if (s->gr >= 0 && unlocks++ < 3) {
                start_unlock(s, 0, pct(&s->rng, 50));
                continue;
            }
            break;
        }
        if (s->rid != NO_RID || s->gr >= 0) {
            wlog('A', "lid=%" PRIu64 " not released at the end (rid %" PRIu64 " op %c gr %d)",
                 s->lid, s->rid, s->op ? s->op : '?', s->gr);
            clean = 0;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return clean;
}

static void init_worker(struct worker *w, int id, int nslots)
{
    w->id = id;
    w->rng = seed_mix(cfg.seed, ((uint64_t)cfg.proc << 16) | (uint64_t)id);
    w->nslots = nslots;
    for (int i = 0; i < nslots; i++) {
        struct slot *s = &w->slots[i];
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        s->w = w;
        s->idx = i;
        s->gr = -1;
        s->rng = seed_mix(w->rng, (uint64_t)i + 1);
    }
}

static int worker_clean[MAX_THREADS];

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t end = now_ns() + (uint64_t)cfg.time_ms * 1000000u;
    long ops = 0;
    while (ops < cfg.ops && now_ns() < end) {
        int did = 0;
        struct slot *s = &w->slots[rnd(&w->rng) % (uint64_t)w->nslots];
        did = step(w, s);
        ops += did;
        if (!did) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    worker_clean[w->id] = drain(w, now_ns() + (uint64_t)cfg.drain_s * 1000000000ull);
    return NULL;
}

/* ---- anchor and final round ---- */

static int sync_lock_all(struct worker *w, int mode, uint32_t flags, uint32_t timeout_cs)
{
    int ok = 1;
    for (int i = 0; i < cfg.nres; i++) {
        struct slot *s = &w->slots[i];
        pthread_mutex_lock(&s->mu);
        start_lock(s, i, mode, flags, 1, 0, timeout_cs);
        if (s->gr != mode) {
            fprintf(stderr, "workload: %s lock on %s failed: %s\n", rdlm_mode_str(mode), cfg.res[i],
                    rdlm_status_str(s->lksb.status));
            ok = 0;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return ok;
}

static int sync_unlock_all(struct worker *w)
{
    int ok = 1;
    for (int i = 0; i < cfg.nres; i++) {
        struct slot *s = &w->slots[i];
        pthread_mutex_lock(&s->mu);
        if (s->gr >= 0) {
            uint32_t f = s->gr >= RDLM_MODE_PW ? RDLM_LKF_VALBLK : 0;
            start_unlock(s, f, 1);
            if (s->gr >= 0) {
                fprintf(stderr, "workload: unlock on %s failed\n", cfg.res[i]);
                ok = 0;
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return ok;
}

static struct worker *single_worker(void)
{
    static struct worker w;
    if (cfg.nres > MAX_SLOTS) {
        fprintf(stderr, "workload: --anchor/--final support at most %d resources\n", MAX_SLOTS);
        exit(2);
    }
    init_worker(&w, 0, cfg.nres);
    return &w;
}

/* ---- main ---- */

static void *watchdog_main(void *arg)
{
    (void)arg;
    uint64_t limit =
        now_ns() + ((uint64_t)cfg.time_ms + (uint64_t)cfg.watchdog_s * 1000u) * 1000000u;
    while (now_ns() < limit) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        if (atomic_load(&finished))
            return NULL;
    }
    wlog('A', "watchdog: the workload did not finish within %d s after its time limit",
         cfg.watchdog_s);
    wlog('E', "0 %" PRIu64, atomic_load(&n_requests));
    if (pthread_mutex_trylock(&log_mu) == 0) {
        log_flush_locked();
        pthread_mutex_unlock(&log_mu);
    }
    fprintf(stderr, "workload %u: watchdog expired (hung); exiting\n", cfg.proc);
    _exit(3);
}

static void add_res(const char *spec)
{
    const char *colon = strrchr(spec, ':');
    int n = colon ? atoi(colon + 1) : 1;
    size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
    for (int i = 0; i < n; i++) {
        if (cfg.nres >= MAX_RES) {
            fprintf(stderr, "workload: too many resources\n");
            exit(2);
        }
        char *name = malloc(plen + 16);
        snprintf(name, plen + 16, "%.*s%d", (int)plen, spec, i);
        cfg.res[cfg.nres++] = name;
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: workload --log FILE --res PREFIX:N [--res ...] [options]\n"
            "  --ls NAME        lockspace (default rdlm-cluster-test)\n"
            "  --proc N         process id written into the log and the LVBs\n"
            "  --seed N         random seed\n"
            "  --threads N      worker threads (default 2)\n"
            "  --slots N        locks per thread (default 3)\n"
            "  --ops N          max requests per thread\n"
            "  --time-ms N      duration of the random phase (default 2000)\n"
            "  --nofast         disable the one-sided fast path (rdlm_ls_set_fastpath(ls, 0))\n"
            "  --plain          only NOQUEUE and VALBLK (fast-path eligible requests)\n"
            "  --sync-pct N --bast-pct N --bast-sync-pct N --hold-us N --cancel-ms N\n"
            "  --anchor         hold NL on every resource until --stop-file exists\n"
            "  --ready-file F   created once the anchor locks are granted\n"
            "  --stop-file F    the anchor releases its locks when F exists\n"
            "  --final          take and release EX on every resource (cluster still serves)\n"
            "  --watchdog-s N   exit 3 if not done N s after the time limit (default 30)\n"
            "  --drain-s N      pending requests may take N s after the time limit (default 5)\n"
            "  --log-flush      write each log record at once (for processes that get killed)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ls", required_argument, 0, 'l'},
        {"log", required_argument, 0, 'o'},
        {"seed", required_argument, 0, 's'},
        {"proc", required_argument, 0, 'p'},
        {"threads", required_argument, 0, 't'},
        {"slots", required_argument, 0, 'k'},
        {"ops", required_argument, 0, 'n'},
        {"time-ms", required_argument, 0, 'T'},
        {"nofast", no_argument, 0, 'F'},
        {"plain", no_argument, 0, 'P'},
        {"sync-pct", required_argument, 0, 1},
        {"bast-pct", required_argument, 0, 2},
        {"bast-sync-pct", required_argument, 0, 3},
        {"hold-us", required_argument, 0, 4},
        {"cancel-ms", required_argument, 0, 5},
        {"anchor", no_argument, 0, 'A'},
        {"ready-file", required_argument, 0, 6},
        {"stop-file", required_argument, 0, 7},
        {"final", no_argument, 0, 'f'},
        {"watchdog-s", required_argument, 0, 8},
        {"res", required_argument, 0, 'r'},
        {"log-flush", no_argument, 0, 9},
        {"drain-s", required_argument, 0, 10},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            cfg.ls_name = optarg;
            break;
        case 'o':
            cfg.log_path = optarg;
            break;
        case 's':
            cfg.seed = strtoull(optarg, NULL, 0);
            break;
        case 'p':
            cfg.proc = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 't':
            cfg.threads = atoi(optarg);
            break;
        case 'k':
            cfg.slots = atoi(optarg);
            break;
        case 'n':
            cfg.ops = atol(optarg);
            break;
        case 'T':
            cfg.time_ms = atol(optarg);
            break;
        case 'F':
            cfg.nofast = 1;
            break;
        case 'P':
            cfg.full = 0;
            break;
        case 1:
            cfg.sync_pct = atoi(optarg);
            break;
        case 2:
            cfg.bast_pct = atoi(optarg);
            break;
        case 3:
            cfg.bast_sync_pct = atoi(optarg);
            break;
        case 4:
            cfg.hold_us = atoi(optarg);
            break;
        case 5:
            cfg.cancel_ms = atoi(optarg);
            break;
        case 'A':
            cfg.mode = 1;
            break;
        case 6:
            cfg.ready_file = optarg;
            break;
        case 7:
            cfg.stop_file = optarg;
            break;
        case 'f':
            cfg.mode = 2;
            break;
        case 8:
            cfg.watchdog_s = atoi(optarg);
            break;
        case 10:
            cfg.drain_s = atoi(optarg);
            if (cfg.drain_s < 1 || cfg.drain_s > 600)
                usage();
            break;
        case 'r':
            add_res(optarg);
            break;
        case 9:
            cfg.log_flush = 1;
            break;
        default:
            usage();
        }
    }
    if (!cfg.log_path || cfg.nres == 0 || cfg.threads < 1 || cfg.threads > MAX_THREADS ||
        cfg.slots < 1 || cfg.slots > 16)
        usage();
    if (getenv("RDLM_FASTPATH") && strcmp(getenv("RDLM_FASTPATH"), "0") == 0)
        cfg.nofast = 1;

    log_fd = open(cfg.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (log_fd < 0) {
        perror(cfg.log_path);
        return 2;
    }
    wlog('H', "%u %d %" PRIu64 " %d %d mode=%d full=%d", cfg.proc, (int)getpid(), cfg.seed,
         !cfg.nofast, cfg.threads, cfg.mode, cfg.full);

    pthread_t wd;
    pthread_create(&wd, NULL, watchdog_main, NULL);

    int r = rdlm_ls_create(cfg.ls_name, 0, &ls);
    if (r == RDLM_E_EXISTS)
        r = rdlm_ls_open(cfg.ls_name, 0, &ls);
    if (r != RDLM_OK) {
        fprintf(stderr, "workload %u: cannot open lockspace %s: %s\n", cfg.proc, cfg.ls_name,
                rdlm_status_str(r));
        wlog('A', "lockspace open failed: %d(%s)", r, rdlm_status_str(r));
        wlog('E', "0 0");
        atomic_store(&finished, 1);
        log_close();
        return 1;
    }
    if (cfg.nofast)
        rdlm_ls_set_fastpath(ls, 0);

    int clean = 1, ok = 1;
    if (cfg.mode == 1) {
        struct worker *w = single_worker();
        ok = sync_lock_all(w, RDLM_MODE_NL, 0, 0);
        if (cfg.ready_file) {
            int fd = open(cfg.ready_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0)
                close(fd);
        }
        uint64_t end = now_ns() + (uint64_t)cfg.time_ms * 1000000u;
        struct stat st;
        while (now_ns() < end && !(cfg.stop_file && stat(cfg.stop_file, &st) == 0)) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        ok &= sync_unlock_all(w);
        clean = drain(w, now_ns() + 3000000000ull) && ok;
    } else if (cfg.mode == 2) {
        struct worker *w = single_worker();
        ok = sync_lock_all(w, RDLM_MODE_EX, RDLM_LKF_VALBLK | RDLM_LKF_TIMEOUT, 500);
        ok &= sync_unlock_all(w);
        clean = drain(w, now_ns() + 3000000000ull) && ok;
    } else {
        for (int i = 0; i < cfg.threads; i++) {
            init_worker(&workers[i], i, cfg.slots);
            pthread_create(&workers[i].thr, NULL, worker_main, &workers[i]);
        }
        for (int i = 0; i < cfg.threads; i++) {
            pthread_join(workers[i].thr, NULL);
            clean &= worker_clean[i];
        }
    }
    struct rdlm_stats st = {0};
    rdlm_ls_stats(ls, &st);
    wlog('E',
         "%d %" PRIu64 " fast_grants=%" PRIu64 " fast_unlocks=%" PRIu64 " two_sided=%" PRIu64
         " cas_retries=%" PRIu64,
         clean, atomic_load(&n_requests), st.fast_grants, st.fast_unlocks, st.two_sided,
         st.cas_retries);
    atomic_store(&finished, 1);
    log_close();
    pthread_join(wd, NULL);
    rdlm_ls_close(ls);
    if (!clean)
        fprintf(stderr, "workload %u: did not finish cleanly (see %s)\n", cfg.proc, cfg.log_path);
    return clean && ok ? 0 : 1;
}
