/*
 * lib/tcdlm/namespace.c - namespaces: dlm_nsjoin, dlm_nsleave, dlm_detach.
 *
 * A namespace is a native lockspace (tc.sys, tc.u<uid>, tc.g<gid>); joining opens a handle on
 * it. The permission check is the library's, made with the process's own credentials
 * (docs/tcdlm.md "Namespaces": the daemons do not authenticate clients). nsp is the slot
 * number, 1..DLM_NSPROCMAX.
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum ns_kind { NS_SYSTEM, NS_USER, NS_GROUP };

struct tc_ns {
    bool used; /* joined (or being joined: nls still NULL) */
    enum ns_kind kind;
    dlm_nsid_t nsid;
    rdlm_ls *nls;
};

static struct tc_ns spaces[DLM_NSPROCMAX];

static struct tc_ns *slot(int nsp)
{
    if (nsp < 1 || nsp > DLM_NSPROCMAX || !spaces[nsp - 1].used || !spaces[nsp - 1].nls)
        return NULL;
    return &spaces[nsp - 1];
}

rdlm_ls *tc_ns_handle(int nsp)
{
    struct tc_ns *s = slot(nsp);

    return s ? s->nls : NULL;
}

rdlm_ls *tc_any_handle(void)
{
    for (int i = 1; i <= DLM_NSPROCMAX; i++)
        if (slot(i))
            return slot(i)->nls;
    return NULL;
}

int tc_ns_by_lsid(uint64_t ls_id)
{
    for (int i = 1; i <= DLM_NSPROCMAX; i++)
        if (slot(i) && rdlm_ls_id(slot(i)->nls) == ls_id)
            return i;
    return -1;
}

void tc_ns_forget_all(void)
{
    memset(spaces, 0, sizeof(spaces));
}

int tc_open_native(const char *name, rdlm_ls **out)
{
    sigset_t all, old;
    int st;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    st = rdlm_ls_open(name, 0, out);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

static bool in_group(gid_t gid)
{
    gid_t groups[256];
    int n;

    if (getegid() == gid)
        return true;
    n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return true;
    return false;
}

static dlm_status_t check_join(dlm_nsid_t nsid, const dlm_nsp_t *nsp, dlm_flags_t flags,
                               enum ns_kind *kind)
{
    if (!nsp || (flags & ~(DLM_USER | DLM_GROUP | DLM_JOIN_SAME_OK)))
        return DLM_BADPARAM;
    if ((flags & DLM_USER) && (flags & DLM_GROUP))
        return DLM_BADPARAM;
    *kind = (flags & DLM_USER) ? NS_USER : (flags & DLM_GROUP) ? NS_GROUP : NS_SYSTEM;
    if (*kind == NS_SYSTEM && nsid != 0)
        return DLM_BADPARAM;
    if (geteuid() == 0)
        return DLM_SUCCESS;
    if (*kind == NS_SYSTEM || (*kind == NS_USER && geteuid() != nsid) ||
        (*kind == NS_GROUP && !in_group(nsid)))
        return DLM_NOACCESS;
    return DLM_SUCCESS;
}

/* Under tc_mu: the slot of a namespace already joined (or being joined), or -1. */
static int find_joined(enum ns_kind kind, dlm_nsid_t nsid)
{
    for (int i = 0; i < DLM_NSPROCMAX; i++)
        if (spaces[i].used && spaces[i].kind == kind && spaces[i].nsid == nsid)
            return i;
    return -1;
}

static dlm_status_t open_status(int st)
{
    if (st == RDLM_E_NOTCONN || st == RDLM_E_NOSYS)
        return DLM_ENOSYS;
    return tc_status(st);
}

static dlm_status_t do_join(dlm_nsid_t nsid, dlm_nsp_t *nsp, dlm_flags_t flags)
{
    static const char *const prefix[] = {"tc.sys", "tc.u", "tc.g"};
    enum ns_kind kind;
    dlm_status_t st = check_join(nsid, nsp, flags, &kind);
    char name[32];
    rdlm_ls *nls;
    int i, nst;

    if (st)
        return st;
    pthread_mutex_lock(&tc_mu);
    i = find_joined(kind, nsid);
    if (i >= 0) {
        st = (flags & DLM_JOIN_SAME_OK) && spaces[i].nls ? DLM_SUCCESS : DLM_ATTACHED;
        if (st == DLM_SUCCESS)
            *nsp = i + 1;
        pthread_mutex_unlock(&tc_mu);
        return st;
    }
    for (i = 0; i < DLM_NSPROCMAX && spaces[i].used; i++)
        ;
    if (i == DLM_NSPROCMAX) {
        pthread_mutex_unlock(&tc_mu);
        return DLM_TOOMANYNS;
    }
    spaces[i] = (struct tc_ns){true, kind, nsid, NULL};
    pthread_mutex_unlock(&tc_mu);
    if (kind == NS_SYSTEM)
        snprintf(name, sizeof(name), "%s", prefix[kind]);
    else
        snprintf(name, sizeof(name), "%s%u", prefix[kind], nsid);
    nst = tc_open_native(name, &nls);
    pthread_mutex_lock(&tc_mu);
    if (nst == RDLM_OK)
        spaces[i].nls = nls;
    else
        spaces[i].used = false;
    pthread_mutex_unlock(&tc_mu);
    if (nst != RDLM_OK)
        return open_status(nst);
    *nsp = i + 1;
    return DLM_SUCCESS;
}

dlm_status_t dlm_nsjoin(dlm_nsid_t nsid, dlm_nsp_t *nsp, dlm_flags_t flags)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_init();
    tc_enter(&g);
    st = do_join(nsid, nsp, flags);
    tc_leave(&g);
    return st;
}

