/*
 * perf/service_lat.c - latency of an uncontended lock+unlock pair through the whole service
 * (librdlm -> transport -> rdlmd), on the one-sided fast path and on the two-sided path, in
 * one run, on the same cluster and back end. A benchmark, not a test: it reports figures.
 *
 * Each mode does a warm-up, then N synchronous EX lock + unlock pairs on names private to this
 * process (spread over the masters), timing each pair, and prints p50/p90/p99/p99.9/max.
 * Usage: service_lat [-n ITERATIONS] [-r RESOURCES] [--json FILE]   (RDLM_CONFIG: the cluster)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdlm.h"

struct lat {
    const char *path;
    double p50, p90, p99, p999, max;
    uint64_t fast, two_sided;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1));

    return (double)v[i] / 1000.0;
}

static int pair(rdlm_ls *ls, const char *name)
{
    struct rdlm_lksb sb = {0};

    if (rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, name, (unsigned)strlen(name), NULL, NULL,
                  NULL, NULL) != RDLM_OK)
        return -1;
    return rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, &sb, NULL) == RDLM_E_UNLOCKED ? 0 : -1;
}

static int measure(int fast, int iters, int nres, struct lat *out)
{
    uint64_t *t = calloc((size_t)iters, sizeof(*t));
    struct rdlm_stats st;
    char name[64];
    rdlm_ls *ls;

    if (!t || rdlm_ls_open("bench", getenv("LAT_FD") ? RDLM_LS_FD_DISPATCH : 0, &ls) != RDLM_OK) {
        free(t);
        return -1;
    }
    rdlm_ls_set_fastpath(ls, fast);
    for (int i = 0; i < nres * 4; i++) { /* warm-up: connections, slots cached */
        snprintf(name, sizeof(name), "lat-%d-%d", (int)getpid(), i % nres);
        if (pair(ls, name) < 0)
            goto fail;
    }
    for (int i = 0; i < iters; i++) {
        snprintf(name, sizeof(name), "lat-%d-%d", (int)getpid(), i % nres);
        uint64_t t0 = now_ns();
        if (pair(ls, name) < 0)
            goto fail;
        t[i] = now_ns() - t0;
    }
    rdlm_ls_stats(ls, &st);
    rdlm_ls_close(ls);
    qsort(t, (size_t)iters, sizeof(*t), cmp_u64);
    *out = (struct lat){fast ? "fast" : "two-sided",      pct(t, (size_t)iters, 0.5),
                        pct(t, (size_t)iters, 0.9),       pct(t, (size_t)iters, 0.99),
                        pct(t, (size_t)iters, 0.999),     (double)t[iters - 1] / 1000.0,
                        st.fast_grants + st.fast_unlocks, st.two_sided};
    free(t);
    return 0;
fail:
    fprintf(stderr, "service_lat: a lock or unlock failed (is the cluster up?)\n");
    rdlm_ls_close(ls);
    free(t);
    return -1;
}

static void print(const struct lat *l, FILE *f, int json)
{
    if (json)
        fprintf(f,
                "    {\"path\": \"%s\", \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
                "\"p999_us\": %.1f, \"max_us\": %.1f, \"one_sided_ops\": %" PRIu64
                ", \"two_sided_ops\": %" PRIu64 "}",
                l->path, l->p50, l->p90, l->p99, l->p999, l->max, l->fast, l->two_sided);
    else
        fprintf(f,
                "  %-10s p50 %8.1f us  p90 %8.1f  p99 %8.1f  p99.9 %8.1f  max %9.1f  (%" PRIu64
                " one-sided, %" PRIu64 " two-sided ops)\n",
                l->path, l->p50, l->p90, l->p99, l->p999, l->max, l->fast, l->two_sided);
}

int main(int argc, char **argv)
{
    int iters = 5000, nres = 16;
    const char *json = NULL;
    struct lat l[2];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            nres = atoi(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else {
            fprintf(stderr, "usage: service_lat [-n ITERATIONS] [-r RESOURCES] [--json FILE]\n");
            return 2;
        }
    }
    if (iters < 10 || nres < 1 || measure(1, iters, nres, &l[0]) < 0 ||
        measure(0, iters, nres, &l[1]) < 0)
        return 1;
    printf("uncontended EX lock+unlock, %d pairs over %d resources (transport %s):\n", iters, nres,
           getenv("RDLM_TRANSPORT") ? getenv("RDLM_TRANSPORT") : "from the cluster file");
    print(&l[0], stdout, 0);
    print(&l[1], stdout, 0);
    printf("  fast / two-sided at p50: %.2f\n", l[0].p50 / l[1].p50);
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            return 1;
        fprintf(f,
                "{\n  \"benchmark\": \"uncontended_lock_unlock\",\n  \"pairs\": %d,\n"
                "  \"results\": [\n",
                iters);
        print(&l[0], f, 1);
        fprintf(f, ",\n");
        print(&l[1], f, 1);
        fprintf(f, "\n  ],\n  \"fast_vs_two_sided_p50\": %.3f\n}\n", l[0].p50 / l[1].p50);
        fclose(f);
    }
    return 0;
}
