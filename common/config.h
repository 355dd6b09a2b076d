/*
 * common/config.h - the cluster file (INI), shared by rdlmd, rdlmctl and librdlm.
 *
 *   [cluster]                    optional; every key has a default
 *   name = demo                  default "rdlm"
 *   transport = tcp              tcp | rdma | auto (default auto)
 *   shards = 2                   shards per node, 1..64 (default 1)
 *   deadlock_wait_ms = 1000      default 1000
 *   heartbeat_ms = 200           default 200
 *   toss_secs = 10               default 10
 *   node_timeout_ms = 2000       a daemon silent this long is lost (default 2000)
 *   fence_command = CMD %n       optional: run (sh -c) with %n = a lost node's id before its
 *                                resources are rebuilt; recovery waits for its exit status 0
 *   [node 1]                     node id 1..4095, at least one node
 *   address = 127.0.0.1          numeric IPv4 or IPv6 address (required)
 *   port = 7401                  shard i listens on port + i (required)
 *   shards = 2                   optional per-node override of [cluster] shards
 *   device = rxe0                optional ibverbs device for rdma (default: any)
 *
 * Every error names the file and line ("cluster.ini:7: unknown key 'adress' in [node 2]").
 * The format is documented for operators in docs/operations.md.
 */
#ifndef RDLM_COMMON_CONFIG_H
#define RDLM_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define RDLM_NODE_ID_MAX     4095u
#define RDLM_SHARDS_MAX      64u
#define RDLM_CONFIG_NAME_MAX 64u /* bytes, with the NUL */
#define RDLM_CONFIG_ADDR_MAX 64u
#define RDLM_CONFIG_DEFAULT  "/etc/rdlm/cluster.ini"

struct rdlm_node_config {
    uint32_t id; /* 1..RDLM_NODE_ID_MAX */
    char address[RDLM_CONFIG_ADDR_MAX];
    uint16_t port;   /* shard i listens on port + i */
    uint32_t shards; /* 1..RDLM_SHARDS_MAX, the [cluster] default unless overridden */
    char device[RDLM_CONFIG_NAME_MAX]; /* ibverbs device, "" = any */
};

struct rdlm_cluster_config {
    char name[RDLM_CONFIG_NAME_MAX];
    char transport[8]; /* "tcp", "rdma" or "auto" */
    uint32_t shards;   /* default shards per node */
    uint32_t deadlock_wait_ms;
    uint32_t heartbeat_ms;
    uint32_t toss_secs;
    uint32_t node_timeout_ms; /* silent this long: lost; half of it: not counted for quorum */
    char fence_command[256];  /* "" = none */
    size_t nnodes;
    struct rdlm_node_config *nodes; /* sorted by id */
    uint64_t fingerprint; /* of the name and the nodes (ids, addresses, ports, shards): daemons
                             of another cluster that reach ours (a reused port) are refused */
};

/* Parse the cluster file at path into *out.  Returns 0, or -1 with a message in err (naming
 * the file and line) and *out left empty (safe to rdlm_config_free). */
int rdlm_config_load(const char *path, struct rdlm_cluster_config *out, char *err, size_t errlen);
void rdlm_config_free(struct rdlm_cluster_config *cfg);

/* The node with that id, or NULL. */
const struct rdlm_node_config *rdlm_config_node(const struct rdlm_cluster_config *cfg, uint32_t id);

/* This host's node id: RDLM_NODE from the environment if set (it must name a node of cfg,
 * else -1 with errno EINVAL), otherwise the first node (by id) whose address is one of this
 * host's addresses, otherwise -1 with errno ENOENT. */
int rdlm_config_local_node(const struct rdlm_cluster_config *cfg);

/* RDLM_CONFIG from the environment if set and not empty, else RDLM_CONFIG_DEFAULT. */
const char *rdlm_config_path(void);

#endif
