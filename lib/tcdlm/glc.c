/*
 * lib/tcdlm/glc.c - group lock containers over the native rdlm_glc_* (docs/tcdlm.md "Group
 * lock containers"): dlm_glc_create, dlm_glc_attach, dlm_glc_detach, dlm_glc_destroy.
 *
 * The attachment belongs to the native handle it was made through (the first namespace of the
 * list given to create; for attach, the first namespace joined), and group locks that another
 * member requested are reached through it. The namespaces the container is associated with
 * (dlm_nsleave refuses them with DLM_ATTACHEDGROUP): those given to create; after attach, every
 * namespace joined then (the library cannot tell which the container is bound to).
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <string.h>

static dlm_glc_id_t current; /* under tc_mu: 0 if not attached */
static rdlm_ls *through;
static bool bound[DLM_NSPROCMAX + 1];

rdlm_ls *tc_glc_handle(void)
{
    return current ? through : NULL;
}

bool tc_glc_binds(int nsp)
{
    return current && nsp >= 1 && nsp <= DLM_NSPROCMAX && bound[nsp];
}

void tc_glc_forget(void)
{
    current = 0;
    through = NULL;
    memset(bound, 0, sizeof(bound));
}

struct tc_lock *tc_glc_adopt(uint64_t lkid)
{
    struct tc_lock *l;
    int nsp = -1;

    if (!current || !lkid)
        return NULL;
    for (int i = 1; i <= DLM_NSPROCMAX && nsp < 0; i++)
        if (bound[i] && tc_ns_handle(i) == through)
            nsp = i;
    l = tc_lock_new();
    if (!l)
        return NULL;
    l->lkid = lkid;
    l->nsb.lkid = lkid;
    l->nls = through;
    l->nsp = nsp;
    l->group = true;
    l->adopted = true;
    l->unrouted = true;
    l->grmode = l->rqmode = RDLM_MODE_NL; /* granted in some mode: the native side knows */
    return l;
}

int tc_glc_route(struct tc_lock *l, tc_native_op op, void *arg)
{
    rdlm_ls *cand[DLM_NSPROCMAX];
    int n = 0, nst = RDLM_E_NOLOCK;

    pthread_mutex_lock(&tc_mu);
    if (!l->unrouted) {
        pthread_mutex_unlock(&tc_mu);
        return op(l, l->nls, arg);
    }
    if (through)
        cand[n++] = through;
    for (int i = 1; i <= DLM_NSPROCMAX; i++)
        if (bound[i] && tc_ns_handle(i) && tc_ns_handle(i) != through)
            cand[n++] = tc_ns_handle(i);
    pthread_mutex_unlock(&tc_mu);
    for (int i = 0; i < n && nst == RDLM_E_NOLOCK; i++) {
        nst = op(l, cand[i], arg);
        if (nst != RDLM_E_NOLOCK) {
            pthread_mutex_lock(&tc_mu);
            l->nls = cand[i];
            l->unrouted = false;
            for (int j = 1; j <= DLM_NSPROCMAX; j++)
                if (tc_ns_handle(j) == cand[i])
                    l->nsp = j;
            pthread_mutex_unlock(&tc_mu);
        }
    }
    return nst;
}

/* Under tc_mu: the native handles of nsps[0..n-1], each joined (else DLM_NOTATTACHED). */
static dlm_status_t handles(const dlm_nsp_t *nsps, int n, rdlm_ls **lss)
{
    for (int i = 0; i < n; i++) {
        lss[i] = tc_ns_handle(nsps[i]);
        if (!lss[i])
            return DLM_NOTATTACHED;
    }
    return DLM_SUCCESS;
}

static dlm_status_t glc_status(int nst)
{
    return nst == RDLM_E_TOOMANY ? DLM_INSFMEM : tc_status(nst);
}

static dlm_status_t do_create(dlm_glc_id_t *idp, dlm_glc_flags_t flags, const dlm_nsp_t *nsps,
                              int n)
{
    rdlm_ls *lss[DLM_NSPROCMAX];
    uint64_t id;
    dlm_status_t st;
    int nst;

    if (!idp || !nsps || n < 1 || n > DLM_NSPROCMAX || (flags & ~(DLM_GLC_OWNED | DLM_GLC_PERM)) ||
        (flags & (DLM_GLC_OWNED | DLM_GLC_PERM)) == (DLM_GLC_OWNED | DLM_GLC_PERM))
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    st = current ? DLM_ATTACHED : handles(nsps, n, lss);
    pthread_mutex_unlock(&tc_mu);
    if (st)
        return st;
    nst = rdlm_glc_create(lss, (unsigned)n, flags, &id);
    if (nst != RDLM_OK)
        return glc_status(nst);
    pthread_mutex_lock(&tc_mu);
    current = id;
    through = lss[0];
    for (int i = 0; i < n; i++)
        bound[nsps[i]] = true;
    pthread_mutex_unlock(&tc_mu);
    *idp = id;
    return DLM_SUCCESS;
}

