/*
 * common/u64map.h - an open-addressing hash map from 64-bit keys (never 0) to 64-bit values,
 * with tombstone-free deletion (backward shift). Used for lock id -> owner connection in the
 * daemon and lock id -> lock in the client library. Not thread-safe.
 */
#ifndef RDLM_COMMON_U64MAP_H
#define RDLM_COMMON_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
    uint64_t *keys; /* 0 = empty */
    uint64_t *vals;
    size_t cap; /* power of two */
    size_t n;
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
int u64map_put(struct u64map *m, uint64_t key, uint64_t val); /* 0, or -1 out of memory */
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);
bool u64map_del(struct u64map *m, uint64_t key);

/* Iterate: for (size_t i = 0; u64map_next(m, &i, &k, &v); ) ... (no changes meanwhile). */
bool u64map_next(const struct u64map *m, size_t *pos, uint64_t *key, uint64_t *val);

#endif
