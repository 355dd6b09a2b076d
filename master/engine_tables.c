/*
 * master/engine_tables.c - the three 6x6 tables of the VMS lock model, verbatim from
 * docs/engine.md section 1 (spec B.1, B.5, B.4). Everything that decides compatibility, LVB
 * transfer or QUECVT legality reads these tables; no rule is coded as logic elsewhere.
 */
#include "master/engine_internal.h"

/* The compatibility and LVB tables are in common/modes.h (shared with the client). */

/* eng_quecvt_ok[granted][requested] (B.4). */
const bool eng_quecvt_ok[RDLM_MODE_COUNT][RDLM_MODE_COUNT] = {
    /*          NL CR CW PR PW EX */
    /* NL */ {0, 1, 1, 1, 1, 1},
    /* CR */ {0, 0, 1, 1, 1, 1},
    /* CW */ {0, 0, 0, 1, 1, 1},
    /* PR */ {0, 0, 1, 0, 1, 1},
    /* PW */ {0, 0, 0, 0, 0, 1},
    /* EX */ {0, 0, 0, 0, 0, 0},
};
