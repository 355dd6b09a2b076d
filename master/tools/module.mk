# master/tools/: rdlmctl, the operator's command (docs/operations.md).  Built next to rdlmd
# ($(BUILD)/master/) because `rdlmctl up` looks for rdlmd beside itself.
RDLMCTL_SRCS := master/tools/rdlmctl.c master/tools/cluster_up.c master/tools/cluster_stop.c \
	master/tools/ctl_client.c
$(eval $(call c_program,master/rdlmctl,$(RDLMCTL_SRCS),$(BUILD)/librdlmcommon.a $(BUILD)/librdlmverbs.a,-linih -libverbs -lrdmacm -lpthread,PROGRAMS))

# The main demo (`make run`): client processes doing real locking work on a local cluster.
$(eval $(call c_program,master/rdlm-demo,master/tools/rdlm-demo.c,$(RDLM_CLIENT_LIBS),$(RDLM_CLIENT_LDLIBS),PROGRAMS))
