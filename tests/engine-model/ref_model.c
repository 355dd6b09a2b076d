/*
 * tests/engine-model/ref_model.c - the brute-force reference model of the lock engine.
 *
 * Written from docs/engine.md (the contract) and the spec, never from the engine sources. Each
 * function names the contract section it follows. Locks and resources are individually
 * allocated and kept in creation-ordered pointer arrays; every lookup is a linear search and
 * every decision (grantability, deadlock, BASTs, counts) is recomputed from the queues.
 */
#include "tests/engine-model/ref_model.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IV RDLM_MODE_IV
#define NL RDLM_MODE_NL
#define CR RDLM_MODE_CR
#define CW RDLM_MODE_CW
#define PR RDLM_MODE_PR
#define PW RDLM_MODE_PW
#define EX RDLM_MODE_EX

enum { QG = 0, QC = 1, QW = 2 }; /* queue index = state - 1 */

/* Section 1: compatibility, compat[held][requested]. */
static const bool compat[6][6] = {
    /*        NL CR CW PR PW EX */
    /* NL */ {1, 1, 1, 1, 1, 1},
    /* CR */ {1, 1, 1, 1, 1, 0},
    /* CW */ {1, 1, 1, 0, 0, 0},
    /* PR */ {1, 1, 0, 1, 0, 0},
    /* PW */ {1, 1, 0, 0, 0, 0},
    /* EX */ {1, 0, 0, 0, 0, 0},
};

/* Section 1: LVB operation, rows UN, NL..EX. */
enum { LV_NOP = 0, LV_R = 1, LV_W = 2 };
static const uint8_t lvbop[7][6] = {
    /*        NL    CR    CW    PR    PW    EX */
    /* UN */ {LV_R, LV_R, LV_R, LV_R, LV_R, LV_R},
    /* NL */ {LV_R, LV_R, LV_R, LV_R, LV_R, LV_R},
    /* CR */ {LV_NOP, LV_R, LV_R, LV_R, LV_R, LV_R},
    /* CW */ {LV_NOP, LV_NOP, LV_R, LV_R, LV_R, LV_R},
    /* PR */ {LV_NOP, LV_NOP, LV_NOP, LV_R, LV_R, LV_R},
    /* PW */ {LV_W, LV_W, LV_W, LV_W, LV_W, LV_R},
    /* EX */ {LV_W, LV_W, LV_W, LV_W, LV_W, LV_W},
};

/* Section 1: QUECVT legality, quecvt[grmode][rqmode]. */
static const bool quecvt_ok[6][6] = {
    /*        NL CR CW PR PW EX */
    /* NL */ {0, 1, 1, 1, 1, 1},
    /* CR */ {0, 0, 1, 1, 1, 1},
    /* CW */ {0, 0, 0, 1, 1, 1},
    /* PR */ {0, 0, 1, 0, 1, 1},
    /* PW */ {0, 0, 0, 0, 0, 1},
    /* EX */ {0, 0, 0, 0, 0, 0},
};

#define REQUEST_FLAGS                                                                              \
    (RDLM_LKF_NOQUEUE | RDLM_LKF_CONVERT | RDLM_LKF_VALBLK | RDLM_LKF_QUECVT | RDLM_LKF_IVVALBLK | \
     RDLM_LKF_CONVDEADLK | RDLM_LKF_PERSISTENT | RDLM_LKF_NODLCKWT | RDLM_LKF_NODLCKBLK |          \
     RDLM_LKF_EXPEDITE | RDLM_LKF_NOQUEUEBAST | RDLM_LKF_HEADQUE | RDLM_LKF_NOORDER |              \
     RDLM_LKF_ORPHAN | RDLM_LKF_ALTPR | RDLM_LKF_ALTCW | RDLM_LKF_TIMEOUT | RDLM_LKF_PERSIST_RES)

struct rres;

struct rlock {
    uint64_t lkid;
    struct rlock *parent; /* parent lock (follows a re-keyed orphan), NULL for a root lock */
    struct rres *res;
    struct eng_owner owner;
    uint64_t xid;
    uint32_t flags; /* of the last request */
    int8_t grmode;
    int8_t rqmode;
    int8_t highbast;
    uint8_t state; /* 0 = on no queue (a new request being processed), else ENG_LKS_* */
    bool orphan;
    bool has_bast;
    bool old_has_bast;
    uint64_t hint;
    uint64_t old_hint;
    uint8_t sbf; /* DEMOTED / ALTMODE not yet reported */
    bool timer;
    uint64_t deadline;
    uint32_t timeout_cs;
    uint8_t lvb[RDLM_LVB_LEN]; /* the caller's LVB of the last request (VALBLK) */
};

struct lq {
    struct rlock **v;
    size_t n;
    size_t cap;
};

struct rres {
    uint64_t id;
    struct rres *parent;
    uint16_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
    bool persistent;
    uint32_t rd_id;
    uint8_t lvb_status;
    uint64_t lvbseq;
    uint8_t lvb[RDLM_LVB_LEN];
    uint32_t bast_count;
    struct lq q[3];
};

struct ref {
    struct rlock **lk; /* creation order */
    size_t nlk;
    size_t caplk;
    struct rres **rs; /* creation order */
    size_t nrs;
    size_t caprs;
    uint64_t now;
    uint64_t next_res_id;
};

/* ---------------------------------------------------------------- path coverage */

static const char *const cov_names[REF_COV_COUNT] = {
    "new granted",
    "new granted EXPEDITE",
    "new granted NOORDER past waiters",
    "new NOTQUEUED",
    "new queued",
    "new queued HEADQUE",
    "adopted orphan",
    "cvt granted at once",
    "cvt granted in alternate",
    "cvt DEADLOCK",
    "cvt CONVDEADLK demote",
    "cvt CONVDEADLK then granted",
    "cvt NODLCKWT queued",
    "cvt NOTQUEUED",
    "cvt queued",
    "cvt queued HEADQUE",
    "pass grant converting",
    "pass grant converting alt",
    "pass demote",
    "pass NODLCKWT self-BAST",
    "pass grant waiting",
    "pass grant waiting alt",
    "pending-BAST",
    "pending-BAST PR/CW case",
    "queue-BAST",
    "NOQUEUEBAST BAST",
    "LVB write at grant",
    "LVB invalidate at grant",
    "LVB read at grant",
    "unlock LVB write",
    "unlock LVB invalidate",
    "force unlock of sublock",
    "ABORTED",
    "purge revert",
    "purge delete waiting",
    "orphaned",
    "purge removed",
    "timeout expired",
    "resource freed",
};

uint64_t ref_cov[REF_COV_COUNT];

#define COV(k) (ref_cov[REF_COV_##k]++)

const char *ref_cov_name(int k)
{
    return cov_names[k];
}

