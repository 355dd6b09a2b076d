/*
 * master/tools/ctl_client.c - rdlmctl's questions to the running daemons: it connects to each
 * shard as ROLE_CTL, sends STATUS / LS_LIST / DUMP and prints the text each answers. A node
 * that does not answer is reported down; the others are still shown.
 */
#include "master/tools/ctl_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/placement.h"
#include "common/proto.h"
#include "verbs/transport.h"

#define CTL_TIMEOUT_MS 3000

static rt_ctx *open_ctx(const struct rdlm_cluster_config *cfg)
{
    struct rt_config rc;
    rt_ctx *ctx = NULL;

    rt_config_init(&rc);
    rc.backend = strcmp(cfg->transport, "rdma") == 0  ? RT_BACKEND_RDMA
                 : strcmp(cfg->transport, "tcp") == 0 ? RT_BACKEND_TCP
                                                      : RT_BACKEND_AUTO;
    rc.max_msg = PROTO_MAX_MSG;
    if (rt_ctx_create(&rc, &ctx) < 0) {
        fprintf(stderr, "rdlmctl: cannot open the transport (%s)\n", cfg->transport);
        return NULL;
    }
    return ctx;
}

/* Ask one shard; the answer's text goes to out, its status to *status if not NULL. 0, or
 * -errno (node unreachable). */
static int ask_status(rt_ctx *ctx, const struct rdlm_node_config *n, uint32_t shard,
                      struct proto_msg *q, FILE *out, uint8_t *status)
{
    struct proto_hello hello = {ROLE_CTL, 0, (uint32_t)getpid(), 0};
    uint8_t h[PROTO_HELLO_LEN], buf[PROTO_MAX_MSG];
    struct rt_completion ev;
    struct proto_msg *a = malloc(sizeof(*a));
    rt_conn *conn;
    int len, rc;

    if (!a)
        return -ENOMEM;
    proto_hello_pack(&hello, h);
    rc = rt_connect_sync(ctx, n->address, (uint16_t)(n->port + shard), h, sizeof(h), CTL_TIMEOUT_MS,
                         &conn);
    if (rc < 0) {
        free(a);
        return rc;
    }
    q->hdr.reqid = 1;
    len = proto_encode(q, buf, sizeof(buf));
    rc = len < 0 ? -EINVAL : rt_send(conn, buf, (size_t)len);
    while (rc == 0) {
        rc = rt_wait_event(ctx, conn, RT_EV_RECV, &ev, CTL_TIMEOUT_MS);
        if (rc < 0)
            break;
        if (proto_decode(ev.data, ev.len, a) == 0 && a->hdr.type == MSG_REPLY) {
            fwrite(a->u.reply.text, 1, a->u.reply.textlen, out);
            if (status)
                *status = a->u.reply.status;
            break;
        }
    }
    rt_close(conn);
    free(a);
    return rc;
}

static int ask(rt_ctx *ctx, const struct rdlm_node_config *n, uint32_t shard, struct proto_msg *q,
               FILE *out)
{
    return ask_status(ctx, n, shard, q, out, NULL);
}

/* Ask every shard of every node; a node that fails is reported once. */
static int ask_all(const struct rdlm_cluster_config *cfg, uint8_t type, FILE *out)
{
    rt_ctx *ctx = open_ctx(cfg);
    int down = 0;

    if (!ctx)
        return -ENODEV;
    for (size_t i = 0; i < cfg->nnodes; i++) {
        const struct rdlm_node_config *n = &cfg->nodes[i];
        for (uint32_t s = 0; s < n->shards; s++) {
            struct proto_msg q = {0};
            q.hdr.type = type;
            if (ask(ctx, n, s, &q, out) < 0) {
                fprintf(out, "node %u (%s:%u): DOWN (no answer)\n", n->id, n->address, n->port);
                down++;
                break;
            }
        }
    }
    rt_ctx_destroy(ctx);
    return down == (int)cfg->nnodes ? -ECONNREFUSED : 0;
}

