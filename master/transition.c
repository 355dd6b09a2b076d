/*
 * master/transition.c - moving a resource between the one-sided fast path and the engine
 * (docs/protocol.md section 4).
 *
 * FAST -> SLOW: set SLOW in the word (no client CAS succeeds after that), park the request
 * that needed it and every later one, send CONTENDED to the interest set, collect their
 * HOLD_REPORTs, install the reported locks in the engine, load the LVB record, then replay the
 * parked messages in arrival order. Counts the reports do not explain belong to clients that
 * disconnected (their locks are released with them).
 *
 * SLOW -> FAST: when both queues are empty and every lock left is plain, forget the records
 * and clear SLOW; the counts stay, so the holders keep their locks.
 */
#include "master/daemon.h"
#include "rdlm.h"

#include "common/modes.h"

#include <stdlib.h>
#include <string.h>

static void send_contended(struct shard *s, struct mclient *c, const struct mres *r, uint16_t gen)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_CONTENDED;
    m.hdr.ls = r->ls->id;
    m.u.contended.slot = r->slot;
    m.u.contended.gen = gen;
    m.u.contended.name.len = r->namelen;
    memcpy(m.u.contended.name.bytes, r->name, r->namelen);
    send_msg(s, c, &m);
}

static void finish(struct shard *s, struct mres *r);

void transition_start(struct shard *s, struct mres *r)
{
    uint64_t w;

    if (r->state != RS_FAST)
        return;
    for (;;) {
        w = word_load(s, r->slot);
        if (lw_slow(w) || word_cas(s, r->slot, w, w | LW_SLOW))
            break;
    }
    r->state = RS_TRANSITION;
    if (getenv("RDLMD_TRACE"))
        log_msg("transition %.*s word %016lx", r->namelen, r->name, (unsigned long)w);
    r->nholds = 0;
    r->nawaiting = 0;
    s->stats.transitions++;
    for (uint32_t i = 0; i < r->ninterest; i++) {
        struct mclient *c = client_by_id(s, r->interest[i]);
        r->awaiting[i] = c != NULL;
        if (c) {
            r->nawaiting++;
            send_contended(s, c, r, lw_gen(w));
        }
    }
    if (r->nawaiting == 0)
        finish(s, r);
}

void transition_park(struct shard *s, struct mres *r, uint32_t client, const void *bytes,
                     uint32_t len)
{
    struct parked *p = malloc(sizeof(*p) + len);

    (void)s;
    if (!p)
        return; /* the client sees no completion: it will time out and reconnect */
    p->next = NULL;
    p->client = client;
    p->len = len;
    memcpy(p->bytes, bytes, len);
    if (r->parked_tail)
        r->parked_tail->next = p;
    else
        r->parked_head = p;
    r->parked_tail = p;
}

int transition_add_hold(struct mres *r, uint32_t client, const struct msg_hold *h)
{
    if (r->nholds == r->holds_cap) {
        uint32_t cap = r->holds_cap ? 2 * r->holds_cap : 8;
        struct msg_hold *v = realloc(r->holds, cap * sizeof(*v));
        uint32_t *c;
        if (!v)
            return -1;
        r->holds = v;
        c = realloc(r->hold_client, cap * sizeof(*c));
        if (!c)
            return -1;
        r->hold_client = c;
        r->holds_cap = cap;
    }
    r->holds[r->nholds] = *h;
    r->hold_client[r->nholds++] = client;
    return 0;
}

void transition_report(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_hold_report *h = &m->u.hold_report;
    struct mres *r = mres_by_slot(s, h->slot, h->gen);

    if (!r || r->state != RS_TRANSITION || r->ls != c->ls)
        return; /* stale: the slot moved on */
    for (unsigned i = 0; i < h->n; i++)
        transition_add_hold(r, c->id, &h->holds[i]);
    if (!h->last)
        return;
    for (uint32_t i = 0; i < r->ninterest; i++)
        if (r->interest[i] == c->id && r->awaiting[i]) {
            r->awaiting[i] = 0;
            if (--r->nawaiting == 0)
                finish(s, r);
            return;
        }
}

