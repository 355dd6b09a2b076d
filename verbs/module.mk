# verbs/: the transport (verbs/transport.h) - one interface, a tcp and an rdma back end.
# See docs/transport.md.
VERBS_SOURCES := verbs/transport.c verbs/onesided.c \
	verbs/tcp_frame.c verbs/tcp_ctx.c verbs/tcp_conn.c verbs/tcp_onesided.c \
	verbs/rdma_ctx.c verbs/rdma_probe.c verbs/rdma_cm.c verbs/rdma_qp.c verbs/rdma_onesided.c
VERBS_LDLIBS := -libverbs -lrdmacm

$(eval $(call c_library,rdlmverbs,$(VERBS_SOURCES)))

$(eval $(call c_program,tests/verbs/test_transport,tests/verbs/test_transport.c tests/verbs/harness.c,$(BUILD)/librdlmverbs.a,-lcmocka $(VERBS_LDLIBS),TESTS))

# rdlm-pingpong: CAS round-trip and SEND ping-pong latency between two processes (the floor).
$(eval $(call c_program,verbs/rdlm-pingpong,verbs/pingpong.c,$(BUILD)/librdlmverbs.a,$(VERBS_LDLIBS),PROGRAMS))
