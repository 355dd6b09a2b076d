/*
 * lib/libdlm/table.c - the front end's mutex and its table of lock records: a libdlm lock id
 * (32 bits, never 0, handed out in sequence so an ended id is not reused for 2^32 locks) names
 * a record that holds the native lock. Records are reference counted: the table holds one,
 * and every call working on a record with the mutex released holds one more.
 *
 * Fork: a child must open its lockspaces itself (spec D.6); the child forgets the parent's
 * handles and records (without touching them: their threads and connections are the parent's)
 * so that the default lockspace is opened afresh on its first use.
 */
#include "lib/libdlm/libdlm_int.h"

#include <stdlib.h>

#include "common/u64map.h"

pthread_mutex_t fe_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t fe_cv = PTHREAD_COND_INITIALIZER;

static struct u64map table;
static bool table_ready;
static uint32_t next_id;

static void before_fork(void)
{
    pthread_mutex_lock(&fe_mu);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&fe_mu);
}

static void after_fork_child(void)
{
    pthread_mutex_init(&fe_mu, NULL);
    pthread_cond_init(&fe_cv, NULL);
    table_ready = false; /* the parent's records stay where they are, unused */
    fe_forget_all_handles();
}

static void init_once(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void fe_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, init_once);
}

struct fe_lock *fe_lock_new(struct fe_ls *ls)
{
    struct fe_lock *l = calloc(1, sizeof(*l));

    if (!l)
        return NULL;
    if (!table_ready) {
        u64map_init(&table);
        table_ready = true;
    }
    do
        l->id = ++next_id;
    while (l->id == 0 || u64map_get(&table, l->id, NULL));
    if (u64map_put(&table, l->id, (uint64_t)(uintptr_t)l) < 0) {
        free(l);
        return NULL;
    }
    l->ls = ls;
    l->grmode = l->rqmode = RDLM_MODE_IV;
    l->nsb.lvbseq = FE_NO_SEQ;
    l->refs = 1;
    return l;
}

struct fe_lock *fe_lock_find(uint32_t id)
{
    uint64_t v;

    if (!table_ready || id == 0 || !u64map_get(&table, id, &v))
        return NULL;
    return (struct fe_lock *)(uintptr_t)v;
}

void fe_lock_hold(struct fe_lock *l)
{
    l->refs++;
}

void fe_lock_put(struct fe_lock *l)
{
    if (--l->refs == 0)
        free(l);
}

void fe_lock_end(struct fe_lock *l)
{
    if (l->gone)
        return;
    l->gone = true;
    u64map_del(&table, l->id);
    pthread_cond_broadcast(&fe_cv); /* a cancel waiter must not wait for a lock that ended */
    fe_lock_put(l);
}

void fe_lock_end_all(struct fe_ls *ls)
{
    size_t pos = 0, n = 0;
    uint64_t k, v;
    struct fe_lock **mine;

    if (!table_ready)
        return;
    mine = calloc(table.n + 1, sizeof(*mine));
    if (!mine) { /* out of memory: one at a time, restarting the walk after each */
        for (bool found = true; found;) {
            found = false;
            for (pos = 0; !found && u64map_next(&table, &pos, &k, &v);)
                if (((struct fe_lock *)(uintptr_t)v)->ls == ls) {
                    ((struct fe_lock *)(uintptr_t)v)->ls = NULL;
                    fe_lock_end((struct fe_lock *)(uintptr_t)v);
                    found = true;
                }
        }
        return;
    }
    while (u64map_next(&table, &pos, &k, &v))
        if (((struct fe_lock *)(uintptr_t)v)->ls == ls)
            mine[n++] = (struct fe_lock *)(uintptr_t)v;
    for (size_t i = 0; i < n; i++) {
        mine[i]->ls = NULL;
        fe_lock_end(mine[i]);
    }
    free(mine);
}
