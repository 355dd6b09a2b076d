/*
 * lib/libdlm/lockspace.c - lockspace handles: dlm_create/new/open/close/release_lockspace,
 * the default lockspace ("default", opened on first use by the calls without a handle),
 * dlm_ls_get_fd / dlm_get_fd, dlm_ls_purge.
 *
 * A handle is a native handle (whose dispatch thread keeps it answering the masters) plus an
 * eventfd that is readable while ASTs wait for delivery. rdlm lockspaces exist at the masters
 * while anybody uses them, so "create" and "open" are the same operation: neither needs a
 * privilege, and the file mode is not used. DLM_LSFL_NEWEXCL fails with EEXIST if this
 * process already has the lockspace open (the only place rdlm can tell). Every call checks its
 * handle against the registry of open handles: a closed or foreign handle gives ENOTCONN.
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_LOCKSPACE "default"

static struct fe_ls *handles;    /* every open handle */
static struct fe_ls *default_ls; /* the one the calls without a handle use */

bool fe_ls_valid(const struct fe_ls *ls)
{
    for (const struct fe_ls *h = handles; h; h = h->next)
        if (h == ls)
            return ls != NULL;
    return false;
}

bool fe_ls_check(const struct fe_ls *ls)
{
    bool ok;

    pthread_mutex_lock(&fe_mu);
    ok = fe_ls_valid(ls);
    pthread_mutex_unlock(&fe_mu);
    if (!ok)
        errno = ENOTCONN;
    return ok;
}

struct fe_ls *fe_ls_by_fd(int fd)
{
    for (struct fe_ls *h = handles; h; h = h->next)
        if (h->efd == fd)
            return h;
    return NULL;
}

/* After fork, in the child: the parent's handles are not ours (spec D.6). */
void fe_forget_all_handles(void)
{
    handles = NULL;
    default_ls = NULL;
}

static struct fe_ls *open_ls(const char *name, uint32_t flags)
{
    struct fe_ls *ls;
    int st;

    fe_init();
    if (!name || !*name || strlen(name) > DLM_LOCKSPACE_LEN) {
        errno = EINVAL;
        return NULL;
    }
    if (flags & DLM_LSFL_NEWEXCL) {
        pthread_mutex_lock(&fe_mu);
        for (struct fe_ls *h = handles; h; h = h->next)
            if (strcmp(h->name, name) == 0) {
                pthread_mutex_unlock(&fe_mu);
                errno = EEXIST;
                return NULL;
            }
        pthread_mutex_unlock(&fe_mu);
    }
    ls = calloc(1, sizeof(*ls));
    if (!ls) {
        errno = ENOMEM;
        return NULL;
    }
    strcpy(ls->name, name);
    ls->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ls->efd < 0) {
        free(ls);
        errno = ENOMEM;
        return NULL;
    }
    st = rdlm_ls_open(name, 0, &ls->n);
    if (st != RDLM_OK) {
        close(ls->efd);
        free(ls);
        errno = fe_errno(st);
        return NULL;
    }
    pthread_mutex_lock(&fe_mu);
    ls->next = handles;
    handles = ls;
    pthread_mutex_unlock(&fe_mu);
    return ls;
}

dlm_lshandle_t dlm_create_lockspace(const char *name, mode_t mode)
{
    (void)mode; /* no device file: nothing to protect with it */
    return open_ls(name, 0);
}

dlm_lshandle_t dlm_new_lockspace(const char *name, mode_t mode, uint32_t flags)
{
    (void)mode;
    return open_ls(name, flags);
}

dlm_lshandle_t dlm_open_lockspace(const char *name)
{
    return open_ls(name, 0);
}

/* Take ls out of the registry (it must be in it); under fe_mu. */
static void unregister(struct fe_ls *ls)
{
    struct fe_ls **pp = &handles;

    while (*pp != ls)
        pp = &(*pp)->next;
    *pp = ls->next;
    if (default_ls == ls)
        default_ls = NULL;
}

int dlm_close_lockspace(dlm_lshandle_t handle)
{
    struct fe_ls *ls = handle;
    bool thread_frees;

    pthread_mutex_lock(&fe_mu);
    if (!fe_ls_valid(ls)) {
        pthread_mutex_unlock(&fe_mu);
        errno = ENOTCONN;
        return -1;
    }
    unregister(ls);
    pthread_mutex_unlock(&fe_mu);
    fe_thread_stop(ls);
    rdlm_ls_close(ls->n); /* releases the locks; PERSISTENT ones stay as orphans */
    pthread_mutex_lock(&fe_mu);
    fe_lock_end_all(ls);
    fe_drop_queue(ls);
    thread_frees = ls->thread_frees;
    pthread_mutex_unlock(&fe_mu);
    close(ls->efd);
    if (!thread_frees)
        free(ls);
    return 0;
}

int dlm_release_lockspace(const char *name, dlm_lshandle_t ls, int force)
{
    (void)name;  /* the handle says which */
    (void)force; /* the lockspace lives at the masters while other handles use it */
    return dlm_close_lockspace(ls);
}

int dlm_ls_get_fd(dlm_lshandle_t handle)
{
    struct fe_ls *ls = handle;
    int fd = -1;

    pthread_mutex_lock(&fe_mu);
    if (fe_ls_valid(ls))
        fd = ls->efd;
    pthread_mutex_unlock(&fe_mu);
    if (fd < 0)
        errno = ENOTCONN;
    return fd;
}

struct fe_ls *fe_default_if_open(void)
{
    struct fe_ls *ls;

    pthread_mutex_lock(&fe_mu);
    ls = default_ls;
    pthread_mutex_unlock(&fe_mu);
    return ls;
}

struct fe_ls *fe_default_ls(void)
{
    struct fe_ls *ls = fe_default_if_open(), *extra = NULL;

    if (ls)
        return ls;
    ls = open_ls(DEFAULT_LOCKSPACE, 0);
    if (!ls)
        return NULL;
    pthread_mutex_lock(&fe_mu);
    if (default_ls) { /* another thread was first */
        extra = ls;
        ls = default_ls;
    } else {
        default_ls = ls;
    }
    pthread_mutex_unlock(&fe_mu);
    if (extra)
        dlm_close_lockspace(extra);
    return ls;
}

int dlm_get_fd(void)
{
    struct fe_ls *ls = fe_default_ls();

    return ls ? dlm_ls_get_fd(ls) : -1;
}

int dlm_ls_purge(dlm_lshandle_t handle, int nodeid, int pid)
{
    struct fe_ls *ls = handle;
    int st;

    if (!fe_ls_check(ls))
        return -1;
    if (nodeid < 0 || pid < 0) {
        errno = EINVAL;
        return -1;
    }
    st = rdlm_purge(ls->n, (uint32_t)nodeid, (uint32_t)pid);
    if (st != RDLM_OK) {
        errno = fe_errno(st);
        return -1;
    }
    return 0;
}
