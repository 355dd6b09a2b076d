/*
 * lib/report.c - the answer to CONTENDED: the master has set SLOW on a resource and asks
 * every client that may hold fast-path locks on it which ones it holds. This runs under the
 * handle's mutex, so none of the handle's CASes on that word is in flight: the report is
 * final. Every granted lock is reported (whatever path granted it, and even with an unlock or
 * conversion on its way: the master will apply those after installing the report).
 */
#include "lib/client.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void send_report(struct rdlm_ls *ls, struct cconn *cc, struct msg_hold_report *h, bool last)
{
    struct proto_msg *m = calloc(1, sizeof(*m));

    if (!m)
        return;
    m->hdr.type = MSG_HOLD_REPORT;
    h->last = last;
    m->u.hold_report = *h;
    conn_send(ls, cc, m);
    free(m);
    h->n = 0;
}

void report_holds(struct rdlm_ls *ls, struct cconn *cc, const struct msg_contended *c)
{
    struct cres *r = cres_find(ls, 0, c->name.bytes, c->name.len);
    struct msg_hold_report *h = calloc(1, sizeof(*h));
    size_t pos = 0;
    uint64_t lkid, v;

    if (!h)
        return;
    h->slot = c->slot;
    h->gen = c->gen;
    if (r && r->cc != cc)
        r = NULL; /* placement says another master: nothing of ours is counted there */
    while (r && u64map_next(&ls->locks, &pos, &lkid, &v)) {
        const struct clock *l = (const struct clock *)(uintptr_t)v;
        if (l->res != r || l->grmode == RDLM_MODE_IV)
            continue;
        if (h->n == PROTO_MAX_HOLDS)
            send_report(ls, cc, h, false);
        h->holds[h->n++] = (struct msg_hold){.lkid = l->lkid,
                                             .hint = l->hint,
                                             .flags = l->flags,
                                             .mode = l->grmode,
                                             .has_bast = l->bast != NULL};
    }
    if (client_trace()) {
        fprintf(stderr, "rdlm %d: hold report %.*s:", getpid(), c->name.len, c->name.bytes);
        for (unsigned i = 0; i < h->n; i++)
            fprintf(stderr, " %016lx %s", (unsigned long)h->holds[i].lkid,
                    rdlm_mode_str(h->holds[i].mode));
        fprintf(stderr, "\n");
    }
    send_report(ls, cc, h, true);
    if (r) { /* the word now has SLOW set: stop trying CAS on the cached copy */
        r->slot = c->slot;
        r->word = lw_make(c->gen, true);
    }
    free(h);
}
