# lib/: librdlm, the client library applications link (with the common and transport
# libraries, and the engine library for its argument checks and tables).
LIBRDLM_SRCS := $(wildcard lib/*.c)
$(eval $(call c_library,rdlm,$(LIBRDLM_SRCS)))
# What a program linked with librdlm needs, in link order.
RDLM_CLIENT_LIBS := $(BUILD)/librdlm.a $(BUILD)/librdlmengine.a $(BUILD)/librdlmcommon.a \
                    $(BUILD)/librdlmverbs.a
RDLM_CLIENT_LDLIBS := -libverbs -lrdmacm -linih -lpthread
