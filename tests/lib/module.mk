# tests/lib/: librdlm's native API against a real local cluster (started by each test with
# rdlmctl, through cluster_fixture.c). run-tests runs each listed path without arguments, so a
# generated wrapper passes the build directory.
LIBTEST_FIXTURE := tests/lib/cluster_fixture.c tests/lib/raw_conn.c
LIBTESTS := test_api test_glc test_orphan test_cancel_recovery test_freeze

$(foreach t,$(LIBTESTS),$(eval $(call c_program,tests/lib/$(t).bin,tests/lib/$(t).c $(LIBTEST_FIXTURE),$(RDLM_CLIENT_LIBS),-lcmocka $(RDLM_CLIENT_LDLIBS),PROGRAMS)))
TESTS += $(addprefix $(BUILD)/tests/lib/,$(LIBTESTS))
$(BUILD)/tests/lib/%: $(BUILD)/tests/lib/%.bin $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@printf '#!/bin/sh\nRDLM_BUILD=%s exec %s "$$@"\n' "$(abspath $(BUILD))" "$(abspath $<)" >$@
	@chmod +x $@
# test_glc on rxe0 (soft-roce/): the same binary over the RDMA transport.
PROGRAMS += $(BUILD)/tests/lib/test_glc_rdma
SOFTROCE_SUITES += $(BUILD)/tests/lib/test_glc_rdma
$(BUILD)/tests/lib/test_glc_rdma: $(BUILD)/tests/lib/test_glc.bin $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@printf '#!/bin/sh\nRDLM_FIXTURE_TRANSPORT=rdma RDLM_BUILD=%s exec %s "$$@"\n' "$(abspath $(BUILD))" "$(abspath $<)" >$@
	@chmod +x $@
# test_orphan on rxe0: the same binary over the RDMA transport.
PROGRAMS += $(BUILD)/tests/lib/test_orphan_rdma
SOFTROCE_SUITES += $(BUILD)/tests/lib/test_orphan_rdma
$(BUILD)/tests/lib/test_orphan_rdma: $(BUILD)/tests/lib/test_orphan.bin $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@printf '#!/bin/sh\nRDLM_FIXTURE_TRANSPORT=rdma RDLM_BUILD=%s exec %s "$$@"\n' "$(abspath $(BUILD))" "$(abspath $<)" >$@
	@chmod +x $@
# test_cancel_recovery on rxe0: the same binary over the RDMA transport.
PROGRAMS += $(BUILD)/tests/lib/test_cancel_recovery_rdma
SOFTROCE_SUITES += $(BUILD)/tests/lib/test_cancel_recovery_rdma
$(BUILD)/tests/lib/test_cancel_recovery_rdma: $(BUILD)/tests/lib/test_cancel_recovery.bin $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@printf '#!/bin/sh\nRDLM_FIXTURE_TRANSPORT=rdma RDLM_BUILD=%s exec %s "$$@"\n' "$(abspath $(BUILD))" "$(abspath $<)" >$@
	@chmod +x $@
