/*
 * master/deadlock_internal.h - what the files of the deadlock search share: its limits, the
 * per-shard, per-lockspace and per-search state, and the functions one file calls in another.
 * The design, and which file holds what, is at the top of deadlock.c. Only master/deadlock*.c
 * include this; the daemon calls the search through daemon.h.
 */
#ifndef RDLM_MASTER_DEADLOCK_INTERNAL_H
#define RDLM_MASTER_DEADLOCK_INTERNAL_H

#include "master/daemon.h"
#include "rdlm.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define DL_RING         16u            /* deadlocks remembered per shard */
#define DL_SHARD_EDGES  4096u          /* edges one master reports to one query */
#define DL_SEARCH_EDGES 16384u         /* edges one search collects in all */
#define DL_MAX_CYCLES   4u             /* cycles confirmed per search */
#define DL_MAX_WORK     4000000u       /* graph steps per search */
#define DL_LOG_EVERY_NS 10000000000ull /* a repeated give-up is logged once per 10 s */

enum { PS_IDLE = 0, PS_CONNECT, PS_ASKED, PS_DONE }; /* a peer in a snapshot */
enum { PH_SNAPSHOT = 1, PH_CONFIRM };                /* a search */

/* Another (node, shard) of the cluster, and our connection to it. */
struct dl_peer {
    uint16_t node, shard;
    int node_index; /* in cfg.nodes: its bit in the view mask */
    struct mclient *c;
    bool open; /* RT_EV_CONNECTED seen */
};

/* An edge as a search holds it. src: the peer that reported it (npeers = this shard). */
struct dl_edge {
    struct msg_dl_edge e;
    uint32_t src;
};

/* A waiting request: the vertices of the wait graph. */
struct dl_vertex {
    uint64_t lkid;
    uint32_t src;
    uint32_t first, n; /* its edges, sorted */
    uint32_t owner;    /* index into the owner table */
    bool old, used;
};

struct dl_cycle {
    uint32_t n;
    uint32_t vertex[PROTO_DL_CYCLE]; /* step i: this wait ... */
    uint32_t edge[PROTO_DL_CYCLE];   /* ... waits by this edge for the owner of step i+1 */
    struct msg_dl_fact fact[PROTO_DL_CYCLE];
    uint32_t awaiting; /* confirmations outstanding */
    bool done;
};

struct dl_search {
    uint64_t id;
    uint32_t epoch;
    uint64_t started_ns;
    int phase;
    uint8_t *peer_state; /* PS_* per peer */
    uint32_t outstanding;
    struct dl_edge *edges;
    uint32_t nedges, cap;
    bool truncated;
    /* the graph, once every answer is in */
    struct dl_vertex *v;
    uint32_t nv;
    struct msg_dl_owner *owners;
    uint32_t nowners;
    uint32_t *owner_first, *owner_v; /* vertices of owner k: owner_v[owner_first[k] ..] */
    struct dl_cycle cycles[DL_MAX_CYCLES];
    uint32_t ncycles;
};

/* Per lockspace: when each pending request started waiting; the search in flight. */
struct dl_ls {
    struct dl_ls *next;
    uint64_t id;
    struct u64map waits; /* lkid -> now_ns() when it queued */
    uint64_t last_search_ns;
    struct dl_search *search;
};

struct dl_record {
    struct timespec when;
    char ls[RDLM_LOCKSPACE_MAXLEN + 1];
    uint64_t victim;
    uint16_t node, shard; /* the searcher */
    uint16_t n;
    struct msg_dl_step s[PROTO_DL_CYCLE];
};

struct dl_shard {
    struct dl_peer *peers;
    uint32_t npeers;
    struct dl_ls *lss;
    uint64_t last_scan_ns, next_id, last_log_ns;
    struct dl_record ring[DL_RING];
    uint64_t recorded; /* victims cancelled here, all time (ring index = recorded % DL_RING) */
    uint64_t searches, given_up, cycles;
};

/* deadlock_wait, in ns: a wait this old is looked at. */
static inline uint64_t dl_wait_ns(const struct shard *s)
{
    return (uint64_t)s->d->cfg.deadlock_wait_ms * 1000000ull;
}

/* deadlock.c */
struct dl_ls *dl_ls_get(struct dl_shard *dl, uint64_t id, bool create);
/* At the victim's master: cancel it if it still waits with the same stamp, and record it. */
void dl_cancel_victim(struct shard *s, uint64_t id, const struct msg_dl_cancel *k);

/* deadlock_search.c */
int dl_owner_cmp(const struct msg_dl_owner *a, const struct msg_dl_owner *b);
void dl_answer_query(struct shard *s, struct mclient *c, const struct proto_msg *q);
void dl_search_start(struct shard *s, struct dl_ls *l, uint64_t now);
/* End l's search; why: the reason it gave up, NULL if it completed. */
void dl_search_end(struct shard *s, struct dl_ls *l, const char *why);
void dl_search_free(struct dl_search *x);
void dl_send_to_peer(struct shard *s, struct dl_peer *p, struct proto_msg *m);
void dl_ask_peer(struct shard *s, struct dl_ls *l, uint32_t i);
/* The lockspace whose search in flight m answers; NULL if none (it ended). */
struct dl_ls *dl_search_of(struct shard *s, const struct proto_msg *m);
void dl_got_edges(struct shard *s, int p, const struct proto_msg *m);

/* deadlock_graph.c */
/* Every answer is in: build the graph, find cycles, ask for their confirmation. */
void dl_analyze(struct shard *s, struct dl_ls *l);
void dl_answer_confirm(struct shard *s, struct mclient *c, const struct proto_msg *q);
void dl_got_confirmed(struct shard *s, int p, const struct proto_msg *m);

#endif /* RDLM_MASTER_DEADLOCK_INTERNAL_H */
