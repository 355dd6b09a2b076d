/*
 * lib/tcdlm/lock.c - the new-lock entry points: dlm_lock and dlm_locktp (synchronous),
 * dlm_quelock and dlm_quelocktp (asynchronous, with a completion routine). The tp forms add
 * a transaction id (DLM_TXID_LOCAL / DLM_TXID_GLOBAL) and a recovery-domain handle
 * (DLM_PERSIST), and are the only ones that take DLM_PERSIST, DLM_GROUP_LOCK and the TXID
 * flags. The work is request.c's.
 */
#include "lib/tcdlm/tcdlm_int.h"

#define NEW_REQ(tp)                                                                                \
    {                                                                                              \
        .nsp = nsp, .resnam = resnam, .resnlen = resnlen, .parid = parid, .lkid_p = lkid_p,        \
        .mode = mode, .valb_p = valb_p, .flags = flags,                                            \
        .allowed = (tp) ? TC_LOCKTP_FLAGS : TC_LOCK_FLAGS, .timeout = timeout                      \
    }

static dlm_status_t run(struct tc_req *q)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = tc_request(q);
    tc_leave(&g);
    return st;
}

dlm_status_t dlm_lock(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                      dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode, dlm_valb_t *valb_p,
                      dlm_flags_t flags, callback_arg_t notprm, callback_arg_t hint,
                      blk_callback_t blkrtn, unsigned int timeout)
{
    struct tc_req q = NEW_REQ(false);

    q.r = (struct tc_routines){notprm, hint, blkrtn, NULL};
    q.sync = true;
    return run(&q);
}

dlm_status_t dlm_locktp(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                        dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode,
                        dlm_valb_t *valb_p, dlm_flags_t flags, callback_arg_t notprm,
                        callback_arg_t hint, blk_callback_t blkrtn, unsigned int timeout,
                        dlm_trans_id_t trans_id, dlm_rd_id_t rd_id)
{
    struct tc_req q = NEW_REQ(true);

    q.r = (struct tc_routines){notprm, hint, blkrtn, NULL};
    q.trans_id = trans_id;
    q.rd_id = rd_id;
    q.sync = true;
    return run(&q);
}

dlm_status_t dlm_quelock(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                         dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode,
                         dlm_valb_t *valb_p, dlm_flags_t flags, callback_arg_t notprm,
                         callback_arg_t hint, blk_callback_t blkrtn, unsigned int timeout,
                         cpl_callback_t cplrtn)
{
    struct tc_req q = NEW_REQ(false);

    q.r = (struct tc_routines){notprm, hint, blkrtn, cplrtn};
    return run(&q);
}

dlm_status_t dlm_quelocktp(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                           dlm_lkid_t *parid, dlm_lkid_t *lkid_p, dlm_lkmode_t mode,
                           dlm_valb_t *valb_p, dlm_flags_t flags, callback_arg_t notprm,
                           callback_arg_t hint, blk_callback_t blkrtn, unsigned int timeout,
                           cpl_callback_t cplrtn, dlm_trans_id_t trans_id, dlm_rd_id_t rd_id)
{
    struct tc_req q = NEW_REQ(true);

    q.r = (struct tc_routines){notprm, hint, blkrtn, cplrtn};
    q.trans_id = trans_id;
    q.rd_id = rd_id;
    return run(&q);
}
