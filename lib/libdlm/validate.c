/*
 * lib/libdlm/validate.c - the argument rules the Linux kernel applies (set_lock_args,
 * validate_lock_args, set_unlock_args, validate_unlock_args; spec B.7), checked before
 * anything leaves the process. Each returns 0 or the errno of the first rule broken.
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>

/* quecvt[grmode][rqmode]: the conversions LKF_QUECVT may ask for (spec B.4). */
static const bool quecvt[6][6] = {
    /*          NL CR CW PR PW EX */
    /* NL */ {0, 1, 1, 1, 1, 1},
    /* CR */ {0, 0, 1, 1, 1, 1},
    /* CW */ {0, 0, 0, 1, 1, 1},
    /* PR */ {0, 0, 1, 0, 1, 1},
    /* PW */ {0, 0, 0, 0, 0, 1},
    /* EX */ {0, 0, 0, 0, 0, 0},
};

int fe_check_request(uint32_t mode, const struct dlm_lksb *lksb, uint32_t flags, const void *name,
                     unsigned int namelen, bool have_ast, bool sync)
{
    bool conv = flags & LKF_CONVERT;

    if (!lksb || mode > LKM_EXMODE || (flags & LKF_CANCEL))
        return EINVAL;
    if ((flags & (LKF_QUECVT | LKF_CONVDEADLK)) && !conv)
        return EINVAL;
    if ((flags & LKF_CONVDEADLK) && (flags & LKF_NOQUEUE))
        return EINVAL;
    if ((flags & LKF_EXPEDITE) &&
        ((flags & (LKF_CONVERT | LKF_QUECVT | LKF_NOQUEUE)) || mode != LKM_NLMODE))
        return EINVAL;
    if (!have_ast && !sync)
        return EINVAL;
    if ((flags & LKF_VALBLK) && !lksb->sb_lvbptr)
        return EINVAL;
    if (conv)
        return lksb->sb_lkid ? 0 : EINVAL;
    return name && namelen > 0 && namelen <= DLM_RESNAME_MAXLEN ? 0 : EINVAL;
}

int fe_check_quecvt(int grmode, uint32_t mode)
{
    return grmode >= LKM_NLMODE && grmode <= LKM_EXMODE && mode <= LKM_EXMODE &&
                   quecvt[grmode][mode]
               ? 0
               : EINVAL;
}

int fe_check_unlock(uint32_t lkid, uint32_t flags)
{
    const uint32_t allowed = LKF_CANCEL | LKF_VALBLK | LKF_IVVALBLK | LKF_FORCEUNLOCK | LKF_WAIT;

    if (!lkid || (flags & ~allowed))
        return EINVAL;
    if ((flags & LKF_CANCEL) && (flags & LKF_FORCEUNLOCK))
        return EINVAL;
    return 0;
}
