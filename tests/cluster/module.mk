# tests/cluster/: the multi-process cluster test suite (docs/testing.md).
#
#   checker           verifies workload event logs (mutual exclusion, one completion per
#                     request, LVB rules); test_checker proves it catches planted violations.
#   workload          a client that runs a seeded random lock workload and logs every event.
#   test_cluster      runs a 3-node local cluster (rdlmctl up 3), the workload in several
#                     scenarios, the negative tests (garbage bytes, SIGKILL), then the checker.
#
# tests/run-tests runs each TESTS entry without arguments, so both tests are small generated
# wrappers that exec the real script with this build's directory.
CLUSTER_DIR := $(BUILD)/tests/cluster

$(eval $(call c_program,tests/cluster/checker,tests/cluster/checker.c,,,PROGRAMS))

TESTS += $(CLUSTER_DIR)/test_checker
$(CLUSTER_DIR)/test_checker: tests/cluster/checker_selftest.sh $(CLUSTER_DIR)/checker tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/checker_selftest.sh" "%s/$(CLUSTER_DIR)/checker"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@

# The workload and the cluster test exist once the client library does (lib/module.mk declares
# librdlm.a); the daemon and rdlmctl are prerequisites when their module declares them.
ifneq ($(filter $(BUILD)/librdlm.a,$(LIBRARIES)),)
CLUSTER_LIBS := $(BUILD)/librdlm.a $(BUILD)/librdlmcommon.a $(BUILD)/librdlmverbs.a
CLUSTER_LDLIBS := -libverbs -lrdmacm -linih -lpthread $(if $(wildcard /usr/include/xxhash.h),-lxxhash)
$(eval $(call c_program,tests/cluster/workload,tests/cluster/workload.c,$(CLUSTER_LIBS),$(CLUSTER_LDLIBS),PROGRAMS))

CLUSTER_DAEMON := $(filter $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl,$(PROGRAMS))
TESTS += $(CLUSTER_DIR)/test_cluster
$(CLUSTER_DIR)/test_cluster: tests/cluster/run_cluster_test.sh $(CLUSTER_DIR)/workload $(CLUSTER_DIR)/checker $(CLUSTER_DAEMON) tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/run_cluster_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
endif
