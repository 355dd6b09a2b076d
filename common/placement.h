/*
 * common/placement.h - which (node, shard) masters a resource.
 *
 * Rendezvous (highest random weight) hashing over the (node, shard) pairs of the live
 * membership: every pair gets a score XXH3(name, seed(lockspace, parent, node, shard)) and the
 * highest score wins (ties: lowest node, then lowest shard).  A node with S shards has S
 * chances, so nodes are weighted by their shard count; a membership change moves only the
 * resources of the pairs that left, or to the pairs that joined.  Every client and daemon
 * computes it locally: there is no directory.  The order of members does not matter.
 */
#ifndef RDLM_COMMON_PLACEMENT_H
#define RDLM_COMMON_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

struct rdlm_member {
    uint32_t node;   /* node id (1..4095) */
    uint32_t shards; /* 0 = contributes nothing */
};

struct rdlm_placement_target {
    uint32_t node, shard; /* node 0: no member has a shard */
};

/* The master of resource name (namelen bytes) under parent_key (0 for a top-level resource)
 * in the lockspace whose seed is ls_seed. */
struct rdlm_placement_target rdlm_place(const struct rdlm_member *members, size_t n,
                                        uint64_t ls_seed, uint64_t parent_key, const void *name,
                                        size_t namelen);

/* The placement seed of a lockspace: XXH3 of its name. */
uint64_t rdlm_ls_seed(const char *lsname);

#endif
