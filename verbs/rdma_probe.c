/*
 * verbs/rdma_probe.c - rdma back end start-up probes and the loopback QP.
 *
 * rm_open_device picks the device: the first (or $RDLM_RDMA_DEVICE) that librdmacm knows,
 * with an ACTIVE port and atomic_cap != IBV_ATOMIC_NONE; otherwise it says why not.
 *
 * rm_map_loopback: on RoCE, an address of lo (127.x, "localhost") has no RDMA device unless
 * rxe sits on lo, so a listen/connect on it is redirected to the IPv4 address in the port's
 * GID table (the device's own netdev address): "127.0.0.1" then means "this node" as it does
 * on the tcp back end.
 *
 * The loopback QP is one RC QP connected to itself (dest_qp_num = its own number, address =
 * its own LID or GID).  Through it the context
 *   - probes the byte order of atomic replies: CAS on a word holding 0x0102030405060708;
 *     the reply is that value (host order) or its byte swap (ConnectX-3 style big-endian
 *     replies, which rdma-core/perftest also special-case by vendor part id 4099/4100);
 *   - performs rt_local_cas/faa on its own registered words, so they are atomic with respect
 *     to peers' RDMA atomics (DESIGN.md section 3, invariant 4) unless the device reports
 *     IBV_ATOMIC_GLOB, in which case CPU atomics are used.
 */
#include "verbs/rdma.h"

#include <byteswap.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool device_usable(struct ibv_context *v, uint8_t *port, struct ibv_device_attr *attr,
                          struct ibv_port_attr *pa, char *why, size_t why_len)
{
    const char *name = ibv_get_device_name(v->device);
    if (ibv_query_device(v, attr)) {
        snprintf(why, why_len, "%s: ibv_query_device failed", name);
        return false;
    }
    if (attr->atomic_cap == IBV_ATOMIC_NONE) {
        snprintf(why, why_len, "%s: atomic_cap is IBV_ATOMIC_NONE (no RDMA atomics)", name);
        return false;
    }
    for (uint8_t p = 1; p <= attr->phys_port_cnt; p++) {
        if (ibv_query_port(v, p, pa) == 0 && pa->state == IBV_PORT_ACTIVE) {
            *port = p;
            return true;
        }
    }
    snprintf(why, why_len, "%s: no ACTIVE port", name);
    return false;
}

static struct ibv_context **device_list(int *n, char *why, size_t why_len)
{
    struct ibv_device **dl = ibv_get_device_list(n);
    struct ibv_context **list;

    if (!dl) {
        snprintf(why, why_len, "ibv_get_device_list: %s", strerror(errno));
        return NULL;
    }
    ibv_free_device_list(dl);
    if (*n == 0) {
        snprintf(why, why_len, "no RDMA device present");
        return NULL;
    }
    list = rdma_get_devices(n);
    if (!list || *n == 0) {
        snprintf(why, why_len, "rdma_get_devices found no device");
        if (list)
            rdma_free_devices(list);
        return NULL;
    }
    return list;
}

int rm_open_device(struct rdma_ctx *ctx, char *why, size_t why_len)
{
    const char *want = getenv("RDLM_RDMA_DEVICE");
    struct ibv_context **list;
    char tmp[160];
    int n, found = 0;

    if (!why) {
        why = tmp;
        why_len = sizeof(tmp);
    }
    list = device_list(&n, why, why_len);
    if (!list)
        return -ENODEV;
    for (int i = 0; i < n && !found; i++) {
        if (want && strcmp(want, ibv_get_device_name(list[i]->device)))
            continue;
        if (device_usable(list[i], &ctx->port, &ctx->attr, &ctx->port_attr, why, why_len)) {
            ctx->verbs = list[i];
            found = 1;
        }
    }
    rdma_free_devices(list);
    if (!found && want && !why[0])
        snprintf(why, why_len, "RDLM_RDMA_DEVICE=%s not found", want);
    return found ? 0 : -ENODEV;
}

int rt_rdma_available(char *why, size_t why_len)
{
    struct rdma_ctx probe;
    char tmp[160] = "";
    memset(&probe, 0, sizeof(probe));
    if (!why) {
        why = tmp;
        why_len = sizeof(tmp);
    }
    why[0] = 0;
    return rm_open_device(&probe, why, why_len) == 0;
}

/* ---- the loopback QP ---- */

