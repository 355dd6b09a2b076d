/*
 * lib/tcdlm/convert.c - conversions: dlm_cvt (synchronous) and dlm_quecvt (asynchronous).
 * notprm, hint and blkrtn (and cplrtn) given to a conversion replace the lock's; a conversion
 * that is not granted gives the old ones back. DLM_CVTUNGRANT for a lock not granted,
 * DLM_LKBUSY while an operation is in flight on it. The work is request.c's.
 */
#include "lib/tcdlm/tcdlm_int.h"

static dlm_status_t run(struct tc_req *q)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = tc_request(q);
    tc_leave(&g);
    return st;
}

dlm_status_t dlm_cvt(dlm_lkid_t *lkid_p, dlm_lkmode_t rqmode, dlm_valb_t *valb_p, dlm_flags_t flags,
                     callback_arg_t notprm, callback_arg_t hint, blk_callback_t blkrtn,
                     unsigned int timeout)
{
    struct tc_req q = {.lkid_p = lkid_p,
                       .mode = rqmode,
                       .valb_p = valb_p,
                       .flags = flags,
                       .allowed = TC_CVT_FLAGS,
                       .r = {notprm, hint, blkrtn, NULL},
                       .timeout = timeout,
                       .sync = true,
                       .convert = true};

    return run(&q);
}

dlm_status_t dlm_quecvt(dlm_lkid_t *lkid_p, dlm_lkmode_t rqmode, dlm_valb_t *valb_p,
                        dlm_flags_t flags, callback_arg_t notprm, callback_arg_t hint,
                        blk_callback_t blkrtn, unsigned int timeout, cpl_callback_t cplrtn)
{
    struct tc_req q = {.lkid_p = lkid_p,
                       .mode = rqmode,
                       .valb_p = valb_p,
                       .flags = flags,
                       .allowed = TC_CVT_FLAGS,
                       .r = {notprm, hint, blkrtn, cplrtn},
                       .timeout = timeout,
                       .sync = false,
                       .convert = true};

    return run(&q);
}
