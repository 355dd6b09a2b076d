/*
 * tests/verbs/test_transport.c - the transport's behaviour, the same cases on each back end.
 *
 * Groups "tcp" and "rdma" run the same test functions with th_backend set.  Without an RDMA
 * device every rdma test is skipped ("no RDMA device: run `make test-softroce`"); with
 * RDLM_REQUIRE_RDMA=1 (or --backend=rdma) a missing device is a failure instead.
 *   test_transport [--backend=tcp|rdma|all]
 * Everything talks to 127.0.0.1 on ephemeral ports; every loop is bounded in count and time.
 */
#include "tests/verbs/harness.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char *self_path = "/proc/self/exe"; /* argv[0] (valgrind: not the tool) */

#define TMO 5000 /* ms: generous bound for anything that should take microseconds */

/* ---- connect, hello, messages ---- */

static void test_connect_hello(void **state)
{
    (void)state;
    th_need_backend();
    struct th_pair p;
    struct rt_completion c;
    const char hello[] = "node-7";
    uint32_t hl;

    th_pair_open(&p, th_ctx(0, 0), th_ctx(0, 0), hello, sizeof(hello));
    assert_memory_equal(rt_conn_hello(p.sc, &hl), hello, sizeof(hello));
    assert_int_equal(hl, sizeof(hello));
    assert_true(strncmp(rt_conn_peer(p.cc), "127.0.0.1:", 10) == 0);
    /* acceptor side: the peer's real address (rdma on RoCE: the device's own address) */
    assert_true(strchr(rt_conn_peer(p.sc), ':') != NULL);
    assert_int_equal(rt_conn_max_msg(p.cc), 4096);

    assert_int_equal(rt_send(p.cc, "ping", 4), 0);
    assert_true(th_poll_for(p.srv, p.sc, RT_EV_RECV, &c, TMO));
    assert_int_equal(c.len, 4);
    assert_memory_equal(c.data, "ping", 4);
    assert_int_equal(rt_send(p.sc, "", 0), 0); /* empty messages are messages */
    assert_true(th_poll_for(p.cli, p.cc, RT_EV_RECV, &c, TMO));
    assert_int_equal(c.len, 0);
    assert_int_equal(rt_send(p.cc, hello, 5000), -EMSGSIZE);
    th_pair_close(&p);
}

static void fill_msg(uint8_t *buf, uint32_t seq, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 31 + i);
    if (len >= 4)
        memcpy(buf, &seq, 4);
}

static void check_msg(const struct rt_completion *c, uint32_t seq)
{
    uint32_t len = 4 + seq % 1500;
    uint8_t want[2048];
    if (c->len != len)
        fail_msg("message %u: length %u, want %u", seq, c->len, len);
    fill_msg(want, seq, len);
    if (memcmp(c->data, want, len))
        fail_msg("message %u: corrupted or out of order (got seq %u)", seq,
                 *(const uint32_t *)c->data);
}

/* A burst far larger than the receive ring (16): credits must hold the sender back, and
 * every message must arrive intact and in order. */
static void test_burst_in_order(void **state)
{
    (void)state;
    th_need_backend();
    enum { N = 10000 };
    struct th_pair p;
    struct rt_completion c[32];
    uint8_t buf[2048];
    uint32_t sent = 0, got = 0;
    uint64_t end = th_ms() + 60000;
    int eagain = 0;

    th_pair_open(&p, th_ctx(16, 2048), th_ctx(16, 2048), NULL, 0);
    while (got < N && th_ms() < end) {
        while (sent < N) {
            uint32_t len = 4 + sent % 1500;
            fill_msg(buf, sent, len);
            int ret = rt_send(p.cc, buf, len);
            if (ret == -EAGAIN) {
                eagain++;
                break;
            }
            assert_int_equal(ret, 0);
            sent++;
        }
        int n = rt_poll(p.srv, c, 32, 1);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
            assert_int_equal(c[i].type, RT_EV_RECV);
            check_msg(&c[i], got++);
        }
        n = rt_poll(p.cli, c, 32, 0); /* rdma: credit messages are consumed here */
        assert_true(n >= 0);
        for (int i = 0; i < n; i++)
            assert_int_not_equal(c[i].type, RT_EV_CLOSED);
    }
    assert_int_equal(got, N);
    assert_true(eagain > 0); /* send_queue (4096) < N: the sender was held back */
    th_pair_close(&p);
}

