/*
 * lib/query.c - rdlm_query_lock, rdlm_query_resource and rdlm_purge: questions answered by
 * the resource's master (a lock on the fast path has no record there; the handle then
 * answers from what it knows itself).
 */
#include "lib/client.h"

#include <stdlib.h>
#include <string.h>

#include "common/proto_info.h"

#define QUERY_TIMEOUT_MS 10000

static void local_lock_info(const struct clock *l, struct rdlm_lock_info *info)
{
    memset(info, 0, sizeof(*info));
    info->lkid = l->lkid;
    info->parent = l->res->parent;
    info->grmode = l->grmode;
    info->rqmode = l->pending ? l->rqmode : l->grmode;
    info->state = l->grmode == RDLM_MODE_IV ? 3 : l->pending ? 2 : 1;
    info->flags = l->flags;
    info->namelen = l->res->namelen;
    memcpy(info->name, l->res->name, l->res->namelen);
}

static int ask(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m, struct proto_msg *reply)
{
    if (!cc)
        return RDLM_E_NOTCONN;
    if (request_reply(ls, cc, m, reply, QUERY_TIMEOUT_MS) < 0)
        return RDLM_E_NOTCONN;
    return reply->u.reply.status;
}

int rdlm_query_lock(rdlm_ls *ls, uint64_t lkid, struct rdlm_lock_info *info)
{
    struct proto_msg m = {0}, *reply = calloc(1, sizeof(*reply));
    struct clock *l;
    int st;

    if (!ls || !info || !reply) {
        free(reply);
        return !reply ? RDLM_E_NOMEM : RDLM_E_INVAL;
    }
    pthread_mutex_lock(&ls->mu);
    l = lock_find(ls, lkid);
    m.hdr.type = MSG_QUERY_LOCK;
    m.u.query_lock.lkid = lkid;
    st = l ? ask(ls, l->res->cc, &m, reply) : RDLM_E_NOLOCK;
    if (st == RDLM_OK && proto_unpack_lock_info((const uint8_t *)reply->u.reply.text,
                                                reply->u.reply.textlen, info) < 0)
        st = RDLM_E_INVAL;
    l = lock_find(ls, lkid); /* the wait released the mutex */
    if (st == RDLM_E_NOLOCK && l) {
        local_lock_info(l, info); /* a fast-path lock: only we know it */
        info->owner_node = ls->my_node;
        st = RDLM_OK;
    }
    pthread_mutex_unlock(&ls->mu);
    free(reply);
    return st;
}

int rdlm_query_resource(rdlm_ls *ls, const void *name, unsigned namelen, uint64_t parent,
                        struct rdlm_res_info *info)
{
    struct proto_msg m = {0}, *reply = calloc(1, sizeof(*reply));
    struct cconn *cc = NULL;
    int st;

    if (!ls || !info || !name || namelen == 0 || namelen > RDLM_RESNAME_MAXLEN || !reply) {
        free(reply);
        return !reply ? RDLM_E_NOMEM : namelen ? RDLM_E_INVAL : RDLM_E_NAMELEN;
    }
    pthread_mutex_lock(&ls->mu);
    if (parent) {
        struct clock *p = lock_find(ls, parent);
        cc = p ? p->res->cc : NULL;
    } else {
        cc = conn_for_name(ls, name, namelen);
    }
    m.hdr.type = MSG_QUERY_RES;
    m.u.query_res.parent = parent;
    m.u.query_res.name.len = (uint16_t)namelen;
    memcpy(m.u.query_res.name.bytes, name, namelen);
    st = ask(ls, cc, &m, reply);
    if (st == RDLM_OK && proto_unpack_res_info((const uint8_t *)reply->u.reply.text,
                                               reply->u.reply.textlen, info) < 0)
        st = RDLM_E_INVAL;
    pthread_mutex_unlock(&ls->mu);
    free(reply);
    return st;
}

/* Orphans live on the master of their resource: ask every shard of every node. */
int rdlm_purge(rdlm_ls *ls, uint32_t node, uint32_t pid)
{
    struct proto_msg m = {0}, *reply = calloc(1, sizeof(*reply));
    int st = RDLM_OK;

    if (!ls || !reply) {
        free(reply);
        return ls ? RDLM_E_NOMEM : RDLM_E_INVAL;
    }
    pthread_mutex_lock(&ls->mu);
    m.hdr.type = MSG_PURGE;
    m.u.purge.node = node ? node : ls->my_node;
    m.u.purge.pid = pid;
    for (size_t i = 0; i < ls->nmembers && st == RDLM_OK; i++)
        for (uint32_t s = 0; s < ls->members[i].shards && st == RDLM_OK; s++)
            st = ask(ls, conn_for(ls, ls->members[i].node, s), &m, reply);
    pthread_mutex_unlock(&ls->mu);
    free(reply);
    return st;
}
