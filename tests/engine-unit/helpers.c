/*
 * tests/engine-unit/helpers.c - the test DSL of helpers.h: engine fixture, operations that audit
 * the exactly-one-completion invariants, action and state expectations, snapshots.
 */
#include "tests/engine-unit/helpers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int th_compat[6][6] = {
    /*        NL CR CW PR PW EX */
    /* NL */ {1, 1, 1, 1, 1, 1},
    /* CR */ {1, 1, 1, 1, 1, 0},
    /* CW */ {1, 1, 1, 0, 0, 0},
    /* PR */ {1, 1, 0, 1, 0, 0},
    /* PW */ {1, 1, 0, 0, 0, 0},
    /* EX */ {1, 0, 0, 0, 0, 0},
};

static const char *mode_name(int m)
{
    static const char *n[] = {"NL", "CR", "CW", "PR", "PW", "EX"};
    if (m == IV)
        return "IV";
    if (m >= 0 && m < 6)
        return n[m];
    return "??";
}

static const char *status_name(int s)
{
    static const char *n[] = {
        "OK",           "E_INVAL",    "E_NAMELEN",        "E_NOMEM",     "E_NOLOCK",
        "E_EXISTS",     "E_BUSY",     "E_NOTGRANTED",     "E_NOTQUEUED", "E_DEADLOCK",
        "E_TIMEDOUT",   "E_CANCELED", "E_ABORTED",        "E_UNLOCKED",  "E_CANCELGRANT",
        "E_CANCELWAIT", "E_SUBLOCKS", "E_PARNOTGRANT",    "E_NOORPHAN",  "E_ORPHANMODE",
        "E_IS_PR",      "E_NOT_PR",   "E_PR_RD_MISMATCH", "E_NOTCONN",   "E_NOSYS",
        "E_ACCESS",     "E_RECOVERY",
    };
    if (s >= 0 && s < (int)(sizeof n / sizeof n[0]))
        return n[s];
    return "??";
}

void th_dump(const struct t *t)
{
    print_error("  actions of the last call (rc %s, %zu actions):\n", status_name(t->rc), t->a.n);
    for (size_t i = 0; i < t->a.n; i++) {
        const struct eng_action *x = &t->a.v[i];
        const char *mark = i == t->cur ? "->" : "  ";
        switch (x->kind) {
        case ENG_ACT_COMPLETE:
            print_error("  %s [%zu] COMPLETE(%s) lkid %" PRIu64
                        " status %s mode %s sbflags %#x lvb_read %d lvb[0] %#x seq %" PRIu64 "\n",
                        mark, i, x->op == ENG_OP_REQUEST ? "REQUEST" : "UNLOCK", x->lkid,
                        status_name(x->status), mode_name(x->mode), x->sbflags, x->lvb_read,
                        x->lvb[0], x->lvbseq);
            break;
        case ENG_ACT_BAST:
            print_error("  %s [%zu] BAST lkid %" PRIu64 " mode %s hint %#" PRIx64 "\n", mark, i,
                        x->lkid, mode_name(x->mode), x->hint);
            break;
        case ENG_ACT_LVB: {
            uint16_t nl = 0;
            const uint8_t *nm = x->namelen ? (nl = x->namelen, x->name) : NULL;
            print_error("  %s [%zu] LVB res '%.*s' %s lvb[0] %#x seq %" PRIu64 "\n", mark, i,
                        nm ? (int)nl : 0, nm ? (const char *)nm : "",
                        x->lvb_read ? "written" : "invalid", x->lvb[0], x->lvbseq);
            break;
        }
        default:
            print_error("  %s [%zu] kind %d ?\n", mark, i, x->kind);
        }
    }
}