/* ---------------------------------------------------------------- small helpers */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL)
        abort();
    return q;
}

static void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    if (p == NULL)
        abort();
    return p;
}

static bool owner_eq(const struct eng_owner *a, const struct eng_owner *b)
{
    return a->kind == b->kind && a->node == b->node && a->id == b->id;
}

static int max_mode(int a, int b)
{
    return a > b ? a : b;
}

static void lq_push(struct lq *q, struct rlock *l, bool head)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->v = xrealloc(q->v, q->cap * sizeof(*q->v));
    }
    if (head) {
        memmove(q->v + 1, q->v, q->n * sizeof(*q->v));
        q->v[0] = l;
    } else {
        q->v[q->n] = l;
    }
    q->n++;
}

static void lq_remove(struct lq *q, struct rlock *l)
{
    for (size_t i = 0; i < q->n; i++) {
        if (q->v[i] == l) {
            memmove(q->v + i, q->v + i + 1, (q->n - i - 1) * sizeof(*q->v));
            q->n--;
            return;
        }
    }
    assert(!"lock not on its queue");
}

/* Take l off its queue (if any) and put it on queue of `state`, at the head or tail. */
static void move_to(struct rlock *l, uint8_t state, bool head)
{
    if (l->state != 0)
        lq_remove(&l->res->q[l->state - 1], l);
    l->state = state;
    lq_push(&l->res->q[state - 1], l, head);
}

static struct rlock *find_lock(const struct ref *m, uint64_t lkid)
{
    for (size_t i = 0; i < m->nlk; i++)
        if (m->lk[i]->lkid == lkid)
            return m->lk[i];
    return NULL;
}

static struct rres *find_res(const struct ref *m, const struct rres *parent, const void *name,
                             uint16_t namelen)
{
    for (size_t i = 0; i < m->nrs; i++) {
        struct rres *r = m->rs[i];
        if (r->parent == parent && r->namelen == namelen && memcmp(r->name, name, namelen) == 0)
            return r;
    }
    return NULL;
}

static struct rres *find_res_id(const struct ref *m, uint64_t id)
{
    for (size_t i = 0; i < m->nrs; i++)
        if (m->rs[i]->id == id)
            return m->rs[i];
    return NULL;
}

static size_t res_lock_count(const struct rres *r)
{
    return r->q[QG].n + r->q[QC].n + r->q[QW].n;
}

static size_t res_child_count(const struct ref *m, const struct rres *r)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nrs; i++)
        if (m->rs[i]->parent == r)
            n++;
    return n;
}

static bool lock_has_children(const struct ref *m, const struct rlock *l)
{
    for (size_t i = 0; i < m->nlk; i++)
        if (m->lk[i]->parent == l)
            return true;
    return false;
}

static struct rres *create_res(struct ref *m, struct rres *parent, const void *name,
                               uint16_t namelen)
{
    struct rres *r = xcalloc(sizeof(*r));
    r->id = ++m->next_res_id;
    r->parent = parent;
    r->namelen = namelen;
    memcpy(r->name, name, namelen);
    r->lvb_status = ENG_LVB_NONE;
    if (m->nrs == m->caprs) {
        m->caprs = m->caprs ? m->caprs * 2 : 16;
        m->rs = xrealloc(m->rs, m->caprs * sizeof(*m->rs));
    }
    m->rs[m->nrs++] = r;
    return r;
}

/* Section 11: the resource (and then empty ancestors) is freed when it has no locks, no
 * sub-resources and is not persistent. */
static void free_if_unused(struct ref *m, struct rres *r)
{
    while (r != NULL && !r->persistent && res_lock_count(r) == 0 && res_child_count(m, r) == 0) {
        struct rres *p = r->parent;
        COV(RES_FREED);
        for (size_t i = 0; i < m->nrs; i++) {
            if (m->rs[i] == r) {
                memmove(m->rs + i, m->rs + i + 1, (m->nrs - i - 1) * sizeof(*m->rs));
                m->nrs--;
                break;
            }
        }
        for (int k = 0; k < 3; k++)
            free(r->q[k].v);
        free(r);
        r = p;
    }
}

static struct rlock *create_lock(struct ref *m)
{
    struct rlock *l = xcalloc(sizeof(*l));
    if (m->nlk == m->caplk) {
        m->caplk = m->caplk ? m->caplk * 2 : 32;
        m->lk = xrealloc(m->lk, m->caplk * sizeof(*m->lk));
    }
    m->lk[m->nlk++] = l;
    return l;
}

/* Take the lock off its queue and out of the engine; the resource is not freed here. */
static void delete_lock(struct ref *m, struct rlock *l)
{
    if (l->state != 0)
        lq_remove(&l->res->q[l->state - 1], l);
    for (size_t i = 0; i < m->nlk; i++) {
        if (m->lk[i] == l) {
            memmove(m->lk + i, m->lk + i + 1, (m->nlk - i - 1) * sizeof(*m->lk));
            m->nlk--;
            break;
        }
    }
    for (size_t i = 0; i < m->nlk; i++)
        assert(m->lk[i]->parent != l);
    free(l);
}

/* ---------------------------------------------------------------- actions */

void ref_actions_clear(struct ref_actions *a)
{
    a->n = 0;
}

void ref_actions_free(struct ref_actions *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static struct ref_action *emit(struct ref_actions *out)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 16;
        out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
    }
    struct ref_action *a = &out->v[out->n++];
    memset(a, 0, sizeof(*a));
    return a;
}

static void emit_complete(struct ref_actions *out, uint64_t lkid, uint8_t op, uint8_t status,
                          int8_t mode, uint8_t sbflags, const struct rres *lvb_from)
{
    struct ref_action *a = emit(out);
    a->a.kind = ENG_ACT_COMPLETE;
    a->a.op = op;
    a->a.lkid = lkid;
    a->a.status = status;
    a->a.mode = mode;
    a->a.sbflags = sbflags;
    if (lvb_from != NULL) {
        a->a.lvb_read = 1;
        a->a.lvbseq = lvb_from->lvbseq;
        memcpy(a->a.lvb, lvb_from->lvb, RDLM_LVB_LEN);
    }
}

static void emit_bast(struct ref_actions *out, struct rlock *g, int8_t mode, uint64_t hint)
{
    struct ref_action *a = emit(out);
    a->a.kind = ENG_ACT_BAST;
    a->a.lkid = g->lkid;
    a->a.mode = mode;
    a->a.hint = hint;
    g->res->bast_count++;
}

static void emit_lvb(struct ref_actions *out, const struct rres *r, bool written)
{
    struct ref_action *a = emit(out);
    a->a.kind = ENG_ACT_LVB;
    a->a.lvb_read = written ? 1 : 0;
    a->a.lvbseq = r->lvbseq;
    memcpy(a->a.lvb, r->lvb, RDLM_LVB_LEN);
    a->namelen = r->namelen;
    memcpy(a->name, r->name, r->namelen);
    a->res_id = r->id;
}

