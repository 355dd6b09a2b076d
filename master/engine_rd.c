/*
 * master/engine_rd.c - recovery domains in the engine (docs/engine.md section 15): the
 * persistent root resources of a domain whose LVB is invalid, validating them (valid, zero,
 * sequence bumped), invalidating a whole domain, and the hook that decides whether a
 * persistent resource being created starts with an invalid LVB.
 */
#include "master/engine_internal.h"

#include <string.h>

static bool in_domain(const struct eng_res *r, uint32_t rd_id)
{
    return !r->parent && (r->flags & RES_PERSISTENT) && r->rd_id == rd_id;
}

size_t eng_rd_list_invalid(const struct eng *e, uint32_t rd_id, eng_rd_fn fn, void *arg)
{
    size_t n = 0;

    if (!e || !fn || rd_id == 0)
        return 0;
    for (size_t b = 0; b < e->res_nbuckets; b++)
        for (const struct eng_res *r = e->res_buckets[b]; r; r = r->hnext) {
            if (!in_domain(r, rd_id) || !r->lvb || r->lvb->status != ENG_LVB_INVALID)
                continue;
            n++;
            if (!fn(arg, r->name, r->namelen))
                return n;
        }
    return n;
}

int eng_rd_validate(struct eng *e, uint32_t rd_id, const void *name, uint16_t namelen,
                    struct eng_actions *out)
{
    static const uint8_t zero[RDLM_LVB_LEN];
    struct eng_res *r;

    if (!e || !out || !name || rd_id == 0)
        return RDLM_E_INVAL;
    if (namelen == 0 || namelen > RDLM_RESNAME_MAXLEN)
        return RDLM_E_NAMELEN;
    r = eng_res_find(e, NULL, name, namelen);
    if (!r || !(r->flags & RES_PERSISTENT))
        return RDLM_E_NOLOCK;
    if (r->rd_id != rd_id)
        return RDLM_E_PR_RD_MISMATCH;
    eng_lvb_write(e, r, zero, out);
    return RDLM_OK;
}

size_t eng_rd_invalidate(struct eng *e, uint32_t rd_id, struct eng_actions *out)
{
    size_t n = 0;

    if (!e || !out || rd_id == 0)
        return 0;
    for (size_t b = 0; b < e->res_nbuckets; b++)
        for (struct eng_res *r = e->res_buckets[b]; r; r = r->hnext)
            if (in_domain(r, rd_id)) {
                eng_lvb_invalidate(e, r, out);
                n++;
            }
    return n;
}

void eng_rd_set_create_hook(struct eng *e, eng_rd_create_fn fn, void *arg)
{
    if (!e)
        return;
    e->rd_create = fn;
    e->rd_arg = arg;
}

void eng_rd_created(struct eng *e, struct eng_res *r, struct eng_actions *out)
{
    if (!r->parent && e->rd_create && e->rd_create(e->rd_arg, r->rd_id, r->name, r->namelen))
        eng_lvb_invalidate(e, r, out);
}
