/*
 * tests/common/test_proto_dl.c - the deadlock-search messages of common/proto.c (DL_QUERY,
 * DL_EDGES, DL_CONFIRM, DL_CONFIRMED, DL_CANCEL, DL_LIST; docs/protocol.md section 5): every
 * field survives encode + decode, and hostile bytes are refused, never trusted: counts beyond
 * the limits, bad owner kinds, flags and modes, truncated or trailing bytes, and random
 * mutations of valid messages (decode returns 0 or -1, never reads out of bounds; run it under
 * ASan to see that). Also the ROLE_PEER hello.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto.h"

static struct proto_msg *msg(uint8_t type)
{
    struct proto_msg *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->hdr.type = type;
    m->hdr.ls = 0x1122334455667788ull;
    m->hdr.reqid = 42;
    return m;
}

static int roundtrip(struct proto_msg *m, uint8_t *buf, struct proto_msg *out)
{
    int len = proto_encode(m, buf, PROTO_MAX_MSG);
    assert_true(len > 0);
    assert_int_equal(proto_decode(buf, (size_t)len, out), 0);
    assert_int_equal(out->hdr.type, m->hdr.type);
    assert_int_equal(out->hdr.ls, m->hdr.ls);
    assert_int_equal(out->hdr.reqid, m->hdr.reqid);
    return len;
}

static struct msg_dl_owner owner(uint8_t kind, uint64_t id)
{
    return (struct msg_dl_owner){kind, 3, 4567, id};
}

static void fill_edges(struct proto_msg *m, uint16_t n)
{
    m->u.dl_edges.n = n;
    m->u.dl_edges.last = 1;
    for (uint16_t i = 0; i < n; i++)
        m->u.dl_edges.e[i] = (struct msg_dl_edge){
            .waiter = 100 + i,
            .wstamp = 7 + i,
            .blocker = 200 + i,
            .bstamp = 9,
            .wowner = owner(DLO_PROCESS, i),
            .bowner = owner(i % 2 ? DLO_XID : DLO_LOCK, 77),
            .flags = DLE_LASTING | (i % 2 ? DLE_OLD : 0),
        };
}

static void dl_edges_roundtrip_full_message(void **state)
{
    (void)state;
    struct proto_msg *m = msg(MSG_DL_EDGES), *o = msg(0);
    uint8_t buf[PROTO_MAX_MSG];
    fill_edges(m, PROTO_DL_EDGES);
    m->u.dl_edges.truncated = 1;
    roundtrip(m, buf, o);
    assert_int_equal(o->u.dl_edges.n, PROTO_DL_EDGES);
    assert_int_equal(o->u.dl_edges.last, 1);
    assert_int_equal(o->u.dl_edges.truncated, 1);
    for (unsigned i = 0; i < PROTO_DL_EDGES; i++) {
        const struct msg_dl_edge *a = &m->u.dl_edges.e[i], *b = &o->u.dl_edges.e[i];
        assert_int_equal(a->waiter, b->waiter);
        assert_int_equal(a->wstamp, b->wstamp);
        assert_int_equal(a->blocker, b->blocker);
        assert_int_equal(a->bstamp, b->bstamp);
        assert_int_equal(a->flags, b->flags);
        assert_int_equal(a->wowner.kind, b->wowner.kind);
        assert_int_equal(a->wowner.node, b->wowner.node);
        assert_int_equal(a->wowner.pid, b->wowner.pid);
        assert_int_equal(a->wowner.id, b->wowner.id);
        assert_int_equal(a->bowner.kind, b->bowner.kind);
        assert_int_equal(a->bowner.id, b->bowner.id);
    }
    free(m);
    free(o);
}

static void dl_query_confirm_list_roundtrip(void **state)
{
    (void)state;
    struct proto_msg *m = msg(MSG_DL_QUERY), *o = msg(0);
    uint8_t buf[PROTO_MAX_MSG];
    m->u.dl_query.node = 9;
    m->u.dl_query.shard = 2;
    roundtrip(m, buf, o);
    assert_int_equal(o->u.dl_query.node, 9);
    assert_int_equal(o->u.dl_query.shard, 2);

    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_CONFIRM;
    m->u.dl_confirm.cycle = 3;
    m->u.dl_confirm.n = PROTO_DL_CYCLE;
    for (unsigned i = 0; i < PROTO_DL_CYCLE; i++)
        m->u.dl_confirm.c[i] = (struct msg_dl_check){i + 1, i + 2, i + 3, i + 4};
    roundtrip(m, buf, o);
    assert_int_equal(o->u.dl_confirm.cycle, 3);
    assert_int_equal(o->u.dl_confirm.n, PROTO_DL_CYCLE);
    assert_int_equal(o->u.dl_confirm.c[15].bstamp, 19);

    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_CONFIRMED;
    m->u.dl_confirmed.cycle = 1;
    m->u.dl_confirmed.n = 2;
    m->u.dl_confirmed.f[0] =
        (struct msg_dl_fact){1, RDLM_MODE_IV, RDLM_MODE_EX, RDLM_MODE_PR, {3, "abc"}};
    m->u.dl_confirmed.f[1] =
        (struct msg_dl_fact){0, RDLM_MODE_IV, RDLM_MODE_IV, RDLM_MODE_IV, {0, ""}};
    roundtrip(m, buf, o);
    assert_int_equal(o->u.dl_confirmed.f[0].present, 1);
    assert_int_equal(o->u.dl_confirmed.f[0].wgrmode, RDLM_MODE_IV);
    assert_int_equal(o->u.dl_confirmed.f[0].wrqmode, RDLM_MODE_EX);
    assert_int_equal(o->u.dl_confirmed.f[0].bgrmode, RDLM_MODE_PR);
    assert_int_equal(o->u.dl_confirmed.f[0].name.len, 3);
    assert_memory_equal(o->u.dl_confirmed.f[0].name.bytes, "abc", 3);
    assert_int_equal(o->u.dl_confirmed.f[1].present, 0);

    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_LIST;
    assert_int_equal(roundtrip(m, buf, o), PROTO_HDR_LEN);
    free(m);
    free(o);
}

static void dl_cancel_roundtrip(void **state)
{
    (void)state;
    struct proto_msg *m = msg(MSG_DL_CANCEL), *o = msg(0);
    uint8_t buf[PROTO_MAX_MSG];
    struct msg_dl_cancel *k = &m->u.dl_cancel;
    k->victim = 0xabc;
    k->vstamp = 0x10001;
    k->node = 2;
    k->shard = 1;
    k->n = PROTO_DL_CYCLE;
    for (unsigned i = 0; i < PROTO_DL_CYCLE; i++) {
        k->s[i] = (struct msg_dl_step){owner(DLO_GROUP, i),
                                       0x100 + i,
                                       0x200 + i,
                                       RDLM_MODE_PR,
                                       RDLM_MODE_EX,
                                       RDLM_MODE_CW,
                                       {RDLM_RESNAME_MAXLEN, {0}}};
        memset(k->s[i].name.bytes, 'a' + (int)i, RDLM_RESNAME_MAXLEN);
    }
    int len = roundtrip(m, buf, o);
    assert_true(len <= (int)PROTO_MAX_MSG);
    assert_int_equal(o->u.dl_cancel.victim, 0xabc);
    assert_int_equal(o->u.dl_cancel.vstamp, 0x10001);
    assert_int_equal(o->u.dl_cancel.n, PROTO_DL_CYCLE);
    assert_int_equal(o->u.dl_cancel.s[15].lkid, 0x10f);
    assert_int_equal(o->u.dl_cancel.s[15].owner.kind, DLO_GROUP);
    assert_int_equal(o->u.dl_cancel.s[15].bgrmode, RDLM_MODE_CW);
    assert_memory_equal(o->u.dl_cancel.s[15].name.bytes, k->s[15].name.bytes, RDLM_RESNAME_MAXLEN);
    free(m);
    free(o);
}

/* Patch the little-endian u16 at off. */
static void put16(uint8_t *b, size_t off, uint16_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
}

