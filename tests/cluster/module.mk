# tests/cluster/: the multi-process cluster test suite (docs/testing.md).
#
#   checker           verifies workload event logs (mutual exclusion, one completion per
#                     request, LVB rules); test_checker proves it catches planted violations.
#   workload          a client that runs a seeded random lock workload and logs every event;
#                     workload_mock is the same over mock_rdlm.c, for test_harness.
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

# The harness self-test: the workload linked with an in-process mock of the client library
# (mock_rdlm.c over the lock engine); correct runs must pass the checker, planted bugs must not.
$(eval $(call c_program,tests/cluster/workload_mock,tests/cluster/workload.c tests/cluster/mock_rdlm.c,$(BUILD)/librdlmengine.a,-lpthread,PROGRAMS))
TESTS += $(CLUSTER_DIR)/test_harness
$(CLUSTER_DIR)/test_harness: tests/cluster/harness_selftest.sh $(CLUSTER_DIR)/workload_mock $(CLUSTER_DIR)/checker tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/harness_selftest.sh" "%s/$(CLUSTER_DIR)/workload_mock" "%s/$(CLUSTER_DIR)/checker"\n' "$(CURDIR)" "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@

# The workload and the cluster test exist once the client library does (lib/module.mk declares
# librdlm.a); the daemon and rdlmctl are prerequisites when their module declares them.
ifneq ($(filter $(BUILD)/librdlm.a,$(LIBRARIES)),)
CLUSTER_LIBS := $(or $(RDLM_CLIENT_LIBS),$(BUILD)/librdlm.a $(BUILD)/librdlmcommon.a $(BUILD)/librdlmverbs.a)
CLUSTER_LDLIBS := $(or $(RDLM_CLIENT_LDLIBS),-libverbs -lrdmacm -linih -lpthread)
$(eval $(call c_program,tests/cluster/workload,tests/cluster/workload.c,$(CLUSTER_LIBS),$(CLUSTER_LDLIBS),PROGRAMS))

CLUSTER_DAEMON := $(filter $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl,$(PROGRAMS))
TESTS += $(CLUSTER_DIR)/test_cluster
$(CLUSTER_DIR)/test_cluster: tests/cluster/run_cluster_test.sh $(CLUSTER_DIR)/workload $(CLUSTER_DIR)/checker $(CLUSTER_DAEMON) tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/run_cluster_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@

# The same suite on rxe (soft-roce/: `make test-softroce`): rdma transport, 3 clients per
# scenario (the TCG guest is slow), the negative scenario left out (its garbage is raw TCP).
PROGRAMS += $(CLUSTER_DIR)/test_cluster_rdma
SOFTROCE_SUITES += $(CLUSTER_DIR)/test_cluster_rdma
$(CLUSTER_DIR)/test_cluster_rdma: $(CLUSTER_DIR)/test_cluster
	@printf '#!/bin/sh\nRDLM_CLUSTER_TRANSPORT=rdma RDLM_CLUSTER_PROCS=3 RDLM_CLUSTER_ONLY="fast|nofast" exec "%s/tests/cluster/run_cluster_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
endif

# Node failure under load (run_recovery_test.sh): a node and its clients killed per round,
# recovery time, LVB recovery rules, checker over all logs.
ifneq ($(filter $(BUILD)/librdlm.a,$(LIBRARIES)),)
$(eval $(call c_program,tests/cluster/recovery_probe,tests/cluster/recovery_probe.c,$(CLUSTER_LIBS),$(CLUSTER_LDLIBS),PROGRAMS))
TESTS += $(CLUSTER_DIR)/test_recovery
$(CLUSTER_DIR)/test_recovery: tests/cluster/run_recovery_test.sh $(CLUSTER_DIR)/workload $(CLUSTER_DIR)/checker $(CLUSTER_DIR)/recovery_probe $(CLUSTER_DAEMON) tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/run_recovery_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
# A network partition made with network namespaces (run_partition_test.sh; SKIP without root).
TESTS += $(CLUSTER_DIR)/test_partition
$(CLUSTER_DIR)/test_partition: tests/cluster/run_partition_test.sh $(CLUSTER_DIR)/workload $(CLUSTER_DIR)/checker $(CLUSTER_DIR)/recovery_probe $(CLUSTER_DAEMON) tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/run_partition_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
# The same partition made by dropping connections (RDLM_PARTITION_MODE=drop: rdlmctl isolate in
# daemons started with RDLM_FAULT_INJECTION=1): no namespaces, no root, both builds.
# test_partition_rdma: that on rxe (rxe does not work inside namespaces), 3 clients.
TESTS += $(CLUSTER_DIR)/test_partition_drop
$(CLUSTER_DIR)/test_partition_drop: $(CLUSTER_DIR)/test_partition
	@printf '#!/bin/sh\nRDLM_PARTITION_MODE=drop exec "%s/tests/cluster/run_partition_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
