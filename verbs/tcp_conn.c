/*
 * verbs/tcp_conn.c - tcp back end connections: connect/accept and the hello handshake,
 * the outbound byte queue, messages with credit flow control, frame intake, failure.
 *
 * Handshake: the connector sends HELLO {max_msg, recv_depth, hello}, the acceptor answers
 * HELLO_ACK {max_msg, recv_depth}; then each side may send peer.recv_depth messages before it
 * needs credits back.  A receiver returns a credit when the application has released the
 * message (at its next rt_poll): piggybacked on any frame it sends, or as a CREDIT frame once
 * rt_credit_threshold() are owed.  A sender out of credits queues the message locally.
 *
 * Sockets are non-blocking; a frame is appended to the outbound queue and written at once;
 * what the kernel does not take is written by the progress thread on EPOLLOUT.  Only the
 * progress thread reads, fails a connection and closes its socket; an application thread
 * that hits a write error leaves it for the progress thread (EPOLLERR/HUP follows).
 */
#include "verbs/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_READ_CHUNK 65536u

static struct tcp_ctx *ctx_of(struct tcp_conn *c)
{
    return (struct tcp_ctx *)c->base.ctx;
}

struct tcp_conn *tcp_conn_new(struct tcp_ctx *ctx, int fd, const char *peer)
{
    struct tcp_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->pend = calloc(ctx->base.cfg.max_onesided, sizeof(*c->pend));
    if (!c->pend) {
        free(c);
        return NULL;
    }
    c->base.ctx = &ctx->base;
    snprintf(c->base.peer, sizeof(c->base.peer), "%s", peer);
    pthread_mutex_init(&c->mu, NULL);
    c->fd = fd;
    return c;
}

void tcp_conn_free(struct tcp_conn *c)
{
    struct tcp_msg *m;
    if (c->fd >= 0) {
        epoll_ctl(ctx_of(c)->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    while ((m = c->mq_head)) {
        c->mq_head = m->next;
        free(m);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->out.buf);
    free(c->rbuf);
    free(c->pend);
    free(c);
}

/* ---- outbound queue (conn->mu held) ---- */

static uint8_t *out_reserve(struct tcp_outq *q, size_t n)
{
    if (q->head == q->len)
        q->head = q->len = 0;
    if (q->len + n > q->cap) {
        if (q->head) {
            memmove(q->buf, q->buf + q->head, q->len - q->head);
            q->len -= q->head;
            q->head = 0;
        }
        if (q->len + n > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n)
                cap *= 2;
            uint8_t *b = realloc(q->buf, cap);
            if (!b)
                return NULL;
            q->buf = b;
            q->cap = cap;
        }
    }
    q->len += n;
    return q->buf + q->len - n;
}

int tcp_out_frame(struct tcp_conn *c, uint8_t type, uint32_t id, const void *p1, uint32_t n1,
                  const void *p2, uint32_t n2)
{
    struct tf_hdr h = {.version = TF_VERSION, .type = type, .len = n1 + n2, .id = id};
    uint8_t *p;

    if (c->fd < 0)
        return -ENOTCONN;
    p = out_reserve(&c->out, TF_HDR + (size_t)n1 + n2);
    if (!p)
        return -ENOMEM;
    if (c->state == RT_CONN_OPEN) {
        h.credits = c->owed; /* piggyback every credit we owe */
        c->owed = 0;
    }
    tf_hdr_encode(p, &h);
    if (n1)
        memcpy(p + TF_HDR, p1, n1);
    if (n2)
        memcpy(p + TF_HDR + n1, p2, n2);
    return 0;
}

void tcp_flush(struct tcp_conn *c)
{
    struct tcp_outq *q = &c->out;
    if (__atomic_load_n(&c->silent, __ATOMIC_ACQUIRE)) {
        q->head = q->len = 0; /* severed: what we would send is lost on the way */
        return;
    }
    while (c->fd >= 0 && q->head < q->len) {
        ssize_t n = send(c->fd, q->buf + q->head, q->len - q->head, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            q->head += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out)
                tcp_epoll_mod(c, true);
            return;
        }
        q->head = q->len = 0; /* broken: the progress thread sees EPOLLERR/HUP and fails it */
        return;
    }
    if (c->want_out && c->state != RT_CONN_CONNECTING && c->fd >= 0)
        tcp_epoll_mod(c, false);
}

/* ---- messages and credits ---- */

