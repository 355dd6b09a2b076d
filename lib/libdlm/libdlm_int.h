/*
 * lib/libdlm/libdlm_int.h - the internals of the libdlm front end (include/rdlm/libdlm.h over
 * the native API of include/rdlm.h).
 *
 * Files, by concern:
 *   table.c      the front end's one mutex, the 32-bit lock id -> lock record table, fork
 *   status.c     native status -> libdlm errno (docs/engine.md section 14)
 *   validate.c   argument checks of the kernel's set_lock_args/validate_*_args (spec B.7)
 *   lockspace.c  lockspace handles, the default lockspace, fds, dlm_ls_purge
 *   deliver.c    the per-lockspace AST queue: dlm_dispatch, the AST thread (dlm_pthread_init)
 *   complete.c   what a native completion or blocking AST does to a lock record
 *   request.c    requests and conversions (the core of every dlm_*lock* call)
 *   lock.c       the public dlm_lock / dlm_ls_lock* entry points
 *   unlock.c     unlock, cancel, deadlock cancel and their public entry points
 *   simple.c     lock_resource / unlock_resource and the version calls
 *
 * Model. libdlm lock ids are 32 bits; native ones are 64. Each lock has a record (struct
 * fe_lock) under a 32-bit id of its own, holding the native lock status block, the caller's
 * routines and lksb, and "the kernel's copy" of the LVB (Linux unlocks with VALBLK write that
 * copy, never the caller's buffer: spec D.1). Native callbacks (run in the native dispatch
 * thread, which keeps the handle answering the masters) only update the record and queue an
 * AST on the lockspace; the program's ASTs run where libdlm runs them: in dlm_dispatch(), or
 * in the lockspace's AST thread after dlm_pthread_init().
 *
 * Locking: one mutex (fe_mu) guards every record, the table, the lockspace registry and the
 * AST queues. It is never held while calling the native library or a program's routine.
 */
#ifndef RDLM_LIBDLM_INT_H
#define RDLM_LIBDLM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rdlm.h"
#include "rdlm/libdlm.h"

/* ---- table.c ---- */

extern pthread_mutex_t fe_mu;
extern pthread_cond_t fe_cv; /* a lock record's request completed (cancel waiters) */

void fe_init(void); /* once: fork handlers; called by every entry point that opens */

typedef void (*fe_ast_fn)(void *);

enum fe_op { FE_IDLE, FE_REQUEST, FE_UNLOCK };

struct fe_ls;

struct fe_lock {
    uint32_t id;
    struct fe_ls *ls;
    struct rdlm_lksb nsb;      /* the native status block (lkid, status, lvb -> klvb) */
    uint8_t klvb[DLM_LVB_LEN]; /* "the kernel's copy" of the LVB */
    bool has_klvb;             /* some request of this lock had VALBLK */
    int8_t grmode;             /* RDLM_MODE_IV until granted */
    int8_t rqmode;             /* mode of the request in flight */
    uint32_t rqflags;          /* its native flags */
    uint8_t op;                /* enum fe_op in flight */
    int cancel_waiters;        /* dlm_unlock_wait(LKF_CANCEL) callers */
    uint32_t ncomp;            /* request completions so far */
    int last_status;           /* errno form of the last request completion */
    fe_ast_fn ast;
    void *astarg;
    fe_ast_fn bast;
    void *bastarg;
    struct dlm_lksb *ulksb; /* the caller's lksb (NULL: nobody to tell) */
    int refs;               /* the table's, and each call working on it */
    bool gone;              /* ended: out of the table */
};

/* All under fe_mu. */
struct fe_lock *fe_lock_new(struct fe_ls *ls); /* in the table, one reference (the table's) */
struct fe_lock *fe_lock_find(uint32_t id);
void fe_lock_hold(struct fe_lock *l);
void fe_lock_put(struct fe_lock *l);
void fe_lock_end(struct fe_lock *l); /* out of the table; drops the table's reference */
void fe_lock_end_all(struct fe_ls *ls);

