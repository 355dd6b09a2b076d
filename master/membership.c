/*
 * master/membership.c - who is alive, and the membership view every daemon acts on.
 *
 * Shard 0 of every rdlmd keeps a connection to shard 0 of every other configured node and
 * sends it a HEARTBEAT every heartbeat_ms (and at once when something changed). A heartbeat
 * carries the sender's view (epoch, member mask) and the last epoch for which all of its home
 * clients have reported (recover.c uses it as the recovery barrier).
 *
 * A node is LOST once it has been seen and then its connection closed (a killed daemon: at
 * once) or it stayed silent for node_timeout_ms (default 2 s, at least three intervals). A
 * node never seen is not lost: a cluster
 * may start one node at a time.
 *
 * A view has MEMBERS (they count for quorum and are the home of their clients) and MASTERS
 * (the members resources are placed on). It starts as every configured node, both, at epoch
 * 1. The coordinator - the lowest-indexed member not lost - publishes new views (epoch + 1),
 * announced at once by heartbeat:
 *   - without the lost members (as members and as masters), if a majority of the configured
 *     nodes remains (quorum);
 *   - with a restarted node heard again (a new incarnation) as a member that masters
 *     nothing: its processes can lock again at once, and no resource has to move back to it
 *     (no state is ever handed from one live master to another). It masters again when the
 *     whole cluster is restarted.
 * Every daemon adopts a view with a higher epoch. A daemon serves clients only once JOINED:
 * a member of the view it knows, having heard a majority (or alone). A view that leaves out
 * a daemon that had joined EXCLUDES it: its clients' locks have been given up by the others,
 * so it exits (status 3) to be restarted clean; a daemon not yet joined just waits to be
 * added. A daemon whose view has no live majority is not QUORATE: its shards grant nothing
 * (recover.c freezes them) - it counts a member silent for half of node_timeout_ms as gone
 * for this, so a minority stops long before the others could declare it lost.
 *
 * FENCING: a lost node may only be silent, not dead (a partition), and its processes may
 * still believe they hold locks. With fence_command configured, the coordinator runs it for
 * every node outside the view (sh -c, %n = node id) until it exits 0, and announces
 * fenced_epoch; no shard finishes a recovery before that (recover.c), as dlm_controld
 * waits for fencing. Without it, a lost node is trusted to be dead (a warning is logged).
 */
#include "master/daemon.h"

#include <signal.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

void membership_init(struct rdlmd *d)
{
    d->members = calloc(d->cfg.nnodes, sizeof(*d->members));
    for (size_t i = 0; d->members && i < d->cfg.nnodes; i++) {
        d->members[i].node = (uint16_t)d->cfg.nodes[i].id;
        if (d->cfg.nodes[i].id == d->me->id)
            d->my_index = (int)i;
    }
    pthread_mutex_init(&d->view_mu, NULL);
    d->view_mask = d->cfg.nnodes >= 64 ? ~0ull : (1ull << d->cfg.nnodes) - 1;
    d->view_masters = d->view_mask;
    if (getrandom(&d->incarnation, sizeof(d->incarnation), 0) < 0 || !d->incarnation)
        d->incarnation = (uint32_t)getpid() | 1u;
    atomic_store(&d->epoch, 1);
    atomic_store(&d->fenced_epoch, 1);
    atomic_store(&d->joined, d->cfg.nnodes == 1);
    atomic_store(&d->quorate, true);
}

uint64_t membership_mask(struct rdlmd *d, uint32_t *epoch, uint64_t *masters)
{
    uint64_t mask;

    pthread_mutex_lock(&d->view_mu);
    mask = d->view_mask;
    if (masters)
        *masters = d->view_masters;
    *epoch = atomic_load(&d->epoch);
    pthread_mutex_unlock(&d->view_mu);
    return mask;
}

static void set_view(struct rdlmd *d, uint32_t epoch, uint64_t mask, uint64_t masters)
{
    bool in = mask & (1ull << d->my_index);

    pthread_mutex_lock(&d->view_mu);
    d->view_mask = mask;
    d->view_masters = masters & mask;
    atomic_store(&d->epoch, epoch);
    pthread_mutex_unlock(&d->view_mu);
    log_msg("membership view %u: members 0x%llx, masters 0x%llx%s", epoch, (unsigned long long)mask,
            (unsigned long long)(masters & mask),
            in                        ? ""
            : atomic_load(&d->joined) ? " - without us: EXCLUDED"
                                      : " - waiting to be added");
    if (!in && atomic_load(&d->joined)) {
        atomic_store(&d->excluded, true);
        atomic_store(&d->joined, false);
    }
}

