/*
 * master/engine.h - the lock engine: one lockspace's resources and locks as a pure,
 * deterministic state machine (no I/O, no threads, no clock).
 *
 * Inputs are requests (new lock, conversion, orphan adoption), unlocks, cancels, the passage
 * of time (for TIMEOUT requests) and owner deaths. Every call validates its arguments first:
 * a rejected call returns an error status and changes nothing (no action is emitted). An
 * accepted call returns RDLM_OK and appends actions to the caller's list: completions,
 * blocking ASTs, LVB writes. The daemon carries the actions out; tests compare them with a
 * reference model. docs/engine.md is the contract: every rule, the order in which actions are
 * emitted, and the figures.
 *
 * Lock ids are chosen by the caller (the daemon composes them from node, client and a
 * counter); they are unique within one engine and never 0.
 */
#ifndef RDLM_MASTER_ENGINE_H
#define RDLM_MASTER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rdlm/constants.h"

struct eng; /* one lockspace's resources and locks */

/* Who owns a lock: the unit of lifetime (purge on death). */
enum eng_owner_kind {
    ENG_OWNER_PROCESS = 1, /* (node, pid) */
    ENG_OWNER_GROUP = 2,   /* a group lock container: (node, container id) */
};

struct eng_owner {
    uint8_t kind;  /* enum eng_owner_kind */
    uint32_t node; /* cluster node id */
    uint64_t id;   /* pid, or group container id */
};

/* A lock or conversion request (RDLM_LKF_CONVERT in flags selects a conversion). */
struct eng_req {
    uint64_t lkid;          /* new: the id to give the lock (!= 0, unused); convert: the lock */
    uint64_t parent_lkid;   /* new: parent lock for a sub-resource, 0 for a root resource */
    const void *name;       /* new: resource name (ignored for a conversion) */
    uint16_t namelen;       /* 1..RDLM_RESNAME_MAXLEN */
    int8_t mode;            /* requested mode, RDLM_MODE_NL..RDLM_MODE_EX */
    uint32_t flags;         /* RDLM_LKF_* */
    struct eng_owner owner; /* new: owner (ignored for a conversion) */
    uint64_t xid;           /* deadlock-search owner (transaction id), 0 = the owner */
    uint32_t timeout_cs;    /* with RDLM_LKF_TIMEOUT: centiseconds from now, > 0 */
    uint32_t rd_id;         /* with RDLM_LKF_PERSIST_RES: recovery domain id, != 0 */
    uint64_t hint;          /* passed to the blocking AST of locks that block this request */
    bool has_bast;          /* the lock has a blocking callback (replaces the old on convert) */
    const uint8_t *lvb;     /* with VALBLK: the caller's LVB, written on write-path grants */
};

/* What an action is. */
enum eng_action_kind {
    ENG_ACT_COMPLETE = 1, /* a request or unlock finished: status, mode, sbflags, LVB */
    ENG_ACT_BAST = 2,     /* blocking AST to a granted lock: mode = the blocked mode */
    ENG_ACT_LVB = 3,      /* the resource LVB changed (written or invalidated) */
};

/* Which operation a COMPLETE finishes. */
enum eng_op {
    ENG_OP_REQUEST = 1, /* the pending lock/convert/adopt request of the lock */
    ENG_OP_UNLOCK = 2,  /* an unlock */
};

struct eng_action {
    uint8_t kind;         /* enum eng_action_kind */
    uint8_t op;           /* COMPLETE: enum eng_op */
    int8_t mode;          /* COMPLETE: the lock's granted mode afterwards (IV if it is gone);
                             BAST: the mode of the blocked request */
    uint8_t sbflags;      /* COMPLETE: RDLM_SBF_* */
    uint8_t status;       /* COMPLETE: enum rdlm_status */
    uint8_t lvb_read;     /* COMPLETE: 1 = lvb[] holds the resource LVB for the caller (VALBLK
                             read); 0 = leave the caller's buffer as it is.
                             LVB: 1 = lvb[] holds the new value, 0 = it was invalidated */
    uint64_t lkid;        /* COMPLETE/BAST: the lock */
    uint64_t hint;        /* BAST: the blocked requester's hint */
    uint64_t lvbseq;      /* COMPLETE with lvb_read, and LVB: the resource's LVB sequence */
    uint64_t parent_lkid; /* LVB: the parent lock of a sub-resource, 0 for a root resource */
    uint16_t namelen;     /* LVB: the resource's name (a copy: the resource may be gone) */
    uint8_t name[RDLM_RESNAME_MAXLEN];
    uint8_t lvb[RDLM_LVB_LEN];
};