int rdlm_ctl_status(const struct rdlm_cluster_config *cfg, FILE *out)
{
    fprintf(out, "cluster %s: %zu node(s), transport %s\n", cfg->name, cfg->nnodes, cfg->transport);
    return ask_all(cfg, MSG_STATUS, out);
}

int rdlm_ctl_lockspaces(const struct rdlm_cluster_config *cfg, FILE *out)
{
    return ask_all(cfg, MSG_LS_LIST, out);
}

int rdlm_ctl_deadlocks(const struct rdlm_cluster_config *cfg, FILE *out)
{
    return ask_all(cfg, MSG_DL_LIST, out);
}

int rdlm_ctl_dump(const struct rdlm_cluster_config *cfg, const char *ls, const char *resource,
                  FILE *out)
{
    struct rdlm_member *members = calloc(cfg->nnodes, sizeof(*members));
    struct rdlm_placement_target t;
    struct proto_msg q = {0};
    size_t len = strlen(resource);
    rt_ctx *ctx;
    int rc;

    if (!members || len == 0 || len > RDLM_RESNAME_MAXLEN) {
        free(members);
        fprintf(stderr, "rdlmctl: bad resource name\n");
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->nnodes; i++)
        members[i] = (struct rdlm_member){cfg->nodes[i].id, cfg->nodes[i].shards};
    t = rdlm_place(members, cfg->nnodes, rdlm_ls_seed(ls), 0, resource, len);
    free(members);
    ctx = open_ctx(cfg);
    if (!ctx)
        return -ENODEV;
    q.hdr.type = MSG_DUMP;
    q.hdr.ls = rdlm_ls_seed(ls);
    q.u.dump.len = (uint16_t)len;
    memcpy(q.u.dump.bytes, resource, len);
    rc = ask(ctx, rdlm_config_node(cfg, t.node), t.shard, &q, out);
    if (rc < 0)
        fprintf(stderr, "rdlmctl: master node %u shard %u does not answer\n", t.node, t.shard);
    rt_ctx_destroy(ctx);
    return rc;
}

int rdlm_ctl_fault(const struct rdlm_cluster_config *cfg, unsigned node, int op,
                   const unsigned *ids, unsigned n, FILE *out)
{
    const struct rdlm_node_config *nc = rdlm_config_node(cfg, node);
    struct proto_msg q = {0};
    uint8_t status = RDLM_E_NOTCONN;
    char *text = NULL;
    size_t len = 0;
    FILE *mem;
    rt_ctx *ctx;
    int rc;

    bool isolate = op == FAULT_ISOLATE;

    if (!nc || n > PROTO_FAULT_NODES || (isolate && !n)) {
        fprintf(stderr, "rdlmctl: %s\n", nc ? "bad node list" : "no such node in the cluster file");
        return -EINVAL;
    }
    q.hdr.type = MSG_FAULT;
    q.u.fault.op = (uint8_t)op;
    q.u.fault.n = (uint8_t)(isolate ? n : 0);
    for (unsigned i = 0; i < q.u.fault.n; i++)
        q.u.fault.nodes[i] = (uint16_t)ids[i];
    ctx = open_ctx(cfg);
    mem = open_memstream(&text, &len);
    if (!ctx || !mem) {
        rt_ctx_destroy(ctx);
        if (mem)
            fclose(mem);
        free(text);
        return -ENODEV;
    }
    rc = ask_status(ctx, nc, 0, &q, mem, &status);
    rt_ctx_destroy(ctx);
    fclose(mem);
    if (rc < 0)
        fprintf(stderr, "rdlmctl: node %u does not answer\n", node);
    else /* the daemon's answer: what it isolates now, or why it refused */
        fputs(text ? text : "", status == RDLM_OK ? out : stderr);
    free(text);
    return rc < 0 ? rc : status == RDLM_OK ? 0 : -EPERM;
}
