/*
 * lib/libdlm/status.c - the errno a libdlm program sees for each native status (the mapping
 * of docs/engine.md section 14): returned with -1 by a call, or left in sb_status by a
 * completion (0 granted, EAGAIN not queued, EDEADLK, ETIMEDOUT, ECANCEL, EUNLOCK).
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>

int fe_errno(int native_status)
{
    switch (native_status) {
    case RDLM_OK:
    case RDLM_E_CANCELGRANT: /* the cancel lost to the grant: the grant is the completion */
        return 0;
    case RDLM_E_NOMEM:
        return ENOMEM;
    case RDLM_E_NOLOCK:
    case RDLM_E_NOORPHAN:
        return ENOENT;
    case RDLM_E_EXISTS:
        return EEXIST;
    case RDLM_E_BUSY:
    case RDLM_E_NOTGRANTED:
    case RDLM_E_CANCELWAIT: /* never: the front end always passes CANCELWAITOK */
        return EBUSY;
    case RDLM_E_NOTQUEUED:
    case RDLM_E_ORPHANMODE:
    case RDLM_E_RECOVERY: /* retried inside librdlm; if it ever surfaces: try again */
        return EAGAIN;
    case RDLM_E_DEADLOCK:
        return EDEADLK;
    case RDLM_E_TIMEDOUT:
        return ETIMEDOUT;
    case RDLM_E_CANCELED:
        return ECANCEL;
    case RDLM_E_ABORTED:  /* a pending request ended by a force unlock: the EUNLOCK follows */
    case RDLM_E_UNLOCKED: /* (only a waiting _wait caller is told about the former) */
        return EUNLOCK;
    case RDLM_E_SUBLOCKS:
        return ENOTEMPTY;
    case RDLM_E_NOTCONN:
        return ENOTCONN;
    case RDLM_E_NOSYS:
        return ENOSYS;
    case RDLM_E_ACCESS:
        return EPERM;
    default: /* INVAL, NAMELEN, PARNOTGRANT, IS_PR, NOT_PR, PR_RD_MISMATCH, unknown */
        return EINVAL;
    }
}
