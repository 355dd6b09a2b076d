# tests/common/: cmocka tests of the cluster file (common/config.c), placement
# (common/placement.c), the deadlock-search messages (common/proto.c, test_proto_dl) and the
# daemon's topology helpers (master/topology.c), and a script test of `rdlmctl up/down` with a
# fake daemon (test_rdlmctl.sh).
$(eval $(call c_program,tests/common/test_config,tests/common/test_config.c,$(BUILD)/librdlmcommon.a,-lcmocka -linih,TESTS))
$(eval $(call c_program,tests/common/test_placement,tests/common/test_placement.c,$(BUILD)/librdlmcommon.a,-lcmocka,TESTS))
$(eval $(call c_program,tests/common/test_proto_dl,tests/common/test_proto_dl.c,$(BUILD)/librdlmcommon.a,-lcmocka,TESTS))
$(eval $(call c_program,tests/common/test_proto_glc,tests/common/test_proto_glc.c,$(BUILD)/librdlmcommon.a,-lcmocka,TESTS))
$(eval $(call c_program,tests/common/test_proto_rd,tests/common/test_proto_rd.c,$(BUILD)/librdlmcommon.a,-lcmocka,TESTS))
$(eval $(call c_program,tests/common/test_proto_orphan,tests/common/test_proto_orphan.c,$(BUILD)/librdlmcommon.a,-lcmocka,TESTS))
$(eval $(call c_program,tests/common/test_topology,tests/common/test_topology.c master/topology.c,,-lcmocka -lhwloc,TESTS))

# run-tests runs each test with no arguments: a two-line wrapper hands the script the build
# directory (whose master/rdlmctl it tests).
TESTS += $(BUILD)/tests/common/test_rdlmctl
$(BUILD)/tests/common/test_rdlmctl: tests/common/test_rdlmctl.sh tests/common/fake_rdlmd $(BUILD)/master/rdlmctl
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec "%s/tests/common/test_rdlmctl.sh" "%s/$(BUILD)" "$$@"\n' "$(CURDIR)" "$(CURDIR)" >$@
	chmod +x $@

# rdlmctl isolate / heal (fault injection, master/fault.c) against real daemons: malformed
# arguments, refusal without RDLM_FAULT_INJECTION=1, isolate/status/heal with it.
TESTS += $(BUILD)/tests/common/test_fault_ctl
$(BUILD)/tests/common/test_fault_ctl: tests/common/test_fault_ctl.sh $(BUILD)/master/rdlmctl $(BUILD)/master/rdlmd
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/common/test_fault_ctl.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
