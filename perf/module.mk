# perf/: benchmarks. `make bench` runs them (not part of `make test`: speed is decided here,
# never by timed tests).
$(eval $(call cxx_program,perf/bench_engine,perf/bench_engine.cc perf/engine_workloads.c,$(BUILD)/librdlmengine.a,-lbenchmark -lpthread,BENCHES))
$(eval $(call c_program,perf/engine_memory,perf/engine_memory.c,$(BUILD)/librdlmengine.a,,BENCHES))

.PHONY: bench-engine
bench-engine: $(BUILD)/perf/bench_engine $(BUILD)/perf/engine_memory
	@mkdir -p perf/results
	$(BUILD)/perf/engine_memory | tee perf/results/engine_memory.json
	$(BUILD)/perf/bench_engine --benchmark_min_time=0.5 --benchmark_out=perf/results/engine.json --benchmark_out_format=json
bench: bench-engine

# Latency of the whole service, fast path vs two-sided, on a local 3-node cluster.
$(eval $(call c_program,perf/service_lat,perf/service_lat.c,$(RDLM_CLIENT_LIBS),$(RDLM_CLIENT_LDLIBS),BENCHES))
BENCH_DIR := $(CURDIR)/build/bench-cluster
.PHONY: bench-service
bench-service: $(BUILD)/perf/service_lat $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@mkdir -p perf/results
	@$(BUILD)/master/rdlmctl down --dir $(BENCH_DIR) >/dev/null 2>&1 || true
	@$(BUILD)/master/rdlmctl up 3 --dir $(BENCH_DIR) >/dev/null
	@RDLM_CONFIG=$(BENCH_DIR)/cluster.ini $(BUILD)/perf/service_lat -n 5000 --json perf/results/service_lat.json; \
	 rc=$$?; $(BUILD)/master/rdlmctl down --dir $(BENCH_DIR) >/dev/null; exit $$rc
bench: bench-service bench-compare

# The ratios of issue 8 from one run (perf/run-bench; BENCH_MODE=short|full).
BENCH_MODE ?= short
.PHONY: bench-compare
bench-compare: $(BUILD)/perf/service_lat $(BUILD)/perf/hot_lock $(BUILD)/perf/redis_lat \
               $(BUILD)/verbs/rdlm-pingpong $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@perf/run-bench $(BUILD) $(BENCH_MODE)

$(eval $(call c_program,perf/redis_lat,perf/redis_lat.c,,,BENCHES))
$(eval $(call c_program,perf/hot_lock,perf/hot_lock.c,$(RDLM_CLIENT_LIBS),$(RDLM_CLIENT_LDLIBS),BENCHES))

# The same on an RDMA device: rxe0 in the Soft-RoCE guest where the host has none (inside the
# TCG guest only the busy-polled fast path gives meaningful figures; docs/performance.md).
.PHONY: bench-softroce
bench-softroce: $(BUILD)/perf/service_lat $(BUILD)/perf/hot_lock $(BUILD)/verbs/rdlm-pingpong \
                $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@soft-roce/run -- perf/run-bench $(BUILD) $(BENCH_MODE) rdma
