/*
 * tests/common/test_proto_orphan.c - MSG_ORPHAN (docs/protocol.md section 6, "Orphans kept by
 * their owner's node") in common/proto.c: every field of each op survives encode + decode
 * (KEEP and REPORT carry the lockspace, root and lock; DROP the lock id; END and ENDED only the
 * epoch); hostile bytes are refused: an unknown op or owner kind, a group lock whose owner is
 * no container, an empty or too long name, a lock id 0, a sublock without its name, truncated
 * or trailing bytes, random mutations (decode returns 0 or -1 and never reads out of bounds;
 * ASan in the SAN build). Also MSG_ALIVE (section 4, "Client death"): round trip, an unknown op
 * or a bad alive flag refused, mutations safe; and MSG_FAULT (master/fault.c, the recovery
 * tests' fault injection): each op round trip, node lists only with ISOLATE, unknown ops,
 * truncation and mutations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto.h"
#include "tests/common/proto_check.h"

static void full_orphan(struct proto_msg *m, uint8_t op)
{
    struct msg_orphan *o = &m->u.orphan;

    memset(m, 0, sizeof(*m));
    m->hdr.type = MSG_ORPHAN;
    m->hdr.ls = 0x1122334455667788ull;
    o->op = op;
    o->orphan = 1;
    o->owner_kind = 2;
    o->owner_node = 0x0203;
    o->epoch = 0x01020304u;
    o->owner_id = 0x8877665544332211ull;
    o->ls.len = RDLM_LOCKSPACE_MAXLEN;
    memset(o->ls.bytes, 'l', o->ls.len);
    o->root.len = RDLM_RESNAME_MAXLEN;
    memset(o->root.bytes, 'r', o->root.len);
    o->lock.lkid = 0x0a0b0c0d0e0f1011ull;
    o->lock.hint = 5;
    o->lock.xid = 6;
    o->lock.lvbseq = 7;
    o->lock.parent = 0x99;
    o->lock.subname.len = 3;
    memcpy(o->lock.subname.bytes, "sub", 3);
    o->lock.rd_id = 0xabcdef01u;
    o->lock.flags = 0x80088u;
    o->lock.mode = RDLM_MODE_PW;
    o->lock.has_lvb = 1;
    memset(o->lock.lvb, 'v', RDLM_LVB_LEN);
}

static int roundtrip(struct proto_msg *m, struct proto_msg *o, uint8_t *buf)
{
    int len = proto_encode(m, buf, PROTO_MAX_MSG);

    assert_true(len > 0);
    assert_int_equal(proto_decode(buf, (size_t)len, o), 0);
    assert_int_equal(o->hdr.type, MSG_ORPHAN);
    assert_int_equal(o->hdr.ls, m->hdr.ls);
    assert_int_equal(o->u.orphan.op, m->u.orphan.op);
    assert_int_equal(o->u.orphan.epoch, m->u.orphan.epoch);
    return len;
}

static void orphan_roundtrip_every_op(void **state)
{
    struct proto_msg *m = calloc(2, sizeof(*m)), *o = m + 1;
    uint8_t buf[PROTO_MAX_MSG];

    (void)state;
    assert_non_null(m);
    for (uint8_t op = ORPHAN_KEEP; op <= ORPHAN_ENDED; op++) {
        full_orphan(m, op);
        roundtrip(m, o, buf);
        assert_int_equal(o->u.orphan.owner_id, m->u.orphan.owner_id);
        if (op == ORPHAN_KEEP || op == ORPHAN_REPORT) {
            assert_int_equal(o->u.orphan.orphan, 1);
            assert_int_equal(o->u.orphan.owner_kind, 2);
            assert_int_equal(o->u.orphan.owner_node, 0x0203);
            assert_int_equal(o->u.orphan.ls.len, RDLM_LOCKSPACE_MAXLEN);
            assert_memory_equal(o->u.orphan.ls.bytes, m->u.orphan.ls.bytes, RDLM_LOCKSPACE_MAXLEN);
            assert_memory_equal(o->u.orphan.root.bytes, m->u.orphan.root.bytes,
                                RDLM_RESNAME_MAXLEN);
            assert_memory_equal(&o->u.orphan.lock.subname, &m->u.orphan.lock.subname,
                                sizeof(m->u.orphan.lock.subname));
            assert_int_equal(o->u.orphan.lock.rd_id, 0xabcdef01u);
            assert_int_equal(o->u.orphan.lock.flags, 0x80088u);
            assert_int_equal(o->u.orphan.lock.mode, RDLM_MODE_PW);
            assert_int_equal(o->u.orphan.lock.lvbseq, 7);
            assert_int_equal(o->u.orphan.lock.has_lvb, 1);
            assert_memory_equal(o->u.orphan.lock.lvb, m->u.orphan.lock.lvb, RDLM_LVB_LEN);
        }
        if (op <= ORPHAN_REPORT)
            assert_int_equal(o->u.orphan.lock.lkid, m->u.orphan.lock.lkid);
        else
            assert_int_equal(o->u.orphan.lock.lkid, 0); /* END, ENDED: no lock on the wire */
    }
    free(m);
}

