/*
 * tests/cluster/wl_common.h - what the cluster workload (workload.c) and the checker
 * (checker.c) share: the mode tables of docs/engine.md section 1 and the event log format.
 *
 * Event log: one text file per process, one event per line, "TYPE t_ns fields...", t_ns from
 * CLOCK_MONOTONIC (shared by all processes of the machine). Timestamps are taken under the
 * log mutex, so a file is sorted by time. Lines (mode -1 = none/IV):
 *
 *   H t proc pid seed fast threads        header (one, first line)
 *   Q t rid lid res op mode flags sync    request issued (op L new lock, C convert, U unlock)
 *   R t lid rid mode                      protection given up: the lock now holds `mode`
 *                                         (logged BEFORE the down-conversion/unlock is issued)
 *   W t lid rid res kind lvb              LVB write-path event issued (kind W write, I invalidate)
 *   C t rid lid status sbflags lkid       completion received for request rid
 *   G t lid rid mode prev flags sbflags seq lvb   grant delivered: the lock holds `mode` (prev:
 *                                         its granted mode before; lvb '-' not requested, 'S'
 *                                         buffer untouched (nothing read), else 64 hex digits)
 *   J t rid lid status                    request rejected by the call (no completion expected)
 *   X t rid lid ret                       rdlm_cancel of pending request rid returned ret
 *   B t lid mode                          blocking callback received
 *   A t text...                           anomaly noticed by the workload (reported by the checker)
 *   E t clean ops                         end: clean=1 if every request completed
 */
#ifndef RDLM_TESTS_CLUSTER_WL_COMMON_H
#define RDLM_TESTS_CLUSTER_WL_COMMON_H

#include <stdint.h>
#include <string.h>

#include "rdlm/constants.h"

/* compat[held][requested] (docs/engine.md section 1). */
static const unsigned char wl_compat[RDLM_MODE_COUNT][RDLM_MODE_COUNT] = {
    {1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0}, {1, 1, 1, 0, 0, 0},
    {1, 1, 0, 1, 0, 0}, {1, 1, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0},
};

/* lvbop[grmode + 1][rqmode]: row 0 = UN (new request). 'R' read, 'W' write, '-' nothing. */
static const char wl_lvbop[RDLM_MODE_COUNT + 1][RDLM_MODE_COUNT] = {
    {'R', 'R', 'R', 'R', 'R', 'R'}, {'R', 'R', 'R', 'R', 'R', 'R'}, {'-', 'R', 'R', 'R', 'R', 'R'},
    {'-', '-', 'R', 'R', 'R', 'R'}, {'-', '-', '-', 'R', 'R', 'R'}, {'W', 'W', 'W', 'W', 'W', 'R'},
    {'W', 'W', 'W', 'W', 'W', 'W'},
};

/* quecvt[grmode][rqmode] (docs/engine.md section 1). */
static const unsigned char wl_quecvt[RDLM_MODE_COUNT][RDLM_MODE_COUNT] = {
    {0, 1, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 1},
    {0, 0, 1, 0, 1, 1}, {0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0},
};

static inline int wl_compatible(int held, int req)
{
    if (held < 0 || req < 0)
        return 1;
    return wl_compat[held][req];
}

static inline char wl_lvb_op(int grmode, int rqmode)
{
    return wl_lvbop[grmode + 1][rqmode];
}

/* 1 if every mode compatible with `strong` is compatible with `weak` (weak <= strong). */
static inline int wl_weaker_or_equal(int weak, int strong)
{
    for (int x = 0; x < RDLM_MODE_COUNT; x++)
        if (wl_compat[strong][x] && !wl_compat[weak][x])
            return 0;
    return 1;
}

/* The strongest mode weaker than or equal to both a and b (NL < CR < CW,PR < PW < EX): what a
 * lock is sure to hold while its conversion from a to b is pending. */
static inline int wl_meet(int a, int b)
{
    for (int m = RDLM_MODE_EX; m > RDLM_MODE_NL; m--) {
        if (!wl_weaker_or_equal(m, a) || !wl_weaker_or_equal(m, b))
            continue;
        int top = 1;
        for (int c = 0; c < RDLM_MODE_COUNT; c++)
            if (wl_weaker_or_equal(c, a) && wl_weaker_or_equal(c, b) && !wl_weaker_or_equal(c, m))
                top = 0;
        if (top)
            return m;
    }
    return RDLM_MODE_NL;
}

#define WL_LVB_MAGIC 0x31425654u /* "TVB1" */

/* What the workload writes into an LVB: unique per write. */
struct wl_lvbval {
    uint32_t magic;
    uint32_t proc;
    uint32_t thread;
    uint32_t slot;
    uint64_t counter;
    uint64_t t_ns;
};

_Static_assert(sizeof(struct wl_lvbval) == RDLM_LVB_LEN, "LVB value layout");

#endif
