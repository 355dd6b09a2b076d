/*
 * lib/conn.c - a handle's connections to master shards, and its progress loop.
 *
 * A connection is opened the first time a resource placed on that (node, shard) is used: the
 * hello names this process (node, pid, incarnation), the master answers SHARD_INFO (its
 * lock-word and LVB tables for one-sided operations) and the handle says LS_OPEN. Every
 * message from a master is handled here, under the handle's mutex: completions, blocking
 * ASTs, CONTENDED (answered with a hold report at once), replies to queries, and RECOVER
 * from the home daemon (recover.c runs it from the progress loop).
 *
 * Failures: the home connection (to our own node's daemon, opened with the handle) failing
 * breaks the handle - our node is gone - so its pending requests complete with
 * RDLM_E_NOTCONN and every later call fails the same way. Another master's connection
 * failing only suspends what was sent there: the home daemon's RECOVER names the new view,
 * and recover.c reports and re-sends. No RECOVER within RECOVERY_WAIT_MS breaks the handle.
 */
#include "lib/client.h"

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000
#define SPIN_NS            30000ull
#define RECOVERY_WAIT_MS   30000ull

uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int member_index(const struct rdlm_ls *ls, uint32_t node)
{
    for (size_t i = 0; i < ls->nmembers; i++)
        if (ls->members[i].node == node)
            return (int)i;
    return -1;
}

int conn_send(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m)
{
    uint8_t buf[PROTO_MAX_MSG];
    int len, rc;

    m->hdr.ls = ls->id;
    len = proto_encode(m, buf, sizeof(buf));
    if (len < 0 || cc->failed)
        return -EINVAL;
    rc = rt_send(cc->conn, buf, (size_t)len);
    if (rc < 0) { /* as good as closed; the rest when the transport says so (conn_failed) */
        cc->failed = true;
        if (!ls->master_failed_ns)
            ls->master_failed_ns = mono_ns();
    }
    return rc;
}

static void sleep_on_fds(struct rdlm_ls *ls, int ms);

/* Until the master's SHARD_INFO, or the connection failed (closed by the master, e.g. one that
 * refuses us): 0 if ready, else -1 at once rather than after CONNECT_TIMEOUT_MS. */
static int wait_ready(struct rdlm_ls *ls, struct cconn *cc)
{
    uint64_t deadline = mono_ns() + CONNECT_TIMEOUT_MS * 1000000ull;

    while (!cc->ready && !cc->failed && mono_ns() < deadline)
        if (progress(ls, 0) == 0 && !cc->ready && !cc->failed)
            sleep_on_fds(ls, 10);
    return cc->ready && !cc->failed ? 0 : -1;
}

static struct cconn *conn_open(struct rdlm_ls *ls, uint32_t node, uint32_t shard, bool home)
{
    const struct rdlm_node_config *n = rdlm_config_node(&ls->cfg, node);
    struct proto_hello hello = {ROLE_CLIENT, (uint16_t)ls->my_node, (uint32_t)getpid(),
                                ls->incarnation};
    uint8_t h[PROTO_HELLO_LEN];
    struct cconn *cc = calloc(1, sizeof(*cc));
    struct proto_msg m = {0};

    if (!cc || !n)
        goto fail;
    cc->node = node;
    cc->shard = shard;
    proto_hello_pack(&hello, h);
    struct rt_completion ev;
    int rc = rt_connect(ls->ctx, n->address, (uint16_t)(n->port + shard), h, sizeof(h), &cc->conn);
    if (rc == 0)
        rc = rt_wait_event(ls->ctx, cc->conn, RT_EV_CONNECTED, &ev, CONNECT_TIMEOUT_MS);
    if (rc == 0 && ev.status != RT_OK) {
        if (getenv("RDLM_DEBUG"))
            fprintf(stderr, "rdlm: connect to node %u shard %u: %s (%s)\n", node, shard,
                    rt_status_str(ev.status), rt_conn_error(cc->conn));
        rc = -ECONNREFUSED;
    }
    if (rc < 0) {
        if (cc->conn)
            rt_close(cc->conn);
        goto fail;
    }
    rt_conn_set_user(cc->conn, cc);
    cc->home = home;
    m.hdr.type = MSG_LS_OPEN;
    m.u.ls_open.flags = home ? LSO_HOME : 0;
    m.u.ls_open.namelen = (uint16_t)strlen(ls->name);
    memcpy(m.u.ls_open.name, ls->name, m.u.ls_open.namelen);
    if (conn_send(ls, cc, &m) < 0 || wait_ready(ls, cc) < 0) {
        rt_close(cc->conn);
        goto fail;
    }
    return cc;
fail:
    free(cc);
    return NULL;
}

