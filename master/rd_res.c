/*
 * master/rd_res.c - recovery domains as every shard sees them (docs/protocol.md section 7):
 * for the persistent resources it masters, RD_SCAN (those of a domain whose LVB is invalid,
 * sorted, paged), RD_VALIDATE, RD_INVALIDATE and RD_CLEAR; the per-domain marks; and the
 * engine's create hook, which decides whether a new persistent resource starts invalid: its
 * domain was invalidated and not validated since, or its name moved here from a lost master
 * and the domain has not been validated since that loss. The domain master's half is rd.c.
 */
#include "master/rd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-shard marks and the engine's create hook ---- */

static struct rd_mark *mark_find(struct rd_shard *r, uint32_t rd_id)
{
    for (uint32_t i = 0; r && i < r->nmarks; i++)
        if (r->marks[i].rd_id == rd_id)
            return &r->marks[i];
    return NULL;
}

static struct rd_mark *mark_get(struct rd_shard *r, uint32_t rd_id)
{
    struct rd_mark *k = mark_find(r, rd_id), *v;

    if (k || r->nmarks >= RD_MAX_MARKS)
        return k;
    v = realloc(r->marks, (r->nmarks + 1) * sizeof(*v));
    if (!v)
        return NULL;
    r->marks = v;
    k = &v[r->nmarks++];
    *k = (struct rd_mark){.rd_id = rd_id};
    return k;
}

struct hook_arg {
    struct shard *s;
    uint64_t ls_id;
};

static bool create_hook(void *arg, uint32_t rd_id, const uint8_t *name, uint16_t namelen)
{
    struct hook_arg *h = arg;
    struct shard *s = h->s;
    struct rd_shard *r = s->rd;
    const struct rd_mark *k = mark_find(r, rd_id);
    struct rdlm_placement_target t;

    if (k && k->invalidated)
        return true;
    if (!r || !r->loss_epoch || (k && k->clear_epoch >= r->loss_epoch) || !r->base_masters)
        return false;
    /* placed elsewhere by the first view: it came here from a lost master */
    t = shard_place(s, h->ls_id, r->base_masters, name, namelen);
    return !(t.node == s->node && t.shard == s->index);
}

void rd_ls_new(struct shard *s, struct mls *ls)
{
    struct hook_arg *h = malloc(sizeof(*h));

    if (!h)
        return; /* no hook: new resources start as usual */
    h->s = s;
    h->ls_id = ls->id;
    ls->rd_hook = h;
    eng_rd_set_create_hook(ls->e, create_hook, h);
}

/* ---- the resources of this shard ---- */

struct scan_item {
    uint64_t lsid;
    uint8_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
};