/* Offsets in an encoded ORPHAN: header 24, op 1, kind 1, node 2, epoch 4, owner id 8, then
 * (KEEP, REPORT) orphan 1 and the lockspace name (length 2 + bytes). */
#define OFF_OP     24
#define OFF_KIND   25
#define OFF_ORPHAN 40
#define OFF_LS_LEN 41

/* What a mutated ORPHAN decodes to stays within its limits. */
static void orphan_within_limits(const struct proto_msg *o)
{
    assert_true(o->u.orphan.op >= ORPHAN_KEEP && o->u.orphan.op <= ORPHAN_ENDED);
    assert_true(o->u.orphan.ls.len <= RDLM_LOCKSPACE_MAXLEN);
    assert_true(o->u.orphan.root.len <= RDLM_RESNAME_MAXLEN);
    assert_true(o->u.orphan.lock.subname.len <= RDLM_RESNAME_MAXLEN);
}

static void orphan_refuses_hostile_bytes(void **state)
{
    struct proto_msg *m = calloc(2, sizeof(*m)), *o = m + 1;
    uint8_t buf[PROTO_MAX_MSG], bad[PROTO_MAX_MSG + 8];
    int len;

    (void)state;
    assert_non_null(m);
    full_orphan(m, ORPHAN_KEEP);
    len = roundtrip(m, o, buf);
    memcpy(bad, buf, (size_t)len);
    bad[OFF_OP] = 0;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    bad[OFF_OP] = ORPHAN_ENDED + 1;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[OFF_KIND] = 3;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[OFF_ORPHAN] = 2;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[OFF_ORPHAN] = 0; /* a group lock: its owner must be a container */
    assert_int_equal(proto_decode(bad, (size_t)len, o), 0);
    bad[OFF_KIND] = 1;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    memcpy(bad, buf, (size_t)len);
    bad[OFF_LS_LEN] = 0; /* an empty lockspace name */
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    bad[OFF_LS_LEN] = RDLM_RESNAME_MAXLEN + 1;
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    /* a lock id 0; a parent without the sublock's name */
    full_orphan(m, ORPHAN_REPORT);
    m->u.orphan.lock.lkid = 0;
    len = proto_encode(m, bad, sizeof(bad));
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    full_orphan(m, ORPHAN_DROP);
    m->u.orphan.lock.subname.len = 0;
    len = proto_encode(m, bad, sizeof(bad));
    assert_int_equal(proto_decode(bad, (size_t)len, o), -1);
    full_orphan(m, ORPHAN_KEEP);
    len = proto_encode(m, buf, sizeof(buf));
    expect_cuts_refused(buf, len, 5, o);
    expect_mutations_safe(buf, len, 4321, 20000, o, orphan_within_limits);
    free(m);
}

