/*
 * master/pool.h - a fixed-size object pool: objects carved from 64 KiB slabs, freed objects
 * kept on a free list. No per-object header, so a million 64-byte locks cost 64 MB, not the
 * 80-96 MB malloc would take. Single-threaded (each shard owns its engine).
 */
#ifndef RDLM_MASTER_POOL_H
#define RDLM_MASTER_POOL_H

#include <stddef.h>

struct pool {
    size_t obj_size; /* bytes per object (rounded up to a pointer) */
    void *free_list; /* freed objects, linked through their first word */
    char *slab_next; /* next unused byte in the current slab */
    char *slab_end;  /* end of the current slab */
    void *slabs;     /* every slab, linked through its first word (for pool_destroy) */
    size_t in_use;   /* objects handed out */
};

void pool_init(struct pool *p, size_t obj_size);
void *pool_alloc(struct pool *p); /* zeroed object, or NULL when out of memory */
void pool_free(struct pool *p, void *obj);
void pool_destroy(struct pool *p);

#endif /* RDLM_MASTER_POOL_H */
