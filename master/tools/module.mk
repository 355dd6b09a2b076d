# master/tools/: rdlmctl, the operator's command (docs/operations.md).  Built next to rdlmd
# ($(BUILD)/master/) because `rdlmctl up` looks for rdlmd beside itself.
RDLMCTL_SRCS := master/tools/rdlmctl.c master/tools/cluster_up.c master/tools/cluster_stop.c \
	master/tools/ctl_client.c
$(eval $(call c_program,master/rdlmctl,$(RDLMCTL_SRCS),$(BUILD)/librdlmcommon.a $(BUILD)/librdlmverbs.a,-linih -libverbs -lrdmacm -lpthread,PROGRAMS))
