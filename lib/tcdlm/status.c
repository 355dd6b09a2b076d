/*
 * lib/tcdlm/status.c - the dlm_status_t a TruCluster program sees for each native status (the
 * mapping of docs/engine.md section 14), and the messages: dlm_sperrno returns
 * "NAME: meaning", dlm_perror prints "s: " and that to stderr, dlm_perrno prints it alone;
 * an unknown code gives "DLM_ILLEGAL_EEROR" (sic, as TruCluster spelled it).
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <stdio.h>

dlm_status_t tc_status(int native_status)
{
    static const dlm_status_t map[RDLM_E_STATUS_COUNT] = {
        [RDLM_OK] = DLM_SUCCESS,
        [RDLM_E_INVAL] = DLM_BADPARAM,
        [RDLM_E_NAMELEN] = DLM_IVBUFLEN,
        [RDLM_E_NOMEM] = DLM_INSFMEM,
        [RDLM_E_NOLOCK] = DLM_IVLOCKID,
        [RDLM_E_EXISTS] = DLM_BADPARAM,
        [RDLM_E_BUSY] = DLM_LKBUSY,
        [RDLM_E_NOTGRANTED] = DLM_CVTUNGRANT,
        [RDLM_E_NOTQUEUED] = DLM_NOTQUEUED,
        [RDLM_E_DEADLOCK] = DLM_DEADLOCK,
        [RDLM_E_TIMEDOUT] = DLM_TIMEOUT,
        [RDLM_E_CANCELED] = DLM_CANCEL,
        [RDLM_E_ABORTED] = DLM_ABORT,
        [RDLM_E_UNLOCKED] = DLM_SUCCESS,
        [RDLM_E_CANCELGRANT] = DLM_CANCELGRANT,
        [RDLM_E_CANCELWAIT] = DLM_CANCELWAIT,
        [RDLM_E_SUBLOCKS] = DLM_SUBLOCKS,
        [RDLM_E_PARNOTGRANT] = DLM_PARNOTGRANT,
        [RDLM_E_NOORPHAN] = DLM_UNEXPERR, /* Linux only: never asked for */
        [RDLM_E_ORPHANMODE] = DLM_UNEXPERR,
        [RDLM_E_IS_PR] = DLM_IS_PR,
        [RDLM_E_NOT_PR] = DLM_NOT_PR,
        [RDLM_E_PR_RD_MISMATCH] = DLM_PR_RD_MISMATCH,
        [RDLM_E_NOTCONN] = DLM_NOTATTACHED,
        [RDLM_E_NOSYS] = DLM_ENOSYS,
        [RDLM_E_ACCESS] = DLM_NOACCESS,
        [RDLM_E_RECOVERY] = DLM_RETRY, /* retried inside librdlm; never surfaces */
        [RDLM_E_ATTACHED] = DLM_ATTACHED,
        [RDLM_E_NOTATTACHED] = DLM_NOTATTACHED,
        [RDLM_E_HASLOCKS] = DLM_HASLOCKS,
        [RDLM_E_HASPROCS] = DLM_HASPROCS,
        [RDLM_E_KILLFAIL] = DLM_KILLFAIL,
        [RDLM_E_NOENT] = DLM_ENOENT,
        [RDLM_E_ALREADY] = DLM_EALREADY,
        [RDLM_E_MORE_TO_RECOVER] = DLM_MORE_TO_RECOVER,
        [RDLM_E_NO_GROUP] = DLM_NO_GROUP,
        [RDLM_E_TOOMANY] = DLM_INSFMEM, /* rd.c maps it to DLM_TOOMANYRD itself */
    };

    if (native_status < 0 || native_status >= RDLM_E_STATUS_COUNT)
        return DLM_UNEXPERR;
    return map[native_status];
}