/* A keeper's lock goes in only beside what the live clients reported: a group lock a member
 * reported is in already; an orphan whose DROP died with the lost master (adopted or purged
 * there), or a group lock's state older than its member's, must not come back in conflict
 * with a lock granted since (keeper.c). */
static bool kept_fits(const struct mres *r, const struct msg_hold *h)
{
    struct eng_lock_info li;
    struct eng_res_info ri;
    const uint8_t *name = h->parent ? h->subname.bytes : r->name;
    uint16_t len = h->parent ? h->subname.len : r->namelen;

    if (eng_query_lock(r->ls->e, h->lkid, &li) == RDLM_OK)
        return false;
    if (eng_query_res(r->ls->e, h->parent, name, len, &ri) != RDLM_OK ||
        ri.granted_mode == RDLM_MODE_IV || rdlm_compat[ri.granted_mode][h->mode])
        return true;
    log_msg("%.*s: a kept %s (%s) conflicts with a live lock: left out", r->namelen, r->name,
            h->orphan ? "orphan" : "group lock", rdlm_mode_str(h->mode));
    return false;
}

static void installed(struct shard *s, struct mres *r, const struct msg_hold *h, uint32_t client)
{
    if (h->orphan)
        eng_mark_orphan(r->ls->e, h->lkid);
    if (!h->kept)
        u64map_put(&s->lock_client, h->lkid, client);
    if (h->parent) /* its value block died with the lost master: it reads as invalid */
        eng_set_sub_lvb(r->ls->e, h->parent, h->subname.bytes, h->subname.len, ENG_LVB_INVALID,
                        0, NULL);
    if (getenv("RDLMD_TRACE"))
        log_msg("install %.*s %016lx %s %s %u", r->namelen, r->name, (unsigned long)h->lkid,
                rdlm_mode_str(h->mode), h->kept ? "kept by node" : "from client",
                h->kept ? h->owner_node : client);
}

/* Install hold i: 1 installed, 0 not (yet: its parent may come in a later pass), -1 never. */
static int install_hold(struct shard *s, struct mres *r, uint32_t i)
{
    const struct msg_hold *h = &r->holds[i];
    struct mclient *c = r->hold_client[i] < s->nclients ? s->clients[r->hold_client[i]] : NULL;
    struct eng_req q = {
        .lkid = h->lkid,
        .parent_lkid = h->parent,
        .name = h->parent ? h->subname.bytes : r->name,
        .namelen = h->parent ? h->subname.len : r->namelen,
        .mode = h->mode,
        .flags = h->flags | (h->rd_id ? RDLM_LKF_PERSIST_RES : 0),
        .rd_id = h->rd_id,
        .hint = h->hint,
        .has_bast = h->has_bast,
        .xid = h->xid,
    };
    int st;

    if (h->kept)
        q.owner = (struct eng_owner){h->owner_kind, h->owner_node, h->owner_id};
    else if (c)
        q.owner = client_owner(c, h->group);
    else
        return -1;
    if (h->kept && !kept_fits(r, h))
        return -1;
    st = eng_install_granted(r->ls->e, &q);
    if (st == RDLM_E_NOLOCK && h->parent)
        return 0;
    if (st != RDLM_OK)
        return -1;
    installed(s, r, h, r->hold_client[i]);
    return 1;
}

/* Install every reported lock (a sub-resource lock after its parent, in as many passes as the
 * trees are deep), the live clients' before the keepers'; count the root resource's per
 * mode. */
static void install_holds(struct shard *s, struct mres *r, uint32_t per_mode[RDLM_MODE_COUNT])
{
    uint8_t *done = calloc(r->nholds + 1, 1);

    memset(per_mode, 0, RDLM_MODE_COUNT * sizeof(*per_mode));
    for (uint8_t kept = 0; done && kept <= 1; kept++) {
        bool progress = true;
        while (progress) {
            progress = false;
            for (uint32_t i = 0; i < r->nholds; i++) {
                int st = done[i] || r->holds[i].kept != kept ? 0 : install_hold(s, r, i);
                if (st == 0)
                    continue;
                done[i] = 1;
                progress |= st > 0;
                if (st > 0 && !r->holds[i].parent)
                    per_mode[r->holds[i].mode]++;
            }
        }
    }
    free(done);
    r->nholds = 0;
}

