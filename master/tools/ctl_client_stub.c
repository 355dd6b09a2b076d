/*
 * master/tools/ctl_client_stub.c - TEMPORARY weak placeholders for ctl_client.h, so that
 * rdlmctl links before master/ctl_client.c exists.  The real (strong) definitions win when
 * both are linked.  DELETE THIS FILE once master/ctl_client.c is in (and drop it from
 * master/tools/module.mk).
 */
#include <errno.h>

#include "master/tools/ctl_client.h"

static int not_yet(const char *what)
{
    fprintf(stderr, "rdlmctl: %s: not available yet (master/ctl_client.c is not written)\n", what);
    return -ENOSYS;
}

__attribute__((weak)) int rdlm_ctl_status(const struct rdlm_cluster_config *cfg, FILE *out)
{
    (void)cfg;
    (void)out;
    return not_yet("status");
}

__attribute__((weak)) int rdlm_ctl_lockspaces(const struct rdlm_cluster_config *cfg, FILE *out)
{
    (void)cfg;
    (void)out;
    return not_yet("lockspaces");
}

__attribute__((weak)) int rdlm_ctl_dump(const struct rdlm_cluster_config *cfg, const char *ls,
                                        const char *resource, FILE *out)
{
    (void)cfg;
    (void)ls;
    (void)resource;
    (void)out;
    return not_yet("dump");
}
