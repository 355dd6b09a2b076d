/*
 * tests/engine-unit/test_tables.c - the three tables of the contract (docs/engine.md section 1,
 * spec B.1, B.4, B.5), every cell asserted through the engine:
 *  - compatibility: hold mode A alone on a resource, request mode B with NOQUEUE -> granted
 *    (OK) or COMPLETE(NOTQUEUED) and the request vanishes; one test per row (6 cells each);
 *  - LVB operations: rows UN (new request) and NL..EX (conversion from that granted mode),
 *    observed through VALBLK reads (COMPLETE lvb_read/lvb/lvbseq), LVB actions and the
 *    resource's LVB and lvbseq; one test per row;
 *  - QUECVT legality: every (grmode, rqmode) pair converted with QUECVT on an uncontended
 *    resource: legal -> accepted and granted, illegal -> RDLM_E_INVAL, nothing changed.
 */
#include "tests/engine-unit/helpers.h"

#include <stdio.h>

/* ---- B.1 compatibility ------------------------------------------------------------------ */

static void compat_row(struct t *t, int held)
{
    for (int want = NL; want <= EX; want++) {
        char name[16];
        snprintf(name, sizeof name, "compat-%d-%d", held, want);
        uint64_t h = 100 + (uint64_t)want, r = 200 + (uint64_t)want;
        ok(t, lock(t, h, name, held, 0));
        expect_granted(t, h, held);
        expect_end(t);
        ok(t, lock(t, r, name, want, RDLM_LKF_NOQUEUE));
        if (th_compat[held][want]) {
            expect_granted(t, r, want);
            expect_end(t);
            expect_lock(t, r, GRANTED, want, want);
            char g[32];
            snprintf(g, sizeof g, "%d %d", (int)h, (int)r);
            expect_queues(t, name, g, "", "");
        } else {
            /* Not grantable: NOTQUEUED with mode IV, no BAST without NOQUEUEBAST. */
            expect_complete(t, r, RDLM_E_NOTQUEUED, IV);
            expect_end(t);
            expect_gone(t, r);
        }
        expect_lock(t, h, GRANTED, held, held);
        /* Clean up so that ids can be reused by the next cell. */
        ok(t, unlock(t, h, 0));
        if (th_compat[held][want])
            ok(t, unlock(t, r, 0));
        expect_counts(t, 0, 0);
    }
}

static void b1_compat_row_held_NL(void **state)
{
    compat_row(*state, NL);
}
static void b1_compat_row_held_CR(void **state)
{
    compat_row(*state, CR);
}
static void b1_compat_row_held_CW(void **state)
{
    compat_row(*state, CW);
}
static void b1_compat_row_held_PR(void **state)
{
    compat_row(*state, PR);
}
static void b1_compat_row_held_PW(void **state)
{
    compat_row(*state, PW);
}
static void b1_compat_row_held_EX(void **state)
{
    compat_row(*state, EX);
}

/* The table is symmetric (spec B.1): cross-check the transcription used above. */
static void b1_compat_table_is_symmetric(void **state)
{
    (void)state;
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++)
            assert_int_equal(th_compat[a][b], th_compat[b][a]);
}

/* ---- B.5 LVB operations ------------------------------------------------------------------ */

enum { R_ = 1, W_ = 2, N_ = 0 };
#define UN 6
/* lvbop[grmode or UN][rqmode], transcribed from docs/engine.md section 1. */
static const int lvbop[7][6] = {
    /*        NL  CR  CW  PR  PW  EX */
    /* NL */ {R_, R_, R_, R_, R_, R_},
    /* CR */ {N_, R_, R_, R_, R_, R_},
    /* CW */ {N_, N_, R_, R_, R_, R_},
    /* PR */ {N_, N_, N_, R_, R_, R_},
    /* PW */ {W_, W_, W_, W_, W_, R_},
    /* EX */ {W_, W_, W_, W_, W_, W_},
    /* UN */ {R_, R_, R_, R_, R_, R_},
};

/*
 * A resource whose LVB is VALID, content 0xA1.., lvbseq 1, kept alive by lock `seed` in NL
 * (compatible with every mode). The seed itself exercises the EX -> NL write cell.
 */
static void seed_lvb(struct t *t, const char *name, uint64_t seed)
{
    ok(t, lock_lvb(t, seed, name, EX, 0, LV(0x11)));
    /* UN -> EX reads, but the LVB was never written: nothing is read (status NONE). */
    expect_granted(t, seed, EX);
    expect_end(t);
    expect_res_lvb(t, name, ENG_LVB_NONE, 0, NULL);
    ok(t, conv_lvb(t, seed, NL, 0, LV(0xA1)));
    expect_lvb_write(t, name, LV(0xA1), 1);
    expect_granted(t, seed, NL);
    expect_end(t);
    expect_res_lvb(t, name, ENG_LVB_VALID, 1, LV(0xA1));
}

