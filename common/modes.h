/*
 * common/modes.h - the VMS compatibility and LVB-operation tables (docs/engine.md section 1,
 * spec B.1 and B.5), shared by the lock engine, the master and the client's fast path. Header-only
 * so that the engine stays a self-contained library.
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

/* rdlm_lvbop[granted + 1][requested]: what a grant does with the LVB (docs/engine.md
 * section 6, spec B.5). Row 0 is a new request. */
enum { RDLM_LVB_NOP = 0, RDLM_LVB_READ = 1, RDLM_LVB_WRITE = 2 };
static const unsigned char rdlm_lvbop[RDLM_MODE_COUNT + 1][RDLM_MODE_COUNT] = {
    /*          NL CR CW PR PW EX */
    /* UN */ {1, 1, 1, 1, 1, 1},
    /* NL */ {1, 1, 1, 1, 1, 1},
    /* CR */ {0, 1, 1, 1, 1, 1},
    /* CW */ {0, 0, 1, 1, 1, 1},
    /* PR */ {0, 0, 0, 1, 1, 1},
    /* PW */ {2, 2, 2, 2, 2, 1},
    /* EX */ {2, 2, 2, 2, 2, 2},
};

#endif /* RDLM_COMMON_MODES_H */
