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
 *   membership.c  heartbeats between daemons; the membership view (epoch, members), its
 *                 coordinator, quorum, joining and exclusion
 *   recover.c     acting on a new view: resources of lost nodes rebuilt on their new masters
 *                 from the clients' reports, home clients told to report, the barrier
 *   deadlock.c    the deadlock search across masters: wait starts, snapshot + confirm, victims
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
#include "common/placement.h"
#include "common/proto.h"
#include "common/u64map.h"
#include "master/engine.h"
#include "verbs/transport.h"

#define SHARD_SLOTS_DEFAULT 65536u

struct shard;
struct mls;
struct dl_shard;

/* A connection to a shard: a client lockspace handle, rdlmctl, or another daemon. */
struct mclient {
    rt_conn *conn;
    uint32_t id; /* index in shard->clients */
    struct proto_hello hello;
    struct mls *ls;    /* the lockspace opened on this connection */
    uint64_t owner_id; /* engine owner id: (connection serial << 32) | pid */
    int member;        /* our heartbeat connection to that member, -1 otherwise */
    bool established;  /* our connection: the other end accepted it (RT_EV_CONNECTED) */
    bool closing;
    bool lost;            /* a process of a node the view left out: unserved, kept until fenced */
    bool conn_failed;     /* the transport closed it (alive.c: a remote client is then held) */
    bool gone;            /* alive.c: its home says the handle is gone */
    uint64_t next_ask_ns; /* alive.c: when to ask its home again */
    bool home;            /* a client handle whose home daemon we are (LSO_HOME) */
    bool info_sent;       /* SHARD_INFO sent (held back until the daemon has joined) */
    uint32_t info_epoch;  /* the view epoch that SHARD_INFO carried */
    uint32_t rec_pending; /* home: the epoch it was told to report for and has not yet */
    uint16_t peer_node;   /* the node at the other end (ours: the one we connected to) */
    bool isolated;        /* fault.c: severed by an isolation; kept (no purge) until heal */
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
    struct mres_rec *rec;   /* being rebuilt after its master was lost (recover.c) */
};

/* What a resource being rebuilt has learnt of its LVB from the reports (Linux rules). */
struct mres_rec {
    bool have; /* some reported lock carried the LVB */
    bool big;  /* ... and one of them is held PR, PW or EX: the value is valid */
    bool ex;   /* the value is a PW/EX holder's */
    uint64_t seq;
    uint8_t lvb[RDLM_LVB_LEN];
};

/* A lockspace at this shard. */
struct mls {
    struct mls *next;
    uint64_t id;
    char name[RDLM_LOCKSPACE_MAXLEN + 1];
    struct eng *e;
    struct mres **buckets;
    uint32_t nbuckets, nres;
    void *rd_hook; /* rd.c: the argument of the engine's create hook */
};

struct shard_stats {
    uint64_t requests, fast_served, engine_ops, transitions, returns_to_fast, reclaims;
    uint64_t malformed, basts, completions;
    uint64_t recoveries, recovered_locks, recovered_resources, last_recovery_us;
};

/* A message that names a view newer than the shard's (recover.c): kept until the view
 * catches up, or dropped after FUTURE_KEEP_NS. */
struct future_msg {
    struct future_msg *next;
    uint32_t client;
    uint64_t since_ns;
    uint32_t len;
    uint8_t bytes[];
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
    /* the membership view as this shard acts on it (recover.c) */
    uint32_t view_epoch;
    uint64_t view_mask;   /* members of that view */
    uint64_t masters;     /* its masters (placement) */
    uint64_t stable_mask; /* masters of the last view whose recovery completed */
    bool rec_active;      /* resources moved here by view_epoch are being rebuilt */
    bool frozen;          /* no quorum: nothing is granted (recover.c) */
    uint64_t isolated;    /* fault.c: the isolation applied here (bit = configured node index) */
    uint64_t refused;     /* fault.c: connections refused from isolated nodes */
    bool heal_pending;    /* fault.c: healed; rt_heal once the severed ones are closed */
    uint32_t held_infos;  /* clients waiting for SHARD_INFO until the daemon joins */
    uint64_t rec_start_ns;
    struct future_msg *future_head, *future_tail;
    uint32_t groups_purged_epoch; /* lost nodes' containers purged for this view (recover.c) */
    struct dl_shard *dl;          /* deadlock search (deadlock.c), NULL until first needed */
    struct rd_shard *rd;          /* recovery domains (rd.c), NULL until first needed */
    struct glc_table *glc; /* group lock containers (glc.c; shard 0), NULL until first needed */
    struct outbox *outbox; /* queued messages to other shards (outbox.c), NULL until needed */
    struct keeper *keeper; /* orphans and group locks of this node's owners (keeper.c; shard 0) */
    struct alive_watch *watches; /* alive.c: askers to tell when a home connection closes */
    uint32_t nwatches;
    uint8_t sendbuf[PROTO_MAX_MSG];
};

