/*
 * tests/cluster/checker.c - verifies the event logs of tests/cluster/workload.c (format:
 * wl_common.h) against the semantics of docs/engine.md:
 *
 *  (a) mutual exclusion: no two locks (of any processes, the same process included) ever held
 *      incompatible modes on one resource at the same time. A lock holds a mode from the
 *      delivery of its grant to the issue of the call that gives it up; these logged intervals
 *      lie inside the real ones, so an overlap in the log is an overlap in the service.
 *  (b) exactly one completion per accepted request; none for a rejected call; none missing for
 *      a process that ended cleanly. Cancel consistency: rdlm_cancel() == OK implies the
 *      request completed CANCELED, CANCELGRANT/NOLOCK imply it did not.
 *  (c) lock value blocks: writes and invalidations (PW/EX releases) of a resource are totally
 *      ordered; a VALBLK read (grant with lvbop R) must see the state after one of the
 *      write-path events that may have happened before it (those issued before its delivery
 *      and not before the last one that had completed before it was requested), with
 *      VALNOTVALID exactly when that state is invalid, and the LVB sequence numbers must count
 *      the writes (seq - number of writes constant per resource lifetime). Reads are checked
 *      only while the resource is provably alive (some logged lock covers it continuously
 *      since before the read was requested) and not after a killed process could have written
 *      unlogged values.
 *  Also: anomalies the workload noticed itself (A records), unclean ends, and with
 *  --expect-fast / --expect-nofast whether the one-sided fast path was used.
 *
 * Exit status 0 when everything holds, 1 on a violation (a precise report is printed), 2 on
 * a usage or I/O error.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cluster/wl_common.h"

#define NONE_T UINT64_MAX

/* ---- small containers ---- */

#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

#define VPUSH(vec, x)                                                                              \
    do {                                                                                           \
        if ((vec).n == (vec).cap) {                                                                \
            (vec).cap = (vec).cap ? 2 * (vec).cap : 64;                                            \
            (vec).v = realloc((vec).v, (vec).cap * sizeof(*(vec).v));                              \
            if (!(vec).v) {                                                                        \
                perror("realloc");                                                                 \
                exit(2);                                                                           \
            }                                                                                      \
        }                                                                                          \
        (vec).v[(vec).n++] = (x);                                                                  \
    } while (0)

/* u64 -> int map (open addressing; key 0 is reserved) */
struct map {
    uint64_t *k;
    int *v;
    size_t cap, n;
};

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static void map_put(struct map *m, uint64_t key, int val);

static void map_grow(struct map *m)
{
    struct map n = {0};
    n.cap = m->cap ? 2 * m->cap : 1024;
    n.k = calloc(n.cap, sizeof *n.k);
    n.v = calloc(n.cap, sizeof *n.v);
    if (!n.k || !n.v) {
        perror("calloc");
        exit(2);
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->k[i])
            map_put(&n, m->k[i], m->v[i]);
    free(m->k);
    free(m->v);
    *m = n;
}

