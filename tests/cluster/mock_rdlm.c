/*
 * tests/cluster/mock_rdlm.c - an in-process implementation of the rdlm.h calls the workload
 * uses, on top of the lock engine (master/engine.h): one engine for the whole process, one
 * global mutex, a dispatch thread delivering completion and blocking callbacks in order, a
 * clock thread expiring TIMEOUT requests.
 *
 * It is not a client library. It exists to validate the test harness itself: the workload
 * linked with it (workload_mock) must produce logs the checker accepts, since the engine is
 * tested against its contract on its own. A checker complaint there is a harness bug.
 *
 * RDLM_MOCK_BUG plants a service bug the checker must then report: "double" (every 40th
 * completion delivered twice), "lose" (every 40th asynchronous completion dropped),
 * "stale-lvb" (every 8th LVB read returns the value of an earlier read), "early-grant" (every
 * 20th request that has to wait is told at once that it was granted).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "master/engine.h"
#include "rdlm.h"

struct entry {
    struct rdlm_lksb *lksb;
    rdlm_ast_fn ast;
    rdlm_bast_fn bast;
    void *astarg;
    int sync_waiting, sync_done;
    struct eng_action res; /* the completion for the sync waiter */
};

struct item {
    struct item *next;
    struct entry *en;
    struct eng_action a;
};

struct rdlm_ls {
    int fast;
    struct rdlm_stats stats;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;  /* sync waiters */
static pthread_cond_t qcv = PTHREAD_COND_INITIALIZER; /* the dispatch queue */
static struct eng *engine;
static struct entry **entries;
static size_t nentries, capentries;
static struct item *qhead, *qtail;
static int stopping, nusers;
static pthread_t dispatcher, clock_thr;
static const char *bug = "";
static unsigned long bug_count;
static uint8_t stale_lvb[RDLM_LVB_LEN];
static uint64_t stale_seq;
static int have_stale;

static int bug_hit(const char *name, unsigned long every)
{
    return strcmp(bug, name) == 0 && ++bug_count % every == 0;
}

static struct entry *find(uint64_t lkid)
{
    return lkid && lkid <= nentries ? entries[lkid - 1] : NULL;
}

static void apply(struct entry *en, const struct eng_action *a)
{
    en->lksb->status = a->status;
    en->lksb->sbflags = a->sbflags;
    if (a->lvb_read && en->lksb->lvb) {
        memcpy(en->lksb->lvb, a->lvb, RDLM_LVB_LEN);
        en->lksb->lvbseq = a->lvbseq;
    }
}

static void enqueue(struct entry *en, const struct eng_action *a)
{
    struct item *it = calloc(1, sizeof *it);
    it->en = en;
    it->a = *a;
    if (qtail)
        qtail->next = it;
    else
        qhead = it;
    qtail = it;
    pthread_cond_signal(&qcv);
}

static void run_actions(struct eng_actions *acts)
{
    for (size_t i = 0; i < acts->n; i++) {
        struct eng_action *a = &acts->v[i];
        struct entry *en = find(a->lkid);
        if (!en || a->kind == ENG_ACT_LVB)
            continue;
        if (a->kind == ENG_ACT_COMPLETE && a->lvb_read) {
            if (have_stale && bug_hit("stale-lvb", 8)) {
                uint8_t cur[RDLM_LVB_LEN];
                memcpy(cur, a->lvb, RDLM_LVB_LEN);
                memcpy(a->lvb, stale_lvb, RDLM_LVB_LEN);
                a->lvbseq = stale_seq;
                memcpy(stale_lvb, cur, RDLM_LVB_LEN);
            } else {
                memcpy(stale_lvb, a->lvb, RDLM_LVB_LEN);
                stale_seq = a->lvbseq;
                have_stale = 1;
            }
        }
        if (a->kind == ENG_ACT_COMPLETE && en->sync_waiting && !en->sync_done) {
            en->res = *a;
            en->sync_done = 1;
            pthread_cond_broadcast(&cv);
            continue;
        }
        if (a->kind == ENG_ACT_BAST && !en->bast)
            continue;
        if (a->kind == ENG_ACT_COMPLETE && bug_hit("lose", 40))
            continue;
        enqueue(en, a);
        if (a->kind == ENG_ACT_COMPLETE && bug_hit("double", 40))
            enqueue(en, a);
    }
    eng_actions_clear(acts);
}

static void *dispatch_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!qhead && !stopping)
            pthread_cond_wait(&qcv, &mu);
        if (!qhead)
            break;
        struct item *it = qhead;
        qhead = it->next;
        if (!qhead)
            qtail = NULL;
        struct entry *en = it->en;
        if (it->a.kind == ENG_ACT_COMPLETE) {
            apply(en, &it->a);
            rdlm_ast_fn fn = en->ast;
            void *arg2 = en->astarg;
            pthread_mutex_unlock(&mu);
            if (fn)
                fn(arg2);
        } else {
            rdlm_bast_fn fn = en->bast;
            void *arg2 = en->astarg;
            pthread_mutex_unlock(&mu);
            if (fn)
                fn(arg2, it->a.mode, it->a.hint);
        }
        free(it);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *clock_main(void *arg)
{
    (void)arg;
    struct eng_actions acts = {0};
    for (;;) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t cs = (uint64_t)ts.tv_sec * 100 + (uint64_t)ts.tv_nsec / 10000000;
        pthread_mutex_lock(&mu);
        if (stopping) {
            pthread_mutex_unlock(&mu);
            break;
        }
        eng_advance_time(engine, cs, &acts);
        run_actions(&acts);
        pthread_mutex_unlock(&mu);
    }
    eng_actions_free(&acts);
    return NULL;
}

