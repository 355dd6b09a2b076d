/*
 * verbs/transport.c - dispatch: configuration, back-end selection, argument checks, polling.
 *
 * The public calls of transport.h land here, are checked, and go to the context's rt_ops
 * (tcp_*.c or rdma_*.c).  Polling lives here too: rt_poll hands out completions the back end
 * harvested plus those rt_wait_* set aside, busy-polls for spin_us and then sleeps in the
 * back end's wait.  A RECV's buffer stays valid until the next rt_poll; at that point it is
 * released to the back end, which re-posts it and owes the sender one credit.
 */
#include "verbs/rt_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rt_config_init(struct rt_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->backend = RT_BACKEND_DEFAULT;
    cfg->max_msg = 4096;
    cfg->recv_depth = 64;
    cfg->max_onesided = 64;
    cfg->send_queue = 4096;
    cfg->spin_us = 100;
    if (getenv("RDLM_SPIN_US")) /* busy-poll budget before sleeping; tuning knob */
        cfg->spin_us = (uint32_t)strtoul(getenv("RDLM_SPIN_US"), NULL, 10);
    cfg->rdma_timeout = 14;
    cfg->rdma_retry = 3;
}

const char *rt_backend_name(enum rt_backend b)
{
    switch (b) {
    case RT_BACKEND_TCP:
        return "tcp";
    case RT_BACKEND_RDMA:
        return "rdma";
    case RT_BACKEND_AUTO:
        return "auto";
    default:
        return "default";
    }
}

const char *rt_status_str(enum rt_status s)
{
    static const char *const names[] = {
        [RT_OK] = "success",
        [RT_ERR_REMOTE_ACCESS] = "remote access error",
        [RT_ERR_RETRY_EXCEEDED] = "retry exceeded (peer not answering)",
        [RT_ERR_DISCONNECTED] = "disconnected",
        [RT_ERR_MALFORMED] = "malformed frame",
        [RT_ERR_FLUSHED] = "flushed (connection failed)",
        [RT_ERR_LOCAL] = "local error",
        [RT_ERR_TIMEOUT] = "timed out",
    };
    if ((unsigned)s < sizeof(names) / sizeof(names[0]) && names[s])
        return names[s];
    return "unknown status";
}

const char *rt_op_str(enum rt_op op)
{
    static const char *const names[] = {
        [RT_OP_NONE] = "none",           [RT_OP_CAS] = "CAS",     [RT_OP_FAA] = "FAA",
        [RT_OP_READ] = "READ",           [RT_OP_WRITE] = "WRITE", [RT_OP_CAS_READ] = "CAS+READ",
        [RT_OP_WRITE_CAS] = "WRITE+CAS",
    };
    if ((unsigned)op < sizeof(names) / sizeof(names[0]) && names[op])
        return names[op];
    return "unknown op";
}

uint64_t rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rt_conn_set_error(rt_conn *c, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(c->error, sizeof(c->error), "peer %s: ", c->peer);
    if (n < 0 || (size_t)n >= sizeof(c->error))
        return;
    va_start(ap, fmt);
    vsnprintf(c->error + n, sizeof(c->error) - (size_t)n, fmt, ap);
    va_end(ap);
}

void rt_cqe_list_push(struct rt_cqe_list *l, struct rt_cqe *e)
{
    e->next = NULL;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->n++;
}

struct rt_cqe *rt_cqe_list_pop(struct rt_cqe_list *l)
{
    struct rt_cqe *e = l->head;
    if (!e)
        return NULL;
    l->head = e->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    e->next = NULL;
    return e;
}

static enum rt_backend env_backend(void)
{
    const char *s = getenv("RDLM_TRANSPORT");
    if (!s || !*s || !strcmp(s, "auto"))
        return RT_BACKEND_AUTO;
    if (!strcmp(s, "tcp"))
        return RT_BACKEND_TCP;
    if (!strcmp(s, "rdma"))
        return RT_BACKEND_RDMA;
    fprintf(stderr, "rdlm transport: RDLM_TRANSPORT=%s not understood (rdma|tcp|auto); auto\n", s);
    return RT_BACKEND_AUTO;
}

