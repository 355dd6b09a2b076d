/*
 * master/pool.c - the fixed-size object pool behind engine locks (see pool.h).
 */
#include "master/pool.h"

#include <stdlib.h>
#include <string.h>

#define SLAB_BYTES (64u * 1024u)

void pool_init(struct pool *p, size_t obj_size)
{
    memset(p, 0, sizeof(*p));
    p->obj_size = (obj_size + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
}

static int pool_grow(struct pool *p)
{
    char *slab = malloc(SLAB_BYTES);

    if (!slab)
        return -1;
    *(void **)slab = p->slabs;
    p->slabs = slab;
    p->slab_next = slab + sizeof(void *) * 2; /* keep 16-byte alignment */
    p->slab_end = slab + SLAB_BYTES;
    return 0;
}

void *pool_alloc(struct pool *p)
{
    void *obj;

    if (p->free_list) {
        obj = p->free_list;
        p->free_list = *(void **)obj;
    } else {
        if (!p->slab_next || (size_t)(p->slab_end - p->slab_next) < p->obj_size) {
            if (pool_grow(p) < 0)
                return NULL;
        }
        obj = p->slab_next;
        p->slab_next += p->obj_size;
    }
    memset(obj, 0, p->obj_size);
    p->in_use++;
    return obj;
}

void pool_free(struct pool *p, void *obj)
{
    if (!obj)
        return;
    *(void **)obj = p->free_list;
    p->free_list = obj;
    p->in_use--;
}

void pool_destroy(struct pool *p)
{
    while (p->slabs) {
        void *next = *(void **)p->slabs;
        free(p->slabs);
        p->slabs = next;
    }
    memset(p, 0, sizeof(*p));
}
