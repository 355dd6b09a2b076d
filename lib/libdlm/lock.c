/*
 * lib/libdlm/lock.c - the public request calls: dlm_ls_lock, dlm_ls_lockx, dlm_ls_lock_wait
 * and, on the default lockspace (opened on first use), dlm_lock and dlm_lock_wait. As in
 * libdlm, the blocking AST gets the completion AST's argument (the _wait calls take their own
 * bastarg), `parent` is ignored, and a non-NULL `range` fails with ENOSYS. dlm_ls_lockx adds a
 * transaction id (xid) and a timeout in centiseconds, used with LKF_TIMEOUT (ETIMEDOUT).
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>

static int lock_common(struct fe_ls *ls, uint32_t mode, struct dlm_lksb *lksb, uint32_t flags,
                       const void *name, unsigned int namelen, fe_ast_fn ast, void *astarg,
                       fe_ast_fn bast, void *bastarg, uint64_t *xid, uint64_t *timeout, bool sync,
                       void *range)
{
    struct fe_req r = {
        .mode = mode,
        .lksb = lksb,
        .flags = flags,
        .name = name,
        .namelen = namelen,
        .ast = ast,
        .astarg = astarg,
        .bast = bast,
        .bastarg = bastarg,
        .xid = xid ? *xid : 0,
        .timeout_cs = timeout ? *timeout : 0,
        .sync = sync,
    };
    int saved = errno, rc;

    if (!ls) /* the default lockspace could not be opened: errno says why */
        return -1;
    if (!lksb) {
        errno = EINVAL;
        return -1;
    }
    if (range) {
        errno = ENOSYS;
        return -1;
    }
    rc = fe_request(ls, &r);
    if (rc == 0)
        errno = saved;
    return rc;
}

int dlm_ls_lock(dlm_lshandle_t lockspace, uint32_t mode, struct dlm_lksb *lksb, uint32_t flags,
                const void *name, unsigned int namelen, uint32_t parent,
                void (*astaddr)(void *astarg), void *astarg, void (*bastaddr)(void *astarg),
                void *range)
{
    (void)parent;
    if (!lockspace) {
        errno = ENOTCONN;
        return -1;
    }
    return lock_common(lockspace, mode, lksb, flags, name, namelen, astaddr, astarg, bastaddr,
                       astarg, NULL, NULL, false, range);
}

int dlm_ls_lockx(dlm_lshandle_t lockspace, uint32_t mode, struct dlm_lksb *lksb, uint32_t flags,
                 const void *name, unsigned int namelen, uint32_t parent,
                 void (*astaddr)(void *astarg), void *astarg, void (*bastaddr)(void *astarg),
                 uint64_t *xid, uint64_t *timeout)
{
    (void)parent;
    if (!lockspace) {
        errno = ENOTCONN;
        return -1;
    }
    return lock_common(lockspace, mode, lksb, flags, name, namelen, astaddr, astarg, bastaddr,
                       astarg, xid, timeout, false, NULL);
}

int dlm_ls_lock_wait(dlm_lshandle_t lockspace, uint32_t mode, struct dlm_lksb *lksb, uint32_t flags,
                     const void *name, unsigned int namelen, uint32_t parent, void *bastarg,
                     void (*bastaddr)(void *bastarg), void *range)
{
    (void)parent;
    if (!lockspace) {
        errno = ENOTCONN;
        return -1;
    }
    return lock_common(lockspace, mode, lksb, flags, name, namelen, NULL, NULL, bastaddr, bastarg,
                       NULL, NULL, true, range);
}

int dlm_lock(uint32_t mode, struct dlm_lksb *lksb, uint32_t flags, const void *name,
             unsigned int namelen, uint32_t parent, void (*astaddr)(void *astarg), void *astarg,
             void (*bastaddr)(void *astarg), void *range)
{
    (void)parent;
    return lock_common(fe_default_ls(), mode, lksb, flags, name, namelen, astaddr, astarg, bastaddr,
                       astarg, NULL, NULL, false, range);
}

int dlm_lock_wait(uint32_t mode, struct dlm_lksb *lksb, uint32_t flags, const void *name,
                  unsigned int namelen, uint32_t parent, void *bastarg,
                  void (*bastaddr)(void *bastarg), void *range)
{
    (void)parent;
    return lock_common(fe_default_ls(), mode, lksb, flags, name, namelen, NULL, NULL, bastaddr,
                       bastarg, NULL, NULL, true, range);
}