/* ---- one-sided: atomics racing from several connections ---- */

struct racer {
    rt_ctx *ctx;
    rt_conn *conn;
    struct rt_rdesc word;
    int iters;
    int errors;
    char err[160];
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    uint64_t old, cur = 0;

    for (int i = 0; i < r->iters && !r->errors; i++) {
        int st = rt_faa_sync(r->conn, &r->word, 8, 1, &old, TMO);
        if (st != RT_OK) {
            snprintf(r->err, sizeof(r->err), "FAA: %d %s", st, rt_conn_error(r->conn));
            r->errors++;
        }
        /* CAS increment of word 0: retry on conflict, a bounded number of times */
        int tries;
        for (tries = 0; tries < 100000; tries++) {
            st = rt_cas_sync(r->conn, &r->word, 0, cur, cur + 1, &old, TMO);
            if (st != RT_OK)
                break;
            if (old == cur)
                break;
            cur = old;
        }
        if (st != RT_OK || tries == 100000) {
            snprintf(r->err, sizeof(r->err), "CAS: %d %s", st, rt_conn_error(r->conn));
            r->errors++;
        }
        cur++;
    }
    return NULL;
}

static void start_racers(rt_ctx *srv, rt_listener *l, struct racer *r, pthread_t *t, int n,
                         rt_conn **sc, const struct rt_rdesc *word, int iters)
{
    for (int i = 0; i < n; i++) {
        r[i].ctx = th_ctx(0, 0);
        r[i].conn = th_connect(srv, l, r[i].ctx, &sc[i]);
        r[i].word = *word;
        r[i].iters = iters;
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
}

static void join_racers(struct racer *r, pthread_t *t, int n, rt_conn **sc)
{
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        if (r[i].errors)
            fail_msg("racer %d: %s", i, r[i].err);
    }
    for (int i = 0; i < n; i++) {
        rt_close(r[i].conn);
        rt_close(sc[i]);
        rt_ctx_destroy(r[i].ctx);
    }
}

static void test_atomic_races(void **state)
{
    (void)state;
    th_need_backend();
    enum { NT = 4, ITERS = 1500 };
    uint64_t words[2] __attribute__((aligned(64))) = {0, 0};
    struct racer r[NT] = {0};
    pthread_t t[NT];
    rt_conn *sc[NT];
    rt_ctx *srv = th_ctx(0, 0);
    rt_listener *l;
    rt_mr *mr;
    struct rt_rdesc d;

    assert_int_equal(rt_listen(srv, "127.0.0.1", 0, &l), 0);
    assert_int_equal(rt_reg(srv, words, sizeof(words), &mr), 0);
    rt_mr_rdesc(mr, &d);
    start_racers(srv, l, r, t, NT, sc, &d, ITERS);
    join_racers(r, t, NT, sc);
    assert_int_equal(rt_local_load(mr, 0), NT * ITERS);
    assert_int_equal(rt_local_load(mr, 8), NT * ITERS);
    rt_dereg(mr);
    rt_listener_close(l);
    rt_ctx_destroy(srv);
}

/* The owner's local atomics and peers' remote atomics on one word add up exactly. */
static void test_local_vs_remote(void **state)
{
    (void)state;
    th_need_backend();
    enum { NT = 3, ITERS = 1500 };
    uint64_t words[2] __attribute__((aligned(64))) = {0, 0};
    struct racer r[NT] = {0};
    pthread_t t[NT];
    rt_conn *sc[NT];
    rt_ctx *srv = th_ctx(0, 0);
    rt_listener *l;
    rt_mr *mr;
    struct rt_rdesc d;
    uint64_t old, cur = 0;

    assert_int_equal(rt_listen(srv, "127.0.0.1", 0, &l), 0);
    assert_int_equal(rt_reg(srv, words, sizeof(words), &mr), 0);
    rt_mr_rdesc(mr, &d);
    start_racers(srv, l, r, t, NT, sc, &d, ITERS);
    for (int i = 0; i < ITERS; i++) {
        assert_int_equal(rt_local_faa(mr, 8, 1, &old), 0);
        for (int tries = 0; tries < 100000; tries++) {
            assert_int_equal(rt_local_cas(mr, 0, cur, cur + 1, &old), 0);
            if (old == cur)
                break;
            cur = old;
        }
        cur++;
    }
    join_racers(r, t, NT, sc);
    assert_int_equal(rt_local_load(mr, 0), (NT + 1) * ITERS);
    assert_int_equal(rt_local_load(mr, 8), (NT + 1) * ITERS);
    rt_dereg(mr);
    rt_listener_close(l);
    rt_ctx_destroy(srv);
}