static void drain_queued(struct tcp_conn *c)
{
    struct tcp_msg *m;
    while (c->credits > 0 && (m = c->mq_head)) {
        if (tcp_out_frame(c, TF_MSG, 0, m->len ? m->data : NULL, m->len, NULL, 0))
            return;
        c->credits--;
        c->mq_head = m->next;
        if (!c->mq_head)
            c->mq_tail = NULL;
        c->mq_len--;
        free(m);
    }
    tcp_flush(c);
}

static int queue_msg(struct tcp_conn *c, const void *buf, size_t len)
{
    struct tcp_msg *m;
    if (c->mq_len >= c->base.ctx->cfg.send_queue)
        return -EAGAIN;
    m = malloc(sizeof(*m) + len);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->len = (uint32_t)len;
    memcpy(m->data, buf, len);
    if (c->mq_tail)
        c->mq_tail->next = m;
    else
        c->mq_head = m;
    c->mq_tail = m;
    c->mq_len++;
    return 0;
}

int tcp_send(rt_conn *conn, const void *buf, size_t len)
{
    struct tcp_conn *c = (struct tcp_conn *)conn;
    int ret;

    pthread_mutex_lock(&c->mu);
    if (c->state != RT_CONN_OPEN) {
        ret = -ENOTCONN;
    } else if (c->credits > 0 && !c->mq_head) {
        ret = tcp_out_frame(c, TF_MSG, 0, buf, (uint32_t)len, NULL, 0);
        if (!ret)
            c->credits--;
    } else {
        ret = queue_msg(c, buf, len);
    }
    tcp_flush(c);
    pthread_mutex_unlock(&c->mu);
    return ret;
}

