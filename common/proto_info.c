/*
 * common/proto_info.c - packing of lock and resource information for QUERY replies.
 */
#include "common/proto_info.h"

#include <string.h>

static uint8_t *put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static const uint8_t *get(const uint8_t *p, uint64_t *v, unsigned n)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++)
        *v |= (uint64_t)p[i] << (8 * i);
    return p + n;
}

size_t proto_pack_lock_info(const struct rdlm_lock_info *i, uint8_t *buf)
{
    uint8_t *p = buf;

    p = put(p, i->lkid, 8);
    p = put(p, i->parent, 8);
    p = put(p, (uint8_t)(int8_t)i->grmode, 1);
    p = put(p, (uint8_t)(int8_t)i->rqmode, 1);
    p = put(p, (uint8_t)i->state, 1);
    p = put(p, (uint8_t)i->orphan, 1);
    p = put(p, i->flags, 4);
    p = put(p, i->owner_node, 4);
    p = put(p, i->owner_pid, 8);
    p = put(p, (uint8_t)i->owner_is_group, 1);
    p = put(p, i->namelen, 2);
    memcpy(p, i->name, RDLM_RESNAME_MAXLEN);
    return PROTO_LOCK_INFO_LEN;
}

int proto_unpack_lock_info(const uint8_t *p, size_t len, struct rdlm_lock_info *i)
{
    uint64_t v;

    if (len != PROTO_LOCK_INFO_LEN)
        return -1;
    memset(i, 0, sizeof(*i));
    p = get(p, &i->lkid, 8);
    p = get(p, &i->parent, 8);
    p = get(p, &v, 1), i->grmode = (int8_t)v;
    p = get(p, &v, 1), i->rqmode = (int8_t)v;
    p = get(p, &v, 1), i->state = (int)v;
    p = get(p, &v, 1), i->orphan = (int)v;
    p = get(p, &v, 4), i->flags = (uint32_t)v;
    p = get(p, &v, 4), i->owner_node = (uint32_t)v;
    p = get(p, &i->owner_pid, 8);
    p = get(p, &v, 1), i->owner_is_group = (int)v;
    p = get(p, &v, 2), i->namelen = (uint16_t)v;
    if (i->namelen > RDLM_RESNAME_MAXLEN || i->grmode < RDLM_MODE_IV || i->grmode > RDLM_MODE_EX ||
        i->rqmode < RDLM_MODE_IV || i->rqmode > RDLM_MODE_EX)
        return -1;
    memcpy(i->name, p, RDLM_RESNAME_MAXLEN);
    return 0;
}

size_t proto_pack_res_info(const struct rdlm_res_info *i, uint8_t *buf)
{
    uint8_t *p = buf;

    p = put(p, (uint8_t)i->lvb_status, 1);
    p = put(p, i->lvbseq, 8);
    memcpy(p, i->lvb, RDLM_LVB_LEN);
    p += RDLM_LVB_LEN;
    p = put(p, i->subres_count, 4);
    p = put(p, i->lock_count, 4);
    p = put(p, i->bast_count, 4);
    p = put(p, i->granted_count, 4);
    p = put(p, (uint8_t)(int8_t)i->granted_mode, 1);
    p = put(p, (uint8_t)(int8_t)i->convert_mode, 1);
    p = put(p, (uint8_t)(int8_t)i->wait_mode, 1);
    p = put(p, (uint8_t)i->persistent, 1);
    p = put(p, i->rd_id, 4);
    p = put(p, (uint8_t)i->fast, 1);
    put(p, i->master_node, 4);
    return PROTO_RES_INFO_LEN;
}

int proto_unpack_res_info(const uint8_t *p, size_t len, struct rdlm_res_info *i)
{
    uint64_t v;

    if (len != PROTO_RES_INFO_LEN)
        return -1;
    memset(i, 0, sizeof(*i));
    p = get(p, &v, 1), i->lvb_status = (int)v;
    p = get(p, &i->lvbseq, 8);
    memcpy(i->lvb, p, RDLM_LVB_LEN);
    p += RDLM_LVB_LEN;
    p = get(p, &v, 4), i->subres_count = (uint32_t)v;
    p = get(p, &v, 4), i->lock_count = (uint32_t)v;
    p = get(p, &v, 4), i->bast_count = (uint32_t)v;
    p = get(p, &v, 4), i->granted_count = (uint32_t)v;
    p = get(p, &v, 1), i->granted_mode = (int8_t)v;
    p = get(p, &v, 1), i->convert_mode = (int8_t)v;
    p = get(p, &v, 1), i->wait_mode = (int8_t)v;
    p = get(p, &v, 1), i->persistent = (int)v;
    p = get(p, &v, 4), i->rd_id = (uint32_t)v;
    p = get(p, &v, 1), i->fast = (int)v;
    get(p, &v, 4), i->master_node = (uint32_t)v;
    return 0;
}
