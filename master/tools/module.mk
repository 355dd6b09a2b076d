# master/tools/: rdlmctl, the operator's command (docs/operations.md).  Built next to rdlmd
# ($(BUILD)/master/) because `rdlmctl up` looks for rdlmd beside itself.
# ctl_client_stub.c holds weak placeholders for master/ctl_client.c (status, lockspaces,
# dump); drop it here once master/ctl_client.c is linked in.
RDLMCTL_SRCS := master/tools/rdlmctl.c master/tools/cluster_up.c master/tools/cluster_stop.c \
	master/tools/ctl_client_stub.c
$(eval $(call c_program,master/rdlmctl,$(RDLMCTL_SRCS),$(BUILD)/librdlmcommon.a,-linih,PROGRAMS))
