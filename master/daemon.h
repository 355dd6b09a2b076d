/*
 * master/daemon.h - rdlmd's state: the daemon, its shards, the lockspaces and resources a
 * shard masters, and the clients connected to it (docs/protocol.md).
 *
 * Files of the daemon, by concern:
 *   rdlmd.c       main: arguments, cluster file, topology, shards, signals, drain
 *   shard.c       a shard's thread: event loop, connections, message dispatch, sending
 *   mres.c        lockspaces, resources, slots (lock words and LVB records) of a shard
 *   serve.c       REQUEST / UNLOCK / CANCEL: served from the counts (FAST) or by the engine
 *   transition.c  FAST -> SLOW (CONTENDED, hold reports) and SLOW -> FAST
 *   ctl.c         STATUS, LS_LIST, DUMP, QUERY_*, PURGE
 *   membership.c  heartbeats between daemons, the membership epoch
 *
 * Threading: each shard is one thread that owns everything below it; shards share only the
 * read-only daemon config and the membership table (atomics).
 */
#ifndef RDLM_MASTER_DAEMON_H
#define RDLM_MASTER_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/lockword.h"
#include "common/proto.h"
#include "common/u64map.h"
#include "master/engine.h"
#include "verbs/transport.h"

#define SHARD_SLOTS_DEFAULT 65536u

struct shard;
struct mls;

/* A connection to a shard: a client lockspace handle, rdlmctl, or another daemon. */
struct mclient {
    rt_conn *conn;
    uint32_t id; /* index in shard->clients */
    struct proto_hello hello;
    struct mls *ls;    /* the lockspace opened on this connection */
    uint64_t owner_id; /* engine owner id: (connection serial << 32) | pid */
    int member;        /* our heartbeat connection to that member, -1 otherwise */
    bool closing;
};

/* A parked message (a request that arrived while its resource was in TRANSITION). */
struct parked {
    struct parked *next;
    uint32_t client;
    uint32_t len;
    uint8_t bytes[];
};

enum mres_state { RS_FAST = 1, RS_TRANSITION = 2, RS_SLOW = 3 };

/* A root resource of a lockspace mastered here. */
struct mres {
    struct mres *hnext;
    struct mls *ls;
    uint32_t slot; /* LW_NO_SLOT: no slot, the engine only */
    uint8_t state; /* enum mres_state */
    uint8_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
    uint32_t *interest; /* client ids that may hold fast-path locks */
    uint32_t ninterest, interest_cap;
    uint8_t *awaiting; /* TRANSITION: per interest entry, 1 until it reported */
    uint32_t nawaiting;
    struct msg_hold *holds; /* TRANSITION: reported locks */
    uint32_t *hold_client;  /* who reported each */
    uint32_t nholds, holds_cap;
    struct parked *parked_head, *parked_tail;
    uint64_t idle_since_ns; /* FAST with all counts zero since */
};

/* A lockspace at this shard. */
struct mls {
    struct mls *next;
    uint64_t id;
    char name[RDLM_LOCKSPACE_MAXLEN + 1];
    struct eng *e;
    struct mres **buckets;
    uint32_t nbuckets, nres;
};

struct shard_stats {
    uint64_t requests, fast_served, engine_ops, transitions, returns_to_fast, reclaims;
    uint64_t malformed, basts, completions;
};

struct shard {
    struct rdlmd *d;
    unsigned index;
    uint16_t node;
    uint16_t port;
    int cpu; /* pinned core, -1 if not pinned */
    pthread_t thread;
    rt_ctx *ctx;
    rt_listener *listener;
    uint64_t *words;         /* lock-word table (registered) */
    struct lvb_record *lvbs; /* LVB records (registered) */
    rt_mr *words_mr, *lvbs_mr;
    uint32_t nslots;
    struct mres **slot_res; /* slot -> resource using it */
    uint32_t *free_slots;
    uint32_t nfree;
    struct mclient **clients; /* by id; NULL = free */
    uint32_t nclients;
    uint32_t conn_serial;
    struct mls *lss;
    struct u64map lock_client; /* lkid -> client id, for locks the engine holds */
    struct eng_actions acts;
    uint64_t start_ns, last_tick_ns, last_sweep_ns, last_heartbeat_ns;
    struct shard_stats stats;
    uint8_t sendbuf[PROTO_MAX_MSG];
};