static void lvb_invalidate(struct ref_actions *out, struct rres *r)
{
    r->lvb_status = ENG_LVB_INVALID; /* content kept (zero if never written) */
    emit_lvb(out, r, false);
}

static void lvb_write(struct ref_actions *out, struct rres *r, const uint8_t *lvb)
{
    memcpy(r->lvb, lvb, RDLM_LVB_LEN);
    r->lvbseq++;
    r->lvb_status = ENG_LVB_VALID;
    emit_lvb(out, r, true);
}

/* ---------------------------------------------------------------- section 3: grantability */

static bool grantable(const struct rlock *l, bool now)
{
    const struct rres *r = l->res;
    int rq = l->rqmode;
    if (l->flags & RDLM_LKF_EXPEDITE)
        return true;
    for (size_t i = 0; i < r->q[QG].n; i++) {
        const struct rlock *o = r->q[QG].v[i];
        if (o != l && !compat[o->grmode][rq])
            return false;
    }
    for (size_t i = 0; i < r->q[QC].n; i++) {
        const struct rlock *o = r->q[QC].v[i];
        if (o != l && !compat[o->grmode][rq])
            return false;
    }
    bool conv = l->grmode != IV;
    bool quecvt = (l->flags & RDLM_LKF_QUECVT) != 0;
    if (now && conv && !quecvt)
        return true;
    if (now && conv && quecvt)
        return r->q[QC].n == 0;
    if (l->flags & RDLM_LKF_NOORDER)
        return true;
    if (!now && conv && r->q[QC].n > 0 && r->q[QC].v[0] == l)
        return true;
    if (now && !conv && r->q[QC].n == 0 && r->q[QW].n == 0)
        return true;
    if (!now && !conv && r->q[QC].n == 0 && r->q[QW].n > 0 && r->q[QW].v[0] == l)
        return true;
    return false;
}

/* The alternate-mode half of try_grant: on success rqmode is the alternate and ALTMODE set. */
static bool try_alternates(struct rlock *l, bool now)
{
    int8_t orig = l->rqmode;
    int8_t alt;
    if ((l->flags & RDLM_LKF_ALTPR) && orig != PR)
        alt = PR;
    else if ((l->flags & RDLM_LKF_ALTCW) && orig != CW)
        alt = CW;
    else
        return false;
    l->rqmode = alt;
    if (grantable(l, now)) {
        l->sbf |= RDLM_SBF_ALTMODE;
        return true;
    }
    l->rqmode = orig;
    return false;
}

static bool try_grant(struct rlock *l, bool now)
{
    return grantable(l, now) || try_alternates(l, now);
}

