/*
 * lib/glc.c - group lock containers, the client side (the daemon side and the protocol are in
 * master/glc.c): rdlm_glc_create/attach/detach/destroy/current, the registry of group locks
 * kept by the home daemon (a group lock is announced when it is requested and withdrawn when
 * it ends), and the import of a group lock another member of the container made, so that
 * this process can convert, unlock or cancel it by its id.
 *
 * A process is attached to at most one container: the attachment is process-wide state here
 * (g_id, and the handle it was made through), and belongs to that handle's home connection
 * at the daemon. Lock order: a handle's mutex, then g_mu (never the other way round).
 */
#include "lib/client.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proto_info.h"

#define GLC_TIMEOUT_MS 10000

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_id;     /* the container this process is attached to, 0 if none */
static rdlm_ls *g_ls;     /* the handle the attachment was made through */
static bool g_op_running; /* a create/attach/detach/destroy is in flight */

uint64_t rdlm_glc_current(void)
{
    uint64_t id;

    pthread_mutex_lock(&g_mu);
    id = g_id;
    pthread_mutex_unlock(&g_mu);
    return id;
}

/* Send m to ls's home daemon and wait for its REPLY: its status (text in *reply). */
static int ask_home(struct rdlm_ls *ls, struct proto_msg *m, struct proto_msg *reply)
{
    int st;

    pthread_mutex_lock(&ls->mu);
    if (ls->broken || (!ls->home && conn_home(ls) != RDLM_OK))
        st = RDLM_E_NOTCONN;
    else if (request_reply(ls, ls->home, m, reply, GLC_TIMEOUT_MS) < 0)
        st = RDLM_E_NOTCONN;
    else
        st = reply->u.reply.status;
    pthread_mutex_unlock(&ls->mu);
    return st;
}

static int glc_call(struct rdlm_ls *ls, struct proto_msg *m, uint64_t *id_out)
{
    struct proto_msg *reply = calloc(1, sizeof(*reply));
    int st;

    if (!reply)
        return RDLM_E_NOMEM;
    m->hdr.type = MSG_GLC;
    st = ask_home(ls, m, reply);
    if (st == RDLM_OK && id_out) {
        *id_out = 0;
        for (int i = 0; i < 8 && reply->u.reply.textlen >= 8; i++)
            *id_out |= (uint64_t)(uint8_t)reply->u.reply.text[i] << (8 * i);
        if (!*id_out)
            st = RDLM_E_NOTCONN; /* a daemon that answered nonsense */
    }
    free(reply);
    return st;
}

static int fill_lss(struct msg_glc *g, rdlm_ls *const *lss, unsigned nls)
{
    if (!lss || nls == 0 || nls > RDLM_GLC_MAX_LS)
        return RDLM_E_INVAL;
    for (unsigned i = 0; i < nls; i++) {
        if (!lss[i])
            return RDLM_E_INVAL;
        g->lss[i] = lss[i]->id;
    }
    g->nls = (uint16_t)nls;
    return RDLM_OK;
}

/* A child after fork(): its parent's attachment is not its own (nor are its handles). */
static void forget_in_child(void)
{
    pthread_mutex_init(&g_mu, NULL);
    g_id = 0;
    g_ls = NULL;
    g_op_running = false;
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, forget_in_child);
}

/* Begin a create/attach/detach/destroy: one at a time per process. */
static int begin_op(bool want_attached)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int st = RDLM_OK;

    pthread_once(&once, register_fork_handler);
    pthread_mutex_lock(&g_mu);
    if (g_op_running)
        st = RDLM_E_BUSY;
    else if (want_attached && !g_id)
        st = RDLM_E_NOTATTACHED;
    else if (!want_attached && g_id)
        st = RDLM_E_ATTACHED;
    else
        g_op_running = true;
    pthread_mutex_unlock(&g_mu);
    return st;
}

static void end_op(uint64_t id, rdlm_ls *ls, bool set)
{
    pthread_mutex_lock(&g_mu);
    if (set) {
        g_id = id;
        g_ls = ls;
    }
    g_op_running = false;
    pthread_mutex_unlock(&g_mu);
}

int rdlm_glc_create(rdlm_ls *const *lss, unsigned nls, uint32_t flags, uint64_t *id)
{
    struct proto_msg m = {0};
    uint64_t got = 0;
    int st;

    if (!id || (flags & ~(RDLM_GLC_OWNED | RDLM_GLC_PERM)) ||
        (flags & RDLM_GLC_OWNED && flags & RDLM_GLC_PERM) || fill_lss(&m.u.glc, lss, nls))
        return RDLM_E_INVAL;
    st = begin_op(false);
    if (st)
        return st;
    m.u.glc.op = GLC_CREATE;
    m.u.glc.flags = flags;
    st = glc_call(lss[0], &m, &got);
    end_op(got, lss[0], st == RDLM_OK);
    if (st == RDLM_OK)
        *id = got;
    return st;
}

