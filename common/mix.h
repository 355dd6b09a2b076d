/*
 * common/mix.h - a 64-bit integer mixer (the splitmix64 finaliser) for hash tables keyed by
 * integers: lock ids in the engine and in u64map, placement seeds. Header-only.
 */
#ifndef RDLM_COMMON_MIX_H
#define RDLM_COMMON_MIX_H

#include <stdint.h>

static inline uint64_t rdlm_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#endif