int node_index(const struct rdlmd *d, uint32_t node)
{
    for (size_t i = 0; i < d->cfg.nnodes && i < 64; i++)
        if (d->cfg.nodes[i].id == node)
            return (int)i;
    return -1;
}

bool shard_in_view(const struct shard *s, uint32_t node)
{
    int i = node_index(s->d, node);

    return i >= 0 && (s->view_mask & (1ull << i));
}

static int member_index(const struct rdlmd *d, uint16_t node)
{
    for (size_t i = 0; i < d->cfg.nnodes; i++)
        if (d->members && d->members[i].node == node)
            return (int)i;
    return -1;
}

/* Silent for node_timeout_ms: lost. Silent for half of it: not counted for quorum (we stop
 * granting well before the others can decide we are lost). */
static uint64_t lost_ns(const struct rdlmd *d)
{
    uint64_t t = d->cfg.node_timeout_ms, min = 3ull * d->cfg.heartbeat_ms;

    return (t > min ? t : min) * 1000000ull;
}

static bool is_suspect(const struct rdlmd *d, size_t i, uint64_t now)
{
    uint64_t seen = atomic_load(&d->members[i].last_seen_ns);

    if ((int)i == d->my_index)
        return false;
    return !seen || atomic_load(&d->members[i].lost) || now - seen >= lost_ns(d) / 2;
}

static bool is_lost(const struct rdlmd *d, size_t i, uint64_t now)
{
    const struct member *m = &d->members[i];
    uint64_t seen = atomic_load(&m->last_seen_ns);
    uint64_t limit = lost_ns(d);

    if ((int)i == d->my_index)
        return false;
    if (!seen) { /* never heard: lost only if it accepted our connection, which then closed,
                  * and it stayed silent for the timeout since (a connection may also fail
                  * while a daemon starts: on rxe one did, and the view excluded a live node) */
        uint64_t closed = atomic_load(&m->unheard_close_ns);
        if (!atomic_load(&m->lost) && closed && now - closed >= limit) {
            atomic_store((_Atomic bool *)&m->lost, true);
            log_msg("node %u lost: it accepted our connection, which closed, and was not heard "
                    "in %lu ms since",
                    m->node, (unsigned long)((now - closed) / 1000000));
        }
        return atomic_load(&m->lost);
    }
    if (!atomic_load(&m->lost) && now - seen >= limit) {
        atomic_store((_Atomic bool *)&m->lost, true);
        log_msg("node %u lost: silent for %lu ms", m->node,
                (unsigned long)((now - seen) / 1000000));
    }
    return atomic_load(&m->lost);
}

static void connect_member(struct shard *s, size_t i)
{
    const struct rdlm_node_config *n = &s->d->cfg.nodes[i];
    struct proto_hello hello = {ROLE_DAEMON, (uint16_t)s->node, (uint32_t)getpid(), 0};
    uint8_t h[PROTO_HELLO_LEN];
    rt_conn *conn;
    struct mclient *c;

    if (fault_isolated(s->d, (uint16_t)n->id))
        return; /* behind a (simulated) partition (fault.c) */
    proto_hello_pack(&hello, h);
    if (rt_connect(s->ctx, n->address, n->port, h, sizeof(h), &conn) < 0)
        return;
    c = shard_add_conn(s, conn, &hello);
    if (!c) {
        rt_close(conn);
        return;
    }
    c->peer_node = (uint16_t)n->id;
    c->member = (int)i;
    s->d->members[i].conn = conn;
}

