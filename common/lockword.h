/*
 * common/lockword.h - the 64-bit lock word of a resource slot, and the LVB record beside it
 * (docs/protocol.md section 2). Used by the client's fast path (which decides grants from the
 * counts) and by the master (which keeps the counts equal to the granted locks).
 *
 *  63      48 47   46   45   44     35 34     25 24     15 14      0
 *  | gen:16  |SLOW| EX | PW | PR:10  | CW:10  | CR:10  | NL:15   |
 */
#ifndef RDLM_COMMON_LOCKWORD_H
#define RDLM_COMMON_LOCKWORD_H

#include <stdbool.h>
#include <stdint.h>

#include "rdlm/constants.h"

#define LW_GEN_SHIFT 48
#define LW_SLOW      (1ull << 47)
#define LW_NO_SLOT   0xffffffffu /* slot index meaning "no slot: two-sided only" */

struct lw_field {
    uint8_t shift;
    uint8_t bits;
};

/* Where each mode's count lives, indexed by rdlm_mode. */
static const struct lw_field lw_fields[RDLM_MODE_COUNT] = {
    {0, 15},  /* NL */
    {15, 10}, /* CR */
    {25, 10}, /* CW */
    {35, 10}, /* PR */
    {45, 1},  /* PW */
    {46, 1},  /* EX */
};

static inline uint32_t lw_count(uint64_t w, int mode)
{
    return (uint32_t)((w >> lw_fields[mode].shift) & ((1u << lw_fields[mode].bits) - 1));
}

static inline uint16_t lw_gen(uint64_t w)
{
    return (uint16_t)(w >> LW_GEN_SHIFT);
}

static inline bool lw_slow(uint64_t w)
{
    return w & LW_SLOW;
}

static inline uint64_t lw_make(uint16_t gen, bool slow)
{
    return ((uint64_t)gen << LW_GEN_SHIFT) | (slow ? LW_SLOW : 0);
}

/* All counts zero? */
static inline bool lw_idle(uint64_t w)
{
    return (w & ((1ull << 47) - 1)) == 0;
}

/* w with one more lock of mode; false if that count is full. */
static inline bool lw_add(uint64_t w, int mode, uint64_t *out)
{
    if (lw_count(w, mode) == (1u << lw_fields[mode].bits) - 1)
        return false;
    *out = w + (1ull << lw_fields[mode].shift);
    return true;
}

/* w with one lock of mode fewer; false if that count is already zero. */
static inline bool lw_sub(uint64_t w, int mode, uint64_t *out)
{
    if (lw_count(w, mode) == 0)
        return false;
    *out = w - (1ull << lw_fields[mode].shift);
    return true;
}

/*
 * Is mode compatible with every lock counted in w, after removing one lock of own_mode
 * (RDLM_MODE_IV for a new request)? compat is the 6x6 table (held, requested).
 */
static inline bool lw_compatible(uint64_t w, int mode, int own_mode,
                                 const bool compat[RDLM_MODE_COUNT][RDLM_MODE_COUNT])
{
    for (int held = RDLM_MODE_CR; held <= RDLM_MODE_EX; held++) {
        uint32_t n = lw_count(w, held);
        if (held == own_mode && n)
            n--;
        if (n && !compat[held][mode])
            return false;
    }
    return true;
}

/* The LVB record beside each word (64 bytes, registered, one-sided READ/WRITE target). */
enum { LVBR_NONE = 0, LVBR_VALID = 1, LVBR_INVALID = 2 };

struct lvb_record {
    uint64_t seq;
    uint8_t status; /* LVBR_* */
    uint8_t pad[7];
    uint8_t value[RDLM_LVB_LEN];
    uint8_t pad2[16];
};
_Static_assert(sizeof(struct lvb_record) == 64, "LVB record is 64 bytes");

#endif /* RDLM_COMMON_LOCKWORD_H */
