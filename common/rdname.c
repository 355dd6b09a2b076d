/*
 * common/rdname.c - recovery domain ids and domain masters (rdname.h).
 */
#include "common/rdname.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/proto.h"

uint32_t rdlm_rd_hash(const void *name, size_t namelen)
{
    uint32_t h = XXH32(name, namelen, 0);

    return h ? h : 1;
}

int rdlm_rd_name_ok(const void *name, size_t namelen)
{
    return name && namelen >= 1 && namelen <= RDLM_RDNAME_MAXLEN_WIRE &&
           !memchr(name, 0, namelen);
}

struct rdlm_placement_target rdlm_rd_master(const struct rdlm_member *members, size_t n,
                                            const void *name, size_t namelen)
{
    return rdlm_place(members, n, PROTO_RD_SEED, 0, name, namelen);
}
