/*
 * verbs/tcp_ctx.c - tcp back end: the context, its progress thread and completion queue,
 * listeners and the registered-region table.
 *
 * The progress thread sleeps in epoll_wait on every socket of the context and dispatches
 * readiness to tcp_conn.c (and accepts on listeners).  It is what lets a target serve remote
 * one-sided ops while its application thread is busy.  Completions go to ctx->cq; the
 * application drains it in rt_poll, busy-polling the atomic count first, then sleeping on
 * evfd (which the progress thread only signals while the application is armed/sleeping).
 */
#include "verbs/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

static struct tcp_ctx *tctx(rt_ctx *c)
{
    return (struct tcp_ctx *)c;
}

void tcp_cq_push(struct tcp_ctx *ctx, const struct rt_completion *c, void *token)
{
    struct rt_cqe *e = calloc(1, sizeof(*e));
    uint64_t one = 1;
    if (!e)
        abort(); /* losing a completion would break "exactly one completion" */
    e->c = *c;
    e->token = token;
    pthread_mutex_lock(&ctx->cq_mu);
    rt_cqe_list_push(&ctx->cq, e);
    __atomic_store_n(&ctx->cq_n, ctx->cq.n, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&ctx->cq_mu);
    if (__atomic_exchange_n(&ctx->armed, 0, __ATOMIC_SEQ_CST)) {
        if (write(ctx->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            perror("rdlm tcp transport: eventfd write");
    }
}

static int tcp_poll(rt_ctx *base, struct rt_cqe *out, int max)
{
    struct tcp_ctx *ctx = tctx(base);
    struct rt_cqe *e;
    int n = 0;

    if (__atomic_load_n(&ctx->cq_n, __ATOMIC_SEQ_CST) == 0)
        return 0;
    pthread_mutex_lock(&ctx->cq_mu);
    while (n < max && (e = rt_cqe_list_pop(&ctx->cq))) {
        out[n++] = *e;
        free(e);
    }
    __atomic_store_n(&ctx->cq_n, ctx->cq.n, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&ctx->cq_mu);
    return n;
}

static int tcp_arm(rt_ctx *base)
{
    struct tcp_ctx *ctx = tctx(base);
    uint64_t v;
    while (read(ctx->evfd, &v, sizeof(v)) > 0)
        ;
    __atomic_store_n(&ctx->armed, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&ctx->cq_n, __ATOMIC_SEQ_CST) != 0;
}

static void tcp_wait(rt_ctx *base, int timeout_ms)
{
    struct pollfd p = {.fd = tctx(base)->evfd, .events = POLLIN};
    poll(&p, 1, timeout_ms);
}

static int tcp_fd(rt_ctx *base)
{
    return tctx(base)->evfd;
}

static void tcp_stats(rt_ctx *base, struct rt_stats *out)
{
    struct tcp_ctx *ctx = tctx(base);
    out->malformed = __atomic_load_n(&ctx->malformed, __ATOMIC_RELAXED);
    out->accepted = __atomic_load_n(&ctx->accepted, __ATOMIC_RELAXED);
    out->remote_ops = __atomic_load_n(&ctx->remote_ops, __ATOMIC_RELAXED);
}

/* ---- tables (ctx->lock held) ---- */

static int grow(void **arr, uint32_t *n, size_t elem)
{
    uint32_t nn = *n ? *n * 2 : 8;
    void *p = realloc(*arr, nn * elem);
    if (!p)
        return -ENOMEM;
    memset((char *)p + *n * elem, 0, (nn - *n) * elem);
    *arr = p;
    *n = nn;
    return 0;
}

int tcp_table_add_conn(struct tcp_ctx *ctx, struct tcp_conn *c)
{
    struct epoll_event ev = {.events = EPOLLIN};
    uint32_t i;
    for (i = 0; i < ctx->nconns && ctx->conns[i]; i++)
        ;
    if (i == ctx->nconns && grow((void **)&ctx->conns, &ctx->nconns, sizeof(c)))
        return -ENOMEM;
    c->slot = i;
    c->gen++;
    if (c->state == RT_CONN_CONNECTING)
        ev.events |= EPOLLOUT;
    ev.data.u64 = tcp_evkey(TCP_EV_CONN, c->gen, i);
    if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, c->fd, &ev))
        return -errno;
    ctx->conns[i] = c;
    return 0;
}