static uint64_t now_cs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 100 + (uint64_t)ts.tv_nsec / 10000000;
}

int rdlm_ls_create(const char *name, uint32_t flags, rdlm_ls **out)
{
    (void)name;
    (void)flags;
    pthread_mutex_lock(&mu);
    if (!engine) {
        bug = getenv("RDLM_MOCK_BUG") ? getenv("RDLM_MOCK_BUG") : "";
        engine = eng_create();
        struct eng_actions acts = {0};
        eng_advance_time(engine, now_cs(), &acts);
        eng_actions_free(&acts);
        pthread_create(&dispatcher, NULL, dispatch_main, NULL);
        pthread_create(&clock_thr, NULL, clock_main, NULL);
    }
    nusers++;
    pthread_mutex_unlock(&mu);
    *out = calloc(1, sizeof **out);
    (*out)->fast = 1;
    return RDLM_OK;
}

int rdlm_ls_open(const char *name, uint32_t flags, rdlm_ls **out)
{
    return rdlm_ls_create(name, flags, out);
}

int rdlm_ls_close(rdlm_ls *ls)
{
    pthread_mutex_lock(&mu);
    int last = --nusers == 0;
    if (last) {
        stopping = 1;
        pthread_cond_broadcast(&qcv);
    }
    pthread_mutex_unlock(&mu);
    if (last) {
        pthread_join(dispatcher, NULL);
        pthread_join(clock_thr, NULL);
    }
    free(ls);
    return RDLM_OK;
}

/* Wait (mu held) for the completion of a sync request on en; returns its status. */
static int wait_sync(struct entry *en)
{
    while (!en->sync_done)
        pthread_cond_wait(&cv, &mu);
    en->sync_waiting = 0;
    apply(en, &en->res);
    return en->res.status;
}

