/*
 * common/proto.c - encoding and bounds-checked decoding of rdlm's wire messages (proto.h).
 * One small writer and one reader; each message type has an encode and a decode function,
 * listed in the table at the bottom.
 */
#include "common/proto.h"

#include <string.h>

/* ---- byte writer / reader ---- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
};

struct rbuf {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static void w_bytes(struct wbuf *w, const void *src, size_t n)
{
    if (w->overflow || w->len + n > w->cap) {
        w->overflow = true;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void w_uint(struct wbuf *w, uint64_t v, unsigned bytes)
{
    uint8_t b[8];

    for (unsigned i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    w_bytes(w, b, bytes);
}

#define w_u8(w, v)  w_uint(w, (uint8_t)(v), 1)
#define w_u16(w, v) w_uint(w, (uint16_t)(v), 2)
#define w_u32(w, v) w_uint(w, (uint32_t)(v), 4)
#define w_u64(w, v) w_uint(w, (uint64_t)(v), 8)

static const uint8_t *r_take(struct rbuf *r, size_t n)
{
    const uint8_t *p;

    if (r->bad || r->off + n > r->len) {
        r->bad = true;
        return NULL;
    }
    p = r->p + r->off;
    r->off += n;
    return p;
}

static uint64_t r_uint(struct rbuf *r, unsigned bytes)
{
    const uint8_t *b = r_take(r, bytes);
    uint64_t v = 0;

    if (!b)
        return 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

#define r_u8(r)  ((uint8_t)r_uint(r, 1))
#define r_u16(r) ((uint16_t)r_uint(r, 2))
#define r_u32(r) ((uint32_t)r_uint(r, 4))
#define r_u64(r) (r_uint(r, 8))

static void r_bytes(struct rbuf *r, void *dst, size_t n)
{
    const uint8_t *b = r_take(r, n);

    if (b)
        memcpy(dst, b, n);
}

static int8_t r_mode(struct rbuf *r, bool allow_iv)
{
    int8_t m = (int8_t)r_u8(r);

    if (m > RDLM_MODE_EX || m < (allow_iv ? RDLM_MODE_IV : RDLM_MODE_NL))
        r->bad = true;
    return m;
}

/* ---- the hello ---- */

void proto_hello_pack(const struct proto_hello *h, uint8_t out[PROTO_HELLO_LEN])
{
    struct wbuf w = {out, 0, PROTO_HELLO_LEN, false};

    w_u8(&w, PROTO_MAGIC0);
    w_u8(&w, PROTO_MAGIC1);
    w_u8(&w, PROTO_VERSION);
    w_u8(&w, h->role);
    w_u16(&w, h->node);
    w_u32(&w, h->pid);
    w_u32(&w, h->incarnation);
    w_u16(&w, 0);
}

int proto_hello_unpack(const void *buf, size_t len, struct proto_hello *h)
{
    struct rbuf r = {buf, len, 0, false};

    if (len != PROTO_HELLO_LEN || r_u8(&r) != PROTO_MAGIC0 || r_u8(&r) != PROTO_MAGIC1 ||
        r_u8(&r) != PROTO_VERSION)
        return -1;
    h->role = r_u8(&r);
    h->node = r_u16(&r);
    h->pid = r_u32(&r);
    h->incarnation = r_u32(&r);
    if (h->role < ROLE_CLIENT || h->role > ROLE_PEER)
        return -1;
    return r.bad ? -1 : 0;
}

/* ---- shared pieces ---- */

static void w_name(struct wbuf *w, const struct msg_name *n)
{
    w_u16(w, n->len);
    w_bytes(w, n->bytes, n->len);
}

static void r_name(struct rbuf *r, struct msg_name *n, bool allow_empty)
{
    n->len = r_u16(r);
    if (n->len > RDLM_RESNAME_MAXLEN || (!allow_empty && n->len == 0)) {
        r->bad = true;
        return;
    }
    r_bytes(r, n->bytes, n->len);
}

/* ---- message bodies ---- */

static void enc_shard_info(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_shard_info *s = &m->u.shard_info;

    w_u16(w, s->node);
    w_u16(w, s->shard);
    w_u32(w, s->epoch);
    w_u64(w, s->view_mask);
    w_u64(w, s->masters_mask);
    w_u64(w, s->words_addr);
    w_u64(w, s->lvbs_addr);
    w_u32(w, s->words_rkey);
    w_u32(w, s->lvbs_rkey);
    w_u32(w, s->words_len);
    w_u32(w, s->lvbs_len);
    w_u32(w, s->nslots);
    w_u64(w, s->fingerprint);
}

