/*
 * common/rdname.h - recovery domain names (docs/protocol.md section 7): the domain's id and
 * which (node, shard) is its domain master.
 */
#ifndef RDLM_COMMON_RDNAME_H
#define RDLM_COMMON_RDNAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/placement.h"

/* XXH32 of the name (seed 0); 0 is never used (it becomes 1). */
uint32_t rdlm_rd_hash(const void *name, size_t namelen);

/* A valid domain name: 1..RDLM_RDNAME_MAXLEN_WIRE bytes, none of them NUL. */
int rdlm_rd_name_ok(const void *name, size_t namelen);

/* The domain master: placement of the name under the pseudo-lockspace seed PROTO_RD_SEED. */
struct rdlm_placement_target rdlm_rd_master(const struct rdlm_member *members, size_t n,
                                            const void *name, size_t namelen);

#endif