static int check_config(const struct rt_config *cfg)
{
    if (cfg->max_msg < 16 || cfg->max_msg > (1u << 24))
        return -EINVAL;
    if (cfg->recv_depth < 4 || cfg->recv_depth > 4096)
        return -EINVAL;
    if (cfg->max_onesided < 1 || cfg->max_onesided > 4096)
        return -EINVAL;
    if (cfg->rdma_timeout > 31 || cfg->rdma_retry > 7)
        return -EINVAL;
    return 0;
}

static enum rt_backend pick_backend(struct rt_config *cfg)
{
    enum rt_backend b = cfg->backend == RT_BACKEND_DEFAULT ? env_backend() : cfg->backend;
    const char *req = getenv("RDLM_REQUIRE_RDMA");
    if (req && !strcmp(req, "1"))
        cfg->require_rdma = 1;
    if (b == RT_BACKEND_AUTO && cfg->require_rdma)
        return RT_BACKEND_RDMA;
    if (b == RT_BACKEND_AUTO)
        b = rt_rdma_available(NULL, 0) ? RT_BACKEND_RDMA : RT_BACKEND_TCP;
    return b;
}

int rt_ctx_create(const struct rt_config *cfg_in, rt_ctx **out)
{
    struct rt_config cfg;
    const struct rt_ops *ops;
    rt_ctx *ctx = NULL;
    int ret;

    if (cfg_in)
        cfg = *cfg_in;
    else
        rt_config_init(&cfg);
    ret = check_config(&cfg);
    if (ret)
        return ret;
    cfg.backend = pick_backend(&cfg);
    ops = cfg.backend == RT_BACKEND_RDMA ? &rt_rdma_ops : &rt_tcp_ops;
    ret = ops->ctx_create(&cfg, &ctx);
    if (ret)
        return ret;
    *out = ctx;
    return 0;
}

static void release_list(rt_ctx *ctx, struct rt_cqe_list *l)
{
    struct rt_cqe *e;
    while ((e = rt_cqe_list_pop(l))) {
        if (e->token)
            ctx->ops->release(e->c.conn, e->token);
        free(e);
    }
}

void rt_ctx_destroy(rt_ctx *ctx)
{
    if (!ctx)
        return;
    release_list(ctx, &ctx->delivered);
    release_list(ctx, &ctx->deferred);
    ctx->ops->ctx_fini(ctx);
}

enum rt_backend rt_ctx_backend(const rt_ctx *ctx)
{
    return ctx->backend;
}

const char *rt_ctx_describe(const rt_ctx *ctx)
{
    return ctx->describe;
}

void rt_ctx_stats(rt_ctx *ctx, struct rt_stats *out)
{
    memset(out, 0, sizeof(*out));
    ctx->ops->stats(ctx, out);
}

int rt_ctx_fd(rt_ctx *ctx)
{
    return ctx->ops->fd(ctx);
}

int rt_arm(rt_ctx *ctx)
{
    if (ctx->deferred.n)
        return 1;
    return ctx->ops->arm(ctx);
}

/* Hand one harvested completion to the caller; remember RECV tokens for release. */
static void deliver(rt_ctx *ctx, struct rt_cqe *e, struct rt_completion *out)
{
    *out = e->c;
    if (ctx->cfg.on_error && e->c.status != RT_OK &&
        (e->c.type == RT_EV_CLOSED || e->c.type == RT_EV_OP))
        ctx->cfg.on_error(e->c.conn, e->c.status, e->c.conn->error, ctx->cfg.cb_arg);
    if (e->token) {
        rt_cqe_list_push(&ctx->delivered, e);
    } else {
        free(e);
    }
}

/* A completion of a severed connection is dropped (rt_sever): true if e was. */
static bool drop_severed(rt_ctx *ctx, struct rt_cqe *e)
{
    if (!e->c.conn || !e->c.conn->severed)
        return false;
    if (e->token)
        ctx->ops->release(e->c.conn, e->token);
    free(e);
    return true;
}

static int harvest(rt_ctx *ctx, struct rt_cqe_list *into, int max)
{
    struct rt_cqe buf[32];
    int n, i;

    if (max > 32)
        max = 32;
    n = ctx->ops->poll(ctx, buf, max);
    for (i = 0; i < n; i++) {
        struct rt_cqe *e = malloc(sizeof(*e));
        if (!e) {
            /* Cannot happen in practice; dropping would lose a completion. */
            abort();
        }
        *e = buf[i];
        if (drop_severed(ctx, e))
            continue;
        rt_cqe_list_push(into, e);
    }
    return n;
}

