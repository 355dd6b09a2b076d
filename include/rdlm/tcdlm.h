/*
 * rdlm/tcdlm.h - the TruCluster DLM API (<sys/dlm.h>) over rdlm: the functions, types, flags
 * and status codes of the TruCluster distributed lock manager, so that a program written for
 * it builds unchanged with `pkg-config --cflags --libs rdlm-tcdlm` (whose Cflags put the rdlm
 * include directory on the path: `#include <sys/dlm.h>` finds rdlm/sys/dlm.h, which includes
 * this file). Source compatibility only: the values are rdlm's (docs/tcdlm.md).
 *
 * Conventions: calls return a dlm_status_t (DLM_SUCCESS is 0). A process joins a namespace
 * (dlm_nsjoin) and locks resources in it; synchronous calls (dlm_lock, dlm_locktp, dlm_cvt)
 * return the outcome, asynchronous ones (dlm_quelock, dlm_quelocktp, dlm_quecvt) return once
 * the request is queued and report the outcome to their completion routine. Completion and
 * blocking routines run in the library's dispatch thread by default, from the handler of the
 * signal chosen with dlm_set_signal(sig), or inside dlm_notify() after dlm_set_signal(0).
 *
 * Never link this library together with librdlm-libdlm: both define dlm_lock and dlm_unlock.
 * This header is self-contained: it needs nothing else from rdlm.
 */
#ifndef RDLM_TCDLM_H
#define RDLM_TCDLM_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes (dlm_status_t) ---- */
typedef enum dlm_status {
    DLM_SUCCESS = 0,          /* success, or request queued */
    DLM_SYNCH = 1,            /* granted at once (DLM_SYNCSTS) */
    DLM_SUCCVALNOTVALID = 2,  /* granted, the value block is marked invalid */
    DLM_SYNCVALNOTVALID = 3,  /* granted at once, the value block is marked invalid */
    DLM_MORE_TO_RECOVER = 4,  /* dlm_rd_validate: more resources need recovery */
    DLM_MORE_TO_TRAVERSE = 5, /* dlm_rd_traverse: one more resource returned */
    DLM_ABORT = 16,           /* request dequeued by an unlock while waiting */
    DLM_ATTACHED = 17,        /* already attached */
    DLM_BADPARAM = 18,        /* invalid parameter or flags */
    DLM_CANCEL = 19,          /* request cancelled */
    DLM_CANCELGRANT = 20,     /* cancel: the request was already granted */
    DLM_CANCELWAIT = 21,      /* cancel of a waiting request without DLM_CANCELWAITOK */
    DLM_CVTUNGRANT = 22,      /* conversion of a lock that is not granted */
    DLM_DEADLOCK = 23,        /* deadlock victim */
    DLM_EFAULT = 24,          /* bad address */
    DLM_ENOENT = 25,          /* no such object */
    DLM_ENOSYS = 26,          /* the DLM is not configured or not reachable */
    DLM_HASLOCKS = 27,        /* still holds locks */
    DLM_INSFMEM = 28,         /* out of memory */
    DLM_INTR = 29,            /* interrupted */
    DLM_IVBUFLEN = 30,        /* illegal resource name length */
    DLM_IVLOCKID = 31,        /* invalid lock id */
    DLM_LKBUSY = 32,          /* an operation is in progress on the lock */
    DLM_NOACCESS = 33,        /* not permitted */
    DLM_NOLOCKID = 34,        /* (unused) */
    DLM_NOTATTACHED = 35,     /* not attached (namespace, group container, domain) */
    DLM_NOTQUEUED = 36,       /* DLM_NOQUEUE request not grantable at once */
    DLM_PARNOTGRANT = 37,     /* parent lock not granted */
    DLM_RETRY = 38,           /* (unused) */
    DLM_SUBLOCKS = 39,        /* the lock has sublocks */
    DLM_TIMEOUT = 40,         /* the request timed out */
    DLM_TOOMANYNS = 41,       /* too many namespaces */
    DLM_UNEXPERR = 42,        /* unexpected error */
    DLM_HASPROCS = 43,        /* group container has attached processes */
    DLM_KILLFAIL = 44,        /* an attached process could not be killed */
    DLM_ATTACHEDGROUP = 45,   /* attached to a group container bound to this namespace */
    DLM_NO_GROUP = 46,        /* domain of a group container the caller is not in */
    DLM_ENAMETOOLONG = 47,    /* recovery domain name too long */
    DLM_TOOMANYRD = 48,       /* too many recovery domains */
    DLM_IS_PR = 49,           /* non-persistent lock on a persistent resource */
    DLM_NOT_PR = 50,          /* persistent lock on a non-persistent resource */
    DLM_IVRDID = 51,          /* invalid recovery domain id */
    DLM_PR_RD_MISMATCH = 52,  /* persistent resource of another recovery domain */
    DLM_IVHNDL = 53,          /* invalid collection handle */
    DLM_EALREADY = 54,        /* domain collected and not yet validated */
    DLM_EINPROGRESS = 55,     /* (unused) */
    DLM_PUBNS_DISALLOW = 56   /* (unused) */
} dlm_status_t;

