/*
 * lib/rd_wire.c - recovery domains, the client's exchanges with the shards (docs/protocol.md
 * section 7): one MSG_RD to one shard, to a domain's master, or to every shard of the view,
 * and the paged RD_SCAN that builds a collection. lib/rd.c uses them for the API.
 */
#include "lib/rd_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/rdname.h"

int rd_ask(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m, struct proto_msg *reply)
{
    if (!cc || ls->broken)
        return RDLM_E_NOTCONN;
    m->hdr.type = MSG_RD;
    m->hdr.ls = ls->id;
    if (request_reply(ls, cc, m, reply, RD_TIMEOUT_MS) < 0)
        return RDLM_E_NOTCONN;
    return reply->u.reply.status;
}

struct rdlm_placement_target rd_master_of(const struct rdlm_ls *ls, const char *name, size_t len)
{
    return rdlm_rd_master(ls->members, ls->nmembers, name, len);
}

int rd_ask_master(struct rdlm_ls *ls, const char *name, size_t len, struct proto_msg *m,
                  struct proto_msg *reply)
{
    struct rdlm_placement_target t = rd_master_of(ls, name, len);

    return rd_ask(ls, t.node ? conn_for(ls, t.node, t.shard) : NULL, m, reply);
}

/* The same message to every (node, shard) of the view; the first failure. */
int rd_ask_all(struct rdlm_ls *ls, struct proto_msg *m, struct proto_msg *reply)
{
    int st = RDLM_OK;

    for (size_t i = 0; i < ls->nmembers && st == RDLM_OK; i++)
        for (uint32_t s = 0; s < ls->members[i].shards && st == RDLM_OK; s++)
            st = rd_ask(ls, conn_for(ls, ls->members[i].node, s), m, reply);
    return st;
}

bool rd_coll_has(const struct rdlm_rd_collection *c, uint64_t lsid, const uint8_t *name,
                 unsigned len)
{
    for (uint32_t i = 0; c && i < c->count; i++)
        if (c->items[i].ls_id == lsid && c->items[i].namelen == len &&
            memcmp(c->items[i].name, name, len) == 0)
            return true;
    return false;
}

static int coll_add(struct rdlm_rd_collection *c, uint64_t lsid, const uint8_t *name, unsigned len)
{
    struct rdlm_rd_item *v;

    if (rd_coll_has(c, lsid, name, len))
        return RDLM_OK;
    v = realloc(c->items, (c->count + 1) * sizeof(*v));
    if (!v)
        return RDLM_E_NOMEM;
    c->items = v;
    v += c->count++;
    memset(v, 0, sizeof(*v));
    v->ls_id = lsid;
    v->namelen = (uint16_t)len;
    memcpy(v->name, name, len);
    return RDLM_OK;
}

/* RD_SCAN one shard, every page, into c (NULL: only say whether there is any: *any). */
static int scan_shard(struct rdlm_ls *ls, struct cconn *cc, uint32_t rd_id,
                      struct rdlm_rd_collection *c, bool *any, struct proto_msg *m,
                      struct proto_msg *reply)
{
    bool more = true;

    memset(m, 0, sizeof(*m));
    m->u.rd.op = RD_SCAN;
    m->u.rd.rd_id = rd_id;
    while (more) {
        const uint8_t *p = (const uint8_t *)reply->u.reply.text;
        size_t off = 3, len;
        unsigned n;
        int st = rd_ask(ls, cc, m, reply);
        if (st != RDLM_OK)
            return st;
        len = reply->u.reply.textlen;
        if (len < 3)
            return RDLM_E_INVAL;
        more = p[0];
        n = p[1] | (unsigned)p[2] << 8;
        if (n == 0 && more)
            return RDLM_E_INVAL;
        for (unsigned i = 0; i < n; i++) {
            uint64_t lsid = 0;
            unsigned nl;
            if (off + 9 > len)
                return RDLM_E_INVAL;
            for (int b = 0; b < 8; b++)
                lsid |= (uint64_t)p[off + b] << (8 * b);
            nl = p[off + 8];
            off += 9;
            if (nl == 0 || nl > RDLM_RESNAME_MAXLEN || off + nl > len)
                return RDLM_E_INVAL;
            *any = true;
            if (c && coll_add(c, lsid, p + off, nl) != RDLM_OK)
                return RDLM_E_NOMEM;
            /* resume after the last one */
            m->u.rd.cursor = 1;
            m->u.rd.n = 1;
            m->u.rd.items[0].lsid = lsid;
            m->u.rd.items[0].name.len = (uint16_t)nl;
            memcpy(m->u.rd.items[0].name.bytes, p + off, nl);
            off += nl;
        }
        if (off != len)
            return RDLM_E_INVAL;
        if (!c && *any)
            break;
    }
    return RDLM_OK;
}

int rd_scan_all(struct rdlm_ls *ls, uint32_t rd_id, struct rdlm_rd_collection *c, bool *any,
                struct proto_msg *m, struct proto_msg *reply)
{
    int st = RDLM_OK;

    *any = false;
    for (size_t i = 0; i < ls->nmembers && st == RDLM_OK; i++)
        for (uint32_t s = 0; s < ls->members[i].shards && st == RDLM_OK; s++)
            st = scan_shard(ls, conn_for(ls, ls->members[i].node, s), rd_id, c, any, m, reply);
    return st;
}