/* A GID for RoCE: prefer RoCE v2 with an IPv4-mapped address, else any non-zero one. */
static int pick_gid(struct rdma_ctx *ctx, union ibv_gid *gid)
{
    int best = -1, best_score = -1;
    for (int i = 0; i < ctx->port_attr.gid_tbl_len && i < 256; i++) {
        struct ibv_gid_entry e;
        if (ibv_query_gid_ex(ctx->verbs, ctx->port, (uint32_t)i, &e, 0))
            continue;
        static const uint8_t zero[16];
        if (!memcmp(e.gid.raw, zero, 16))
            continue;
        bool v4 = e.gid.raw[10] == 0xff && e.gid.raw[11] == 0xff;
        int score = (e.gid_type == IBV_GID_TYPE_ROCE_V2) * 2 + v4;
        if (score > best_score) {
            best = i;
            best_score = score;
            *gid = e.gid;
        }
    }
    return best;
}

static int loop_connect(struct rdma_ctx *ctx, struct ibv_qp *qp)
{
    const struct rt_config *cfg = &ctx->base.cfg;
    struct ibv_qp_attr a;
    int gid_index = -1;
    union ibv_gid gid;

    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_INIT;
    a.port_num = ctx->port;
    a.qp_access_flags = IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC;
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
        return -errno;
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTR;
    a.path_mtu = ctx->port_attr.active_mtu;
    a.dest_qp_num = qp->qp_num;
    a.max_dest_rd_atomic = 1;
    a.min_rnr_timer = 12;
    a.ah_attr.port_num = ctx->port;
    a.ah_attr.dlid = ctx->port_attr.lid;
    if (ctx->port_attr.link_layer == IBV_LINK_LAYER_ETHERNET) {
        gid_index = pick_gid(ctx, &gid);
        if (gid_index < 0)
            return -EADDRNOTAVAIL;
        a.ah_attr.is_global = 1;
        a.ah_attr.grh.dgid = gid;
        a.ah_attr.grh.sgid_index = (uint8_t)gid_index;
        a.ah_attr.grh.hop_limit = 64;
    }
    if (ibv_modify_qp(qp, &a,
                      IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                          IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
        return -errno;
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTS;
    a.timeout = cfg->rdma_timeout;
    a.retry_cnt = cfg->rdma_retry;
    a.rnr_retry = 3;
    a.max_rd_atomic = 1;
    if (ibv_modify_qp(qp, &a,
                      IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                          IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC))
        return -errno;
    return 0;
}

int rm_loop_setup(struct rdma_ctx *ctx)
{
    struct rm_loop *l = &ctx->loop;
    struct ibv_qp_init_attr qa = {
        .qp_type = IBV_QPT_RC,
        .cap = {.max_send_wr = 4, .max_recv_wr = 1, .max_send_sge = 1, .max_recv_sge = 1},
    };
    int ret;

    l->result = aligned_alloc(64, 64);
    if (!l->result)
        return -ENOMEM;
    l->mr = ibv_reg_mr(ctx->pd, l->result, 64,
                       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE |
                           IBV_ACCESS_REMOTE_ATOMIC);
    l->cq = ibv_create_cq(ctx->verbs, 8, NULL, NULL, 0);
    if (!l->mr || !l->cq)
        return -errno ? -errno : -ENOMEM;
    qa.send_cq = qa.recv_cq = l->cq;
    l->qp = ibv_create_qp(ctx->pd, &qa);
    if (!l->qp)
        return -errno ? -errno : -ENOMEM;
    ret = loop_connect(ctx, l->qp);
    return ret;
}

void rm_loop_free(struct rdma_ctx *ctx)
{
    struct rm_loop *l = &ctx->loop;
    if (l->qp)
        ibv_destroy_qp(l->qp);
    if (l->cq)
        ibv_destroy_cq(l->cq);
    if (l->mr)
        ibv_dereg_mr(l->mr);
    free(l->result);
    memset(l, 0, sizeof(*l));
}

/* One atomic through the loopback QP, busy-polled to completion (1 s bound). */
static int loop_atomic(struct rdma_ctx *ctx, uint64_t addr, uint32_t rkey, bool cas, uint64_t a,
                       uint64_t b, uint64_t *raw)
{
    struct rm_loop *l = &ctx->loop;
    struct ibv_sge sge = {.addr = (uintptr_t)l->result, .length = 8, .lkey = l->mr->lkey};
    struct ibv_send_wr wr = {.wr_id = 1,
                             .sg_list = &sge,
                             .num_sge = 1,
                             .send_flags = IBV_SEND_SIGNALED},
                       *bad;
    struct ibv_wc wc;
    uint64_t end = rt_now_ns() + 1000000000ull;
    int n;

    wr.opcode = cas ? IBV_WR_ATOMIC_CMP_AND_SWP : IBV_WR_ATOMIC_FETCH_AND_ADD;
    wr.wr.atomic.remote_addr = addr;
    wr.wr.atomic.rkey = rkey;
    wr.wr.atomic.compare_add = a;
    wr.wr.atomic.swap = b;
    if (ibv_post_send(l->qp, &wr, &bad)) {
        fprintf(stderr, "rdlm rdma: loopback QP: post failed\n");
        return -EIO;
    }
    while ((n = ibv_poll_cq(l->cq, 1, &wc)) == 0)
        if (rt_now_ns() > end)
            return -ETIMEDOUT;
    if (n < 0 || wc.status != IBV_WC_SUCCESS) {
        fprintf(stderr, "rdlm rdma: loopback QP atomic: %s\n",
                n < 0 ? "poll failed" : ibv_wc_status_str(wc.status));
        return -EIO;
    }
    *raw = __atomic_load_n(l->result, __ATOMIC_ACQUIRE);
    return 0;
}

uint64_t rm_atomic_value(struct rdma_ctx *ctx, uint64_t raw)
{
    return ctx->atomic_be ? bswap_64(raw) : raw;
}

static bool vendor_big_endian(const struct ibv_device_attr *a)
{
    /* Mellanox ConnectX-3 / ConnectX-3 Pro (mlx4), as rdma-core's tests and perftest do */
    return a->vendor_id == 0x02c9 && (a->vendor_part_id == 4099 || a->vendor_part_id == 4100);
}

int rm_probe_byte_order(struct rdma_ctx *ctx)
{
    const uint64_t known = 0x0102030405060708ull, swap = 0x1111111111111111ull;
    uint64_t *w = ctx->loop.result + 1, raw;
    int ret;

    *w = known;
    ret = loop_atomic(ctx, (uintptr_t)w, ctx->loop.mr->rkey, true, known, swap, &raw);
    if (ret) {
        ctx->atomic_be = vendor_big_endian(&ctx->attr);
        fprintf(stderr, "rdlm rdma: loopback atomic probe failed (%s); atomic replies assumed %s\n",
                strerror(-ret), ctx->atomic_be ? "big-endian (vendor list)" : "host order");
        return ret;
    }
    if (raw == bswap_64(known) && raw != known)
        ctx->atomic_be = true;
    else if (raw != known || *w != swap)
        return -EPROTO;
    return 0;
}

int rm_local_atomic(rt_mr *mr, size_t off, bool cas, uint64_t a, uint64_t b, uint64_t *old)
{
    struct rdma_ctx *ctx = (struct rdma_ctx *)mr->ctx;
    uint64_t *w = (uint64_t *)((uint8_t *)mr->addr + off), raw, v;
    int ret;

    if (ctx->atomic_glob) {
        v = a;
        if (cas)
            __atomic_compare_exchange_n(w, &v, b, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        else
            v = __atomic_fetch_add(w, a, __ATOMIC_SEQ_CST);
    } else {
        ret = loop_atomic(ctx, (uintptr_t)w, mr->rkey, cas, a, b, &raw);
        if (ret)
            return ret;
        v = rm_atomic_value(ctx, raw);
    }
    if (old)
        *old = v;
    return 0;
}

void rm_find_self_ip(struct rdma_ctx *ctx)
{
    for (int i = 0; i < ctx->port_attr.gid_tbl_len && i < 256; i++) {
        struct ibv_gid_entry e;
        if (ibv_query_gid_ex(ctx->verbs, ctx->port, (uint32_t)i, &e, 0))
            continue;
        const uint8_t *r = e.gid.raw;
        static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(r, v4_prefix, 12))
            continue;
        snprintf(ctx->self_ip, sizeof(ctx->self_ip), "%u.%u.%u.%u", r[12], r[13], r[14], r[15]);
        return;
    }
}

const char *rm_map_loopback(struct rdma_ctx *ctx, const char *ip)
{
    if (ctx->self_ip[0] && (!strncmp(ip, "127.", 4) || !strcmp(ip, "localhost")))
        return ctx->self_ip;
    return ip;
}