/* ---- lock modes ---- */
typedef enum dlm_lkmode {
    DLM_NOMODE = 0, /* no mode (a lock that was never granted) */
    DLM_NLMODE = 1, /* null */
    DLM_CRMODE = 2, /* concurrent read */
    DLM_CWMODE = 3, /* concurrent write */
    DLM_PRMODE = 4, /* protected read */
    DLM_PWMODE = 5, /* protected write */
    DLM_EXMODE = 6  /* exclusive */
} dlm_lkmode_t;

/* ---- lock states (dlm_lkinfo_t.lkstate) ---- */
typedef enum usr_lk_states {
    DLM_INTRANSIT = 0,
    DLM_GRANTED = 1,
    DLM_CONVERTING = 2,
    DLM_WAITING = 3
} usr_lk_states_t;

/* ---- lengths ---- */
#define DLM_VALBLKSIZE 8  /* unsigned ints in a value block (32 bytes) */
#define DLM_RESNAMELEN 64 /* longest resource name (binary allowed) */
#define DLM_RDNAMELEN  32 /* longest recovery domain name */
#define DLM_NSPROCMAX  16 /* namespaces a process may join */
#define DLM_RDPROCMAX  16 /* recovery domain handles per process */

/* ---- scalar types ---- */
typedef unsigned long callback_arg_t;
typedef int dlm_nsp_t;
typedef unsigned int dlm_nsid_t;
typedef unsigned int dlm_flags_t;
typedef unsigned long long dlm_trans_id_t;
typedef unsigned int dlm_rd_id_t;
typedef unsigned int dlm_rd_flags_t;
typedef unsigned long long dlm_glc_id_t;
typedef unsigned int dlm_glc_flags_t;
typedef unsigned long dlm_rd_collection_hndl_t;

typedef struct dlm_lkid {
    unsigned int seqn; /* low 32 bits of the lock id */
    unsigned int hndl; /* high 32 bits */
} dlm_lkid_t;

typedef struct dlm_valb {
    unsigned int valblk[DLM_VALBLKSIZE];
} dlm_valb_t;

typedef void (*cpl_callback_t)(callback_arg_t notprm, dlm_lkid_t *lkid, dlm_status_t status);
typedef void (*blk_callback_t)(callback_arg_t notprm, callback_arg_t hint, dlm_lkid_t *lkid,
                               dlm_lkmode_t blocked_mode);

