# master/: the lock engine (a pure library, librdlmengine.a) and, later, rdlmd.
ENGINE_SRCS := $(filter-out %_test.c,$(wildcard master/engine*.c master/pool.c))
$(eval $(call c_library,rdlmengine,$(ENGINE_SRCS)))
