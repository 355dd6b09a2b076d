/*
 * tests/verbs/harness.h - helpers shared by the transport tests: which back end a group runs
 * on (and skipping rdma when there is no device), contexts, connected pairs on 127.0.0.1 with
 * ephemeral ports, bounded polling.
 */
#ifndef RDLM_TESTS_VERBS_HARNESS_H
#define RDLM_TESTS_VERBS_HARNESS_H

#include "verbs/transport.h"

#include <stdbool.h>
#include <stdint.h>

extern enum rt_backend th_backend; /* the back end of the group being run */

/* Skip (or, with RDLM_REQUIRE_RDMA=1, fail) the current test when it cannot run. */
void th_need_backend(void);

/* A context on th_backend; recv_depth/max_msg 0 = defaults. */
rt_ctx *th_ctx(uint32_t recv_depth, uint32_t max_msg);

struct th_pair {
    rt_ctx *srv, *cli;
    rt_listener *l;
    rt_conn *sc, *cc; /* server side and client side of the connection */
};

/* Listen on srv (port 0), connect cli to it, drive both until established (5 s max). */
void th_pair_open(struct th_pair *p, rt_ctx *srv, rt_ctx *cli, const void *hello, size_t len);
void th_pair_close(struct th_pair *p); /* closes conns, listener and both contexts */
/* Connect cli to an existing listener on srv; returns the client conn, *sc the server one. */
rt_conn *th_connect(rt_ctx *srv, rt_listener *l, rt_ctx *cli, rt_conn **sc);

/* Poll ctx until a completion of the given type on conn shows up (others are discarded
 * except RECV, which fails the test); bounded by timeout_ms. */
bool th_poll_for(rt_ctx *ctx, rt_conn *conn, enum rt_event type, struct rt_completion *out,
                 int timeout_ms);
uint64_t th_ms(void);

#endif