/* Compare the reports with the counts. Returns true if a PW/EX lock of a departed client was
 * among what they do not explain: its LVB must then read as invalid (docs/protocol.md). */
static bool check_counts(struct shard *s, struct mres *r, const uint32_t per_mode[])
{
    uint64_t w = word_load(s, r->slot);
    bool writer_gone = false;

    for (int m = RDLM_MODE_NL; m <= RDLM_MODE_EX; m++) {
        uint32_t counted = lw_count(w, m);
        if (counted > per_mode[m]) {
            log_msg("shard %u: %.*s: %u %s lock(s) of departed clients released", s->index,
                    r->namelen, r->name, counted - per_mode[m], rdlm_mode_str(m));
            writer_gone |= m >= RDLM_MODE_PW;
        } else if (counted < per_mode[m]) {
            log_msg("shard %u: %.*s: reports show %u %s locks, the word %u", s->index, r->namelen,
                    r->name, per_mode[m], rdlm_mode_str(m), counted);
        }
    }
    return writer_gone;
}

static void load_lvb(struct shard *s, struct mres *r, bool writer_gone)
{
    struct lvb_record *rec = &s->lvbs[r->slot];

    if (writer_gone) /* a PW/EX holder died: its value may be half-made */
        rec->status = LVBR_INVALID;
    if (rec->status == LVBR_NONE)
        return;
    eng_set_lvb(r->ls->e, r->name, r->namelen,
                rec->status == LVBR_VALID ? ENG_LVB_VALID : ENG_LVB_INVALID, rec->seq, rec->value);
}

static void replay_parked(struct shard *s, struct mres *r)
{
    struct parked *p = r->parked_head;

    r->parked_head = r->parked_tail = NULL;
    while (p) {
        struct parked *next = p->next;
        struct mclient *c = client_by_id(s, p->client);
        if (c)
            shard_dispatch(s, c, p->bytes, p->len);
        free(p);
        p = next;
    }
}

static void finish(struct shard *s, struct mres *r)
{
    uint32_t per_mode[RDLM_MODE_COUNT];

    install_holds(s, r, per_mode);
    load_lvb(s, r, check_counts(s, r, per_mode));
    r->state = RS_SLOW;
    serve_sync_word(s, r);
    replay_parked(s, r);
    serve_sync_word(s, r);
    transition_maybe_fast(s, r);
}

/* A resource rebuilt after its master was lost (recover.c): the reports are in and decide
 * the LVB (lvb_status: enum eng_lvb_status); the word is new, so there are no counts to
 * compare the reports with. */
void transition_finish_rebuilt(struct shard *s, struct mres *r, uint8_t lvb_status, uint64_t seq,
                               const uint8_t *lvb)
{
    uint32_t per_mode[RDLM_MODE_COUNT];
    struct eng_res_info info;

    install_holds(s, r, per_mode);
    /* A persistent resource's value block is part of its recovery domain's state: none left
     * by the lost master is an invalid one (TruCluster: recovery needed), not an absent one. */
    if (lvb_status == ENG_LVB_NONE &&
        eng_query_res(r->ls->e, 0, r->name, r->namelen, &info) == RDLM_OK && info.persistent)
        lvb_status = ENG_LVB_INVALID;
    if (lvb_status != ENG_LVB_NONE)
        eng_set_lvb(r->ls->e, r->name, r->namelen, lvb_status, seq, lvb);
    r->state = RS_SLOW;
    serve_sync_word(s, r);
    replay_parked(s, r);
    serve_sync_word(s, r);
    transition_maybe_fast(s, r);
}