struct cconn *conn_for(struct rdlm_ls *ls, uint32_t node, uint32_t shard)
{
    int i = member_index(ls, node);
    size_t idx;

    if (i < 0 || shard >= ls->max_shards)
        return NULL;
    idx = (size_t)i * ls->max_shards + shard;
    /* One connection per (node, shard): conn_open releases the mutex while it waits for the
     * master's answer, so another thread may get here meanwhile. It waits for that connection
     * rather than open a second one: the master would then count some of our fast-path locks
     * on one connection and ask the other for the hold report (docs/protocol.md section 4). */
    while (ls->conn_opening[idx])
        if (progress(ls, 0) == 0)
            sleep_on_fds(ls, 1);
    if (!ls->conns[idx]) {
        ls->conn_opening[idx] = true;
        ls->conns[idx] = conn_open(ls, node, shard, false);
        ls->conn_opening[idx] = false;
        if (!ls->conns[idx] && !ls->broken && (ls->conns[idx] = calloc(1, sizeof(**ls->conns)))) {
            /* unreachable: perhaps lost, and the view that says so is on its way. Requests
             * placed here wait for it (a placeholder: never connected, so nothing of ours
             * was purged there); without a view soon they fail with NOTCONN. */
            ls->conns[idx]->node = node;
            ls->conns[idx]->shard = shard;
            ls->conns[idx]->failed = true;
            if (!ls->master_failed_ns)
                ls->master_failed_ns = mono_ns();
        }
    }
    /* A failed connection is returned while a view may still explain it: what is sent
     * there fails and waits to be re-sent (recover.c). */
    return ls->conns[idx];
}

/* The home connection: our node's shard 0, opened with the handle (mutex held). */
int conn_home(struct rdlm_ls *ls)
{
    int i = member_index(ls, ls->my_node);
    size_t idx = (size_t)(i < 0 ? 0 : i) * ls->max_shards;

    if (i < 0)
        return RDLM_E_NOTCONN;
    ls->conns[idx] = ls->home = conn_open(ls, ls->my_node, 0, true);
    return ls->home ? RDLM_OK : RDLM_E_NOTCONN;
}

struct cconn *conn_for_name(struct rdlm_ls *ls, const void *name, unsigned namelen)
{
    struct rdlm_placement_target t =
        rdlm_place(ls->members, ls->nmembers, ls->id, 0, name, namelen);

    return t.node ? conn_for(ls, t.node, t.shard) : NULL;
}

void conns_close(struct rdlm_ls *ls)
{
    for (size_t i = 0; i < ls->nmembers * ls->max_shards; i++)
        if (ls->conns[i]) {
            if (ls->conns[i]->conn)
                rt_close(ls->conns[i]->conn);
            free(ls->conns[i]);
            ls->conns[i] = NULL;
        }
}

/* ---- message handling ---- */

/* Our node is gone (or a live master dropped us, so our locks there were purged): every
 * pending operation completes with NOTCONN and every later call fails the same way. */
void break_handle(struct rdlm_ls *ls)
{
    size_t pos = 0;
    uint64_t lkid, v;

    if (ls->broken)
        return;
    ls->broken = true;
    for (size_t i = 0; i < ls->nmembers * ls->max_shards; i++)
        if (ls->conns[i])
            ls->conns[i]->failed = true;
    while (u64map_next(&ls->locks, &pos, &lkid, &v)) {
        struct clock *l = (struct clock *)(uintptr_t)v;
        if (l->pending) {
            struct msg_complete c = {.lkid = lkid,
                                     .op = l->unlocking ? 2 : 1,
                                     .status = RDLM_E_NOTCONN,
                                     .mode = l->grmode,
                                     .slot = LW_NO_SLOT};
            l->resend = false;
            lock_complete(ls, l, &c);
            pos = 0; /* the map may have changed */
        }
    }
    for (struct pending_reply *p = ls->replies; p; p = p->next)
        if (!p->done) {
            p->out->hdr.type = MSG_REPLY;
            p->out->u.reply.status = RDLM_E_NOTCONN;
            p->out->u.reply.textlen = 0;
            p->done = true;
        }
    wake_waiters(ls);
}