static void th_fail(const struct t *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void th_fail(const struct t *t, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
    print_error("\n");
    th_dump(t);
    _fail(file, line);
}

int th_setup(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->e = eng_create();
    if (!t->e) {
        free(t);
        return -1;
    }
    t->owner = th_owner(1, 100);
    *state = t;
    return 0;
}

int th_teardown(void **state)
{
    struct t *t = *state;
    if (t) {
        eng_actions_free(&t->a);
        eng_destroy(t->e);
        free(t);
    }
    return 0;
}

struct eng_owner th_owner(uint32_t node, uint64_t pid)
{
    struct eng_owner o = {.kind = ENG_OWNER_PROCESS, .node = node, .id = pid};
    return o;
}

struct eng_owner th_group(uint32_t node, uint64_t id)
{
    struct eng_owner o = {.kind = ENG_OWNER_GROUP, .node = node, .id = id};
    return o;
}

const uint8_t *LV(uint8_t c)
{
    static uint8_t bufs[256][RDLM_LVB_LEN];
    memset(bufs[c], c, RDLM_LVB_LEN);
    return bufs[c];
}

struct eng_req rq(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags)
{
    struct eng_req r;
    memset(&r, 0, sizeof r);
    r.lkid = id;
    r.name = name;
    r.namelen = name ? (uint16_t)strlen(name) : 0;
    r.mode = (int8_t)mode;
    r.flags = flags;
    r.owner = t->owner;
    r.hint = HINT(id);
    r.has_bast = true;
    return r;
}

struct eng_req cvrq(uint64_t id, int mode, uint32_t flags)
{
    struct eng_req r;
    memset(&r, 0, sizeof r);
    r.lkid = id;
    r.mode = (int8_t)mode;
    r.flags = flags | RDLM_LKF_CONVERT;
    r.hint = HINT(id);
    r.has_bast = true;
    return r;
}

/* ---- tracking ---------------------------------------------------------------------------- */

static struct th_lock *track_find(struct t *t, uint64_t id)
{
    for (size_t i = 0; i < t->nlocks; i++)
        if (t->locks[i].lkid == id)
            return &t->locks[i];
    return NULL;
}

static struct th_lock *track_add(struct t *t, uint64_t id)
{
    struct th_lock *l = track_find(t, id);
    if (l)
        return l;
    if (t->nlocks == MAX_TRACKED) {
        print_error("helpers: too many locks\n");
        _fail(__FILE__, __LINE__);
    }
    l = &t->locks[t->nlocks++];
    memset(l, 0, sizeof *l);
    l->lkid = id;
    return l;
}

static void name_add(struct t *t, uint64_t parent, const void *name, uint16_t namelen)
{
    if (!name || namelen == 0 || namelen > RDLM_RESNAME_MAXLEN)
        return;
    for (size_t i = 0; i < t->nnames; i++)
        if (t->names[i].parent == parent && t->names[i].namelen == namelen &&
            memcmp(t->names[i].name, name, namelen) == 0)
            return;
    if (t->nnames == MAX_NAMES)
        return;
    struct th_name *n = &t->names[t->nnames++];
    n->parent = parent;
    n->namelen = namelen;
    memcpy(n->name, name, namelen);
}

static bool same_owner(const struct eng_owner *a, const struct eng_owner *b)
{
    return a->kind == b->kind && a->node == b->node && a->id == b->id;
}

enum call_kind { C_REQ, C_UNLOCK, C_CANCEL, C_TIME, C_PURGE, C_PURGE_ORPHANS };

/*
 * Audit one call: a rejected call emits nothing; completions match pending requests one to
 * one; an accepted unlock of `id` completes exactly once.
 */
static void audit(struct t *t, enum call_kind kind, const struct eng_req *r, uint64_t id,
                  const struct eng_owner *dead)
{
    t->cur = 0;
    if (t->rc != RDLM_OK) {
        if (t->a.n != 0)
            th_fail(t, __FILE__, __LINE__,
                    "contract: a rejected call (status %s) must emit nothing", status_name(t->rc));
        return;
    }
    if (kind == C_REQ) {
        if (r->flags & RDLM_LKF_CONVERT) {
            struct th_lock *l = track_find(t, r->lkid);
            if (!l)
                l = track_add(t, r->lkid);
            if (l->pending)
                th_fail(t, __FILE__, __LINE__,
                        "conversion of lock %" PRIu64 " accepted while a request is pending",
                        r->lkid);
            l->pending = 1;
        } else {
            struct th_lock *l = track_add(t, r->lkid);
            l->owner = r->owner;
            if (l->pending)
                th_fail(t, __FILE__, __LINE__,
                        "new lock %" PRIu64 " accepted while its id has a pending request",
                        r->lkid);
            l->pending = 1;
            name_add(t, r->parent_lkid, r->name, r->namelen);
        }
    }
    bool deadset[MAX_TRACKED] = {false};
    if (kind == C_PURGE) {
        for (size_t i = 0; i < t->nlocks; i++)
            if (same_owner(&t->locks[i].owner, dead)) {
                t->locks[i].pending = 0;
                deadset[i] = true;
            }
    }
    int unlock_completions = 0;
    for (size_t i = 0; i < t->a.n; i++) {
        const struct eng_action *x = &t->a.v[i];
        struct th_lock *l = NULL;
        if (x->kind == ENG_ACT_COMPLETE || x->kind == ENG_ACT_BAST) {
            l = track_find(t, x->lkid);
            if (l && deadset[l - t->locks])
                th_fail(t, __FILE__, __LINE__,
                        "purge_owner: action [%zu] for lock %" PRIu64
                        " of the dead owner (no completion/BAST for a dead owner's locks)",
                        i, x->lkid);
        }
        switch (x->kind) {
        case ENG_ACT_COMPLETE:
            if (x->op == ENG_OP_REQUEST) {
                if (!l || l->pending != 1)
                    th_fail(t, __FILE__, __LINE__,
                            "exactly-one-completion: COMPLETE(REQUEST) [%zu] for lock %" PRIu64
                            " which has no pending request",
                            i, x->lkid);
                l->pending = 0;
                switch (x->status) {
                case RDLM_OK:
                case RDLM_E_NOTQUEUED:
                case RDLM_E_DEADLOCK:
                case RDLM_E_TIMEDOUT:
                case RDLM_E_CANCELED:
                case RDLM_E_ABORTED:
                    break;
                default:
                    th_fail(t, __FILE__, __LINE__, "COMPLETE(REQUEST) [%zu] with status %s", i,
                            status_name(x->status));
                }
            } else if (x->op == ENG_OP_UNLOCK) {
                if (x->status != RDLM_E_UNLOCKED || x->mode != IV)
                    th_fail(t, __FILE__, __LINE__,
                            "COMPLETE(UNLOCK) [%zu] must be status UNLOCKED mode IV", i);
                if (l && l->pending)
                    th_fail(t, __FILE__, __LINE__,
                            "COMPLETE(UNLOCK) [%zu] of lock %" PRIu64
                            " whose pending request got no completion (ABORTED expected first)",
                            i, x->lkid);
                if (kind == C_UNLOCK && x->lkid == id)
                    unlock_completions++;
            } else {
                th_fail(t, __FILE__, __LINE__, "COMPLETE [%zu] with op %d", i, x->op);
            }
            break;
        case ENG_ACT_BAST:
            if (x->mode < CR || x->mode > EX)
                th_fail(t, __FILE__, __LINE__, "BAST [%zu] with mode %d", i, x->mode);
            break;
        case ENG_ACT_LVB:
            if (!x->namelen)
                th_fail(t, __FILE__, __LINE__, "LVB action [%zu] without a resource", i);
            break;
        default:
            th_fail(t, __FILE__, __LINE__, "action [%zu] of unknown kind %d", i, x->kind);
        }
    }
    if (kind == C_UNLOCK && unlock_completions != 1)
        th_fail(t, __FILE__, __LINE__,
                "exactly-one-completion: accepted unlock of %" PRIu64
                " produced %d COMPLETE(UNLOCK)",
                id, unlock_completions);
}

int req(struct t *t, const struct eng_req *r)
{
    eng_actions_clear(&t->a);
    t->rc = eng_request(t->e, r, &t->a);
    audit(t, C_REQ, r, r->lkid, NULL);
    return t->rc;
}

int lock(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags)
{
    struct eng_req r = rq(t, id, name, mode, flags);
    return req(t, &r);
}

int sublock(struct t *t, uint64_t id, uint64_t parent, const char *name, int mode, uint32_t flags)
{
    struct eng_req r = rq(t, id, name, mode, flags);
    r.parent_lkid = parent;
    return req(t, &r);
}

int conv(struct t *t, uint64_t id, int mode, uint32_t flags)
{
    struct eng_req r = cvrq(id, mode, flags);
    return req(t, &r);
}

int lock_nobast(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags)
{
    struct eng_req r = rq(t, id, name, mode, flags);
    r.has_bast = false;
    return req(t, &r);
}

int conv_hb(struct t *t, uint64_t id, int mode, uint32_t flags, uint64_t hint, bool has_bast)
{
    struct eng_req r = cvrq(id, mode, flags);
    r.hint = hint;
    r.has_bast = has_bast;
    return req(t, &r);
}

int lock_lvb(struct t *t, uint64_t id, const char *name, int mode, uint32_t flags,
             const uint8_t *lvb)
{
    struct eng_req r = rq(t, id, name, mode, flags | RDLM_LKF_VALBLK);
    r.lvb = lvb;
    return req(t, &r);
}

int conv_lvb(struct t *t, uint64_t id, int mode, uint32_t flags, const uint8_t *lvb)
{
    struct eng_req r = cvrq(id, mode, flags | RDLM_LKF_VALBLK);
    r.lvb = lvb;
    return req(t, &r);
}

int unlock_lvb(struct t *t, uint64_t id, uint32_t flags, const uint8_t *lvb)
{
    eng_actions_clear(&t->a);
    t->rc = eng_unlock(t->e, id, flags, lvb, &t->a);
    audit(t, C_UNLOCK, NULL, id, NULL);
    return t->rc;
}

int unlock(struct t *t, uint64_t id, uint32_t flags)
{
    return unlock_lvb(t, id, flags, (flags & RDLM_LKF_VALBLK) ? LV(0xee) : NULL);
}

int cancel(struct t *t, uint64_t id, uint32_t flags)
{
    eng_actions_clear(&t->a);
    t->rc = eng_cancel(t->e, id, flags, &t->a);
    audit(t, C_CANCEL, NULL, id, NULL);
    return t->rc;
}

int cancel_dl(struct t *t, uint64_t id)
{
    eng_actions_clear(&t->a);
    t->rc = eng_cancel_deadlock(t->e, id, &t->a);
    audit(t, C_CANCEL, NULL, id, NULL);
    return t->rc;
}

int advance(struct t *t, uint64_t now_cs)
{
    eng_actions_clear(&t->a);
    t->rc = eng_advance_time(t->e, now_cs, &t->a);
    audit(t, C_TIME, NULL, 0, NULL);
    return t->rc;
}

int purge(struct t *t, struct eng_owner owner)
{
    eng_actions_clear(&t->a);
    t->rc = eng_purge_owner(t->e, &owner, &t->a);
    audit(t, C_PURGE, NULL, 0, &owner);
    return t->rc;
}

int purge_orphans(struct t *t, uint32_t node, uint64_t pid)
{
    eng_actions_clear(&t->a);
    t->rc = eng_purge_orphans(t->e, node, pid, &t->a);
    audit(t, C_PURGE_ORPHANS, NULL, 0, NULL);
    return t->rc;
}

void th_rc(struct t *t, const char *file, int line, const char *what, int got, int want)
{
    if (got != want)
        th_fail(t, file, line, "%s returned %s (%d), expected %s (%d)", what, status_name(got), got,
                status_name(want), want);
}

/* ---- action expectations ------------------------------------------------------------------ */

static const struct eng_action *next_action(struct t *t, const char *file, int line,
                                            const char *want)
{
    if (t->cur >= t->a.n)
        th_fail(t, file, line, "expected %s, but there are no more actions", want);
    return &t->a.v[t->cur++];
}

const struct eng_action *th_expect_complete(struct t *t, const char *file, int line, uint64_t id,
                                            int op, int status, int mode, int sbflags)
{
    char want[160];
    snprintf(want, sizeof want, "COMPLETE(%s) lkid %" PRIu64 " status %s mode %s sbflags %#x",
             op == ENG_OP_REQUEST ? "REQUEST" : "UNLOCK", id, status_name(status), mode_name(mode),
             (unsigned)sbflags);
    const struct eng_action *x = next_action(t, file, line, want);
    if (x->kind != ENG_ACT_COMPLETE || x->op != op || x->lkid != id || x->status != status ||
        x->mode != mode || x->sbflags != sbflags || x->lvb_read != 0) {
        t->cur--;
        th_fail(t, file, line, "expected %s (no LVB read) at [%zu]", want, t->cur);
    }
    return x;
}

const struct eng_action *th_expect_read(struct t *t, const char *file, int line, uint64_t id,
                                        int mode, int sbflags, const uint8_t *lvb, uint64_t seq)
{
    char want[160];
    snprintf(want, sizeof want,
             "COMPLETE(REQUEST) lkid %" PRIu64 " OK mode %s sbflags %#x with LVB read seq %" PRIu64,
             id, mode_name(mode), (unsigned)sbflags, seq);
    const struct eng_action *x = next_action(t, file, line, want);
    if (x->kind != ENG_ACT_COMPLETE || x->op != ENG_OP_REQUEST || x->lkid != id ||
        x->status != RDLM_OK || x->mode != mode || x->sbflags != sbflags || x->lvb_read != 1 ||
        x->lvbseq != seq || memcmp(x->lvb, lvb, RDLM_LVB_LEN) != 0) {
        t->cur--;
        th_fail(t, file, line, "expected %s (lvb[0] %#x) at [%zu]", want, lvb[0], t->cur);
    }
    return x;
}

void th_expect_bast(struct t *t, const char *file, int line, uint64_t id, int mode, uint64_t hint)
{
    char want[120];
    snprintf(want, sizeof want, "BAST lkid %" PRIu64 " mode %s hint %#" PRIx64, id, mode_name(mode),
             hint);
    const struct eng_action *x = next_action(t, file, line, want);
    if (x->kind != ENG_ACT_BAST || x->lkid != id || x->mode != mode ||
        (hint != ANY_HINT && x->hint != hint)) {
        t->cur--;
        th_fail(t, file, line, "expected %s at [%zu]", want, t->cur);
    }
}

void th_expect_lvb(struct t *t, const char *file, int line, const char *name, bool valid,
                   const uint8_t *lvb, uint64_t seq)
{
    char want[160];
    snprintf(want, sizeof want, "LVB of '%s' %s seq %" PRIu64, name, valid ? "written" : "invalid",
             seq);
    const struct eng_action *x = next_action(t, file, line, want);
    bool good = x->kind == ENG_ACT_LVB && x->lvb_read == (valid ? 1 : 0) && x->namelen;
    if (good) {
        uint16_t nl = x->namelen;
        const uint8_t *nm = x->name;
        good = nm && nl == strlen(name) && memcmp(nm, name, nl) == 0;
    }
    if (good && valid)
        good = x->lvbseq == seq && memcmp(x->lvb, lvb, RDLM_LVB_LEN) == 0;
    if (!good) {
        t->cur--;
        th_fail(t, file, line, "expected %s at [%zu]", want, t->cur);
    }
}

void th_expect_end(struct t *t, const char *file, int line)
{
    if (t->cur != t->a.n)
        th_fail(t, file, line, "expected no more actions, %zu left", t->a.n - t->cur);
}

/* ---- state expectations ------------------------------------------------------------------- */

struct eng_lock_info qlock(struct t *t, uint64_t id)
{
    struct eng_lock_info li;
    memset(&li, 0, sizeof li);
    int rc = eng_query_lock(t->e, id, &li);
    if (rc != RDLM_OK)
        th_fail(t, __FILE__, __LINE__, "eng_query_lock(%" PRIu64 ") returned %s", id,
                status_name(rc));
    return li;
}

struct eng_res_info qsubres(struct t *t, uint64_t parent, const char *name)
{
    struct eng_res_info ri;
    memset(&ri, 0, sizeof ri);
    int rc = eng_query_res(t->e, parent, name, (uint16_t)strlen(name), &ri);
    if (rc != RDLM_OK)
        th_fail(t, __FILE__, __LINE__, "eng_query_res('%s') returned %s", name, status_name(rc));
    return ri;
}

struct eng_res_info qres(struct t *t, const char *name)
{
    return qsubres(t, 0, name);
}

bool res_exists(struct t *t, uint64_t parent, const char *name)
{
    struct eng_res_info ri;
    return eng_query_res(t->e, parent, name, (uint16_t)strlen(name), &ri) == RDLM_OK;
}

void th_expect_lock(struct t *t, const char *file, int line, uint64_t id, int state, int gr,
                    int rqm)
{
    struct eng_lock_info li;
    memset(&li, 0, sizeof li);
    int rc = eng_query_lock(t->e, id, &li);
    if (rc != RDLM_OK)
        th_fail(t, file, line, "lock %" PRIu64 ": query returned %s, expected the lock", id,
                status_name(rc));
    if (li.state != state || li.grmode != gr || li.rqmode != rqm)
        th_fail(t, file, line,
                "lock %" PRIu64 ": state %d gr %s rq %s, expected state %d gr %s rq %s", id,
                li.state, mode_name(li.grmode), mode_name(li.rqmode), state, mode_name(gr),
                mode_name(rqm));
}

void th_expect_gone(struct t *t, const char *file, int line, uint64_t id)
{
    struct eng_lock_info li;
    int rc = eng_query_lock(t->e, id, &li);
    if (rc != RDLM_E_NOLOCK)
        th_fail(t, file, line, "lock %" PRIu64 ": query returned %s, expected E_NOLOCK (gone)", id,
                status_name(rc));
}

static size_t parse_ids(const char *s, uint64_t *v, size_t cap)
{
    size_t n = 0;
    while (s && *s) {
        char *end;
        unsigned long long x = strtoull(s, &end, 10);
        if (end == s) {
            s++;
            continue;
        }
        if (n < cap)
            v[n] = x;
        n++;
        s = end;
    }
    return n;
}

void th_expect_queues(struct t *t, const char *file, int line, uint64_t parent, const char *name,
                      const char *granted, const char *converting, const char *waiting)
{
    uint64_t got[3][64], want[3][64];
    struct eng_queues q;
    memset(&q, 0, sizeof q);
    q.cap = 64;
    for (int i = 0; i < 3; i++)
        q.lkid[i] = got[i];
    int rc = eng_query_queues(t->e, parent, name, (uint16_t)strlen(name), &q);
    if (rc != RDLM_OK)
        th_fail(t, file, line, "eng_query_queues('%s') returned %s", name, status_name(rc));
    const char *ws[3] = {granted, converting, waiting};
    static const char *qn[3] = {"GRANTED", "CONVERTING", "WAITING"};
    for (int i = 0; i < 3; i++) {
        size_t n = parse_ids(ws[i], want[i], 64);
        bool good = q.n[i] == n;
        for (size_t j = 0; good && j < n; j++)
            good = got[i][j] == want[i][j];
        if (!good) {
            char buf[512] = "";
            size_t off = 0;
            for (size_t j = 0; j < q.n[i] && j < 64 && off < sizeof buf - 24; j++)
                off += (size_t)snprintf(buf + off, sizeof buf - off, "%" PRIu64 " ", got[i][j]);
            th_fail(t, file, line, "resource '%s' %s queue is [%s], expected [%s]", name, qn[i],
                    buf, ws[i]);
        }
    }
}

void th_expect_res_lvb(struct t *t, const char *file, int line, uint64_t parent, const char *name,
                       int status, uint64_t seq, const uint8_t *lvb)
{
    struct eng_res_info ri;
    memset(&ri, 0, sizeof ri);
    int rc = eng_query_res(t->e, parent, name, (uint16_t)strlen(name), &ri);
    if (rc != RDLM_OK)
        th_fail(t, file, line, "eng_query_res('%s') returned %s", name, status_name(rc));
    if (ri.lvb_status != status || ri.lvbseq != seq ||
        (lvb && memcmp(ri.lvb, lvb, RDLM_LVB_LEN) != 0))
        th_fail(t, file, line,
                "resource '%s': lvb status %d seq %" PRIu64 " lvb[0] %#x, expected status %d "
                "seq %" PRIu64 " lvb[0] %#x",
                name, ri.lvb_status, ri.lvbseq, ri.lvb[0], status, seq, lvb ? lvb[0] : 0);
}

void th_expect_counts(struct t *t, const char *file, int line, size_t nres, size_t nlocks)
{
    size_t r = eng_resource_count(t->e), l = eng_lock_count(t->e);
    if (r != nres || l != nlocks)
        th_fail(t, file, line, "engine holds %zu resources and %zu locks, expected %zu and %zu", r,
                l, nres, nlocks);
}

void th_expect_pending(struct t *t, const char *file, int line, uint64_t id, int pending)
{
    struct th_lock *l = track_find(t, id);
    int got = l ? l->pending : 0;
    if (got != pending)
        th_fail(t, file, line, "lock %" PRIu64 ": %d uncompleted requests, expected %d", id, got,
                pending);
}

/* ---- snapshots ---------------------------------------------------------------------------- */

struct snap_res {
    int rc, qrc;
    struct eng_res_info ri;
    size_t n[3];
    uint64_t ids[3][64];
};

struct th_snap {
    size_t nres, nlocks;
    size_t nl, nn;
    int lrc[MAX_TRACKED];
    struct eng_lock_info li[MAX_TRACKED];
    struct snap_res res[MAX_NAMES];
};

struct th_snap *snap_take(struct t *t)
{
    struct th_snap *s = calloc(1, sizeof *s);
    if (!s) {
        print_error("helpers: out of memory\n");
        _fail(__FILE__, __LINE__);
    }
    s->nres = eng_resource_count(t->e);
    s->nlocks = eng_lock_count(t->e);
    s->nl = t->nlocks;
    s->nn = t->nnames;
    for (size_t i = 0; i < t->nlocks; i++)
        s->lrc[i] = eng_query_lock(t->e, t->locks[i].lkid, &s->li[i]);
    for (size_t i = 0; i < t->nnames; i++) {
        struct snap_res *r = &s->res[i];
        const struct th_name *n = &t->names[i];
        r->rc = eng_query_res(t->e, n->parent, n->name, n->namelen, &r->ri);
        struct eng_queues q;
        memset(&q, 0, sizeof q);
        q.cap = 64;
        for (int k = 0; k < 3; k++)
            q.lkid[k] = r->ids[k];
        r->qrc = eng_query_queues(t->e, n->parent, n->name, n->namelen, &q);
        for (int k = 0; k < 3; k++)
            r->n[k] = r->qrc == RDLM_OK ? q.n[k] : 0;
    }
    return s;
}

static bool lock_info_equal(const struct eng_lock_info *a, const struct eng_lock_info *b)
{
    return a->lkid == b->lkid && a->parent_lkid == b->parent_lkid && a->grmode == b->grmode &&
           a->rqmode == b->rqmode && a->state == b->state && a->orphan == b->orphan &&
           a->flags == b->flags && same_owner(&a->owner, &b->owner) && a->xid == b->xid &&
           a->timeout_cs == b->timeout_cs && a->hint == b->hint && a->namelen == b->namelen &&
           a->namelen <= RDLM_RESNAME_MAXLEN && memcmp(a->name, b->name, a->namelen) == 0;
}

static bool res_info_equal(const struct eng_res_info *a, const struct eng_res_info *b)
{
    return a->lvb_status == b->lvb_status && a->lvbseq == b->lvbseq &&
           memcmp(a->lvb, b->lvb, RDLM_LVB_LEN) == 0 && a->subres_count == b->subres_count &&
           a->lock_count == b->lock_count && a->bast_count == b->bast_count &&
           a->granted_count == b->granted_count && a->granted_mode == b->granted_mode &&
           a->convert_mode == b->convert_mode && a->wait_mode == b->wait_mode &&
           a->persistent == b->persistent && a->rd_id == b->rd_id &&
           memcmp(a->granted_per_mode, b->granted_per_mode, sizeof a->granted_per_mode) == 0;
}

void th_expect_unchanged(struct t *t, const char *file, int line, struct th_snap *s)
{
    struct th_snap *now = snap_take(t);
    char msg[200] = "";
    if (now->nres != s->nres || now->nlocks != s->nlocks)
        snprintf(msg, sizeof msg, "resource/lock counts changed: %zu/%zu -> %zu/%zu", s->nres,
                 s->nlocks, now->nres, now->nlocks);
    for (size_t i = 0; !msg[0] && i < s->nl; i++)
        if (now->lrc[i] != s->lrc[i] ||
            (s->lrc[i] == RDLM_OK && !lock_info_equal(&now->li[i], &s->li[i])))
            snprintf(msg, sizeof msg, "lock %" PRIu64 " changed", t->locks[i].lkid);
    for (size_t i = 0; !msg[0] && i < s->nn; i++) {
        const struct snap_res *a = &s->res[i], *b = &now->res[i];
        bool same = a->rc == b->rc && a->qrc == b->qrc &&
                    (a->rc != RDLM_OK || res_info_equal(&a->ri, &b->ri));
        for (int k = 0; same && k < 3; k++) {
            same = a->n[k] == b->n[k];
            for (size_t j = 0; same && j < a->n[k] && j < 64; j++)
                same = a->ids[k][j] == b->ids[k][j];
        }
        if (!same)
            snprintf(msg, sizeof msg, "resource '%.*s' changed", (int)t->names[i].namelen,
                     (const char *)t->names[i].name);
    }
    free(now);
    free(s);
    if (msg[0])
        th_fail(t, file, line, "contract: a rejected call changes nothing, but %s", msg);
}
