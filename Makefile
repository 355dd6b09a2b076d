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

include $(sort $(wildcard */module.mk */*/module.mk))

.PHONY: all deps check test test-san run bench format clean
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

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
