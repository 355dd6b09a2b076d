# tests/lib/: librdlm's native API against a real 1-node cluster (started by the test with
# rdlmctl). run-tests runs each listed path without arguments, so a generated wrapper passes
# the build directory.
$(eval $(call c_program,tests/lib/test_api.bin,tests/lib/test_api.c,$(RDLM_CLIENT_LIBS),-lcmocka $(RDLM_CLIENT_LDLIBS),PROGRAMS))
TESTS += $(BUILD)/tests/lib/test_api
$(BUILD)/tests/lib/test_api: $(BUILD)/tests/lib/test_api.bin $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
	@printf '#!/bin/sh\nRDLM_BUILD=%s exec %s "$$@"\n' "$(abspath $(BUILD))" "$(abspath $<)" >$@
	@chmod +x $@
