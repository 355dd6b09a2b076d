/*
 * tests/lib/raw_conn.h - a raw connection to one rdlmd shard, for the tests that send it
 * hand-made (hostile) messages: any hello, any bytes, and the answer or the close that follows.
 * Used by tests/lib/test_glc.c, tests/cluster/deadlock_client.c and rdomain_client.c.
 */
#ifndef RDLM_TESTS_RAW_CONN_H
#define RDLM_TESTS_RAW_CONN_H

#include <stdint.h>

#include "common/config.h"
#include "common/proto.h"
#include "verbs/transport.h"

struct raw_conn {
    rt_ctx *ctx;
    rt_conn *conn;
};

/* Connect to node's shard with hello, over cfg's transport; 0, or -1 (nothing left open). */
int raw_open(struct raw_conn *r, const struct rdlm_cluster_config *cfg, uint32_t node,
             uint32_t shard, const struct proto_hello *hello);
void raw_close(struct raw_conn *r);
/* Encode and send m, with byte patch_at replaced by patch if patch_at >= 0; 0, or -1. */
int raw_send(struct raw_conn *r, struct proto_msg *m, int patch_at, uint8_t patch);
/* The next message of type within ms, into *in. */
enum raw_recv_result { RAW_GOT = 0, RAW_CLOSED = 1, RAW_NOTHING = 2 };
enum raw_recv_result raw_recv(struct raw_conn *r, uint8_t type, unsigned ms, struct proto_msg *in);

#endif