int rdlm_glc_attach(rdlm_ls *const *lss, unsigned nls, uint64_t id)
{
    struct proto_msg m = {0};
    int st;

    if (id == 0 || fill_lss(&m.u.glc, lss, nls))
        return id == 0 ? RDLM_E_NOENT : RDLM_E_INVAL;
    st = begin_op(false);
    if (st)
        return st;
    m.u.glc.op = GLC_ATTACH;
    m.u.glc.id = id;
    st = glc_call(lss[0], &m, NULL);
    end_op(id, lss[0], st == RDLM_OK);
    return st;
}

/* Cancel this handle's pending requests on group locks (a detaching member's requests do not
 * stay queued for a container it left). */
static void cancel_group_requests(struct rdlm_ls *ls, uint64_t id)
{
    size_t pos = 0, n = 0;
    uint64_t lkid, v, *ids;

    pthread_mutex_lock(&ls->mu);
    ids = calloc(ls->locks.n + 1, sizeof(*ids));
    while (ids && u64map_next(&ls->locks, &pos, &lkid, &v)) {
        const struct clock *l = (const struct clock *)(uintptr_t)v;
        if (l->group == id && l->pending && !l->unlocking)
            ids[n++] = lkid;
    }
    pthread_mutex_unlock(&ls->mu);
    for (size_t i = 0; i < n; i++)
        rdlm_cancel(ls, ids[i], RDLM_LKF_CANCELWAITOK);
    free(ids);
}

int rdlm_glc_detach(rdlm_ls *ls)
{
    struct proto_msg m = {0};
    rdlm_ls *via;
    uint64_t id;
    int st;

    if (!ls)
        return RDLM_E_INVAL;
    st = begin_op(true);
    if (st)
        return st;
    pthread_mutex_lock(&g_mu);
    via = g_ls;
    id = g_id;
    pthread_mutex_unlock(&g_mu);
    if (rd_group_attached()) { /* rdlm_rd_detach the group's domains first */
        end_op(0, NULL, false);
        return RDLM_E_ATTACHED;
    }
    cancel_group_requests(ls, id);
    if (via != ls)
        cancel_group_requests(via, id);
    m.u.glc.op = GLC_DETACH;
    st = glc_call(via, &m, NULL);
    if (st == RDLM_E_NOTCONN)
        st = RDLM_OK; /* the daemon is gone: so is the attachment */
    end_op(0, NULL, st == RDLM_OK);
    return st;
}

int rdlm_glc_destroy(rdlm_ls *ls, uint64_t id, uint32_t flags)
{
    struct proto_msg m = {0};
    int st;

    if (!ls || (flags & ~(RDLM_GLC_LOCKS | RDLM_GLC_FORCE)))
        return RDLM_E_INVAL;
    if (id == 0)
        return RDLM_E_NOENT;
    m.u.glc.op = GLC_DESTROY;
    m.u.glc.id = id;
    m.u.glc.flags = flags;
    m.u.glc.lkid = geteuid() != 0; /* root may destroy any container */
    m.u.glc.lss[0] = ls->id;
    m.u.glc.nls = 1;
    st = glc_call(ls, &m, NULL);
    pthread_mutex_lock(&g_mu);
    if (st == RDLM_OK && g_id == id) {
        g_id = 0;
        g_ls = NULL;
    }
    pthread_mutex_unlock(&g_mu);
    return st;
}

/* ---- the registry (called with ls->mu held) ---- */

static void registry_msg(struct rdlm_ls *ls, uint8_t op, const struct clock *l, struct proto_msg *m)
{
    m->hdr.type = MSG_GLC;
    m->u.glc.op = op;
    m->u.glc.id = l->group;
    m->u.glc.lkid = l->lkid;
    m->u.glc.lsid = ls->id;
    m->u.glc.name.len = l->res->namelen;
    memcpy(m->u.glc.name.bytes, l->res->name, l->res->namelen);
}

/* Before a new group lock is requested: once the request is made, any member finds it. */
int glc_lock_register(struct rdlm_ls *ls, const struct clock *l)
{
    struct proto_msg m = {0}, *reply;
    int st;

    if (!l->group || l->res->parent != 0)
        return RDLM_OK; /* a sub-resource lock is reached through its parent */
    if (!ls->home || ls->home->failed)
        return RDLM_E_NOTCONN;
    reply = calloc(1, sizeof(*reply));
    if (!reply)
        return RDLM_E_NOMEM;
    registry_msg(ls, GLC_LOCK_ADD, l, &m);
    st = request_reply(ls, ls->home, &m, reply, GLC_TIMEOUT_MS) < 0 ? RDLM_E_NOTCONN
                                                                    : reply->u.reply.status;
    free(reply);
    return st;
}