void conn_failed(struct rdlm_ls *ls, struct cconn *cc)
{
    size_t pos = 0;
    uint64_t lkid, v;

    if (cc->closed)
        return;
    cc->closed = cc->failed = true;
    if (cc->home || !ls->home) {
        break_handle_why(ls, "the home connection closed");
        return;
    }
    if (!ls->master_failed_ns)
        ls->master_failed_ns = mono_ns();
    while (u64map_next(&ls->locks, &pos, &lkid, &v)) { /* suspended until the new view */
        struct clock *l = (struct clock *)(uintptr_t)v;
        if (l->res->cc == cc && l->pending)
            l->resend = true;
    }
    for (struct pending_reply *p = ls->replies; p; p = p->next)
        if (!p->done && p->cc == cc) {
            p->out->hdr.type = MSG_REPLY;
            p->out->u.reply.status = RDLM_E_NOTCONN;
            p->out->u.reply.textlen = 0;
            p->done = true;
        }
    wake_waiters(ls);
}

/* No view has explained the failed connections for a while. A master we were connected to
 * dropped us (and purged our locks) if no view comes within RECOVERY_WAIT_MS: the handle
 * breaks. Placeholders (never connected) fail only what waits on them, after a few
 * heartbeats: the node was probably never up. */
static void expire_failed(struct rdlm_ls *ls, uint64_t waited_ns)
{
    uint64_t short_ns = (10ull * ls->cfg.heartbeat_ms + 1000) * 1000000ull;
    size_t pos = 0;
    uint64_t lkid, v;

    for (size_t i = 0; i < ls->nmembers * ls->max_shards; i++)
        if (ls->conns[i] && ls->conns[i]->failed && ls->conns[i]->conn) {
            if (waited_ns > RECOVERY_WAIT_MS * 1000000ull)
                break_handle_why(ls, "a master dropped us and no view explains it");
            return;
        }
    if (waited_ns < short_ns)
        return;
    while (u64map_next(&ls->locks, &pos, &lkid, &v)) {
        struct clock *l = (struct clock *)(uintptr_t)v;
        if (l->pending && l->res->cc && l->res->cc->failed) {
            struct msg_complete c = {.lkid = lkid,
                                     .op = l->unlocking ? 2 : 1,
                                     .status = RDLM_E_NOTCONN,
                                     .mode = l->grmode,
                                     .slot = LW_NO_SLOT};
            l->resend = false;
            lock_complete(ls, l, &c);
            pos = 0;
        }
    }
    for (uint32_t b = 0; b < ls->res_nbuckets; b++)
        for (struct cres *r = ls->res_buckets[b]; r; r = r->hnext)
            if (r->cc && r->cc->failed)
                r->cc = NULL;
    for (size_t i = 0; i < ls->nmembers * ls->max_shards; i++)
        if (ls->conns[i] && ls->conns[i]->failed) {
            free(ls->conns[i]);
            ls->conns[i] = NULL;
        }
    ls->master_failed_ns = 0;
}

/* A broken handle closes its home connection (after the events of the batch that broke it):
 * a master that lost its connection to us holds our locks until our home says the handle is
 * gone (master/alive.c), and every call fails with NOTCONN from now on anyway. */
static void close_home(struct rdlm_ls *ls)
{
    rt_close(ls->home->conn);
    ls->home->conn = NULL;
}

static void handle_reply(struct rdlm_ls *ls, const struct proto_msg *m)
{
    for (struct pending_reply *p = ls->replies; p; p = p->next)
        if (p->reqid == m->hdr.reqid && !p->done) {
            *p->out = *m;
            p->done = true;
            wake_waiters(ls);
            return;
        }
}