struct member {
    uint16_t node;
    _Atomic uint64_t last_seen_ns; /* 0 = never */
    _Atomic uint32_t epoch;
    rt_conn *conn; /* shard 0's control connection to it */
};

struct rdlmd {
    struct rdlm_cluster_config cfg;
    const struct rdlm_node_config *me;
    struct shard *shards;
    unsigned nshards;
    uint32_t slots_per_shard;
    int numa_node;
    char placement[160];
    struct member *members; /* one per configured node */
    _Atomic uint32_t epoch;
    atomic_bool stop;
    bool verbose;
};

/* shard.c */
int shard_start(struct shard *s);
void shard_join(struct shard *s);
uint64_t now_ns(void);
int send_msg(struct shard *s, struct mclient *c, struct proto_msg *m);
struct mclient *client_by_id(struct shard *s, uint32_t id);
int send_complete(struct shard *s, struct mclient *c, uint64_t lkid, uint8_t op, uint8_t status,
                  int8_t mode);
int send_reply(struct shard *s, struct mclient *c, uint64_t reqid, uint8_t status, const void *text,
               uint32_t len);
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* mres.c */
int shard_tables_init(struct shard *s);
void shard_tables_free(struct shard *s);
struct mls *mls_get(struct shard *s, const char *name, uint16_t len);
struct mls *mls_by_id(struct shard *s, uint64_t id);
struct mres *mres_find(struct mls *ls, const uint8_t *name, uint16_t len);
struct mres *mres_get(struct shard *s, struct mls *ls, const uint8_t *name, uint16_t len);
struct mres *mres_by_slot(struct shard *s, uint32_t slot, uint16_t gen);
void mres_free(struct shard *s, struct mres *r);
int mres_add_interest(struct mres *r, uint32_t client);
void mres_drop_client(struct shard *s, uint32_t client);
uint64_t word_load(struct shard *s, uint32_t slot);
bool word_cas(struct shard *s, uint32_t slot, uint64_t expect, uint64_t swap);
void word_set(struct shard *s, uint32_t slot, uint64_t value);
void slots_sweep(struct shard *s, uint64_t now, uint64_t toss_ns);

/* serve.c */
void serve_request(struct shard *s, struct mclient *c, const struct proto_msg *m);
void serve_unlock(struct shard *s, struct mclient *c, const struct proto_msg *m);
void serve_cancel(struct shard *s, struct mclient *c, const struct proto_msg *m);
void serve_actions(struct shard *s, struct mls *ls);
void serve_sync_word(struct shard *s, struct mres *r);
void serve_client_gone(struct shard *s, struct mclient *c);
void serve_tick(struct shard *s, uint64_t now);
void serve_settle(struct shard *s, struct mls *ls);
struct eng_owner client_owner(const struct mclient *c, uint64_t group);

/* transition.c */
void transition_start(struct shard *s, struct mres *r);
void transition_park(struct shard *s, struct mres *r, uint32_t client, const void *bytes,
                     uint32_t len);
void transition_report(struct shard *s, struct mclient *c, const struct proto_msg *m);
void transition_client_gone(struct shard *s, struct mres *r, uint32_t client);
void transition_maybe_fast(struct shard *s, struct mres *r);

/* ctl.c */
void ctl_handle(struct shard *s, struct mclient *c, const struct proto_msg *m);

/* membership.c */
void membership_init(struct rdlmd *d);
void membership_tick(struct shard *s, uint64_t now);
void membership_heartbeat(struct shard *s, struct mclient *c, const struct proto_msg *m);
void membership_conn_gone(struct shard *s, struct mclient *c);
int membership_status(struct rdlmd *d, char *buf, size_t len);
struct mclient *shard_add_conn(struct shard *s, rt_conn *conn, const struct proto_hello *hello);

/* dispatch (shard.c) re-entry for parked messages */
void shard_dispatch(struct shard *s, struct mclient *c, const void *bytes, uint32_t len);

#endif /* RDLM_MASTER_DAEMON_H */