/* Section 4. */
static bool cvt_deadlock(const struct rlock *l)
{
    const struct rres *r = l->res;
    bool behind = false; /* true once l itself has been passed on CONVERTING */
    for (size_t i = 0; i < r->q[QC].n; i++) {
        const struct rlock *o = r->q[QC].v[i];
        if (o == l) {
            behind = true;
            continue;
        }
        if (!behind) {
            if (!compat[l->grmode][o->rqmode])
                return true;
        } else {
            if (!compat[l->grmode][o->rqmode] && !compat[o->grmode][l->rqmode])
                return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------------- section 6: grant */

static void grant(struct rlock *l, struct ref_actions *out)
{
    struct rres *r = l->res;
    int row = l->grmode == IV ? 0 : l->grmode + 1;
    uint8_t op = lvbop[row][l->rqmode];
    uint8_t sbf = l->sbf;
    bool read = false;
    if (op == LV_W) {
        if (l->flags & RDLM_LKF_IVVALBLK) {
            COV(GRANT_LVB_INVAL);
            lvb_invalidate(out, r);
        } else if (l->flags & RDLM_LKF_VALBLK) {
            COV(GRANT_LVB_WRITE);
            lvb_write(out, r, l->lvb);
        }
    } else if (op == LV_R) {
        if ((l->flags & RDLM_LKF_VALBLK) && r->lvb_status != ENG_LVB_NONE) {
            COV(GRANT_LVB_READ);
            read = true;
        }
    }
    if ((l->flags & RDLM_LKF_VALBLK) && r->lvb_status == ENG_LVB_INVALID)
        sbf |= RDLM_SBF_VALNOTVALID;
    l->grmode = l->rqmode;
    if (l->state != ENG_LKS_GRANTED)
        move_to(l, ENG_LKS_GRANTED, false);
    l->highbast = NL;
    l->timer = false;
    l->sbf = 0;
    emit_complete(out, l->lkid, ENG_OP_REQUEST, RDLM_OK, l->grmode, sbf, read ? r : NULL);
}

/* ---------------------------------------------------------------- section 8: BASTs */

static bool modes_require_bast(const struct rlock *g, int m)
{
    if ((g->grmode == PR && m == CW) || (g->grmode == CW && m == PR))
        return g->highbast < EX;
    return g->highbast < m && !compat[g->grmode][m];
}

/* queue-BASTs for a request of mode `mode` and `hint` to the locks of queue qi, skipping `skip`. */
static void queue_basts(struct ref_actions *out, struct rres *r, int qi, const struct rlock *skip,
                        int8_t mode, uint64_t hint)
{
    for (size_t i = 0; i < r->q[qi].n; i++) {
        struct rlock *g = r->q[qi].v[i];
        if (g == skip || !g->has_bast)
            continue;
        if (modes_require_bast(g, mode)) {
            if (qi == QC)
                COV(NOQUEUE_BAST);
            else
                COV(QUEUE_BAST);
            emit_bast(out, g, mode, hint);
            g->highbast = mode;
        }
    }
}

/* NODLCKWT self-BAST (sections 5.2 and 10). */
static void self_bast(struct ref_actions *out, struct rlock *l)
{
    if (l->has_bast && l->highbast < l->rqmode) {
        COV(PASS_SELF_BAST);
        emit_bast(out, l, l->rqmode, l->hint);
        l->highbast = l->rqmode;
    }
}

static void pending_basts(struct ref_actions *out, struct rres *r, int high, bool cw)
{
    if (high == IV)
        return;
    for (size_t i = 0; i < r->q[QG].n; i++) {
        struct rlock *g = r->q[QG].v[i];
        if (!g->has_bast)
            continue;
        bool req;
        if ((g->grmode == PR && cw) || (g->grmode == CW && high == PR))
            req = g->highbast < EX;
        else
            req = g->highbast < high && !compat[g->grmode][high];
        if (!req)
            continue;
        int8_t mode = (cw && high == PR && g->grmode == PR) ? CW : (int8_t)high;
        if (mode != high || (g->grmode == PR && cw) || (g->grmode == CW && high == PR))
            COV(PENDING_BAST_PRCW);
        COV(PENDING_BAST);
        uint64_t hint = 0;
        bool found = false;
        for (int qi = QC; qi <= QW && !found; qi++) {
            for (size_t j = 0; j < r->q[qi].n; j++) {
                if (r->q[qi].v[j]->rqmode == mode) {
                    hint = r->q[qi].v[j]->hint;
                    found = true;
                    break;
                }
            }
        }
        emit_bast(out, g, mode, hint);
        g->highbast = (int8_t)high;
    }
}

/* ---------------------------------------------------------------- section 10: grant-pending */

/* The converting pass; *high / *cw describe its last round (deadlocked locks skipped). */
static void converting_pass(struct rres *r, struct ref_actions *out, int *high, bool *cw)
{
    for (;;) {
        bool restart = false;
        *high = IV;
        *cw = false;
        for (size_t i = 0; i < r->q[QC].n; i++) {
            struct rlock *l = r->q[QC].v[i];
            /* Section 10 as written: try_grant (alternates included), then the deadlock
             * test. (Section 3's remark that the deadlock test runs before the alternates is
             * applied to the first processing of a conversion only, section 5.2.) */
            if (try_grant(l, false)) {
                if (l->sbf & RDLM_SBF_ALTMODE)
                    COV(PASS_CVT_ALT);
                COV(PASS_CVT_GRANT);
                grant(l, out);
                restart = true;
                break;
            }
            if (cvt_deadlock(l)) {
                if (l->flags & RDLM_LKF_CONVDEADLK) {
                    COV(PASS_DEMOTE);
                    l->grmode = NL;
                    l->sbf |= RDLM_SBF_DEMOTED;
                    restart = true;
                    break;
                }
                if (l->flags & RDLM_LKF_NODLCKWT)
                    self_bast(out, l);
                continue;
            }
            *high = max_mode(*high, l->rqmode);
            if (l->rqmode == CW)
                *cw = true;
        }
        if (!restart)
            return;
    }
}

static void grant_pending(struct rres *r, struct ref_actions *out)
{
    int high;
    bool cw;
    converting_pass(r, out, &high, &cw);
    /* waiting pass: one scan in order (a copy, since grants take locks off the queue) */
    size_t n = r->q[QW].n;
    struct rlock **snap = xcalloc((n ? n : 1) * sizeof(*snap));
    if (n > 0)
        memcpy(snap, r->q[QW].v, n * sizeof(*snap));
    for (size_t i = 0; i < n; i++) {
        struct rlock *l = snap[i];
        if (try_grant(l, false)) {
            if (l->sbf & RDLM_SBF_ALTMODE)
                COV(PASS_WAIT_ALT);
            COV(PASS_WAIT_GRANT);
            grant(l, out);
        } else {
            high = max_mode(high, l->rqmode);
            if (l->rqmode == CW)
                cw = true;
        }
    }
    free(snap);
    pending_basts(out, r, high, cw);
}

/* ---------------------------------------------------------------- life cycle */

struct ref *ref_create(void)
{
    return xcalloc(sizeof(struct ref));
}

void ref_destroy(struct ref *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nlk; i++)
        free(m->lk[i]);
    for (size_t i = 0; i < m->nrs; i++) {
        for (int k = 0; k < 3; k++)
            free(m->rs[i]->q[k].v);
        free(m->rs[i]);
    }
    free(m->lk);
    free(m->rs);
    free(m);
}

/* ---------------------------------------------------------------- section 2 + 5: requests */

static void revert_conversion(struct rlock *l)
{
    l->rqmode = l->grmode;
    l->has_bast = l->old_has_bast;
    l->hint = l->old_hint;
    l->timer = false;
}

/* Section 5.2 step 4: queue the conversion on CONVERTING. */
static void queue_conversion(struct ref *m, struct rlock *l, struct ref_actions *out)
{
    COV(CVT_QUEUED);
    if (l->flags & RDLM_LKF_HEADQUE)
        COV(CVT_HEADQUE);
    move_to(l, ENG_LKS_CONVERTING, (l->flags & RDLM_LKF_HEADQUE) != 0);
    if (l->flags & RDLM_LKF_TIMEOUT) {
        l->timer = true;
        l->deadline = m->now + l->timeout_cs;
    }
    queue_basts(out, l->res, QG, l, l->rqmode, l->hint);
}

static int do_convert(struct ref *m, const struct eng_req *req, struct ref_actions *out)
{
    struct rlock *l = find_lock(m, req->lkid);
    if (l == NULL || l->orphan)
        return RDLM_E_NOLOCK;
    if (l->state == ENG_LKS_WAITING)
        return RDLM_E_NOTGRANTED;
    if (l->state == ENG_LKS_CONVERTING)
        return RDLM_E_BUSY;
    if ((req->flags & RDLM_LKF_QUECVT) && !quecvt_ok[l->grmode][req->mode])
        return RDLM_E_INVAL;

    struct rres *r = l->res;
    l->old_has_bast = l->has_bast;
    l->old_hint = l->hint;
    l->rqmode = req->mode;
    l->flags = req->flags;
    l->has_bast = req->has_bast;
    l->hint = req->hint;
    l->timeout_cs = (req->flags & RDLM_LKF_TIMEOUT) ? req->timeout_cs : 0;
    if (req->flags & RDLM_LKF_VALBLK)
        memcpy(l->lvb, req->lvb, RDLM_LVB_LEN);

    if (grantable(l, true)) {
        COV(CVT_GRANT);
        grant(l, out);
        grant_pending(r, out);
        return RDLM_OK;
    }
    if (!(l->flags & RDLM_LKF_NOQUEUE) && cvt_deadlock(l)) {
        if (l->flags & RDLM_LKF_CONVDEADLK) {
            COV(CVT_DEMOTE);
            l->grmode = NL;
            l->sbf |= RDLM_SBF_DEMOTED;
            int high;
            bool cw;
            converting_pass(r, out, &high, &cw);
            if (grantable(l, true)) {
                COV(CVT_DEMOTE_GRANT);
                grant(l, out);
                grant_pending(r, out);
            } else {
                queue_conversion(m, l, out);
            }
            return RDLM_OK;
        }
        if (l->flags & RDLM_LKF_NODLCKWT) {
            COV(CVT_NODLCKWT);
            self_bast(out, l);
            queue_conversion(m, l, out);
            return RDLM_OK;
        }
        COV(CVT_DEADLOCK);
        revert_conversion(l);
        emit_complete(out, l->lkid, ENG_OP_REQUEST, RDLM_E_DEADLOCK, l->grmode, 0, NULL);
        return RDLM_OK;
    }
    if (try_alternates(l, true)) {
        COV(CVT_ALT);
        grant(l, out);
        grant_pending(r, out);
        return RDLM_OK;
    }
    if (l->flags & RDLM_LKF_NOQUEUE) {
        COV(CVT_NOTQUEUED);
        int8_t mode = l->rqmode;
        uint64_t hint = l->hint;
        revert_conversion(l);
        emit_complete(out, l->lkid, ENG_OP_REQUEST, RDLM_E_NOTQUEUED, l->grmode, 0, NULL);
        if (l->flags & RDLM_LKF_NOQUEUEBAST) {
            queue_basts(out, r, QG, l, mode, hint);
            queue_basts(out, r, QC, l, mode, hint);
        }
        return RDLM_OK;
    }
    queue_conversion(m, l, out);
    return RDLM_OK;
}

static int do_new(struct ref *m, const struct eng_req *req, struct ref_actions *out)
{
    /* 5 */
    if (req->lkid == 0)
        return RDLM_E_INVAL;
    if (req->owner.kind != ENG_OWNER_PROCESS && req->owner.kind != ENG_OWNER_GROUP)
        return RDLM_E_INVAL;
    /* 6 */
    if (req->namelen == 0 || req->namelen > RDLM_RESNAME_MAXLEN)
        return RDLM_E_NAMELEN;
    if (req->name == NULL)
        return RDLM_E_INVAL;
    /* 7 */
    if (find_lock(m, req->lkid) != NULL)
        return RDLM_E_EXISTS;
    /* 8 */
    struct rlock *parent = NULL;
    if (req->parent_lkid != 0) {
        parent = find_lock(m, req->parent_lkid);
        if (parent == NULL || parent->orphan)
            return RDLM_E_NOLOCK;
        if (parent->state == ENG_LKS_WAITING)
            return RDLM_E_PARNOTGRANT;
        if (!owner_eq(&parent->owner, &req->owner))
            return RDLM_E_INVAL;
        if ((req->flags & RDLM_LKF_PERSISTENT) && !(parent->flags & RDLM_LKF_PERSISTENT))
            return RDLM_E_INVAL;
    }
    struct rres *pres = parent ? parent->res : NULL;
    struct rres *r = find_res(m, pres, req->name, req->namelen);
    /* 9 */
    struct rlock *adopt = NULL;
    if (req->flags & RDLM_LKF_ORPHAN) {
        bool any = false;
        if (r != NULL) {
            for (int qi = QG; qi <= QW; qi++)
                for (size_t i = 0; i < r->q[qi].n; i++)
                    if (r->q[qi].v[i]->orphan)
                        any = true;
            for (size_t i = 0; i < r->q[QG].n && adopt == NULL; i++) {
                struct rlock *o = r->q[QG].v[i];
                if (o->orphan && o->grmode == req->mode)
                    adopt = o;
            }
        }
        if (!any)
            return RDLM_E_NOORPHAN;
        if (adopt == NULL)
            return RDLM_E_ORPHANMODE;
    }
    /* 10 (an adoption is decided at step 9: the persistence checks do not apply to it) */
    bool pres_flag = (req->flags & RDLM_LKF_PERSIST_RES) != 0;
    if (adopt == NULL && r != NULL && r->persistent && !pres_flag)
        return RDLM_E_IS_PR;
    if (adopt == NULL && r != NULL && r->persistent && r->rd_id != req->rd_id)
        return RDLM_E_PR_RD_MISMATCH;
    if (adopt == NULL && r != NULL && !r->persistent && pres_flag)
        return RDLM_E_NOT_PR;

    /* section 7: adoption */
    if (adopt != NULL) {
        adopt->lkid = req->lkid;
        adopt->owner = req->owner;
        adopt->flags = req->flags & ~RDLM_LKF_ORPHAN;
        adopt->xid = req->xid;
        adopt->hint = req->hint;
        adopt->has_bast = req->has_bast;
        adopt->orphan = false;
        adopt->sbf = 0;
        COV(ADOPT);
        emit_complete(out, adopt->lkid, ENG_OP_REQUEST, RDLM_OK, adopt->grmode, 0, NULL);
        return RDLM_OK;
    }

    /* section 5.1 */
    if (r == NULL) {
        r = create_res(m, pres, req->name, req->namelen);
        if (pres_flag) {
            r->persistent = true;
            r->rd_id = req->rd_id;
        }
    }
    struct rlock *l = create_lock(m);
    l->lkid = req->lkid;
    l->parent = parent;
    l->res = r;
    l->owner = req->owner;
    l->xid = req->xid;
    l->flags = req->flags;
    l->grmode = IV;
    l->rqmode = req->mode;
    l->highbast = NL;
    l->has_bast = req->has_bast;
    l->hint = req->hint;
    l->timeout_cs = (req->flags & RDLM_LKF_TIMEOUT) ? req->timeout_cs : 0;
    if (req->flags & RDLM_LKF_VALBLK)
        memcpy(l->lvb, req->lvb, RDLM_LVB_LEN);

    if (try_grant(l, true)) {
        COV(NEW_GRANT);
        if (l->flags & RDLM_LKF_EXPEDITE)
            COV(NEW_EXPEDITE);
        else if ((l->flags & RDLM_LKF_NOORDER) && (r->q[QC].n > 0 || r->q[QW].n > 0))
            COV(NEW_NOORDER);
        grant(l, out);
        return RDLM_OK;
    }
    if (l->flags & RDLM_LKF_NOQUEUE) {
        COV(NEW_NOTQUEUED);
        emit_complete(out, l->lkid, ENG_OP_REQUEST, RDLM_E_NOTQUEUED, IV, 0, NULL);
        if (l->flags & RDLM_LKF_NOQUEUEBAST) {
            queue_basts(out, r, QG, l, l->rqmode, l->hint);
            queue_basts(out, r, QC, l, l->rqmode, l->hint);
        }
        delete_lock(m, l);
        free_if_unused(m, r);
        return RDLM_OK;
    }
    COV(NEW_QUEUED);
    if (l->flags & RDLM_LKF_HEADQUE)
        COV(NEW_HEADQUE);
    move_to(l, ENG_LKS_WAITING, (l->flags & RDLM_LKF_HEADQUE) != 0);
    if (l->flags & RDLM_LKF_TIMEOUT) {
        l->timer = true;
        l->deadline = m->now + l->timeout_cs;
    }
    queue_basts(out, r, QG, l, l->rqmode, l->hint);
    return RDLM_OK;
}

int ref_request(struct ref *m, const struct eng_req *req, struct ref_actions *out)
{
    uint32_t f = req->flags;
    /* 1 */
    if (req->mode < NL || req->mode > EX)
        return RDLM_E_INVAL;
    /* 2 */
    if (f & ~REQUEST_FLAGS)
        return RDLM_E_INVAL;
    /* 3 */
    bool conv = (f & RDLM_LKF_CONVERT) != 0;
    if ((f & RDLM_LKF_QUECVT) && !conv)
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_CONVDEADLK) && !conv)
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_CONVDEADLK) && (f & RDLM_LKF_NOQUEUE))
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_EXPEDITE) &&
        (conv || (f & (RDLM_LKF_QUECVT | RDLM_LKF_NOQUEUE)) || req->mode != NL))
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_ORPHAN) && conv)
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_PERSIST_RES) && conv)
        return RDLM_E_INVAL;
    /* 4 */
    if ((f & RDLM_LKF_VALBLK) && req->lvb == NULL)
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_TIMEOUT) && req->timeout_cs == 0)
        return RDLM_E_INVAL;
    if ((f & RDLM_LKF_PERSIST_RES) && req->rd_id == 0)
        return RDLM_E_INVAL;
    return conv ? do_convert(m, req, out) : do_new(m, req, out);
}

