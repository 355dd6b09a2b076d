/*
 * master/shard.c - one shard of rdlmd: a thread pinned to a core near the network device,
 * with its own transport context, listener and registered tables. The loop polls the
 * transport, accepts connections (sending each client the SHARD_INFO it needs for one-sided
 * operations), decodes every message (a malformed one closes that connection only) and hands
 * it to serve.c, transition.c, ctl.c or membership.c. Time-driven work (TIMEOUT requests,
 * slot reclaim, heartbeats) runs between polls.
 */
#include "master/daemon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "master/topology.h"

#define POLL_BATCH 32
#define TICK_NS    (10ull * 1000 * 1000)   /* engine clock: centiseconds */
#define SWEEP_NS   (1000ull * 1000 * 1000) /* slot reclaim sweep */

uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void log_msg(const char *fmt, ...)
{
    va_list ap;
    char line[512];

    struct timespec ts;
    struct tm tm;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03ld rdlmd: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, line);
}

struct mclient *client_by_id(struct shard *s, uint32_t id)
{
    if (id >= s->nclients || !s->clients[id] || s->clients[id]->closing)
        return NULL;
    return s->clients[id];
}

int send_msg(struct shard *s, struct mclient *c, struct proto_msg *m)
{
    int len = proto_encode(m, s->sendbuf, sizeof(s->sendbuf));
    int rc;

    if (fault_lost(s, m))
        return 0;
    if (len < 0) {
        log_msg("shard %u: cannot encode %s", s->index, proto_type_name(m->hdr.type));
        return -1;
    }
    rc = rt_send(c->conn, s->sendbuf, (size_t)len);
    if (rc < 0) {
        log_msg("shard %u: send %s to %s failed (%d); closing it", s->index,
                proto_type_name(m->hdr.type), rt_conn_peer(c->conn), rc);
        c->closing = c->conn_failed = true;
    }
    return rc;
}

int send_complete(struct shard *s, struct mclient *c, uint64_t lkid, uint8_t op, uint8_t status,
                  int8_t mode)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_COMPLETE;
    m.hdr.ls = c->ls ? c->ls->id : 0;
    m.u.complete.lkid = lkid;
    m.u.complete.op = op;
    m.u.complete.status = status;
    m.u.complete.mode = mode;
    m.u.complete.slot = LW_NO_SLOT;
    s->stats.completions++;
    return send_msg(s, c, &m);
}

int send_reply(struct shard *s, struct mclient *c, uint64_t reqid, uint8_t status, const void *text,
               uint32_t len)
{
    struct proto_msg *m = calloc(1, sizeof(*m));
    int rc;

    if (!m)
        return -1;
    if (len > PROTO_MAX_TEXT)
        len = PROTO_MAX_TEXT;
    m->hdr.type = MSG_REPLY;
    m->hdr.reqid = reqid;
    m->u.reply.status = status;
    m->u.reply.textlen = len;
    if (len)
        memcpy(m->u.reply.text, text, len);
    rc = send_msg(s, c, m);
    free(m);
    return rc;
}

/* ---- connections ---- */

/* What a client needs for one-sided operations, and the view it must place resources by.
 * Held back until the daemon has joined (it does not know the view before). */
void send_shard_info(struct shard *s, struct mclient *c)
{
    struct proto_msg m = {0};
    struct rt_rdesc w, l;
    uint32_t epoch;
    uint64_t masters, mask = membership_mask(s->d, &epoch, &masters);

    rt_mr_rdesc(s->words_mr, &w);
    rt_mr_rdesc(s->lvbs_mr, &l);
    m.hdr.type = MSG_SHARD_INFO;
    m.u.shard_info = (struct msg_shard_info){
        .node = s->node,
        .shard = (uint16_t)s->index,
        .epoch = epoch,
        .view_mask = mask,
        .masters_mask = masters,
        .words_addr = w.addr,
        .lvbs_addr = l.addr,
        .words_rkey = w.rkey,
        .lvbs_rkey = l.rkey,
        .words_len = w.len,
        .lvbs_len = l.len,
        .nslots = s->nslots,
        .fingerprint = s->d->cfg.fingerprint,
    };
    c->info_sent = true;
    c->info_epoch = epoch;
    send_msg(s, c, &m);
}