/* ---- one-sided: ordering of CAS+READ and WRITE+CAS ---- */

#define REC_WORDS 8
struct target_mem {
    uint64_t version; /* seq << 1 | locked */
    uint64_t pad[7];
    uint64_t rec[REC_WORDS]; /* every word = seq of the last completed write */
} __attribute__((aligned(64)));

struct writer {
    rt_ctx *ctx;
    rt_conn *conn;
    struct rt_rdesc d;
    int iters;
    char err[160];
};

static int write_one(struct writer *w, rt_mr *lmr, uint64_t *rec, uint64_t seq)
{
    struct rt_completion c;
    uint64_t old;
    int st = rt_cas_sync(w->conn, &w->d, 0, seq << 1, seq << 1 | 1, &old, TMO);
    if (st != RT_OK || old != seq << 1)
        return snprintf(w->err, sizeof(w->err), "lock: st %d old %llu", st,
                        (unsigned long long)old);
    for (int k = 0; k < REC_WORDS; k++)
        rec[k] = seq + 1;
    if (rt_write_cas(w->conn, lmr, 0, &w->d, offsetof(struct target_mem, rec),
                     sizeof(*rec) * REC_WORDS, &w->d, 0, seq << 1 | 1, (seq + 1) << 1, seq) ||
        rt_wait_op(w->ctx, w->conn, seq, &c, TMO) || c.status != RT_OK || c.op != RT_OP_WRITE_CAS ||
        c.old != (seq << 1 | 1))
        return snprintf(w->err, sizeof(w->err), "write+cas %llu: %s", (unsigned long long)seq,
                        rt_conn_error(w->conn));
    return 0;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    uint64_t rec[REC_WORDS] __attribute__((aligned(64)));
    rt_mr *lmr;

    if (rt_reg(w->ctx, rec, sizeof(rec), &lmr))
        return snprintf(w->err, sizeof(w->err), "reg"), NULL;
    for (int i = 0; i < w->iters; i++)
        if (write_one(w, lmr, rec, (uint64_t)i))
            break;
    rt_dereg(lmr);
    return NULL;
}

static void test_ordering(void **state)
{
    (void)state;
    th_need_backend();
    enum { WITERS = 1500, RITERS = 3000 };
    struct target_mem tm = {0};
    rt_ctx *srv = th_ctx(0, 0), *rctx = th_ctx(0, 0);
    struct writer w = {.iters = WITERS};
    rt_conn *sc[2], *rconn;
    uint64_t rec[REC_WORDS] __attribute__((aligned(64)));
    rt_listener *l;
    rt_mr *mr, *lmr;
    pthread_t t;
    uint64_t seen_max = 0;

    assert_int_equal(rt_listen(srv, "127.0.0.1", 0, &l), 0);
    assert_int_equal(rt_reg(srv, &tm, sizeof(tm), &mr), 0);
    assert_int_equal(rt_reg(rctx, rec, sizeof(rec), &lmr), 0);
    rt_mr_rdesc(mr, &w.d);
    w.ctx = th_ctx(0, 0);
    w.conn = th_connect(srv, l, w.ctx, &sc[0]);
    rconn = th_connect(srv, l, rctx, &sc[1]);
    assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
    for (int i = 0; i < RITERS; i++) {
        struct rt_completion c;
        /* CAS with expect == swap never changes the word: it returns its value */
        assert_int_equal(rt_cas_read(rconn, &w.d, 0, 1, 1, lmr, 0, &w.d,
                                     offsetof(struct target_mem, rec), sizeof(rec), 1000 + i),
                         0);
        assert_int_equal(rt_wait_op(rctx, rconn, 1000 + i, &c, TMO), 0);
        assert_int_equal(c.status, RT_OK);
        assert_int_equal(c.op, RT_OP_CAS_READ);
        uint64_t s = c.old >> 1;
        for (int k = 0; k < REC_WORDS; k++)
            if (rec[k] < s) /* older than the version the CAS saw: READ overtook CAS */
                fail_msg("iteration %d: version %llu but record word %d = %llu", i,
                         (unsigned long long)s, k, (unsigned long long)rec[k]);
        seen_max = s > seen_max ? s : seen_max;
    }
    pthread_join(t, NULL);
    if (w.err[0])
        fail_msg("writer: %s", w.err);
    assert_int_equal(tm.version, (uint64_t)WITERS << 1);
    assert_int_equal(tm.rec[0], WITERS);
    rt_close(w.conn);
    rt_close(rconn);
    rt_close(sc[0]);
    rt_close(sc[1]);
    rt_ctx_destroy(w.ctx);
    rt_dereg(lmr);
    rt_ctx_destroy(rctx);
    rt_listener_close(l);
    rt_dereg(mr);
    rt_ctx_destroy(srv);
}

