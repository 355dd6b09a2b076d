/*
 * master/membership.c - who is alive: shard 0 of every rdlmd keeps a connection to shard 0
 * of every other configured node and sends it a HEARTBEAT every heartbeat_ms; a node not
 * heard from for three intervals counts as down. The membership epoch increases whenever the
 * set of live nodes changes. (Acting on a change - recovery - is the recovery issue's; here
 * the epoch and liveness are kept and shown.)
 */
#include "master/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void membership_init(struct rdlmd *d)
{
    d->members = calloc(d->cfg.nnodes, sizeof(*d->members));
    for (size_t i = 0; d->members && i < d->cfg.nnodes; i++)
        d->members[i].node = (uint16_t)d->cfg.nodes[i].id;
    atomic_store(&d->epoch, 1);
}

static int member_index(const struct rdlmd *d, uint16_t node)
{
    for (size_t i = 0; i < d->cfg.nnodes; i++)
        if (d->members && d->members[i].node == node)
            return (int)i;
    return -1;
}

static bool alive(const struct rdlmd *d, const struct member *m, uint64_t now)
{
    uint64_t seen = atomic_load(&m->last_seen_ns);
    uint64_t limit = 3ull * d->cfg.heartbeat_ms * 1000000ull;

    if (m->node == d->me->id)
        return true;
    return seen && now - seen < limit;
}

static void connect_member(struct shard *s, size_t i)
{
    const struct rdlm_node_config *n = &s->d->cfg.nodes[i];
    struct proto_hello hello = {ROLE_DAEMON, (uint16_t)s->node, (uint32_t)getpid(), 0};
    uint8_t h[PROTO_HELLO_LEN];
    rt_conn *conn;
    struct mclient *c;

    proto_hello_pack(&hello, h);
    if (rt_connect(s->ctx, n->address, n->port, h, sizeof(h), &conn) < 0)
        return;
    c = shard_add_conn(s, conn, &hello);
    if (!c) {
        rt_close(conn);
        return;
    }
    c->member = (int)i;
    s->d->members[i].conn = conn;
}

static void send_heartbeats(struct shard *s, uint64_t now)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_HEARTBEAT;
    m.u.heartbeat.node = s->node;
    m.u.heartbeat.epoch = atomic_load(&s->d->epoch);
    m.u.heartbeat.time_ns = now;
    for (size_t i = 0; i < s->d->cfg.nnodes; i++) {
        struct member *mb = &s->d->members[i];
        if (mb->node == s->node)
            continue;
        if (!mb->conn) {
            connect_member(s, i);
            continue;
        }
        struct mclient *c = rt_conn_user(mb->conn);
        if (c && !c->closing)
            send_msg(s, c, &m);
    }
}

/* Recount the live set; a change bumps the epoch. */
static void update_epoch(struct rdlmd *d, uint64_t now)
{
    static _Thread_local uint64_t last_mask;
    uint64_t mask = 0;

    for (size_t i = 0; i < d->cfg.nnodes && i < 64; i++)
        if (alive(d, &d->members[i], now))
            mask |= 1ull << i;
    if (mask != last_mask) {
        if (last_mask)
            log_msg("membership changed: epoch %u", atomic_fetch_add(&d->epoch, 1) + 1);
        last_mask = mask;
    }
}

void membership_tick(struct shard *s, uint64_t now)
{
    uint64_t period = (uint64_t)s->d->cfg.heartbeat_ms * 1000000ull;

    if (!s->d->members || now - s->last_heartbeat_ns < period)
        return;
    s->last_heartbeat_ns = now;
    send_heartbeats(s, now);
    update_epoch(s->d, now);
}

void membership_heartbeat(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    int i = member_index(s->d, m->u.heartbeat.node);

    (void)c;
    if (i >= 0)
        atomic_store(&s->d->members[i].last_seen_ns, now_ns());
}

void membership_conn_gone(struct shard *s, struct mclient *c)
{
    if (c->member >= 0 && (size_t)c->member < s->d->cfg.nnodes)
        s->d->members[c->member].conn = NULL;
}

int membership_status(struct rdlmd *d, char *buf, size_t len)
{
    uint64_t now = now_ns();
    size_t off = 0;

    off += (size_t)snprintf(buf + off, len - off, "  membership epoch %u:", atomic_load(&d->epoch));
    for (size_t i = 0; i < d->cfg.nnodes && off < len; i++) {
        const struct member *m = &d->members[i];
        uint64_t seen = atomic_load(&m->last_seen_ns);
        if (m->node == d->me->id)
            off += (size_t)snprintf(buf + off, len - off, " node %u (self) up;", m->node);
        else if (alive(d, m, now))
            off += (size_t)snprintf(buf + off, len - off, " node %u up (%lu ms ago);", m->node,
                                    (unsigned long)((now - seen) / 1000000));
        else
            off += (size_t)snprintf(buf + off, len - off, " node %u DOWN;", m->node);
    }
    if (off < len)
        off += (size_t)snprintf(buf + off, len - off, "\n");
    return (int)off;
}