/* Track a connection (accepted, or our own to another daemon); NULL if out of memory. */
/* Start a ROLE_PEER connection to (node, shard) (deadlock search, group purges): its client,
 * usable once RT_EV_CONNECTED arrives; NULL if it could not even be started. */
struct mclient *shard_connect_peer(struct shard *s, uint16_t node, uint16_t shard)
{
    const struct rdlm_node_config *n = rdlm_config_node(&s->d->cfg, node);
    struct proto_hello hello = {ROLE_PEER, s->node, (uint32_t)getpid(), s->index};
    uint8_t h[PROTO_HELLO_LEN];
    struct mclient *c;
    rt_conn *conn;

    if (!n || fault_isolated(s->d, node)) /* behind a (simulated) partition: no connection */
        return NULL;
    proto_hello_pack(&hello, h);
    if (rt_connect(s->ctx, n->address, (uint16_t)(n->port + shard), h, sizeof(h), &conn) < 0)
        return NULL;
    c = shard_add_conn(s, conn, &hello);
    if (c)
        c->peer_node = node;
    if (!c)
        rt_close(conn);
    return c;
}

struct mclient *shard_add_conn(struct shard *s, rt_conn *conn, const struct proto_hello *hello)
{
    struct mclient *c = calloc(1, sizeof(*c));
    uint32_t id;

    if (!c)
        return NULL;
    for (id = 0; id < s->nclients && s->clients[id]; id++)
        ;
    if (id == s->nclients) {
        struct mclient **v = realloc(s->clients, (s->nclients + 16) * sizeof(*v));
        if (!v) {
            free(c);
            return NULL;
        }
        memset(v + s->nclients, 0, 16 * sizeof(*v));
        s->clients = v;
        s->nclients += 16;
    }
    c->conn = conn;
    c->id = id;
    c->hello = *hello;
    c->peer_node = hello->node;
    c->member = -1;
    c->owner_id = ((uint64_t)++s->conn_serial << 32) | hello->pid;
    s->clients[id] = c;
    rt_conn_set_user(conn, c);
    return c;
}

static void client_accept(struct shard *s, const struct rt_completion *ev)
{
    struct proto_hello hello;
    struct mclient *c = NULL;

    if (proto_hello_unpack(ev->data, ev->len, &hello) < 0) {
        log_msg("shard %u: refusing %s: bad hello", s->index, rt_conn_peer(ev->conn));
        s->stats.malformed++;
    } else {
        c = shard_add_conn(s, ev->conn, &hello);
    }
    if (!c) {
        rt_close(ev->conn);
        return;
    }
    if (c->hello.role != ROLE_CTL && fault_isolated(s->d, c->hello.node)) {
        s->refused++; /* fault injection: refused, closed after this batch of events */
        c->closing = true;
    } else if (c->hello.role == ROLE_CLIENT && atomic_load(&s->d->excluded))
        c->closing = true;
    else if (c->hello.role == ROLE_CLIENT && atomic_load(&s->d->joined))
        send_shard_info(s, c);
    else if (c->hello.role == ROLE_CLIENT)
        s->held_infos++;
}

/* Clients that connected before the daemon joined get their SHARD_INFO now. */
static void send_held_infos(struct shard *s)
{
    if (!s->held_infos || !atomic_load(&s->d->joined) || atomic_load(&s->d->excluded))
        return;
    s->held_infos = 0;
    for (uint32_t i = 0; i < s->nclients; i++) {
        struct mclient *c = s->clients[i];
        if (c && !c->closing && c->hello.role == ROLE_CLIENT && !c->info_sent)
            send_shard_info(s, c);
    }
}