/* ---- status.c ---- */

int fe_errno(int native_status);

/* ---- validate.c ---- */

int fe_check_request(uint32_t mode, const struct dlm_lksb *lksb, uint32_t flags, const void *name,
                     unsigned int namelen, bool have_ast, bool sync);
int fe_check_quecvt(int grmode, uint32_t mode);
int fe_check_unlock(uint32_t lkid, uint32_t flags);

/* ---- lockspace.c ---- */

struct fe_item { /* an AST waiting for delivery */
    struct fe_item *next;
    bool blocking;
    uint32_t lkid;
    fe_ast_fn fn;
    void *arg;
    struct dlm_lksb *lksb; /* completion: the outcome goes here first */
    int status;
    uint8_t sbflags;
    bool lvb_read;
    uint8_t lvb[DLM_LVB_LEN];
};

struct fe_ls {
    struct fe_ls *next; /* the registry of open handles */
    rdlm_ls *n;
    char name[DLM_LOCKSPACE_LEN + 1];
    int efd; /* eventfd: readable while ASTs are queued */
    struct fe_item *head, *tail;
    bool thread_on;    /* an AST thread runs (dlm_ls_pthread_init) */
    bool stop;         /* it must end */
    bool thread_frees; /* closed from inside its own AST: the thread frees the handle */
    pthread_t thread;
};

bool fe_ls_valid(const struct fe_ls *ls); /* under fe_mu */
bool fe_ls_check(const struct fe_ls *ls); /* takes fe_mu; false with errno ENOTCONN */
struct fe_ls *fe_default_ls(void);        /* opened on first use; NULL + errno */
struct fe_ls *fe_default_if_open(void);
struct fe_ls *fe_ls_by_fd(int fd); /* under fe_mu */
void fe_forget_all_handles(void);  /* in a child after fork */

/* ---- deliver.c ---- */

void fe_queue(struct fe_ls *ls, struct fe_item *it); /* under fe_mu */
int fe_drain(struct fe_ls *ls);                      /* runs the queued ASTs */
int fe_thread_start(struct fe_ls *ls);               /* 0 or an errno */
void fe_thread_stop(struct fe_ls *ls);               /* not under fe_mu */
void fe_drop_queue(struct fe_ls *ls);                /* under fe_mu */
void fe_apply(struct dlm_lksb *sb, uint32_t lkid, int status, uint8_t sbflags, bool lvb_read,
              const uint8_t *lvb);

/* ---- complete.c ---- */

#define FE_NO_SEQ UINT64_MAX /* nsb.lvbseq before a request: still there = no LVB read */

void fe_native_ast(void *arg);
void fe_native_bast(void *arg, int mode, uint64_t hint);
/* A request of l completed with native status nst (under fe_mu): updates the record; returns
 * the errno form; *deliver false if libdlm reports nothing for it. */
int fe_request_done(struct fe_lock *l, int nst, uint8_t sbflags, bool *deliver);

/* ---- request.c ---- */

struct fe_req {
    uint32_t mode;
    struct dlm_lksb *lksb;
    uint32_t flags;
    const void *name;
    unsigned int namelen;
    fe_ast_fn ast;
    void *astarg;
    fe_ast_fn bast;
    void *bastarg;
    uint64_t xid;
    uint64_t timeout_cs;
    bool sync;        /* a _wait call */
    bool detach_lksb; /* lksb lives only for this call (lock_resource) */
};

int fe_request(struct fe_ls *ls, const struct fe_req *r); /* 0, or -1 with errno */

/* ---- unlock.c ---- */

int fe_unlock(struct fe_ls *ls, uint32_t lkid, uint32_t flags, struct dlm_lksb *lksb, void *astarg,
              bool sync); /* 0, or -1 with errno */

#endif /* RDLM_LIBDLM_INT_H */
