/*
 * tests/common/test_proto_glc.c - the group lock container message of common/proto.c (GLC;
 * docs/protocol.md section 8): every field of every op survives encode + decode, and hostile
 * bytes are refused: unknown ops, more lockspaces than a container may have, an over-long
 * name, truncated and trailing bytes, and random mutations (decode returns 0 or -1 and never
 * reads out of bounds; run under ASan to see that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto.h"

static struct proto_msg *glc_msg(uint8_t op)
{
    struct proto_msg *m = calloc(1, sizeof(*m));

    assert_non_null(m);
    m->hdr.type = MSG_GLC;
    m->hdr.ls = 0x1122334455667788ull;
    m->hdr.reqid = 7;
    m->u.glc.op = op;
    m->u.glc.flags = 0x5;
    m->u.glc.id = 0xabcdef0123456789ull;
    m->u.glc.lkid = 0x0102030405060708ull;
    m->u.glc.lsid = 0x99;
    m->u.glc.name.len = 5;
    memcpy(m->u.glc.name.bytes, "gname", 5);
    m->u.glc.nls = 3;
    for (int i = 0; i < 3; i++)
        m->u.glc.lss[i] = 1000u + (unsigned)i;
    return m;
}

static void test_roundtrip_every_op(void **state)
{
    uint8_t buf[PROTO_MAX_MSG];

    (void)state;
    for (uint8_t op = GLC_CREATE; op <= GLC_PURGE; op++) {
        struct proto_msg *m = glc_msg(op), *out = calloc(1, sizeof(*out));
        int len = proto_encode(m, buf, sizeof(buf));
        assert_true(len > 0);
        assert_int_equal(proto_decode(buf, (size_t)len, out), 0);
        assert_int_equal(out->u.glc.op, op);
        assert_int_equal(out->u.glc.flags, 0x5);
        assert_true(out->u.glc.id == m->u.glc.id && out->u.glc.lkid == m->u.glc.lkid);
        assert_true(out->u.glc.lsid == 0x99);
        assert_int_equal(out->u.glc.name.len, 5);
        assert_memory_equal(out->u.glc.name.bytes, "gname", 5);
        assert_int_equal(out->u.glc.nls, 3);
        assert_true(out->u.glc.lss[2] == 1002);
        free(m);
        free(out);
    }
}

static void test_refused(void **state)
{
    uint8_t buf[PROTO_MAX_MSG];
    struct proto_msg *out = calloc(1, sizeof(*out));
    struct proto_msg *m = glc_msg(GLC_ATTACH);
    int len;

    (void)state;
    len = proto_encode(m, buf, sizeof(buf));
    assert_true(len > 0);
    for (int cut = 0; cut < len; cut++) /* truncated */
        assert_int_equal(proto_decode(buf, (size_t)cut, out), -1);
    m->u.glc.op = 0;
    len = proto_encode(m, buf, sizeof(buf));
    assert_int_equal(proto_decode(buf, (size_t)len, out), -1);
    m->u.glc.op = GLC_PURGE + 1;
    len = proto_encode(m, buf, sizeof(buf));
    assert_int_equal(proto_decode(buf, (size_t)len, out), -1);
    /* 17 lockspaces: the encoder writes only 16, so forge the count in the bytes */
    m->u.glc.op = GLC_CREATE;
    m->u.glc.nls = 16;
    len = proto_encode(m, buf, sizeof(buf));
    assert_int_equal(proto_decode(buf, (size_t)len, out), 0);
    buf[len - 16 * 8 - 2] = 17;
    assert_int_equal(proto_decode(buf, (size_t)len, out), -1);
    free(m);
    free(out);
}

static void test_name_too_long(void **state)
{
    uint8_t buf[PROTO_MAX_MSG];
    struct proto_msg *out = calloc(1, sizeof(*out));
    struct proto_msg *m = glc_msg(GLC_LOCK_ADD);
    int len = proto_encode(m, buf, sizeof(buf));

    (void)state;
    /* the name's length field follows 24 header + 1 op + 4 flags + 3 x 8 ids */
    assert_int_equal(buf[PROTO_HDR_LEN + 1 + 4 + 24], 5);
    buf[PROTO_HDR_LEN + 1 + 4 + 24] = RDLM_RESNAME_MAXLEN + 1;
    assert_int_equal(proto_decode(buf, (size_t)len, out), -1);
    free(m);
    free(out);
}

static void test_mutations(void **state)
{
    uint8_t buf[PROTO_MAX_MSG], mut[PROTO_MAX_MSG];
    struct proto_msg *out = calloc(1, sizeof(*out));
    struct proto_msg *m = glc_msg(GLC_CREATE);
    int len = proto_encode(m, buf, sizeof(buf));

    (void)state;
    srand(12345);
    for (int i = 0; i < 20000; i++) {
        memcpy(mut, buf, (size_t)len);
        for (int k = 0; k < 1 + rand() % 4; k++)
            mut[rand() % len] = (uint8_t)rand();
        int rc = proto_decode(mut, (size_t)len, out);
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            assert_true(out->u.glc.nls <= RDLM_GLC_MAX_LS_WIRE);
            assert_true(out->u.glc.name.len <= RDLM_RESNAME_MAXLEN);
        }
    }
    free(m);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_op),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_name_too_long),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests_name("proto-glc", tests, NULL, NULL);
}