static void client_close(struct shard *s, struct mclient *c)
{
    if (c->hello.role == ROLE_CLIENT) {
        recover_client_gone(s, c);
        serve_client_gone(s, c);
    }
    if (c->hello.role == ROLE_DAEMON)
        membership_daemon_gone(s, c);
    if (c->hello.role == ROLE_PEER)
        deadlock_conn_gone(s, c);
    glc_conn_gone(s, c);
    outbox_conn_gone(s, c);
    alive_conn_gone(s, c);
    rd_conn_gone(s, c);
    s->clients[c->id] = NULL;
    rt_close(c->conn);
    free(c);
}

/* ---- messages ---- */

void shard_dispatch(struct shard *s, struct mclient *c, const void *bytes, uint32_t len)
{
    struct proto_msg *m = malloc(sizeof(*m));

    if (!m)
        return;
    if (proto_decode(bytes, len, m) < 0) {
        log_msg("shard %u: malformed message from %s; closing it", s->index, rt_conn_peer(c->conn));
        s->stats.malformed++;
        c->closing = true;
        free(m);
        return;
    }
    switch (m->hdr.type) {
    case MSG_LS_OPEN:
        c->ls = mls_get(s, m->u.ls_open.name, m->u.ls_open.namelen);
        if (!c->ls)
            c->closing = true;
        else if (m->u.ls_open.flags & LSO_HOME)
            recover_home_open(s, c);
        break;
    case MSG_RECOVER_LOCKS:
        recover_locks(s, c, m);
        break;
    case MSG_RECOVER_END:
        recover_end(s, c, m);
        break;
    case MSG_RECOVER_DONE:
        recover_home_done(s, c, m);
        break;
    case MSG_REQUEST:
        if (!recover_frozen(s, c, m))
            serve_request(s, c, m);
        break;
    case MSG_UNLOCK:
        if (!recover_frozen(s, c, m))
            serve_unlock(s, c, m);
        break;
    case MSG_CANCEL:
        if (!recover_frozen(s, c, m))
            serve_cancel(s, c, m);
        break;
    case MSG_HOLD_REPORT:
        transition_report(s, c, m);
        break;
    case MSG_HEARTBEAT:
        membership_heartbeat(s, c, m);
        break;
    case MSG_PURGE:
    case MSG_QUERY_LOCK:
    case MSG_QUERY_RES:
    case MSG_DUMP:
    case MSG_STATUS:
    case MSG_LS_LIST:
    case MSG_DL_LIST:
        ctl_handle(s, c, m);
        break;
    case MSG_GLC:
        glc_msg(s, c, m);
        break;
    case MSG_RD:
        rd_msg(s, c, m);
        break;
    case MSG_FAULT:
        fault_msg(s, c, m);
        break;
    case MSG_ALIVE:
        alive_msg(s, c, m);
        break;
    case MSG_ORPHAN:
        if (c->hello.role != ROLE_PEER)
            goto unexpected;
        if (m->u.orphan.op == ORPHAN_REPORT || m->u.orphan.op == ORPHAN_END)
            recover_orphan(s, c, m);
        else
            keeper_msg(s, c, m);
        break;
    case MSG_DL_QUERY:
    case MSG_DL_EDGES:
    case MSG_DL_CONFIRM:
    case MSG_DL_CONFIRMED:
    case MSG_DL_CANCEL:
        deadlock_msg(s, c, m);
        break;
    default: /* a type only a master sends */
    unexpected:
        log_msg("shard %u: unexpected %s from %s; closing it", s->index,
                proto_type_name(m->hdr.type), rt_conn_peer(c->conn));
        s->stats.malformed++;
        c->closing = true;
    }
    free(m);
}

static void handle_event(struct shard *s, const struct rt_completion *ev)
{
    struct mclient *c = ev->conn ? rt_conn_user(ev->conn) : NULL;

    switch (ev->type) {
    case RT_EV_ACCEPT:
        client_accept(s, ev);
        break;
    case RT_EV_RECV:
        if (c && !c->closing && !c->lost) /* a lost node's process is not served */
            shard_dispatch(s, c, ev->data, ev->len);
        break;
    case RT_EV_CLOSED:
        if (c)
            c->closing = c->conn_failed = true;
        else
            rt_close(ev->conn);
        break;
    default: /* one-sided completions and connects: the shard posts none but heartbeats' */
        if (ev->type == RT_EV_CONNECTED && ev->status != RT_OK && c)
            c->closing = true;
        else if (ev->type == RT_EV_CONNECTED && c) {
            c->established = true;
            deadlock_conn_up(s, c);
            outbox_conn_up(s, c);
        }
        break;
    }
}

