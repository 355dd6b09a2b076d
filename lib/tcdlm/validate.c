/*
 * lib/tcdlm/validate.c - argument checks shared by the calls (a refused call changes nothing),
 * and the translation of TruCluster request flags and transaction ids to native ones.
 */
#include "lib/tcdlm/tcdlm_int.h"

bool tc_mode_ok(dlm_lkmode_t mode)
{
    return mode >= DLM_NLMODE && mode <= DLM_EXMODE;
}

dlm_status_t tc_check_name(const unsigned char *resnam, unsigned short resnlen)
{
    if (resnlen == 0 || resnlen > DLM_RESNAMELEN)
        return DLM_IVBUFLEN;
    return resnam ? DLM_SUCCESS : DLM_BADPARAM;
}

dlm_status_t tc_check_flags(dlm_flags_t flags, dlm_flags_t allowed, const dlm_valb_t *valb_p)
{
    if (flags & ~allowed)
        return DLM_BADPARAM;
    if ((flags & DLM_VALB) && !valb_p)
        return DLM_BADPARAM;
    if ((flags & DLM_VALB) && (flags & DLM_INVVALBLK))
        return DLM_BADPARAM;
    if ((flags & DLM_TXID_LOCAL) && (flags & DLM_TXID_GLOBAL))
        return DLM_BADPARAM;
    return DLM_SUCCESS;
}

uint32_t tc_native_flags(dlm_flags_t flags)
{
    static const struct {
        dlm_flags_t tc;
        uint32_t native;
    } map[] = {
        {DLM_NOQUEUE, RDLM_LKF_NOQUEUE},     {DLM_NODLCKWT, RDLM_LKF_NODLCKWT},
        {DLM_NODLCKBLK, RDLM_LKF_NODLCKBLK}, {DLM_EXPEDITE, RDLM_LKF_EXPEDITE},
        {DLM_QUECVT, RDLM_LKF_QUECVT},       {DLM_VALB, RDLM_LKF_VALBLK},
        {DLM_INVVALBLK, RDLM_LKF_IVVALBLK},  {DLM_PERSIST, RDLM_LKF_PERSIST_RES},
    };
    uint32_t n = 0;

    for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (flags & map[i].tc)
            n |= map[i].native;
    return n;
}

/* The deadlock-detection owner: a global id as given (top bit clear), a local one qualified
 * by the node (top bit set, node in bits 48..62). 0: the process. */
dlm_status_t tc_trans_xid(dlm_flags_t flags, dlm_trans_id_t trans_id, uint32_t node, uint64_t *xid)
{
    *xid = 0;
    if (!(flags & (DLM_TXID_LOCAL | DLM_TXID_GLOBAL)))
        return DLM_SUCCESS;
    if (trans_id == 0)
        return DLM_BADPARAM;
    if (flags & DLM_TXID_GLOBAL)
        *xid = trans_id & ~(1ull << 63);
    else
        *xid = (1ull << 63) | ((uint64_t)(node & 0x7fff) << 48) | (trans_id & 0xffffffffffffull);
    if (*xid == 0)
        return DLM_BADPARAM;
    return DLM_SUCCESS;
}
