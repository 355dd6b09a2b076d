/*
 * rdlm/constants.h - the vocabulary shared by every layer of rdlm: lock modes, request flags,
 * completion flags and status codes of the native API.
 *
 * The native API expresses every semantic of both seed APIs (Linux libdlm and the TruCluster
 * DLM); the two front ends map their own constants onto these. Mode and flag values are the
 * Linux ones where Linux has the flag, so the libdlm front end is a plain copy; flags only
 * TruCluster has use bits Linux leaves free. Status codes are rdlm's own, each with one
 * meaning; docs/engine.md gives the Linux errno and TruCluster dlm_status_t each maps to.
 */
#ifndef RDLM_CONSTANTS_H
#define RDLM_CONSTANTS_H

#include <stdint.h>

/* Lock modes (VMS order; numeric order is only a heuristic "strength" for BAST modes). */
enum rdlm_mode {
    RDLM_MODE_IV = -1, /* invalid / none (a new request has no granted mode) */
    RDLM_MODE_NL = 0,  /* null: interest only, keeps resource and LVB alive */
    RDLM_MODE_CR = 1,  /* concurrent read */
    RDLM_MODE_CW = 2,  /* concurrent write */
    RDLM_MODE_PR = 3,  /* protected read */
    RDLM_MODE_PW = 4,  /* protected write */
    RDLM_MODE_EX = 5,  /* exclusive */
};
#define RDLM_MODE_COUNT 6

/* Request flags (lock, convert). Values equal Linux LKF_*; bits 19..30 are rdlm's own. */
#define RDLM_LKF_NOQUEUE      0x00000001u /* fail with RDLM_E_NOTQUEUED instead of waiting */
#define RDLM_LKF_CANCEL       0x00000002u /* (Linux unlock only) never valid on a request */
#define RDLM_LKF_CONVERT      0x00000004u /* convert an existing lock (lkid given) */
#define RDLM_LKF_VALBLK       0x00000008u /* transfer the lock value block */
#define RDLM_LKF_QUECVT       0x00000010u /* queue the conversion behind other conversions */
#define RDLM_LKF_IVVALBLK     0x00000020u /* invalidate the LVB on a write-path operation */
#define RDLM_LKF_CONVDEADLK   0x00000040u /* resolve conversion deadlock by demoting to NL */
#define RDLM_LKF_PERSISTENT   0x00000080u /* lock survives its owner's death as an orphan */
#define RDLM_LKF_NODLCKWT     0x00000100u /* this lock's wait is not a deadlock candidate */
#define RDLM_LKF_NODLCKBLK    0x00000200u /* this lock is never counted as a blocker */
#define RDLM_LKF_EXPEDITE     0x00000400u /* new NL request granted ahead of all queues */
#define RDLM_LKF_NOQUEUEBAST  0x00000800u /* with NOQUEUE: BAST the blockers before failing */
#define RDLM_LKF_HEADQUE      0x00001000u /* queue at the head, not the tail */
#define RDLM_LKF_NOORDER      0x00002000u /* grant whenever compatible, ignoring queue order */
#define RDLM_LKF_ORPHAN       0x00004000u /* adopt an orphan lock of the same name and mode */
#define RDLM_LKF_ALTPR        0x00008000u /* if not grantable, try PR instead */
#define RDLM_LKF_ALTCW        0x00010000u /* if not grantable, try CW instead */
#define RDLM_LKF_FORCEUNLOCK  0x00020000u /* (unlock) even if converting/waiting/has sublocks */
#define RDLM_LKF_TIMEOUT      0x00040000u /* cancel with RDLM_E_TIMEDOUT after the timeout */
#define RDLM_LKF_PERSIST_RES  0x00080000u /* TruCluster DLM_PERSIST: resource persists in rd_id */
#define RDLM_LKF_CANCELWAITOK 0x00100000u /* (cancel) may cancel a waiting, not only converting */
#define RDLM_LKF_WAIT         0x80000000u /* (client library) synchronous call */

