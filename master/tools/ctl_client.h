/*
 * master/tools/ctl_client.h - what rdlmctl asks the running daemons (STATUS, LS_LIST, DUMP
 * over the service protocol, docs/protocol.md).  Implemented by master/ctl_client.c; until it
 * exists, ctl_client_stub.c provides weak placeholders.
 *
 * Each call connects to the daemons of cfg, writes a human-readable answer to out and returns
 * 0, or prints why it failed on stderr and returns a negative errno.
 */
#ifndef RDLM_MASTER_TOOLS_CTL_CLIENT_H
#define RDLM_MASTER_TOOLS_CTL_CLIENT_H

#include <stdio.h>

#include "common/config.h"

/* Every node: up or down, epoch, shards, lockspaces, resources, connections. */
int rdlm_ctl_status(const struct rdlm_cluster_config *cfg, FILE *out);
/* Every lockspace known to the cluster, with its resource counts per node. */
int rdlm_ctl_lockspaces(const struct rdlm_cluster_config *cfg, FILE *out);
/* The deadlocks every shard resolved (cycle, victim), from its ring of recent ones. */
int rdlm_ctl_deadlocks(const struct rdlm_cluster_config *cfg, FILE *out);
/* One resource at its master: mode of the lock word, queues, LVB, interest set. */
int rdlm_ctl_dump(const struct rdlm_cluster_config *cfg, const char *ls, const char *resource,
                  FILE *out);

/* Fault injection (docs/operations.md): node's daemon does op (enum fault_op, common/proto.h):
 * isolates the n nodes ids (FAULT_ISOLATE), loses its lock completions (FAULT_LOSE_COMPLETIONS,
 * n = 0), or ends both (FAULT_HEAL, n = 0). 0, -EPERM if the daemon refused (its reason on
 * stderr), or another -errno. */
int rdlm_ctl_fault(const struct rdlm_cluster_config *cfg, unsigned node, int op,
                   const unsigned *ids, unsigned n, FILE *out);

#endif