int rdlm_lock(rdlm_ls *ls, int mode, struct rdlm_lksb *lksb, uint32_t flags, const void *name,
              unsigned namelen, rdlm_ast_fn ast, void *astarg, rdlm_bast_fn bast,
              const struct rdlm_lock_ext *ext)
{
    int sync = !!(flags & RDLM_LKF_WAIT);
    struct eng_actions acts = {0};
    if (!sync && !ast)
        return RDLM_E_INVAL;
    pthread_mutex_lock(&mu);
    struct entry *en;
    int isnew = !(flags & RDLM_LKF_CONVERT);
    struct eng_req req = {0};
    if (isnew) {
        if (nentries == capentries) {
            capentries = capentries ? 2 * capentries : 1024;
            entries = realloc(entries, capentries * sizeof *entries);
        }
        en = calloc(1, sizeof *en);
        req.lkid = nentries + 1;
        req.name = name;
        req.namelen = (uint16_t)namelen;
        req.owner =
            (struct eng_owner){.kind = ENG_OWNER_PROCESS, .node = 1, .id = (uint64_t)getpid()};
    } else {
        en = find(lksb->lkid);
        if (!en) {
            pthread_mutex_unlock(&mu);
            return RDLM_E_NOLOCK;
        }
        req.lkid = lksb->lkid;
    }
    req.mode = (int8_t)mode;
    req.flags = flags & ~RDLM_LKF_WAIT;
    req.timeout_cs = ext ? ext->timeout_cs : 0;
    req.hint = ext ? ext->hint : 0;
    req.has_bast = bast != NULL;
    req.lvb = lksb->lvb;
    int r = eng_validate_request(&req);
    if (r == RDLM_OK) {
        /* the entry must be findable while the actions run */
        if (isnew)
            entries[nentries++] = en;
        struct entry saved = *en;
        en->lksb = lksb;
        en->ast = ast;
        en->bast = bast;
        en->astarg = astarg;
        en->sync_waiting = sync;
        en->sync_done = 0;
        r = eng_request(engine, &req, &acts);
        if (r != RDLM_OK) {
            if (isnew) {
                nentries--;
                free(en);
            } else {
                *en = saved;
            }
        } else {
            ls->stats.requests++;
            ls->stats.two_sided++;
            if (isnew)
                lksb->lkid = req.lkid;
            int completed = 0;
            for (size_t i = 0; i < acts.n; i++)
                completed |= acts.v[i].kind == ENG_ACT_COMPLETE && acts.v[i].lkid == req.lkid;
            run_actions(&acts);
            if (!completed && !sync && bug_hit("early-grant", 20)) {
                struct eng_action fake = {.kind = ENG_ACT_COMPLETE,
                                          .op = ENG_OP_REQUEST,
                                          .lkid = req.lkid,
                                          .mode = (int8_t)mode};
                enqueue(en, &fake);
            }
            if (sync)
                r = wait_sync(en);
        }
    } else if (isnew) {
        free(en);
    }
    pthread_mutex_unlock(&mu);
    eng_actions_free(&acts);
    return r;
}

int rdlm_unlock(rdlm_ls *ls, uint64_t lkid, uint32_t flags, struct rdlm_lksb *lksb, void *astarg)
{
    int sync = !!(flags & RDLM_LKF_WAIT);
    struct eng_actions acts = {0};
    (void)ls;
    pthread_mutex_lock(&mu);
    struct entry *en = find(lkid);
    if (!en) {
        pthread_mutex_unlock(&mu);
        return RDLM_E_NOLOCK;
    }
    if (lksb)
        en->lksb = lksb;
    if (astarg)
        en->astarg = astarg;
    int was_waiting = en->sync_waiting;
    en->sync_waiting = sync;
    en->sync_done = 0;
    int r = eng_unlock(engine, lkid, flags & ~RDLM_LKF_WAIT, en->lksb->lvb, &acts);
    if (r != RDLM_OK) {
        en->sync_waiting = was_waiting;
    } else {
        run_actions(&acts);
        if (sync)
            r = wait_sync(en);
    }
    pthread_mutex_unlock(&mu);
    eng_actions_free(&acts);
    return r;
}

int rdlm_cancel(rdlm_ls *ls, uint64_t lkid, uint32_t flags)
{
    struct eng_actions acts = {0};
    (void)ls;
    pthread_mutex_lock(&mu);
    int r = eng_cancel(engine, lkid, flags, &acts);
    if (r == RDLM_OK)
        run_actions(&acts);
    pthread_mutex_unlock(&mu);
    eng_actions_free(&acts);
    return r;
}

void rdlm_ls_stats(rdlm_ls *ls, struct rdlm_stats *out)
{
    *out = ls->stats;
}

void rdlm_ls_set_fastpath(rdlm_ls *ls, int enabled)
{
    ls->fast = enabled;
}

const char *rdlm_status_str(int status)
{
    static const char *n[] = {
        "OK",       "INVAL",      "NAMELEN",     "NOMEM",      "NOLOCK",         "EXISTS",
        "BUSY",     "NOTGRANTED", "NOTQUEUED",   "DEADLOCK",   "TIMEDOUT",       "CANCELED",
        "ABORTED",  "UNLOCKED",   "CANCELGRANT", "CANCELWAIT", "SUBLOCKS",       "PARNOTGRANT",
        "NOORPHAN", "ORPHANMODE", "IS_PR",       "NOT_PR",     "PR_RD_MISMATCH", "NOTCONN",
        "NOSYS",    "ACCESS",     "RECOVERY"};
    return status >= 0 && status < RDLM_E_STATUS_COUNT ? n[status] : "?";
}

const char *rdlm_mode_str(int mode)
{
    static const char *n[] = {"NL", "CR", "CW", "PR", "PW", "EX"};
    return mode >= 0 && mode < RDLM_MODE_COUNT ? n[mode] : "IV";
}