/* ---------------------------------------------------------------- section 11 */

/* Purge context: completions suppressed, grant-pending and freeing deferred to step 3. */
struct purge_ctx {
    const struct eng_owner *owner; /* purge_owner: the dead owner; NULL for purge_orphans */
    uint64_t *affected;            /* resource ids, in order of first effect */
    size_t naff;
    size_t capaff;
};

static void add_affected(struct purge_ctx *pc, const struct rres *r)
{
    for (size_t i = 0; i < pc->naff; i++)
        if (pc->affected[i] == r->id)
            return;
    if (pc->naff == pc->capaff) {
        pc->capaff = pc->capaff ? pc->capaff * 2 : 16;
        pc->affected = xrealloc(pc->affected, pc->capaff * sizeof(*pc->affected));
    }
    pc->affected[pc->naff++] = r->id;
}

/*
 * Unlock steps 1-4 for l, its sublocks first (depth first, creation order). Outside a purge
 * the sublocks are unlocked with FORCEUNLOCK plus the unlock's IVVALBLK (never its VALBLK);
 * inside a purge everything is removed
 * with IVVALBLK, completions of the dead owner's (or orphan) locks are suppressed and
 * grant-pending/freeing are left to the purge's step 3.
 */
static void unlock_tree(struct ref *m, struct rlock *l, uint32_t flags, const uint8_t *lvb,
                        struct ref_actions *out, struct purge_ctx *pc)
{
    for (;;) {
        struct rlock *child = NULL;
        for (size_t i = 0; i < m->nlk; i++) {
            if (m->lk[i]->parent == l) {
                child = m->lk[i];
                break;
            }
        }
        if (child == NULL)
            break;
        COV(FORCE_SUBLOCK);
        if (pc != NULL)
            unlock_tree(m, child, RDLM_LKF_FORCEUNLOCK | RDLM_LKF_IVVALBLK, NULL, out, pc);
        else
            unlock_tree(m, child, RDLM_LKF_FORCEUNLOCK | (flags & RDLM_LKF_IVVALBLK), NULL, out,
                        pc);
    }
    bool quiet = pc != NULL && (l->orphan || (pc->owner != NULL && owner_eq(&l->owner, pc->owner)));
    struct rres *r = l->res;
    uint64_t lkid = l->lkid;
    if (l->state != ENG_LKS_GRANTED && !quiet) {
        COV(ABORTED);
        emit_complete(out, lkid, ENG_OP_REQUEST, RDLM_E_ABORTED, IV, 0, NULL);
    }
    if (pc != NULL)
        COV(PURGE_REMOVED);
    if (l->grmode >= PW) {
        if (flags & RDLM_LKF_IVVALBLK) {
            COV(UNLOCK_LVB_INVAL);
            lvb_invalidate(out, r);
        } else if (flags & RDLM_LKF_VALBLK) {
            COV(UNLOCK_LVB_WRITE);
            lvb_write(out, r, lvb);
        }
    }
    delete_lock(m, l);
    if (!quiet)
        emit_complete(out, lkid, ENG_OP_UNLOCK, RDLM_E_UNLOCKED, IV, 0, NULL);
    if (pc != NULL) {
        add_affected(pc, r);
    } else {
        grant_pending(r, out);
        free_if_unused(m, r);
    }
}