/* ---- flags of lock requests (lock, locktp, cvt and their queued forms) and unlock ---- */
#define DLM_NOQUEUE     0x00000008u /* fail with DLM_NOTQUEUED instead of waiting */
#define DLM_SYNCSTS     0x00000010u /* DLM_SYNCH when granted at once */
#define DLM_NODLCKWT    0x00000020u /* this wait is not a deadlock candidate */
#define DLM_NODLCKBLK   0x00000040u /* this lock never counts as a blocker */
#define DLM_EXPEDITE    0x00000080u /* new NL request granted ahead of the queues */
#define DLM_QUECVT      0x00000100u /* conversion queued behind other conversions */
#define DLM_DEQALL      0x00000200u /* unlock: every lock of the process (lkid_p NULL) */
#define DLM_INVVALBLK   0x00000400u /* invalidate the value block */
#define DLM_VALB        0x00001000u /* transfer the value block */
#define DLM_PERSIST     0x00002000u /* locktp: resource persistent in recovery domain rd_id */
#define DLM_GROUP_LOCK  0x00004000u /* locktp: owned by the caller's group lock container */
#define DLM_TXID_LOCAL  0x00008000u /* locktp: trans_id is a node-local transaction id */
#define DLM_TXID_GLOBAL 0x00010000u /* locktp: trans_id is a cluster-wide transaction id */

/* dlm_cancel */
#define DLM_CANCELWAITOK 0x1u /* a waiting request may be cancelled too */

/* dlm_nsjoin */
#define DLM_USER         0x1u /* nsid is a user id */
#define DLM_GROUP        0x2u /* nsid is a group id */
#define DLM_JOIN_SAME_OK 0x4u /* joining again returns the same handle */

/* recovery domains */
#define DLM_RD_PROCESS    0x1u /* attach the calling process */
#define DLM_RD_GROUP      0x2u /* attach the caller's group lock container */
#define DLM_RD_INVALIDATE 0x4u /* detach: invalidate the whole domain */

/* group lock containers */
#define DLM_GLC_OWNED 0x1u /* create: destroyed with its creator */
#define DLM_GLC_PERM  0x2u /* create: survives its last detach */
#define DLM_GLC_LOCKS 0x4u /* destroy: even though it holds locks */
#define DLM_GLC_FORCE 0x8u /* destroy: even with attached processes (killed) */

/* VB status (dlm_rsbinfo_t.vbstatus) */
#define DLM_VB_NONE    0 /* never written */
#define DLM_VB_VALID   1
#define DLM_VB_INVALID 2

typedef struct dlm_lkinfo {
    char resnam[DLM_RESNAMELEN];
    unsigned short resnlen;
    dlm_lkid_t parlkid; /* zero for a root lock */
    dlm_lkmode_t rqmode;
    dlm_valb_t *valb; /* the value block last given with DLM_VALB */
    dlm_flags_t flags;
    callback_arg_t notprm;
    callback_arg_t hint;
    blk_callback_t blkrtn;
    unsigned int timeout;
    cpl_callback_t cplrtn;
    int sig; /* the notification signal (0: polling or the dispatch thread) */
    dlm_lkmode_t grmode;
    usr_lk_states_t lkstate;
    pid_t lk_pid;
} dlm_lkinfo_t;

typedef struct dlm_rsbinfo {
    short vbstatus; /* DLM_VB_* */
    unsigned int vbseqnum;
    unsigned int subrescnt;
    unsigned int lckcnt;
    unsigned int blkastcnt;
    unsigned int ggcnt;
    dlm_lkmode_t ggmode;   /* most restrictive granted mode (DLM_NOMODE: none) */
    dlm_lkmode_t cvtqmode; /* highest mode on the conversion queue */
    dlm_lkmode_t wtqmode;  /* highest mode on the wait queue */
    dlm_valb_t valb;
} dlm_rsbinfo_t;

/* ---- namespaces and delivery ---- */
dlm_status_t dlm_nsjoin(dlm_nsid_t nsid, dlm_nsp_t *nsp, dlm_flags_t flags);
dlm_status_t dlm_nsleave(dlm_nsp_t *nsp, dlm_flags_t flags);
dlm_status_t dlm_detach(void);
dlm_status_t dlm_set_signal(int newsig, int *oldsig);
int dlm_notify(void);

/* ---- locks ---- */
dlm_status_t dlm_lock(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                      dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode, dlm_valb_t *valb_p,
                      dlm_flags_t flags, callback_arg_t notprm, callback_arg_t hint,
                      blk_callback_t blkrtn, unsigned int timeout);