PROGRAMS += $(CLUSTER_DIR)/test_partition_rdma
SOFTROCE_SUITES += $(CLUSTER_DIR)/test_partition_rdma
$(CLUSTER_DIR)/test_partition_rdma: $(CLUSTER_DIR)/test_partition
	@printf '#!/bin/sh\nRDLM_PARTITION_MODE=drop RDLM_PARTITION_TRANSPORT=rdma RDLM_PARTITION_PROCS=3 exec "%s/tests/cluster/run_partition_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
PROGRAMS += $(CLUSTER_DIR)/test_recovery_rdma
SOFTROCE_SUITES += $(CLUSTER_DIR)/test_recovery_rdma
$(CLUSTER_DIR)/test_recovery_rdma: $(CLUSTER_DIR)/test_recovery
	@printf '#!/bin/sh\nRDLM_CLUSTER_TRANSPORT=rdma RDLM_RECOVERY_ROUNDS=2 RDLM_RECOVERY_PROCS=3 exec "%s/tests/cluster/run_recovery_test.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
endif

# The deadlock search end to end (test_deadlock.sh + deadlock_client.c): planted cycles of two
# and three owners across masters, transactions (xid), conversion deadlock, a long wait that
# is none, NODLCKWT/NODLCKBLK, rdlmctl deadlocks. test_deadlock_rdma: the same on rxe.
ifneq ($(filter $(BUILD)/librdlm.a,$(LIBRARIES)),)
$(eval $(call c_program,tests/cluster/deadlock_client,tests/cluster/deadlock_client.c tests/lib/raw_conn.c,$(CLUSTER_LIBS),$(CLUSTER_LDLIBS),PROGRAMS))
TESTS += $(CLUSTER_DIR)/test_deadlock
$(CLUSTER_DIR)/test_deadlock: tests/cluster/test_deadlock.sh $(CLUSTER_DIR)/deadlock_client $(CLUSTER_DAEMON) tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/test_deadlock.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
PROGRAMS += $(CLUSTER_DIR)/test_deadlock_rdma
SOFTROCE_SUITES += $(CLUSTER_DIR)/test_deadlock_rdma
$(CLUSTER_DIR)/test_deadlock_rdma: $(CLUSTER_DIR)/test_deadlock
	@printf '#!/bin/sh\nRDLM_DEADLOCK_TRANSPORT=rdma RDLM_DEADLOCK_WAIT_MS=1000 DL_BOUND_MS=4000 exec "%s/tests/cluster/test_deadlock.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
endif

# Recovery domains end to end (test_rdomain.sh + rdomain_client.c): holders killed, collect,
# validate, MORE_TO_RECOVER, a node lost, INVALIDATE, HASLOCKS, groups, hostile MSG_RD.
ifneq ($(filter $(BUILD)/librdlm.a,$(LIBRARIES)),)
$(eval $(call c_program,tests/cluster/rdomain_client,tests/cluster/rdomain_client.c tests/lib/raw_conn.c,$(CLUSTER_LIBS),$(CLUSTER_LDLIBS),PROGRAMS))
TESTS += $(CLUSTER_DIR)/test_rdomain
$(CLUSTER_DIR)/test_rdomain: tests/cluster/test_rdomain.sh $(CLUSTER_DIR)/rdomain_client $(CLUSTER_DAEMON) tests/cluster/module.mk
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec "%s/tests/cluster/test_rdomain.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
PROGRAMS += $(CLUSTER_DIR)/test_rdomain_rdma
SOFTROCE_SUITES += $(CLUSTER_DIR)/test_rdomain_rdma
$(CLUSTER_DIR)/test_rdomain_rdma: $(CLUSTER_DIR)/test_rdomain
	@printf '#!/bin/sh\nRDLM_RDOMAIN_TRANSPORT=rdma exec "%s/tests/cluster/test_rdomain.sh" "%s/$(BUILD)"\n' "$(CURDIR)" "$(CURDIR)" >$@
	@chmod +x $@
endif