static void dl_hostile_fields_refused(void **state)
{
    (void)state;
    struct proto_msg *m = msg(MSG_DL_EDGES), *o = msg(0);
    uint8_t buf[PROTO_MAX_MSG], bad[PROTO_MAX_MSG];
    int len;

    fill_edges(m, 1);
    len = proto_encode(m, buf, sizeof(buf));
    assert_true(len > 0);
    /* body: last(1) truncated(1) n(2) then the edge: 4 x u64, owner(15), owner(15), flags(1) */
    size_t body = PROTO_HDR_LEN, edge = body + 4;
    memcpy(bad, buf, (size_t)len);
    put16(bad, body + 2, PROTO_DL_EDGES + 1); /* more than a message may hold */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    put16(bad, body + 2, 2); /* says 2, carries 1 */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[body] = 2; /* last is 0 or 1 */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[edge + 32] = 9; /* waiter's owner kind */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[edge + 32] = DLO_LOCK; /* a lock alone never waits */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[edge + 32 + 30] = 0x80; /* unknown edge flag */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    memset(bad + edge, 0, 8); /* waiter 0 */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    assert_int_equal(proto_decode(buf, (size_t)len - 1, o), -1); /* truncated */
    assert_int_equal(proto_decode(buf, (size_t)len, o), 0);

    /* DL_CANCEL: victim 0, a step with a bad mode, too many steps */
    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_CANCEL;
    m->u.dl_cancel.victim = 5;
    m->u.dl_cancel.n = 1;
    m->u.dl_cancel.s[0] = (struct msg_dl_step){
        owner(DLO_PROCESS, 1), 5, 6, RDLM_MODE_IV, RDLM_MODE_EX, RDLM_MODE_EX, {1, "r"}};
    len = proto_encode(m, buf, sizeof(buf));
    assert_int_equal(proto_decode(buf, (size_t)len, o), 0);
    memcpy(bad, buf, (size_t)len);
    memset(bad + body, 0, 8);
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    put16(bad, body + 20, PROTO_DL_CYCLE + 1);
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[body + 22 + 15 + 16 + 1] = 6; /* rqmode beyond EX */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    put16(bad, body + 22 + 15 + 16 + 3, RDLM_RESNAME_MAXLEN + 1); /* name too long */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);

    /* DL_CONFIRM with more checks than a cycle may have; DL_CONFIRMED with present = 2 */
    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_CONFIRM;
    m->u.dl_confirm.n = 1;
    len = proto_encode(m, buf, sizeof(buf));
    memcpy(bad, buf, (size_t)len);
    put16(bad, body + 1, PROTO_DL_CYCLE + 1);
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_CONFIRMED;
    m->u.dl_confirmed.n = 1;
    len = proto_encode(m, buf, sizeof(buf));
    assert_int_equal(proto_decode(buf, (size_t)len, o), 0);
    memcpy(bad, buf, (size_t)len);
    bad[body + 3] = 2;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);

    /* DL_LIST and DL_QUERY carry exactly their bodies: a trailing byte is malformed */
    memset(&m->u, 0, sizeof(m->u));
    m->hdr.type = MSG_DL_LIST;
    len = proto_encode(m, buf, sizeof(buf));
    buf[len] = 0;
    buf[4] = (uint8_t)(len + 1);
    assert_int_equal(proto_decode(buf, (size_t)len + 1, o), -1);
    free(m);
    free(o);
}