/* Plain READ/WRITE and the chained ops on one connection, values checked. */
static void test_read_write(void **state)
{
    (void)state;
    th_need_backend();
    struct th_pair p;
    struct target_mem tm = {.version = 5};
    uint8_t local[256] __attribute__((aligned(64)));
    struct rt_completion c;
    struct rt_rdesc d;
    rt_mr *mr, *lmr;
    uint8_t wire[RT_RDESC_WIRE];

    th_pair_open(&p, th_ctx(0, 0), th_ctx(0, 0), NULL, 0);
    assert_int_equal(rt_reg(p.srv, &tm, sizeof(tm), &mr), 0);
    assert_int_equal(rt_reg(p.cli, local, sizeof(local), &lmr), 0);
    rt_mr_rdesc(mr, &d);
    rt_rdesc_pack(&d, wire); /* the descriptor travels in a message */
    assert_int_equal(rt_send(p.sc, wire, sizeof(wire)), 0);
    assert_true(th_poll_for(p.cli, p.cc, RT_EV_RECV, &c, TMO));
    assert_int_equal(c.len, RT_RDESC_WIRE);
    rt_rdesc_unpack(c.data, &d);
    struct rt_rdesc d0;
    rt_mr_rdesc(mr, &d0);
    assert_int_equal(d.rkey, d0.rkey);
    assert_int_equal(d.addr, d0.addr);
    assert_int_equal(d.len, sizeof(tm));

    memset(local, 0xab, 64);
    assert_int_equal(rt_write(p.cc, lmr, 0, &d, offsetof(struct target_mem, rec), 64, 1), 0);
    assert_int_equal(rt_wait_op(p.cli, p.cc, 1, &c, TMO), 0);
    assert_int_equal(c.status, RT_OK);
    assert_int_equal(tm.rec[3], 0xababababababababull);
    tm.rec[7] = 42;
    assert_int_equal(rt_read(p.cc, lmr, 100, &d, offsetof(struct target_mem, rec), 64, 2), 0);
    assert_int_equal(rt_wait_op(p.cli, p.cc, 2, &c, TMO), 0);
    assert_int_equal(c.status, RT_OK);
    assert_int_equal(c.op, RT_OP_READ);
    assert_memory_equal(local + 100, tm.rec, 64);
    assert_int_equal(rt_cas_read(p.cc, &d, 0, 5, 6, lmr, 0, &d, 64, 8, 3), 0);
    assert_int_equal(rt_wait_op(p.cli, p.cc, 3, &c, TMO), 0);
    assert_int_equal(c.old, 5);
    assert_int_equal(tm.version, 6);
    assert_memory_equal(local, &tm.rec[0], 8);
    uint64_t old;
    assert_int_equal(rt_faa_sync(p.cc, &d, 0, 10, &old, TMO), RT_OK);
    assert_int_equal(old, 6);
    assert_int_equal(rt_cas_sync(p.cc, &d, 0, 99, 1, &old, TMO), RT_OK); /* fails: returns 16 */
    assert_int_equal(old, 16);
    assert_int_equal(rt_cas(p.cc, &d, 4, 0, 0, 9), -EINVAL); /* misaligned */
    rt_dereg(lmr);
    rt_dereg(mr);
    th_pair_close(&p);
}