static const char *const messages[] = {
    [DLM_SUCCESS] = "DLM_SUCCESS: normal successful completion",
    [DLM_SYNCH] = "DLM_SYNCH: request granted synchronously",
    [DLM_SUCCVALNOTVALID] = "DLM_SUCCVALNOTVALID: request granted, value block not valid",
    [DLM_SYNCVALNOTVALID] =
        "DLM_SYNCVALNOTVALID: request granted synchronously, value block not valid",
    [DLM_MORE_TO_RECOVER] = "DLM_MORE_TO_RECOVER: more resources of the domain need recovery",
    [DLM_MORE_TO_TRAVERSE] = "DLM_MORE_TO_TRAVERSE: more resources in the collection",
    [DLM_ABORT] = "DLM_ABORT: request dequeued by an unlock while waiting",
    [DLM_ATTACHED] = "DLM_ATTACHED: already attached",
    [DLM_BADPARAM] = "DLM_BADPARAM: invalid parameter",
    [DLM_CANCEL] = "DLM_CANCEL: request cancelled",
    [DLM_CANCELGRANT] = "DLM_CANCELGRANT: cancel failed, the request was already granted",
    [DLM_CANCELWAIT] = "DLM_CANCELWAIT: cancel of a waiting request without DLM_CANCELWAITOK",
    [DLM_CVTUNGRANT] = "DLM_CVTUNGRANT: conversion of a lock that is not granted",
    [DLM_DEADLOCK] = "DLM_DEADLOCK: deadlock detected",
    [DLM_EFAULT] = "DLM_EFAULT: bad address",
    [DLM_ENOENT] = "DLM_ENOENT: no such object",
    [DLM_ENOSYS] = "DLM_ENOSYS: the distributed lock manager is not available",
    [DLM_HASLOCKS] = "DLM_HASLOCKS: locks are still held",
    [DLM_INSFMEM] = "DLM_INSFMEM: insufficient memory",
    [DLM_INTR] = "DLM_INTR: interrupted",
    [DLM_IVBUFLEN] = "DLM_IVBUFLEN: invalid resource name length",
    [DLM_IVLOCKID] = "DLM_IVLOCKID: invalid lock id",
    [DLM_LKBUSY] = "DLM_LKBUSY: an operation is in progress on the lock",
    [DLM_NOACCESS] = "DLM_NOACCESS: permission denied",
    [DLM_NOLOCKID] = "DLM_NOLOCKID: no lock id available",
    [DLM_NOTATTACHED] = "DLM_NOTATTACHED: not attached",
    [DLM_NOTQUEUED] = "DLM_NOTQUEUED: request not queued",
    [DLM_PARNOTGRANT] = "DLM_PARNOTGRANT: parent lock not granted",
    [DLM_RETRY] = "DLM_RETRY: try again",
    [DLM_SUBLOCKS] = "DLM_SUBLOCKS: the lock has sublocks",
    [DLM_TIMEOUT] = "DLM_TIMEOUT: request timed out",
    [DLM_TOOMANYNS] = "DLM_TOOMANYNS: too many namespaces",
    [DLM_UNEXPERR] = "DLM_UNEXPERR: unexpected error",
    [DLM_HASPROCS] = "DLM_HASPROCS: the group lock container has attached processes",
    [DLM_KILLFAIL] = "DLM_KILLFAIL: an attached process could not be killed",
    [DLM_ATTACHEDGROUP] =
        "DLM_ATTACHEDGROUP: attached to a group lock container bound to the namespace",
    [DLM_NO_GROUP] = "DLM_NO_GROUP: not in the process lock group of the recovery domain",
    [DLM_ENAMETOOLONG] = "DLM_ENAMETOOLONG: recovery domain name too long",
    [DLM_TOOMANYRD] = "DLM_TOOMANYRD: too many recovery domains",
    [DLM_IS_PR] = "DLM_IS_PR: the resource is persistent",
    [DLM_NOT_PR] = "DLM_NOT_PR: the resource is not persistent",
    [DLM_IVRDID] = "DLM_IVRDID: invalid recovery domain id",
    [DLM_PR_RD_MISMATCH] = "DLM_PR_RD_MISMATCH: the resource is in another recovery domain",
    [DLM_IVHNDL] = "DLM_IVHNDL: invalid collection handle",
    [DLM_EALREADY] = "DLM_EALREADY: the recovery domain is already being recovered",
    [DLM_EINPROGRESS] = "DLM_EINPROGRESS: operation in progress",
    [DLM_PUBNS_DISALLOW] = "DLM_PUBNS_DISALLOW: public namespace not allowed",
};

char *dlm_sperrno(dlm_status_t stat)
{
    unsigned int i = (unsigned int)stat;

    if (i >= sizeof(messages) / sizeof(messages[0]) || !messages[i])
        return (char *)"DLM_ILLEGAL_EEROR";
    return (char *)messages[i];
}

void dlm_perror(char *s, dlm_status_t stat)
{
    if (s && *s)
        fprintf(stderr, "%s: %s\n", s, dlm_sperrno(stat));
    else
        fprintf(stderr, "%s\n", dlm_sperrno(stat));
}

void dlm_perrno(dlm_status_t stat)
{
    fprintf(stderr, "%s\n", dlm_sperrno(stat));
}