static int item_cmp(uint64_t al, const uint8_t *an, size_t alen, uint64_t bl, const uint8_t *bn,
                    size_t blen)
{
    int c;

    if (al != bl)
        return al < bl ? -1 : 1;
    c = memcmp(an, bn, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int scan_sort(const void *a, const void *b)
{
    const struct scan_item *x = a, *y = b;

    return item_cmp(x->lsid, x->name, x->namelen, y->lsid, y->name, y->namelen);
}

struct scan_ctx {
    uint64_t lsid;
    const struct msg_rd_item *after; /* NULL: from the start */
    struct scan_item *v;
    size_t n, cap;
    bool nomem;
};

static bool scan_one(void *arg, const uint8_t *name, uint16_t namelen)
{
    struct scan_ctx *x = arg;
    struct scan_item *it;

    if (x->after && item_cmp(x->lsid, name, namelen, x->after->lsid, x->after->name.bytes,
                             x->after->name.len) <= 0)
        return true;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        struct scan_item *v = realloc(x->v, cap * sizeof(*v));
        if (!v) {
            x->nomem = true;
            return false;
        }
        x->v = v;
        x->cap = cap;
    }
    it = &x->v[x->n++];
    it->lsid = x->lsid;
    it->namelen = (uint8_t)namelen;
    memcpy(it->name, name, namelen);
    return true;
}

void rd_op_scan(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_rd *q = &m->u.rd;
    struct scan_ctx x = {.after = q->cursor ? &q->items[0] : NULL};
    uint8_t text[PROTO_MAX_TEXT];
    size_t n, len = 3;

    if (q->cursor > 1 || q->n != (q->cursor ? 1 : 0)) {
        send_reply(s, c, m->hdr.reqid, RDLM_E_INVAL, NULL, 0);
        return;
    }
    for (struct mls *ls = s->lss; ls && !x.nomem; ls = ls->next) {
        x.lsid = ls->id;
        eng_rd_list_invalid(ls->e, q->rd_id, scan_one, &x);
    }
    if (x.nomem) {
        free(x.v);
        send_reply(s, c, m->hdr.reqid, RDLM_E_NOMEM, NULL, 0);
        return;
    }
    if (x.n)
        qsort(x.v, x.n, sizeof(*x.v), scan_sort);
    n = x.n < PROTO_RD_SCAN_MAX ? x.n : PROTO_RD_SCAN_MAX;
    text[0] = x.n > n;
    text[1] = (uint8_t)n;
    text[2] = (uint8_t)(n >> 8);
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++)
            text[len++] = (uint8_t)(x.v[i].lsid >> (8 * b));
        text[len++] = x.v[i].namelen;
        memcpy(text + len, x.v[i].name, x.v[i].namelen);
        len += x.v[i].namelen;
    }
    free(x.v);
    send_reply(s, c, m->hdr.reqid, RDLM_OK, text, (uint32_t)len);
}

static void sync_res(struct shard *s, struct mls *ls, const uint8_t *name, uint16_t len)
{
    struct mres *r = mres_find(ls, name, len);

    serve_actions(s, ls); /* LVB actions only: nothing is sent */
    if (r)
        serve_sync_word(s, r);
}

void rd_op_validate(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_rd *q = &m->u.rd;
    uint8_t text[2];
    unsigned done = 0;

    if (q->n == 0 || q->cursor) {
        send_reply(s, c, m->hdr.reqid, RDLM_E_INVAL, NULL, 0);
        return;
    }
    for (unsigned i = 0; i < q->n; i++) {
        const struct msg_rd_item *it = &q->items[i];
        struct mls *ls = mls_by_id(s, it->lsid);
        if (ls &&
            eng_rd_validate(ls->e, q->rd_id, it->name.bytes, it->name.len, &s->acts) == RDLM_OK) {
            done++;
            sync_res(s, ls, it->name.bytes, it->name.len);
        }
    }
    text[0] = (uint8_t)done;
    text[1] = (uint8_t)(done >> 8);
    send_reply(s, c, m->hdr.reqid, RDLM_OK, text, sizeof(text));
}

int rd_op_mark(struct shard *s, const struct msg_rd *q)
{
    struct rd_shard *r = rd_state(s);
    struct rd_mark *k;

    if (!r)
        return RDLM_E_NOMEM;
    if (q->op == RD_CLEAR) {
        k = mark_find(r, q->rd_id);
        if (!k && !r->loss_epoch)
            return RDLM_OK; /* nothing to clear */
        k = mark_get(r, q->rd_id);
        if (k) {
            k->invalidated = false;
            k->clear_epoch = s->view_epoch;
        }
        return RDLM_OK; /* no room: the conservative side (new ones may start invalid) */
    }
    k = mark_get(r, q->rd_id);
    if (!k)
        return RDLM_E_TOOMANY;
    k->invalidated = true;
    for (struct mls *ls = s->lss; ls; ls = ls->next)
        if (eng_rd_invalidate(ls->e, q->rd_id, &s->acts))
            serve_settle(s, ls); /* mirrors the LVBs into the slots */
        else
            eng_actions_clear(&s->acts);
    return RDLM_OK;
}
