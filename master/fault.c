/*
 * master/fault.c - fault injection: a network partition made by dropping connections
 * (docs/operations.md section "Fault injection", docs/testing.md). `rdlmctl isolate
 * NODE[,NODE...] --node N` makes daemon N behave as if the network to those nodes had gone
 * silent; `rdlmctl heal --node N` ends it. Refused (RDLM_E_ACCESS) unless the daemon was
 * started with RDLM_FAULT_INJECTION=1, so a production daemon cannot be partitioned by a
 * stray command.
 *
 * The connections of an isolated node - its daemon's heartbeat and peer connections and its
 * client processes' handles (hello.node), never rdlmctl's - are severed (rt_sever): nothing is
 * sent to them, nothing of theirs is processed, and their one-sided operations on our lock
 * words are not served (tcp: the socket is no longer read; rdma: the QP is in the error
 * state). They are NOT closed: a silent peer is not a dead one, so its clients' locks stay
 * until a view leaves the node out (recover.c closes them then, as for any lost node) or heal
 * closes them. New connections from an isolated node are refused; we open none to it.
 *
 * A severed connection closed meanwhile (a view left its node out) stays silent for the peer
 * (rt_close of a severed connection sends no FIN or disconnect): behind a partition, the
 * isolated processes hear nothing of it. Heal closes the severed connections and tells the
 * peers (rt_heal), as TCP gives up on a connection behind a long partition: daemons reconnect, and
 * a client whose connection to a live master closes is treated as after any lost connection
 * (docs/protocol.md section 6). Heal is meant for after the isolated node was fenced and left the
 * view (the partition test's drop mode).
 *
 * `rdlmctl lose-completions --node N` makes daemon N drop every lock completion it would send
 * (replies still go), until heal: what a client sees of a daemon that dies between the REPLY
 * to a cancel and the CANCELED that follows it (tests/lib/test_cancel_recovery.c).
 *
 * The isolation is the daemon's (d->isolated, bits of configured node indexes), changed by
 * the shard that gets the command; each shard applies it to its own connections at its next
 * tick (fault_tick).
 */
#include "master/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fault_init(struct rdlmd *d)
{
    const char *v = getenv("RDLM_FAULT_INJECTION");

    d->fault_injection = v && strcmp(v, "1") == 0;
    if (d->fault_injection)
        log_msg("fault injection ENABLED (RDLM_FAULT_INJECTION=1): rdlmctl isolate can cut "
                "this daemon off from other nodes; never in production");
}

/* LOSE_COMPLETIONS: every lock completion is dropped here, as if it had been lost on the way
 * (one test of a plain bool on every send when fault injection is off). */
bool fault_lost(struct shard *s, const struct proto_msg *m)
{
    return s->d->fault_injection && m->hdr.type == MSG_COMPLETE &&
           atomic_load_explicit(&s->d->lose_completions, memory_order_relaxed);
}

bool fault_isolated(struct rdlmd *d, uint16_t node)
{
    int i = node_index(d, node);

    return i >= 0 && (atomic_load(&d->isolated) & (1ull << i));
}

/* "3,5" for the nodes of mask; "none" if empty. */
static void mask_names(const struct rdlmd *d, uint64_t mask, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = 0;
    for (size_t i = 0; i < d->cfg.nnodes && i < 64 && off < len; i++)
        if (mask & (1ull << i))
            off +=
                (size_t)snprintf(buf + off, len - off, "%s%u", off ? "," : "", d->cfg.nodes[i].id);
    if (!off)
        snprintf(buf, len, "none");
}

/* The nodes of an ISOLATE as index bits; 0 with why in text if one is not allowed. */
static uint64_t fault_mask(struct shard *s, const struct msg_fault *f, char *text, size_t len)
{
    uint64_t mask = 0;

    for (unsigned k = 0; k < f->n; k++) {
        int i = node_index(s->d, f->nodes[k]);
        if (i < 0) {
            snprintf(text, len, "node %u: node %u is not a node of this cluster\n", s->node,
                     f->nodes[k]);
            return 0;
        }
        if (i == s->d->my_index) {
            snprintf(text, len, "node %u: a daemon cannot isolate itself\n", s->node);
            return 0;
        }
        mask |= 1ull << i;
    }
    return mask;
}