static void dec_shard_info(struct rbuf *r, struct proto_msg *m)
{
    struct msg_shard_info *s = &m->u.shard_info;

    s->node = r_u16(r);
    s->shard = r_u16(r);
    s->epoch = r_u32(r);
    s->view_mask = r_u64(r);
    s->masters_mask = r_u64(r);
    s->words_addr = r_u64(r);
    s->lvbs_addr = r_u64(r);
    s->words_rkey = r_u32(r);
    s->lvbs_rkey = r_u32(r);
    s->words_len = r_u32(r);
    s->lvbs_len = r_u32(r);
    s->nslots = r_u32(r);
    s->fingerprint = r_u64(r);
    if ((uint64_t)s->nslots * 8 > s->words_len || (uint64_t)s->nslots * 64 > s->lvbs_len)
        r->bad = true;
}

static void enc_ls_open(struct wbuf *w, const struct proto_msg *m)
{
    w_u8(w, m->u.ls_open.flags);
    w_u16(w, m->u.ls_open.namelen);
    w_bytes(w, m->u.ls_open.name, m->u.ls_open.namelen);
}

static void dec_ls_open(struct rbuf *r, struct proto_msg *m)
{
    struct msg_ls_open *o = &m->u.ls_open;

    o->flags = r_u8(r);
    if (o->flags & ~LSO_HOME)
        r->bad = true;
    o->namelen = r_u16(r);
    if (o->namelen == 0 || o->namelen > RDLM_LOCKSPACE_MAXLEN) {
        r->bad = true;
        return;
    }
    r_bytes(r, o->name, o->namelen);
}

static void enc_request(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_request *q = &m->u.request;

    w_u64(w, q->lkid);
    w_u64(w, q->parent);
    w_u64(w, q->xid);
    w_u64(w, q->hint);
    w_u64(w, q->group);
    w_u32(w, q->timeout_cs);
    w_u32(w, q->rd_id);
    w_u32(w, q->flags);
    w_u8(w, q->mode);
    w_u8(w, q->grmode);
    w_u8(w, q->has_bast);
    w_u8(w, q->lvb_written);
    w_name(w, &q->name);
    if (q->parent)
        w_name(w, &q->root);
    if (q->flags & RDLM_LKF_VALBLK)
        w_bytes(w, q->lvb, RDLM_LVB_LEN);
}

static void dec_request(struct rbuf *r, struct proto_msg *m)
{
    struct msg_request *q = &m->u.request;

    q->lkid = r_u64(r);
    q->parent = r_u64(r);
    q->xid = r_u64(r);
    q->hint = r_u64(r);
    q->group = r_u64(r);
    q->timeout_cs = r_u32(r);
    q->rd_id = r_u32(r);
    q->flags = r_u32(r);
    q->mode = r_mode(r, false);
    q->grmode = r_mode(r, true);
    q->has_bast = r_u8(r) != 0;
    q->lvb_written = r_u8(r) != 0;
    r_name(r, &q->name, (q->flags & RDLM_LKF_CONVERT) != 0);
    q->root.len = 0;
    if (q->parent)
        r_name(r, &q->root, true);
    if (q->flags & RDLM_LKF_VALBLK)
        r_bytes(r, q->lvb, RDLM_LVB_LEN);
}

static void enc_unlock(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_unlock *u = &m->u.unlock;

    w_u64(w, u->lkid);
    w_u64(w, u->parent);
    w_u64(w, u->group);
    w_u32(w, u->flags);
    w_u8(w, u->grmode);
    w_u8(w, u->lvb_written);
    w_name(w, &u->name);
    if (u->flags & RDLM_LKF_VALBLK)
        w_bytes(w, u->lvb, RDLM_LVB_LEN);
}

static void dec_unlock(struct rbuf *r, struct proto_msg *m)
{
    struct msg_unlock *u = &m->u.unlock;

    u->lkid = r_u64(r);
    u->parent = r_u64(r);
    u->group = r_u64(r);
    u->flags = r_u32(r);
    u->grmode = r_mode(r, true);
    u->lvb_written = r_u8(r) != 0;
    r_name(r, &u->name, false);
    if (u->flags & RDLM_LKF_VALBLK)
        r_bytes(r, u->lvb, RDLM_LVB_LEN);
}

static void enc_cancel(struct wbuf *w, const struct proto_msg *m)
{
    w_u64(w, m->u.cancel.lkid);
    w_u32(w, m->u.cancel.flags);
    w_u8(w, m->u.cancel.deadlock);
}

static void dec_cancel(struct rbuf *r, struct proto_msg *m)
{
    m->u.cancel.lkid = r_u64(r);
    m->u.cancel.flags = r_u32(r);
    m->u.cancel.deadlock = r_u8(r);
}

