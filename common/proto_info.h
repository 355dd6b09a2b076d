/*
 * common/proto_info.h - the binary payloads of REPLYs to QUERY_LOCK and QUERY_RES: a lock's
 * and a resource's information (rdlm.h's rdlm_lock_info / rdlm_res_info), little-endian.
 */
#ifndef RDLM_COMMON_PROTO_INFO_H
#define RDLM_COMMON_PROTO_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "rdlm.h"

#define PROTO_LOCK_INFO_LEN (8 + 8 + 1 + 1 + 1 + 1 + 4 + 4 + 8 + 1 + 2 + RDLM_RESNAME_MAXLEN)
#define PROTO_RES_INFO_LEN  (1 + 8 + RDLM_LVB_LEN + 4 * 4 + 3 + 1 + 4 + 1 + 4)

size_t proto_pack_lock_info(const struct rdlm_lock_info *i, uint8_t *buf);
int proto_unpack_lock_info(const uint8_t *buf, size_t len, struct rdlm_lock_info *i);
size_t proto_pack_res_info(const struct rdlm_res_info *i, uint8_t *buf);
int proto_unpack_res_info(const uint8_t *buf, size_t len, struct rdlm_res_info *i);

#endif
