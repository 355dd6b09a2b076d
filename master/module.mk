# master/: the lock engine (a pure library, librdlmengine.a) and rdlmd.
ENGINE_SRCS := $(wildcard master/engine*.c) master/pool.c
$(eval $(call c_library,rdlmengine,$(ENGINE_SRCS)))

RDLMD_SRCS := master/rdlmd.c master/shard.c master/mres.c master/serve.c master/transition.c \
              master/ctl.c master/membership.c master/recover.c master/topology.c \
              master/deadlock.c master/deadlock_search.c master/deadlock_graph.c \
              master/glc.c master/rd.c master/rd_res.c \
              master/outbox.c master/orphan.c master/keeper.c master/fault.c \
              master/alive.c
RDLMD_LIBS := $(BUILD)/librdlmengine.a $(BUILD)/librdlmcommon.a $(BUILD)/librdlmverbs.a
RDLMD_LDLIBS := -libverbs -lrdmacm -linih -lhwloc -lpthread
$(eval $(call c_program,master/rdlmd,$(RDLMD_SRCS),$(RDLMD_LIBS),$(RDLMD_LDLIBS),PROGRAMS))