static void enc_complete(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_complete *c = &m->u.complete;

    w_u64(w, c->lkid);
    w_u8(w, c->op);
    w_u8(w, c->status);
    w_u8(w, c->sbflags);
    w_u8(w, c->lvb_read);
    w_u8(w, c->mode);
    w_u64(w, c->lvbseq);
    w_u32(w, c->slot);
    w_u64(w, c->word);
    if (c->lvb_read)
        w_bytes(w, c->lvb, RDLM_LVB_LEN);
}

static void dec_complete(struct rbuf *r, struct proto_msg *m)
{
    struct msg_complete *c = &m->u.complete;

    c->lkid = r_u64(r);
    c->op = r_u8(r);
    c->status = r_u8(r);
    c->sbflags = r_u8(r);
    c->lvb_read = r_u8(r);
    c->mode = r_mode(r, true);
    c->lvbseq = r_u64(r);
    c->slot = r_u32(r);
    c->word = r_u64(r);
    if (c->lvb_read)
        r_bytes(r, c->lvb, RDLM_LVB_LEN);
    if (c->status >= RDLM_E_STATUS_COUNT || c->op < 1 || c->op > 2)
        r->bad = true;
}

static void enc_bast(struct wbuf *w, const struct proto_msg *m)
{
    w_u64(w, m->u.bast.lkid);
    w_u8(w, m->u.bast.mode);
    w_u64(w, m->u.bast.hint);
}

static void dec_bast(struct rbuf *r, struct proto_msg *m)
{
    m->u.bast.lkid = r_u64(r);
    m->u.bast.mode = r_mode(r, false);
    m->u.bast.hint = r_u64(r);
}

static void enc_reply(struct wbuf *w, const struct proto_msg *m)
{
    w_u8(w, m->u.reply.status);
    w_u32(w, m->u.reply.textlen);
    w_bytes(w, m->u.reply.text, m->u.reply.textlen);
}

static void dec_reply(struct rbuf *r, struct proto_msg *m)
{
    struct msg_reply *p = &m->u.reply;

    p->status = r_u8(r);
    p->textlen = r_u32(r);
    if (p->textlen > PROTO_MAX_TEXT) {
        r->bad = true;
        return;
    }
    r_bytes(r, p->text, p->textlen);
}

static void enc_contended(struct wbuf *w, const struct proto_msg *m)
{
    w_u32(w, m->u.contended.slot);
    w_u16(w, m->u.contended.gen);
    w_name(w, &m->u.contended.name);
}

static void dec_contended(struct rbuf *r, struct proto_msg *m)
{
    m->u.contended.slot = r_u32(r);
    m->u.contended.gen = r_u16(r);
    r_name(r, &m->u.contended.name, false);
}

static void enc_hold_report(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_hold_report *h = &m->u.hold_report;

    w_u32(w, h->slot);
    w_u16(w, h->gen);
    w_u8(w, h->last);
    w_u16(w, h->n);
    for (unsigned i = 0; i < h->n && i < PROTO_MAX_HOLDS; i++) {
        w_u64(w, h->holds[i].lkid);
        w_u64(w, h->holds[i].hint);
        w_u32(w, h->holds[i].flags);
        w_u8(w, h->holds[i].mode);
        w_u8(w, h->holds[i].has_bast);
    }
}

static void dec_hold_report(struct rbuf *r, struct proto_msg *m)
{
    struct msg_hold_report *h = &m->u.hold_report;

    h->slot = r_u32(r);
    h->gen = r_u16(r);
    h->last = r_u8(r);
    h->n = r_u16(r);
    if (h->n > PROTO_MAX_HOLDS) {
        r->bad = true;
        return;
    }
    for (unsigned i = 0; i < h->n && !r->bad; i++) {
        memset(&h->holds[i], 0, sizeof(h->holds[i])); /* group, xid, parent...: not on the wire */
        h->holds[i].lkid = r_u64(r);
        h->holds[i].hint = r_u64(r);
        h->holds[i].flags = r_u32(r);
        h->holds[i].mode = r_mode(r, false);
        h->holds[i].has_bast = r_u8(r);
    }
}

static void enc_purge(struct wbuf *w, const struct proto_msg *m)
{
    w_u32(w, m->u.purge.node);
    w_u32(w, m->u.purge.pid);
}

static void dec_purge(struct rbuf *r, struct proto_msg *m)
{
    m->u.purge.node = r_u32(r);
    m->u.purge.pid = r_u32(r);
}

static void enc_query_lock(struct wbuf *w, const struct proto_msg *m)
{
    w_u64(w, m->u.query_lock.lkid);
}