/* ---- errors ---- */

/* Bad rkey / out-of-range address: a remote access error to the requester; the target is
 * unharmed (its other connections work; tcp keeps even this connection). */
static void test_bad_rkey(void **state)
{
    (void)state;
    th_need_backend();
    struct th_pair p;
    uint64_t words[4] __attribute__((aligned(64))) = {7, 0, 0, 0};
    uint8_t local[64] __attribute__((aligned(64)));
    struct rt_completion c;
    struct rt_rdesc d, bad;
    rt_mr *mr, *lmr;
    uint64_t old;
    int st;

    th_pair_open(&p, th_ctx(0, 0), th_ctx(0, 0), NULL, 0);
    assert_int_equal(rt_reg(p.srv, words, sizeof(words), &mr), 0);
    assert_int_equal(rt_reg(p.cli, local, sizeof(local), &lmr), 0);
    rt_mr_rdesc(mr, &d);

    bad = d;
    bad.rkey ^= 0x5a5a5a5a;
    st = rt_cas_sync(p.cc, &bad, 0, 7, 8, &old, TMO);
    assert_int_equal(st, RT_ERR_REMOTE_ACCESS);
    assert_true(strstr(rt_conn_error(p.cc), "127.0.0.1:") != NULL);
    assert_int_equal(words[0], 7);

    if (th_backend == RT_BACKEND_TCP) {
        /* out of range READ, then the same connection still works */
        assert_int_equal(rt_read(p.cc, lmr, 0, &d, 24, 16, 5), 0);
        assert_int_equal(rt_wait_op(p.cli, p.cc, 5, &c, TMO), 0);
        assert_int_equal(c.status, RT_ERR_REMOTE_ACCESS);
        assert_int_equal(rt_cas_sync(p.cc, &d, 0, 7, 8, &old, TMO), RT_OK);
        assert_int_equal(words[0], 8);
    } else {
        /* rdma: the QP is in error; the connection is reported closed */
        assert_true(th_poll_for(p.cli, p.cc, RT_EV_CLOSED, &c, TMO));
    }
    /* the target is unharmed: a new connection works */
    rt_conn *sc2, *cc2 = th_connect(p.srv, p.l, p.cli, &sc2);
    assert_int_equal(rt_faa_sync(cc2, &d, 8, 3, &old, TMO), RT_OK);
    assert_int_equal(words[1], 3);
    rt_close(cc2);
    rt_close(sc2);
    rt_dereg(lmr);
    rt_dereg(mr);
    th_pair_close(&p);
}

/* The child (a fresh process: `test_transport --serve=BACKEND,FD`, exec'd so it inherits no
 * verbs state): listen, send the parent our word's descriptor on accept, serve until killed. */
static int serve_main(const char *spec)
{
    static uint64_t word[1] __attribute__((aligned(64)));
    struct rt_config cfg;
    struct rt_completion c;
    rt_listener *l;
    rt_ctx *ctx;
    rt_mr *mr;
    struct rt_rdesc d;
    uint8_t wire[RT_RDESC_WIRE];
    uint16_t port;
    uint64_t end = th_ms() + 20000;
    int wfd = atoi(strchr(spec, ',') ? strchr(spec, ',') + 1 : "-1");

    alarm(30);
    rt_config_init(&cfg);
    cfg.backend = !strncmp(spec, "rdma", 4) ? RT_BACKEND_RDMA : RT_BACKEND_TCP;
    if (rt_ctx_create(&cfg, &ctx) || rt_listen(ctx, "127.0.0.1", 0, &l) ||
        rt_reg(ctx, word, sizeof(word), &mr))
        return 2;
    port = rt_listener_port(l);
    if (write(wfd, &port, sizeof(port)) != sizeof(port))
        return 3;
    rt_mr_rdesc(mr, &d);
    rt_rdesc_pack(&d, wire);
    while (th_ms() < end) {
        if (rt_poll(ctx, &c, 1, 50) == 1 && c.type == RT_EV_ACCEPT)
            rt_send(c.conn, wire, sizeof(wire));
    }
    return 0;
}

