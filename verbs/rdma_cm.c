/*
 * verbs/rdma_cm.c - rdma back end connection management over librdmacm.
 *
 * Protocol (after rping.c; C = connector, A = acceptor):
 *
 *   C: rdma_resolve_addr  --ADDR_RESOLVED-->  rdma_resolve_route  --ROUTE_RESOLVED-->
 *      create QP + buffers, post the receive ring, set ACK timeout,
 *      rdma_connect(private = {version, hello_len, recv_depth, max_msg, hello[<=48]})
 *   A:                       --CONNECT_REQUEST--> create QP + buffers, post the receive ring,
 *      set ACK timeout, rdma_accept(private = {version, 0, recv_depth, max_msg})
 *   C: --ESTABLISHED--> read A's private data: OPEN, RT_EV_CONNECTED
 *   A: --ESTABLISHED (or the first CQE on the QP, whichever comes first)--> OPEN, RT_EV_ACCEPT
 *   then SEND/RECV messages with credits (rdma_qp.c) and one-sided ops (rdma_onesided.c)
 *   either: --DISCONNECTED / an error CQE--> CLOSED: pending ops fail, RT_EV_CLOSED
 *
 * A failure before OPEN reports RT_EV_CONNECTED with an error status on the connector's side
 * and is silent on the acceptor's (the application never saw that connection).
 * QP settings: RC; ACK timeout 4.096us * 2^cfg.rdma_timeout (14 -> 67 ms) and retry_count
 * cfg.rdma_retry (3), so a dead peer fails the next op with RETRY_EXCEEDED in ~0.3 s;
 * rnr_retry_count 3 (credits make RNR impossible; a bounded count keeps it from hanging).
 */
#include "verbs/rdma.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RM_RESOLVE_MS 2000
#define RM_RD_ATOM    16

static struct rdma_ctx *ctx_of(struct rdma_conn *c)
{
    return (struct rdma_ctx *)c->base.ctx;
}

static void push_event(struct rdma_conn *c, enum rt_event type, enum rt_status st, const void *data,
                       uint32_t len)
{
    struct rt_completion comp = {
        .type = type,
        .status = st,
        .conn = &c->base,
        .listener = c->listener,
        .data = data,
        .len = len,
    };
    rm_push(ctx_of(c), &comp, NULL);
}

static struct rdma_conn *conn_new(struct rdma_ctx *ctx, struct rdma_cm_id *id)
{
    struct rdma_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->pend = calloc(ctx->base.cfg.max_onesided, sizeof(*c->pend));
    if (!c->pend || rm_table_add(ctx, c)) {
        free(c->pend);
        free(c);
        return NULL;
    }
    c->base.ctx = &ctx->base;
    c->ref.kind = RM_ID_CONN;
    c->ref.obj = c;
    c->id = id;
    id->context = &c->ref;
    return c;
}

/* Free everything of c (its completions must already be gone). */
static void conn_free(struct rdma_conn *c)
{
    struct rt_msgq_item *m;
    rm_table_remove(ctx_of(c), c);
    rm_qp_free(c);
    if (c->id)
        rdma_destroy_id(c->id);
    while ((m = c->mq_head)) {
        c->mq_head = m->next;
        free(m);
    }
    free(c->pend);
    free(c);
}

void rm_conn_fail(struct rdma_conn *c, enum rt_status st, const char *fmt, ...)
{
    enum rt_conn_state prev = c->state;
    struct rt_msgq_item *m;
    char what[RT_ERR_MAX];
    va_list ap;

    if (prev == RT_CONN_CLOSED)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    rt_conn_set_error(&c->base, "%s", what);
    c->state = RT_CONN_CLOSED;
    rm_fail_pending(c, st == RT_ERR_REMOTE_ACCESS ? RT_ERR_FLUSHED : st);
    while ((m = c->mq_head)) {
        c->mq_head = m->next;
        free(m);
    }
    c->mq_tail = NULL;
    c->mq_len = 0;
    if (c->id && prev != RT_CONN_CONNECTING && !c->severed)
        rdma_disconnect(c->id); /* moves the QP to error: outstanding WRs flush */
    if (st == RT_ERR_MALFORMED)
        ctx_of(c)->malformed++;
    if (!c->delivered)
        return; /* an acceptor-side connection the application never saw: freed by caller */
    if (!c->acceptor && prev != RT_CONN_OPEN)
        push_event(c, RT_EV_CONNECTED, st, NULL, 0);
    else
        push_event(c, RT_EV_CLOSED, st, NULL, 0);
}

