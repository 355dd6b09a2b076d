/*
 * lib/ls.c - lockspace handles: finding the cluster (RDLM_CONFIG, RDLM_NODE), the handle's
 * transport context and registered scratch buffer, its resource cache (name -> master and
 * slot), lock ids, statistics, and closing (this handle's locks are released: PERSISTENT ones
 * are left to become orphans, as when a process exits).
 */
#include "lib/client.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#define CLOSE_TIMEOUT_MS 5000
#define SCRATCH_LEN      4096

bool client_trace(void)
{
    static int on = -1;

    if (on < 0)
        on = getenv("RDLM_TRACE") && strcmp(getenv("RDLM_TRACE"), "0") != 0;
    return on;
}

/* ---- lock ids: node:12 | pid:22 | sequence:30 ---- */

static _Atomic uint32_t lkid_seq;

uint64_t client_new_lkid(const struct rdlm_ls *ls)
{
    uint32_t seq;

    do
        seq = atomic_fetch_add(&lkid_seq, 1) & ((1u << 30) - 1);
    while (seq == 0 || u64map_get(&ls->locks,
                                  ((uint64_t)(ls->my_node & 0xfff) << 52) |
                                      ((uint64_t)(getpid() & 0x3fffff) << 30) | seq,
                                  NULL));
    return ((uint64_t)(ls->my_node & 0xfff) << 52) | ((uint64_t)(getpid() & 0x3fffff) << 30) | seq;
}

/* ---- the resource cache ---- */

static uint32_t res_bucket(const struct rdlm_ls *ls, uint64_t parent, const void *name,
                           unsigned len)
{
    return (uint32_t)XXH3_64bits_withSeed(name, len, parent) & (ls->res_nbuckets - 1);
}

struct cres *cres_find(struct rdlm_ls *ls, uint64_t parent, const void *name, unsigned len)
{
    for (struct cres *r = ls->res_buckets[res_bucket(ls, parent, name, len)]; r; r = r->hnext)
        if (r->parent == parent && r->namelen == len && memcmp(r->name, name, len) == 0)
            return r;
    return NULL;
}

struct cres *cres_get(struct rdlm_ls *ls, uint64_t parent, const void *name, unsigned len)
{
    uint32_t b = res_bucket(ls, parent, name, len);
    struct cres *r = cres_find(ls, parent, name, len);

    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return NULL;
        r->parent = parent;
        r->namelen = (uint8_t)len;
        memcpy(r->name, name, len);
        r->slot = LW_NO_SLOT;
        r->hnext = ls->res_buckets[b];
        ls->res_buckets[b] = r;
        ls->nres++;
    }
    if (!r->cc && !parent)
        r->cc = conn_for_name(ls, name, len);
    r->nlocks++;
    return r;
}

/* Root resources stay cached (their slot makes the next lock one CAS); sub-resources go. */
void cres_put(struct rdlm_ls *ls, struct cres *r)
{
    struct cres **pp;

    if (--r->nlocks || !r->parent)
        return;
    pp = &ls->res_buckets[res_bucket(ls, r->parent, r->name, r->namelen)];
    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    ls->nres--;
    free(r);
}

/* ---- opening ---- */

static int load_cluster(struct rdlm_ls *ls)
{
    char err[256];
    int node;

    if (rdlm_config_load(rdlm_config_path(), &ls->cfg, err, sizeof(err)) < 0)
        return RDLM_E_NOTCONN;
    node = rdlm_config_local_node(&ls->cfg);
    ls->my_node = node > 0 ? (uint32_t)node : ls->cfg.nodes[0].id;
    ls->nmembers = ls->cfg.nnodes;
    ls->members = calloc(ls->nmembers, sizeof(*ls->members));
    if (!ls->members)
        return RDLM_E_NOMEM;
    for (size_t i = 0; i < ls->nmembers; i++) {
        ls->members[i].node = ls->cfg.nodes[i].id;
        ls->members[i].shards = ls->cfg.nodes[i].shards;
        if (ls->cfg.nodes[i].shards > ls->max_shards)
            ls->max_shards = ls->cfg.nodes[i].shards;
    }
    return RDLM_OK;
}

static int open_transport(struct rdlm_ls *ls)
{
    struct rt_config cfg;

    rt_config_init(&cfg);
    cfg.backend = strcmp(ls->cfg.transport, "rdma") == 0  ? RT_BACKEND_RDMA
                  : strcmp(ls->cfg.transport, "tcp") == 0 ? RT_BACKEND_TCP
                                                          : RT_BACKEND_AUTO;
    if (getenv("RDLM_TRANSPORT"))
        cfg.backend = RT_BACKEND_DEFAULT;
    cfg.max_msg = PROTO_MAX_MSG;
    if (rt_ctx_create(&cfg, &ls->ctx) < 0)
        return RDLM_E_NOTCONN;
    if (posix_memalign((void **)&ls->scratch, 4096, SCRATCH_LEN) != 0)
        return RDLM_E_NOMEM;
    memset(ls->scratch, 0, SCRATCH_LEN);
    if (rt_reg(ls->ctx, ls->scratch, SCRATCH_LEN, &ls->scratch_mr) < 0)
        return RDLM_E_NOMEM;
    return RDLM_OK;
}