int tcp_epoll_mod(struct tcp_conn *c, bool want_out)
{
    struct tcp_ctx *ctx = tctx(c->base.ctx);
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0)};
    ev.data.u64 = tcp_evkey(TCP_EV_CONN, c->gen, c->slot);
    c->want_out = want_out;
    return epoll_ctl(ctx->epfd, EPOLL_CTL_MOD, c->fd, &ev) ? -errno : 0;
}

static struct tcp_conn *conn_by_key(struct tcp_ctx *ctx, uint64_t key)
{
    uint32_t slot = (uint32_t)key;
    uint32_t gen = (uint32_t)(key >> 32) & 0xffffff;
    struct tcp_conn *c;
    if (slot >= ctx->nconns)
        return NULL;
    c = ctx->conns[slot];
    return c && (c->gen & 0xffffff) == gen ? c : NULL;
}

/* Unlink c from the table (the caller frees it).  ctx->lock held. */
static void table_remove(struct tcp_ctx *ctx, struct tcp_conn *c)
{
    if (c->slot < ctx->nconns && ctx->conns[c->slot] == c)
        ctx->conns[c->slot] = NULL;
}

/* ---- progress thread ---- */

static void dispatch(struct tcp_ctx *ctx, const struct epoll_event *ev)
{
    int kind = (int)(ev->data.u64 >> 56);
    uint64_t v;

    if (kind == TCP_EV_WAKE) {
        while (read(ctx->wakefd, &v, sizeof(v)) > 0)
            ;
    } else if (kind == TCP_EV_LISTENER) {
        uint32_t slot = (uint32_t)ev->data.u64;
        if (slot < ctx->nlis && ctx->lis[slot])
            tcp_accept_one(ctx, ctx->lis[slot]);
    } else {
        struct tcp_conn *c = conn_by_key(ctx, ev->data.u64);
        if (!c)
            return; /* closed by the application meanwhile */
        tcp_conn_event(c, ev->events);
        if (c->state == RT_CONN_CLOSED && !c->delivered) {
            table_remove(ctx, c); /* a connection the application never saw */
            tcp_conn_free(c);
        }
    }
}

static void *progress_main(void *arg)
{
    struct tcp_ctx *ctx = arg;
    struct epoll_event evs[64];

    while (!__atomic_load_n(&ctx->stop, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(ctx->epfd, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("rdlm tcp transport: epoll_wait");
            break;
        }
        pthread_mutex_lock(&ctx->lock);
        for (int i = 0; i < n; i++)
            dispatch(ctx, &evs[i]);
        pthread_mutex_unlock(&ctx->lock);
    }
    return NULL;
}

/* ---- context ---- */

static void tcp_ctx_fini(rt_ctx *base);

static int tcp_ctx_setup_fds(struct tcp_ctx *ctx)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tcp_evkey(TCP_EV_WAKE, 0, 0)};
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    ctx->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ctx->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ctx->epfd < 0 || ctx->wakefd < 0 || ctx->evfd < 0)
        return -errno;
    if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->wakefd, &ev))
        return -errno;
    return 0;
}

static int tcp_ctx_create(const struct rt_config *cfg, rt_ctx **out)
{
    struct tcp_ctx *ctx = calloc(1, sizeof(*ctx));
    int ret;

    if (!ctx)
        return -ENOMEM;
    rt_ctx_base_init(&ctx->base, &rt_tcp_ops, cfg);
    ctx->epfd = ctx->wakefd = ctx->evfd = -1;
    pthread_mutex_init(&ctx->lock, NULL);
    pthread_mutex_init(&ctx->cq_mu, NULL);
    pthread_rwlock_init(&ctx->mr_lock, NULL);
    snprintf(ctx->base.describe, sizeof(ctx->base.describe),
             "tcp (sockets, one-sided ops served by the target's progress thread)");
    ret = tcp_ctx_setup_fds(ctx);
    if (ret)
        goto err;
    ret = -pthread_create(&ctx->thread, NULL, progress_main, ctx);
    if (ret)
        goto err;
    ctx->thread_started = true;
    *out = &ctx->base;
    return 0;
err:
    tcp_ctx_fini(&ctx->base);
    return ret;
}

