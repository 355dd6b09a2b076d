/*
 * common/u64map.c - open-addressing (linear probing) hash map, see u64map.h.
 */
#include "common/u64map.h"
#include "common/mix.h"

#include <stdlib.h>

static size_t slot_of(const struct u64map *m, uint64_t key)
{
    return (size_t)rdlm_mix64(key) & (m->cap - 1);
}

void u64map_init(struct u64map *m)
{
    m->keys = m->vals = NULL;
    m->cap = m->n = 0;
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    u64map_init(m);
}

static int grow(struct u64map *m)
{
    struct u64map bigger = {0};

    bigger.cap = m->cap ? m->cap * 2 : 16;
    bigger.keys = calloc(bigger.cap, sizeof(uint64_t));
    bigger.vals = calloc(bigger.cap, sizeof(uint64_t));
    if (!bigger.keys || !bigger.vals) {
        free(bigger.keys);
        free(bigger.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            u64map_put(&bigger, m->keys[i], m->vals[i]);
    u64map_free(m);
    *m = bigger;
    return 0;
}

int u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
    size_t i;

    if (key == 0)
        return -1;
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -1;
    for (i = slot_of(m, key); m->keys[i] && m->keys[i] != key; i = (i + 1) & (m->cap - 1))
        ;
    if (!m->keys[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
    if (!m->cap || key == 0)
        return false;
    for (size_t i = slot_of(m, key); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key) {
            if (val)
                *val = m->vals[i];
            return true;
        }
    return false;
}

bool u64map_del(struct u64map *m, uint64_t key)
{
    size_t i, j;

    if (!m->cap || key == 0)
        return false;
    for (i = slot_of(m, key); m->keys[i] != key; i = (i + 1) & (m->cap - 1))
        if (!m->keys[i])
            return false;
    m->keys[i] = 0;
    m->n--;
    /* backward-shift the cluster after i so lookups never stop early */
    for (j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m, m->keys[j]);
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->keys[j] = 0;
            i = j;
        }
    }
    return true;
}

bool u64map_next(const struct u64map *m, size_t *pos, uint64_t *key, uint64_t *val)
{
    for (; *pos < m->cap; (*pos)++)
        if (m->keys[*pos]) {
            *key = m->keys[*pos];
            *val = m->vals[*pos];
            (*pos)++;
            return true;
        }
    return false;
}