int ref_unlock(struct ref *m, uint64_t lkid, uint32_t flags, const uint8_t *lvb,
               struct ref_actions *out)
{
    if (flags & ~(RDLM_LKF_VALBLK | RDLM_LKF_IVVALBLK | RDLM_LKF_FORCEUNLOCK))
        return RDLM_E_INVAL;
    if ((flags & RDLM_LKF_VALBLK) && lvb == NULL)
        return RDLM_E_INVAL;
    struct rlock *l = find_lock(m, lkid);
    if (l == NULL || l->orphan)
        return RDLM_E_NOLOCK;
    if (!(flags & RDLM_LKF_FORCEUNLOCK)) {
        if (l->state != ENG_LKS_GRANTED)
            return RDLM_E_BUSY;
        if (lock_has_children(m, l))
            return RDLM_E_SUBLOCKS;
    }
    unlock_tree(m, l, flags, lvb, out, NULL);
    return RDLM_OK;
}

/* Cancel of a pending request with `status` (CANCELED, DEADLOCK, TIMEDOUT). */
static void cancel_pending(struct ref *m, struct rlock *l, uint8_t status, struct ref_actions *out)
{
    struct rres *r = l->res;
    if (l->state == ENG_LKS_CONVERTING) {
        move_to(l, ENG_LKS_GRANTED, false);
        revert_conversion(l);
        uint8_t sb = l->sbf & RDLM_SBF_DEMOTED;
        l->sbf = 0;
        emit_complete(out, l->lkid, ENG_OP_REQUEST, status, l->grmode, sb, NULL);
    } else {
        assert(l->state == ENG_LKS_WAITING);
        uint64_t lkid = l->lkid;
        delete_lock(m, l);
        emit_complete(out, lkid, ENG_OP_REQUEST, status, IV, 0, NULL);
    }
    grant_pending(r, out);
    free_if_unused(m, r);
}

int ref_cancel(struct ref *m, uint64_t lkid, uint32_t flags, struct ref_actions *out)
{
    if (flags & ~RDLM_LKF_CANCELWAITOK)
        return RDLM_E_INVAL;
    struct rlock *l = find_lock(m, lkid);
    if (l == NULL || l->orphan)
        return RDLM_E_NOLOCK;
    if (l->state == ENG_LKS_GRANTED)
        return RDLM_E_CANCELGRANT;
    if (l->state == ENG_LKS_WAITING && !(flags & RDLM_LKF_CANCELWAITOK))
        return RDLM_E_CANCELWAIT;
    cancel_pending(m, l, RDLM_E_CANCELED, out);
    return RDLM_OK;
}

