/*
 * rdlm.h - the native API of librdlm, the rdlm client library.
 *
 * A program opens a lockspace, then locks, converts, unlocks and cancels locks on named
 * resources in it. The model is the VMS one (six modes, conversion and wait queues, lock value
 * blocks, completion and blocking ASTs); modes, flags and status codes are in
 * rdlm/constants.h. Both seed APIs (Linux libdlm, TruCluster DLM) are thin front ends over
 * this one.
 *
 * Finding the cluster: RDLM_CONFIG names the cluster file (INI; see docs/operations.md), and
 * RDLM_NODE the node this process runs on (default: the first node whose address is local).
 * `rdlmctl up N` starts a local cluster and prints both.
 *
 * Calls are asynchronous unless RDLM_LKF_WAIT is given: they return RDLM_OK once the request
 * is accepted, and the outcome arrives later in the lock status block and through the
 * completion callback. With RDLM_LKF_WAIT they return the outcome itself (the completion
 * callback is then not called). Every accepted request gets exactly one completion.
 *
 * Callbacks run in the lockspace's dispatch thread (started by default), or inside
 * rdlm_dispatch() when the program asked for fd-driven delivery (RDLM_LS_FD_DISPATCH).
 * They may call rdlm functions, including synchronous ones.
 *
 * Thread safety: every call may be made from any thread; one lock must not be operated on by
 * two threads at once (the second gets RDLM_E_BUSY).
 */
#ifndef RDLM_H
#define RDLM_H

#include <stddef.h>
#include <stdint.h>

#include "rdlm/constants.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rdlm_ls rdlm_ls;

/* Lock status block: where a lock's outcomes land. Owned by the caller; must stay valid
 * until the lock is unlocked (its last completion has been delivered). */
struct rdlm_lksb {
    int status;      /* enum rdlm_status of the last completed operation */
    uint64_t lkid;   /* set when a new request is accepted; input for conversions/unlock */
    uint8_t sbflags; /* RDLM_SBF_* of the last completion */
    uint8_t *lvb;    /* RDLM_LVB_LEN bytes, required with RDLM_LKF_VALBLK */
    uint64_t lvbseq; /* the LVB's sequence number when it was last read or written */
};

typedef void (*rdlm_ast_fn)(void *astarg);
/* mode: the mode of the request that is blocked; hint: that requester's hint. */
typedef void (*rdlm_bast_fn)(void *astarg, int mode, uint64_t hint);

/* Less common request arguments; NULL means all zero. */
struct rdlm_lock_ext {
    uint64_t parent;     /* parent lock id: the resource is a sub-resource of its resource */
    uint64_t xid;        /* transaction id for deadlock search (0 = the process) */
    uint32_t timeout_cs; /* with RDLM_LKF_TIMEOUT: centiseconds */
    uint32_t rd_id;      /* with RDLM_LKF_PERSIST_RES: recovery domain */
    uint64_t hint;       /* given to the blocking callbacks of locks blocking this request */
    uint64_t group;      /* nonzero: the lock belongs to this group lock container */
};

/* Lockspaces. flags: RDLM_LS_* below. Names are at most RDLM_LOCKSPACE_MAXLEN bytes. */
#define RDLM_LS_NEWEXCL     0x1u /* create: fail with RDLM_E_EXISTS if it exists */
#define RDLM_LS_FD_DISPATCH 0x2u /* no dispatch thread: poll rdlm_ls_fd(), call rdlm_dispatch() */
/* With RDLM_LS_FD_DISPATCH the program must call rdlm_dispatch() whenever rdlm_ls_fd() is
 * readable, promptly, also while it merely holds locks: masters wait for this handle's answer
 * when a resource leaves the fast path (hold report) and during recovery (lock report), so
 * a handle that is not serviced stalls other processes' requests on its resources. */

int rdlm_ls_create(const char *name, uint32_t flags, rdlm_ls **out);
int rdlm_ls_open(const char *name, uint32_t flags, rdlm_ls **out);
int rdlm_ls_close(rdlm_ls *ls);              /* force-unlocks this handle's locks */
int rdlm_ls_release(rdlm_ls *ls, int force); /* close + remove the lockspace */
int rdlm_ls_fd(rdlm_ls *ls);                 /* readable when callbacks are pending */
int rdlm_dispatch(rdlm_ls *ls);              /* run pending callbacks; count or -error */
int rdlm_ls_start_dispatch(rdlm_ls *ls);     /* RDLM_E_EXISTS if already running */
int rdlm_ls_stop_dispatch(rdlm_ls *ls);