static void handle_msg(struct rdlm_ls *ls, struct cconn *cc, const void *data, uint32_t len)
{
    struct proto_msg *m = malloc(sizeof(*m));

    if (!m || proto_decode(data, len, m) < 0) {
        free(m);
        if (getenv("RDLM_DEBUG"))
            fprintf(stderr, "rdlm: malformed message (%u bytes) from %s\n", len,
                    rt_conn_peer(cc->conn));
        conn_failed(ls, cc);
        return;
    }
    switch (m->hdr.type) {
    case MSG_SHARD_INFO: {
        const struct msg_shard_info *si = &m->u.shard_info;
        if (si->fingerprint != ls->cfg.fingerprint) { /* a port another cluster now uses */
            fprintf(stderr, "rdlm: %s:%u serves another cluster (its cluster file differs)\n",
                    rt_conn_peer(cc->conn), cc->shard);
            conn_failed(ls, cc);
            return;
        }
        if (cc->home && !ls->view_epoch) /* the view we start with */
            view_apply(ls, si->epoch, si->view_mask, si->masters_mask);
        cc->words = (struct rt_rdesc){si->words_addr, si->words_rkey, si->words_len};
        cc->lvbs = (struct rt_rdesc){si->lvbs_addr, si->lvbs_rkey, si->lvbs_len};
        cc->nslots = si->nslots;
        cc->ready = true;
        break;
    }
    case MSG_COMPLETE: {
        struct clock *l = lock_find(ls, m->u.complete.lkid);
        if (l)
            lock_complete(ls, l, &m->u.complete);
        break;
    }
    case MSG_BAST:
        lock_bast(ls, &m->u.bast);
        break;
    case MSG_CONTENDED:
        report_holds(ls, cc, &m->u.contended);
        break;
    case MSG_REPLY:
        handle_reply(ls, m);
        break;
    case MSG_RECOVER:
        if (!cc->home) {
            conn_failed(ls, cc);
        } else if (m->u.recover.epoch <= ls->view_epoch) { /* nothing new: done already */
            struct proto_msg d = {.hdr.type = MSG_RECOVER_DONE, .u.recover = m->u.recover};
            conn_send(ls, cc, &d);
        } else if (m->u.recover.epoch > ls->rec_want_epoch) {
            ls->rec_want_epoch = m->u.recover.epoch;
            ls->rec_want_mask = m->u.recover.view_mask;
            ls->rec_want_masters = m->u.recover.masters_mask;
        }
        break;
    default:
        conn_failed(ls, cc);
    }
    free(m);
}

int progress(struct rdlm_ls *ls, int timeout_ms)
{
    struct rt_completion ev[16];
    int n = rt_poll(ls->ctx, ev, 16, timeout_ms);

    for (int i = 0; i < n; i++) {
        struct cconn *cc = ev[i].conn ? rt_conn_user(ev[i].conn) : NULL;
        if (!cc)
            continue;
        if (ev[i].type == RT_EV_RECV)
            handle_msg(ls, cc, ev[i].data, ev[i].len);
        else if (ev[i].type == RT_EV_CLOSED) {
            if (getenv("RDLM_DEBUG"))
                fprintf(stderr, "rdlm: connection to %s closed: %s\n", rt_conn_peer(cc->conn),
                        rt_conn_error(cc->conn));
            conn_failed(ls, cc);
        }
    }
    if (ls->home && ls->home->failed && !ls->broken)
        break_handle_why(
            ls,
            "a send to the home daemon failed"); /* a send to our home failed: our node is gone */
    else if (ls->rec_want_epoch > ls->view_epoch && ls->home && !ls->in_recovery && !ls->broken)
        recover_run(ls);
    else if (ls->master_failed_ns && !ls->broken)
        expire_failed(ls, mono_ns() - ls->master_failed_ns);
    if (ls->broken && ls->home && ls->home->conn)
        close_home(ls);
    return n < 0 ? 0 : n;
}

/* Sleep (mutex released) until the transport or a wake-up needs us, at most ms. */
static void sleep_on_fds(struct rdlm_ls *ls, int ms)
{
    struct pollfd pfd[2] = {{rt_ctx_fd(ls->ctx), POLLIN, 0}, {ls->wake_fd, POLLIN, 0}};
    uint64_t v;

    if (rt_arm(ls->ctx) == 1)
        return;
    pthread_mutex_unlock(&ls->mu);
    if (poll(pfd, 2, ms) > 0 && (pfd[1].revents & POLLIN))
        (void)!read(ls->wake_fd, &v, sizeof(v));
    pthread_mutex_lock(&ls->mu);
}

/* With ls->mu held: drive progress until *flag is set; -ETIMEDOUT after timeout_ms (< 0:
 * no limit). Spins briefly first (the latency of a synchronous call), then sleeps. */
int wait_until(struct rdlm_ls *ls, bool *flag, int timeout_ms)
{
    uint64_t start = mono_ns();
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms * 1000000ull;

    while (!*flag) {
        uint64_t elapsed = mono_ns() - start;
        if (elapsed > limit)
            return -ETIMEDOUT;
        if (progress(ls, 0) > 0 || *flag || elapsed < SPIN_NS)
            continue;
        sleep_on_fds(ls, 10);
    }
    return 0;
}

int request_reply(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m,
                  struct proto_msg *reply, int timeout_ms)
{
    struct pending_reply p = {ls->replies, cc, ++ls->reqids, reply, false};
    struct pending_reply **pp;
    int rc;

    m->hdr.reqid = p.reqid;
    ls->replies = &p;
    rc = conn_send(ls, cc, m);
    if (rc == 0)
        rc = wait_until(ls, &p.done, timeout_ms);
    for (pp = &ls->replies; *pp != &p; pp = &(*pp)->next)
        ;
    *pp = p.next;
    return rc;
}