static void fill_private(struct rdma_conn *c, struct rm_private *p, const void *hello, size_t len)
{
    const struct rt_config *cfg = &c->base.ctx->cfg;
    memset(p, 0, sizeof(*p));
    p->version = RM_VERSION;
    p->hello_len = (uint8_t)len;
    p->recv_depth = htole16((uint16_t)cfg->recv_depth);
    p->max_msg = htole32(cfg->max_msg);
    if (len)
        memcpy(p->hello, hello, len);
}

static int read_private(struct rdma_conn *c, const void *data, uint8_t len, bool hello)
{
    struct rm_private p;
    if (!data || len < 8)
        return -1;
    memset(&p, 0, sizeof(p));
    memcpy(&p, data, len < sizeof(p) ? len : sizeof(p));
    if (p.version != RM_VERSION || p.hello_len > RT_HELLO_MAX || 8u + p.hello_len > len)
        return -1;
    c->base.peer_recv_depth = le16toh(p.recv_depth);
    c->base.peer_max_msg = le32toh(p.max_msg);
    if (c->base.peer_recv_depth < 4 || c->base.peer_max_msg < 16)
        return -1;
    if (hello) {
        c->base.hello_len = p.hello_len;
        memcpy(c->base.hello, p.hello, p.hello_len);
    }
    return 0;
}

static void conn_param(struct rdma_conn *c, struct rdma_conn_param *cp, const void *priv,
                       uint8_t priv_len)
{
    struct rdma_ctx *ctx = ctx_of(c);
    memset(cp, 0, sizeof(*cp));
    cp->private_data = priv;
    cp->private_data_len = priv_len;
    cp->responder_resources =
        (uint8_t)(ctx->attr.max_qp_rd_atom < RM_RD_ATOM ? ctx->attr.max_qp_rd_atom : RM_RD_ATOM);
    cp->initiator_depth =
        (uint8_t)(ctx->attr.max_qp_init_rd_atom < RM_RD_ATOM ? ctx->attr.max_qp_init_rd_atom
                                                             : RM_RD_ATOM);
    cp->retry_count = c->base.ctx->cfg.rdma_retry;
    cp->rnr_retry_count = 3;
}

static int set_timeout(struct rdma_conn *c)
{
    uint8_t t = c->base.ctx->cfg.rdma_timeout;
    return rdma_set_option(c->id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &t, sizeof(t))
               ? -errno
               : 0;
}

/* ---- connector ---- */

static void on_route_resolved(struct rdma_conn *c)
{
    struct rdma_conn_param cp;
    struct rm_private p;
    int ret;

    if (c->id->verbs != ctx_of(c)->verbs) {
        rm_conn_fail(c, RT_ERR_LOCAL, "route leads to another RDMA device");
        return;
    }
    ret = rm_qp_setup(c);
    if (!ret)
        ret = set_timeout(c);
    if (ret) {
        rm_conn_fail(c, RT_ERR_LOCAL, "QP set-up failed: %s", strerror(-ret));
        return;
    }
    fill_private(c, &p, c->base.hello, c->base.hello_len);
    conn_param(c, &cp, &p, (uint8_t)(8 + c->base.hello_len));
    c->state = RT_CONN_HANDSHAKE;
    if (rdma_connect(c->id, &cp))
        rm_conn_fail(c, RT_ERR_LOCAL, "rdma_connect: %s", strerror(errno));
}

static void on_connector_event(struct rdma_conn *c, struct rdma_cm_event *ev)
{
    switch (ev->event) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
        if (rdma_resolve_route(c->id, RM_RESOLVE_MS))
            rm_conn_fail(c, RT_ERR_LOCAL, "rdma_resolve_route: %s", strerror(errno));
        break;
    case RDMA_CM_EVENT_ROUTE_RESOLVED:
        on_route_resolved(c);
        break;
    case RDMA_CM_EVENT_ESTABLISHED:
        if (read_private(c, ev->param.conn.private_data, ev->param.conn.private_data_len, false)) {
            rm_conn_fail(c, RT_ERR_MALFORMED, "bad accept private data");
            break;
        }
        c->credits = c->base.peer_recv_depth;
        c->state = RT_CONN_OPEN;
        push_event(c, RT_EV_CONNECTED, RT_OK, NULL, 0);
        break;
    case RDMA_CM_EVENT_REJECTED:
        rm_conn_fail(c, RT_ERR_DISCONNECTED, "connection rejected");
        break;
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_CONNECT_ERROR:
        rm_conn_fail(c, RT_ERR_DISCONNECTED, "connect failed: %s", rdma_event_str(ev->event));
        break;
    default:
        break;
    }
}