static void stop_thread(struct tcp_ctx *ctx)
{
    uint64_t one = 1;
    if (!ctx->thread_started)
        return;
    __atomic_store_n(&ctx->stop, 1, __ATOMIC_RELEASE);
    if (write(ctx->wakefd, &one, sizeof(one)) < 0)
        perror("rdlm tcp transport: wake");
    pthread_join(ctx->thread, NULL);
    ctx->thread_started = false;
}

static void free_tables(struct tcp_ctx *ctx)
{
    struct rt_cqe *e;
    for (uint32_t i = 0; i < ctx->nconns; i++)
        if (ctx->conns[i])
            tcp_conn_free(ctx->conns[i]);
    for (uint32_t i = 0; i < ctx->nlis; i++) {
        if (ctx->lis[i]) {
            close(ctx->lis[i]->fd);
            free(ctx->lis[i]);
        }
    }
    for (uint32_t i = 0; i < ctx->nmrs; i++)
        free(ctx->mrs[i]);
    while ((e = rt_cqe_list_pop(&ctx->cq))) {
        free(e->token);
        free(e);
    }
    free(ctx->conns);
    free(ctx->lis);
    free(ctx->mrs);
}

static void tcp_ctx_fini(rt_ctx *base)
{
    struct tcp_ctx *ctx = tctx(base);
    stop_thread(ctx);
    free_tables(ctx);
    tcp_heal(base);
    if (ctx->epfd >= 0)
        close(ctx->epfd);
    if (ctx->wakefd >= 0)
        close(ctx->wakefd);
    if (ctx->evfd >= 0)
        close(ctx->evfd);
    pthread_mutex_destroy(&ctx->lock);
    pthread_mutex_destroy(&ctx->cq_mu);
    pthread_rwlock_destroy(&ctx->mr_lock);
    free(ctx);
}

/* ---- listeners ---- */

static int bind_listen(const char *ip, uint16_t port, uint16_t *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    socklen_t sl = sizeof(sa);
    int one = 1, fd;

    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
        return -EINVAL;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        int e = -errno;
        close(fd);
        return e;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

static int tcp_listen(rt_ctx *base, const char *ip, uint16_t port, rt_listener **out)
{
    struct tcp_ctx *ctx = tctx(base);
    struct tcp_listener *l = calloc(1, sizeof(*l));
    struct epoll_event ev = {.events = EPOLLIN};
    uint32_t i;
    int ret;

    if (!l)
        return -ENOMEM;
    l->base.ctx = base;
    l->fd = bind_listen(ip, port, &l->base.port);
    if (l->fd < 0) {
        ret = l->fd;
        free(l);
        return ret;
    }
    pthread_mutex_lock(&ctx->lock);
    for (i = 0; i < ctx->nlis && ctx->lis[i]; i++)
        ;
    ret = i == ctx->nlis ? grow((void **)&ctx->lis, &ctx->nlis, sizeof(l)) : 0;
    ev.data.u64 = tcp_evkey(TCP_EV_LISTENER, 0, i);
    if (!ret && epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, l->fd, &ev))
        ret = -errno;
    if (!ret) {
        l->slot = i;
        ctx->lis[i] = l;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (ret) {
        close(l->fd);
        free(l);
        return ret;
    }
    *out = &l->base;
    return 0;
}

static void tcp_listener_close(rt_listener *base)
{
    struct tcp_ctx *ctx = tctx(base->ctx);
    struct tcp_listener *l = (struct tcp_listener *)base;
    pthread_mutex_lock(&ctx->lock);
    epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, l->fd, NULL);
    ctx->lis[l->slot] = NULL;
    for (uint32_t i = 0; i < ctx->nconns; i++)
        if (ctx->conns[i] && ctx->conns[i]->listener == base)
            ctx->conns[i]->listener = NULL;
    pthread_mutex_unlock(&ctx->lock);
    close(l->fd);
    free(l);
}

