/*
 * perf/lat_hist.c - per-operation latency histograms (see lat_hist.h): bucket arithmetic,
 * quantiles, JSON and CDF output.
 */
#include "perf/lat_hist.h"

#include <string.h>

#define SUB (1u << LAT_SUB_BITS)

static unsigned msb64(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

static unsigned bucket_of(uint64_t ns)
{
    unsigned m;

    if (ns < SUB)
        return (unsigned)ns;
    if (ns >= (2ull << LAT_MAX_MSB))
        ns = (2ull << LAT_MAX_MSB) - 1;
    m = msb64(ns);
    return ((m - LAT_SUB_BITS + 1) << LAT_SUB_BITS) +
           (unsigned)((ns >> (m - LAT_SUB_BITS)) & (SUB - 1));
}

/* [low, low + width) of bucket i, in ns. */
static void bucket_range(unsigned i, uint64_t *low, uint64_t *width)
{
    unsigned g = i >> LAT_SUB_BITS, s = i & (SUB - 1), shift;

    if (g == 0) {
        *low = i;
        *width = 1;
        return;
    }
    shift = g - 1;
    *low = (uint64_t)(SUB + s) << shift;
    *width = 1ull << shift;
}

void lat_hist_reset(struct lat_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min_ns = UINT64_MAX;
}

void lat_hist_add(struct lat_hist *h, uint64_t ns)
{
    h->bucket[bucket_of(ns)]++;
    h->count++;
    if (ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src)
{
    for (unsigned i = 0; i < LAT_NBUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    if (src->count && src->min_ns < dst->min_ns)
        dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns)
        dst->max_ns = src->max_ns;
}

double lat_hist_quantile_us(const struct lat_hist *h, double q)
{
    uint64_t rank, seen = 0, low, width;
    double v;

    if (h->count == 0)
        return 0.0;
    rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    for (unsigned i = 0; i < LAT_NBUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            bucket_range(i, &low, &width);
            v = (double)low + (double)(width - 1) / 2.0;
            if (v < (double)h->min_ns)
                v = (double)h->min_ns;
            if (v > (double)h->max_ns)
                v = (double)h->max_ns;
            return v / 1000.0;
        }
    }
    return (double)h->max_ns / 1000.0;
}

void lat_hist_write_json_fields(const struct lat_hist *h, FILE *f)
{
    fprintf(f,
            "\"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, "
            "\"max_us\": %.2f",
            lat_hist_quantile_us(h, 0.50), lat_hist_quantile_us(h, 0.90),
            lat_hist_quantile_us(h, 0.99), lat_hist_quantile_us(h, 0.999),
            (double)h->max_ns / 1000.0);
}

void lat_hist_write_json_buckets(const struct lat_hist *h, FILE *f)
{
    uint64_t low, width;
    int first = 1;

    for (unsigned i = 0; i < LAT_NBUCKETS; i++) {
        if (!h->bucket[i])
            continue;
        bucket_range(i, &low, &width);
        fprintf(f, "%s[%llu, %llu]", first ? "" : ", ", (unsigned long long)(low + width - 1),
                (unsigned long long)h->bucket[i]);
        first = 0;
    }
}

void lat_hist_write_cdf(const struct lat_hist *h, FILE *f)
{
    uint64_t low, width, seen = 0;

    for (unsigned i = 0; i < LAT_NBUCKETS; i++) {
        if (!h->bucket[i])
            continue;
        bucket_range(i, &low, &width);
        seen += h->bucket[i];
        fprintf(f, "%.3f %.6f\n", (double)(low + width - 1) / 1000.0,
                (double)seen / (double)h->count);
    }
}
