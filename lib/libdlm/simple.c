/*
 * lib/libdlm/simple.c - libdlm's simplified synchronous API on the default lockspace
 * (lock_resource / unlock_resource) and the version calls.
 *
 * lock_resource starts the default lockspace's AST thread if the default lockspace was not
 * open yet (as libdlm's does, through dlm_pthread_init), requests or (LKF_CONVERT, *lockid
 * naming the lock) converts, waits, and returns 0 or -1 with errno = the final status.
 * unlock_resource returns 0 when the unlock completed (EUNLOCK), else -1 with errno.
 *
 * Versions: rdlm offers the kernel's version 6 device interface (dlm_ls_lockx, purge and
 * deadlock cancel are all available), reported as 6.0.2 by both calls.
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>
#include <string.h>

#define DEVICE_VERSION_MAJOR 6
#define DEVICE_VERSION_MINOR 0
#define DEVICE_VERSION_PATCH 2

int lock_resource(const char *resource, int mode, int flags, int *lockid)
{
    struct dlm_lksb lksb = {0};
    struct fe_req r = {
        .mode = (uint32_t)mode,
        .lksb = &lksb,
        .flags = (uint32_t)flags,
        .name = resource,
        .namelen = resource ? (unsigned int)strlen(resource) : 0,
        .sync = true,
        .detach_lksb = true, /* lksb is ours and goes away on return */
    };
    struct fe_ls *ls = fe_default_if_open();
    int rc;

    if (!ls) {
        if (dlm_pthread_init() < 0 && errno != EEXIST)
            return -1;
        ls = fe_default_if_open();
    }
    if (!lockid || !resource || !ls) {
        errno = ls ? EINVAL : ENOTCONN;
        return -1;
    }
    if (flags & LKF_CONVERT)
        lksb.sb_lkid = (uint32_t)*lockid;
    rc = fe_request(ls, &r);
    if (rc == 0 || lksb.sb_status != 0) /* accepted (granted or not) */
        *lockid = (int)lksb.sb_lkid;
    return rc;
}

int unlock_resource(int lockid)
{
    struct dlm_lksb lksb = {0};
    int saved = errno, rc = fe_unlock(fe_default_if_open(), (uint32_t)lockid, 0, &lksb, NULL, true);

    if (rc == 0)
        errno = saved;
    return rc;
}

int dlm_kernel_version(uint32_t *maj, uint32_t *min, uint32_t *patch)
{
    if (!maj || !min || !patch) {
        errno = EINVAL;
        return -1;
    }
    *maj = DEVICE_VERSION_MAJOR;
    *min = DEVICE_VERSION_MINOR;
    *patch = DEVICE_VERSION_PATCH;
    return 0;
}

void dlm_library_version(uint32_t *maj, uint32_t *min, uint32_t *patch)
{
    if (maj)
        *maj = DEVICE_VERSION_MAJOR;
    if (min)
        *min = DEVICE_VERSION_MINOR;
    if (patch)
        *patch = DEVICE_VERSION_PATCH;
}