static int elapsed_ms(uint64_t start)
{
    return (int)((rt_now_ns() - start) / 1000000u);
}

/* Busy-poll for spin_us, then sleep in the back end until the deadline. */
static int wait_some(rt_ctx *ctx, struct rt_cqe_list *into, int max, int timeout_ms, uint64_t start)
{
    uint64_t spin_until = start + (uint64_t)ctx->cfg.spin_us * 1000u;
    int n;

    for (;;) {
        n = harvest(ctx, into, max);
        if (n != 0 || timeout_ms == 0)
            return n;
        if (timeout_ms > 0 && elapsed_ms(start) >= timeout_ms)
            return 0;
        if (rt_now_ns() < spin_until)
            continue;
        if (ctx->ops->arm(ctx))
            continue;
        int left = timeout_ms < 0 ? 100 : timeout_ms - elapsed_ms(start);
        if (left > 100)
            left = 100;
        if (left > 0)
            ctx->ops->wait(ctx, left);
    }
}

int rt_poll(rt_ctx *ctx, struct rt_completion *out, int max, int timeout_ms)
{
    struct rt_cqe_list got = {0};
    struct rt_cqe *e;
    int n = 0, ret;

    if (max <= 0)
        return -EINVAL;
    release_list(ctx, &ctx->delivered);
    while (n < max && (e = rt_cqe_list_pop(&ctx->deferred)))
        if (!drop_severed(ctx, e))
            deliver(ctx, e, &out[n++]);
    if (n == max)
        return n;
    ret = wait_some(ctx, &got, max - n, n ? 0 : timeout_ms, rt_now_ns());
    if (ret < 0 && n == 0)
        return ret;
    while ((e = rt_cqe_list_pop(&got)))
        deliver(ctx, e, &out[n++]);
    return n;
}

typedef bool (*match_fn)(const struct rt_completion *c, rt_conn *conn, uint64_t key);

static bool match_op(const struct rt_completion *c, rt_conn *conn, uint64_t cookie)
{
    return c->type == RT_EV_OP && c->conn == conn && c->cookie == cookie;
}

static bool match_event(const struct rt_completion *c, rt_conn *conn, uint64_t type)
{
    return c->type == (enum rt_event)type && c->conn == conn;
}

/* Move the first match out of l (NULL if none). */
static struct rt_cqe *take_match(struct rt_cqe_list *l, match_fn m, rt_conn *conn, uint64_t key)
{
    struct rt_cqe *prev = NULL, *e;
    for (e = l->head; e; prev = e, e = e->next) {
        if (!m(&e->c, conn, key))
            continue;
        if (prev)
            prev->next = e->next;
        else
            l->head = e->next;
        if (l->tail == e)
            l->tail = prev;
        l->n--;
        e->next = NULL;
        return e;
    }
    return NULL;
}

static int wait_match(rt_ctx *ctx, match_fn m, rt_conn *conn, uint64_t key,
                      struct rt_completion *out, int timeout_ms)
{
    uint64_t start = rt_now_ns();
    struct rt_cqe *e;
    int ret;

    for (;;) {
        e = take_match(&ctx->deferred, m, conn, key);
        if (e) {
            deliver(ctx, e, out);
            return 0;
        }
        if (timeout_ms >= 0 && elapsed_ms(start) > timeout_ms)
            return -ETIMEDOUT;
        ret = wait_some(ctx, &ctx->deferred, 32, timeout_ms < 0 ? 100 : 1 + timeout_ms, start);
        if (ret < 0)
            return ret;
    }
}

int rt_wait_op(rt_ctx *ctx, rt_conn *conn, uint64_t cookie, struct rt_completion *out,
               int timeout_ms)
{
    return wait_match(ctx, match_op, conn, cookie, out, timeout_ms);
}

int rt_wait_event(rt_ctx *ctx, rt_conn *conn, enum rt_event type, struct rt_completion *out,
                  int timeout_ms)
{
    return wait_match(ctx, match_event, conn, (uint64_t)type, out, timeout_ms);
}