struct member {
    uint16_t node;
    _Atomic uint64_t last_seen_ns;     /* 0 = never */
    _Atomic uint32_t epoch;            /* the view epoch it last announced */
    _Atomic uint32_t done_epoch;       /* its home clients have all reported for this epoch */
    _Atomic bool lost;                 /* seen, then gone (connection closed or silent) */
    _Atomic uint64_t unheard_close_ns; /* never heard, but it accepted our connection, which
                                          then closed (0 = not so): lost if still unheard
                                          node_timeout_ms later */
    void *_Atomic hb_conn;             /* the connection its heartbeats arrive on (shard 0) */
    _Atomic uint32_t incarnation;      /* of the daemon we hear (a restart is a new one) */
    bool fenced;                       /* coordinator: fence_command succeeded since it left */
    int fence_pid;                     /* coordinator: the fence command running for it, or 0 */
    uint64_t fence_retry_ns;           /* coordinator: when to run it again after a failure */
    rt_conn *conn;                     /* shard 0's control connection to it */
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
    int my_index;           /* our index in cfg.nodes (bit of view masks) */
    /* The membership view: written by shard 0 under view_mu, epoch last; other shards read
     * epoch without the lock and take the lock to read the rest when it changed. */
    pthread_mutex_t view_mu;
    _Atomic uint32_t epoch;
    uint64_t view_mask;            /* members: quorum, home of their clients */
    uint64_t view_masters;         /* the members that master resources (placement) */
    uint32_t incarnation;          /* random per start */
    _Atomic uint32_t fenced_epoch; /* every node outside this view is fenced (membership.c) */
    atomic_bool joined;            /* a member of the view we know, having heard a majority */
    atomic_bool excluded;          /* a newer view left us out after we had joined: we exit */
    atomic_bool quorate;           /* the live members of our view are a majority */
    atomic_bool stop;
    atomic_int exit_status; /* 3: excluded from the view (restart clean) */
    bool verbose;
    bool fault_injection;      /* RDLM_FAULT_INJECTION=1 at start: rdlmctl isolate/heal work */
    _Atomic uint64_t isolated; /* fault.c: nodes behind a simulated partition (node index bits) */
    _Atomic bool lose_completions; /* fault.c: lock completions are dropped, not sent */
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

/* recover.c: the (node, shard) the members of mask would give name in lockspace ls_id */
struct rdlm_placement_target shard_place(const struct shard *s, uint64_t ls_id, uint64_t mask,
                                         const uint8_t *name, uint16_t len);

/* serve.c */
void serve_request(struct shard *s, struct mclient *c, const struct proto_msg *m);
void serve_unlock(struct shard *s, struct mclient *c, const struct proto_msg *m);
void serve_cancel(struct shard *s, struct mclient *c, const struct proto_msg *m);
bool serve_park_behind(struct shard *s, struct mclient *c, const struct proto_msg *m,
                       uint64_t lkid);
void serve_actions(struct shard *s, struct mls *ls);
void serve_sync_word(struct shard *s, struct mres *r);
void serve_client_gone(struct shard *s, struct mclient *c);
void serve_tick(struct shard *s, uint64_t now);
void serve_settle(struct shard *s, struct mls *ls);
void serve_purge_owner(struct shard *s, struct mls *ls, const struct eng_owner *owner);
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
int membership_status(struct rdlmd *d, char *buf, size_t len);
struct mclient *shard_add_conn(struct shard *s, rt_conn *conn, const struct proto_hello *hello);
struct mclient *shard_connect_peer(struct shard *s, uint16_t node, uint16_t shard);

uint64_t membership_mask(struct rdlmd *d, uint32_t *epoch, uint64_t *masters);
int node_index(const struct rdlmd *d, uint32_t node);     /* in the cluster file, -1 if none */
bool shard_in_view(const struct shard *s, uint32_t node); /* a member of the shard's view */
void membership_kick(struct shard *s);
void membership_daemon_gone(struct shard *s, struct mclient *c);

/* recover.c */
void recover_tick(struct shard *s, uint64_t now);
bool recover_hold_request(struct shard *s, struct mclient *c, const struct proto_msg *m);
bool recover_hold_unlock(struct shard *s, struct mclient *c, const struct proto_msg *m);
bool recover_hold_cancel(struct shard *s, struct mclient *c, const struct proto_msg *m);
bool recover_frozen(struct shard *s, struct mclient *c, const struct proto_msg *m);
void recover_locks(struct shard *s, struct mclient *c, const struct proto_msg *m);
void recover_end(struct shard *s, struct mclient *c, const struct proto_msg *m);
void recover_orphan(struct shard *s, struct mclient *c, const struct proto_msg *m);
bool recover_hold_lost(struct shard *s, const struct mclient *c);
void recover_home_open(struct shard *s, struct mclient *c);
void recover_home_done(struct shard *s, struct mclient *c, const struct proto_msg *m);
void recover_client_gone(struct shard *s, struct mclient *c);
void recover_free(struct shard *s);
int recover_status(struct shard *s, char *buf, size_t len);

/* transition.c, for recover.c; a hold of no client: an orphan a keeper reported */
#define HOLD_NO_CLIENT UINT32_MAX
int transition_add_hold(struct mres *r, uint32_t client, const struct msg_hold *h);
void transition_finish_rebuilt(struct shard *s, struct mres *r, uint8_t lvb_status, uint64_t seq,
                               const uint8_t *lvb);
void send_shard_info(struct shard *s, struct mclient *c);

/* deadlock.c */
void deadlock_note_wait(struct shard *s, struct mls *ls, uint64_t lkid);
void deadlock_tick(struct shard *s, uint64_t now);
void deadlock_msg(struct shard *s, struct mclient *c, const struct proto_msg *m);
void deadlock_conn_up(struct shard *s, struct mclient *c);
void deadlock_conn_gone(struct shard *s, struct mclient *c);
int deadlock_status(struct shard *s, char *buf, size_t len);
int deadlock_list(struct shard *s, char *buf, size_t len);
void deadlock_free(struct shard *s);

/* alive.c: a remote client's failed connection is held until its home says it is gone */
bool alive_hold(struct shard *s, const struct mclient *c);
void alive_tick(struct shard *s, uint64_t now);
void alive_msg(struct shard *s, struct mclient *c, const struct proto_msg *m);
void alive_conn_gone(struct shard *s, const struct mclient *c);
void alive_free(struct shard *s);

/* outbox.c: messages to other shards over ROLE_PEER connections made on demand */
int outbox_send(struct shard *s, uint16_t node, uint16_t shard, struct proto_msg *m);
void outbox_conn_up(struct shard *s, struct mclient *c);
void outbox_conn_gone(struct shard *s, struct mclient *c);
void outbox_tick(struct shard *s);
void outbox_free(struct shard *s);

/* orphan.c: around an engine call that may make or end orphans in ls, tell their keepers */
struct orphan_watch {
    uint64_t *ids;   /* the orphans before, ascending */
    uint32_t *nodes; /* ... and their owners' nodes */
    size_t n;
};
void orphan_watch_begin(struct mls *ls, struct orphan_watch *w);
void orphan_watch_end(struct shard *s, struct mls *ls, struct orphan_watch *w);
void orphan_note_group(struct shard *s, struct mls *ls, uint64_t lkid);

/* keeper.c: shard 0 keeps the orphans of this node's dead owners and the group locks of its
 * containers (MSG_ORPHAN) */
void keeper_msg(struct shard *s, struct mclient *c, const struct proto_msg *m);
void keeper_forget(struct shard *s, uint64_t lsid, uint64_t lkid);
void keeper_forget_group(struct shard *s, uint64_t container);
void keeper_view(struct shard *s);
bool keeper_done(struct shard *s);
size_t keeper_count(const struct shard *s);
void keeper_free(struct shard *s);

/* glc.c: group lock containers (MSG_GLC) */
void glc_msg(struct shard *s, struct mclient *c, const struct proto_msg *m);
void glc_conn_gone(struct shard *s, struct mclient *c);
bool glc_has_lock(struct shard *s, uint64_t container, uint64_t lkid);
void glc_free(struct shard *s);

/* rd.c: recovery domains (MSG_RD) */
void rd_msg(struct shard *s, struct mclient *c, const struct proto_msg *m);
void rd_conn_gone(struct shard *s, struct mclient *c);
void rd_view(struct shard *s, uint32_t epoch, uint64_t mask, uint64_t masters, bool first);
void rd_ls_new(struct shard *s, struct mls *ls);
int rd_status(struct shard *s, char *buf, size_t len);
void rd_free(struct shard *s);

/* fault.c: fault injection (rdlmctl isolate / heal), a partition made by dropping connections */
void fault_init(struct rdlmd *d);
void fault_msg(struct shard *s, struct mclient *c, const struct proto_msg *m);
void fault_tick(struct shard *s);
bool fault_isolated(struct rdlmd *d, uint16_t node);
bool fault_lost(struct shard *s, const struct proto_msg *m); /* m is dropped, not sent */
int fault_status(struct shard *s, char *buf, size_t len);

/* dispatch (shard.c) re-entry for parked messages */
void shard_dispatch(struct shard *s, struct mclient *c, const void *bytes, uint32_t len);

#endif /* RDLM_MASTER_DAEMON_H */