/*
 * Lock or convert (RDLM_LKF_CONVERT with lksb->lkid). name/namelen are ignored for a
 * conversion. ast is required unless RDLM_LKF_WAIT; on a conversion, ast/bast/astarg replace
 * the previous ones.
 */
int rdlm_lock(rdlm_ls *ls, int mode, struct rdlm_lksb *lksb, uint32_t flags, const void *name,
              unsigned namelen, rdlm_ast_fn ast, void *astarg, rdlm_bast_fn bast,
              const struct rdlm_lock_ext *ext);

/* Unlock (flags: VALBLK, IVVALBLK, FORCEUNLOCK, WAIT). Completion status RDLM_E_UNLOCKED,
 * through the lock's completion callback (astarg replaces the old one if non-NULL). */
int rdlm_unlock(rdlm_ls *ls, uint64_t lkid, uint32_t flags, struct rdlm_lksb *lksb, void *astarg);

/* Cancel a pending request (flags: CANCELWAITOK). Returns RDLM_OK (the request will
 * complete with RDLM_E_CANCELED), RDLM_E_CANCELGRANT (it was granted first), ... */
int rdlm_cancel(rdlm_ls *ls, uint64_t lkid, uint32_t flags);

/* Cancel a deadlock victim: its request completes with RDLM_E_DEADLOCK. */
int rdlm_deadlock_cancel(rdlm_ls *ls, uint64_t lkid);

/* Release the orphans of process pid on node (node 0 = this node; pid 0 = all). */
int rdlm_purge(rdlm_ls *ls, uint32_t node, uint32_t pid);

/* Queries. */
struct rdlm_lock_info {
    uint64_t lkid;
    uint64_t parent;
    int grmode; /* RDLM_MODE_IV while waiting */
    int rqmode;
    int state; /* 1 granted, 2 converting, 3 waiting */
    int orphan;
    uint32_t flags;
    uint32_t owner_node;
    uint64_t owner_pid; /* or the group id for a group lock */
    int owner_is_group;
    uint16_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
};

struct rdlm_res_info {
    int lvb_status; /* 0 never written, 1 valid, 2 invalid */
    uint64_t lvbseq;
    uint8_t lvb[RDLM_LVB_LEN];
    uint32_t subres_count, lock_count, bast_count, granted_count;
    int granted_mode, convert_mode, wait_mode; /* RDLM_MODE_IV if none */
    int persistent;
    uint32_t rd_id;
    int fast; /* 1 if the master holds it on the one-sided fast path */
    uint32_t master_node;
};

int rdlm_query_lock(rdlm_ls *ls, uint64_t lkid, struct rdlm_lock_info *info);
int rdlm_query_resource(rdlm_ls *ls, const void *name, unsigned namelen, uint64_t parent,
                        struct rdlm_res_info *info);

/* Per-handle statistics (for demos and benchmarks). */
struct rdlm_stats {
    uint64_t requests;     /* lock + convert requests accepted */
    uint64_t fast_grants;  /* granted by one-sided CAS */
    uint64_t fast_unlocks; /* unlocks done by one-sided CAS */
    uint64_t two_sided;    /* operations that went to the master as messages */
    uint64_t cas_retries;  /* CAS attempts that found the word changed */
};
void rdlm_ls_stats(rdlm_ls *ls, struct rdlm_stats *out);

/* Disable (0) or enable (1) the one-sided fast path for this handle (also env
 * RDLM_FASTPATH=0). */
void rdlm_ls_set_fastpath(rdlm_ls *ls, int enabled);

/* This handle's node number and lockspace id (the id every daemon knows the lockspace by). */
uint32_t rdlm_ls_node(const rdlm_ls *ls);
uint64_t rdlm_ls_id(const rdlm_ls *ls);

/*
 * Group lock containers (TruCluster process lock groups). A container is a lock owner that is
 * not a process: locks requested with rdlm_lock_ext.group = its id belong to it, survive the
 * exit of the process that requested them, and any attached process may convert, unlock or
 * cancel them (by lock id, through any of its handles). A container lives on one node (its
 * id means nothing elsewhere) and is kept by that node's daemon; it is bound to lockspaces,
 * and only a process with a handle open on each of them may attach. A process is attached
 * to at most one container; the attachment belongs to the handle it was made through (the
 * first of lss[]), and ends when that handle is closed or the process dies.
 * Ends: the last detach (unless PERM) and rdlm_glc_destroy release the container's locks
 * (at once on the home node's first shard, within a message round trip on the other masters);
 * with OWNED, the creator's detach or death also kills every attached process (SIGKILL).
 * A detach cancels the caller's pending requests on group locks; its granted group locks stay
 * with the container.
 */
