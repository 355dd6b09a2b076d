/*
 * lib/tcdlm/tcdlm_int.h - the internals of the TruCluster DLM front end (include/rdlm/tcdlm.h
 * over the native API of include/rdlm.h; the contract is docs/tcdlm.md).
 *
 * Files, by concern:
 *   table.c      the front end's one mutex, the lock records, the entry/exit guard that blocks
 *                the notification signal
 *   status.c     native status -> dlm_status_t (docs/engine.md section 14), dlm_perrno,
 *                dlm_perror, dlm_sperrno
 *   validate.c   argument checks shared by the calls
 *   namespace.c  dlm_nsjoin, dlm_nsleave, dlm_detach; the namespace table
 *   notify.c     delivery of routines: dispatch thread, signal, or dlm_notify polling;
 *                dlm_set_signal, dlm_notify
 *   callback.c   what a native completion or blocking callback does to a lock record
 *   request.c    new requests and conversions (the core of the lock and convert calls)
 *   lock.c       dlm_lock, dlm_locktp, dlm_quelock, dlm_quelocktp
 *   convert.c    dlm_cvt, dlm_quecvt
 *   unlock.c     dlm_unlock (DEQALL included)
 *   cancel.c     dlm_cancel
 *   info.c       dlm_get_lkinfo, dlm_get_rsbinfo
 *   glc.c        group lock containers over rdlm_glc_*
 *   rd.c         recovery domains over rdlm_rd_*, dlm_rd_traverse
 *
 * Model. Every lock the process knows has a record (struct tc_lock) under a front-end id,
 * which is the native callbacks' argument (never a pointer: a record may end meanwhile). It
 * holds the native status block, a 32-byte value block buffer of its own (the caller's
 * dlm_valb_t is copied in before a write and out after a read), the caller's routines and
 * parameters, and the ones a conversion replaced (a cancel restores them).
 *
 * Locking: one mutex (tc_mu) guards the records, the namespace table, the delivery queue and
 * the recovery-domain table. It is never held while calling the native library or a routine
 * of the program.
 */
#ifndef RDLM_TCDLM_INT_H
#define RDLM_TCDLM_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "rdlm.h"
#include "rdlm/tcdlm.h"

/* ---- table.c ---- */

extern pthread_mutex_t tc_mu;

/* Every public entry point: block the notification signal in this thread while it runs. */
struct tc_guard {
    sigset_t old;
    bool blocked;
};
void tc_enter(struct tc_guard *g);
void tc_leave(struct tc_guard *g);

/* Once, from dlm_nsjoin: fork handlers. A child starts with no namespace, lock, container,
 * domain or queued routine of its own (the parent's native handles are not its own) and the
 * default delivery. */
void tc_init(void);

enum tc_op { TC_IDLE, TC_REQUEST, TC_UNLOCK };

struct tc_routines { /* what a request gave; a conversion replaces, a cancel restores */
    callback_arg_t notprm;
    callback_arg_t hint;
    blk_callback_t blkrtn;
    cpl_callback_t cplrtn;
};

struct tc_lock {
    struct tc_lock *next;
    uint64_t id;            /* front-end id: the native callbacks' argument */
    uint64_t lkid;          /* native lock id (0 until the request was accepted) */
    uint64_t parent;        /* native id of the parent lock, 0 for a root lock */
    int nsp;                /* namespace it was requested in */
    rdlm_ls *nls;           /* the native handle it lives on */
    struct rdlm_lksb nsb;   /* native status block; nsb.lvb = vb */
    uint8_t vb[32];         /* the value block as the lock last saw it */
    dlm_valb_t *uvalb;      /* the caller's value block of the request in flight */
    bool read_vb;           /* copy vb out to uvalb when the request completes */
    int grmode;             /* native mode granted, RDLM_MODE_IV if never */
    int rqmode;             /* native mode of the request in flight */
    enum tc_op op;          /* operation in flight */
    bool sync;              /* a synchronous caller waits for the request */
    bool aborting;          /* an unlock dequeues the pending request: it completes DLM_ABORT */
    bool group;             /* a group lock (owned by the container) */
    dlm_flags_t flags;      /* TruCluster flags of the last request */
    unsigned int timeout;   /* its timeout */
    dlm_valb_t *valb_given; /* the last valb_p given with DLM_VALB (dlm_get_lkinfo) */
    struct tc_routines cur; /* in effect */
    struct tc_routines old; /* before the conversion in flight */
    unsigned short resnlen;
    unsigned char resnam[DLM_RESNAMELEN];
    int refs;      /* calls working on it with tc_mu released */
    bool ended;    /* out of the table; freed when refs drops to 0 */
    bool unlocked; /* unlocked while its aborted request's completion was still to come */
    bool adopted;  /* a group lock another member requested: its state is the native side's */
    bool unrouted; /* adopted, and which namespace's handle reaches it is not known yet */
};

/* All under tc_mu. */
struct tc_lock *tc_lock_new(void); /* registered, zeroed but for id, nsb.lvb and modes */
struct tc_lock *tc_lock_by_id(uint64_t id);
struct tc_lock *tc_lock_by_lkid(uint64_t lkid);
void tc_lock_end(struct tc_lock *l); /* out of the table; freed now or at the last put */
void tc_lock_put(struct tc_lock *l); /* drops a reference taken with l->refs++ */
struct tc_lock *tc_lock_first(void); /* walk: tc_lock_first / l->next */
bool tc_ns_has_locks(int nsp);       /* own (not group) locks in namespace nsp */
bool tc_has_children(uint64_t lkid);

