/*
 * perf/engine_workloads.h - engine workloads in C, called by the Google Benchmark shim
 * (bench_engine.cc) and by the memory benchmark. Each runs `iters` engine operations.
 */
#ifndef RDLM_PERF_ENGINE_WORKLOADS_H
#define RDLM_PERF_ENGINE_WORKLOADS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct engine_workload;

/* nres distinct resource names; nholders locks kept on one hot resource for the queue case. */
struct engine_workload *engine_workload_create(unsigned nres);
void engine_workload_destroy(struct engine_workload *w);

/* New EX lock then unlock on resource i % nres: 2 engine operations per iteration. */
int engine_uncontended_lock_unlock(struct engine_workload *w, uint64_t iters);

/* One hot resource with `depth` waiters queued behind an EX holder; each iteration unlocks
 * the holder (granting the next waiter, with BASTs) and queues a new waiter: 2 operations. */
int engine_contended_queue(struct engine_workload *w, unsigned depth, uint64_t iters);

/* Conversion NL -> EX -> NL on a held lock: 2 operations per iteration. */
int engine_convert_cycle(struct engine_workload *w, uint64_t iters);

#ifdef __cplusplus
}
#endif

#endif