/* A peer process killed mid-stream is reported as an error within a bounded time. */
static void test_peer_dies(void **state)
{
    (void)state;
    th_need_backend();
    int pfd[2];
    uint16_t port;
    pid_t pid;
    rt_ctx *ctx;
    rt_conn *conn;
    struct rt_completion c;
    struct rt_rdesc d;
    uint64_t old, t0;
    bool failed = false;

    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char spec[64];
        close(pfd[0]);
        snprintf(spec, sizeof(spec), "--serve=%s,%d", rt_backend_name(th_backend), pfd[1]);
        execl(self_path, "test_transport", spec, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    assert_int_equal(read(pfd[0], &port, sizeof(port)), sizeof(port));
    close(pfd[0]);
    ctx = th_ctx(0, 0);
    assert_int_equal(rt_connect_sync(ctx, "127.0.0.1", port, "x", 1, TMO, &conn), 0);
    assert_true(th_poll_for(ctx, conn, RT_EV_RECV, &c, TMO));
    rt_rdesc_unpack(c.data, &d);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rt_faa_sync(conn, &d, 0, 1, &old, TMO), RT_OK);
    assert_int_equal(old, 99);

    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    t0 = th_ms();
    /* keep using the connection: ops must fail and the conn be reported, never hang */
    while (!failed && th_ms() - t0 < 3000) {
        int ret = rt_faa(conn, &d, 0, 1, 77);
        if (ret == -ENOTCONN)
            failed = true;
        int n = rt_poll(ctx, &c, 1, 10);
        if (n == 1 && ((c.type == RT_EV_OP && c.status != RT_OK) || c.type == RT_EV_CLOSED))
            failed = true;
    }
    assert_true(failed);
    assert_true(th_ms() - t0 < 3000);
    print_message("peer death reported after %llu ms: %s\n", (unsigned long long)(th_ms() - t0),
                  rt_conn_error(conn));
    assert_true(strstr(rt_conn_error(conn), "127.0.0.1:") != NULL);
    rt_close(conn);
    rt_ctx_destroy(ctx);
}

static int raw_connect(uint16_t port);

