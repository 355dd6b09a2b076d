// perf/bench_service.cc - Google Benchmark shim over the service scenarios (C entry points in
// svc_workloads.c): registers every scenario x client kind (threads, processes) x client count
// for the mode, runs each as one fixed-time C run (manual time), reports throughput and the
// latency percentiles as counters, then writes the kept histograms (latency.json, data/).
// The points behind the headline ratios run first, as interleaved rounds (A B C A B C ...)
// merged per point, so that a shared machine's noise hits both sides of a ratio alike.
//
// Usage: bench_service [--mode=short|full] [--results=DIR] [--backend=NAME] [--redis-port=P]
//                      [--floor-port=P [--floor-rdma]] [--dispatch-thread] [--benchmark_* ...]
// --redis-port: a redis-server on loopback (the redis scenario); --floor-port: an
// `rdlm-pingpong server` (the cas_floor point, on tcp or with --floor-rdma on rdma).
// (RDLM_CONFIG: the cluster). Process clients are this program run as `--svc-child FD INDEX`.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "perf/svc_workloads.h"

namespace
{

struct Options {
    std::string mode = "short", results = "perf/results", backend = "tcp";
    int redis_port = 0, floor_port = 0;
    bool floor_rdma = false;
    bool dispatch_thread = false;
};

// How a mode sizes the suite: measured and warm-up seconds per run, client counts.
struct Plan {
    double seconds, warmup;
    std::vector<int> scale, hot; // client counts: most scenarios; the hot lock
    unsigned resources, txn_resources;
    int rounds; // interleaved rounds of the ratio points
    double round_seconds, round_warmup;
};

Plan plan_for(const std::string &mode)
{
    if (mode == "full")
        return {5.0, 1.0, {1, 2, 4, 8, 16, 32}, {1, 2, 4, 8, 12, 16}, 100000, 1024, 8, 2.0, 0.5};
    return {1.0, 0.3, {1, 4, 8}, {1, 2, 4, 8, 16}, 10000, 256, 4, 0.5, 0.2};
}

// The points behind the ratios of summary.json (fast path, two-sided, Redis; hot lock 1 and 8).
struct Point {
    svc_scenario sc;
    int procs, clients;
};
const Point ratio_points[] = {{SVC_CAS_FLOOR, 0, 1},        {SVC_UNCONTENDED_FAST, 0, 1},
                              {SVC_UNCONTENDED_SLOW, 0, 1}, {SVC_REDIS, 0, 1},
                              {SVC_HOT_WRITERS, 1, 1},      {SVC_HOT_WRITERS, 1, 8}};

bool is_ratio_point(svc_scenario sc, int procs, int clients)
{
    for (const Point &p : ratio_points)
        if (p.sc == sc && p.procs == procs && p.clients == clients)
            return true;
    return false;
}

void run_one(benchmark::State &state, svc_spec spec)
{
    svc_result res{};

    for (auto _ : state) {
        if (svc_run(&spec, &res) != 0) {
            state.SkipWithError(res.error);
            break;
        }
        state.SetIterationTime(res.seconds);
    }
    state.counters["ops/s"] = res.ops_per_s;
    state.counters["p50_us"] = res.p50_us;
    state.counters["p90_us"] = res.p90_us;
    state.counters["p99_us"] = res.p99_us;
    state.counters["p99.9_us"] = res.p999_us;
    state.counters["max_us"] = res.max_us;
    state.counters["1sided"] = static_cast<double>(res.one_sided);
    state.counters["2sided"] = static_cast<double>(res.two_sided);
    state.counters["retries"] = static_cast<double>(res.cas_retries);
}

svc_spec make_spec(const Options &o, const Plan &p, svc_scenario sc, int procs, int n)
{
    svc_spec spec{};
    spec.scenario = sc;
    spec.clients = n;
    spec.procs = procs;
    spec.seconds = p.seconds;
    spec.warmup = p.warmup;
    spec.resources = sc == SVC_TXN ? p.txn_resources : p.resources;
    spec.theta = 0.99;
    spec.txn_locks = 4;
    spec.hold_us = 10;
    spec.redis_port = o.redis_port;
    spec.floor_port = o.floor_port;
    spec.floor_rdma = o.floor_rdma;
    spec.dispatch_thread = o.dispatch_thread;
    return spec;
}

std::string point_name(svc_scenario sc, int procs, int n)
{
    return std::string(svc_scenario_name(sc)) + "/" + (procs ? "procs:" : "threads:") +
           std::to_string(n);
}

void add(const std::string &name, const svc_spec &spec)
{
    benchmark::RegisterBenchmark(name.c_str(), run_one, spec)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
}

void register_all(const Options &o)
{
    const Plan p = plan_for(o.mode);

    for (int r = 1; r <= p.rounds; r++)
        for (const Point &pt : ratio_points) {
            if ((pt.sc == SVC_REDIS && o.redis_port == 0) ||
                (pt.sc == SVC_CAS_FLOOR && o.floor_port == 0))
                continue;
            svc_spec spec = make_spec(o, p, pt.sc, pt.procs, pt.clients);
            spec.seconds = p.round_seconds;
            spec.warmup = p.round_warmup;
            add("svc/ratio/" + point_name(pt.sc, pt.procs, pt.clients) +
                    "/round:" + std::to_string(r),
                spec);
        }
    for (int s = 0; s < SVC_NSCENARIOS; s++) {
        const auto sc = static_cast<svc_scenario>(s);
        if ((sc == SVC_REDIS && o.redis_port == 0) || sc == SVC_CAS_FLOOR)
            continue; // the floor is only a ratio point (one client)
        const bool hot = sc == SVC_HOT_READERS || sc == SVC_HOT_WRITERS || sc == SVC_HOT_MIXED;
        for (int procs = 0; procs <= 1; procs++)
            for (int n : hot ? p.hot : p.scale)
                if (!is_ratio_point(sc, procs, n))
                    add("svc/" + point_name(sc, procs, n), make_spec(o, p, sc, procs, n));
    }
}

// Takes this shim's own options out of argv (the rest goes to Google Benchmark).
bool parse(int &argc, char **argv, Options &o)
{
    int out = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (std::strncmp(a, "--mode=", 7) == 0)
            o.mode = a + 7;
        else if (std::strncmp(a, "--results=", 10) == 0)
            o.results = a + 10;
        else if (std::strncmp(a, "--backend=", 10) == 0)
            o.backend = a + 10;
        else if (std::strncmp(a, "--redis-port=", 13) == 0)
            o.redis_port = std::atoi(a + 13);
        else if (std::strncmp(a, "--floor-port=", 13) == 0)
            o.floor_port = std::atoi(a + 13);
        else if (std::strcmp(a, "--floor-rdma") == 0)
            o.floor_rdma = true;
        else if (std::strcmp(a, "--dispatch-thread") == 0)
            o.dispatch_thread = true;
        else
            argv[out++] = argv[i];
    }
    argc = out;
    argv[argc] = nullptr;
    return o.mode == "short" || o.mode == "full";
}

} // namespace

int main(int argc, char **argv)
{
    Options o;

    if (argc > 1 && std::strcmp(argv[1], "--svc-child") == 0)
        return svc_child_main(argc, argv);
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "bench_service: --mode must be short or full\n");
        return 2;
    }
    register_all(o);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (svc_write_results(o.results.c_str(), o.backend.c_str(), o.mode.c_str()) != 0) {
        std::fprintf(stderr, "bench_service: cannot write the results under %s\n",
                     o.results.c_str());
        return 1;
    }
    return 0;
}