static void free_handle(struct rdlm_ls *ls)
{
    size_t pos = 0;
    uint64_t k, v;

    while (u64map_next(&ls->locks, &pos, &k, &v))
        free((void *)(uintptr_t)v);
    u64map_free(&ls->locks);
    if (ls->conns)
        conns_close(ls);
    for (uint32_t b = 0; ls->res_buckets && b < ls->res_nbuckets; b++)
        while (ls->res_buckets[b]) {
            struct cres *r = ls->res_buckets[b];
            ls->res_buckets[b] = r->hnext;
            free(r);
        }
    ast_fini(ls);
    if (ls->scratch_mr)
        rt_dereg(ls->scratch_mr);
    if (ls->ctx)
        rt_ctx_destroy(ls->ctx);
    free(ls->scratch);
    free(ls->res_buckets);
    free(ls->conns);
    free(ls->conn_opening);
    free(ls->members);
    rdlm_config_free(&ls->cfg);
    pthread_mutex_destroy(&ls->mu);
    pthread_mutex_destroy(&ls->ast_mu);
    free(ls);
}

static int open_handle(const char *name, uint32_t flags, rdlm_ls **out)
{
    struct rdlm_ls *ls;
    int st;

    *out = NULL;
    if (!name || !*name || strlen(name) > RDLM_LOCKSPACE_MAXLEN ||
        (flags & ~(RDLM_LS_NEWEXCL | RDLM_LS_FD_DISPATCH)))
        return RDLM_E_INVAL;
    ls = calloc(1, sizeof(*ls));
    if (!ls)
        return RDLM_E_NOMEM;
    pthread_mutex_init(&ls->mu, NULL);
    pthread_mutex_init(&ls->ast_mu, NULL);
    ls->ast_fd = ls->wake_fd = ls->ep_fd = -1;
    strcpy(ls->name, name);
    ls->id = rdlm_ls_seed(name);
    ls->flags = flags;
    ls->fastpath = !getenv("RDLM_FASTPATH") || strcmp(getenv("RDLM_FASTPATH"), "0") != 0;
    if (getrandom(&ls->incarnation, sizeof(ls->incarnation), 0) < 0)
        ls->incarnation = (uint32_t)getpid();
    st = load_cluster(ls);
    if (st == RDLM_OK)
        st = open_transport(ls);
    if (st == RDLM_OK) {
        ls->conns = calloc(ls->nmembers * ls->max_shards, sizeof(*ls->conns));
        ls->conn_opening = calloc(ls->nmembers * ls->max_shards, sizeof(*ls->conn_opening));
        ls->res_nbuckets = 1024;
        ls->res_buckets = calloc(ls->res_nbuckets, sizeof(*ls->res_buckets));
        if (!ls->conns || !ls->conn_opening || !ls->res_buckets || ast_init(ls) < 0)
            st = RDLM_E_NOMEM;
    }
    if (st == RDLM_OK) { /* our node's daemon: it gives us the view and its changes */
        pthread_mutex_lock(&ls->mu);
        st = conn_home(ls);
        pthread_mutex_unlock(&ls->mu);
    }
    if (st == RDLM_OK && !(flags & RDLM_LS_FD_DISPATCH))
        st = rdlm_ls_start_dispatch(ls);
    if (st != RDLM_OK) {
        free_handle(ls);
        return st;
    }
    *out = ls;
    return RDLM_OK;
}

int rdlm_ls_create(const char *name, uint32_t flags, rdlm_ls **out)
{
    return out ? open_handle(name, flags, out) : RDLM_E_INVAL;
}

int rdlm_ls_open(const char *name, uint32_t flags, rdlm_ls **out)
{
    return out ? open_handle(name, flags & ~RDLM_LS_NEWEXCL, out) : RDLM_E_INVAL;
}

/* ---- closing ---- */

/* Release every lock of the handle but the PERSISTENT ones (they become orphans at the
 * masters when the connections close). */
static void release_locks(struct rdlm_ls *ls)
{
    size_t pos = 0;
    uint64_t lkid, v;
    uint64_t *ids = calloc(ls->locks.n + 1, sizeof(*ids));
    size_t n = 0;

    if (!ids)
        return;
    while (u64map_next(&ls->locks, &pos, &lkid, &v)) {
        const struct clock *l = (const struct clock *)(uintptr_t)v;
        /* persistent locks become orphans, group locks stay with their container */
        if (!(l->flags & RDLM_LKF_PERSISTENT) && !l->unlocking && !l->group)
            ids[n++] = lkid;
    }
    for (size_t i = 0; i < n && !ls->broken; i++) {
        struct clock *l = lock_find(ls, ids[i]);
        if (!l)
            continue;
        l->ast = NULL; /* nobody listens any more */
        l->lksb = NULL;
        do_unlock_for_close(ls, l);
    }
    free(ids);
}

int rdlm_ls_close(rdlm_ls *ls)
{
    if (!ls)
        return RDLM_E_INVAL;
    rdlm_ls_stop_dispatch(ls);
    pthread_mutex_lock(&ls->mu);
    release_locks(ls);
    pthread_mutex_unlock(&ls->mu);
    glc_handle_closed(ls);
    rd_ls_closed(ls);
    free_handle(ls);
    return RDLM_OK;
}

int rdlm_ls_release(rdlm_ls *ls, int force)
{
    (void)force; /* the lockspace lives at the masters while any handle uses it */
    return rdlm_ls_close(ls);
}

void rdlm_ls_stats(rdlm_ls *ls, struct rdlm_stats *out)
{
    if (!ls || !out)
        return;
    pthread_mutex_lock(&ls->mu);
    *out = ls->stats;
    pthread_mutex_unlock(&ls->mu);
}

void rdlm_ls_set_fastpath(rdlm_ls *ls, int enabled)
{
    if (!ls)
        return;
    pthread_mutex_lock(&ls->mu);
    ls->fastpath = enabled != 0;
    pthread_mutex_unlock(&ls->mu);
}

uint32_t rdlm_ls_node(const rdlm_ls *ls)
{
    return ls ? ls->my_node : 0;
}

uint64_t rdlm_ls_id(const rdlm_ls *ls)
{
    return ls ? ls->id : 0;
}
