/*
 * master/alive.c - a remote client's locks are released only once its handle is known to be
 * gone (docs/protocol.md section 4, "Client death").
 *
 * A connection from a client of another node can fail while the client runs on: a reset, a
 * timeout, a fault between the two hosts. The master cannot tell that from the process's
 * death, and releasing the locks of a process that still believes it holds them would break
 * mutual exclusion. The client's home (shard 0 of its node, where the handle keeps a local
 * connection that no network fault can cut) can tell:
 *
 *   master: the transport closed a remote client's connection
 *           ──► the client is held: unserved, its locks (one-sided counts too) kept
 *   master --ALIVE ASK(node, pid, incarnation)--> its home   (again every ASK_EVERY_NS)
 *   home   --ALIVE ANSWER(alive)-------------------> master   (is that handle's home
 *                                                               connection open?)
 *   home   --ALIVE ANSWER(0), as soon as that home connection closes (the ASK left a watch)
 *   master: ANSWER 0 ──► every connection of that handle closes: its locks are released
 *
 * A handle that lives on keeps its locks at that master until the process closes it or dies
 * (its library broke the handle: every call fails with NOTCONN). If the client's node leaves
 * the view, recover.c takes over (released at the fence). A connection the master closed
 * itself (a malformed message), or one of a client of this node (the close of a local
 * connection is the process's own doing), is released at once, as before.
 */
#include "master/daemon.h"

#include <stdlib.h>
#include <string.h>

#define ASK_EVERY_NS (200ull * 1000 * 1000)

/* Held until its home says the handle is gone. */
bool alive_hold(struct shard *s, const struct mclient *c)
{
    return c->conn_failed && !c->gone && c->hello.role == ROLE_CLIENT && c->ls &&
           c->hello.node != s->node && shard_in_view(s, c->hello.node);
}

static void ask(struct shard *s, struct mclient *c, uint64_t now)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_ALIVE;
    m.u.alive = (struct msg_alive){ALIVE_ASK, 0, c->hello.node, c->hello.pid, c->hello.incarnation};
    c->next_ask_ns = now + ASK_EVERY_NS;
    outbox_send(s, c->hello.node, 0, &m);
}

void alive_tick(struct shard *s, uint64_t now)
{
    for (uint32_t i = 0; i < s->nclients; i++) {
        struct mclient *c = s->clients[i];
        if (c && c->closing && now >= c->next_ask_ns && alive_hold(s, c))
            ask(s, c, now);
    }
}

/* The home's side: is a handle (pid, incarnation) of this node still connected here? */
static bool home_open(const struct shard *s, const struct msg_alive *a)
{
    for (uint32_t i = 0; i < s->nclients; i++) {
        const struct mclient *c = s->clients[i];
        if (c && !c->closing && c->home && c->hello.pid == a->pid &&
            c->hello.incarnation == a->incarnation)
            return true;
    }
    return false;
}

static void send_answer(struct shard *s, struct mclient *c, const struct msg_alive *a, bool alive)
{
    struct proto_msg m = {0};

    m.hdr.type = MSG_ALIVE;
    m.u.alive = *a;
    m.u.alive.op = ALIVE_ANSWER;
    m.u.alive.alive = alive;
    send_msg(s, c, &m);
}

/* A watch: the asker hears ANSWER(0) the moment the handle's home connection closes, rather
 * than at its next ASK. One per (asker, handle); they go with the answer or the asker. */
struct alive_watch {
    uint32_t asker; /* client id of the peer connection that asked */
    struct msg_alive a;
};

static void watch(struct shard *s, const struct mclient *c, const struct msg_alive *a)
{
    struct alive_watch *v;

    for (uint32_t i = 0; i < s->nwatches; i++)
        if (s->watches[i].asker == c->id && s->watches[i].a.pid == a->pid &&
            s->watches[i].a.incarnation == a->incarnation)
            return;
    if (!(v = realloc(s->watches, (s->nwatches + 1) * sizeof(*v))))
        return; /* the asker asks again anyway */
    s->watches = v;
    v[s->nwatches++] = (struct alive_watch){c->id, *a};
}

static void answer(struct shard *s, struct mclient *c, const struct msg_alive *a)
{
    bool open = home_open(s, a);

    if (open)
        watch(s, c, a);
    send_answer(s, c, a, open);
}

/* Shard 0: connection c closes; a home connection ends the watches on its handle, and an
 * asker's its own. */
void alive_conn_gone(struct shard *s, const struct mclient *c)
{
    uint32_t kept = 0;

    for (uint32_t i = 0; i < s->nwatches; i++) {
        struct alive_watch *w = &s->watches[i];
        bool ends = w->asker == c->id;
        if (c->home && w->a.pid == c->hello.pid && w->a.incarnation == c->hello.incarnation) {
            struct mclient *asker = client_by_id(s, w->asker);
            if (asker && !asker->closing)
                send_answer(s, asker, &w->a, false);
            ends = true;
        }
        if (!ends)
            s->watches[kept++] = *w;
    }
    s->nwatches = kept;
}

void alive_free(struct shard *s)
{
    free(s->watches);
    s->watches = NULL;
    s->nwatches = 0;
}

static void gone(struct shard *s, const struct msg_alive *a)
{
    for (uint32_t i = 0; i < s->nclients; i++) {
        struct mclient *c = s->clients[i];
        if (c && c->hello.role == ROLE_CLIENT && c->hello.node == a->node &&
            c->hello.pid == a->pid && c->hello.incarnation == a->incarnation && c->conn_failed)
            c->gone = true; /* close_marked closes it now */
    }
}

void alive_msg(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    const struct msg_alive *a = &m->u.alive;

    if (c->hello.role != ROLE_PEER) {
        log_msg("shard %u: ALIVE from %s (not a peer); closing it", s->index,
                rt_conn_peer(c->conn));
        s->stats.malformed++;
        c->closing = true;
    } else if (a->op == ALIVE_ASK && s->index == 0 && a->node == s->node) {
        answer(s, c, a);
    } else if (a->op == ALIVE_ANSWER && !a->alive) {
        gone(s, a);
    }
}