/* A growable list of actions, owned by the caller (init zeroed; eng_actions_free). */
struct eng_actions {
    struct eng_action *v;
    size_t n;
    size_t cap;
};

void eng_actions_clear(struct eng_actions *a);
void eng_actions_free(struct eng_actions *a);

/* Life cycle. */
struct eng *eng_create(void);
void eng_destroy(struct eng *e);

/*
 * Operations. Each returns RDLM_OK (accepted: its effects are in *out) or an error status
 * (rejected: nothing changed, nothing appended).
 */
int eng_request(struct eng *e, const struct eng_req *req, struct eng_actions *out);

/* The argument checks of eng_request that need no state (docs/engine.md section 2, steps
 * 1-4): the client library runs them before a request leaves the process. */
int eng_validate_request(const struct eng_req *req);

/* flags: RDLM_LKF_VALBLK, RDLM_LKF_IVVALBLK, RDLM_LKF_FORCEUNLOCK. lvb: with VALBLK. */
int eng_unlock(struct eng *e, uint64_t lkid, uint32_t flags, const uint8_t *lvb,
               struct eng_actions *out);

/* flags: RDLM_LKF_CANCELWAITOK. Returns RDLM_E_CANCELGRANT when nothing is pending. */
int eng_cancel(struct eng *e, uint64_t lkid, uint32_t flags, struct eng_actions *out);

/* Deadlock victim: cancel the pending request with RDLM_E_DEADLOCK instead of CANCELED. */
int eng_cancel_deadlock(struct eng *e, uint64_t lkid, struct eng_actions *out);

/* Time moves to now_cs (centiseconds, monotonic, never backwards): expire TIMEOUT requests. */
int eng_advance_time(struct eng *e, uint64_t now_cs, struct eng_actions *out);

/*
 * The owner died: its non-persistent locks are force-unlocked with IVVALBLK (LVBs of PW/EX
 * holders invalidated); its PERSISTENT locks become orphans (pending operations cancelled,
 * granted mode kept). No completion is emitted for the dead owner's own locks.
 */
int eng_purge_owner(struct eng *e, const struct eng_owner *owner, struct eng_actions *out);

/* Release orphans whose former owner is (node, pid); pid 0 = every orphan of that node. */
int eng_purge_orphans(struct eng *e, uint32_t node, uint64_t pid, struct eng_actions *out);

/* eng_purge_owner for every group lock container of node (a lost node: they ended with it). */
int eng_purge_groups_of(struct eng *e, uint32_t node, struct eng_actions *out);

/* The ids of every orphan, ascending, in a malloc'd *ids (free it); returns their number. */
size_t eng_orphan_ids(const struct eng *e, uint64_t **ids);

/* Recovery: the GRANTED lock lkid (installed by eng_install_granted with its dead owner) is
 * an orphan again. RDLM_E_NOLOCK, RDLM_E_INVAL (not granted). */
int eng_mark_orphan(struct eng *e, uint64_t lkid);

/*
 * Hooks for the service's FAST/SLOW transitions and recovery (docs/protocol.md section 4).
 * They bypass the grant rules on purpose and emit nothing.
 *
 * eng_install_granted: add a lock the master learnt of from a hold report or a recovery
 * report, GRANTED at req->mode on the resource (req->name, under req->parent_lkid's resource
 * if that is set: the parent must be installed, else NOLOCK, and not waiting, else
 * PARNOTGRANT), with req's owner, flags, hint, has_bast; with PERSIST_RES and rd_id, a
 * resource not yet persistent becomes persistent in rd_id.
 * Errors: the argument checks of eng_request, RDLM_E_EXISTS, RDLM_E_NOMEM.
 * eng_forget_lock: drop a GRANTED lock's record (the lock lives on as a count in the word).
 * eng_set_lvb: set a root resource's LVB (status: enum eng_lvb_status), creating the
 * resource if needed (the locks that will keep it usually follow).
 * eng_release_unused: free a root resource that has no locks, sub-resources or persistence.
 */