static void dec_query_lock(struct rbuf *r, struct proto_msg *m)
{
    m->u.query_lock.lkid = r_u64(r);
}

static void enc_query_res(struct wbuf *w, const struct proto_msg *m)
{
    w_u64(w, m->u.query_res.parent);
    w_name(w, &m->u.query_res.name);
}

static void dec_query_res(struct rbuf *r, struct proto_msg *m)
{
    m->u.query_res.parent = r_u64(r);
    r_name(r, &m->u.query_res.name, false);
}

static void enc_dump(struct wbuf *w, const struct proto_msg *m)
{
    w_name(w, &m->u.dump);
}

static void dec_dump(struct rbuf *r, struct proto_msg *m)
{
    r_name(r, &m->u.dump, true);
}

static void enc_heartbeat(struct wbuf *w, const struct proto_msg *m)
{
    w_u16(w, m->u.heartbeat.node);
    w_u32(w, m->u.heartbeat.epoch);
    w_u64(w, m->u.heartbeat.view_mask);
    w_u64(w, m->u.heartbeat.masters_mask);
    w_u32(w, m->u.heartbeat.incarnation);
    w_u32(w, m->u.heartbeat.done_epoch);
    w_u32(w, m->u.heartbeat.fenced_epoch);
    w_u64(w, m->u.heartbeat.time_ns);
    w_u64(w, m->u.heartbeat.fingerprint);
}

static void dec_heartbeat(struct rbuf *r, struct proto_msg *m)
{
    m->u.heartbeat.node = r_u16(r);
    m->u.heartbeat.epoch = r_u32(r);
    m->u.heartbeat.view_mask = r_u64(r);
    m->u.heartbeat.masters_mask = r_u64(r);
    m->u.heartbeat.incarnation = r_u32(r);
    m->u.heartbeat.done_epoch = r_u32(r);
    m->u.heartbeat.fenced_epoch = r_u32(r);
    m->u.heartbeat.time_ns = r_u64(r);
    m->u.heartbeat.fingerprint = r_u64(r);
}

static void enc_recover(struct wbuf *w, const struct proto_msg *m)
{
    w_u32(w, m->u.recover.epoch);
    w_u64(w, m->u.recover.view_mask);
    w_u64(w, m->u.recover.masters_mask);
}

static void dec_recover(struct rbuf *r, struct proto_msg *m)
{
    m->u.recover.epoch = r_u32(r);
    m->u.recover.view_mask = r_u64(r);
    m->u.recover.masters_mask = r_u64(r);
    if (m->u.recover.masters_mask & ~m->u.recover.view_mask)
        r->bad = true;
}

static void w_reclock(struct wbuf *w, const struct msg_reclock *l)
{
    w_u64(w, l->lkid);
    w_u64(w, l->hint);
    w_u64(w, l->group);
    w_u64(w, l->xid);
    w_u64(w, l->lvbseq);
    w_u64(w, l->parent);
    w_name(w, &l->subname);
    w_u32(w, l->rd_id);
    w_u32(w, l->flags);
    w_u8(w, l->mode);
    w_u8(w, l->has_bast);
    w_u8(w, l->has_lvb);
    w_bytes(w, l->lvb, RDLM_LVB_LEN);
}

static void r_reclock(struct rbuf *r, struct msg_reclock *l)
{
    l->lkid = r_u64(r);
    l->hint = r_u64(r);
    l->group = r_u64(r);
    l->xid = r_u64(r);
    l->lvbseq = r_u64(r);
    l->parent = r_u64(r);
    r_name(r, &l->subname, true);
    l->rd_id = r_u32(r);
    l->flags = r_u32(r);
    l->mode = r_mode(r, false);
    l->has_bast = r_u8(r);
    l->has_lvb = r_u8(r);
    r_bytes(r, l->lvb, RDLM_LVB_LEN);
    if (l->lkid == 0 || l->has_bast > 1 || l->has_lvb > 1 ||
        (l->parent != 0) != (l->subname.len != 0) || l->parent == l->lkid)
        r->bad = true;
}

static void enc_recover_locks(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_recover_locks *k = &m->u.recover_locks;

    w_u32(w, k->epoch);
    w_name(w, &k->name);
    w_u16(w, k->n);
    for (unsigned i = 0; i < k->n && i < PROTO_MAX_RECLOCKS; i++)
        w_reclock(w, &k->locks[i]);
}

static void dec_recover_locks(struct rbuf *r, struct proto_msg *m)
{
    struct msg_recover_locks *k = &m->u.recover_locks;

    k->epoch = r_u32(r);
    r_name(r, &k->name, false);
    k->n = r_u16(r);
    if (k->n > PROTO_MAX_RECLOCKS) {
        r->bad = true;
        return;
    }
    for (unsigned i = 0; i < k->n && !r->bad; i++)
        r_reclock(r, &k->locks[i]);
}