void glc_lock_ended(struct rdlm_ls *ls, const struct clock *l)
{
    struct proto_msg m = {0};

    if (!l->group || l->res->parent != 0 || !ls->home || ls->home->failed)
        return;
    registry_msg(ls, GLC_LOCK_DEL, l, &m);
    m.hdr.reqid = ++ls->reqids; /* its REPLY finds no waiter and is dropped */
    conn_send(ls, ls->home, &m);
}

/* Recovery: is this group lock still the container's? Another member may have ended it since
 * this handle last operated it (the home registry knows). Unsure (no answer): yes. */
bool glc_lock_current(struct rdlm_ls *ls, const struct clock *l)
{
    struct proto_msg m = {0}, *reply = calloc(1, sizeof(*reply));
    bool current = true;

    if (!reply || !ls->home || ls->home->failed || l->res->parent != 0) {
        free(reply);
        return true;
    }
    m.hdr.type = MSG_GLC;
    m.u.glc.op = GLC_LOCK_FIND;
    m.u.glc.id = l->group;
    m.u.glc.lkid = l->lkid;
    if (request_reply(ls, ls->home, &m, reply, GLC_TIMEOUT_MS) == 0)
        current = reply->u.reply.status != RDLM_E_NOLOCK;
    free(reply);
    return current;
}

/* A group lock of our container that this handle does not know (another member made it):
 * find it in the registry, ask its master for its state, and make it ours to operate on.
 * Called with ls->mu held (the replies are awaited with it released, as queries are). */
struct clock *glc_import(struct rdlm_ls *ls, uint64_t lkid)
{
    struct proto_msg m = {0}, *reply = calloc(1, sizeof(*reply));
    uint64_t id = rdlm_glc_current(), lsid = 0;
    struct rdlm_lock_info info;
    struct clock *l = NULL;
    struct cres *r;
    const uint8_t *t;

    if (!reply || !id || lkid == 0 || !ls->home)
        goto out;
    m.hdr.type = MSG_GLC;
    m.u.glc.op = GLC_LOCK_FIND;
    m.u.glc.id = id;
    m.u.glc.lkid = lkid;
    if (request_reply(ls, ls->home, &m, reply, GLC_TIMEOUT_MS) < 0 || reply->u.reply.status ||
        reply->u.reply.textlen < 10)
        goto out;
    t = (const uint8_t *)reply->u.reply.text;
    for (int i = 0; i < 8; i++)
        lsid |= (uint64_t)t[i] << (8 * i);
    if (lsid != ls->id || t[8] == 0 || t[8] > RDLM_RESNAME_MAXLEN ||
        reply->u.reply.textlen != 9u + t[8] || lock_find(ls, lkid))
        goto out;
    r = cres_get(ls, 0, t + 9, t[8]);
    if (!r)
        goto out;
    memset(&m, 0, sizeof(m));
    m.hdr.type = MSG_QUERY_LOCK;
    m.u.query_lock.lkid = lkid;
    if (!r->cc || request_reply(ls, r->cc, &m, reply, GLC_TIMEOUT_MS) < 0 ||
        reply->u.reply.status ||
        proto_unpack_lock_info((const uint8_t *)reply->u.reply.text, reply->u.reply.textlen,
                               &info) < 0 ||
        !info.owner_is_group || info.owner_pid != id || lock_find(ls, lkid) ||
        !(l = calloc(1, sizeof(*l)))) {
        cres_put(ls, r);
        goto out;
    }
    l->lkid = lkid;
    l->res = r;
    l->grmode = (int8_t)info.grmode;
    l->rqmode = (int8_t)info.rqmode;
    l->pending = info.state != 1;
    l->flags = info.flags;
    l->group = id;
    if (u64map_put(&ls->locks, lkid, (uint64_t)(uintptr_t)l) < 0) {
        cres_put(ls, r);
        free(l);
        l = NULL;
    }
out:
    free(reply);
    return l;
}

/* rdlm_ls_close of the handle the attachment was made through: the daemon detaches it. */
void glc_handle_closed(const struct rdlm_ls *ls)
{
    pthread_mutex_lock(&g_mu);
    if (g_ls == ls) {
        g_id = 0;
        g_ls = NULL;
    }
    pthread_mutex_unlock(&g_mu);
}