int eng_install_granted(struct eng *e, const struct eng_req *req);
int eng_forget_lock(struct eng *e, uint64_t lkid);
int eng_set_lvb(struct eng *e, const void *name, uint16_t namelen, uint8_t status, uint64_t seq,
                const uint8_t *value);
int eng_release_unused(struct eng *e, const void *name, uint16_t namelen);
/* eng_set_lvb for the sub-resource name under parent_lkid's resource (which must exist). */
int eng_set_sub_lvb(struct eng *e, uint64_t parent_lkid, const void *name, uint16_t namelen,
                    uint8_t status, uint64_t seq, const uint8_t *value);

/* Queries (TruCluster dlm_get_lkinfo / dlm_get_rsbinfo, and lock dumps). */
enum eng_lock_state {
    ENG_LKS_GRANTED = 1,
    ENG_LKS_CONVERTING = 2,
    ENG_LKS_WAITING = 3,
};

struct eng_lock_info {
    uint64_t lkid;
    uint64_t parent_lkid;
    int8_t grmode; /* RDLM_MODE_IV while waiting */
    int8_t rqmode; /* the pending mode; == grmode when nothing is pending */
    uint8_t state; /* enum eng_lock_state */
    bool orphan;
    uint32_t flags; /* the RDLM_LKF_* of the last request */
    struct eng_owner owner;
    uint64_t xid;
    uint32_t timeout_cs; /* of the pending request, 0 if none */
    uint64_t hint;
    uint16_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
    uint64_t stamp; /* changes whenever the lock's state does (see eng_query_waits) */
};

enum eng_lvb_status {
    ENG_LVB_NONE = 0, /* never written */
    ENG_LVB_VALID = 1,
    ENG_LVB_INVALID = 2,
};

struct eng_res_info {
    uint8_t lvb_status; /* enum eng_lvb_status */
    uint64_t lvbseq;
    uint8_t lvb[RDLM_LVB_LEN];
    uint32_t subres_count;  /* sub-resources that exist under this resource */
    uint32_t lock_count;    /* locks on all three queues */
    uint32_t bast_count;    /* blocking ASTs emitted for this resource since it was created */
    uint32_t granted_count; /* locks holding a granted mode (granted + converting queues) */
    int8_t granted_mode;    /* the most restrictive granted mode, IV if none */
    int8_t convert_mode;    /* the highest mode requested on the converting queue, IV if none */
    int8_t wait_mode;       /* the highest mode requested on the waiting queue, IV if none */
    bool persistent;
    uint32_t rd_id;
    uint32_t granted_per_mode[RDLM_MODE_COUNT]; /* the lock word's counts (NL included) */
};

int eng_query_lock(const struct eng *e, uint64_t lkid, struct eng_lock_info *info);

/* parent_lkid 0 = a root resource. RDLM_E_NOLOCK if the resource does not exist. */
int eng_query_res(const struct eng *e, uint64_t parent_lkid, const void *name, uint16_t namelen,
                  struct eng_res_info *info);

/* The lock ids on each queue of a resource, in queue order (for dumps and model tests). */
struct eng_queues {
    size_t n[3];       /* granted, converting, waiting */
    uint64_t *lkid[3]; /* caller-provided arrays of cap entries each */
    size_t cap;
};
int eng_query_queues(const struct eng *e, uint64_t parent_lkid, const void *name, uint16_t namelen,
                     struct eng_queues *q);

