/*
 * tests/verbs/harness.c - see harness.h.
 */
#include "tests/verbs/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

enum rt_backend th_backend = RT_BACKEND_TCP;

uint64_t th_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void th_need_backend(void)
{
    char why[256];
    const char *req = getenv("RDLM_REQUIRE_RDMA");

    if (th_backend != RT_BACKEND_RDMA || rt_rdma_available(why, sizeof(why)))
        return;
    if (req && !strcmp(req, "1"))
        fail_msg("no RDMA device (%s) and RDLM_REQUIRE_RDMA=1", why);
    print_message("SKIP: no RDMA device (%s): run `make test-softroce`\n", why);
    skip();
}

rt_ctx *th_ctx(uint32_t recv_depth, uint32_t max_msg)
{
    struct rt_config cfg;
    rt_ctx *ctx = NULL;
    int ret;

    rt_config_init(&cfg);
    cfg.backend = th_backend;
    if (th_backend == RT_BACKEND_RDMA)
        cfg.require_rdma = 1;
    if (recv_depth)
        cfg.recv_depth = recv_depth;
    if (max_msg)
        cfg.max_msg = max_msg;
    ret = rt_ctx_create(&cfg, &ctx);
    if (ret)
        fail_msg("rt_ctx_create(%s): %s", rt_backend_name(th_backend), strerror(-ret));
    assert_int_equal(rt_ctx_backend(ctx), th_backend);
    return ctx;
}

bool th_poll_for(rt_ctx *ctx, rt_conn *conn, enum rt_event type, struct rt_completion *out,
                 int timeout_ms)
{
    uint64_t end = th_ms() + (uint64_t)timeout_ms;
    struct rt_completion c;

    while (th_ms() < end) {
        int n = rt_poll(ctx, &c, 1, 10);
        assert_true(n >= 0);
        if (n == 0)
            continue;
        if (c.type == type && (!conn || c.conn == conn)) {
            *out = c;
            return true;
        }
        if (c.type == RT_EV_RECV)
            fail_msg("unexpected message while waiting for event %d", type);
    }
    return false;
}

rt_conn *th_connect(rt_ctx *srv, rt_listener *l, rt_ctx *cli, rt_conn **sc)
{
    struct rt_completion c;
    rt_conn *cc = NULL;
    bool accepted = false, connected = false;
    uint64_t end = th_ms() + 5000;
    static const uint8_t no_hello[1];

    assert_int_equal(rt_connect(cli, "127.0.0.1", rt_listener_port(l), no_hello, 0, &cc), 0);
    while ((!accepted || !connected) && th_ms() < end) {
        if (!accepted && rt_poll(srv, &c, 1, 1) == 1 && c.type == RT_EV_ACCEPT) {
            *sc = c.conn;
            accepted = true;
        }
        if (!connected && rt_poll(cli, &c, 1, 1) == 1 && c.type == RT_EV_CONNECTED) {
            assert_int_equal(c.conn, cc);
            if (c.status != RT_OK)
                fail_msg("connect: %s", rt_conn_error(c.conn));
            connected = true;
        }
    }
    assert_true(accepted && connected);
    return cc;
}

void th_pair_open(struct th_pair *p, rt_ctx *srv, rt_ctx *cli, const void *hello, size_t len)
{
    struct rt_completion c;
    bool accepted = false, connected = false;
    uint64_t end = th_ms() + 5000;

    memset(p, 0, sizeof(*p));
    p->srv = srv;
    p->cli = cli;
    assert_int_equal(rt_listen(srv, "127.0.0.1", 0, &p->l), 0);
    assert_true(rt_listener_port(p->l) != 0);
    assert_int_equal(rt_connect(cli, "127.0.0.1", rt_listener_port(p->l), hello, len, &p->cc), 0);
    while ((!accepted || !connected) && th_ms() < end) {
        if (!accepted && rt_poll(srv, &c, 1, 1) == 1) {
            assert_int_equal(c.type, RT_EV_ACCEPT);
            assert_ptr_equal(c.listener, p->l);
            assert_int_equal(c.len, len);
            if (len)
                assert_memory_equal(c.data, hello, len);
            p->sc = c.conn;
            accepted = true;
        }
        if (!connected && rt_poll(cli, &c, 1, 1) == 1) {
            assert_int_equal(c.type, RT_EV_CONNECTED);
            if (c.status != RT_OK)
                fail_msg("connect: %s", rt_conn_error(c.conn));
            connected = true;
        }
    }
    assert_true(accepted);
    assert_true(connected);
}

void th_pair_close(struct th_pair *p)
{
    if (p->cc)
        rt_close(p->cc);
    if (p->sc)
        rt_close(p->sc);
    if (p->l)
        rt_listener_close(p->l);
    rt_ctx_destroy(p->cli);
    rt_ctx_destroy(p->srv);
    memset(p, 0, sizeof(*p));
}
