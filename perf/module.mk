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
