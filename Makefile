# rdlm top-level Makefile (GNU make).
#
# Each directory contributes a `module.mk` that declares its libraries, programs, tests and
# benchmarks with the helpers defined below; this file only holds the common flags and rules.
#
#   make            build everything (build/)
#   make SAN=1      the same with ASan+UBSan (build-san/)
#   make check      build and run the unit/cluster tests of this build
#   make test       install dependencies, then run the tests in the normal and the sanitizer
#                   build, then the Soft-RoCE suites (the README's test command)
#   make run        install dependencies and run the main demo
#   make bench      run the benchmarks in perf/
#   make format     clang-format every C source
#   make install    install libraries, headers, pkg-config files, man pages and programs
#                   (PREFIX=/usr/local, DESTDIR honoured)

SHELL := /bin/bash
.DEFAULT_GOAL := all

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS :=
endif

CC ?= gcc
CXX ?= g++
AR ?= ar
OPT ?= -O2
DEPFLAGS = -MMD -MP
CPPFLAGS_COMMON := -D_GNU_SOURCE -Iinclude -I.
CFLAGS_COMMON := -std=c11 -Wall -Wextra -Werror -g $(OPT) -pthread $(SANFLAGS)
CXXFLAGS_COMMON := -std=c++17 -Wall -Wextra -Werror -g $(OPT) -pthread $(SANFLAGS)
LDFLAGS_COMMON := -pthread $(SANFLAGS)

LIBRARIES :=
PROGRAMS :=
TESTS :=
BENCHES :=

# $(call c_library,name,sources) -> $(BUILD)/lib<name>.a
define c_library
LIBRARIES += $(BUILD)/lib$(1).a
$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/%.o,$(2))
	@mkdir -p $$(@D)
	@rm -f $$@
	$(AR) rcs $$@ $$^
endef

# $(call c_program,output-path,sources,static-libs,ldlibs,kind)   kind = PROGRAMS|TESTS|BENCHES
define c_program
$(5) += $(BUILD)/$(1)
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(2)) $(3)
	@mkdir -p $$(@D)
	$(CC) $(LDFLAGS_COMMON) -o $$@ $$^ $(4)
endef

# $(call cxx_program,output-path,c-and-cc-sources,static-libs,ldlibs,kind)
define cxx_program
$(5) += $(BUILD)/$(1)
$(BUILD)/$(1): $(patsubst %.cc,$(BUILD)/%.o,$(patsubst %.c,$(BUILD)/%.o,$(2))) $(3)
	@mkdir -p $$(@D)
	$(CXX) $(LDFLAGS_COMMON) -o $$@ $$^ $(4)
endef

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(CFLAGS_COMMON) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS_COMMON) $(CXXFLAGS_COMMON) $(DEPFLAGS) -c -o $@ $<

# Installation lists: a module.mk adds what `make install` copies (see install below).
INSTALL_LIBS :=  # static libraries (besides librdlm.a, which install builds)
INSTALL_PC :=    # pkg-config templates (name.pc.in -> name.pc, @VARS@ substituted)
INSTALL_MANS :=  # man pages (name.3 -> man3/, name.3tc -> man3/)
INSTALL_SBIN :=
INSTALL_BIN :=

