# soft-roce/module.mk: `make test-softroce`, the RDMA suites on a real rxe device (see
# docs/soft-roce.md). `make test` runs it through test-extra, after the unit tests.
#
# SOFTROCE_SUITES lists the RDMA-dependent test programs (paths from the repository root). They
# all run in ONE Soft-RoCE boot (or directly on a host RDMA device) under tests/run-tests, with
# RDLM_REQUIRE_RDMA=1 so that they fail rather than skip without a device; a listed program that
# is not built is reported and left out. Other modules add theirs with
#   SOFTROCE_SUITES += $(BUILD)/tests/<dir>/<program>
# Programs that make knows how to build (in TESTS/PROGRAMS/BENCHES) are built first.
# Before the suites, tests/softroce/test-vm-run checks the tooling itself (exit codes, timeout,
# streaming, no qemu left behind). RDLM_SKIP_SOFTROCE=1 skips everything, loudly, on hosts that
# can neither use an RDMA device nor boot a guest; without it such hosts FAIL this target.

SOFTROCE_SUITES += soft-roce/selftest
SOFTROCE_SUITES += $(BUILD)/tests/verbs/test_transport

.PHONY: test-softroce softroce-prepare
test-extra: test-softroce

test-softroce:
	@echo "== RDMA suites on Soft-RoCE or a host RDMA device (soft-roce/run)"
	$(if $(strip $(filter $(SOFTROCE_SUITES),$(TESTS) $(PROGRAMS) $(BENCHES))),@$(MAKE) --no-print-directory -s $(filter $(SOFTROCE_SUITES),$(TESTS) $(PROGRAMS) $(BENCHES)))
	@soft-roce/test-suites $(SOFTROCE_SUITES)

softroce-prepare:
	@soft-roce/prepare