int rm_connect(rt_ctx *base, const char *ip, uint16_t port, const void *hello, size_t len,
               rt_conn **out)
{
    struct rdma_ctx *ctx = (struct rdma_ctx *)base;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    struct rdma_cm_id *id;
    struct rdma_conn *c;
    char ports[8];
    int ret;

    snprintf(ports, sizeof(ports), "%u", port);
    if (getaddrinfo(rm_map_loopback(ctx, ip), ports, &hints, &ai))
        return -EHOSTUNREACH;
    if (rdma_create_id(ctx->cm_ch, &id, NULL, RDMA_PS_TCP)) {
        ret = -errno;
        goto out;
    }
    c = conn_new(ctx, id);
    if (!c) {
        rdma_destroy_id(id);
        ret = -ENOMEM;
        goto out;
    }
    snprintf(c->base.peer, sizeof(c->base.peer), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
    if (len)
        memcpy(c->base.hello, hello, len);
    c->base.hello_len = (uint32_t)len;
    c->state = RT_CONN_CONNECTING;
    c->delivered = true;
    if (rdma_resolve_addr(id, NULL, ai->ai_addr, RM_RESOLVE_MS)) {
        ret = -errno;
        conn_free(c);
        goto out;
    }
    *out = &c->base;
    ret = 0;
out:
    freeaddrinfo(ai);
    return ret;
}

/* ---- acceptor ---- */

/* Returns a connection to free once the event is acked (refused), or NULL. */
static struct rdma_conn *on_connect_request(struct rdma_ctx *ctx, struct rdma_listener *l,
                                            struct rdma_cm_event *ev, struct rdma_cm_id **drop_id)
{
    struct rdma_conn_param cp;
    struct rm_private p;
    struct rdma_conn *c = NULL;

    if (ev->id->verbs != ctx->verbs || !(c = conn_new(ctx, ev->id))) {
        rdma_reject(ev->id, NULL, 0);
        *drop_id = ev->id;
        return NULL;
    }
    c->acceptor = true;
    c->listener = &l->base;
    c->state = RT_CONN_HANDSHAKE;
    rt_format_peer(c->base.peer, sizeof(c->base.peer), rdma_get_peer_addr(ev->id));
    if (read_private(c, ev->param.conn.private_data, ev->param.conn.private_data_len, true)) {
        ctx->malformed++;
        rdma_reject(ev->id, NULL, 0);
        return c;
    }
    if (rm_qp_setup(c) || set_timeout(c)) {
        rdma_reject(ev->id, NULL, 0);
        return c;
    }
    c->credits = c->base.peer_recv_depth;
    fill_private(c, &p, NULL, 0);
    conn_param(c, &cp, &p, 8);
    if (cp.responder_resources > ev->param.conn.initiator_depth)
        cp.responder_resources = ev->param.conn.initiator_depth;
    if (cp.initiator_depth > ev->param.conn.responder_resources)
        cp.initiator_depth = ev->param.conn.responder_resources;
    if (rdma_accept(ev->id, &cp))
        return c;
    return NULL;
}

void rm_conn_established(struct rdma_conn *c)
{
    if (c->state != RT_CONN_HANDSHAKE || !c->acceptor)
        return;
    c->state = RT_CONN_OPEN;
    c->delivered = true;
    ctx_of(c)->accepted++;
    push_event(c, RT_EV_ACCEPT, RT_OK, c->base.hello, c->base.hello_len);
}

static void on_conn_event(struct rdma_ctx *ctx, struct rdma_conn *c, struct rdma_cm_event *ev)
{
    (void)ctx;
    if (ev->event == RDMA_CM_EVENT_DISCONNECTED || ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL) {
        rm_conn_fail(c, RT_ERR_DISCONNECTED, "%s", rdma_event_str(ev->event));
    } else if (c->acceptor) {
        if (ev->event == RDMA_CM_EVENT_ESTABLISHED)
            rm_conn_established(c);
        else if (ev->event == RDMA_CM_EVENT_CONNECT_ERROR || ev->event == RDMA_CM_EVENT_UNREACHABLE)
            rm_conn_fail(c, RT_ERR_DISCONNECTED, "%s", rdma_event_str(ev->event));
    } else {
        on_connector_event(c, ev);
    }
}

/* Handle every pending rdma_cm event without blocking. */
void rm_cm_drain(struct rdma_ctx *ctx)
{
    struct rdma_cm_event *ev;

    while (rdma_get_cm_event(ctx->cm_ch, &ev) == 0) {
        struct rm_idref *ref =
            ev->event == RDMA_CM_EVENT_CONNECT_REQUEST ? ev->listen_id->context : ev->id->context;
        struct rdma_conn *drop = NULL;
        struct rdma_cm_id *drop_id = NULL;
        if (ref && ref->kind == RM_ID_LISTENER && ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
            drop = on_connect_request(ctx, ref->obj, ev, &drop_id);
        } else if (ref && ref->kind == RM_ID_CONN) {
            struct rdma_conn *c = ref->obj;
            on_conn_event(ctx, c, ev);
            if (c->state == RT_CONN_CLOSED && !c->delivered)
                drop = c;
        }
        rdma_ack_cm_event(ev);
        if (drop)
            conn_free(drop);
        if (drop_id)
            rdma_destroy_id(drop_id);
    }
}

/* ---- listeners ---- */

int rm_listen(rt_ctx *base, const char *ip, uint16_t port, rt_listener **out)
{
    struct rdma_ctx *ctx = (struct rdma_ctx *)base;
    struct rdma_listener *l = calloc(1, sizeof(*l));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int ret;

    if (!l)
        return -ENOMEM;
    if (inet_pton(AF_INET, rm_map_loopback(ctx, ip), &sa.sin_addr) != 1) {
        free(l);
        return -EINVAL;
    }
    l->base.ctx = base;
    l->ref.kind = RM_ID_LISTENER;
    l->ref.obj = l;
    if (rdma_create_id(ctx->cm_ch, &l->id, &l->ref, RDMA_PS_TCP)) {
        ret = -errno;
        free(l);
        return ret;
    }
    if (rdma_bind_addr(l->id, (struct sockaddr *)&sa) || rdma_listen(l->id, 128)) {
        ret = -errno;
        rdma_destroy_id(l->id);
        free(l);
        return ret;
    }
    l->base.port = ntohs(rdma_get_src_port(l->id));
    *out = &l->base;
    return 0;
}

void rm_listener_close(rt_listener *base)
{
    struct rdma_ctx *ctx = (struct rdma_ctx *)base->ctx;
    struct rdma_listener *l = (struct rdma_listener *)base;
    for (uint32_t i = 0; i < ctx->nconns; i++)
        if (ctx->conns[i] && ctx->conns[i]->listener == base)
            ctx->conns[i]->listener = NULL;
    for (struct rt_cqe *e = ctx->evq.head; e; e = e->next)
        if (e->c.listener == base)
            e->c.listener = NULL;
    rdma_destroy_id(l->id);
    free(l);
}

/* rt_sever: the QP goes to the error state, so the NIC drops what the peer sends and serves
 * none of its one-sided ops (it sees retry-exceeded), without the disconnect a failure sends. */
int rm_sever(rt_conn *conn)
{
    struct rdma_conn *c = (struct rdma_conn *)conn;
    struct ibv_qp_attr attr = {.qp_state = IBV_QPS_ERR};

    c->severed = true;
    if (!c->id || !c->id->qp)
        return 0;
    return ibv_modify_qp(c->id->qp, &attr, IBV_QP_STATE) ? -errno : 0;
}

void rm_heal(rt_ctx *base)
{
    struct rdma_ctx *ctx = (struct rdma_ctx *)base;

    for (uint32_t i = 0; i < ctx->nconns; i++)
        if (ctx->conns[i] && ctx->conns[i]->limbo)
            rm_close(&ctx->conns[i]->base);
}

void rm_close(rt_conn *conn)
{
    struct rdma_conn *c = (struct rdma_conn *)conn;
    struct rdma_ctx *ctx = ctx_of(c);
    struct rt_cqe_list keep = {0};
    struct rt_cqe *e;

    while ((e = rt_cqe_list_pop(&ctx->evq))) {
        if (e->c.conn == conn)
            free(e); /* RECV tokens need no release: the buffers go with the QP */
        else
            rt_cqe_list_push(&keep, e);
    }
    ctx->evq = keep;
    if (c->severed && !c->limbo && !ctx->closing_all) {
        c->limbo = true; /* destroying the id would tell the peer: rm_heal does */
        c->base.user = NULL;
        return;
    }
    if (c->state == RT_CONN_OPEN)
        rdma_disconnect(c->id);
    conn_free(c);
}