dlm_status_t dlm_locktp(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                        dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode,
                        dlm_valb_t *valb_p, dlm_flags_t flags, callback_arg_t notprm,
                        callback_arg_t hint, blk_callback_t blkrtn, unsigned int timeout,
                        dlm_trans_id_t trans_id, dlm_rd_id_t rd_id);
dlm_status_t dlm_quelock(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                         dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode,
                         dlm_valb_t *valb_p, dlm_flags_t flags, callback_arg_t notprm,
                         callback_arg_t hint, blk_callback_t blkrtn, unsigned int timeout,
                         cpl_callback_t cplrtn);
dlm_status_t dlm_quelocktp(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                           dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode,
                           dlm_valb_t *valb_p, dlm_flags_t flags, callback_arg_t notprm,
                           callback_arg_t hint, blk_callback_t blkrtn, unsigned int timeout,
                           cpl_callback_t cplrtn, dlm_trans_id_t trans_id, dlm_rd_id_t rd_id);
dlm_status_t dlm_cvt(dlm_lkid_t *lkid_p, dlm_lkmode_t rqmode, dlm_valb_t *valb_p, dlm_flags_t flags,
                     callback_arg_t notprm, callback_arg_t hint, blk_callback_t blkrtn,
                     unsigned int timeout);
dlm_status_t dlm_quecvt(dlm_lkid_t *lkid_p, dlm_lkmode_t rqmode, dlm_valb_t *valb_p,
                        dlm_flags_t flags, callback_arg_t notprm, callback_arg_t hint,
                        blk_callback_t blkrtn, unsigned int timeout, cpl_callback_t cplrtn);
dlm_status_t dlm_unlock(dlm_lkid_t *lkid_p, dlm_valb_t *valb_p, dlm_flags_t flags);
dlm_status_t dlm_cancel(dlm_lkid_t *lkid_p, dlm_flags_t flags);
dlm_status_t dlm_get_lkinfo(dlm_lkid_t *lkid_p, dlm_lkinfo_t *lkinfo);
dlm_status_t dlm_get_rsbinfo(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                             dlm_rsbinfo_t *rsbinfo, dlm_lkid_t *par_lkid);

/* ---- group lock containers ---- */
dlm_status_t dlm_glc_create(dlm_glc_id_t *idp, dlm_glc_flags_t flags, dlm_nsp_t *ns_listp,
                            int ns_num);
dlm_status_t dlm_glc_attach(dlm_glc_id_t id, dlm_glc_flags_t flags);
dlm_status_t dlm_glc_detach(void);
dlm_status_t dlm_glc_destroy(dlm_glc_id_t id, dlm_glc_flags_t flags);

/* ---- recovery domains ---- */
dlm_status_t dlm_rd_attach(char *name, dlm_rd_id_t *rd_id_p, dlm_rd_flags_t attach_flag);
dlm_status_t dlm_rd_detach(dlm_rd_id_t rd_id, dlm_rd_flags_t detach_flag);
dlm_status_t dlm_rd_collect(dlm_rd_id_t rd_id, dlm_rd_collection_hndl_t *hndl_p,
                            dlm_rd_flags_t collect_flag);
dlm_status_t dlm_rd_validate(dlm_rd_id_t rd_id, dlm_rd_collection_hndl_t *hndl_p,
                             dlm_rd_flags_t validate_flag);
/* rdlm extension: walk a collection. *cursor starts at 0; DLM_MORE_TO_TRAVERSE with the next
 * resource (its name, length and the namespace it is in, -1 if not joined), DLM_SUCCESS when
 * there are no more. resnam: DLM_RESNAMELEN bytes. */
dlm_status_t dlm_rd_traverse(dlm_rd_collection_hndl_t *hndl_p, unsigned long *cursor,
                             unsigned char *resnam, unsigned short *resnlen, dlm_nsp_t *nsp);

/* ---- messages ---- */
void dlm_perrno(dlm_status_t stat);
void dlm_perror(char *s, dlm_status_t stat);
char *dlm_sperrno(dlm_status_t stat);

#ifdef __cplusplus
}
#endif

#endif /* RDLM_TCDLM_H */