static void lvb_row(struct t *t, int gr)
{
    for (int want = NL; want <= EX; want++) {
        char name[16];
        snprintf(name, sizeof name, "lvb-%d-%d", gr, want);
        uint64_t seed = 300 + (uint64_t)want, l = 400 + (uint64_t)want;
        seed_lvb(t, name, seed);
        if (gr == UN) {
            ok(t, lock_lvb(t, l, name, want, 0, LV(0xB2)));
        } else {
            ok(t, lock(t, l, name, gr, 0));
            expect_granted(t, l, gr);
            expect_end(t);
            ok(t, conv_lvb(t, l, want, 0, LV(0xB2)));
        }
        switch (lvbop[gr][want]) {
        case R_:
            expect_granted_read(t, l, want, 0, LV(0xA1), 1);
            expect_end(t);
            expect_res_lvb(t, name, ENG_LVB_VALID, 1, LV(0xA1));
            break;
        case W_:
            expect_lvb_write(t, name, LV(0xB2), 2);
            expect_granted(t, l, want);
            expect_end(t);
            expect_res_lvb(t, name, ENG_LVB_VALID, 2, LV(0xB2));
            break;
        default:
            expect_granted(t, l, want);
            expect_end(t);
            expect_res_lvb(t, name, ENG_LVB_VALID, 1, LV(0xA1));
        }
        ok(t, unlock(t, l, 0));
        ok(t, unlock(t, seed, 0));
        expect_counts(t, 0, 0);
    }
}

static void b5_lvb_row_new_request_UN(void **state)
{
    lvb_row(*state, UN);
}
static void b5_lvb_row_from_NL(void **state)
{
    lvb_row(*state, NL);
}
static void b5_lvb_row_from_CR(void **state)
{
    lvb_row(*state, CR);
}
static void b5_lvb_row_from_CW(void **state)
{
    lvb_row(*state, CW);
}
static void b5_lvb_row_from_PR(void **state)
{
    lvb_row(*state, PR);
}
static void b5_lvb_row_from_PW(void **state)
{
    lvb_row(*state, PW);
}
static void b5_lvb_row_from_EX(void **state)
{
    lvb_row(*state, EX);
}

/* ---- B.4 QUECVT legality ----------------------------------------------------------------- */

/* quecvt[grmode][rqmode], transcribed from docs/engine.md section 1. */
static const int quecvt[6][6] = {
    /*        NL CR CW PR PW EX */
    /* NL */ {0, 1, 1, 1, 1, 1},
    /* CR */ {0, 0, 1, 1, 1, 1},
    /* CW */ {0, 0, 0, 1, 1, 1},
    /* PR */ {0, 0, 1, 0, 1, 1},
    /* PW */ {0, 0, 0, 0, 0, 1},
    /* EX */ {0, 0, 0, 0, 0, 0},
};

static void quecvt_row(struct t *t, int gr)
{
    for (int want = NL; want <= EX; want++) {
        char name[16];
        snprintf(name, sizeof name, "quecvt-%d-%d", gr, want);
        uint64_t l = 500 + (uint64_t)want;
        ok(t, lock(t, l, name, gr, 0));
        expect_granted(t, l, gr);
        if (quecvt[gr][want]) {
            /* Legal, and CONVERTING is empty: granted at once (contract 3, item 5). */
            ok(t, conv(t, l, want, RDLM_LKF_QUECVT));
            expect_granted(t, l, want);
            expect_end(t);
            expect_lock(t, l, GRANTED, want, want);
        } else {
            expect_rejected(t, conv(t, l, want, RDLM_LKF_QUECVT), RDLM_E_INVAL);
            expect_lock(t, l, GRANTED, gr, gr);
        }
        ok(t, unlock(t, l, 0));
        expect_counts(t, 0, 0);
    }
}

static void b4_quecvt_row_from_NL(void **state)
{
    quecvt_row(*state, NL);
}
static void b4_quecvt_row_from_CR(void **state)
{
    quecvt_row(*state, CR);
}
static void b4_quecvt_row_from_CW(void **state)
{
    quecvt_row(*state, CW);
}
static void b4_quecvt_row_from_PR(void **state)
{
    quecvt_row(*state, PR);
}
static void b4_quecvt_row_from_PW(void **state)
{
    quecvt_row(*state, PW);
}
static void b4_quecvt_row_from_EX(void **state)
{
    quecvt_row(*state, EX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(b1_compat_row_held_NL),        TEST(b1_compat_row_held_CR),
        TEST(b1_compat_row_held_CW),        TEST(b1_compat_row_held_PR),
        TEST(b1_compat_row_held_PW),        TEST(b1_compat_row_held_EX),
        TEST(b1_compat_table_is_symmetric), TEST(b5_lvb_row_new_request_UN),
        TEST(b5_lvb_row_from_NL),           TEST(b5_lvb_row_from_CR),
        TEST(b5_lvb_row_from_CW),           TEST(b5_lvb_row_from_PR),
        TEST(b5_lvb_row_from_PW),           TEST(b5_lvb_row_from_EX),
        TEST(b4_quecvt_row_from_NL),        TEST(b4_quecvt_row_from_CR),
        TEST(b4_quecvt_row_from_CW),        TEST(b4_quecvt_row_from_PR),
        TEST(b4_quecvt_row_from_PW),        TEST(b4_quecvt_row_from_EX),
    };
    return cmocka_run_group_tests_name("engine-unit/tables", tests, NULL, NULL);
}
