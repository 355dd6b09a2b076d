/*
 * lib/libdlm/deliver.c - delivering ASTs the way libdlm does: queued per lockspace, then run
 * by dlm_dispatch(fd) in the program's thread (after poll() said the fd is readable), or by
 * the lockspace's own AST thread once dlm_pthread_init() / dlm_ls_pthread_init() started it.
 * A completion first writes its outcome into the caller's lksb (status, lock id, flags and,
 * when the LVB was read, the value), then calls the AST routine. A blocking AST whose lock is
 * no longer granted (it ended or was never granted) is dropped, as a stale one is in Linux.
 */
#include "lib/libdlm/libdlm_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREAD_POLL_MS 500 /* the AST thread re-checks its stop flag this often */

void fe_apply(struct dlm_lksb *sb, uint32_t lkid, int status, uint8_t sbflags, bool lvb_read,
              const uint8_t *lvb)
{
    if (!sb)
        return;
    sb->sb_status = status;
    sb->sb_lkid = lkid;
    sb->sb_flags = (char)sbflags;
    if (lvb_read && sb->sb_lvbptr)
        memcpy(sb->sb_lvbptr, lvb, DLM_LVB_LEN);
}

void fe_queue(struct fe_ls *ls, struct fe_item *it)
{
    uint64_t one = 1;

    it->next = NULL;
    if (ls->tail)
        ls->tail->next = it;
    else
        ls->head = it;
    ls->tail = it;
    (void)!write(ls->efd, &one, sizeof(one));
}

void fe_drop_queue(struct fe_ls *ls)
{
    while (ls->head) {
        struct fe_item *it = ls->head;
        ls->head = it->next;
        free(it);
    }
    ls->tail = NULL;
}

static void deliver(struct fe_item *it)
{
    if (it->blocking) {
        struct fe_lock *l;
        bool live;

        pthread_mutex_lock(&fe_mu);
        l = fe_lock_find(it->lkid);
        live = l && l->grmode != RDLM_MODE_IV;
        pthread_mutex_unlock(&fe_mu);
        if (live && it->fn)
            it->fn(it->arg);
        return;
    }
    fe_apply(it->lksb, it->lkid, it->status, it->sbflags, it->lvb_read, it->lvb);
    if (it->fn)
        it->fn(it->arg);
}

int fe_drain(struct fe_ls *ls)
{
    struct fe_item *it;
    uint64_t v;
    int n = 0;

    pthread_mutex_lock(&fe_mu);
    it = ls->head;
    ls->head = ls->tail = NULL;
    (void)!read(ls->efd, &v, sizeof(v));
    pthread_mutex_unlock(&fe_mu);
    while (it) {
        struct fe_item *next = it->next;
        deliver(it);
        free(it);
        it = next;
        n++;
    }
    return n;
}

int dlm_dispatch(int fd)
{
    struct fe_ls *ls;

    pthread_mutex_lock(&fe_mu);
    ls = fe_ls_by_fd(fd);
    pthread_mutex_unlock(&fe_mu);
    if (!ls) {
        errno = EBADF;
        return -1;
    }
    fe_drain(ls);
    return 0;
}

/* ---- the AST thread ---- */

static void *ast_thread(void *arg)
{
    struct fe_ls *ls = arg;
    bool stop, frees;

    for (;;) {
        struct pollfd p = {ls->efd, POLLIN, 0};

        pthread_mutex_lock(&fe_mu);
        stop = ls->stop;
        frees = ls->thread_frees;
        pthread_mutex_unlock(&fe_mu);
        if (stop)
            break;
        if (poll(&p, 1, THREAD_POLL_MS) > 0)
            fe_drain(ls);
    }
    if (frees) /* closed from one of its own ASTs: nobody else will */
        free(ls);
    return NULL;
}

int fe_thread_start(struct fe_ls *ls)
{
    int rc;

    pthread_mutex_lock(&fe_mu);
    if (ls->thread_on) {
        pthread_mutex_unlock(&fe_mu);
        return EEXIST;
    }
    ls->stop = false;
    rc = pthread_create(&ls->thread, NULL, ast_thread, ls);
    ls->thread_on = rc == 0;
    pthread_mutex_unlock(&fe_mu);
    return rc;
}

void fe_thread_stop(struct fe_ls *ls)
{
    uint64_t one = 1;
    bool self;

    pthread_mutex_lock(&fe_mu);
    if (!ls->thread_on) {
        pthread_mutex_unlock(&fe_mu);
        return;
    }
    ls->stop = true;
    ls->thread_on = false;
    self = pthread_equal(pthread_self(), ls->thread);
    if (self)
        ls->thread_frees = true;
    pthread_mutex_unlock(&fe_mu);
    (void)!write(ls->efd, &one, sizeof(one));
    if (self)
        pthread_detach(ls->thread);
    else
        pthread_join(ls->thread, NULL);
}

int dlm_ls_pthread_init(dlm_lshandle_t handle)
{
    struct fe_ls *ls = handle;
    int rc;

    if (!fe_ls_check(ls))
        return -1;
    rc = fe_thread_start(ls);
    if (rc) {
        errno = rc;
        return -1;
    }
    return 0;
}

int dlm_pthread_init(void)
{
    struct fe_ls *ls = fe_default_ls();

    return ls ? dlm_ls_pthread_init(ls) : -1;
}

/* libdlm: stops the default lockspace's thread and closes the default lockspace. */
int dlm_pthread_cleanup(void)
{
    struct fe_ls *ls = fe_default_if_open();

    return ls ? dlm_close_lockspace(ls) : 0;
}
