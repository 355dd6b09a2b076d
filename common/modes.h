/*
 * common/modes.h - the VMS compatibility table (docs/engine.md section 1, spec B.1), shared
 * by the lock engine and the client's fast path. Header-only so that the engine stays a
 * self-contained library.
 */
#ifndef RDLM_COMMON_MODES_H
#define RDLM_COMMON_MODES_H

#include <stdbool.h>

#include "rdlm/constants.h"

/* rdlm_compat[held][requested] */
static const bool rdlm_compat[RDLM_MODE_COUNT][RDLM_MODE_COUNT] = {
    /*          NL CR CW PR PW EX */
    /* NL */ {1, 1, 1, 1, 1, 1},
    /* CR */ {1, 1, 1, 1, 1, 0},
    /* CW */ {1, 1, 1, 0, 0, 0},
    /* PR */ {1, 1, 0, 1, 0, 0},
    /* PW */ {1, 1, 0, 0, 0, 0},
    /* EX */ {1, 0, 0, 0, 0, 0},
};

#endif /* RDLM_COMMON_MODES_H */
