/*
 * tests/common/proto_check.h - the hostile-bytes checks every message type's test makes on a
 * valid encoding buf[0..len) (common/proto.c): every cut from the header on, and one trailing
 * byte, with the header's length patched to match, are refused; random mutations of the body
 * decode to 0 or -1 and never read out of bounds (ASan in the SAN build), and what decodes is
 * handed to the test's check of its limits. For tests/common/test_proto_*.c (cmocka).
 */
#ifndef RDLM_TESTS_PROTO_CHECK_H
#define RDLM_TESTS_PROTO_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto.h"

static inline void proto_patch_len(uint8_t *bytes, unsigned len)
{
    for (int i = 0; i < 4; i++)
        bytes[4 + i] = (uint8_t)(len >> (8 * i));
}

/* Cuts every step bytes from the header on, and one trailing byte: all refused. */
static inline void expect_cuts_refused(const uint8_t *buf, int len, int step, struct proto_msg *o)
{
    uint8_t bad[PROTO_MAX_MSG + 8];

    for (int cut = PROTO_HDR_LEN; cut < len; cut += step) {
        memcpy(bad, buf, (size_t)cut);
        proto_patch_len(bad, (unsigned)cut);
        assert_int_equal(proto_decode(bad, (size_t)cut, o), -1);
    }
    memcpy(bad, buf, (size_t)len);
    bad[len] = 0;
    proto_patch_len(bad, (unsigned)len + 1);
    assert_int_equal(proto_decode(bad, (size_t)len + 1, o), -1);
}

/* n mutations of 1 to 4 body bytes each, from seed: 0 or -1; check() sees what decodes. */
static inline void expect_mutations_safe(const uint8_t *buf, int len, unsigned seed, int n,
                                         struct proto_msg *o,
                                         void (*check)(const struct proto_msg *))
{
    uint8_t bad[PROTO_MAX_MSG];

    srand(seed);
    for (int k = 0; k < n; k++) {
        memcpy(bad, buf, (size_t)len);
        for (int j = 0; j < 1 + k % 4; j++)
            bad[PROTO_HDR_LEN + rand() % (len - PROTO_HDR_LEN)] = (uint8_t)rand();
        if (proto_decode(bad, (size_t)len, o) == 0)
            check(o);
    }
}

#endif
