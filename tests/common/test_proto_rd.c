/*
 * tests/common/test_proto_rd.c - MSG_RD (recovery domains, docs/protocol.md section 7) in
 * common/proto.c: every field survives encode + decode, with a full item list; hostile bytes
 * are refused: a name or an item count beyond the limits, an empty item name, truncated or
 * trailing bytes, random mutations (decode returns 0 or -1 and never reads out of bounds;
 * ASan in the SAN build). Also the domain id and domain master helpers (common/rdname.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto.h"
#include "common/rdname.h"
#include "tests/common/proto_check.h"

static struct proto_msg *full_rd(void)
{
    struct proto_msg *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->hdr.type = MSG_RD;
    m->hdr.ls = 0x1122334455667788ull;
    m->hdr.reqid = 42;
    m->u.rd.op = RD_VALIDATE;
    m->u.rd.flags = 0x12345678u;
    m->u.rd.rd_id = 0xdeadbeefu;
    m->u.rd.group = 0x0102030405060708ull;
    m->u.rd.cursor = 0x1112131415161718ull;
    m->u.rd.namelen = RDLM_RDNAME_MAXLEN_WIRE;
    memset(m->u.rd.name, 'd', RDLM_RDNAME_MAXLEN_WIRE);
    m->u.rd.n = PROTO_RD_ITEMS;
    for (unsigned i = 0; i < PROTO_RD_ITEMS; i++) {
        m->u.rd.items[i].lsid = 1000 + i;
        m->u.rd.items[i].name.len = (uint16_t)(1 + i % RDLM_RESNAME_MAXLEN);
        memset(m->u.rd.items[i].name.bytes, 'a' + (int)(i % 26), m->u.rd.items[i].name.len);
    }
    return m;
}

static void rd_roundtrip_full(void **state)
{
    (void)state;
    struct proto_msg *m = full_rd(), *o = calloc(1, sizeof(*o));
    uint8_t buf[PROTO_MAX_MSG];
    int len = proto_encode(m, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal(proto_decode(buf, (size_t)len, o), 0);
    assert_int_equal(o->hdr.type, MSG_RD);
    assert_int_equal(o->hdr.reqid, 42);
    assert_int_equal(o->u.rd.op, RD_VALIDATE);
    assert_int_equal(o->u.rd.flags, 0x12345678u);
    assert_int_equal(o->u.rd.rd_id, 0xdeadbeefu);
    assert_int_equal(o->u.rd.group, 0x0102030405060708ull);
    assert_int_equal(o->u.rd.cursor, 0x1112131415161718ull);
    assert_int_equal(o->u.rd.namelen, RDLM_RDNAME_MAXLEN_WIRE);
    assert_memory_equal(o->u.rd.name, m->u.rd.name, RDLM_RDNAME_MAXLEN_WIRE);
    assert_int_equal(o->u.rd.n, PROTO_RD_ITEMS);
    for (unsigned i = 0; i < PROTO_RD_ITEMS; i++) {
        assert_int_equal(o->u.rd.items[i].lsid, 1000 + i);
        assert_int_equal(o->u.rd.items[i].name.len, m->u.rd.items[i].name.len);
        assert_memory_equal(o->u.rd.items[i].name.bytes, m->u.rd.items[i].name.bytes,
                            m->u.rd.items[i].name.len);
    }
    free(m);
    free(o);
}

static void rd_roundtrip_empty(void **state)
{
    (void)state;
    struct proto_msg m = {0}, o;
    uint8_t buf[PROTO_MAX_MSG];
    m.hdr.type = MSG_RD;
    m.u.rd.op = RD_COLLECT;
    m.u.rd.rd_id = 7;
    int len = proto_encode(&m, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal(proto_decode(buf, (size_t)len, &o), 0);
    assert_int_equal(o.u.rd.op, RD_COLLECT);
    assert_int_equal(o.u.rd.namelen, 0);
    assert_int_equal(o.u.rd.n, 0);
}

/* Offsets in an encoded RD: header 24, op 1, flags 4, rd_id 4, group 8, cursor 8. */
#define OFF_NAMELEN 49

