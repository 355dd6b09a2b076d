/*
 * lib/client.h - librdlm's internals: the lockspace handle, its connections to masters, its
 * cached resources and its locks.
 *
 * Files of the library, by concern:
 *   ls.c        lockspace handles: open/close, the cluster file, placement, statistics
 *   conn.c      connections to (node, shard) masters; the progress loop; message handling
 *   lock.c      rdlm_lock / rdlm_unlock / rdlm_cancel: validation and the two-sided path
 *   fastpath.c  the one-sided path: CAS on the master's lock word (+ LVB READ/WRITE)
 *   report.c    CONTENDED -> HOLD_REPORT
 *   recover.c   a master was lost: report our locks to the new masters, re-send (RECOVER)
 *   ast.c       the callback queue, the dispatch thread, rdlm_ls_fd / rdlm_dispatch
 *   query.c     rdlm_query_lock / rdlm_query_resource / rdlm_purge
 *   rd.c        recovery domains: rdlm_rd_* (process-wide attachments, fan-out to shards)
 *
 * Concurrency: one mutex per handle (ls->mu) guards all of it, including the transport
 * context, which is driven only under it. Synchronous fast-path operations hold it from the
 * CAS to its completion, so no CAS is ever in flight while the handle answers a CONTENDED.
 * Callbacks run with the mutex released.
 */
#ifndef RDLM_LIB_CLIENT_H
#define RDLM_LIB_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/lockword.h"
#include "common/placement.h"
#include "common/proto.h"
#include "common/u64map.h"
#include "rdlm.h"
#include "verbs/transport.h"

struct cconn { /* a connection to one master shard */
    rt_conn *conn;
    uint32_t node, shard;
    bool ready; /* SHARD_INFO received */
    bool failed;
    bool closed;                 /* the transport reported it closed (conn_failed ran) */
    bool home;                   /* our home daemon: it tells us of new views (RECOVER) */
    uint32_t rec_sent;           /* the view epoch for which we reported locks to this master */
    struct rt_rdesc words, lvbs; /* the shard's registered tables */
    uint32_t nslots;
};

struct cres { /* a resource this handle has used */
    struct cres *hnext;
    uint64_t parent;  /* parent lock id for a sub-resource, else 0 */
    struct cconn *cc; /* its master */
    uint32_t slot;    /* LW_NO_SLOT: two-sided only */
    uint64_t word;    /* last word seen */
    uint32_t nlocks;  /* this handle's locks on it */
    uint8_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
};

enum clock_state { CL_NEW = 0, CL_GRANTED = 1 };

struct clock { /* one of this handle's locks */
    uint64_t lkid;
    struct cres *res;
    int8_t grmode; /* RDLM_MODE_IV until first granted */
    int8_t rqmode;
    bool pending; /* a request or unlock is at the master */
    bool unlocking;
    int8_t unlock_grmode;  /* the granted mode the pending unlock was sent with */
    uint32_t unlock_flags; /* ... and its flags (sent again if a grant overtook it) */
    bool sync;             /* a thread waits for the pending operation */
    uint8_t sync_op;       /* which one: ENG_OP_REQUEST or ENG_OP_UNLOCK */
    bool done;             /* sync: the completion arrived */
    bool free_after;       /* sync: the lock ended; the waiter frees it */
    bool lvbseq_known;     /* lvbseq is the LVB's sequence as of our last read/write */
    bool lvb_prewritten;   /* a failed fast attempt already wrote the LVB record */
    uint32_t flags;        /* flags of the last request */
    uint64_t lvbseq;
    uint64_t hint;
    uint64_t group;
    uint64_t xid;               /* of the last request (re-sent after a recovery) */
    uint32_t timeout_cs, rd_id; /* likewise */
    uint32_t persist_rd;        /* created with PERSIST_RES: the resource's recovery domain */
    bool resend;                /* its master was lost: send the pending request again */
    uint32_t resent;            /* times the pending request went again to a new master: a
                                   cancel answered across a re-send was answered by the old one */
    bool demoted;               /* recovery reported it at NL (a CONVDEADLK conversion the lost
                                   master may have demoted): its completion says DEMOTED */
    bool cancel_accepted;       /* a master accepted a cancel of the pending request: if that master
                                   is lost before its CANCELED arrives, recovery completes it so */
    bool has_lvb_copy;          /* lvb_copy is the value this lock last read or wrote */
    uint64_t lvb_copy_seq;
    uint8_t lvb_copy[RDLM_LVB_LEN]; /* for the new master's LVB recovery */
    struct rdlm_lksb *lksb;
    int last_status; /* of the last completion (for a lock without an lksb: an imported group
                        lock unlocked synchronously) */
    rdlm_ast_fn ast;
    void *astarg;
    rdlm_bast_fn bast;
};