static uint8_t apply(struct shard *s, const struct msg_fault *f, char *text, size_t len)
{
    struct rdlmd *d = s->d;
    uint64_t mask = 0, now;
    char names[256];

    if (f->op == FAULT_LOSE_COMPLETIONS) {
        atomic_store(&d->lose_completions, true);
        log_msg("fault injection: lose completions (no lock completion is sent from now on)");
        snprintf(text, len, "node %u: losing every lock completion\n", s->node);
        return RDLM_OK;
    }
    if (f->op == FAULT_ISOLATE && !(mask = fault_mask(s, f, text, len)))
        return RDLM_E_INVAL;
    if (f->op == FAULT_ISOLATE) {
        now = atomic_fetch_or(&d->isolated, mask) | mask;
    } else {
        atomic_store(&d->isolated, 0);
        atomic_store(&d->lose_completions, false);
        now = 0;
    }
    mask_names(d, now, names, sizeof(names));
    log_msg("fault injection: %s; isolating nodes: %s", f->op == FAULT_ISOLATE ? "isolate" : "heal",
            names);
    snprintf(text, len, "node %u: isolating nodes: %s\n", s->node, names);
    return RDLM_OK;
}

void fault_msg(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    char text[320];
    uint8_t st;

    if (c->hello.role != ROLE_CTL) { /* only the operator's command may ask */
        log_msg("shard %u: FAULT from %s (not rdlmctl); closing it", s->index,
                rt_conn_peer(c->conn));
        s->stats.malformed++;
        c->closing = true;
        return;
    }
    if (!s->d->fault_injection) {
        snprintf(text, sizeof(text),
                 "node %u: fault injection is not enabled (start rdlmd with "
                 "RDLM_FAULT_INJECTION=1, or rdlmctl up --fault-injection)\n",
                 s->node);
        st = RDLM_E_ACCESS;
    } else {
        st = apply(s, &m->u.fault, text, sizeof(text));
    }
    send_reply(s, c, m->hdr.reqid, st, text, (uint32_t)strlen(text));
}

/* The isolation applies to client handles, daemons and peers; never to rdlmctl. */
static uint64_t conn_bit(const struct rdlmd *d, const struct mclient *c)
{
    int i = c->hello.role == ROLE_CTL ? -1 : node_index(d, c->peer_node);

    return i < 0 ? 0 : 1ull << i;
}

void fault_tick(struct shard *s)
{
    uint64_t want = atomic_load(&s->d->isolated), added, healed;
    unsigned severed = 0, closed = 0;

    if (s->heal_pending && !s->isolated) { /* close_marked has closed what heal marked */
        rt_heal(s->ctx);
        s->heal_pending = false;
    }
    if (want == s->isolated)
        return;
    added = want & ~s->isolated;
    healed = s->isolated & ~want;
    for (uint32_t i = 0; i < s->nclients; i++) {
        struct mclient *c = s->clients[i];
        uint64_t bit = c ? conn_bit(s->d, c) : 0;
        if ((bit & added) && !c->isolated) {
            c->isolated = true;
            rt_sever(c->conn);
            severed++;
        } else if ((bit & healed) && c->isolated) {
            c->closing = true;
            closed++;
        }
    }
    s->isolated = want;
    s->heal_pending |= healed != 0;
    log_msg("shard %u: isolation 0x%llx: %u connection(s) severed, %u closed", s->index,
            (unsigned long long)want, severed, closed);
}

int fault_status(struct shard *s, char *buf, size_t len)
{
    char names[256];

    buf[0] = 0;
    if (!s->d->fault_injection)
        return 0;
    mask_names(s->d, s->isolated, names, sizeof(names));
    return snprintf(buf, len,
                    "    fault injection enabled: isolating nodes %s, %llu connection(s) "
                    "from them refused\n",
                    names, (unsigned long long)s->refused);
}
