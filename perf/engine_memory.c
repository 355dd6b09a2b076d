/*
 * perf/engine_memory.c - memory per resource and per lock in the engine, at a million
 * resources (issue target: <= 128 bytes per idle resource, <= 96 per lock).
 *
 * Counts heap bytes in use (glibc mallinfo2: chunk sizes including malloc's own headers, and
 * the lock pool's slabs) before and after:
 *   1. N resources, each with one granted NL lock      -> bytes per (resource + lock)
 *   2. a second NL lock on each of them                 -> bytes per lock
 *   3. the difference                                   -> bytes per idle resource
 * Names are 12 bytes ("res-%08u"). Hash tables are included (they grow with the counts).
 * Usage: engine_memory [N]   (default 1000000). Prints one JSON object.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "master/engine.h"

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

static int add_locks(struct eng *e, struct eng_actions *out, unsigned n, uint64_t id_base)
{
    char name[16];

    for (unsigned i = 0; i < n; i++) {
        int len = snprintf(name, sizeof(name), "res-%08u", i);
        struct eng_req r = {
            .lkid = id_base + i,
            .name = name,
            .namelen = (uint16_t)len,
            .mode = RDLM_MODE_NL,
            .owner = {ENG_OWNER_PROCESS, 1, 1},
        };
        if (eng_request(e, &r, out) != RDLM_OK)
            return -1;
        eng_actions_clear(out);
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000u;
    struct eng_actions out = {0};
    struct eng *e;
    size_t h0, h1, h2;

    out.v = malloc(64 * sizeof(*out.v));
    out.cap = 64;
    h0 = heap_in_use();
    e = eng_create();
    if (!e || add_locks(e, &out, n, 1) < 0)
        return 1;
    h1 = heap_in_use();
    if (add_locks(e, &out, n, (uint64_t)n + 1) < 0)
        return 1;
    h2 = heap_in_use();

    double per_res_and_lock = (double)(h1 - h0) / n;
    double per_lock = (double)(h2 - h1) / n;
    printf("{\"resources\": %zu, \"locks\": %zu, \"bytes_per_resource_with_one_lock\": %.1f, "
           "\"bytes_per_lock\": %.1f, \"bytes_per_idle_resource\": %.1f}\n",
           eng_resource_count(e), eng_lock_count(e), per_res_and_lock, per_lock,
           per_res_and_lock - per_lock);
    eng_destroy(e);
    eng_actions_free(&out);
    return 0;
}