include $(sort $(wildcard */module.mk */*/module.mk))

.PHONY: all deps check test test-san run bench format clean install
all: $(LIBRARIES) $(PROGRAMS) $(TESTS) $(BENCHES)

deps:
	@scripts/install-deps

check: $(LIBRARIES) $(PROGRAMS) $(TESTS)
	@tests/run-tests $(BUILD) $(TESTS)

# Every stage runs even if an earlier one failed; the tally prints one closing line for all.
TALLY := $(CURDIR)/build/test-tally
test: deps
	@mkdir -p build && : >$(TALLY)
	@echo "== unit and cluster tests (build/)"
	@-RDLM_TEST_TALLY=$(TALLY) $(MAKE) --no-print-directory -s check
	@echo "== the same under ASan+UBSan (build-san/)"
	@-RDLM_TEST_TALLY=$(TALLY) $(MAKE) --no-print-directory -s SAN=1 check
	@-RDLM_TEST_TALLY=$(TALLY) $(MAKE) --no-print-directory -s test-extra
	@echo "== summary"
	@tests/tally $(TALLY)

# Later suites (Soft-RoCE, cluster) hook in here by adding prerequisites in their module.mk.
.PHONY: test-extra
test-extra:

# The main job: a 3-node cluster on loopback doing real work, then what it did.
RUN_DIR := $(CURDIR)/build/run-cluster
run: deps
	@$(MAKE) --no-print-directory -s $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl $(BUILD)/master/rdlm-demo
	@$(BUILD)/master/rdlmctl down --dir $(RUN_DIR) >/dev/null 2>&1 || true
	@$(BUILD)/master/rdlmctl up 3 --shards 2 --dir $(RUN_DIR)
	@RDLM_CONFIG=$(RUN_DIR)/cluster.ini $(BUILD)/master/rdlm-demo -p 4 -t 3
	@echo; echo "== rdlmctl status"; $(BUILD)/master/rdlmctl status --dir $(RUN_DIR)
	@echo; echo "== rdlmctl dump demo counter"; $(BUILD)/master/rdlmctl dump demo counter --dir $(RUN_DIR)
	@echo; echo "The cluster is still up. Try: export RDLM_CONFIG=$(RUN_DIR)/cluster.ini;"
	@echo "  $(BUILD)/master/rdlmctl status | lockspaces | dump demo shared-1"
	@echo "  $(BUILD)/master/rdlmctl down --dir $(RUN_DIR)     # to stop it"

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cc')

# make install [PREFIX=/usr/local] [DESTDIR=] : libraries, headers, pkg-config files (rdlm,
# and one per front end), man pages, rdlmd and rdlmctl (sbin, as master/rdlmd.service expects),
# rdlm-demo. librdlm.a is installed as one archive holding the client library and everything it
# needs from common/, master/ (the engine's checks) and verbs/; `pkg-config --libs rdlm` adds
# the system libraries. Only static libraries are built (docs/operations.md section 7).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
RDLM_VERSION := 0.1.0
INSTALL_PC += lib/rdlm.pc.in
INSTALL_SBIN += $(BUILD)/master/rdlmd $(BUILD)/master/rdlmctl
INSTALL_BIN += $(BUILD)/master/rdlm-demo

$(BUILD)/dist/librdlm.a: $(RDLM_CLIENT_LIBS)
	@mkdir -p $(@D)
	@rm -f $@
	{ echo "CREATE $@"; for l in $^; do echo "ADDLIB $$l"; done; echo SAVE; echo END; } | $(AR) -M
	$(AR) s $@

install: $(BUILD)/dist/librdlm.a $(INSTALL_LIBS) $(INSTALL_SBIN) $(INSTALL_BIN)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR)/rdlm \
		$(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 644 $(BUILD)/dist/librdlm.a $(INSTALL_LIBS) $(DESTDIR)$(LIBDIR)/
	install -m 644 include/rdlm.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/rdlm/*.h $(DESTDIR)$(INCLUDEDIR)/rdlm/
	install -D -m 644 include/rdlm/sys/dlm.h $(DESTDIR)$(INCLUDEDIR)/rdlm/sys/dlm.h
	@for pc in $(INSTALL_PC); do \
		out=$(DESTDIR)$(PKGCONFIGDIR)/$$(basename $$pc .in); echo "  PC $$out"; \
		sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(RDLM_VERSION)|g' \
		    -e 's|@CLIENT_LDLIBS@|$(RDLM_CLIENT_LDLIBS)|g' $$pc >$$out || exit 1; \
	done
	@for m in $(INSTALL_MANS); do \
		sec=$${m##*.}; sec=$${sec:0:1}; echo "  MAN $(DESTDIR)$(MANDIR)/man$$sec/$$(basename $$m)"; \
		install -D -m 644 $$m $(DESTDIR)$(MANDIR)/man$$sec/$$(basename $$m) || exit 1; \
	done
	install -m 755 $(INSTALL_SBIN) $(DESTDIR)$(SBINDIR)/
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
