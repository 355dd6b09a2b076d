/*
 * master/outbox.c - one shard's messages to other shards (of this daemon or of others) that
 * must survive the time a connection takes to come up: a queue per (node, shard), kept as
 * encoded bytes, sent over a ROLE_PEER connection made on demand (shard_connect_peer), flushed
 * once it is up, made again while messages wait (at most every RETRY_NS), and emptied when
 * the node leaves the view (its shards are no more: whatever they were told is moot).
 *
 * Users: group containers' PURGEs (glc.c), the keeper's notices and reports (orphan.c,
 * keeper.c) and the questions to a client's home (alive.c). The answers, if any, arrive as ordinary
 * messages on the peer connection.
 */
#include "master/daemon.h"

#include <stdlib.h>
#include <string.h>

#define RETRY_NS (50ull * 1000 * 1000)

struct outbox_msg {
    struct outbox_msg *next;
    uint32_t len;
    uint8_t bytes[];
};

struct outbox_peer {
    uint16_t node, shard;
    struct mclient *c; /* the connection, NULL while there is none */
    bool open;         /* ... and it is up */
    uint64_t retry_ns; /* no new connection before (one failed: the node may be dying) */
    struct outbox_msg *head, *tail;
};

struct outbox {
    struct outbox_peer *peers;
    uint32_t npeers;
};

static struct outbox_peer *peer_get(struct shard *s, uint16_t node, uint16_t shard)
{
    struct outbox *o = s->outbox;
    struct outbox_peer *v;

    if (!o && !(o = s->outbox = calloc(1, sizeof(*o))))
        return NULL;
    for (uint32_t i = 0; i < o->npeers; i++)
        if (o->peers[i].node == node && o->peers[i].shard == shard)
            return &o->peers[i];
    v = realloc(o->peers, (o->npeers + 1) * sizeof(*v));
    if (!v)
        return NULL;
    o->peers = v;
    v = &o->peers[o->npeers++];
    *v = (struct outbox_peer){.node = node, .shard = shard};
    return v;
}

static void peer_flush(struct outbox_peer *p)
{
    while (p->head && p->c && p->open && !p->c->closing) {
        struct outbox_msg *m = p->head;
        if (rt_send(p->c->conn, m->bytes, m->len) < 0) {
            p->c->closing = true; /* outbox_conn_gone follows; the message waits */
            return;
        }
        p->head = m->next;
        if (!p->head)
            p->tail = NULL;
        free(m);
    }
}

static void peer_empty(struct outbox_peer *p)
{
    while (p->head) {
        struct outbox_msg *m = p->head;
        p->head = m->next;
        free(m);
    }
    p->tail = NULL;
}

int outbox_send(struct shard *s, uint16_t node, uint16_t shard, struct proto_msg *m)
{
    struct outbox_peer *p = peer_get(s, node, shard);
    int len = proto_encode(m, s->sendbuf, sizeof(s->sendbuf));
    struct outbox_msg *q;

    if (!p || len < 0 || !(q = malloc(sizeof(*q) + (size_t)len)))
        return -1;
    q->next = NULL;
    q->len = (uint32_t)len;
    memcpy(q->bytes, s->sendbuf, (size_t)len);
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    if (!p->c && now_ns() >= p->retry_ns) {
        p->c = shard_connect_peer(s, node, shard);
        p->open = false;
    }
    peer_flush(p);
    return 0;
}

void outbox_conn_up(struct shard *s, struct mclient *c)
{
    for (uint32_t i = 0; s->outbox && i < s->outbox->npeers; i++)
        if (s->outbox->peers[i].c == c) {
            s->outbox->peers[i].open = true;
            peer_flush(&s->outbox->peers[i]);
        }
}

void outbox_conn_gone(struct shard *s, struct mclient *c)
{
    for (uint32_t i = 0; s->outbox && i < s->outbox->npeers; i++)
        if (s->outbox->peers[i].c == c) {
            s->outbox->peers[i].c = NULL; /* outbox_tick connects again while messages wait */
            s->outbox->peers[i].open = false;
            s->outbox->peers[i].retry_ns = now_ns() + RETRY_NS;
        }
}

void outbox_tick(struct shard *s)
{
    for (uint32_t i = 0; s->outbox && i < s->outbox->npeers; i++) {
        struct outbox_peer *p = &s->outbox->peers[i];
        if (!shard_in_view(s, p->node)) {
            peer_empty(p);
        } else if (p->head && !p->c && now_ns() >= p->retry_ns) {
            p->c = shard_connect_peer(s, p->node, p->shard);
            p->open = false;
        }
    }
}

void outbox_free(struct shard *s)
{
    for (uint32_t i = 0; s->outbox && i < s->outbox->npeers; i++)
        peer_empty(&s->outbox->peers[i]);
    if (s->outbox)
        free(s->outbox->peers);
    free(s->outbox);
    s->outbox = NULL;
}