static void map_put(struct map *m, uint64_t key, int val)
{
    if (2 * (m->n + 1) > m->cap)
        map_grow(m);
    size_t i = hash64(key) & (m->cap - 1);
    while (m->k[i] && m->k[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->k[i])
        m->n++;
    m->k[i] = key;
    m->v[i] = val;
}

static int map_get(const struct map *m, uint64_t key)
{
    if (!m->cap)
        return -1;
    size_t i = hash64(key) & (m->cap - 1);
    while (m->k[i]) {
        if (m->k[i] == key)
            return m->v[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

/* ---- model ---- */

struct proc {
    const char *path;
    unsigned id;
    int pid;
    int killed; /* expected to be truncated (SIGKILL) */
    int has_end;
    int clean;
    uint64_t t_last;
    uint64_t fast_grants, fast_unlocks, two_sided;
    unsigned nlines;
};

struct req {
    int proc;
    uint64_t rid, lid;
    int res;
    char op;
    int mode;
    uint32_t flags;
    int sync;
    uint64_t t_issue, t_comp;
    int ncomp;
    int status, status2;
    int rejected, rej_status;
    int cancel_ret; /* -1: not cancelled */
    uint64_t lkid;
};

struct lock {
    int proc;
    uint64_t lid;
    int res;
    uint64_t lkid;
    int cur_mode;
    uint64_t since;
    uint64_t since_rid;
};

struct interval {
    int res, lock, mode;
    uint64_t start, end;
    uint64_t rid_start, rid_end; /* 0: end of log */
};

struct wev {
    int res, req;
    uint64_t t_issue;
    char kind;
    uint8_t content[RDLM_LVB_LEN];
};

struct rd {
    int res, req, lock;
    uint64_t t_deliv;
    int vnv, sentinel;
    uint8_t content[RDLM_LVB_LEN];
    uint64_t seq;
    int mode, prev;
};

static VEC(struct proc) procs;
static VEC(struct req) reqs;
static VEC(struct lock) locks;
static VEC(struct interval) ivs;
static VEC(struct wev) wevs;
static VEC(struct rd) reads;
static VEC(char *) resnames;
static struct map reqmap, lockmap;
static uint64_t t0 = NONE_T;

static int max_report = 10;
static int verbose;

enum { V_MUTEX, V_COMPL, V_CANCEL, V_LVB, V_ANOM, V_UNCLEAN, V_FAST, V_PARSE, V_COUNT };
static const char *vname[V_COUNT] = {"mutual-exclusion", "completion", "cancel",   "lvb",
                                     "anomaly",          "unclean",    "fastpath", "log-format"};
static long vcount[V_COUNT];

__attribute__((format(printf, 2, 3))) static void violation(int cat, const char *fmt, ...)
{
    vcount[cat]++;
    if (vcount[cat] > max_report) {
        if (vcount[cat] == max_report + 1)
            printf("VIOLATION %s: (further reports of this kind suppressed)\n", vname[cat]);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("VIOLATION %s: ", vname[cat]);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static double rel_us(uint64_t t)
{
    if (t == NONE_T)
        return -1;
    return (double)(t - t0) / 1000.0;
}

static uint64_t key(int proc, uint64_t id)
{
    return ((uint64_t)(proc + 1) << 44) ^ id;
}

static int res_index(const char *name)
{
    for (size_t i = 0; i < resnames.n; i++)
        if (strcmp(resnames.v[i], name) == 0)
            return (int)i;
    char *d = strdup(name);
    VPUSH(resnames, d);
    return (int)resnames.n - 1;
}

static const char *mode_name(int m)
{
    static const char *n[] = {"NL", "CR", "CW", "PR", "PW", "EX"};
    return m >= 0 && m < RDLM_MODE_COUNT ? n[m] : "IV";
}

static const char *lock_desc(int li)
{
    static char buf[4][160];
    static int turn;
    char *b = buf[turn++ & 3];
    struct lock *l = &locks.v[li];
    struct proc *p = &procs.v[l->proc];
    snprintf(b, 160, "proc %u (pid %d, %s) lock %" PRIu64 " (lkid %" PRIx64 ")", p->id, p->pid,
             p->path, l->lid, l->lkid);
    return b;
}

static const char *lvb_desc(const uint8_t *c)
{
    static char buf[4][96];
    static int turn;
    char *b = buf[turn++ & 3];
    struct wl_lvbval v;
    memcpy(&v, c, sizeof v);
    if (v.magic == WL_LVB_MAGIC) {
        snprintf(b, 96, "{proc %u thread %u slot %u write #%" PRIu64 "}", v.proc, v.thread, v.slot,
                 v.counter);
    } else {
        int zero = 1;
        for (int i = 0; i < RDLM_LVB_LEN; i++)
            zero &= c[i] == 0;
        if (zero) {
            snprintf(b, 96, "{all zero}");
        } else {
            char *q = b + sprintf(b, "{raw ");
            for (int i = 0; i < 16; i++)
                q += sprintf(q, "%02x", c[i]);
            sprintf(q, "...}");
        }
    }
    return b;
}

static int parse_hex(const char *s, uint8_t *out)
{
    if (strlen(s) != 2 * RDLM_LVB_LEN)
        return -1;
    for (int i = 0; i < RDLM_LVB_LEN; i++) {
        unsigned x;
        if (sscanf(s + 2 * i, "%2x", &x) != 1)
            return -1;
        out[i] = (uint8_t)x;
    }
    return 0;
}

static struct lock *find_lock(int pi, uint64_t lid, int *li_out)
{
    int li = map_get(&lockmap, key(pi, lid));
    if (li_out)
        *li_out = li;
    return li < 0 ? NULL : &locks.v[li];
}

/* The lock's held mode changes to `mode` at t (close the running interval). */
static void set_mode(int li, int mode, uint64_t t, uint64_t rid)
{
    struct lock *l = &locks.v[li];
    if (l->cur_mode >= 0) {
        struct interval iv = {.res = l->res,
                              .lock = li,
                              .mode = l->cur_mode,
                              .start = l->since,
                              .end = t,
                              .rid_start = l->since_rid,
                              .rid_end = rid};
        VPUSH(ivs, iv);
    }
    l->cur_mode = mode;
    l->since = t;
    l->since_rid = rid;
}

static void parse_file(int pi)
{
    struct proc *p = &procs.v[pi];
    FILE *f = fopen(p->path, "r");
    if (!f) {
        perror(p->path);
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') {
            /* a torn last line (killed process): ignore it */
            if (!p->killed)
                violation(V_PARSE, "%s:%u: truncated line", p->path, lineno);
            break;
        }
        line[len - 1] = 0;
        char type = line[0];
        uint64_t t;
        int off = 0;
        if (sscanf(line, "%*c %" SCNu64 " %n", &t, &off) != 1 || off == 0) {
            violation(V_PARSE, "%s:%u: bad line '%s'", p->path, lineno, line);
            continue;
        }
        const char *a = line + off;
        if (t < t0)
            t0 = t;
        if (t > p->t_last)
            p->t_last = t;
        p->nlines++;
        int ok = 1;
        switch (type) {
        case 'H': {
            unsigned id;
            int pid;
            ok = sscanf(a, "%u %d", &id, &pid) == 2;
            if (ok) {
                p->id = id;
                p->pid = pid;
            }
            break;
        }
        case 'Q': {
            uint64_t rid, lid;
            char res[128], op;
            int mode, sync;
            uint32_t flags;
            ok = sscanf(a, "%" SCNu64 " %" SCNu64 " %127s %c %d %u %d", &rid, &lid, res, &op, &mode,
                        &flags, &sync) == 7;
            if (!ok)
                break;
            struct req r = {.proc = pi,
                            .rid = rid,
                            .lid = lid,
                            .res = res_index(res),
                            .op = op,
                            .mode = mode,
                            .flags = flags,
                            .sync = sync,
                            .t_issue = t,
                            .t_comp = NONE_T,
                            .cancel_ret = -1};
            if (map_get(&reqmap, key(pi, rid)) >= 0)
                violation(V_PARSE, "%s:%u: request id %" PRIu64 " reused", p->path, lineno, rid);
            VPUSH(reqs, r);
            map_put(&reqmap, key(pi, rid), (int)reqs.n - 1);
            if (op == 'L') {
                struct lock l = {.proc = pi, .lid = lid, .res = r.res, .cur_mode = -1};
                VPUSH(locks, l);
                map_put(&lockmap, key(pi, lid), (int)locks.n - 1);
            } else if (!find_lock(pi, lid, NULL)) {
                violation(V_PARSE, "%s:%u: request on unknown lock %" PRIu64, p->path, lineno, lid);
            }
            break;
        }
        case 'R': {
            uint64_t lid, rid;
            int mode, li;
            ok = sscanf(a, "%" SCNu64 " %" SCNu64 " %d", &lid, &rid, &mode) == 3;
            if (ok && find_lock(pi, lid, &li))
                set_mode(li, mode, t, rid);
            break;
        }
        case 'G': {
            uint64_t lid, rid, seq;
            int mode, prev, sbf, li;
            uint32_t flags;
            char lvb[80];
            ok = sscanf(a, "%" SCNu64 " %" SCNu64 " %d %d %u %d %" SCNu64 " %79s", &lid, &rid,
                        &mode, &prev, &flags, &sbf, &seq, lvb) == 8;
            if (!ok || !find_lock(pi, lid, &li))
                break;
            set_mode(li, mode, t, rid);
            if (strcmp(lvb, "-") != 0 && (flags & RDLM_LKF_VALBLK) && mode >= 0 &&
                wl_lvb_op(prev, mode) == 'R') {
                struct rd r = {.res = locks.v[li].res,
                               .req = map_get(&reqmap, key(pi, rid)),
                               .lock = li,
                               .t_deliv = t,
                               .vnv = !!(sbf & RDLM_SBF_VALNOTVALID),
                               .sentinel = strcmp(lvb, "S") == 0,
                               .seq = seq,
                               .mode = mode,
                               .prev = prev};
                if (!r.sentinel && parse_hex(lvb, r.content) != 0) {
                    ok = 0;
                    break;
                }
                if (r.req >= 0)
                    VPUSH(reads, r);
            }
            break;
        }
        case 'W': {
            uint64_t lid, rid;
            char res[128], kind, lvb[80];
            ok = sscanf(a, "%" SCNu64 " %" SCNu64 " %127s %c %79s", &lid, &rid, res, &kind, lvb) ==
                 5;
            if (!ok)
                break;
            struct wev w = {.res = res_index(res),
                            .req = map_get(&reqmap, key(pi, rid)),
                            .t_issue = t,
                            .kind = kind};
            if (kind == 'W' && parse_hex(lvb, w.content) != 0) {
                ok = 0;
                break;
            }
            if (w.req >= 0)
                VPUSH(wevs, w);
            break;
        }
        case 'C': {
            uint64_t rid, lid, lkid;
            int status, sbf, li;
            ok = sscanf(a, "%" SCNu64 " %" SCNu64 " %d %d %" SCNx64, &rid, &lid, &status, &sbf,
                        &lkid) == 5;
            if (!ok)
                break;
            int ri = map_get(&reqmap, key(pi, rid));
            if (ri < 0) {
                violation(V_COMPL, "%s:%u: completion (status %d) for unknown request %" PRIu64,
                          p->path, lineno, status, rid);
                break;
            }
            struct req *r = &reqs.v[ri];
            if (r->ncomp++ == 0) {
                r->status = status;
                r->t_comp = t;
            } else {
                r->status2 = status;
            }
            r->lkid = lkid;
            if (find_lock(pi, lid, &li) && lkid)
                locks.v[li].lkid = lkid;
            break;
        }
        case 'J': {
            uint64_t rid, lid;
            int status;
            ok = sscanf(a, "%" SCNu64 " %" SCNu64 " %d", &rid, &lid, &status) == 3;
            int ri = ok ? map_get(&reqmap, key(pi, rid)) : -1;
            if (ri >= 0) {
                reqs.v[ri].rejected = 1;
                reqs.v[ri].rej_status = status;
            }
            break;
        }
        case 'X': {
            uint64_t rid, lid;
            int ret;
            ok = sscanf(a, "%" SCNu64 " %" SCNu64 " %d", &rid, &lid, &ret) == 3;
            int ri = ok ? map_get(&reqmap, key(pi, rid)) : -1;
            if (ri >= 0)
                reqs.v[ri].cancel_ret = ret;
            break;
        }
        case 'B':
            break;
        case 'A':
            violation(V_ANOM, "proc %u (%s) at %.3f us: %s", p->id, p->path, rel_us(t), a);
            break;
        case 'E': {
            int clean;
            ok = sscanf(a, "%d", &clean) == 1;
            if (ok) {
                p->has_end = 1;
                p->clean = clean;
                const char *s;
                if ((s = strstr(a, "fast_grants=")))
                    p->fast_grants = strtoull(s + 12, NULL, 10);
                if ((s = strstr(a, "fast_unlocks=")))
                    p->fast_unlocks = strtoull(s + 13, NULL, 10);
                if ((s = strstr(a, "two_sided=")))
                    p->two_sided = strtoull(s + 10, NULL, 10);
            }
            break;
        }
        default:
            ok = 0;
        }
        if (!ok)
            violation(V_PARSE, "%s:%u: cannot parse '%s'", p->path, lineno, line);
    }
    free(line);
    fclose(f);
    /* locks still held at the end of the log: held at least until its last record */
    for (size_t li = 0; li < locks.n; li++)
        if (locks.v[li].proc == pi && locks.v[li].cur_mode >= 0)
            set_mode((int)li, -1, p->t_last, 0);
}

/* ---- (a) mutual exclusion ---- */

static int cmp_iv(const void *a, const void *b)
{
    const struct interval *x = a, *y = b;
    if (x->res != y->res)
        return x->res < y->res ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return 0;
}

static void check_mutex(void)
{
    qsort(ivs.v, ivs.n, sizeof *ivs.v, cmp_iv);
    VEC(int) act = {0};
    for (size_t i = 0; i < ivs.n; i++) {
        struct interval *I = &ivs.v[i];
        if (i == 0 || ivs.v[i - 1].res != I->res)
            act.n = 0;
        size_t k = 0;
        for (size_t j = 0; j < act.n; j++) /* drop the finished ones */
            if (ivs.v[act.v[j]].end > I->start)
                act.v[k++] = act.v[j];
        act.n = k;
        if (I->mode <= RDLM_MODE_NL)
            continue;
        for (size_t j = 0; j < act.n; j++) {
            struct interval *A = &ivs.v[act.v[j]];
            if (A->lock == I->lock || wl_compatible(A->mode, I->mode))
                continue;
            if (!(A->end > I->start && I->end > A->start))
                continue;
            uint64_t oend = A->end < I->end ? A->end : I->end;
            violation(V_MUTEX,
                      "resource '%s': %s held %s over [%.3f, %.3f] us (granted by request %" PRIu64
                      ", given up by request %" PRIu64 ") and %s held %s over [%.3f, %.3f] us "
                      "(granted by request %" PRIu64 ", given up by request %" PRIu64
                      "): incompatible, overlapping for %.3f us",
                      resnames.v[I->res], lock_desc(A->lock), mode_name(A->mode), rel_us(A->start),
                      rel_us(A->end), A->rid_start, A->rid_end, lock_desc(I->lock),
                      mode_name(I->mode), rel_us(I->start), rel_us(I->end), I->rid_start,
                      I->rid_end, (double)(oend - I->start) / 1000.0);
        }
        VPUSH(act, (int)i);
    }
    free(act.v);
}

/* ---- (b) completions and cancels ---- */

static const char *st_name(int st)
{
    static const char *n[] = {
        "OK",       "INVAL",      "NAMELEN",     "NOMEM",      "NOLOCK",         "EXISTS",
        "BUSY",     "NOTGRANTED", "NOTQUEUED",   "DEADLOCK",   "TIMEDOUT",       "CANCELED",
        "ABORTED",  "UNLOCKED",   "CANCELGRANT", "CANCELWAIT", "SUBLOCKS",       "PARNOTGRANT",
        "NOORPHAN", "ORPHANMODE", "IS_PR",       "NOT_PR",     "PR_RD_MISMATCH", "NOTCONN",
        "NOSYS",    "ACCESS",     "RECOVERY"};
    return st >= 0 && st < (int)(sizeof n / sizeof *n) ? n[st] : "?";
}

static const char *req_desc(int ri)
{
    static char buf[4][256];
    static int turn;
    char *b = buf[turn++ & 3];
    struct req *r = &reqs.v[ri];
    struct proc *p = &procs.v[r->proc];
    snprintf(b, 256,
             "proc %u (pid %d, %s) request %" PRIu64 " (%s lock %" PRIu64 " on '%s', mode %s, "
             "flags 0x%x, %s, issued at %.3f us)",
             p->id, p->pid, p->path, r->rid,
             r->op == 'L'   ? "new"
             : r->op == 'C' ? "convert"
                            : "unlock",
             r->lid, resnames.v[r->res], mode_name(r->mode), r->flags, r->sync ? "sync" : "async",
             rel_us(r->t_issue));
    return b;
}

static long n_missing_crashed;

static void check_completions(void)
{
    for (size_t i = 0; i < reqs.n; i++) {
        struct req *r = &reqs.v[i];
        struct proc *p = &procs.v[r->proc];
        if (r->rejected) {
            if (r->ncomp > 0)
                violation(V_COMPL, "%s: rejected by the call (%s) yet completed %d time(s) (%s)",
                          req_desc((int)i), st_name(r->rej_status), r->ncomp, st_name(r->status));
            else
                violation(V_ANOM, "%s: rejected by the call with %s", req_desc((int)i),
                          st_name(r->rej_status));
            continue;
        }
        if (r->ncomp > 1)
            violation(V_COMPL, "%s: %d completions (first %s at %.3f us, then %s)",
                      req_desc((int)i), r->ncomp, st_name(r->status), rel_us(r->t_comp),
                      st_name(r->status2));
        if (r->ncomp == 0) {
            if (p->killed)
                n_missing_crashed++;
            else
                violation(V_COMPL, "%s: no completion%s", req_desc((int)i),
                          p->has_end && p->clean ? " (the process ended cleanly)"
                                                 : " (the process did not end cleanly)");
        }
        if (r->cancel_ret >= 0 && r->ncomp > 0) {
            if (r->cancel_ret == RDLM_OK && r->status != RDLM_E_CANCELED)
                violation(V_CANCEL, "%s: rdlm_cancel returned OK but the request completed %s",
                          req_desc((int)i), st_name(r->status));
            if ((r->cancel_ret == RDLM_E_CANCELGRANT || r->cancel_ret == RDLM_E_NOLOCK) &&
                r->status == RDLM_E_CANCELED)
                violation(V_CANCEL,
                          "%s: rdlm_cancel returned %s but the request completed "
                          "CANCELED",
                          req_desc((int)i), st_name(r->cancel_ret));
        }
    }
}

/* ---- (c) lock value blocks ---- */

static int cmp_wev(const void *a, const void *b)
{
    const struct wev *x = a, *y = b;
    if (x->res != y->res)
        return x->res < y->res ? -1 : 1;
    return x->t_issue < y->t_issue ? -1 : x->t_issue > y->t_issue;
}

static long lvb_checked, lvb_skip_cover, lvb_skip_crash;

struct comp {
    uint64_t start, end;
};

static uint64_t content_hash(const uint8_t *c)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < RDLM_LVB_LEN; i++)
        h = (h ^ c[i]) * 1099511628211ull;
    return h ? h : 1;
}

/* Report a read that matches none of the possible states. */
static void report_stale(int res, struct rd *R, struct wev **ev, size_t lo, size_t n, size_t kmin,
                         size_t kmax, size_t j, struct wev **all, size_t nall)
{
    struct req *q = &reqs.v[R->req];
    char cand[2048];
    size_t o = 0;
    cand[0] = 0;
    for (size_t k = kmin; k <= kmax && k <= n && o < sizeof cand - 300; k++) {
        if (k == 0) {
            o += (size_t)snprintf(cand + o, sizeof cand - o,
                                  "\n    E0: the state before the first write-path event of "
                                  "this resource lifetime");
            continue;
        }
        struct wev *E = ev[lo + k - 1];
        struct req *wq = &reqs.v[E->req];
        o += (size_t)snprintf(cand + o, sizeof cand - o,
                              "\n    E%zu: %s %s by proc %u request %" PRIu64 " (issued %.3f us, "
                              "completed %.3f us)",
                              k, E->kind == 'W' ? "write" : "invalidate",
                              E->kind == 'W' ? lvb_desc(E->content) : "", procs.v[wq->proc].id,
                              wq->rid, rel_us(E->t_issue), rel_us(wq->ncomp ? wq->t_comp : NONE_T));
    }
    char fromb[200] = "";
    if (!R->sentinel && j == 0) {
        for (size_t k = 0; k < nall; k++)
            if (all[k]->kind == 'W' && memcmp(all[k]->content, R->content, RDLM_LVB_LEN) == 0)
                snprintf(fromb, sizeof fromb,
                         " (that value was written by proc %u request %" PRIu64
                         " issued at %.3f us, outside this resource lifetime)",
                         procs.v[reqs.v[all[k]->req].proc].id, reqs.v[all[k]->req].rid,
                         rel_us(all[k]->t_issue));
    } else if (j > 0) {
        snprintf(fromb, sizeof fromb, " (that is E%zu's value)", j);
    }
    violation(V_LVB,
              "resource '%s': %s request %" PRIu64 " (%s -> %s, requested %.3f us, delivered "
              "%.3f us) read %s%s seq %" PRIu64 " VALNOTVALID=%d; the LVB could only be in the "
              "state after one of E%zu..E%zu (a write leaves it valid with its value, an "
              "invalidation keeps the value and marks it invalid):%s",
              resnames.v[res], lock_desc(R->lock), q->rid, mode_name(R->prev), mode_name(R->mode),
              rel_us(q->t_issue), rel_us(R->t_deliv),
              R->sentinel ? "nothing (buffer untouched: LVB never written)" : lvb_desc(R->content),
              fromb, R->seq, R->vnv, kmin, kmax, cand);
}

static void check_lvb(void)
{
    qsort(wevs.v, wevs.n, sizeof *wevs.v, cmp_wev);
    /* ivs are sorted by (res, start) after check_mutex */
    size_t iv_i = 0, w_i = 0;
    for (int res = 0; res < (int)resnames.n; res++) {
        /* coverage components of this resource: the resource provably exists throughout */
        VEC(struct comp) comps = {0};
        while (iv_i < ivs.n && ivs.v[iv_i].res < res)
            iv_i++;
        for (; iv_i < ivs.n && ivs.v[iv_i].res == res; iv_i++) {
            struct interval *I = &ivs.v[iv_i];
            if (comps.n && I->start <= comps.v[comps.n - 1].end) {
                if (I->end > comps.v[comps.n - 1].end)
                    comps.v[comps.n - 1].end = I->end;
            } else {
                struct comp c = {I->start, I->end};
                VPUSH(comps, c);
            }
        }
        /* write-path events of this resource (the rejected calls did nothing) */
        VEC(struct wev *) ev = {0};
        while (w_i < wevs.n && wevs.v[w_i].res < res)
            w_i++;
        for (; w_i < wevs.n && wevs.v[w_i].res == res; w_i++)
            if (!reqs.v[wevs.v[w_i].req].rejected)
                VPUSH(ev, &wevs.v[w_i]);
        /* per event: component, and within it src (index of the last write, 1-based within the
         * component), inv (invalidated since), nw (writes so far) */
        size_t ne = ev.n;
        size_t *ecomp = calloc(ne + 1, sizeof *ecomp), *esrc = calloc(ne + 1, sizeof *esrc);
        size_t *enw = calloc(ne + 1, sizeof *enw), *clo = calloc(comps.n + 1, sizeof *clo);
        size_t *chi = calloc(comps.n + 1, sizeof *chi);
        int *einv = calloc(ne + 1, sizeof *einv);
        struct map cmap = {0};
        {
            size_t c = 0;
            for (size_t e = 0; e < ne; e++) {
                while (c < comps.n && comps.v[c].end < ev.v[e]->t_issue)
                    c++;
                ecomp[e] = (c < comps.n && comps.v[c].start <= ev.v[e]->t_issue) ? c : SIZE_MAX;
            }
            for (size_t e = 0, prevc = SIZE_MAX; e < ne; e++) {
                size_t cc = ecomp[e];
                if (cc == SIZE_MAX)
                    continue;
                if (cc != prevc) {
                    clo[cc] = e;
                    prevc = cc;
                }
                chi[cc] = e + 1;
                size_t k = e - clo[cc] + 1;
                size_t ps = e > clo[cc] ? esrc[e - 1] : 0, pn = e > clo[cc] ? enw[e - 1] : 0;
                if (ev.v[e]->kind == 'W') {
                    esrc[e] = k;
                    enw[e] = pn + 1;
                    einv[e] = 0;
                    map_put(&cmap, content_hash(ev.v[e]->content), (int)e);
                } else {
                    esrc[e] = ps;
                    enw[e] = pn;
                    einv[e] = 1;
                }
            }
        }
        /* From when unlogged LVB writes (or invalidations by a purge) may have happened: the
         * earliest end of a log that lost its tail (a killed process, or no end record), on
         * every resource, since the lost records may have been requests on any of them (an
         * empty log: from the start); and the earliest end of an unclean process that touched
         * the resource (its log is complete, but its locks were force-unlocked). */
        uint64_t crash_limit = NONE_T;
        for (size_t i = 0; i < procs.n; i++) {
            struct proc *p = &procs.v[i];
            uint64_t t = p->nlines ? p->t_last : 0;
            if ((p->killed || !p->has_end) && t < crash_limit)
                crash_limit = t;
        }
        for (size_t i = 0; i < reqs.n; i++) {
            struct proc *p = &procs.v[reqs.v[i].proc];
            if (reqs.v[i].res == res && !p->clean && p->t_last < crash_limit)
                crash_limit = p->t_last;
        }
        int64_t base = 0;
        int have_base = 0;
        size_t base_comp = SIZE_MAX;
        int base_read = -1;
        for (size_t ri = 0; ri < reads.n; ri++) {
            struct rd *R = &reads.v[ri];
            if (R->res != res)
                continue;
            struct req *q = &reqs.v[R->req];
            if (R->t_deliv > crash_limit) {
                lvb_skip_crash++;
                continue;
            }
            size_t c = 0;
            while (c < comps.n && !(comps.v[c].start <= R->t_deliv && R->t_deliv <= comps.v[c].end))
                c++;
            if (c == comps.n || comps.v[c].start >= q->t_issue) {
                lvb_skip_cover++;
                continue;
            }
            if (c != base_comp) {
                have_base = 0;
                base_comp = c;
            }
            size_t lo = clo[c], n = chi[c] > clo[c] ? chi[c] - clo[c] : 0;
            /* kmax: the last event issued before the delivery (issue times are sorted) */
            size_t a = 0, b = n;
            while (a < b) {
                size_t m = (a + b) / 2;
                if (ev.v[lo + m]->t_issue < R->t_deliv)
                    a = m + 1;
                else
                    b = m;
            }
            size_t kmax = a;
            /* kmin: the last event completed before the request was issued */
            size_t kmin = 0;
            for (size_t k = kmax; k >= 1; k--) {
                struct req *wq = &reqs.v[ev.v[lo + k - 1]->req];
                if (wq->ncomp && wq->t_comp < q->t_issue) {
                    kmin = k;
                    break;
                }
                if (kmax - k > 100000)
                    break;
            }
            /* the write whose value was read (0: none of this lifetime) */
            size_t j = 0;
            if (!R->sentinel) {
                int e = map_get(&cmap, content_hash(R->content));
                if (e >= 0 && memcmp(ev.v[e]->content, R->content, RDLM_LVB_LEN) == 0 &&
                    ecomp[e] == c)
                    j = (size_t)e - lo + 1;
            }
            int matched = 0;
            size_t match_nw = 0;
            for (size_t k = kmin; k <= kmax && !matched; k++) {
                size_t src = k ? esrc[lo + k - 1] : 0, nw = k ? enw[lo + k - 1] : 0;
                int inv = k ? einv[lo + k - 1] : 0;
                int ok;
                if (R->sentinel)
                    ok = src == 0 && !inv && !R->vnv;
                else if (j > 0)
                    ok = src == j && (R->vnv ? inv : !inv);
                else
                    ok = src == 0 && (inv ? R->vnv : 1);
                if (ok) {
                    matched = 1;
                    match_nw = nw;
                }
                if (j > 0 && k < j)
                    k = j - 1; /* only states at or after the write can hold its value */
            }
            lvb_checked++;
            if (!matched) {
                report_stale(res, R, ev.v, lo, n, kmin, kmax, j, ev.v, ev.n);
                continue;
            }
            if (R->sentinel)
                continue;
            int64_t bb = (int64_t)R->seq - (int64_t)match_nw;
            if (!have_base) {
                have_base = 1;
                base = bb;
                base_read = (int)ri;
            } else if (bb != base) {
                struct rd *B = &reads.v[base_read];
                violation(V_LVB,
                          "resource '%s': LVB sequence numbers do not count the writes: %s "
                          "request %" PRIu64 " read %s with seq %" PRIu64
                          " after %zu write(s) of this resource lifetime, but %s request %" PRIu64
                          " read %s with seq %" PRIu64 " (implied initial seq %" PRId64
                          " vs %" PRId64 ")",
                          resnames.v[res], lock_desc(R->lock), q->rid, lvb_desc(R->content), R->seq,
                          match_nw, lock_desc(B->lock), reqs.v[B->req].rid, lvb_desc(B->content),
                          B->seq, bb, base);
            }
        }
        free(comps.v);
        free(ev.v);
        free(ecomp);
        free(esrc);
        free(enw);
        free(einv);
        free(clo);
        free(chi);
        free(cmap.k);
        free(cmap.v);
    }
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr, "usage: checker [--killed LOG]... [--expect-fast] [--expect-nofast] "
                    "[--max-report N] [-v] LOG...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int expect_fast = 0, expect_nofast = 0;
    for (int i = 1; i < argc; i++) {
        struct proc p = {0};
        if (strcmp(argv[i], "--killed") == 0 && i + 1 < argc) {
            p.path = argv[++i];
            p.killed = 1;
        } else if (strcmp(argv[i], "--expect-fast") == 0) {
            expect_fast = 1;
            continue;
        } else if (strcmp(argv[i], "--expect-nofast") == 0) {
            expect_nofast = 1;
            continue;
        } else if (strcmp(argv[i], "--max-report") == 0 && i + 1 < argc) {
            max_report = atoi(argv[++i]);
            continue;
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
            continue;
        } else if (argv[i][0] == '-') {
            usage();
        } else {
            p.path = argv[i];
        }
        VPUSH(procs, p);
    }
    if (procs.n == 0)
        usage();
    for (size_t i = 0; i < procs.n; i++)
        parse_file((int)i);
    if (t0 == NONE_T)
        t0 = 0;

    uint64_t fast = 0, fast_unl = 0, two = 0;
    int nkilled = 0;
    for (size_t i = 0; i < procs.n; i++) {
        struct proc *p = &procs.v[i];
        fast += p->fast_grants;
        fast_unl += p->fast_unlocks;
        two += p->two_sided;
        nkilled += p->killed;
        if (p->killed)
            continue;
        if (!p->has_end)
            violation(V_UNCLEAN,
                      "proc %u (pid %d, %s): the log has no end record (the process "
                      "died or hung)",
                      p->id, p->pid, p->path);
        else if (!p->clean)
            violation(V_UNCLEAN, "proc %u (pid %d, %s): the process reports an unclean end", p->id,
                      p->pid, p->path);
    }
    check_mutex();
    check_completions();
    check_lvb();
    if (expect_nofast && fast + fast_unl > 0)
        violation(V_FAST,
                  "the fast path was disabled, yet %" PRIu64 " fast grants and %" PRIu64
                  " fast unlocks were counted",
                  fast, fast_unl);
    if (expect_fast && fast == 0)
        violation(V_FAST, "the fast path was enabled on uncontended resources, yet no grant was "
                          "made by one-sided CAS (stats fast_grants == 0)");

    long ncomp = 0, ngrants = 0;
    for (size_t i = 0; i < reqs.n; i++)
        ncomp += reqs.v[i].ncomp;
    for (size_t i = 0; i < ivs.n; i++)
        ngrants += ivs.v[i].mode > RDLM_MODE_NL;
    long total = 0;
    for (int c = 0; c < V_COUNT; c++)
        total += vcount[c];
    printf("checker: %zu processes (%d killed), %zu resources, %zu requests, %ld completions, "
           "%zu intervals (%ld above NL), %zu LVB write-path events, %ld LVB reads checked "
           "(%ld skipped: lifetime unknown, %ld: after a crash), %ld unfinished requests of "
           "killed processes; fast grants %" PRIu64 ", fast unlocks %" PRIu64 ", two-sided %" PRIu64
           "\n",
           procs.n, nkilled, resnames.n, reqs.n, ncomp, ivs.n, ngrants, wevs.n, lvb_checked,
           lvb_skip_cover, lvb_skip_crash, n_missing_crashed, fast, fast_unl, two);
    if (total == 0) {
        printf("checker: PASS\n");
        return 0;
    }
    printf("checker: FAIL:");
    for (int c = 0; c < V_COUNT; c++)
        if (vcount[c])
            printf(" %ld %s", vcount[c], vname[c]);
    printf("\n");
    return 1;
}
