# tests/libdlm/: the libdlm front end. The examples of docs/examples/libdlm/ are built as
# plain libdlm programs (`#include <libdlm.h>`, found in include/rdlm/ as pkg-config's Cflags
# would find it) and run by tests/lib/run_examples.sh against a local cluster; test_libdlm (cmocka)
# covers every call, status and errno; test_install.sh installs into a temporary root and
# builds an example with pkg-config. run-tests runs each listed path without arguments, so
# generated wrappers pass the build directory.
LIBDLM_EXAMPLES := $(basename $(notdir $(wildcard docs/examples/libdlm/*.c)))
LIBDLM_LINK := $(LIBDLM_LIB) $(RDLM_CLIENT_LIBS)

$(BUILD)/docs/examples/libdlm/%.o $(BUILD)/tests/libdlm/%.o: CPPFLAGS_COMMON += -Iinclude/rdlm
$(foreach e,$(LIBDLM_EXAMPLES),$(eval $(call c_program,docs/examples/libdlm/$(e),docs/examples/libdlm/$(e).c,$(LIBDLM_LINK),$(RDLM_CLIENT_LDLIBS),PROGRAMS)))
LIBDLM_EXAMPLE_BINS := $(addprefix $(BUILD)/docs/examples/libdlm/,$(LIBDLM_EXAMPLES))

$(eval $(call c_program,tests/libdlm/test_libdlm.bin,tests/libdlm/test_libdlm.c,$(LIBDLM_LINK),-lcmocka $(RDLM_CLIENT_LDLIBS),PROGRAMS))

LIBDLM_CLUSTER := $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl

TESTS += $(BUILD)/tests/libdlm/test_libdlm
$(BUILD)/tests/libdlm/test_libdlm: $(BUILD)/tests/libdlm/test_libdlm.bin $(LIBDLM_CLUSTER)
	@printf '#!/bin/sh\nRDLM_BUILD=%s exec %s "$$@"\n' "$(abspath $(BUILD))" "$(abspath $<)" >$@
	@chmod +x $@

TESTS += $(BUILD)/tests/libdlm/examples
$(BUILD)/tests/libdlm/examples: tests/lib/run_examples.sh $(LIBDLM_EXAMPLE_BINS) $(LIBDLM_CLUSTER)
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec %s %s libdlm lvb_counter bast_downconvert noqueue_trylock orphan_adopt\n' "$(abspath $<)" "$(abspath $(BUILD))" >$@
	@chmod +x $@

TESTS += $(BUILD)/tests/libdlm/install
$(BUILD)/tests/libdlm/install: tests/libdlm/test_install.sh $(LIBDLM_CLUSTER) $(LIBDLM_LIB) $(BUILD)/master/rdlm-demo
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nRDLM_SAN=%s exec %s %s "$$@"\n' "$(SAN)" "$(abspath $<)" "$(abspath $(BUILD))" >$@
	@chmod +x $@
