# lib/libdlm/: the Linux libdlm front end (include/rdlm/libdlm.h), its own library
# librdlm-libdlm.a; a program links it before the client libraries (RDLM_CLIENT_LIBS).
# Installed by `make install` with the header, the pkg-config file rdlm-libdlm and the man
# pages of docs/man/libdlm/ (the INSTALL_* lists of the top Makefile).
LIBDLM_SRCS := $(wildcard lib/libdlm/*.c)
$(eval $(call c_library,rdlm-libdlm,$(LIBDLM_SRCS)))
LIBDLM_LIB := $(BUILD)/librdlm-libdlm.a

INSTALL_LIBS += $(LIBDLM_LIB)
INSTALL_PC += lib/libdlm/rdlm-libdlm.pc.in
INSTALL_MANS += $(wildcard docs/man/libdlm/*.[0-9]*)
