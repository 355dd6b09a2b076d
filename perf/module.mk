# perf/: benchmarks. `make bench` runs them (not part of `make test`: speed is decided here,
# never by timed tests); `make all` builds them, in every build (SAN=1 too).
$(eval $(call cxx_program,perf/bench_engine,perf/bench_engine.cc perf/engine_workloads.c,$(BUILD)/librdlmengine.a,-lbenchmark -lpthread,BENCHES))
$(eval $(call c_program,perf/engine_memory,perf/engine_memory.c,$(BUILD)/librdlmengine.a,,BENCHES))
# The service suite: Google Benchmark shim over the C scenarios and their runner.
BENCH_SERVICE_SRCS := perf/bench_service.cc perf/svc_workloads.c perf/lat_hist.c perf/redis_lock.c
$(eval $(call cxx_program,perf/bench_service,$(BENCH_SERVICE_SRCS),$(RDLM_CLIENT_LIBS),$(RDLM_CLIENT_LDLIBS) -lbenchmark -lm,BENCHES))

BENCH_MODE ?= short
BENCH_SERVICE_DEPS := $(BUILD)/perf/bench_service $(BUILD)/verbs/rdlm-pingpong \
                      $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl

# make bench: dependencies, then the engine alone, then the service suite whose summary table
# (the ratios of issue 8, from one run) is the last thing printed. BENCH_MODE=short|full.
.PHONY: bench-engine bench-service bench-softroce
bench:
	@scripts/install-deps
	@$(MAKE) --no-print-directory bench-engine
	@$(MAKE) --no-print-directory bench-service

bench-engine: $(BUILD)/perf/bench_engine $(BUILD)/perf/engine_memory
	@mkdir -p perf/results
	$(BUILD)/perf/engine_memory | tee perf/results/engine_memory.json
	$(BUILD)/perf/bench_engine --benchmark_min_time=0.5 --benchmark_out=perf/results/engine.json --benchmark_out_format=json

# The service suite on tcp over loopback: a 3-node local cluster, the CAS floor, Redis, every
# scenario, plots, perf/results/summary.json and the table (perf/run-bench).
bench-service: $(BENCH_SERVICE_DEPS)
	@perf/run-bench $(BUILD) $(BENCH_MODE) tcp

# The same on an RDMA device: a real NIC or rxe0 on the host, else rxe0 in the Soft-RoCE guest
# (soft-roce/run); the floor is perftest's ib_atomic_lat on that device. Results in
# perf/results/rdma/ and perf/results/summary-rdma.json.
bench-softroce: $(BENCH_SERVICE_DEPS)
	@scripts/install-deps
	@soft-roce/run -- perf/run-bench $(BUILD) $(BENCH_MODE) rdma