static void alive_within_limits(const struct proto_msg *o)
{
    assert_true(o->u.alive.op == ALIVE_ASK || o->u.alive.op == ALIVE_ANSWER);
    assert_true(o->u.alive.alive <= 1);
}

static void alive_roundtrip_and_hostile_bytes(void **state)
{
    struct proto_msg m = {0}, o;
    uint8_t buf[PROTO_MAX_MSG];
    int len;

    (void)state;
    m.hdr.type = MSG_ALIVE;
    m.u.alive = (struct msg_alive){ALIVE_ANSWER, 1, 0x0203, 0x04050607u, 0x8090a0b0u};
    len = proto_encode(&m, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal(proto_decode(buf, (size_t)len, &o), 0);
    assert_memory_equal(&o.u.alive, &m.u.alive, sizeof(m.u.alive));
    buf[PROTO_HDR_LEN] = 3; /* an unknown op */
    assert_int_equal(proto_decode(buf, (size_t)len, &o), -1);
    buf[PROTO_HDR_LEN] = ALIVE_ASK;
    buf[PROTO_HDR_LEN + 1] = 2; /* alive is 0 or 1 */
    assert_int_equal(proto_decode(buf, (size_t)len, &o), -1);
    len = proto_encode(&m, buf, sizeof(buf));
    expect_cuts_refused(buf, len, 1, &o);
    expect_mutations_safe(buf, len, 99, 5000, &o, alive_within_limits);
}

static void fault_within_limits(const struct proto_msg *o)
{
    const struct msg_fault *f = &o->u.fault;

    assert_true(f->op == FAULT_ISOLATE || f->op == FAULT_HEAL || f->op == FAULT_LOSE_COMPLETIONS);
    assert_true(f->n <= PROTO_FAULT_NODES);
    assert_true((f->op == FAULT_ISOLATE) == (f->n > 0));
}

static void fault_roundtrip_and_hostile_bytes(void **state)
{
    static const uint8_t ops[] = {FAULT_ISOLATE, FAULT_HEAL, FAULT_LOSE_COMPLETIONS};
    struct proto_msg m = {0}, o;
    uint8_t buf[PROTO_MAX_MSG];
    int len;

    (void)state;
    m.hdr.type = MSG_FAULT;
    for (size_t i = 0; i < sizeof(ops); i++) {
        m.u.fault = (struct msg_fault){.op = ops[i], .n = ops[i] == FAULT_ISOLATE ? 2 : 0};
        m.u.fault.nodes[0] = 3;
        m.u.fault.nodes[1] = 0x0102;
        if (!m.u.fault.n)
            m.u.fault.nodes[0] = m.u.fault.nodes[1] = 0;
        len = proto_encode(&m, buf, sizeof(buf));
        assert_true(len > 0);
        assert_int_equal(proto_decode(buf, (size_t)len, &o), 0);
        assert_int_equal(o.u.fault.op, ops[i]);
        assert_int_equal(o.u.fault.n, m.u.fault.n);
        assert_memory_equal(o.u.fault.nodes, m.u.fault.nodes, m.u.fault.n * sizeof(uint16_t));
        buf[PROTO_HDR_LEN] = 4; /* an unknown op */
        assert_int_equal(proto_decode(buf, (size_t)len, &o), -1);
        buf[PROTO_HDR_LEN] = ops[i] == FAULT_ISOLATE ? FAULT_HEAL : FAULT_ISOLATE;
        assert_int_equal(proto_decode(buf, (size_t)len, &o), -1); /* nodes only with ISOLATE */
        len = proto_encode(&m, buf, sizeof(buf));
        expect_cuts_refused(buf, len, 1, &o);
        expect_mutations_safe(buf, len, 7u + (unsigned)i, 5000, &o, fault_within_limits);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orphan_roundtrip_every_op),
        cmocka_unit_test(orphan_refuses_hostile_bytes),
        cmocka_unit_test(alive_roundtrip_and_hostile_bytes),
        cmocka_unit_test(fault_roundtrip_and_hostile_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
