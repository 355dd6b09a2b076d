/*
 * master/ctl.c - the daemon's answers to questions: STATUS and LS_LIST (text for rdlmctl),
 * DUMP of a resource (queues, modes, owners, LVB, FAST/SLOW, like `dlm_tool lockdump`),
 * QUERY_LOCK / QUERY_RES (binary, for rdlm_query_*), and PURGE of orphans.
 */
#include "master/daemon.h"
#include "rdlm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto_info.h"

struct text {
    char buf[PROTO_MAX_TEXT];
    size_t len;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->len >= sizeof(t->buf) - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < sizeof(t->buf) - t->len ? (size_t)n : sizeof(t->buf) - t->len - 1;
}

static const char *state_name(uint8_t st)
{
    return st == RS_FAST ? "FAST" : st == RS_SLOW ? "SLOW" : "TRANSITION";
}

static void count_res(const struct mls *ls, unsigned n[4])
{
    for (uint32_t b = 0; b < ls->nbuckets; b++)
        for (const struct mres *r = ls->buckets[b]; r; r = r->hnext)
            n[r->state]++;
}

static void status(struct shard *s, struct text *t)
{
    const struct shard_stats *st = &s->stats;
    unsigned nclients = 0;

    for (uint32_t i = 0; i < s->nclients; i++)
        nclients += s->clients[i] && s->clients[i]->hello.role == ROLE_CLIENT;
    tprintf(t, "node %u shard %u: %s:%u cpu %d, transport %s, %u clients, slots %u/%u used\n",
            s->node, s->index, s->d->me->address, s->port, s->cpu,
            rt_backend_name(rt_ctx_backend(s->ctx)), nclients, s->nslots - s->nfree, s->nslots);
    tprintf(t,
            "  requests %lu (served from counts %lu, by the engine %lu), transitions %lu, "
            "back to fast %lu, reclaimed %lu, basts %lu, malformed %lu\n",
            (unsigned long)st->requests, (unsigned long)st->fast_served,
            (unsigned long)st->engine_ops, (unsigned long)st->transitions,
            (unsigned long)st->returns_to_fast, (unsigned long)st->reclaims,
            (unsigned long)st->basts, (unsigned long)st->malformed);
    {
        char r[256];
        recover_status(s, r, sizeof(r));
        tprintf(t, "%s", r);
    }
    {
        char d[256];
        deadlock_status(s, d, sizeof(d));
        tprintf(t, "%s", d);
    }
    {
        char d[160] = "";
        rd_status(s, d, sizeof(d));
        tprintf(t, "%s", d);
    }
    {
        char f[160];
        fault_status(s, f, sizeof(f)); /* fault.c: empty unless enabled */
        tprintf(t, "%s", f);
    }
    if (s->index == 0) {
        char m[1024];
        membership_status(s->d, m, sizeof(m));
        tprintf(t, "%s", m);
    }
}

static void ls_list(struct shard *s, struct text *t)
{
    for (const struct mls *ls = s->lss; ls; ls = ls->next) {
        unsigned n[4] = {0};
        count_res(ls, n);
        tprintf(t,
                "%s node %u shard %u: %u resources (%u fast, %u slow, %u in transition), "
                "%zu engine locks\n",
                ls->name, s->node, s->index, ls->nres, n[RS_FAST], n[RS_SLOW], n[RS_TRANSITION],
                eng_lock_count(ls->e));
    }
}

static void dump_word(struct shard *s, const struct mres *r, struct text *t)
{
    uint64_t w = word_load(s, r->slot);
    const struct lvb_record *rec = &s->lvbs[r->slot];

    tprintf(t, "  slot %u word gen %u %s counts NL %u CR %u CW %u PR %u PW %u EX %u\n", r->slot,
            lw_gen(w), lw_slow(w) ? "SLOW" : "clear", lw_count(w, 0), lw_count(w, 1),
            lw_count(w, 2), lw_count(w, 3), lw_count(w, 4), lw_count(w, 5));
    tprintf(t, "  lvb %s seq %lu:",
            rec->status == LVBR_NONE    ? "never written"
            : rec->status == LVBR_VALID ? "valid"
                                        : "INVALID",
            (unsigned long)rec->seq);
    for (int i = 0; i < RDLM_LVB_LEN; i++)
        tprintf(t, "%s%02x", i % 8 ? "" : " ", rec->value[i]);
    tprintf(t, "\n  interest set: %u clients\n", r->ninterest);
}

static void dump_queues(struct shard *s, const struct mres *r, struct text *t)
{
    static const char *const qname[3] = {"granted", "converting", "waiting"};
    uint64_t ids[3][64];
    struct eng_queues q = {.lkid = {ids[0], ids[1], ids[2]}, .cap = 64};

    (void)s;
    if (eng_query_queues(r->ls->e, 0, r->name, r->namelen, &q) != RDLM_OK) {
        tprintf(t, "  no per-lock records (the holders are counted in the word)\n");
        return;
    }
    for (int k = 0; k < 3; k++) {
        tprintf(t, "  %s (%zu):\n", qname[k], q.n[k]);
        for (size_t i = 0; i < q.n[k] && i < q.cap; i++) {
            struct eng_lock_info li;
            if (eng_query_lock(r->ls->e, ids[k][i], &li) != RDLM_OK)
                continue;
            tprintf(t, "    %016lx %s->%s %s node %u %s %lu%s flags %#x\n", (unsigned long)li.lkid,
                    rdlm_mode_str(li.grmode), rdlm_mode_str(li.rqmode), li.orphan ? "ORPHAN" : "",
                    li.owner.node, li.owner.kind == ENG_OWNER_GROUP ? "group" : "pid",
                    (unsigned long)(li.owner.kind == ENG_OWNER_GROUP ? li.owner.id
                                                                     : (li.owner.id & 0xffffffffu)),
                    li.xid ? " (xid)" : "", li.flags);
        }
    }
}