int rt_listen(rt_ctx *ctx, const char *ip, uint16_t port, rt_listener **out)
{
    return ctx->ops->listen(ctx, ip ? ip : "0.0.0.0", port, out);
}

uint16_t rt_listener_port(const rt_listener *l)
{
    return l->port;
}

void rt_listener_close(rt_listener *l)
{
    if (l)
        l->ctx->ops->listener_close(l);
}

int rt_connect(rt_ctx *ctx, const char *ip, uint16_t port, const void *hello, size_t hello_len,
               rt_conn **out)
{
    if (hello_len > RT_HELLO_MAX || (hello_len && !hello) || !ip)
        return -EINVAL;
    return ctx->ops->connect(ctx, ip, port, hello, hello_len, out);
}

int rt_connect_sync(rt_ctx *ctx, const char *ip, uint16_t port, const void *hello, size_t hello_len,
                    int timeout_ms, rt_conn **out)
{
    struct rt_completion c;
    rt_conn *conn;
    int ret = rt_connect(ctx, ip, port, hello, hello_len, &conn);
    if (ret)
        return ret;
    ret = rt_wait_event(ctx, conn, RT_EV_CONNECTED, &c, timeout_ms);
    if (ret == 0 && c.status != RT_OK)
        ret = c.status == RT_ERR_TIMEOUT ? -ETIMEDOUT : -ECONNREFUSED;
    if (ret) {
        rt_close(conn);
        return ret;
    }
    *out = conn;
    return 0;
}

/* Drop every kept completion of conn (it is going away). */
static void purge_conn(rt_ctx *ctx, struct rt_cqe_list *l, rt_conn *conn)
{
    struct rt_cqe_list keep = {0};
    struct rt_cqe *e;
    while ((e = rt_cqe_list_pop(l))) {
        if (e->c.conn != conn) {
            rt_cqe_list_push(&keep, e);
            continue;
        }
        if (e->token)
            ctx->ops->release(conn, e->token);
        free(e);
    }
    *l = keep;
}

void rt_close(rt_conn *conn)
{
    rt_ctx *ctx;
    if (!conn)
        return;
    ctx = conn->ctx;
    purge_conn(ctx, &ctx->delivered, conn);
    purge_conn(ctx, &ctx->deferred, conn);
    ctx->ops->close(conn);
}

const char *rt_conn_peer(const rt_conn *conn)
{
    return conn->peer;
}

const char *rt_conn_error(const rt_conn *conn)
{
    return conn->error;
}

const void *rt_conn_hello(const rt_conn *conn, uint32_t *len)
{
    if (len)
        *len = conn->hello_len;
    return conn->hello;
}

void rt_conn_set_user(rt_conn *conn, void *user)
{
    conn->user = user;
}

void *rt_conn_user(const rt_conn *conn)
{
    return conn->user;
}

uint32_t rt_conn_max_msg(const rt_conn *conn)
{
    return conn->peer_max_msg;
}

int rt_sever(rt_conn *conn)
{
    if (!conn)
        return -EINVAL;
    if (conn->severed)
        return 0;
    conn->severed = true;
    purge_conn(conn->ctx, &conn->ctx->deferred, conn);
    return conn->ctx->ops->sever(conn);
}

void rt_heal(rt_ctx *ctx)
{
    ctx->ops->heal(ctx);
}

int rt_send(rt_conn *conn, const void *buf, size_t len)
{
    if (len > conn->ctx->cfg.max_msg || (conn->peer_max_msg && len > conn->peer_max_msg))
        return -EMSGSIZE;
    if (len && !buf)
        return -EINVAL;
    if (conn->severed)
        return 0; /* a partition: the message is lost on the way */
    return conn->ctx->ops->send(conn, buf, len);
}

void rt_ctx_base_init(rt_ctx *ctx, const struct rt_ops *ops, const struct rt_config *cfg)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->ops = ops;
    ctx->cfg = *cfg;
    ctx->backend = cfg->backend;
}

void rt_format_peer(char *out, size_t len, const void *sockaddr)
{
    const struct sockaddr *sa = sockaddr;
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = sockaddr;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
        snprintf(out, len, "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = sockaddr;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
        snprintf(out, len, "[%s]:%u", ip, port);
    } else {
        snprintf(out, len, "unknown");
    }
}
