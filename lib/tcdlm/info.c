/*
 * lib/tcdlm/info.c - dlm_get_lkinfo (one of the process's locks, from its record: the
 * library knows every field the caller gave and the lock's state as the routines delivered so
 * far reported it) and dlm_get_rsbinfo (a resource, asked of its master through the native
 * query).
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <string.h>
#include <unistd.h>

static usr_lk_states_t state_of(const struct tc_lock *l)
{
    if (l->op == TC_REQUEST)
        return l->grmode == RDLM_MODE_IV ? DLM_WAITING : DLM_CONVERTING;
    if (l->op == TC_UNLOCK)
        return DLM_INTRANSIT;
    return DLM_GRANTED;
}

static void fill_lkinfo(const struct tc_lock *l, dlm_lkinfo_t *info)
{
    memset(info, 0, sizeof(*info));
    memcpy(info->resnam, l->resnam, l->resnlen);
    info->resnlen = l->resnlen;
    tc_lkid_set(&info->parlkid, l->parent);
    info->rqmode = (dlm_lkmode_t)(l->op == TC_REQUEST ? l->rqmode + 1 : l->grmode + 1);
    info->valb = l->valb_given;
    info->flags = l->flags;
    info->notprm = l->cur.notprm;
    info->hint = l->cur.hint;
    info->blkrtn = l->cur.blkrtn;
    info->timeout = l->timeout;
    info->cplrtn = l->cur.cplrtn;
    info->sig = tc_current_signal();
    info->grmode = (dlm_lkmode_t)(l->grmode + 1);
    info->lkstate = state_of(l);
    info->lk_pid = getpid();
}

static dlm_status_t do_lkinfo(const dlm_lkid_t *lkid_p, dlm_lkinfo_t *info)
{
    struct tc_lock *l;
    dlm_status_t st = DLM_SUCCESS;

    if (!lkid_p || !info)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    l = tc_lock_by_lkid(tc_lkid_native(lkid_p));
    if (!tc_any_handle())
        st = DLM_NOTATTACHED;
    else if (l)
        fill_lkinfo(l, info);
    else
        st = DLM_IVLOCKID;
    pthread_mutex_unlock(&tc_mu);
    return st;
}

dlm_status_t dlm_get_lkinfo(dlm_lkid_t *lkid_p, dlm_lkinfo_t *lkinfo)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_lkinfo(lkid_p, lkinfo);
    tc_leave(&g);
    return st;
}

static dlm_lkmode_t tc_mode(int native)
{
    return native < RDLM_MODE_NL || native > RDLM_MODE_EX ? DLM_NOMODE : (dlm_lkmode_t)(native + 1);
}

static void fill_rsbinfo(const struct rdlm_res_info *ri, dlm_rsbinfo_t *info)
{
    memset(info, 0, sizeof(*info));
    info->vbstatus = (short)ri->lvb_status;
    info->vbseqnum = (unsigned int)ri->lvbseq;
    info->subrescnt = ri->subres_count;
    info->lckcnt = ri->lock_count;
    info->blkastcnt = ri->bast_count;
    info->ggcnt = ri->granted_count;
    info->ggmode = tc_mode(ri->granted_mode);
    info->cvtqmode = tc_mode(ri->convert_mode);
    info->wtqmode = tc_mode(ri->wait_mode);
    memcpy(&info->valb, ri->lvb, sizeof(info->valb));
}

static dlm_status_t do_rsbinfo(dlm_nsp_t nsp, const unsigned char *resnam, unsigned short resnlen,
                               dlm_rsbinfo_t *info, const dlm_lkid_t *par_lkid)
{
    struct rdlm_res_info ri;
    dlm_status_t st;
    uint64_t parent = par_lkid ? tc_lkid_native(par_lkid) : 0;
    rdlm_ls *nls;
    int nst;

    if (!info)
        return DLM_BADPARAM;
    st = tc_check_name(resnam, resnlen);
    if (st)
        return st;
    pthread_mutex_lock(&tc_mu);
    nls = tc_ns_handle(nsp);
    if (nls && parent) {
        struct tc_lock *p = tc_lock_by_lkid(parent);
        nls = p ? p->nls : NULL;
        st = p ? DLM_SUCCESS : DLM_IVLOCKID;
    }
    pthread_mutex_unlock(&tc_mu);
    if (st || !nls)
        return st ? st : DLM_NOTATTACHED;
    nst = rdlm_query_resource(nls, resnam, resnlen, parent, &ri);
    if (nst == RDLM_E_NOLOCK)
        return DLM_ENOENT;
    if (nst == RDLM_OK)
        fill_rsbinfo(&ri, info);
    return tc_status(nst);
}

dlm_status_t dlm_get_rsbinfo(dlm_nsp_t nsp, unsigned char *resnam, unsigned short resnlen,
                             dlm_rsbinfo_t *rsbinfo, dlm_lkid_t *par_lkid)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_rsbinfo(nsp, resnam, resnlen, rsbinfo, par_lkid);
    tc_leave(&g);
    return st;
}