struct ast_item { /* a callback waiting to run */
    struct ast_item *next;
    bool blocking;
    rdlm_ast_fn ast;
    rdlm_bast_fn bast;
    void *astarg;
    int mode;
    uint64_t hint;
};

struct pending_reply { /* a thread waiting for a REPLY */
    struct pending_reply *next;
    struct cconn *cc; /* the master that owes it */
    uint64_t reqid;
    struct proto_msg *out;
    bool done;
};

struct rdlm_ls {
    pthread_mutex_t mu;
    char name[RDLM_LOCKSPACE_MAXLEN + 1];
    uint64_t id; /* placement seed and wire id */
    uint32_t flags;
    struct rdlm_cluster_config cfg;
    uint32_t my_node;
    struct rdlm_member *members;
    size_t nmembers;
    uint32_t max_shards;
    rt_ctx *ctx;
    rt_mr *scratch_mr; /* local buffer for one-sided READ/WRITE */
    uint8_t *scratch;
    struct cconn **conns; /* [node index * max_shards + shard] */
    bool *conn_opening;   /* same index: a thread is in conn_open (the mutex released) */
    struct cres **res_buckets;
    uint32_t res_nbuckets, nres;
    struct u64map locks;    /* lkid -> struct clock * */
    pthread_mutex_t ast_mu; /* guards the callback queue (so the dispatch thread can
                               take it while a caller holds mu) */
    struct ast_item *ast_head, *ast_tail;
    _Atomic int busy; /* threads inside a lock/unlock call: they drive the
                         transport, the dispatch thread only runs callbacks */
    int ast_fd;       /* eventfd: callbacks pending */
    int wake_fd;      /* eventfd: a synchronous completion arrived */
    int ep_fd;        /* epoll over the transport fd and ast_fd (rdlm_ls_fd) */
    pthread_t dispatcher;
    bool dispatching;
    bool stop_dispatch;
    bool fastpath;
    bool broken; /* the home daemon or a live master was lost: every call fails */
    struct cconn *home;
    uint32_t view_epoch; /* the membership view we place resources by (members[].shards) */
    uint64_t view_mask;
    uint32_t rec_want_epoch; /* RECOVER from home: a newer view to act on */
    uint64_t rec_want_mask, rec_want_masters;
    bool in_recovery;
    uint64_t master_failed_ns; /* a master connection failed and no view has explained it */
    uint64_t reqids;
    struct pending_reply *replies; /* REPLYs being waited for */
    uint32_t incarnation;
    struct rdlm_stats stats;
};

/* Trace every completion and path taken on stderr (RDLM_TRACE=1). */
bool client_trace(void);

/* glc.c: group lock containers */
int glc_lock_register(struct rdlm_ls *ls, const struct clock *l); /* registry: a group lock */
void glc_lock_ended(struct rdlm_ls *ls, const struct clock *l);   /* ... and ended */
struct clock *glc_import(struct rdlm_ls *ls, uint64_t lkid);      /* another member's group lock */
void glc_handle_closed(const struct rdlm_ls *ls);
bool glc_lock_current(struct rdlm_ls *ls, const struct clock *l); /* still in the registry */