dlm_status_t dlm_glc_create(dlm_glc_id_t *idp, dlm_glc_flags_t flags, dlm_nsp_t *ns_listp,
                            int ns_num)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_create(idp, flags, ns_listp, ns_num);
    tc_leave(&g);
    return st;
}

static dlm_status_t do_attach(dlm_glc_id_t id, dlm_glc_flags_t flags)
{
    rdlm_ls *lss[DLM_NSPROCMAX];
    int nsps[DLM_NSPROCMAX];
    unsigned n = 0;
    dlm_status_t st = DLM_SUCCESS;
    int nst;

    if (flags)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    for (int i = 1; i <= DLM_NSPROCMAX; i++)
        if (tc_ns_handle(i)) {
            nsps[n] = i;
            lss[n++] = tc_ns_handle(i);
        }
    if (current)
        st = DLM_ATTACHED;
    else if (n == 0)
        st = DLM_NOTATTACHED;
    pthread_mutex_unlock(&tc_mu);
    if (st)
        return st;
    if (id == 0)
        return DLM_ENOENT;
    nst = rdlm_glc_attach(lss, n, id);
    if (nst != RDLM_OK)
        return glc_status(nst);
    pthread_mutex_lock(&tc_mu);
    current = id;
    through = lss[0];
    for (unsigned i = 0; i < n; i++)
        bound[nsps[i]] = true;
    pthread_mutex_unlock(&tc_mu);
    return DLM_SUCCESS;
}

dlm_status_t dlm_glc_attach(dlm_glc_id_t id, dlm_glc_flags_t flags)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_attach(id, flags);
    tc_leave(&g);
    return st;
}

/* Under tc_mu: the container's granted locks are no longer ours to manipulate; its pending
 * requests of this process are cancelled natively and end through their completions. */
static void drop_group_locks(void)
{
    struct tc_lock *l = tc_lock_first();

    while (l) {
        struct tc_lock *next = l->next;
        if (l->group && l->op == TC_IDLE)
            tc_lock_end(l);
        l = next;
    }
}

static dlm_status_t do_detach(void)
{
    rdlm_ls *ls;
    bool rd_group;
    int nst;

    pthread_mutex_lock(&tc_mu);
    ls = tc_glc_handle();
    rd_group = tc_rd_group_attached();
    pthread_mutex_unlock(&tc_mu);
    if (!ls)
        return DLM_NOTATTACHED;
    if (rd_group) /* dlm_rd_detach first */
        return DLM_ATTACHED;
    nst = rdlm_glc_detach(ls);
    if (nst != RDLM_OK)
        return glc_status(nst);
    pthread_mutex_lock(&tc_mu);
    tc_glc_forget();
    drop_group_locks();
    pthread_mutex_unlock(&tc_mu);
    return DLM_SUCCESS;
}

dlm_status_t dlm_glc_detach(void)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_detach();
    tc_leave(&g);
    return st;
}

/* The native destroy is allowed through a handle on one of the container's lockspaces (or to
 * root, or to its creator): try each joined namespace until one is not refused for access. */
static dlm_status_t do_destroy(dlm_glc_id_t id, dlm_glc_flags_t flags)
{
    rdlm_ls *lss[DLM_NSPROCMAX];
    int n = 0, nst = RDLM_E_ACCESS;

    if (flags & ~(DLM_GLC_LOCKS | DLM_GLC_FORCE))
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    for (int i = 1; i <= DLM_NSPROCMAX; i++)
        if (tc_ns_handle(i))
            lss[n++] = tc_ns_handle(i);
    pthread_mutex_unlock(&tc_mu);
    if (n == 0)
        return DLM_NOTATTACHED;
    if (id == 0)
        return DLM_ENOENT;
    for (int i = 0; i < n && nst == RDLM_E_ACCESS; i++)
        nst = rdlm_glc_destroy(lss[i], id, flags);
    if (nst != RDLM_OK)
        return glc_status(nst);
    pthread_mutex_lock(&tc_mu);
    if (current == id) {
        tc_glc_forget();
        drop_group_locks();
    }
    pthread_mutex_unlock(&tc_mu);
    return DLM_SUCCESS;
}

dlm_status_t dlm_glc_destroy(dlm_glc_id_t id, dlm_glc_flags_t flags)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_destroy(id, flags);
    tc_leave(&g);
    return st;
}