/* Completion flags (Linux DLM_SBF_* values). */
#define RDLM_SBF_DEMOTED     0x01u /* granted mode was demoted to NL (CONVDEADLK) */
#define RDLM_SBF_VALNOTVALID 0x02u /* the resource's LVB is marked invalid */
#define RDLM_SBF_ALTMODE     0x04u /* granted in the alternate mode (ALTPR/ALTCW) */

#define RDLM_LVB_LEN          32 /* bytes in a lock value block */
#define RDLM_RESNAME_MAXLEN   64 /* bytes in a resource name (binary allowed) */
#define RDLM_LOCKSPACE_MAXLEN 64 /* bytes in a lockspace name */

/*
 * Status codes. 0 is success; completions carry one of these too. Every code has exactly one
 * meaning so that both front ends can map it without guessing.
 */
enum rdlm_status {
    RDLM_OK = 0,                /* granted / done */
    RDLM_E_INVAL = 1,           /* bad mode, flag combination or argument */
    RDLM_E_NAMELEN = 2,         /* resource name empty or longer than RDLM_RESNAME_MAXLEN */
    RDLM_E_NOMEM = 3,           /* out of memory; nothing changed */
    RDLM_E_NOLOCK = 4,          /* unknown (or already ended) lock id */
    RDLM_E_EXISTS = 5,          /* lock id already in use */
    RDLM_E_BUSY = 6,            /* an operation is in flight on this lock */
    RDLM_E_NOTGRANTED = 7,      /* convert of a lock that was never granted (still waiting) */
    RDLM_E_NOTQUEUED = 8,       /* NOQUEUE request not grantable now (completion status) */
    RDLM_E_DEADLOCK = 9,        /* deadlock victim / conversion deadlock (completion) */
    RDLM_E_TIMEDOUT = 10,       /* TIMEOUT expired before the grant (completion) */
    RDLM_E_CANCELED = 11,       /* request cancelled (completion) */
    RDLM_E_ABORTED = 12,        /* pending request ended by a force unlock (completion) */
    RDLM_E_UNLOCKED = 13,       /* unlock done (completion of an unlock) */
    RDLM_E_CANCELGRANT = 14,    /* cancel found nothing pending: the request was granted */
    RDLM_E_CANCELWAIT = 15,     /* cancel of a waiting request without CANCELWAITOK */
    RDLM_E_SUBLOCKS = 16,       /* unlock of a lock that still has sublocks */
    RDLM_E_PARNOTGRANT = 17,    /* parent lock not granted */
    RDLM_E_NOORPHAN = 18,       /* ORPHAN: no orphan lock of that name */
    RDLM_E_ORPHANMODE = 19,     /* ORPHAN: orphans exist but in another mode */
    RDLM_E_IS_PR = 20,          /* non-persistent lock on a persistent resource */
    RDLM_E_NOT_PR = 21,         /* persistent lock on a non-persistent resource */
    RDLM_E_PR_RD_MISMATCH = 22, /* persistent resource bound to another recovery domain */
    RDLM_E_NOTCONN = 23,        /* no lockspace / connection to the cluster lost */
    RDLM_E_NOSYS = 24,          /* not supported */
    RDLM_E_ACCESS = 25,         /* not permitted */
    RDLM_E_RECOVERY = 26,       /* the lockspace is recovering; retried internally */
    RDLM_E_ATTACHED = 27,       /* already attached (group container / recovery domain) */
    RDLM_E_NOTATTACHED = 28,    /* not attached (group container / recovery domain) */
    RDLM_E_HASLOCKS = 29,       /* still holds locks (group container / recovery domain) */
    RDLM_E_HASPROCS = 30,       /* group container still has attached processes */
    RDLM_E_KILLFAIL = 31,       /* an attached process could not be killed; nothing released */
    RDLM_E_NOENT = 32,          /* no such group container / recovery domain */
    RDLM_E_ALREADY = 33,        /* recovery domain collected and not yet validated */
    RDLM_E_MORE_TO_RECOVER = 34, /* validate done, but more resources need recovery */
    RDLM_E_NO_GROUP = 35,       /* domain belongs to a group container the caller is not in */
    RDLM_E_TOOMANY = 36,        /* a per-process or per-node table is full */
    RDLM_E_STATUS_COUNT
};

#endif /* RDLM_CONSTANTS_H */