static dlm_status_t do_leave(const dlm_nsp_t *nsp, dlm_flags_t flags)
{
    rdlm_ls *nls;
    dlm_status_t st = DLM_SUCCESS;

    if (!nsp || flags)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    nls = tc_ns_handle(*nsp);
    if (!nls)
        st = DLM_NOTATTACHED;
    else if (tc_glc_binds(*nsp))
        st = DLM_ATTACHEDGROUP;
    else if (tc_ns_has_locks(*nsp))
        st = DLM_HASLOCKS;
    else
        spaces[*nsp - 1].used = false;
    pthread_mutex_unlock(&tc_mu);
    if (st == DLM_SUCCESS)
        rdlm_ls_close(nls);
    return st;
}

dlm_status_t dlm_nsleave(dlm_nsp_t *nsp, dlm_flags_t flags)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_leave(nsp, flags);
    tc_leave(&g);
    return st;
}

/* Under tc_mu: own (not group) locks in any namespace. */
static bool has_own_locks(void)
{
    for (struct tc_lock *l = tc_lock_first(); l; l = l->next)
        if (!l->group)
            return true;
    return false;
}

static dlm_status_t do_detach(void)
{
    rdlm_ls *close_them[DLM_NSPROCMAX];
    int n = 0;

    pthread_mutex_lock(&tc_mu);
    if (!tc_any_handle()) {
        pthread_mutex_unlock(&tc_mu);
        return DLM_NOTATTACHED;
    }
    if (has_own_locks()) {
        pthread_mutex_unlock(&tc_mu);
        return DLM_HASLOCKS;
    }
    while (tc_lock_first()) /* group locks stay with the container */
        tc_lock_end(tc_lock_first());
    tc_glc_forget();
    for (int i = 0; i < DLM_NSPROCMAX; i++)
        if (spaces[i].used && spaces[i].nls) {
            close_them[n++] = spaces[i].nls;
            spaces[i].used = false;
        }
    pthread_mutex_unlock(&tc_mu);
    tc_rd_forget_all(close_them[0]);
    for (int i = 0; i < n; i++)
        rdlm_ls_close(close_them[i]);
    tc_signal_reset();
    return DLM_SUCCESS;
}

dlm_status_t dlm_detach(void)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_detach();
    tc_leave(&g);
    return st;
}