#define RDLM_GLC_OWNED 0x1u /* create: tied to the creator's attachment */
#define RDLM_GLC_PERM  0x2u /* create: survives its last detach */
#define RDLM_GLC_LOCKS 0x4u /* destroy: even though it still holds locks */
#define RDLM_GLC_FORCE 0x8u /* destroy: even with attached processes (killed) */
#define RDLM_GLC_MAX_LS 16  /* lockspaces a container may be bound to */
/* Create, bound to the lockspaces of lss[0..nls-1], and attach the caller. INVAL (flags,
 * nls), ATTACHED (caller already in a container), TOOMANY. */
int rdlm_glc_create(rdlm_ls *const *lss, unsigned nls, uint32_t flags, uint64_t *id);
/* Attach to container id; lss: every handle the caller has open (it must cover the
 * container's lockspaces, else NOTATTACHED). ATTACHED, NOENT. */
int rdlm_glc_attach(rdlm_ls *const *lss, unsigned nls, uint64_t id);
/* Detach the caller (ls: any of its handles). NOTATTACHED; ATTACHED while the caller is
 * still attached to a recovery domain for its group (RDLM_RD_GROUP). */
int rdlm_glc_detach(rdlm_ls *ls);
/* Destroy (ls: a handle on this node). HASPROCS unless FORCE, HASLOCKS unless LOCKS or
 * FORCE, KILLFAIL, NOENT, ACCESS (not root, not the creator, not bound to one of ls's
 * lockspace). */
int rdlm_glc_destroy(rdlm_ls *ls, uint64_t id, uint32_t flags);
/* The container this process is attached to, or 0. */
uint64_t rdlm_glc_current(void);

/*
 * Recovery domains (TruCluster): named, cluster-wide sets of persistent resources (locks
 * requested with RDLM_LKF_PERSIST_RES and rdlm_lock_ext.rd_id). A holder's failure leaves a
 * persistent resource with an invalid LVB; a process of the domain collects the invalid
 * resources, repairs what they protect and validates them (LVB valid, zeroed). rd_id is the
 * domain's cluster-wide id, the same in every process. ls: any handle (used for its
 * connections; a domain spans every lockspace). An attachment is the process's; it belongs to
 * the handle it was made through and ends when that handle is closed or the process dies.
 * HASLOCKS looks at the locks of the handle passed to rdlm_rd_detach. Freeing the outstanding
 * collection with rdlm_rd_collection_free gives it up (its resources are collectable again).
 */
#define RDLM_RD_PROCESS    0x1u /* attach: the calling process */
#define RDLM_RD_GROUP      0x2u /* attach: the caller's group container */
#define RDLM_RD_INVALIDATE 0x4u /* detach: invalidate the whole domain */
#define RDLM_RDNAME_MAXLEN 32
/* INVAL (flags), NAMELEN (name empty or too long), NOTATTACHED (GROUP without a container),
 * ATTACHED (already attached this way), TOOMANY. */
int rdlm_rd_attach(rdlm_ls *ls, const char *name, uint32_t flags, uint32_t *rd_id);
/* HASLOCKS (the caller holds persistent locks in it), ALREADY (its collection is not yet
 * validated), NOTATTACHED. */
int rdlm_rd_detach(rdlm_ls *ls, uint32_t rd_id, uint32_t flags);
struct rdlm_rd_item { /* one collected resource */
    uint64_t ls_id;   /* its lockspace (rdlm_ls_id) */
    uint64_t parent;  /* always 0: root resources only */
    uint16_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
};
struct rdlm_rd_collection {
    uint32_t rd_id;
    uint32_t count;
    struct rdlm_rd_item *items;
};
/* Put the domain in recovery and collect its resources whose LVB is invalid (possibly none).
 * ALREADY (a collection is outstanding), NOTATTACHED, NO_GROUP. *out: free with
 * rdlm_rd_validate or rdlm_rd_collection_free. */
int rdlm_rd_collect(rdlm_ls *ls, uint32_t rd_id, struct rdlm_rd_collection **out);
/* Mark the collected resources' LVBs valid and zero. OK (domain recovered), MORE_TO_RECOVER
 * (others became invalid, or an attached node failed, since the collect), INVAL (c is not
 * the outstanding collection), NOTATTACHED. c is freed in every case but INVAL. */
int rdlm_rd_validate(rdlm_ls *ls, uint32_t rd_id, struct rdlm_rd_collection *c);
void rdlm_rd_collection_free(struct rdlm_rd_collection *c);

const char *rdlm_status_str(int status);
const char *rdlm_mode_str(int mode);

#ifdef __cplusplus
}
#endif

#endif /* RDLM_H */