void transition_client_gone(struct shard *s, struct mres *r, uint32_t client)
{
    struct parked **pp = &r->parked_head;
    uint32_t kept = 0;

    /* Its hold report is void: installed, its locks would belong to a dead owner (and its id
     * may be reused). Left out, they are part of the surplus that finish() releases. */
    for (uint32_t i = 0; i < r->nholds; i++)
        if (r->hold_client[i] != client) {
            r->holds[kept] = r->holds[i];
            r->hold_client[kept++] = r->hold_client[i];
        }
    r->nholds = kept;

    while (*pp) { /* its parked messages die with it */
        struct parked *p = *pp;
        if (p->client == client) {
            *pp = p->next;
            free(p);
        } else {
            r->parked_tail = p;
            pp = &p->next;
        }
    }
    if (!r->parked_head)
        r->parked_tail = NULL;
    for (uint32_t i = 0; i < r->ninterest; i++) {
        if (r->interest[i] != client)
            continue;
        bool awaited = r->state == RS_TRANSITION && r->awaiting[i];
        r->interest[i] = r->interest[r->ninterest - 1];
        r->awaiting[i] = r->awaiting[r->ninterest - 1];
        r->ninterest--;
        if (awaited && --r->nawaiting == 0)
            finish(s, r);
        return;
    }
}

/* ---- SLOW -> FAST ---- */

static bool lock_is_plain(const struct eng_lock_info *li)
{
    return !(li->flags & (RDLM_LKF_PERSISTENT | RDLM_LKF_PERSIST_RES)) && !li->orphan &&
           li->owner.kind == ENG_OWNER_PROCESS && li->parent_lkid == 0 &&
           li->state == ENG_LKS_GRANTED && li->xid == 0; /* a hold report has no xid */
}

/* The granted locks of r if all are plain and fit in the word; NULL (and *n = -1) if not. */
static uint64_t *plain_locks(struct shard *s, struct mres *r, const struct eng_res_info *info,
                             uint64_t *word, long *n)
{
    struct eng_queues q = {0};
    uint64_t *ids = calloc(info->lock_count ? info->lock_count : 1, sizeof(*ids));

    *n = -1;
    if (!ids)
        return NULL;
    q.lkid[0] = ids;
    q.cap = info->lock_count;
    eng_query_queues(r->ls->e, 0, r->name, r->namelen, &q);
    for (size_t i = 0; i < q.n[0]; i++) {
        struct eng_lock_info li;
        if (eng_query_lock(r->ls->e, ids[i], &li) != RDLM_OK || !lock_is_plain(&li) ||
            !lw_add(*word, li.grmode, word)) {
            free(ids);
            return NULL;
        }
    }
    (void)s;
    *n = (long)q.n[0];
    return ids;
}

void transition_maybe_fast(struct shard *s, struct mres *r)
{
    struct eng_res_info info;
    uint64_t word, *ids = NULL;
    long n = 0;

    if (r->state != RS_SLOW || r->slot == LW_NO_SLOT)
        return;
    word = lw_make(lw_gen(word_load(s, r->slot)), false);
    if (eng_query_res(r->ls->e, 0, r->name, r->namelen, &info) == RDLM_OK) {
        if (info.convert_mode != RDLM_MODE_IV || info.wait_mode != RDLM_MODE_IV ||
            info.persistent || info.subres_count)
            return;
        ids = plain_locks(s, r, &info, &word, &n);
        if (n < 0)
            return;
        for (long i = 0; i < n; i++) {
            eng_forget_lock(r->ls->e, ids[i]);
            u64map_del(&s->lock_client, ids[i]);
        }
        free(ids);
        eng_release_unused(r->ls->e, r->name, r->namelen);
    }
    word_set(s, r->slot, word);
    if (getenv("RDLMD_TRACE"))
        log_msg("fast again %.*s word %016lx", r->namelen, r->name, (unsigned long)word);
    r->state = RS_FAST;
    r->idle_since_ns = 0;
    s->stats.returns_to_fast++;
}