/* ---- locks kept by their owner's node: orphans and group locks ---- */

static bool orphan_has_lock(uint8_t op)
{
    return op == ORPHAN_KEEP || op == ORPHAN_REPORT;
}

static void enc_orphan(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_orphan *o = &m->u.orphan;

    w_u8(w, o->op);
    w_u8(w, o->owner_kind);
    w_u16(w, o->owner_node);
    w_u32(w, o->epoch);
    w_u64(w, o->owner_id);
    if (orphan_has_lock(o->op)) {
        w_u8(w, o->orphan);
        w_name(w, &o->ls);
        w_name(w, &o->root);
    }
    if (orphan_has_lock(o->op) || o->op == ORPHAN_DROP)
        w_reclock(w, &o->lock);
}

static void dec_orphan(struct rbuf *r, struct proto_msg *m)
{
    struct msg_orphan *o = &m->u.orphan;

    memset(o, 0, sizeof(*o)); /* what the op leaves off the wire reads as zero */
    o->op = r_u8(r);
    o->owner_kind = r_u8(r);
    o->owner_node = r_u16(r);
    o->epoch = r_u32(r);
    o->owner_id = r_u64(r);
    if (o->op < ORPHAN_KEEP || o->op > ORPHAN_ENDED) {
        r->bad = true;
        return;
    }
    if (orphan_has_lock(o->op)) {
        o->orphan = r_u8(r);
        r_name(r, &o->ls, false);
        r_name(r, &o->root, false);
        if (o->owner_kind < 1 || o->owner_kind > 2 || o->ls.len > RDLM_LOCKSPACE_MAXLEN ||
            o->orphan > 1 || (!o->orphan && o->owner_kind != 2))
            r->bad = true;
    }
    if (orphan_has_lock(o->op) || o->op == ORPHAN_DROP)
        r_reclock(r, &o->lock);
}

/* ---- deadlock search ---- */

static void w_dl_owner(struct wbuf *w, const struct msg_dl_owner *o)
{
    w_u8(w, o->kind);
    w_u16(w, o->node);
    w_u32(w, o->pid);
    w_u64(w, o->id);
}

static void r_dl_owner(struct rbuf *r, struct msg_dl_owner *o)
{
    o->kind = r_u8(r);
    o->node = r_u16(r);
    o->pid = r_u32(r);
    o->id = r_u64(r);
    if (o->kind < DLO_PROCESS || o->kind > DLO_LOCK)
        r->bad = true;
}

/* A count of n entries, at most max. */
static uint16_t r_count(struct rbuf *r, unsigned max)
{
    uint16_t n = r_u16(r);

    if (n > max)
        r->bad = true;
    return r->bad ? 0 : n;
}

static void enc_dl_query(struct wbuf *w, const struct proto_msg *m)
{
    w_u16(w, m->u.dl_query.node);
    w_u16(w, m->u.dl_query.shard);
}

static void dec_dl_query(struct rbuf *r, struct proto_msg *m)
{
    m->u.dl_query.node = r_u16(r);
    m->u.dl_query.shard = r_u16(r);
}

static void enc_dl_edges(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_dl_edges *d = &m->u.dl_edges;

    w_u8(w, d->last);
    w_u8(w, d->truncated);
    w_u16(w, d->n);
    for (unsigned i = 0; i < d->n && i < PROTO_DL_EDGES; i++) {
        const struct msg_dl_edge *e = &d->e[i];
        w_u64(w, e->waiter);
        w_u64(w, e->wstamp);
        w_u64(w, e->blocker);
        w_u64(w, e->bstamp);
        w_dl_owner(w, &e->wowner);
        w_dl_owner(w, &e->bowner);
        w_u8(w, e->flags);
    }
}

static void dec_dl_edges(struct rbuf *r, struct proto_msg *m)
{
    struct msg_dl_edges *d = &m->u.dl_edges;

    d->last = r_u8(r);
    d->truncated = r_u8(r);
    d->n = r_count(r, PROTO_DL_EDGES);
    if (d->last > 1 || d->truncated > 1)
        r->bad = true;
    for (unsigned i = 0; i < d->n && !r->bad; i++) {
        struct msg_dl_edge *e = &d->e[i];
        e->waiter = r_u64(r);
        e->wstamp = r_u64(r);
        e->blocker = r_u64(r);
        e->bstamp = r_u64(r);
        r_dl_owner(r, &e->wowner);
        r_dl_owner(r, &e->bowner);
        e->flags = r_u8(r);
        if (e->flags & ~(DLE_LASTING | DLE_OLD) || e->waiter == 0 || e->blocker == 0 ||
            e->waiter == e->blocker || e->wowner.kind == DLO_LOCK)
            r->bad = true;
    }
}

