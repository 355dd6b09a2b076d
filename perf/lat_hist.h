/*
 * perf/lat_hist.h - per-operation latency histograms for the benchmarks: log-linear buckets
 * (64 per power of two, so a reported percentile is within 1.6% of the true value), exact
 * count, min and max. Percentiles, never means. Written as JSON and as a CDF for plotting.
 */
#ifndef RDLM_PERF_LAT_HIST_H
#define RDLM_PERF_LAT_HIST_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LAT_SUB_BITS 6  /* 64 sub-buckets per octave */
#define LAT_MAX_MSB  40 /* values up to 2^41 ns (36 min) */
#define LAT_NBUCKETS ((LAT_MAX_MSB - LAT_SUB_BITS + 2) << LAT_SUB_BITS)

struct lat_hist {
    uint64_t count, min_ns, max_ns;
    uint64_t bucket[LAT_NBUCKETS];
};

void lat_hist_reset(struct lat_hist *h);
void lat_hist_add(struct lat_hist *h, uint64_t ns);
void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src);
/* The value at quantile q (0..1) in microseconds: the middle of the bucket holding the
 * ceil(q * count)-th smallest value, clamped to [min, max]. 0 for an empty histogram. */
double lat_hist_quantile_us(const struct lat_hist *h, double q);
/* "p50_us": .., "p90_us", "p99_us", "p999_us", "max_us" (no braces), for a JSON object. */
void lat_hist_write_json_fields(const struct lat_hist *h, FILE *f);
/* Every non-empty bucket as "[upper_edge_ns, count]" pairs, comma-separated. */
void lat_hist_write_json_buckets(const struct lat_hist *h, FILE *f);
/* Lines "latency_us cumulative_fraction" (one per non-empty bucket, at its upper edge). */
void lat_hist_write_cdf(const struct lat_hist *h, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* RDLM_PERF_LAT_HIST_H */
