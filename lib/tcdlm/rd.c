/*
 * lib/tcdlm/rd.c - recovery domains over the native rdlm_rd_* (docs/tcdlm.md "Recovery
 * domains"): dlm_rd_attach, dlm_rd_detach, dlm_rd_collect, dlm_rd_validate and the rdlm
 * extension dlm_rd_traverse.
 *
 * A handle (dlm_rd_id_t) is per process: 1..DLM_RDPROCMAX, naming the native cluster-wide
 * domain id. A collection handle is the address of a record of this file, checked against the
 * list of outstanding ones (DLM_IVHNDL otherwise). The native calls need a handle only for its
 * connections: any joined namespace's.
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <stdlib.h>
#include <string.h>

struct rd_slot {
    bool used;
    bool group; /* attached for the caller's group container */
    uint32_t native;
};

struct coll {
    struct coll *next;
    dlm_rd_id_t rd;
    struct rdlm_rd_collection *c;
};

static struct rd_slot slots[DLM_RDPROCMAX]; /* under tc_mu */
static struct coll *colls;                  /* under tc_mu */

bool tc_rd_group_attached(void)
{
    for (int i = 0; i < DLM_RDPROCMAX; i++)
        if (slots[i].used && slots[i].group)
            return true;
    return false;
}

bool tc_rd_lookup(dlm_rd_id_t handle, uint32_t *native)
{
    if (handle < 1 || handle > DLM_RDPROCMAX || !slots[handle - 1].used)
        return false;
    *native = slots[handle - 1].native;
    return true;
}

/* Under tc_mu: the record of a collection handle, or NULL. */
static struct coll *coll_find(dlm_rd_collection_hndl_t h)
{
    for (struct coll *c = colls; c; c = c->next)
        if ((dlm_rd_collection_hndl_t)(uintptr_t)c == h)
            return c;
    return NULL;
}

static void coll_remove(struct coll *x)
{
    struct coll **pp = &colls;

    while (*pp && *pp != x)
        pp = &(*pp)->next;
    if (*pp)
        *pp = x->next;
}

void tc_rd_forget_child(void)
{
    memset(slots, 0, sizeof(slots));
    colls = NULL;
}

void tc_rd_forget_all(rdlm_ls *ls)
{
    pthread_mutex_lock(&tc_mu);
    while (colls) {
        struct coll *c = colls;
        colls = c->next;
        rdlm_rd_collection_free(c->c);
        free(c);
    }
    for (int i = 0; i < DLM_RDPROCMAX; i++) {
        uint32_t native = slots[i].native;
        if (!slots[i].used)
            continue;
        slots[i].used = false;
        pthread_mutex_unlock(&tc_mu);
        if (ls)
            rdlm_rd_detach(ls, native, 0);
        pthread_mutex_lock(&tc_mu);
    }
    pthread_mutex_unlock(&tc_mu);
}

/* Under tc_mu: look up a domain handle and a native handle to talk through. */
static dlm_status_t domain(dlm_rd_id_t rd, uint32_t *native, rdlm_ls **ls)
{
    if (!tc_rd_lookup(rd, native))
        return DLM_IVRDID;
    *ls = tc_any_handle();
    return *ls ? DLM_SUCCESS : DLM_NOTATTACHED;
}

static dlm_status_t rd_status(int nst)
{
    if (nst == RDLM_E_TOOMANY)
        return DLM_TOOMANYRD;
    if (nst == RDLM_E_NAMELEN)
        return DLM_ENAMETOOLONG;
    return tc_status(nst);
}

static dlm_status_t do_attach(const char *name, dlm_rd_id_t *rd_id_p, dlm_rd_flags_t flags)
{
    rdlm_ls *ls;
    uint32_t native;
    int i, nst;

    if (!name || !*name || !rd_id_p || (flags != DLM_RD_PROCESS && flags != DLM_RD_GROUP))
        return DLM_BADPARAM;
    if (strlen(name) > DLM_RDNAMELEN)
        return DLM_ENAMETOOLONG;
    pthread_mutex_lock(&tc_mu);
    ls = tc_any_handle();
    for (i = 0; i < DLM_RDPROCMAX && slots[i].used; i++)
        ;
    pthread_mutex_unlock(&tc_mu);
    if (!ls)
        return DLM_NOTATTACHED;
    if (i == DLM_RDPROCMAX)
        return DLM_TOOMANYRD;
    nst =
        rdlm_rd_attach(ls, name, flags == DLM_RD_GROUP ? RDLM_RD_GROUP : RDLM_RD_PROCESS, &native);
    if (nst != RDLM_OK)
        return rd_status(nst);
    pthread_mutex_lock(&tc_mu);
    for (i = 0; i < DLM_RDPROCMAX && slots[i].used; i++)
        ;
    if (i < DLM_RDPROCMAX)
        slots[i] = (struct rd_slot){true, flags == DLM_RD_GROUP, native};
    pthread_mutex_unlock(&tc_mu);
    if (i == DLM_RDPROCMAX) { /* another thread took the last slot meanwhile */
        rdlm_rd_detach(ls, native, 0);
        return DLM_TOOMANYRD;
    }
    *rd_id_p = (dlm_rd_id_t)(i + 1);
    return DLM_SUCCESS;
}