uint64_t tc_lkid_native(const dlm_lkid_t *lk);
void tc_lkid_set(dlm_lkid_t *lk, uint64_t native);

/* ---- status.c ---- */

dlm_status_t tc_status(int native_status);

/* ---- validate.c ---- */

#define TC_LOCK_FLAGS                                                                              \
    (DLM_NOQUEUE | DLM_SYNCSTS | DLM_NODLCKWT | DLM_NODLCKBLK | DLM_EXPEDITE | DLM_VALB)
#define TC_LOCKTP_FLAGS                                                                            \
    (TC_LOCK_FLAGS | DLM_PERSIST | DLM_GROUP_LOCK | DLM_TXID_LOCAL | DLM_TXID_GLOBAL)
#define TC_CVT_FLAGS                                                                               \
    (DLM_NOQUEUE | DLM_SYNCSTS | DLM_NODLCKWT | DLM_NODLCKBLK | DLM_QUECVT | DLM_VALB |            \
     DLM_INVVALBLK)
#define TC_UNLOCK_FLAGS (DLM_VALB | DLM_INVVALBLK | DLM_DEQALL)

bool tc_mode_ok(dlm_lkmode_t mode);
dlm_status_t tc_check_name(const unsigned char *resnam, unsigned short resnlen);
dlm_status_t tc_check_flags(dlm_flags_t flags, dlm_flags_t allowed, const dlm_valb_t *valb_p);
uint32_t tc_native_flags(dlm_flags_t flags);
dlm_status_t tc_trans_xid(dlm_flags_t flags, dlm_trans_id_t trans_id, uint32_t node, uint64_t *xid);

/* ---- namespace.c ---- */

rdlm_ls *tc_ns_handle(int nsp);    /* under tc_mu; NULL if nsp is not joined */
rdlm_ls *tc_any_handle(void);      /* under tc_mu; NULL if no namespace is joined */
int tc_ns_by_lsid(uint64_t ls_id); /* under tc_mu; -1 if none */
void tc_ns_forget_all(void);       /* in a child after fork */
/* Open a native lockspace with every signal blocked, so that the native threads it starts
 * never take the notification signal. */
int tc_open_native(const char *name, rdlm_ls **out);

/* ---- notify.c ---- */

struct tc_item { /* a routine waiting to run */
    struct tc_item *next;
    bool blocking;
    uint64_t id; /* the lock's record */
    dlm_lkid_t lkid;
    callback_arg_t notprm;
    callback_arg_t hint;
    blk_callback_t blkrtn;
    cpl_callback_t cplrtn;
    dlm_status_t status;
    dlm_lkmode_t mode;
};

/* Deliver it (it is freed): at once in this thread (the default), or queued for the signal
 * handler or dlm_notify. Not under tc_mu. */
void tc_deliver(struct tc_item *it);
int tc_current_signal(void); /* under tc_mu */
void tc_signal_reset(void);  /* dlm_detach: back to the default delivery */
void tc_notify_forget(void); /* in a child after fork (tc_mu not taken) */

/* ---- callback.c ---- */

void tc_native_ast(void *arg);
void tc_native_bast(void *arg, int mode, uint64_t hint);
/* Completion of the request of l with native status nst (under tc_mu): updates the record
 * and returns the TruCluster status; *ended if the record was freed. */
dlm_status_t tc_request_done(struct tc_lock *l, int nst, uint8_t sbflags, bool *ended);

/* ---- request.c ---- */

struct tc_req {
    int nsp;
    const unsigned char *resnam;
    unsigned short resnlen;
    dlm_lkid_t *parid;
    dlm_lkid_t *lkid_p;
    dlm_lkmode_t mode;
    dlm_valb_t *valb_p;
    dlm_flags_t flags;
    dlm_flags_t allowed;
    struct tc_routines r;
    unsigned int timeout;
    dlm_trans_id_t trans_id;
    dlm_rd_id_t rd_id;
    bool sync;
    bool convert;
};

dlm_status_t tc_request(const struct tc_req *q);

/* ---- glc.c ---- */

/* The native handle through which a group lock of the caller's container is reached (under
 * tc_mu); NULL if the caller is attached to no container. */
rdlm_ls *tc_glc_handle(void);
bool tc_glc_binds(int nsp); /* under tc_mu: the caller's container is bound to nsp */
/* Under tc_mu: a record for a lock of the caller's container that another member requested
 * (group locks may be converted, unlocked or cancelled by any member); NULL if the caller is
 * in no container. */
struct tc_lock *tc_glc_adopt(uint64_t lkid);
/* Run a native operation on l: through l->nls, or for an adopted group lock through each
 * handle of the container's namespaces until one knows the lock (not under tc_mu). */
typedef int (*tc_native_op)(struct tc_lock *l, rdlm_ls *ls, void *arg);
int tc_glc_route(struct tc_lock *l, tc_native_op op, void *arg);
void tc_glc_forget(void); /* under tc_mu: dlm_detach */

/* ---- rd.c ---- */

bool tc_rd_lookup(dlm_rd_id_t handle, uint32_t *native); /* under tc_mu */
bool tc_rd_group_attached(void);                         /* under tc_mu: DLM_RD_GROUP handles */
void tc_rd_forget_all(rdlm_ls *ls);                      /* not under tc_mu: dlm_detach */
void tc_rd_forget_child(void);                           /* in a child after fork */

#endif /* RDLM_TCDLM_INT_H */