/* ls.c */
uint64_t client_new_lkid(const struct rdlm_ls *ls);
struct cres *cres_get(struct rdlm_ls *ls, uint64_t parent, const void *name, unsigned namelen);
void cres_put(struct rdlm_ls *ls, struct cres *r);
struct cres *cres_find(struct rdlm_ls *ls, uint64_t parent, const void *name, unsigned namelen);

/* conn.c */
struct cconn *conn_for(struct rdlm_ls *ls, uint32_t node, uint32_t shard);
struct cconn *conn_for_name(struct rdlm_ls *ls, const void *name, unsigned namelen);
int conn_send(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m);
int progress(struct rdlm_ls *ls, int timeout_ms);
int wait_until(struct rdlm_ls *ls, bool *flag, int timeout_ms);
int request_reply(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m,
                  struct proto_msg *reply, int timeout_ms);
void conns_close(struct rdlm_ls *ls);
int conn_home(struct rdlm_ls *ls);
/* cc is gone (the transport said so, or a view left its node out): what waits on it is
 * suspended until the view says where it went; the home connection breaks the handle. */
void conn_failed(struct rdlm_ls *ls, struct cconn *cc);
void break_handle(struct rdlm_ls *ls);
/* break_handle, saying where and why on stderr with RDLM_DEBUG=1 */
#define break_handle_why(ls, where)                                                                \
    do {                                                                                           \
        if (getenv("RDLM_DEBUG") && !(ls)->broken)                                                 \
            fprintf(stderr, "rdlm %d: handle broken at %s\n", (int)getpid(), where);               \
        break_handle(ls);                                                                          \
    } while (0)
uint64_t mono_ns(void);

/* recover.c */
void view_apply(struct rdlm_ls *ls, uint32_t epoch, uint64_t mask, uint64_t masters);
void recover_run(struct rdlm_ls *ls);

/* rd.c: recovery domains */
bool rd_group_attached(void);          /* some attachment of this process is RDLM_RD_GROUP */
void rd_ls_closed(struct rdlm_ls *ls); /* the attachments made through ls end */
void rd_recover(struct rdlm_ls *ls);   /* under ls->mu: re-attach where the domain master moved */

/* lock.c */
void lock_complete(struct rdlm_ls *ls, struct clock *l, const struct msg_complete *c);
void lock_bast(struct rdlm_ls *ls, const struct msg_bast *b);
struct clock *lock_find(struct rdlm_ls *ls, uint64_t lkid);
void lock_free(struct rdlm_ls *ls, struct clock *l);
void do_unlock_for_close(struct rdlm_ls *ls, struct clock *l);
int resend_request(struct rdlm_ls *ls, struct clock *l);
bool lost_master(const struct rdlm_ls *ls, const struct clock *l);

/* fastpath.c */
enum fast_result { FAST_DONE, FAST_NOT_TAKEN };
int fast_request(struct rdlm_ls *ls, struct clock *l, int mode, uint32_t flags, const uint8_t *lvb);
int fast_unlock(struct rdlm_ls *ls, struct clock *l, uint32_t flags);

/* report.c */
void report_holds(struct rdlm_ls *ls, struct cconn *cc, const struct msg_contended *m);

/* ast.c */
int ast_init(struct rdlm_ls *ls);
void ast_fini(struct rdlm_ls *ls);
void ast_queue_completion(struct rdlm_ls *ls, rdlm_ast_fn ast, void *astarg);
void ast_queue_blocking(struct rdlm_ls *ls, rdlm_bast_fn bast, void *astarg, int mode,
                        uint64_t hint);
void wake_waiters(struct rdlm_ls *ls);
int run_asts(struct rdlm_ls *ls);

#endif /* RDLM_LIB_CLIENT_H */
