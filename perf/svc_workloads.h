/*
 * perf/svc_workloads.h - the service benchmark scenarios in C, driven by the Google Benchmark
 * shim (bench_service.cc). A run is C clients (threads of this process, or processes) against
 * the cluster in RDLM_CONFIG, each with its own lockspace handle, doing one scenario for a
 * fixed time after a warm-up; every operation is timed into a histogram. Results are kept for
 * svc_write_results (JSON, plus data files for the plots).
 */
#ifndef RDLM_PERF_SVC_WORKLOADS_H
#define RDLM_PERF_SVC_WORKLOADS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One operation of each scenario (what one histogram entry times). */
enum svc_scenario {
    SVC_UNCONTENDED_FAST, /* EX lock+unlock on names private to the client (16 each) */
    SVC_UNCONTENDED_SLOW, /* the same with the one-sided fast path disabled (two-sided) */
    SVC_CONVERT,          /* held NL lock: convert NL->EX, then EX->NL */
    SVC_LVB_READ,         /* one shared resource: NL->PR with VALBLK (checks the value), ->NL */
    SVC_LVB_WRITE,        /* private resource: NL->EX reading the LVB (checks it), EX->NL
                             writing it + 1 */
    SVC_UNIFORM,          /* EX lock+unlock on one of R shared resources, uniform */
    SVC_ZIPF,             /* the same, Zipf-skewed (theta) */
    SVC_HOT_READERS,      /* one hot resource: PR lock+unlock */
    SVC_HOT_WRITERS,      /* one hot resource: EX lock+unlock */
    SVC_HOT_MIXED,        /* one hot resource: EX 1 in 5, PR otherwise */
    SVC_TXN,              /* a transaction: K resources of R (Zipf), locked in name order
                             (one EX, the rest PR), held hold_us, released in reverse */
    SVC_REDIS,            /* Redis SET NX PX + compare-and-delete on private keys */
    SVC_CAS_FLOOR,        /* the raw transport floor: one CAS round trip (rt_cas_sync) on a
                             word of an `rdlm-pingpong server`, no lock service */
    SVC_NSCENARIOS
};

struct svc_spec {
    enum svc_scenario scenario;
    int clients;         /* 1..SVC_MAX_CLIENTS */
    int procs;           /* clients are processes (1) or threads of this process (0) */
    double seconds;      /* measured time */
    double warmup;       /* seconds of the same workload before measuring */
    unsigned resources;  /* R for UNIFORM, ZIPF, TXN */
    double theta;        /* Zipf skew for ZIPF, TXN */
    unsigned txn_locks;  /* K for TXN */
    unsigned hold_us;    /* TXN: how long the locks are held (busy) */
    int redis_port;      /* REDIS */
    int floor_port;      /* CAS_FLOOR: the rdlm-pingpong server on 127.0.0.1 */
    int floor_rdma;      /* CAS_FLOOR: rdma back end (else tcp) */
    int dispatch_thread; /* handles with a dispatch thread (default: RDLM_LS_FD_DISPATCH) */
};
#define SVC_MAX_CLIENTS 64

struct svc_result {
    uint64_t ops;
    double seconds, ops_per_s;
    double p50_us, p90_us, p99_us, p999_us, max_us;
    uint64_t one_sided, two_sided, cas_retries; /* librdlm's counters over the measured time */
    char error[160];                            /* set when the run failed */
};

const char *svc_scenario_name(enum svc_scenario s);
/* Run one scenario; 0, or -1 with res->error. Keeps the result for svc_write_results, merged
 * with the earlier runs of the same scenario, kind and client count (interleaved rounds). */
int svc_run(const struct svc_spec *spec, struct svc_result *res);
/* The process-mode client: main() calls this first when argv[1] is "--svc-child". */
int svc_child_main(int argc, char **argv);
/* Write every kept run to DIR/latency.json (spec, counts, percentiles, histogram buckets),
 * DIR/data/runs.tsv, DIR/data/cdf/SCENARIO-MODE-N.dat and DIR/data/tput/SCENARIO-MODE.dat.
 * 0 or -1. */
int svc_write_results(const char *dir, const char *backend, const char *mode);

#ifdef __cplusplus
}
#endif

#endif /* RDLM_PERF_SVC_WORKLOADS_H */