static void enc_dl_confirm(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_dl_confirm *c = &m->u.dl_confirm;

    w_u8(w, c->cycle);
    w_u16(w, c->n);
    for (unsigned i = 0; i < c->n && i < PROTO_DL_CYCLE; i++) {
        w_u64(w, c->c[i].waiter);
        w_u64(w, c->c[i].wstamp);
        w_u64(w, c->c[i].blocker);
        w_u64(w, c->c[i].bstamp);
    }
}

static void dec_dl_confirm(struct rbuf *r, struct proto_msg *m)
{
    struct msg_dl_confirm *c = &m->u.dl_confirm;

    c->cycle = r_u8(r);
    c->n = r_count(r, PROTO_DL_CYCLE);
    for (unsigned i = 0; i < c->n && !r->bad; i++) {
        c->c[i].waiter = r_u64(r);
        c->c[i].wstamp = r_u64(r);
        c->c[i].blocker = r_u64(r);
        c->c[i].bstamp = r_u64(r);
    }
}

static void enc_dl_confirmed(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_dl_confirmed *c = &m->u.dl_confirmed;

    w_u8(w, c->cycle);
    w_u16(w, c->n);
    for (unsigned i = 0; i < c->n && i < PROTO_DL_CYCLE; i++) {
        const struct msg_dl_fact *f = &c->f[i];
        w_u8(w, f->present);
        w_u8(w, f->wgrmode);
        w_u8(w, f->wrqmode);
        w_u8(w, f->bgrmode);
        w_name(w, &f->name);
    }
}

static void dec_dl_confirmed(struct rbuf *r, struct proto_msg *m)
{
    struct msg_dl_confirmed *c = &m->u.dl_confirmed;

    c->cycle = r_u8(r);
    c->n = r_count(r, PROTO_DL_CYCLE);
    for (unsigned i = 0; i < c->n && !r->bad; i++) {
        struct msg_dl_fact *f = &c->f[i];
        f->present = r_u8(r);
        f->wgrmode = r_mode(r, true);
        f->wrqmode = r_mode(r, true);
        f->bgrmode = r_mode(r, true);
        r_name(r, &f->name, true);
        if (f->present > 1)
            r->bad = true;
    }
}

static void enc_dl_cancel(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_dl_cancel *k = &m->u.dl_cancel;

    w_u64(w, k->victim);
    w_u64(w, k->vstamp);
    w_u16(w, k->node);
    w_u16(w, k->shard);
    w_u16(w, k->n);
    for (unsigned i = 0; i < k->n && i < PROTO_DL_CYCLE; i++) {
        const struct msg_dl_step *st = &k->s[i];
        w_dl_owner(w, &st->owner);
        w_u64(w, st->lkid);
        w_u64(w, st->blocker);
        w_u8(w, st->grmode);
        w_u8(w, st->rqmode);
        w_u8(w, st->bgrmode);
        w_name(w, &st->name);
    }
}

static void dec_dl_cancel(struct rbuf *r, struct proto_msg *m)
{
    struct msg_dl_cancel *k = &m->u.dl_cancel;

    k->victim = r_u64(r);
    k->vstamp = r_u64(r);
    k->node = r_u16(r);
    k->shard = r_u16(r);
    k->n = r_count(r, PROTO_DL_CYCLE);
    for (unsigned i = 0; i < k->n && !r->bad; i++) {
        struct msg_dl_step *st = &k->s[i];
        r_dl_owner(r, &st->owner);
        st->lkid = r_u64(r);
        st->blocker = r_u64(r);
        st->grmode = r_mode(r, true);
        st->rqmode = r_mode(r, true);
        st->bgrmode = r_mode(r, true);
        r_name(r, &st->name, true);
    }
    if (k->victim == 0)
        r->bad = true;
}

static void enc_glc(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_glc *g = &m->u.glc;

    w_u8(w, g->op);
    w_u32(w, g->flags);
    w_u64(w, g->id);
    w_u64(w, g->lkid);
    w_u64(w, g->lsid);
    w_name(w, &g->name);
    w_u16(w, g->nls);
    for (unsigned i = 0; i < g->nls && i < RDLM_GLC_MAX_LS_WIRE; i++)
        w_u64(w, g->lss[i]);
}