/* A closing client whose locks must outlive its connection for now: a lost node's process
 * until the fence (recover.c), a remote one until its home says it is gone (alive.c). */
static bool held(struct shard *s, const struct mclient *c)
{
    return recover_hold_lost(s, c) || alive_hold(s, c);
}

static void close_marked(struct shard *s)
{
    for (uint32_t i = 0; i < s->nclients; i++)
        if (s->clients[i] && s->clients[i]->closing && !held(s, s->clients[i]))
            client_close(s, s->clients[i]);
}

static void periodic(struct shard *s)
{
    uint64_t now = now_ns();

    if (now - s->last_tick_ns >= TICK_NS) {
        s->last_tick_ns = now;
        serve_tick(s, now);
    }
    if (now - s->last_sweep_ns >= SWEEP_NS) {
        s->last_sweep_ns = now;
        slots_sweep(s, now, (uint64_t)s->d->cfg.toss_secs * 1000000000ull);
    }
    fault_tick(s);
    if (s->index == 0)
        membership_tick(s, now);
    send_held_infos(s);
    recover_tick(s, now);
    alive_tick(s, now);
    deadlock_tick(s, now);
    outbox_tick(s);
}

static void *shard_main(void *arg)
{
    struct shard *s = arg;
    struct rt_completion ev[POLL_BATCH];

    if (s->cpu >= 0)
        rdlm_topology_pin_self(s->cpu);
    while (!atomic_load(&s->d->stop)) {
        int n = rt_poll(s->ctx, ev, POLL_BATCH, 5);
        for (int i = 0; i < n; i++)
            handle_event(s, &ev[i]);
        close_marked(s);
        periodic(s);
    }
    for (uint32_t i = 0; i < s->nclients; i++)
        if (s->clients[i])
            client_close(s, s->clients[i]);
    return NULL;
}

int shard_start(struct shard *s)
{
    struct rt_config cfg;
    int rc;

    rt_config_init(&cfg);
    cfg.backend = strcmp(s->d->cfg.transport, "rdma") == 0  ? RT_BACKEND_RDMA
                  : strcmp(s->d->cfg.transport, "tcp") == 0 ? RT_BACKEND_TCP
                                                            : RT_BACKEND_AUTO;
    cfg.max_msg = PROTO_MAX_MSG;
    rc = rt_ctx_create(&cfg, &s->ctx);
    if (rc < 0) {
        log_msg("shard %u: transport: %s", s->index, strerror(-rc));
        return rc;
    }
    rc = shard_tables_init(s);
    if (rc < 0)
        goto err_ctx;
    rc = rt_listen(s->ctx, s->d->me->address, s->port, &s->listener);
    if (rc < 0) {
        log_msg("shard %u: cannot listen on %s:%u: %s", s->index, s->d->me->address, s->port,
                strerror(-rc));
        goto err_tables;
    }
    s->start_ns = s->last_tick_ns = s->last_sweep_ns = now_ns();
    rc = pthread_create(&s->thread, NULL, shard_main, s);
    if (rc == 0)
        return 0;
    rc = -rc;
    rt_listener_close(s->listener);
err_tables:
    shard_tables_free(s);
err_ctx:
    rt_ctx_destroy(s->ctx);
    s->ctx = NULL;
    return rc;
}

void shard_join(struct shard *s)
{
    pthread_join(s->thread, NULL);
    rt_listener_close(s->listener);
    recover_free(s);
    deadlock_free(s);
    glc_free(s);
    keeper_free(s);
    outbox_free(s);
    alive_free(s);
    rd_free(s);
    shard_tables_free(s);
    rt_ctx_destroy(s->ctx);
    eng_actions_free(&s->acts);
    u64map_free(&s->lock_client);
    free(s->clients);
}
