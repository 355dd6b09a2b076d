# lib/tcdlm/: the TruCluster DLM front end (include/rdlm/tcdlm.h, <sys/dlm.h>), its own
# library librdlm-tcdlm.a; a program links it before the client libraries (RDLM_CLIENT_LIBS),
# never together with librdlm-libdlm.a (both define dlm_lock and dlm_unlock). Installed by
# `make install` with the headers, the pkg-config file rdlm-tcdlm and the man pages of
# docs/man/tcdlm/ (name.3tc, into man3).
TCDLM_SRCS := $(wildcard lib/tcdlm/*.c)
$(eval $(call c_library,rdlm-tcdlm,$(TCDLM_SRCS)))
TCDLM_LIB := $(BUILD)/librdlm-tcdlm.a

INSTALL_LIBS += $(TCDLM_LIB)
INSTALL_PC += lib/tcdlm/rdlm-tcdlm.pc.in
INSTALL_MANS += $(wildcard docs/man/tcdlm/*.3tc)