/* Random mutations of valid messages: decode answers 0 or -1 and stays in bounds. */
static void dl_mutations_never_crash(void **state)
{
    (void)state;
    static const uint8_t types[] = {MSG_DL_QUERY,     MSG_DL_EDGES,  MSG_DL_CONFIRM,
                                    MSG_DL_CONFIRMED, MSG_DL_CANCEL, MSG_DL_LIST};
    struct proto_msg *m = msg(0), *o = msg(0);
    uint8_t buf[PROTO_MAX_MSG];
    uint64_t x = 88172645463325252ull;
    unsigned ok = 0, refused = 0;

    for (int iter = 0; iter < 20000; iter++) {
        memset(&m->u, 0, sizeof(m->u));
        m->hdr.type = types[iter % 6];
        if (m->hdr.type == MSG_DL_EDGES)
            fill_edges(m, (uint16_t)(iter % (PROTO_DL_EDGES + 1)));
        if (m->hdr.type == MSG_DL_CONFIRM)
            m->u.dl_confirm.n = (uint16_t)(iter % (PROTO_DL_CYCLE + 1));
        if (m->hdr.type == MSG_DL_CANCEL) {
            m->u.dl_cancel.victim = 1;
            m->u.dl_cancel.n = (uint16_t)(iter % (PROTO_DL_CYCLE + 1));
            for (unsigned i = 0; i < m->u.dl_cancel.n; i++)
                m->u.dl_cancel.s[i].owner.kind = DLO_XID;
        }
        int len = proto_encode(m, buf, sizeof(buf));
        assert_true(len >= PROTO_HDR_LEN);
        for (int k = 0; k < 1 + iter % 4; k++) { /* flip a few bytes past the header */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at =
                PROTO_HDR_LEN + (len > PROTO_HDR_LEN ? x % (uint64_t)(len - PROTO_HDR_LEN) : 0);
            if (at < (size_t)len)
                buf[at] ^= (uint8_t)(x >> 32) | 1;
        }
        size_t cut = iter % 7 == 0 ? (size_t)len - (x % 3) : (size_t)len;
        int rc = proto_decode(buf, cut, o);
        assert_true(rc == 0 || rc == -1);
        rc == 0 ? ok++ : refused++;
    }
    assert_true(refused > 0);
    assert_int_equal(ok + refused, 20000);
    free(m);
    free(o);
}

static void peer_hello(void **state)
{
    (void)state;
    struct proto_hello h = {ROLE_PEER, 3, 1234, 1}, o;
    uint8_t b[PROTO_HELLO_LEN];
    proto_hello_pack(&h, b);
    assert_int_equal(proto_hello_unpack(b, sizeof(b), &o), 0);
    assert_int_equal(o.role, ROLE_PEER);
    b[3] = ROLE_PEER + 1;
    assert_int_equal(proto_hello_unpack(b, sizeof(b), &o), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dl_edges_roundtrip_full_message),
        cmocka_unit_test(dl_query_confirm_list_roundtrip),
        cmocka_unit_test(dl_cancel_roundtrip),
        cmocka_unit_test(dl_hostile_fields_refused),
        cmocka_unit_test(dl_mutations_never_crash),
        cmocka_unit_test(peer_hello),
    };
    return cmocka_run_group_tests_name("common/proto-dl", tests, NULL, NULL);
}
