/*
 * perf/engine_workloads.c - the engine micro-benchmark workloads (see engine_workloads.h).
 */
#include "perf/engine_workloads.h"

#include <stdio.h>
#include <stdlib.h>

#include "master/engine.h"

struct engine_workload {
    struct eng *e;
    struct eng_actions out;
    unsigned nres;
    char (*names)[16];
    uint64_t next_lkid;
};

struct engine_workload *engine_workload_create(unsigned nres)
{
    struct engine_workload *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->e = eng_create();
    w->nres = nres ? nres : 1;
    w->names = calloc(w->nres, sizeof(*w->names));
    if (!w->e || !w->names) {
        engine_workload_destroy(w);
        return NULL;
    }
    for (unsigned i = 0; i < w->nres; i++)
        snprintf(w->names[i], sizeof(w->names[i]), "res-%08u", i);
    w->next_lkid = 1;
    return w;
}

void engine_workload_destroy(struct engine_workload *w)
{
    if (!w)
        return;
    eng_destroy(w->e);
    eng_actions_free(&w->out);
    free(w->names);
    free(w);
}

static int lock_new(struct engine_workload *w, uint64_t lkid, unsigned res, int mode, uint64_t pid)
{
    struct eng_req r = {
        .lkid = lkid,
        .name = w->names[res],
        .namelen = 12,
        .mode = (int8_t)mode,
        .owner = {ENG_OWNER_PROCESS, 1, pid},
        .has_bast = true,
    };

    return eng_request(w->e, &r, &w->out);
}

int engine_uncontended_lock_unlock(struct engine_workload *w, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t id = w->next_lkid++;
        if (lock_new(w, id, (unsigned)(i % w->nres), RDLM_MODE_EX, 1) ||
            eng_unlock(w->e, id, 0, NULL, &w->out))
            return -1;
        eng_actions_clear(&w->out);
    }
    return 0;
}

int engine_contended_queue(struct engine_workload *w, unsigned depth, uint64_t iters)
{
    uint64_t first = w->next_lkid;

    for (unsigned i = 0; i <= depth; i++)
        if (lock_new(w, w->next_lkid++, 0, RDLM_MODE_EX, 100 + i))
            return -1;
    eng_actions_clear(&w->out);
    for (uint64_t i = 0; i < iters; i++) {
        /* the holder is always the oldest lock id still alive */
        if (eng_unlock(w->e, first + i, 0, NULL, &w->out) ||
            lock_new(w, w->next_lkid++, 0, RDLM_MODE_EX, 100 + i % 64))
            return -1;
        eng_actions_clear(&w->out);
    }
    for (uint64_t id = first + iters; id < w->next_lkid; id++)
        eng_unlock(w->e, id, RDLM_LKF_FORCEUNLOCK, NULL, &w->out);
    eng_actions_clear(&w->out);
    return 0;
}

int engine_convert_cycle(struct engine_workload *w, uint64_t iters)
{
    uint64_t id = w->next_lkid++;
    struct eng_req r = {.lkid = id, .flags = RDLM_LKF_CONVERT, .has_bast = true};

    if (lock_new(w, id, 0, RDLM_MODE_NL, 1))
        return -1;
    for (uint64_t i = 0; i < iters; i++) {
        r.mode = RDLM_MODE_EX;
        if (eng_request(w->e, &r, &w->out))
            return -1;
        r.mode = RDLM_MODE_NL;
        if (eng_request(w->e, &r, &w->out))
            return -1;
        eng_actions_clear(&w->out);
    }
    eng_unlock(w->e, id, 0, NULL, &w->out);
    eng_actions_clear(&w->out);
    return 0;
}
