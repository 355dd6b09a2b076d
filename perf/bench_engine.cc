// perf/bench_engine.cc - Google Benchmark shim over the engine workloads (C entry points in
// engine_workloads.c). Reports engine operations per second on one core.
#include <benchmark/benchmark.h>

#include "perf/engine_workloads.h"

static void BM_UncontendedLockUnlock(benchmark::State &state)
{
    engine_workload *w = engine_workload_create(static_cast<unsigned>(state.range(0)));
    for (auto _ : state)
        if (engine_uncontended_lock_unlock(w, 1000) != 0)
            state.SkipWithError("engine error");
    state.counters["ops/s"] =
        benchmark::Counter(2000.0 * state.iterations(), benchmark::Counter::kIsRate);
    engine_workload_destroy(w);
}
BENCHMARK(BM_UncontendedLockUnlock)->Arg(1)->Arg(100000);

static void BM_ContendedQueue(benchmark::State &state)
{
    engine_workload *w = engine_workload_create(1);
    for (auto _ : state)
        if (engine_contended_queue(w, static_cast<unsigned>(state.range(0)), 1000) != 0)
            state.SkipWithError("engine error");
    state.counters["ops/s"] =
        benchmark::Counter(2000.0 * state.iterations(), benchmark::Counter::kIsRate);
    engine_workload_destroy(w);
}
BENCHMARK(BM_ContendedQueue)->Arg(1)->Arg(16)->Arg(256);

static void BM_ConvertCycle(benchmark::State &state)
{
    engine_workload *w = engine_workload_create(1);
    for (auto _ : state)
        if (engine_convert_cycle(w, 1000) != 0)
            state.SkipWithError("engine error");
    state.counters["ops/s"] =
        benchmark::Counter(2000.0 * state.iterations(), benchmark::Counter::kIsRate);
    engine_workload_destroy(w);
}
BENCHMARK(BM_ConvertCycle);

BENCHMARK_MAIN();