static void dec_glc(struct rbuf *r, struct proto_msg *m)
{
    struct msg_glc *g = &m->u.glc;

    g->op = r_u8(r);
    g->flags = r_u32(r);
    g->id = r_u64(r);
    g->lkid = r_u64(r);
    g->lsid = r_u64(r);
    r_name(r, &g->name, true);
    g->nls = r_count(r, RDLM_GLC_MAX_LS_WIRE);
    for (unsigned i = 0; i < g->nls; i++)
        g->lss[i] = r_u64(r);
    if (g->op < GLC_CREATE || g->op > GLC_PURGE)
        r->bad = true;
}

static void enc_rd(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_rd *d = &m->u.rd;

    w_u8(w, d->op);
    w_u32(w, d->flags);
    w_u32(w, d->rd_id);
    w_u64(w, d->group);
    w_u64(w, d->cursor);
    w_u16(w, d->namelen);
    w_bytes(w, d->name, d->namelen <= RDLM_RDNAME_MAXLEN_WIRE ? d->namelen : 0);
    w_u16(w, d->n);
    for (unsigned i = 0; i < d->n && i < PROTO_RD_ITEMS; i++) {
        w_u64(w, d->items[i].lsid);
        w_name(w, &d->items[i].name);
    }
}

static void dec_rd(struct rbuf *r, struct proto_msg *m)
{
    struct msg_rd *d = &m->u.rd;

    d->op = r_u8(r);
    d->flags = r_u32(r);
    d->rd_id = r_u32(r);
    d->group = r_u64(r);
    d->cursor = r_u64(r);
    d->namelen = r_u16(r);
    if (d->namelen > RDLM_RDNAME_MAXLEN_WIRE) {
        r->bad = true;
        return;
    }
    r_bytes(r, d->name, d->namelen);
    d->n = r_count(r, PROTO_RD_ITEMS);
    for (unsigned i = 0; i < d->n; i++) {
        d->items[i].lsid = r_u64(r);
        r_name(r, &d->items[i].name, false);
    }
}

static void enc_alive(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_alive *a = &m->u.alive;

    w_u8(w, a->op);
    w_u8(w, a->alive);
    w_u16(w, a->node);
    w_u32(w, a->pid);
    w_u32(w, a->incarnation);
}

static void dec_alive(struct rbuf *r, struct proto_msg *m)
{
    struct msg_alive *a = &m->u.alive;

    a->op = r_u8(r);
    a->alive = r_u8(r);
    a->node = r_u16(r);
    a->pid = r_u32(r);
    a->incarnation = r_u32(r);
    if (a->op < ALIVE_ASK || a->op > ALIVE_ANSWER || a->alive > 1)
        r->bad = true;
}

static void enc_fault(struct wbuf *w, const struct proto_msg *m)
{
    const struct msg_fault *f = &m->u.fault;

    w_u8(w, f->op);
    w_u8(w, f->n);
    for (unsigned i = 0; i < f->n && i < PROTO_FAULT_NODES; i++)
        w_u16(w, f->nodes[i]);
}

static void dec_fault(struct rbuf *r, struct proto_msg *m)
{
    struct msg_fault *f = &m->u.fault;

    f->op = r_u8(r);
    f->n = r_u8(r);
    if (f->n > PROTO_FAULT_NODES || (f->op == FAULT_ISOLATE) != (f->n > 0) ||
        (f->op != FAULT_ISOLATE && f->op != FAULT_HEAL && f->op != FAULT_LOSE_COMPLETIONS)) {
        r->bad = true;
        return;
    }
    for (unsigned i = 0; i < f->n; i++)
        f->nodes[i] = r_u16(r);
}

static void enc_none(struct wbuf *w, const struct proto_msg *m)
{
    (void)w;
    (void)m;
}

static void dec_none(struct rbuf *r, struct proto_msg *m)
{
    (void)r;
    (void)m;
}

struct codec {
    const char *name;
    void (*enc)(struct wbuf *, const struct proto_msg *);
    void (*dec)(struct rbuf *, struct proto_msg *);
};