static void dump(struct shard *s, const struct proto_msg *m, struct text *t)
{
    struct mls *ls = mls_by_id(s, m->hdr.ls);
    const struct mres *r = ls ? mres_find(ls, m->u.dump.bytes, m->u.dump.len) : NULL;

    if (!r) {
        tprintf(t, "node %u shard %u: no such resource\n", s->node, s->index);
        return;
    }
    tprintf(t, "resource \"%.*s\" in %s, master node %u shard %u: %s\n", r->namelen, r->name,
            ls->name, s->node, s->index, state_name(r->state));
    if (r->slot != LW_NO_SLOT)
        dump_word(s, r, t);
    dump_queues(s, r, t);
}

static void query_lock(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    struct eng_lock_info li;
    struct rdlm_lock_info out = {0};
    uint8_t buf[PROTO_LOCK_INFO_LEN];

    if (!c->ls || eng_query_lock(c->ls->e, m->u.query_lock.lkid, &li) != RDLM_OK) {
        if (!serve_park_behind(s, c, m, m->u.query_lock.lkid)) /* answered when it is known */
            send_reply(s, c, m->hdr.reqid, RDLM_E_NOLOCK, NULL, 0);
        return;
    }
    out.lkid = li.lkid;
    out.parent = li.parent_lkid;
    out.grmode = li.grmode;
    out.rqmode = li.rqmode;
    out.state = li.state;
    out.orphan = li.orphan;
    out.flags = li.flags;
    out.owner_node = li.owner.node;
    out.owner_is_group = li.owner.kind == ENG_OWNER_GROUP;
    out.owner_pid = out.owner_is_group ? li.owner.id : (li.owner.id & 0xffffffffu);
    out.namelen = li.namelen;
    memcpy(out.name, li.name, li.namelen);
    send_reply(s, c, m->hdr.reqid, RDLM_OK, buf, (uint32_t)proto_pack_lock_info(&out, buf));
}

/* A FAST resource's information comes from its word and LVB record. */
static void res_from_word(struct shard *s, const struct mres *r, struct rdlm_res_info *out)
{
    uint64_t w = word_load(s, r->slot);
    const struct lvb_record *rec = &s->lvbs[r->slot];

    out->granted_mode = out->convert_mode = out->wait_mode = RDLM_MODE_IV;
    for (int m = RDLM_MODE_NL; m <= RDLM_MODE_EX; m++)
        if (lw_count(w, m)) {
            out->granted_count += lw_count(w, m);
            out->granted_mode = m;
        }
    out->lock_count = out->granted_count;
    out->lvb_status = rec->status;
    out->lvbseq = rec->seq;
    memcpy(out->lvb, rec->value, RDLM_LVB_LEN);
    out->fast = 1;
}

static void query_res(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_query_res *q = &m->u.query_res;
    struct mres *r = c->ls && !q->parent ? mres_find(c->ls, q->name.bytes, q->name.len) : NULL;
    struct eng_res_info ei;
    struct rdlm_res_info out = {0};
    uint8_t buf[PROTO_RES_INFO_LEN];

    out.master_node = s->node;
    if (r && r->state == RS_FAST) {
        res_from_word(s, r, &out);
    } else if (c->ls &&
               eng_query_res(c->ls->e, q->parent, q->name.bytes, q->name.len, &ei) == RDLM_OK) {
        out.lvb_status = ei.lvb_status;
        out.lvbseq = ei.lvbseq;
        memcpy(out.lvb, ei.lvb, RDLM_LVB_LEN);
        out.subres_count = ei.subres_count;
        out.lock_count = ei.lock_count;
        out.bast_count = ei.bast_count;
        out.granted_count = ei.granted_count;
        out.granted_mode = ei.granted_mode;
        out.convert_mode = ei.convert_mode;
        out.wait_mode = ei.wait_mode;
        out.persistent = ei.persistent;
        out.rd_id = ei.rd_id;
    } else {
        send_reply(s, c, m->hdr.reqid, RDLM_E_NOLOCK, NULL, 0);
        return;
    }
    send_reply(s, c, m->hdr.reqid, RDLM_OK, buf, (uint32_t)proto_pack_res_info(&out, buf));
}

void ctl_handle(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    struct text *t = calloc(1, sizeof(*t));

    if (!t)
        return;
    switch (m->hdr.type) {
    case MSG_STATUS:
        status(s, t);
        break;
    case MSG_LS_LIST:
        ls_list(s, t);
        break;
    case MSG_DL_LIST:
        t->len = (size_t)deadlock_list(s, t->buf, sizeof(t->buf));
        break;
    case MSG_DUMP:
        dump(s, m, t);
        break;
    case MSG_QUERY_LOCK:
        query_lock(s, c, m);
        free(t);
        return;
    case MSG_QUERY_RES:
        query_res(s, c, m);
        free(t);
        return;
    case MSG_PURGE:
        if (c->ls) {
            struct orphan_watch w;
            orphan_watch_begin(c->ls, &w);
            eng_purge_orphans(c->ls->e, m->u.purge.node, m->u.purge.pid, &s->acts);
            orphan_watch_end(s, c->ls, &w);
            serve_settle(s, c->ls);
        }
        send_reply(s, c, m->hdr.reqid, c->ls ? RDLM_OK : RDLM_E_NOTCONN, NULL, 0);
        free(t);
        return;
    }
    send_reply(s, c, m->hdr.reqid, RDLM_OK, t->buf, (uint32_t)t->len);
    free(t);
}