/* What a mutated RD decodes to stays within its limits. */
static void rd_within_limits(const struct proto_msg *o)
{
    assert_true(o->u.rd.namelen <= RDLM_RDNAME_MAXLEN_WIRE);
    assert_true(o->u.rd.n <= PROTO_RD_ITEMS);
    for (unsigned i = 0; i < o->u.rd.n; i++)
        assert_true(o->u.rd.items[i].name.len >= 1 &&
                    o->u.rd.items[i].name.len <= RDLM_RESNAME_MAXLEN);
}

static void rd_refuses_hostile_bytes(void **state)
{
    (void)state;
    struct proto_msg *m = full_rd(), *o = calloc(1, sizeof(*o));
    uint8_t buf[PROTO_MAX_MSG], bad[PROTO_MAX_MSG + 8];
    int len = proto_encode(m, buf, sizeof(buf));
    size_t items_at = OFF_NAMELEN + 2 + RDLM_RDNAME_MAXLEN_WIRE;
    assert_true(len > 0);
    /* a domain name beyond the limit */
    memcpy(bad, buf, (size_t)len);
    bad[OFF_NAMELEN] = RDLM_RDNAME_MAXLEN_WIRE + 1;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    bad[OFF_NAMELEN] = 0xff;
    bad[OFF_NAMELEN + 1] = 0xff;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    /* an item count beyond PROTO_RD_ITEMS */
    memcpy(bad, buf, (size_t)len);
    bad[items_at] = PROTO_RD_ITEMS + 1;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    /* an item with an empty name, and one longer than a resource name */
    memcpy(bad, buf, (size_t)len);
    bad[items_at + 2 + 8] = 0;
    bad[items_at + 2 + 8 + 1] = 0;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    bad[items_at + 2 + 8] = RDLM_RESNAME_MAXLEN + 1;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    expect_cuts_refused(buf, len, 7, o);
    expect_mutations_safe(buf, len, 1234, 20000, o, rd_within_limits);
    /* an encoder given counts beyond the limits does not overrun either */
    m->u.rd.namelen = 500;
    m->u.rd.n = 999;
    len = proto_encode(m, buf, sizeof(buf));
    assert_true(len < 0 || proto_decode(buf, (size_t)len, o) <= 0);
    free(m);
    free(o);
}

static void rd_names_and_ids(void **state)
{
    (void)state;
    struct rdlm_member mb[3] = {{1, 2}, {2, 2}, {3, 0}};
    assert_true(rdlm_rd_name_ok("x", 1));
    assert_true(rdlm_rd_name_ok("abcdefghijabcdefghijabcdefghijab", 32));
    assert_false(rdlm_rd_name_ok("abcdefghijabcdefghijabcdefghijabc", 33));
    assert_false(rdlm_rd_name_ok("", 0));
    assert_false(rdlm_rd_name_ok("a\0b", 3));
    assert_false(rdlm_rd_name_ok(NULL, 1));
    assert_int_equal(rdlm_rd_hash("dom", 3), rdlm_rd_hash("dom", 3));
    assert_int_not_equal(rdlm_rd_hash("dom", 3), rdlm_rd_hash("don", 3));
    assert_int_not_equal(rdlm_rd_hash("dom", 3), 0);
    for (int i = 0; i < 100; i++) {
        char n[16];
        snprintf(n, sizeof(n), "d%d", i);
        struct rdlm_placement_target t = rdlm_rd_master(mb, 3, n, strlen(n));
        assert_true(t.node == 1 || t.node == 2); /* node 3 masters nothing */
        assert_true(t.shard < 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rd_roundtrip_full),
        cmocka_unit_test(rd_roundtrip_empty),
        cmocka_unit_test(rd_refuses_hostile_bytes),
        cmocka_unit_test(rd_names_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