void tcp_close(rt_conn *conn)
{
    struct tcp_conn *c = (struct tcp_conn *)conn;
    struct tcp_ctx *ctx = tctx(conn->ctx);
    struct rt_cqe_list keep = {0};
    struct rt_cqe *e;

    pthread_mutex_lock(&ctx->lock);
    table_remove(ctx, c);
    pthread_mutex_unlock(&ctx->lock);
    pthread_mutex_lock(&ctx->cq_mu);
    while ((e = rt_cqe_list_pop(&ctx->cq))) {
        if (e->c.conn == conn) {
            free(e->token);
            free(e);
        } else {
            rt_cqe_list_push(&keep, e);
        }
    }
    ctx->cq = keep;
    __atomic_store_n(&ctx->cq_n, ctx->cq.n, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&ctx->cq_mu);
    if (c->silent && c->fd >= 0) { /* severed: the peer must not see a FIN (rt_heal) */
        int *v = realloc(ctx->limbo, (ctx->nlimbo + 1) * sizeof(*v));
        if (v) {
            ctx->limbo = v;
            ctx->limbo[ctx->nlimbo++] = c->fd;
            c->fd = -1;
        }
    }
    tcp_conn_free(c);
}

void tcp_heal(rt_ctx *base)
{
    struct tcp_ctx *ctx = tctx(base);

    for (uint32_t i = 0; i < ctx->nlimbo; i++)
        close(ctx->limbo[i]);
    free(ctx->limbo);
    ctx->limbo = NULL;
    ctx->nlimbo = 0;
}

/* ---- registered regions ---- */

static int tcp_reg(rt_ctx *base, void *addr, size_t len, rt_mr **out)
{
    struct tcp_ctx *ctx = tctx(base);
    struct rt_mr *mr = calloc(1, sizeof(*mr));
    uint32_t i;
    int ret = 0;

    if (!mr)
        return -ENOMEM;
    mr->ctx = base;
    mr->addr = addr;
    mr->len = len;
    mr->raddr = (uint64_t)(uintptr_t)addr;
    pthread_rwlock_wrlock(&ctx->mr_lock);
    do {
        if (getrandom(&mr->rkey, sizeof(mr->rkey), 0) != sizeof(mr->rkey))
            mr->rkey = (uint32_t)rt_now_ns();
    } while (mr->rkey == 0 || tcp_mr_find(ctx, mr->rkey));
    for (i = 0; i < ctx->nmrs && ctx->mrs[i]; i++)
        ;
    if (i == ctx->nmrs)
        ret = grow((void **)&ctx->mrs, &ctx->nmrs, sizeof(mr));
    if (!ret)
        ctx->mrs[i] = mr;
    pthread_rwlock_unlock(&ctx->mr_lock);
    if (ret) {
        free(mr);
        return ret;
    }
    *out = mr;
    return 0;
}

static void tcp_dereg(rt_mr *mr)
{
    struct tcp_ctx *ctx = tctx(mr->ctx);
    pthread_rwlock_wrlock(&ctx->mr_lock);
    for (uint32_t i = 0; i < ctx->nmrs; i++)
        if (ctx->mrs[i] == mr)
            ctx->mrs[i] = NULL;
    pthread_rwlock_unlock(&ctx->mr_lock);
    free(mr);
}

struct rt_mr *tcp_mr_find(struct tcp_ctx *ctx, uint32_t rkey)
{
    for (uint32_t i = 0; i < ctx->nmrs; i++)
        if (ctx->mrs[i] && ctx->mrs[i]->rkey == rkey)
            return ctx->mrs[i];
    return NULL;
}

const struct rt_ops rt_tcp_ops = {
    .name = "tcp",
    .ctx_create = tcp_ctx_create,
    .ctx_fini = tcp_ctx_fini,
    .poll = tcp_poll,
    .wait = tcp_wait,
    .release = tcp_release,
    .fd = tcp_fd,
    .arm = tcp_arm,
    .listen = tcp_listen,
    .listener_close = tcp_listener_close,
    .connect = tcp_connect,
    .close = tcp_close,
    .sever = tcp_sever,
    .heal = tcp_heal,
    .send = tcp_send,
    .reg = tcp_reg,
    .dereg = tcp_dereg,
    .post = tcp_post,
    .local_atomic = tcp_local_atomic,
    .stats = tcp_stats,
};
