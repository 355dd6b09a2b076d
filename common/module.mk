# common/: what the client library and the daemon share: wire messages (proto), the lock-word
# encoding (lockword.h), placement (rendezvous hashing), the cluster file (config).
COMMON_SRCS := $(wildcard common/*.c)
$(eval $(call c_library,rdlmcommon,$(COMMON_SRCS)))