int ref_cancel_deadlock(struct ref *m, uint64_t lkid, struct ref_actions *out)
{
    struct rlock *l = find_lock(m, lkid);
    if (l == NULL || l->orphan)
        return RDLM_E_NOLOCK;
    if (l->state == ENG_LKS_GRANTED)
        return RDLM_E_CANCELGRANT;
    cancel_pending(m, l, RDLM_E_DEADLOCK, out);
    return RDLM_OK;
}

/* Section 9. */
int ref_advance_time(struct ref *m, uint64_t now_cs, struct ref_actions *out)
{
    if (now_cs < m->now)
        return RDLM_E_INVAL;
    m->now = now_cs;
    for (;;) {
        struct rlock *best = NULL;
        for (size_t i = 0; i < m->nlk; i++) {
            struct rlock *l = m->lk[i];
            if (!l->timer || l->state == ENG_LKS_GRANTED || l->deadline > now_cs)
                continue;
            if (best == NULL || l->deadline < best->deadline ||
                (l->deadline == best->deadline && l->lkid < best->lkid))
                best = l;
        }
        if (best == NULL)
            return RDLM_OK;
        COV(TIMEOUT);
        cancel_pending(m, best, RDLM_E_TIMEDOUT, out);
    }
}

static int cmp_lkid(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Purge step 3. */
static void purge_finish(struct ref *m, struct purge_ctx *pc, struct ref_actions *out)
{
    for (size_t i = 0; i < pc->naff; i++) {
        struct rres *r = find_res_id(m, pc->affected[i]);
        if (r == NULL)
            continue;
        grant_pending(r, out);
        free_if_unused(m, r);
    }
    free(pc->affected);
}

int ref_purge_owner(struct ref *m, const struct eng_owner *owner, struct ref_actions *out)
{
    if (owner->kind != ENG_OWNER_PROCESS && owner->kind != ENG_OWNER_GROUP)
        return RDLM_E_INVAL;
    struct purge_ctx pc = {.owner = owner};
    uint64_t *ids = xcalloc((m->nlk + 1) * sizeof(*ids));
    size_t n = 0;

    /* step 1: pending locks of the owner, by ascending lkid */
    for (size_t i = 0; i < m->nlk; i++)
        if (owner_eq(&m->lk[i]->owner, owner) && m->lk[i]->state != ENG_LKS_GRANTED)
            ids[n++] = m->lk[i]->lkid;
    qsort(ids, n, sizeof(*ids), cmp_lkid);
    for (size_t i = 0; i < n; i++) {
        struct rlock *l = find_lock(m, ids[i]);
        add_affected(&pc, l->res);
        if (l->state == ENG_LKS_CONVERTING) {
            COV(PURGE_REVERT);
            move_to(l, ENG_LKS_GRANTED, false);
            revert_conversion(l);
            l->sbf = 0;
        } else {
            COV(PURGE_DELETE);
            delete_lock(m, l);
        }
    }

    /* step 2: the remaining locks of the owner, by ascending lkid */
    n = 0;
    for (size_t i = 0; i < m->nlk; i++)
        if (owner_eq(&m->lk[i]->owner, owner))
            ids[n++] = m->lk[i]->lkid;
    qsort(ids, n, sizeof(*ids), cmp_lkid);
    for (size_t i = 0; i < n; i++) {
        struct rlock *l = find_lock(m, ids[i]);
        if (l == NULL)
            continue; /* removed with its parent */
        if (l->flags & RDLM_LKF_PERSISTENT) {
            /* Orphaning changes no queue: the resource does not count as affected (the
             * contract leaves this open; the engine agrees with this reading). */
            COV(ORPHANED);
            l->orphan = true;
            l->has_bast = false;
        } else {
            unlock_tree(m, l, RDLM_LKF_FORCEUNLOCK | RDLM_LKF_IVVALBLK, NULL, out, &pc);
        }
    }
    free(ids);
    purge_finish(m, &pc, out);
    return RDLM_OK;
}

int ref_purge_orphans(struct ref *m, uint32_t node, uint64_t pid, struct ref_actions *out)
{
    struct purge_ctx pc = {.owner = NULL};
    uint64_t *ids = xcalloc((m->nlk + 1) * sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; i < m->nlk; i++) {
        const struct rlock *l = m->lk[i];
        /* the pid is the low 32 bits of a process owner's id (the high half is a per-handle
         * number); the owner kind is not looked at */
        if (l->orphan && l->owner.node == node &&
            (pid == 0 || (l->owner.id & 0xFFFFFFFFull) == pid))
            ids[n++] = l->lkid;
    }
    qsort(ids, n, sizeof(*ids), cmp_lkid);
    for (size_t i = 0; i < n; i++) {
        struct rlock *l = find_lock(m, ids[i]);
        if (l == NULL || !l->orphan)
            continue;
        unlock_tree(m, l, RDLM_LKF_FORCEUNLOCK | RDLM_LKF_IVVALBLK, NULL, out, &pc);
    }
    free(ids);
    purge_finish(m, &pc, out);
    return RDLM_OK;
}

/* ---------------------------------------------------------------- section 12: queries */

int ref_query_lock(const struct ref *m, uint64_t lkid, struct eng_lock_info *info)
{
    const struct rlock *l = find_lock(m, lkid);
    if (l == NULL)
        return RDLM_E_NOLOCK;
    memset(info, 0, sizeof(*info));
    info->lkid = l->lkid;
    info->parent_lkid = l->parent ? l->parent->lkid : 0;
    info->grmode = l->grmode;
    info->rqmode = l->rqmode;
    info->state = l->state;
    info->orphan = l->orphan;
    info->flags = l->flags;
    info->owner = l->owner;
    info->xid = l->xid;
    info->timeout_cs = (l->timer && l->state != ENG_LKS_GRANTED) ? l->timeout_cs : 0;
    info->hint = l->hint;
    info->namelen = l->res->namelen;
    memcpy(info->name, l->res->name, l->res->namelen);
    return RDLM_OK;
}

static const struct rres *lookup_res(const struct ref *m, uint64_t parent_lkid, const void *name,
                                     uint16_t namelen, int *err)
{
    const struct rres *pres = NULL;
    if (parent_lkid != 0) {
        const struct rlock *p = find_lock(m, parent_lkid);
        if (p == NULL) {
            *err = RDLM_E_NOLOCK;
            return NULL;
        }
        pres = p->res;
    }
    if (namelen == 0 || namelen > RDLM_RESNAME_MAXLEN || name == NULL) {
        *err = RDLM_E_NAMELEN;
        return NULL;
    }
    const struct rres *r = find_res(m, pres, name, namelen);
    if (r == NULL)
        *err = RDLM_E_NOLOCK;
    return r;
}

int ref_query_res(const struct ref *m, uint64_t parent_lkid, const void *name, uint16_t namelen,
                  struct eng_res_info *info)
{
    int err = RDLM_OK;
    const struct rres *r = lookup_res(m, parent_lkid, name, namelen, &err);
    if (r == NULL)
        return err;
    memset(info, 0, sizeof(*info));
    info->lvb_status = r->lvb_status;
    info->lvbseq = r->lvbseq;
    memcpy(info->lvb, r->lvb, RDLM_LVB_LEN);
    info->subres_count = (uint32_t)res_child_count(m, r);
    info->lock_count = (uint32_t)res_lock_count(r);
    info->bast_count = r->bast_count;
    info->granted_count = (uint32_t)(r->q[QG].n + r->q[QC].n);
    int gm = IV, cm = IV, wm = IV;
    for (int qi = QG; qi <= QC; qi++) {
        for (size_t i = 0; i < r->q[qi].n; i++) {
            const struct rlock *l = r->q[qi].v[i];
            gm = max_mode(gm, l->grmode);
            info->granted_per_mode[l->grmode]++;
        }
    }
    for (size_t i = 0; i < r->q[QC].n; i++)
        cm = max_mode(cm, r->q[QC].v[i]->rqmode);
    for (size_t i = 0; i < r->q[QW].n; i++)
        wm = max_mode(wm, r->q[QW].v[i]->rqmode);
    info->granted_mode = (int8_t)gm;
    info->convert_mode = (int8_t)cm;
    info->wait_mode = (int8_t)wm;
    info->persistent = r->persistent;
    info->rd_id = r->rd_id;
    return RDLM_OK;
}

int ref_query_queues(const struct ref *m, uint64_t parent_lkid, const void *name, uint16_t namelen,
                     struct eng_queues *q)
{
    int err = RDLM_OK;
    const struct rres *r = lookup_res(m, parent_lkid, name, namelen, &err);
    if (r == NULL)
        return err;
    for (int qi = 0; qi < 3; qi++) {
        q->n[qi] = r->q[qi].n;
        for (size_t i = 0; i < r->q[qi].n && i < q->cap; i++)
            q->lkid[qi][i] = r->q[qi].v[i]->lkid;
    }
    return RDLM_OK;
}

size_t ref_resource_count(const struct ref *m)
{
    return m->nrs;
}

size_t ref_lock_count(const struct ref *m)
{
    return m->nlk;
}

bool ref_res_live(const struct ref *m, uint64_t res_id)
{
    return find_res_id(m, res_id) != NULL;
}

size_t ref_list_resources(const struct ref *m, struct ref_res_key *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nrs && n < cap; i++) {
        const struct rres *r = m->rs[i];
        struct ref_res_key *k = &out[n++];
        memset(k, 0, sizeof(*k));
        k->res_id = r->id;
        k->namelen = r->namelen;
        memcpy(k->name, r->name, r->namelen);
        for (const struct rres *p = r->parent; p != NULL; p = p->parent)
            k->depth++;
        if (r->parent == NULL) {
            k->queryable = true;
            continue;
        }
        for (int qi = QG; qi <= QW && !k->queryable; qi++) {
            if (r->parent->q[qi].n > 0) {
                k->queryable = true;
                k->parent_lkid = r->parent->q[qi].v[0]->lkid;
            }
        }
    }
    return n;
}