/*
 * Deadlock search (docs/protocol.md section 5): the wait-for edges of the engine. An edge is a
 * pending request (the waiter; converting or waiting, without NODLCKWT) and a lock on the same
 * resource that prevents its grant under the rules of docs/engine.md section 3 (the blocker;
 * without NODLCKBLK):
 *   - a granted lock whose grmode is incompatible with the waiter's requested mode (and with
 *     its alternate mode, ALTPR/ALTCW, if it has one);
 *   - a converting lock whose grmode is incompatible likewise (unless it has CONVDEADLK: it
 *     may be demoted to NL while it waits);
 *   - unless the waiter has NOORDER, a lock the queue order puts before it: any converting
 *     lock for a waiting request, a converting lock ahead of a conversion, a waiting lock ahead
 *     of a waiting request.
 * lasting: the blocker keeps blocking in every state it can reach while its owner makes no
 * move: it is granted, or pending with a requested (and alternate) mode incompatible with the
 * waiter's. Otherwise the blocker blocks only while it is itself still pending.
 * Every lock carries a stamp that changes whenever its state changes (queued, granted,
 * converted, demoted, reverted, adopted, orphaned): an edge whose two stamps are unchanged
 * existed all the time in between. Orphans never wait; they can block.
 */
struct eng_wait_lock {
    uint64_t lkid;
    uint64_t stamp;
    int8_t grmode, rqmode;
    uint8_t state; /* enum eng_lock_state */
    bool orphan;
    uint32_t flags;
    struct eng_owner owner;
    uint64_t xid;
};

struct eng_wait {
    struct eng_wait_lock waiter, blocker;
    bool lasting;
    uint64_t parent_lkid; /* the resource: its parent lock (0 = a root resource) and name */
    uint16_t namelen;
    const uint8_t *name; /* valid during the callback */
};

/* Called once per edge, the edges of one waiter together; return false to stop. The callback
 * must not change the engine. */
typedef bool (*eng_wait_fn)(void *arg, const struct eng_wait *w);

/* Every edge of the engine; returns how many were passed to fn. */
size_t eng_query_waits(const struct eng *e, eng_wait_fn fn, void *arg);

/* The edges of one pending request. RDLM_E_NOLOCK if lkid is unknown; RDLM_OK otherwise (no
 * call when it is granted, excluded, or blocked by nothing the rules count). */
int eng_query_blockers(const struct eng *e, uint64_t lkid, eng_wait_fn fn, void *arg);

/*
 * Recovery domains (docs/engine.md section 15): the persistent root resources whose rd_id is
 * a domain's. Validation, invalidation and the create hook emit ENG_ACT_LVB actions only.
 *
 * eng_rd_list_invalid: fn is called for each persistent root resource of rd_id whose LVB is
 * INVALID (any order; fn returns false to stop; it must not change the engine); returns how
 * many were passed.
 * eng_rd_validate: the LVB of the persistent root resource name becomes VALID and zero, its
 * sequence bumped (whatever its state was). RDLM_E_NOLOCK: no such resource, or it is not
 * persistent; RDLM_E_PR_RD_MISMATCH: it belongs to another domain.
 * eng_rd_invalidate: every persistent root resource of rd_id gets an INVALID LVB (value and
 * sequence kept); returns how many.
 * eng_rd_set_create_hook: fn (NULL: none) is asked, when a request makes a new persistent root
 * resource, whether its LVB starts INVALID (the grant that creates it then reports
 * RDLM_SBF_VALNOTVALID to a VALBLK request). fn must not change the engine.
 */
typedef bool (*eng_rd_fn)(void *arg, const uint8_t *name, uint16_t namelen);
typedef bool (*eng_rd_create_fn)(void *arg, uint32_t rd_id, const uint8_t *name, uint16_t namelen);
size_t eng_rd_list_invalid(const struct eng *e, uint32_t rd_id, eng_rd_fn fn, void *arg);
int eng_rd_validate(struct eng *e, uint32_t rd_id, const void *name, uint16_t namelen,
                    struct eng_actions *out);
size_t eng_rd_invalidate(struct eng *e, uint32_t rd_id, struct eng_actions *out);
void eng_rd_set_create_hook(struct eng *e, eng_rd_create_fn fn, void *arg);

/* Counts, for tests and memory benchmarks. */
size_t eng_resource_count(const struct eng *e);
size_t eng_lock_count(const struct eng *e);

#endif /* RDLM_MASTER_ENGINE_H */
