/*
 * common/strings.c - names of modes and status codes, for messages, logs and dumps.
 */
#include "rdlm.h"

const char *rdlm_mode_str(int mode)
{
    static const char *const names[] = {"NL", "CR", "CW", "PR", "PW", "EX"};

    if (mode == RDLM_MODE_IV)
        return "IV";
    return mode >= 0 && mode < RDLM_MODE_COUNT ? names[mode] : "??";
}

const char *rdlm_status_str(int status)
{
    static const char *const names[RDLM_E_STATUS_COUNT] = {
        [RDLM_OK] = "granted/ok",
        [RDLM_E_INVAL] = "invalid argument",
        [RDLM_E_NAMELEN] = "bad resource name length",
        [RDLM_E_NOMEM] = "out of memory",
        [RDLM_E_NOLOCK] = "no such lock",
        [RDLM_E_EXISTS] = "already exists",
        [RDLM_E_BUSY] = "operation in progress on the lock",
        [RDLM_E_NOTGRANTED] = "lock not granted",
        [RDLM_E_NOTQUEUED] = "not queued (NOQUEUE and not grantable)",
        [RDLM_E_DEADLOCK] = "deadlock",
        [RDLM_E_TIMEDOUT] = "timed out",
        [RDLM_E_CANCELED] = "cancelled",
        [RDLM_E_ABORTED] = "aborted by unlock",
        [RDLM_E_UNLOCKED] = "unlocked",
        [RDLM_E_CANCELGRANT] = "nothing to cancel (already granted)",
        [RDLM_E_CANCELWAIT] = "cannot cancel a waiting request without CANCELWAITOK",
        [RDLM_E_SUBLOCKS] = "lock has sublocks",
        [RDLM_E_PARNOTGRANT] = "parent lock not granted",
        [RDLM_E_NOORPHAN] = "no orphan lock to adopt",
        [RDLM_E_ORPHANMODE] = "orphan lock held in another mode",
        [RDLM_E_IS_PR] = "resource is persistent",
        [RDLM_E_NOT_PR] = "resource is not persistent",
        [RDLM_E_PR_RD_MISMATCH] = "persistent resource in another recovery domain",
        [RDLM_E_NOTCONN] = "not connected to the cluster",
        [RDLM_E_NOSYS] = "not supported",
        [RDLM_E_ACCESS] = "not permitted",
        [RDLM_E_RECOVERY] = "lockspace in recovery",
        [RDLM_E_ATTACHED] = "already attached",
        [RDLM_E_NOTATTACHED] = "not attached",
        [RDLM_E_HASLOCKS] = "still holds locks",
        [RDLM_E_HASPROCS] = "group container has attached processes",
        [RDLM_E_KILLFAIL] = "could not kill an attached process",
        [RDLM_E_NOENT] = "no such group container or recovery domain",
        [RDLM_E_ALREADY] = "recovery domain collected, not yet validated",
        [RDLM_E_MORE_TO_RECOVER] = "more resources need recovery",
        [RDLM_E_NO_GROUP] = "recovery domain belongs to another group",
        [RDLM_E_TOOMANY] = "table full",
    };

    if (status < 0 || status >= RDLM_E_STATUS_COUNT || !names[status])
        return "unknown status";
    return names[status];
}