size_t ref_list_locks(const struct ref *m, uint64_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nlk && n < cap; i++)
        out[n++] = m->lk[i]->lkid;
    return n;
}

uint64_t ref_now(const struct ref *m)
{
    return m->now;
}

void ref_dump(const struct ref *m, FILE *f)
{
    fprintf(f, "  reference state (now %llu):\n", (unsigned long long)m->now);
    static const char *const st[] = {"-", "GR", "CV", "WT"};
    for (size_t i = 0; i < m->nrs; i++) {
        const struct rres *r = m->rs[i];
        int depth = 0;
        for (const struct rres *p = r->parent; p; p = p->parent)
            depth++;
        fprintf(f, "    res#%llu name=", (unsigned long long)r->id);
        for (size_t k = 0; k < r->namelen; k++)
            fprintf(f, (r->name[k] >= 32 && r->name[k] < 127) ? "%c" : "\\x%02x", r->name[k]);
        fprintf(f, " parent=res#%llu depth=%d%s lvb=%d seq=%llu basts=%u\n",
                r->parent ? (unsigned long long)r->parent->id : 0ull, depth,
                r->persistent ? " persistent" : "", r->lvb_status, (unsigned long long)r->lvbseq,
                r->bast_count);
        for (int qi = 0; qi < 3; qi++) {
            for (size_t j = 0; j < r->q[qi].n; j++) {
                const struct rlock *l = r->q[qi].v[j];
                fprintf(f,
                        "      %s %llx gr=%d rq=%d hb=%d bast=%d hint=%llu owner=%d/%u/%llu "
                        "flags=0x%x%s%s%s deadline=%llu parent=%llx\n",
                        st[l->state], (unsigned long long)l->lkid, l->grmode, l->rqmode,
                        l->highbast, l->has_bast, (unsigned long long)l->hint, l->owner.kind,
                        l->owner.node, (unsigned long long)l->owner.id, l->flags,
                        l->orphan ? " ORPHAN" : "", l->sbf & RDLM_SBF_DEMOTED ? " demoted" : "",
                        l->timer ? " timer" : "", (unsigned long long)l->deadline,
                        l->parent ? (unsigned long long)l->parent->lkid : 0ull);
            }
        }
    }
}

uint64_t ref_adoption_candidate(const struct ref *m, uint64_t parent_lkid, const void *name,
                                uint16_t namelen, int mode)
{
    const struct rres *pres = NULL;
    if (parent_lkid != 0) {
        const struct rlock *p = find_lock(m, parent_lkid);
        if (p == NULL)
            return 0;
        pres = p->res;
    }
    if (name == NULL || namelen == 0 || namelen > RDLM_RESNAME_MAXLEN)
        return 0;
    const struct rres *r = find_res(m, pres, name, namelen);
    if (r == NULL)
        return 0;
    for (size_t i = 0; i < r->q[QG].n; i++)
        if (r->q[QG].v[i]->orphan && r->q[QG].v[i]->grmode == mode)
            return r->q[QG].v[i]->lkid;
    return 0;
}

bool ref_has_sublocks(const struct ref *m, uint64_t lkid)
{
    const struct rlock *l = find_lock(m, lkid);
    return l != NULL && lock_has_children(m, l);
}
