/*
 * common/placement.c - rendezvous hashing of a resource to a (node, shard); see placement.h.
 *
 * The per-pair seed mixes the lockspace seed, the parent key, the node and the shard with the
 * splitmix64 finaliser, so that every pair's XXH3 is an independent function of the name.
 * Cost: one XXH3 of the name per (node, shard) pair (a few ns each for short names).
 */
#include "common/placement.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/mix.h"

#define mix64 rdlm_mix64

static inline uint64_t pair_seed(uint64_t base, uint32_t node, uint32_t shard)
{
    return mix64(base ^ mix64(((uint64_t)node << 32 | shard) + 0x9e3779b97f4a7c15ull));
}

struct rdlm_placement_target rdlm_place(const struct rdlm_member *members, size_t n,
                                        uint64_t ls_seed, uint64_t parent_key, const void *name,
                                        size_t namelen)
{
    struct rdlm_placement_target best = {0, 0};
    uint64_t best_score = 0;
    uint64_t base = mix64(ls_seed ^ mix64(parent_key));
    for (size_t i = 0; i < n; i++) {
        uint32_t node = members[i].node;
        for (uint32_t s = 0; s < members[i].shards; s++) {
            uint64_t score = XXH3_64bits_withSeed(name, namelen, pair_seed(base, node, s));
            int better = best.node == 0 || score > best_score ||
                         (score == best_score &&
                          (node < best.node || (node == best.node && s < best.shard)));
            if (better) {
                best.node = node;
                best.shard = s;
                best_score = score;
            }
        }
    }
    return best;
}

uint64_t rdlm_ls_seed(const char *lsname)
{
    return XXH3_64bits(lsname, strlen(lsname));
}