void tcp_release(rt_conn *conn, void *token)
{
    struct tcp_conn *c = (struct tcp_conn *)conn;
    free(token);
    pthread_mutex_lock(&c->mu);
    if (c->rx_held)
        c->rx_held--;
    c->owed++;
    if (c->state == RT_CONN_OPEN && c->owed >= rt_credit_threshold(conn->ctx->cfg.recv_depth)) {
        tcp_out_frame(c, TF_CREDIT, 0, NULL, 0, NULL, 0);
        tcp_flush(c);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- failure ---- */

static void push_event(struct tcp_conn *c, enum rt_event type, enum rt_status st, const void *data,
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
    tcp_cq_push(ctx_of(c), &comp, NULL);
}

void tcp_conn_fail(struct tcp_conn *c, enum rt_status st, const char *fmt, ...)
{
    enum rt_conn_state prev;
    struct tcp_msg *m;
    char what[RT_ERR_MAX];
    va_list ap;
    int fd;

    pthread_mutex_lock(&c->mu);
    prev = c->state;
    if (prev == RT_CONN_CLOSED) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    rt_conn_set_error(&c->base, "%s", what);
    c->state = RT_CONN_CLOSED;
    fd = c->fd;
    c->fd = -1;
    tcp_fail_pending(c, st);
    while ((m = c->mq_head)) {
        c->mq_head = m->next;
        free(m);
    }
    c->mq_tail = NULL;
    c->mq_len = 0;
    pthread_mutex_unlock(&c->mu);
    epoll_ctl(ctx_of(c)->epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (st == RT_ERR_MALFORMED)
        __atomic_fetch_add(&ctx_of(c)->malformed, 1, __ATOMIC_RELAXED);
    if (!c->delivered)
        return;
    if (!c->acceptor && prev != RT_CONN_OPEN)
        push_event(c, RT_EV_CONNECTED, st, NULL, 0);
    else
        push_event(c, RT_EV_CLOSED, st, NULL, 0);
}

/* ---- frame intake (progress thread, conn->mu held) ---- */

static int on_hello(struct tcp_conn *c, const struct tf_hdr *h, const uint8_t *p)
{
    const struct rt_config *cfg = &c->base.ctx->cfg;
    uint8_t ack[8];

    if (!c->acceptor || c->state != RT_CONN_HANDSHAKE)
        return -1;
    c->base.peer_max_msg = tf_get32(p);
    c->base.peer_recv_depth = tf_get32(p + 4);
    if (c->base.peer_max_msg < 16 || c->base.peer_recv_depth < 1)
        return -1;
    c->base.hello_len = h->len - 8;
    if (c->base.hello_len)
        memcpy(c->base.hello, p + 8, c->base.hello_len);
    tf_put32(ack, cfg->max_msg);
    tf_put32(ack + 4, cfg->recv_depth);
    tcp_out_frame(c, TF_HELLO_ACK, 0, ack, 8, NULL, 0);
    c->state = RT_CONN_OPEN;
    c->credits = c->base.peer_recv_depth;
    c->delivered = true;
    tcp_flush(c);
    __atomic_fetch_add(&ctx_of(c)->accepted, 1, __ATOMIC_RELAXED);
    push_event(c, RT_EV_ACCEPT, RT_OK, c->base.hello, c->base.hello_len);
    return 0;
}

static int on_hello_ack(struct tcp_conn *c, const uint8_t *p)
{
    if (c->acceptor || c->state != RT_CONN_HANDSHAKE)
        return -1;
    c->base.peer_max_msg = tf_get32(p);
    c->base.peer_recv_depth = tf_get32(p + 4);
    if (c->base.peer_max_msg < 16 || c->base.peer_recv_depth < 1)
        return -1;
    c->state = RT_CONN_OPEN;
    c->credits = c->base.peer_recv_depth;
    push_event(c, RT_EV_CONNECTED, RT_OK, NULL, 0);
    return 0;
}

static int on_msg(struct tcp_conn *c, const struct tf_hdr *h, const uint8_t *p)
{
    struct rt_completion comp = {.type = RT_EV_RECV, .conn = &c->base, .len = h->len};
    uint8_t *copy;

    if (c->rx_held >= c->base.ctx->cfg.recv_depth)
        return -1; /* the peer sent without a credit */
    copy = malloc(h->len ? h->len : 1);
    if (!copy)
        return -1;
    memcpy(copy, p, h->len);
    comp.data = copy;
    c->rx_held++;
    tcp_cq_push(ctx_of(c), &comp, copy);
    return 0;
}

static int take_credits(struct tcp_conn *c, uint32_t n)
{
    if (!n)
        return 0;
    if (c->state != RT_CONN_OPEN || n > c->base.peer_recv_depth - c->credits)
        return -1; /* more credits than messages we sent */
    c->credits += n;
    drain_queued(c);
    return 0;
}

static int handle_frame(struct tcp_conn *c, const struct tf_hdr *h, const uint8_t *p)
{
    if (take_credits(c, h->credits))
        return -1;
    switch (h->type) {
    case TF_HELLO:
        return on_hello(c, h, p);
    case TF_HELLO_ACK:
        return on_hello_ack(c, p);
    case TF_CREDIT:
        return c->state == RT_CONN_OPEN ? 0 : -1;
    case TF_MSG:
        return c->state == RT_CONN_OPEN ? on_msg(c, h, p) : -1;
    case TF_RESP:
        return c->state == RT_CONN_OPEN ? tcp_complete(c, h, p) : -1;
    default:
        if (c->state != RT_CONN_OPEN)
            return -1;
        return tcp_serve(c, h, p);
    }
}

static int ensure_rbuf(struct tcp_conn *c, size_t need)
{
    if (c->rcap >= need)
        return 0;
    size_t cap = c->rcap ? c->rcap : TCP_READ_CHUNK;
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(c->rbuf, cap);
    if (!b)
        return -1;
    c->rbuf = b;
    c->rcap = cap;
    return 0;
}

/* Parse every complete frame in rbuf; 0, or -1 after failing the connection. */
static int parse_frames(struct tcp_conn *c)
{
    size_t pos = 0;
    int bad = 0;
    struct tf_hdr h;

    while (c->rlen - pos >= TF_HDR) {
        tf_hdr_decode(c->rbuf + pos, &h);
        if (tf_check(&h, c->base.ctx->cfg.max_msg)) {
            bad = 1;
            break;
        }
        if (c->rlen - pos < TF_HDR + (size_t)h.len)
            break;
        pthread_mutex_lock(&c->mu);
        bad = c->state == RT_CONN_CLOSED || c->silent ? 0
                                                      : handle_frame(c, &h, c->rbuf + pos + TF_HDR);
        pthread_mutex_unlock(&c->mu);
        if (bad)
            break;
        pos += TF_HDR + h.len;
    }
    if (bad) {
        tcp_conn_fail(c, RT_ERR_MALFORMED, "malformed frame (type %u, %u bytes)", h.type, h.len);
        return -1;
    }
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
    return 0;
}

static void do_read(struct tcp_conn *c)
{
    for (int round = 0; round < 16 && c->fd >= 0; round++) {
        if (ensure_rbuf(c, c->rlen + TCP_READ_CHUNK)) {
            tcp_conn_fail(c, RT_ERR_LOCAL, "out of memory reading");
            return;
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
        if (n == 0) {
            tcp_conn_fail(c, RT_ERR_DISCONNECTED, "connection closed by peer");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            tcp_conn_fail(c, RT_ERR_DISCONNECTED, "receive failed: %s", strerror(errno));
            return;
        }
        c->rlen += (size_t)n;
        if (parse_frames(c))
            return;
        if ((size_t)n < TCP_READ_CHUNK)
            return;
    }
}

static void finish_connect(struct tcp_conn *c)
{
    const struct rt_config *cfg = &c->base.ctx->cfg;
    int err = 0;
    socklen_t el = sizeof(err);
    uint8_t p[8];

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == EINPROGRESS)
        return;
    if (err) {
        tcp_conn_fail(c, RT_ERR_DISCONNECTED, "connect failed: %s", strerror(err));
        return;
    }
    tf_put32(p, cfg->max_msg);
    tf_put32(p + 4, cfg->recv_depth);
    pthread_mutex_lock(&c->mu);
    c->state = RT_CONN_HANDSHAKE;
    tcp_out_frame(c, TF_HELLO, 0, p, 8, c->base.hello, c->base.hello_len);
    tcp_flush(c);
    pthread_mutex_unlock(&c->mu);
}

void tcp_conn_event(struct tcp_conn *c, uint32_t events)
{
    if (__atomic_load_n(&c->silent, __ATOMIC_ACQUIRE))
        return; /* severed: the peer's bytes stay unread, as behind a partition */
    if (c->state == RT_CONN_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        finish_connect(c);
    if (c->state != RT_CONN_CLOSED && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        do_read(c);
    if (c->state != RT_CONN_CLOSED && (events & EPOLLOUT)) {
        pthread_mutex_lock(&c->mu);
        tcp_flush(c);
        pthread_mutex_unlock(&c->mu);
    }
}

/* rt_sever: the progress thread stops reading the socket (frames already read are dropped
 * by parse_frames) and nothing more is written: the peer's messages and one-sided requests
 * wait unanswered in the kernel, as behind a partition.  Application thread. */
int tcp_sever(rt_conn *conn)
{
    struct tcp_conn *c = (struct tcp_conn *)conn;

    pthread_mutex_lock(&c->mu);
    __atomic_store_n(&c->silent, true, __ATOMIC_RELEASE);
    if (c->fd >= 0)
        epoll_ctl(ctx_of(c)->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->out.head = c->out.len = 0;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* ---- establishing ---- */

static void set_sockopts(int fd)
{
    int one = 1, user_timeout_ms = 2000, idle = 2, intvl = 1, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int tcp_accept_one(struct tcp_ctx *ctx, struct tcp_listener *l)
{
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    char peer[RT_PEER_MAX];
    struct tcp_conn *c;
    int fd = accept4(l->fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0)
        return -errno;
    set_sockopts(fd);
    rt_format_peer(peer, sizeof(peer), &sa);
    c = tcp_conn_new(ctx, fd, peer);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->acceptor = true;
    c->listener = &l->base;
    c->state = RT_CONN_HANDSHAKE;
    if (tcp_table_add_conn(ctx, c)) {
        tcp_conn_free(c);
        return -ENOMEM;
    }
    return 0;
}

static int open_socket(const char *ip, uint16_t port, int *fd_out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    char ports[8];
    int fd, ret;

    snprintf(ports, sizeof(ports), "%u", port);
    ret = getaddrinfo(ip, ports, &hints, &ai);
    if (ret)
        return -EHOSTUNREACH;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    set_sockopts(fd);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
        ret = -errno;
        close(fd);
        goto out;
    }
    *fd_out = fd;
    ret = 0;
out:
    freeaddrinfo(ai);
    return ret;
}

int tcp_connect(rt_ctx *base, const char *ip, uint16_t port, const void *hello, size_t len,
                rt_conn **out)
{
    struct tcp_ctx *ctx = (struct tcp_ctx *)base;
    char peer[RT_PEER_MAX];
    struct tcp_conn *c;
    int fd = -1, ret;

    ret = open_socket(ip, port, &fd);
    if (ret)
        return ret;
    snprintf(peer, sizeof(peer), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
    c = tcp_conn_new(ctx, fd, peer);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    if (len)
        memcpy(c->base.hello, hello, len);
    c->base.hello_len = (uint32_t)len;
    c->state = RT_CONN_CONNECTING;
    c->delivered = true;
    c->want_out = true;
    pthread_mutex_lock(&ctx->lock);
    ret = tcp_table_add_conn(ctx, c);
    pthread_mutex_unlock(&ctx->lock);
    if (ret) {
        tcp_conn_free(c);
        return ret;
    }
    *out = &c->base;
    return 0;
}