/* tcp: garbage and truncated frames close only the offending connection, counted. */
static void test_malformed_frame(void **state)
{
    (void)state;
    th_need_backend();
    if (th_backend != RT_BACKEND_TCP) {
        print_message("SKIP: frames are tcp-only (rdma messages are framed by the HCA)\n");
        skip();
    }
    struct th_pair p;
    struct rt_completion c;
    struct rt_stats st;
    uint64_t word __attribute__((aligned(8))) = 0, old;
    struct rt_rdesc d;
    rt_mr *mr;
    /* a valid HELLO (version 1, type 1, len 8: max_msg 4096, recv_depth 4) */
    static const uint8_t hello[] = {1, 1, 0, 0, 8, 0,  0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 16, 0, 0, 4, 0, 0, 0};
    /* a MSG frame claiming 1 MiB (more than max_msg) */
    static const uint8_t huge[] = {1, 3, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    th_pair_open(&p, th_ctx(0, 0), th_ctx(0, 0), NULL, 0);
    assert_int_equal(rt_reg(p.srv, &word, sizeof(word), &mr), 0);
    rt_mr_rdesc(mr, &d);

    int g = raw_connect(rt_listener_port(p.l)); /* garbage before any hello */
    assert_int_equal(write(g, "GET / HTTP/1.0\r\n\r\n", 18), 18);
    int h = raw_connect(rt_listener_port(p.l)); /* hello, then an oversized frame */
    assert_int_equal(write(h, hello, sizeof(hello)), sizeof(hello));
    assert_true(th_poll_for(p.srv, NULL, RT_EV_ACCEPT, &c, TMO));
    rt_conn *bad = c.conn;
    assert_int_equal(write(h, huge, sizeof(huge)), sizeof(huge));
    assert_true(th_poll_for(p.srv, bad, RT_EV_CLOSED, &c, TMO));
    assert_int_equal(c.status, RT_ERR_MALFORMED);
    rt_close(bad);
    int t = raw_connect(rt_listener_port(p.l)); /* truncated header, then EOF */
    assert_int_equal(write(t, hello, 7), 7);
    close(t);

    uint64_t end = th_ms() + TMO;
    do {
        rt_ctx_stats(p.srv, &st);
    } while (st.malformed < 2 && th_ms() < end);
    assert_int_equal(st.malformed, 2);
    /* the good connection is untouched */
    assert_int_equal(rt_faa_sync(p.cc, &d, 0, 5, &old, TMO), RT_OK);
    assert_int_equal(word, 5);
    assert_int_equal(rt_send(p.cc, "ok", 2), 0);
    assert_true(th_poll_for(p.srv, p.sc, RT_EV_RECV, &c, TMO));
    close(g);
    close(h);
    rt_dereg(mr);
    th_pair_close(&p);
}

/* The context fd becomes readable when a message waits (epoll-style use). */
static void test_fd_readable(void **state)
{
    (void)state;
    th_need_backend();
    struct th_pair p;
    struct rt_completion c;
    struct pollfd pf;

    th_pair_open(&p, th_ctx(0, 0), th_ctx(0, 0), NULL, 0);
    while (rt_poll(p.srv, &c, 1, 0) > 0)
        ;
    assert_int_equal(rt_arm(p.srv), 0);
    pf.fd = rt_ctx_fd(p.srv);
    pf.events = POLLIN;
    assert_int_equal(poll(&pf, 1, 0), 0);
    assert_int_equal(rt_send(p.cc, "wake", 4), 0);
    assert_int_equal(poll(&pf, 1, TMO), 1);
    assert_true(th_poll_for(p.srv, p.sc, RT_EV_RECV, &c, TMO));
    assert_memory_equal(c.data, "wake", 4);
    th_pair_close(&p);
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int raw_connect(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static int set_tcp(void **state)
{
    (void)state;
    th_backend = RT_BACKEND_TCP;
    return 0;
}

static int set_rdma(void **state)
{
    (void)state;
    th_backend = RT_BACKEND_RDMA;
    return 0;
}

#define CASES(setup)                                                                               \
    {                                                                                              \
        cmocka_unit_test_setup(test_connect_hello, setup),                                         \
            cmocka_unit_test_setup(test_burst_in_order, setup),                                    \
            cmocka_unit_test_setup(test_read_write, setup),                                        \
            cmocka_unit_test_setup(test_atomic_races, setup),                                      \
            cmocka_unit_test_setup(test_local_vs_remote, setup),                                   \
            cmocka_unit_test_setup(test_ordering, setup),                                          \
            cmocka_unit_test_setup(test_bad_rkey, setup),                                          \
            cmocka_unit_test_setup(test_peer_dies, setup),                                         \
            cmocka_unit_test_setup(test_malformed_frame, setup),                                   \
            cmocka_unit_test_setup(test_fd_readable, setup),                                       \
    }

int main(int argc, char **argv)
{
    const struct CMUnitTest tcp_tests[] = CASES(set_tcp);
    const struct CMUnitTest rdma_tests[] = CASES(set_rdma);
    const char *which = "all";
    int fails = 0;

    signal(SIGPIPE, SIG_IGN);
    if (argv[0] && strchr(argv[0], '/'))
        self_path = argv[0];
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--serve=", 8))
            return serve_main(argv[i] + 8);
        if (!strncmp(argv[i], "--backend=", 10))
            which = argv[i] + 10;
    }
    if (!strcmp(which, "rdma"))
        setenv("RDLM_REQUIRE_RDMA", "1", 1);
    if (!strcmp(which, "all") || !strcmp(which, "tcp"))
        fails += cmocka_run_group_tests_name("transport/tcp", tcp_tests, NULL, NULL);
    if (!strcmp(which, "all") || !strcmp(which, "rdma"))
        fails += cmocka_run_group_tests_name("transport/rdma", rdma_tests, NULL, NULL);
    return fails ? 1 : 0;
}