static const struct codec codecs[MSG_TYPE_MAX] = {
    [MSG_SHARD_INFO] = {"SHARD_INFO", enc_shard_info, dec_shard_info},
    [MSG_LS_OPEN] = {"LS_OPEN", enc_ls_open, dec_ls_open},
    [MSG_REQUEST] = {"REQUEST", enc_request, dec_request},
    [MSG_UNLOCK] = {"UNLOCK", enc_unlock, dec_unlock},
    [MSG_CANCEL] = {"CANCEL", enc_cancel, dec_cancel},
    [MSG_COMPLETE] = {"COMPLETE", enc_complete, dec_complete},
    [MSG_BAST] = {"BAST", enc_bast, dec_bast},
    [MSG_REPLY] = {"REPLY", enc_reply, dec_reply},
    [MSG_CONTENDED] = {"CONTENDED", enc_contended, dec_contended},
    [MSG_HOLD_REPORT] = {"HOLD_REPORT", enc_hold_report, dec_hold_report},
    [MSG_PURGE] = {"PURGE", enc_purge, dec_purge},
    [MSG_QUERY_LOCK] = {"QUERY_LOCK", enc_query_lock, dec_query_lock},
    [MSG_QUERY_RES] = {"QUERY_RES", enc_query_res, dec_query_res},
    [MSG_DUMP] = {"DUMP", enc_dump, dec_dump},
    [MSG_STATUS] = {"STATUS", enc_none, dec_none},
    [MSG_HEARTBEAT] = {"HEARTBEAT", enc_heartbeat, dec_heartbeat},
    [MSG_LS_LIST] = {"LS_LIST", enc_none, dec_none},
    [MSG_DL_QUERY] = {"DL_QUERY", enc_dl_query, dec_dl_query},
    [MSG_DL_EDGES] = {"DL_EDGES", enc_dl_edges, dec_dl_edges},
    [MSG_DL_CONFIRM] = {"DL_CONFIRM", enc_dl_confirm, dec_dl_confirm},
    [MSG_DL_CONFIRMED] = {"DL_CONFIRMED", enc_dl_confirmed, dec_dl_confirmed},
    [MSG_DL_CANCEL] = {"DL_CANCEL", enc_dl_cancel, dec_dl_cancel},
    [MSG_DL_LIST] = {"DL_LIST", enc_none, dec_none},
    [MSG_RECOVER] = {"RECOVER", enc_recover, dec_recover},
    [MSG_RECOVER_LOCKS] = {"RECOVER_LOCKS", enc_recover_locks, dec_recover_locks},
    [MSG_RECOVER_END] = {"RECOVER_END", enc_recover, dec_recover},
    [MSG_RECOVER_DONE] = {"RECOVER_DONE", enc_recover, dec_recover},
    [MSG_GLC] = {"GLC", enc_glc, dec_glc},
    [MSG_RD] = {"RD", enc_rd, dec_rd},
    [MSG_ORPHAN] = {"ORPHAN", enc_orphan, dec_orphan},
    [MSG_FAULT] = {"FAULT", enc_fault, dec_fault},
    [MSG_ALIVE] = {"ALIVE", enc_alive, dec_alive},
};

const char *proto_type_name(int type)
{
    if (type <= 0 || type >= MSG_TYPE_MAX || !codecs[type].name)
        return "?";
    return codecs[type].name;
}

int proto_encode(struct proto_msg *m, uint8_t *buf, size_t cap)
{
    struct wbuf w = {buf, 0, cap, false};
    uint8_t t = m->hdr.type;

    if (t == 0 || t >= MSG_TYPE_MAX || !codecs[t].enc)
        return -1;
    w_u8(&w, PROTO_MAGIC0);
    w_u8(&w, PROTO_MAGIC1);
    w_u8(&w, PROTO_VERSION);
    w_u8(&w, t);
    w_u32(&w, 0); /* length, patched below */
    w_u64(&w, m->hdr.ls);
    w_u64(&w, m->hdr.reqid);
    codecs[t].enc(&w, m);
    if (w.overflow || w.len > PROTO_MAX_MSG)
        return -1;
    m->hdr.len = (uint32_t)w.len;
    for (int i = 0; i < 4; i++)
        buf[4 + i] = (uint8_t)(w.len >> (8 * i));
    return (int)w.len;
}

int proto_decode(const void *buf, size_t len, struct proto_msg *m)
{
    struct rbuf r = {buf, len, 0, false};
    uint8_t t;

    if (len < PROTO_HDR_LEN || len > PROTO_MAX_MSG)
        return -1;
    if (r_u8(&r) != PROTO_MAGIC0 || r_u8(&r) != PROTO_MAGIC1 || r_u8(&r) != PROTO_VERSION)
        return -1;
    t = r_u8(&r);
    if (t == 0 || t >= MSG_TYPE_MAX || !codecs[t].dec)
        return -1;
    memset(&m->hdr, 0, sizeof(m->hdr));
    m->hdr.type = t;
    m->hdr.len = r_u32(&r);
    m->hdr.ls = r_u64(&r);
    m->hdr.reqid = r_u64(&r);
    if (m->hdr.len != len)
        return -1;
    codecs[t].dec(&r, m);
    /* trailing bytes are as malformed as missing ones */
    return (r.bad || r.off != len) ? -1 : 0;
}
