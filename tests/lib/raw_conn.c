/*
 * tests/lib/raw_conn.c - a raw connection to one rdlmd shard for hostile-message tests (see
 * the header).
 */
#include "tests/lib/raw_conn.h"

#include <string.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int raw_open(struct raw_conn *r, const struct rdlm_cluster_config *cfg, uint32_t node,
             uint32_t shard, const struct proto_hello *hello)
{
    const struct rdlm_node_config *n = rdlm_config_node(cfg, node);
    struct rt_config rc;
    uint8_t h[PROTO_HELLO_LEN];

    memset(r, 0, sizeof(*r));
    rt_config_init(&rc);
    rc.backend = strcmp(cfg->transport, "rdma") == 0 ? RT_BACKEND_RDMA : RT_BACKEND_TCP;
    rc.max_msg = PROTO_MAX_MSG;
    if (!n || rt_ctx_create(&rc, &r->ctx) < 0)
        return -1;
    proto_hello_pack(hello, h);
    if (rt_connect_sync(r->ctx, n->address, (uint16_t)(n->port + shard), h, sizeof(h), 5000,
                        &r->conn) < 0) {
        raw_close(r);
        return -1;
    }
    return 0;
}

void raw_close(struct raw_conn *r)
{
    if (r->conn)
        rt_close(r->conn);
    if (r->ctx)
        rt_ctx_destroy(r->ctx);
    r->conn = NULL;
    r->ctx = NULL;
}

int raw_send(struct raw_conn *r, struct proto_msg *m, int patch_at, uint8_t patch)
{
    uint8_t buf[PROTO_MAX_MSG];
    int len = proto_encode(m, buf, sizeof(buf));

    if (len < 0)
        return -1;
    if (patch_at >= 0 && patch_at < len)
        buf[patch_at] = patch;
    return rt_send(r->conn, buf, (size_t)len) < 0 ? -1 : 0;
}

enum raw_recv_result raw_recv(struct raw_conn *r, uint8_t type, unsigned ms, struct proto_msg *in)
{
    uint64_t end = mono_ms() + ms;
    struct rt_completion ev;

    while (mono_ms() < end) {
        if (rt_poll(r->ctx, &ev, 1, 20) <= 0 || ev.conn != r->conn)
            continue;
        if (ev.type == RT_EV_CLOSED)
            return RAW_CLOSED;
        if (ev.type == RT_EV_RECV && proto_decode(ev.data, ev.len, in) == 0 &&
            in->hdr.type == type)
            return RAW_GOT;
    }
    return RAW_NOTHING;
}
