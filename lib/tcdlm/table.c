/*
 * lib/tcdlm/table.c - the front end's mutex, its lock records and the guard every entry point
 * runs under (the notification signal blocked in the calling thread, docs/tcdlm.md
 * "Delivery"). Records are few per process: a list, searched by front-end id or native lock
 * id.
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <stdatomic.h>
#include <stdlib.h>

pthread_mutex_t tc_mu = PTHREAD_MUTEX_INITIALIZER;

static struct tc_lock *locks;
static uint64_t next_id = 1;

extern _Atomic int tc_sig; /* notify.c: the signal chosen, 0 if none */

static void before_fork(void)
{
    pthread_mutex_lock(&tc_mu);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&tc_mu);
}

static void after_fork_child(void)
{
    pthread_mutex_init(&tc_mu, NULL);
    locks = NULL; /* the parent's records stay where they are, unused */
    tc_ns_forget_all();
    tc_glc_forget();
    tc_rd_forget_child();
    tc_notify_forget();
}

static void init_once(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void tc_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, init_once);
}

void tc_enter(struct tc_guard *g)
{
    int sig = atomic_load(&tc_sig);
    sigset_t set;

    g->blocked = sig > 0;
    if (!g->blocked)
        return;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

void tc_leave(struct tc_guard *g)
{
    if (g->blocked)
        pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

struct tc_lock *tc_lock_new(void)
{
    struct tc_lock *l = calloc(1, sizeof(*l));

    if (!l)
        return NULL;
    l->id = next_id++;
    l->nsb.lvb = l->vb;
    l->grmode = l->rqmode = RDLM_MODE_IV;
    l->next = locks;
    locks = l;
    return l;
}

struct tc_lock *tc_lock_by_id(uint64_t id)
{
    for (struct tc_lock *l = locks; l; l = l->next)
        if (l->id == id)
            return l;
    return NULL;
}

struct tc_lock *tc_lock_by_lkid(uint64_t lkid)
{
    if (lkid == 0)
        return NULL;
    for (struct tc_lock *l = locks; l; l = l->next)
        if (l->lkid == lkid)
            return l;
    return NULL;
}

void tc_lock_end(struct tc_lock *l)
{
    struct tc_lock **pp = &locks;

    if (l->ended)
        return;
    while (*pp && *pp != l)
        pp = &(*pp)->next;
    if (*pp)
        *pp = l->next;
    l->ended = true;
    if (l->refs == 0)
        free(l);
}

void tc_lock_put(struct tc_lock *l)
{
    if (--l->refs == 0 && l->ended)
        free(l);
}

struct tc_lock *tc_lock_first(void)
{
    return locks;
}

bool tc_ns_has_locks(int nsp)
{
    for (struct tc_lock *l = locks; l; l = l->next)
        if (l->nsp == nsp && !l->group)
            return true;
    return false;
}

bool tc_has_children(uint64_t lkid)
{
    for (struct tc_lock *l = locks; l; l = l->next)
        if (l->parent == lkid)
            return true;
    return false;
}

uint64_t tc_lkid_native(const dlm_lkid_t *lk)
{
    return ((uint64_t)lk->hndl << 32) | lk->seqn;
}

void tc_lkid_set(dlm_lkid_t *lk, uint64_t native)
{
    lk->hndl = (unsigned int)(native >> 32);
    lk->seqn = (unsigned int)native;
}