dlm_status_t dlm_rd_attach(char *name, dlm_rd_id_t *rd_id_p, dlm_rd_flags_t attach_flag)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_attach(name, rd_id_p, attach_flag);
    tc_leave(&g);
    return st;
}

static dlm_status_t do_detach(dlm_rd_id_t rd, dlm_rd_flags_t flags)
{
    rdlm_ls *ls;
    uint32_t native;
    dlm_status_t st;
    int nst;

    if (flags & ~DLM_RD_INVALIDATE)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    st = domain(rd, &native, &ls);
    pthread_mutex_unlock(&tc_mu);
    if (st)
        return st;
    nst = rdlm_rd_detach(ls, native, flags ? RDLM_RD_INVALIDATE : 0);
    if (nst != RDLM_OK)
        return rd_status(nst);
    pthread_mutex_lock(&tc_mu);
    slots[rd - 1].used = false;
    pthread_mutex_unlock(&tc_mu);
    return DLM_SUCCESS;
}

dlm_status_t dlm_rd_detach(dlm_rd_id_t rd_id, dlm_rd_flags_t detach_flag)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_detach(rd_id, detach_flag);
    tc_leave(&g);
    return st;
}

static dlm_status_t do_collect(dlm_rd_id_t rd, dlm_rd_collection_hndl_t *hndl_p,
                               dlm_rd_flags_t flags)
{
    struct rdlm_rd_collection *c;
    struct coll *x;
    rdlm_ls *ls;
    uint32_t native;
    dlm_status_t st;
    int nst;

    if (!hndl_p || flags)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    st = domain(rd, &native, &ls);
    pthread_mutex_unlock(&tc_mu);
    if (st)
        return st;
    x = calloc(1, sizeof(*x));
    if (!x)
        return DLM_INSFMEM;
    nst = rdlm_rd_collect(ls, native, &c);
    if (nst != RDLM_OK) {
        free(x);
        return rd_status(nst);
    }
    x->rd = rd;
    x->c = c;
    pthread_mutex_lock(&tc_mu);
    x->next = colls;
    colls = x;
    pthread_mutex_unlock(&tc_mu);
    *hndl_p = (dlm_rd_collection_hndl_t)(uintptr_t)x;
    return DLM_SUCCESS;
}

dlm_status_t dlm_rd_collect(dlm_rd_id_t rd_id, dlm_rd_collection_hndl_t *hndl_p,
                            dlm_rd_flags_t collect_flag)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_collect(rd_id, hndl_p, collect_flag);
    tc_leave(&g);
    return st;
}

static dlm_status_t do_validate(dlm_rd_id_t rd, dlm_rd_collection_hndl_t *hndl_p,
                                dlm_rd_flags_t flags)
{
    struct coll *x;
    rdlm_ls *ls;
    uint32_t native;
    dlm_status_t st;
    int nst;

    if (!hndl_p || flags)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    st = domain(rd, &native, &ls);
    x = st ? NULL : coll_find(*hndl_p);
    if (!st && (!x || x->rd != rd))
        st = DLM_IVHNDL;
    if (!st)
        coll_remove(x); /* no other thread may validate it meanwhile */
    pthread_mutex_unlock(&tc_mu);
    if (st)
        return st;
    nst = rdlm_rd_validate(ls, native, x->c);
    pthread_mutex_lock(&tc_mu);
    if (nst == RDLM_E_INVAL) { /* not the outstanding collection: not freed */
        x->next = colls;
        colls = x;
    }
    pthread_mutex_unlock(&tc_mu);
    if (nst == RDLM_E_INVAL)
        return DLM_IVHNDL;
    free(x);
    *hndl_p = 0;
    return rd_status(nst);
}

dlm_status_t dlm_rd_validate(dlm_rd_id_t rd_id, dlm_rd_collection_hndl_t *hndl_p,
                             dlm_rd_flags_t validate_flag)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_validate(rd_id, hndl_p, validate_flag);
    tc_leave(&g);
    return st;
}

static dlm_status_t do_traverse(const dlm_rd_collection_hndl_t *hndl_p, unsigned long *cursor,
                                unsigned char *resnam, unsigned short *resnlen, dlm_nsp_t *nsp)
{
    struct coll *x;
    dlm_status_t st = DLM_SUCCESS;

    if (!hndl_p || !cursor || !resnam || !resnlen || !nsp)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    x = coll_find(*hndl_p);
    if (!x) {
        st = DLM_IVHNDL;
    } else if (*cursor < x->c->count) {
        const struct rdlm_rd_item *it = &x->c->items[*cursor];
        memcpy(resnam, it->name, it->namelen);
        *resnlen = it->namelen;
        *nsp = tc_ns_by_lsid(it->ls_id);
        (*cursor)++;
        st = DLM_MORE_TO_TRAVERSE;
    }
    pthread_mutex_unlock(&tc_mu);
    return st;
}

dlm_status_t dlm_rd_traverse(dlm_rd_collection_hndl_t *hndl_p, unsigned long *cursor,
                             unsigned char *resnam, unsigned short *resnlen, dlm_nsp_t *nsp)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = do_traverse(hndl_p, cursor, resnam, resnlen, nsp);
    tc_leave(&g);
    return st;
}
