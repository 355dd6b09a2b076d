# tests/tcdlm/: the TruCluster DLM front end. The examples of docs/examples/tcdlm/ are built as
# plain TruCluster programs (`#include <sys/dlm.h>`, found in include/rdlm/ as pkg-config's
# Cflags would find it) and run by tests/lib/run_examples.sh against a local cluster; test_tcdlm
# (cmocka, cluster started through tests/lib/cluster_fixture.c) covers every call and every
# status each can return; test_install.sh installs into a temporary root and builds an
# example with pkg-config. run-tests runs each listed path without arguments, so generated
# wrappers pass the build directory.
TCDLM_EXAMPLES := $(basename $(notdir $(wildcard docs/examples/tcdlm/*.c)))
TCDLM_LINK := $(TCDLM_LIB) $(RDLM_CLIENT_LIBS)

$(BUILD)/docs/examples/tcdlm/%.o $(BUILD)/tests/tcdlm/%.o: CPPFLAGS_COMMON += -Iinclude/rdlm
$(foreach e,$(TCDLM_EXAMPLES),$(eval $(call c_program,docs/examples/tcdlm/$(e),docs/examples/tcdlm/$(e).c,$(TCDLM_LINK),$(RDLM_CLIENT_LDLIBS),PROGRAMS)))
TCDLM_EXAMPLE_BINS := $(addprefix $(BUILD)/docs/examples/tcdlm/,$(TCDLM_EXAMPLES))

$(eval $(call c_program,tests/tcdlm/test_tcdlm.bin,tests/tcdlm/test_tcdlm.c tests/lib/cluster_fixture.c,$(TCDLM_LINK),-lcmocka $(RDLM_CLIENT_LDLIBS),PROGRAMS))

TCDLM_CLUSTER := $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl

TESTS += $(BUILD)/tests/tcdlm/test_tcdlm
$(BUILD)/tests/tcdlm/test_tcdlm: $(BUILD)/tests/tcdlm/test_tcdlm.bin $(TCDLM_CLUSTER)
	@printf '#!/bin/sh\nRDLM_BUILD=%s exec %s "$$@"\n' "$(abspath $(BUILD))" "$(abspath $<)" >$@
	@chmod +x $@

TESTS += $(BUILD)/tests/tcdlm/examples
$(BUILD)/tests/tcdlm/examples: tests/lib/run_examples.sh $(TCDLM_EXAMPLE_BINS) $(TCDLM_CLUSTER)
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec %s %s tcdlm lvb_counter bast_downconvert noqueue_trylock group_lock recovery_domain\n' "$(abspath $<)" "$(abspath $(BUILD))" >$@
	@chmod +x $@

TESTS += $(BUILD)/tests/tcdlm/install
$(BUILD)/tests/tcdlm/install: tests/tcdlm/test_install.sh $(TCDLM_CLUSTER) $(TCDLM_LIB) $(BUILD)/master/rdlm-demo
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nRDLM_SAN=%s exec %s %s "$$@"\n' "$(SAN)" "$(abspath $<)" "$(abspath $(BUILD))" >$@
	@chmod +x $@