static void send_heartbeats(struct shard *s, uint64_t now)
{
    struct rdlmd *d = s->d;
    struct proto_msg m = {0};

    m.hdr.type = MSG_HEARTBEAT;
    m.u.heartbeat.node = s->node;
    m.u.heartbeat.view_mask = membership_mask(d, &m.u.heartbeat.epoch, &m.u.heartbeat.masters_mask);
    m.u.heartbeat.incarnation = d->incarnation;
    m.u.heartbeat.fenced_epoch = atomic_load(&d->fenced_epoch);
    m.u.heartbeat.done_epoch = atomic_load(&d->members[d->my_index].done_epoch);
    m.u.heartbeat.time_ns = now;
    m.u.heartbeat.fingerprint = d->cfg.fingerprint;
    for (size_t i = 0; i < d->cfg.nnodes; i++) {
        struct member *mb = &d->members[i];
        if ((int)i == d->my_index)
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

static unsigned popcount(uint64_t v)
{
    return (unsigned)__builtin_popcountll(v);
}

/* Quorum: the members of our view we hear (not suspect) are a majority of the nodes. */
static void check_quorum(struct rdlmd *d, uint64_t mask, uint64_t now)
{
    unsigned heard = 0;
    bool q;

    for (size_t i = 0; i < d->cfg.nnodes && i < 64; i++)
        heard += (mask & (1ull << i)) && !is_suspect(d, i, now);
    q = 2 * heard > d->cfg.nnodes;
    if (!atomic_load(&d->joined))
        return; /* not serving yet anyway */
    if (q != atomic_load(&d->quorate))
        log_msg("membership: %u of %zu nodes heard: %s", heard, d->cfg.nnodes,
                q ? "quorum again" : "NO QUORUM: granting nothing");
    atomic_store(&d->quorate, q);
}

/* Restarted nodes heard again (not members, not lost, a fresh incarnation). */
static uint64_t joiners(const struct rdlmd *d, uint64_t mask, uint64_t now)
{
    uint64_t j = 0;

    for (size_t i = 0; i < d->cfg.nnodes && i < 64; i++)
        if (!(mask & (1ull << i)) && atomic_load(&d->members[i].last_seen_ns) &&
            !is_lost(d, i, now))
            j |= 1ull << i;
    return j;
}

/* The coordinator removes lost members (if a majority remains) and adds restarted nodes. */
static void coordinate(struct shard *s, uint64_t now)
{
    struct rdlmd *d = s->d;
    uint32_t epoch;
    uint64_t masters, mask = membership_mask(d, &epoch, &masters), live = 0, add;

    for (size_t i = 0; i < d->cfg.nnodes && i < 64; i++)
        if ((mask & (1ull << i)) && !is_lost(d, i, now))
            live |= 1ull << i;
    check_quorum(d, mask, now);
    add = atomic_load(&d->joined) ? joiners(d, mask, now) : 0;
    if ((live == mask && !add) || !atomic_load(&d->joined) || !(live & (1ull << d->my_index)))
        return;
    if (__builtin_ctzll(live) != d->my_index)
        return; /* not the coordinator: it will announce the view */
    if (2 * popcount(live) <= d->cfg.nnodes) {
        static _Thread_local uint32_t warned;
        if (warned != epoch)
            log_msg("membership: only 0x%llx of %zu nodes live: no quorum, not granting",
                    (unsigned long long)live, d->cfg.nnodes);
        warned = epoch;
        return;
    }
    set_view(d, epoch + 1, live | add, masters & live);
    for (size_t i = 0; i < d->cfg.nnodes && i < 64; i++)
        if (add & (1ull << i))
            d->members[i].fenced = false; /* back: fence it again if it leaves again */
    send_heartbeats(s, now);
}

/* ---- fencing (coordinator) ---- */

static int start_fence(struct rdlmd *d, size_t i)
{
    char cmd[sizeof(d->cfg.fence_command) + 16], *o = cmd;
    sigset_t none;
    pid_t pid;

    for (const char *c = d->cfg.fence_command; *c && o < cmd + sizeof(cmd) - 8; c++)
        if (c[0] == '%' && c[1] == 'n') {
            o += sprintf(o, "%u", d->members[i].node);
            c++;
        } else {
            *o++ = *c;
        }
    *o = 0;
    log_msg("fencing node %u: %s", d->members[i].node, cmd);
    pid = fork();
    if (pid == 0) {
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* rdlmd blocks SIGTERM for sigwait */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid > 0 ? pid : 0;
}

/* One fence's outcome, if it ended: 1 fenced, 0 running, -1 failed. */
static int fence_outcome(struct member *m)
{
    int st;

    if (waitpid(m->fence_pid, &st, WNOHANG) != m->fence_pid)
        return 0;
    m->fence_pid = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : -1;
}

/* Fence every node outside our view; fenced_epoch = the view's epoch when all are. */
static void fence_tick(struct shard *s, uint64_t now)
{
    struct rdlmd *d = s->d;
    uint32_t epoch;
    uint64_t mask = membership_mask(d, &epoch, NULL);
    bool all = true;

    if (atomic_load(&d->fenced_epoch) >= epoch || !atomic_load(&d->joined) ||
        __builtin_ctzll(mask) != d->my_index)
        return; /* done, or not the coordinator */
    for (size_t i = 0; i < d->cfg.nnodes && i < 64; i++) {
        struct member *m = &d->members[i];
        if ((mask & (1ull << i)) || m->fenced)
            continue;
        if (!d->cfg.fence_command[0]) {
            log_msg("node %u left; no fence_command: trusted to be dead", m->node);
            m->fenced = true;
            continue;
        }
        if (m->fence_pid) {
            int r = fence_outcome(m);
            m->fenced = r > 0;
            if (r > 0)
                log_msg("node %u fenced", m->node);
            if (r < 0) {
                log_msg("fencing node %u failed: retrying in 1 s; recovery waits", m->node);
                m->fence_retry_ns = now + 1000000000ull;
            }
        } else if (now >= m->fence_retry_ns) {
            m->fence_pid = start_fence(d, i);
        }
        all &= m->fenced;
    }
    if (all) {
        atomic_store(&d->fenced_epoch, epoch);
        membership_kick(s);
    }
}

/* Joined once we are a member of the view we know and a majority (ourselves included) has
 * been heard. */
static void check_joined(struct rdlmd *d, uint64_t now)
{
    unsigned heard = 1;
    uint32_t epoch;

    if (atomic_load(&d->joined) || atomic_load(&d->excluded) ||
        !(membership_mask(d, &epoch, NULL) & (1ull << d->my_index)))
        return;
    for (size_t i = 0; i < d->cfg.nnodes; i++)
        if ((int)i != d->my_index && atomic_load(&d->members[i].last_seen_ns) &&
            !is_lost(d, i, now))
            heard++;
    if (2 * heard > d->cfg.nnodes) {
        atomic_store(&d->joined, true);
        log_msg("joined: view %u", atomic_load(&d->epoch));
    }
}

void membership_tick(struct shard *s, uint64_t now)
{
    uint64_t period = (uint64_t)s->d->cfg.heartbeat_ms * 1000000ull;

    if (!s->d->members)
        return;
    coordinate(s, now);
    fence_tick(s, now);
    check_joined(s->d, now);
    if (now - s->last_heartbeat_ns < period)
        return;
    s->last_heartbeat_ns = now;
    send_heartbeats(s, now);
}

/* Something changed that the others must learn now (a view, a recovery barrier). */
void membership_kick(struct shard *s)
{
    s->last_heartbeat_ns = 0;
}

void membership_heartbeat(struct shard *s, struct mclient *c, const struct proto_msg *m)
{
    struct rdlmd *d = s->d;
    const struct msg_heartbeat *h = &m->u.heartbeat;
    int i = member_index(d, h->node);
    uint32_t epoch, done;

    if (i < 0 || i == d->my_index)
        return;
    if (h->fingerprint != d->cfg.fingerprint) { /* a daemon of another cluster */
        static _Thread_local uint64_t last_log_ns;
        if (now_ns() - last_log_ns > 10ull * 1000 * 1000 * 1000 || !last_log_ns) {
            last_log_ns = now_ns();
            log_msg(
                "shard %u: heartbeat from %s claims node %u of another cluster (its cluster file "
                "differs from ours); closing it",
                s->index, rt_conn_peer(c->conn), h->node);
        }
        s->stats.malformed++;
        c->closing = true;
        return;
    }
    membership_mask(d, &epoch, NULL);
    if (atomic_load(&d->members[i].incarnation) != h->incarnation) { /* (re)started */
        if (atomic_load(&d->members[i].incarnation))
            log_msg("node %u restarted", h->node);
        atomic_store(&d->members[i].incarnation, h->incarnation);
        atomic_store(&d->members[i].lost, false);
        atomic_store(&d->members[i].done_epoch, 0);
    } else if (atomic_load(&d->members[i].lost) && (d->view_mask & (1ull << i))) {
        /* silent for a while, but no view has removed it: it is back */
        log_msg("node %u heard again before any view removed it", h->node);
        atomic_store(&d->members[i].lost, false);
    }
    atomic_store(&d->members[i].hb_conn, c);
    atomic_store(&d->members[i].unheard_close_ns, 0);
    atomic_store(&d->members[i].last_seen_ns, now_ns());
    atomic_store(&d->members[i].epoch, h->epoch);
    done = atomic_load(&d->members[i].done_epoch);
    if (h->done_epoch > done)
        atomic_store(&d->members[i].done_epoch, h->done_epoch);
    if (h->fenced_epoch > atomic_load(&d->fenced_epoch))
        atomic_store(&d->fenced_epoch, h->fenced_epoch);
    membership_mask(d, &epoch, NULL);
    if (h->epoch > epoch && h->view_mask) {
        set_view(d, h->epoch, h->view_mask, h->masters_mask);
        membership_kick(s);
    }
}

/* A connection to or from another daemon closed. Only the connection its heartbeats came on
 * says that daemon is gone: any process may connect and claim to be a daemon, a connect that
 * never completed says nothing (it may be starting), and our own connection to it may be an
 * old one (to a daemon since restarted): when that closes we only connect again - unless we
 * never heard it at all and our connection had been accepted: then it was up and is gone. */
void membership_daemon_gone(struct shard *s, struct mclient *c)
{
    struct rdlmd *d = s->d;
    int i = c->member >= 0 ? c->member : member_index(d, c->hello.node);

    if (c->member >= 0 && (size_t)c->member < d->cfg.nnodes)
        d->members[c->member].conn = NULL;
    if (i < 0 || i == d->my_index || atomic_load(&d->stop))
        return;
    if (c->member == i && c->established && !atomic_load(&d->members[i].last_seen_ns) &&
        !atomic_load(&d->members[i].unheard_close_ns)) {
        /* It was up (it accepted us): if it died before we heard it, without this it would
         * never count as lost, and the view that rebuilds what it mastered would never come.
         * is_lost decides once the timeout has passed without a heartbeat. */
        atomic_store(&d->members[i].unheard_close_ns, now_ns());
        return;
    }
    if (atomic_load(&d->members[i].hb_conn) != c)
        return;
    atomic_store(&d->members[i].hb_conn, NULL);
    if (atomic_load(&d->members[i].last_seen_ns) && !atomic_load(&d->members[i].lost)) {
        atomic_store(&d->members[i].lost, true);
        log_msg("node %u lost: its heartbeat connection closed", d->members[i].node);
    }
}

int membership_status(struct rdlmd *d, char *buf, size_t len)
{
    uint64_t now = now_ns();
    uint32_t epoch;
    uint64_t masters, mask = membership_mask(d, &epoch, &masters);
    size_t off = 0;

    off += (size_t)snprintf(buf + off, len - off, "  membership view %u%s%s%s:", epoch,
                            atomic_load(&d->joined) ? "" : " (joining)",
                            atomic_load(&d->excluded) ? " (EXCLUDED)" : "",
                            atomic_load(&d->quorate) ? "" : " (NO QUORUM)");
    for (size_t i = 0; i < d->cfg.nnodes && off < len; i++) {
        const struct member *m = &d->members[i];
        uint64_t seen = atomic_load(&m->last_seen_ns);
        const char *in = !(mask & (1ull << i))      ? " not a member"
                         : !(masters & (1ull << i)) ? " (member, masters nothing)"
                                                    : "";
        const char *iso = fault_isolated(d, m->node) ? " ISOLATED" : ""; /* fault.c */
        if ((int)i == d->my_index)
            off += (size_t)snprintf(buf + off, len - off, " node %u (self) up%s;", m->node, in);
        else if (seen && !is_lost(d, i, now))
            off += (size_t)snprintf(buf + off, len - off, " node %u up (%lu ms ago)%s%s;", m->node,
                                    (unsigned long)((now - seen) / 1000000), in, iso);
        else
            off += (size_t)snprintf(buf + off, len - off, " node %u DOWN%s%s;", m->node, in, iso);
    }
    if (off < len)
        off += (size_t)snprintf(buf + off, len - off, "\n");
    return (int)off;
}
