/*
 * common/proto.h - rdlm's wire messages (docs/protocol.md section 3): the structures, and
 * their encoding to and from little-endian, length-prefixed, bounds-checked bytes. Both the
 * client library and the daemon use these and nothing else to talk.
 *
 * Decoding never trusts the peer: every length is checked against the buffer and against the
 * protocol's limits, and a message that fails any check is reported as malformed (-1); the
 * caller closes that connection.
 */
#ifndef RDLM_COMMON_PROTO_H
#define RDLM_COMMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rdlm/constants.h"

#define PROTO_MAGIC0    'R'
#define PROTO_MAGIC1    'L'
#define PROTO_VERSION   1
#define PROTO_HDR_LEN   24
#define PROTO_MAX_MSG   4096u
#define PROTO_MAX_TEXT  3900u /* text payload of a REPLY */
#define PROTO_MAX_HOLDS 128u  /* lock entries in one HOLD_REPORT */

enum msg_type {
    MSG_SHARD_INFO = 1,
    MSG_LS_OPEN = 2,
    MSG_REQUEST = 3,
    MSG_UNLOCK = 4,
    MSG_CANCEL = 5,
    MSG_COMPLETE = 6,
    MSG_BAST = 7,
    MSG_REPLY = 8,
    MSG_CONTENDED = 9,
    MSG_HOLD_REPORT = 10,
    MSG_PURGE = 11,
    MSG_QUERY_LOCK = 12,
    MSG_QUERY_RES = 13,
    MSG_DUMP = 14,
    MSG_STATUS = 15,
    MSG_HEARTBEAT = 16,
    MSG_LS_LIST = 17,
    MSG_TYPE_MAX
};

/* The hello carried by a connection request (transport-level, <= 48 bytes). */
enum hello_role { ROLE_CLIENT = 1, ROLE_DAEMON = 2, ROLE_CTL = 3 };
struct proto_hello {
    uint8_t role;
    uint16_t node; /* the connecting process's node */
    uint32_t pid;
    uint32_t incarnation; /* random per process start */
};
#define PROTO_HELLO_LEN 16
void proto_hello_pack(const struct proto_hello *h, uint8_t out[PROTO_HELLO_LEN]);
int proto_hello_unpack(const void *buf, size_t len, struct proto_hello *h);

struct msg_hdr {
    uint8_t type;
    uint32_t len;   /* whole message, header included */
    uint64_t ls;    /* lockspace id (0 for messages not about one) */
    uint64_t reqid; /* matches a REPLY to its request */
};

struct msg_shard_info {
    uint16_t node, shard;
    uint32_t epoch;
    uint64_t words_addr, lvbs_addr;
    uint32_t words_rkey, lvbs_rkey;
    uint32_t words_len, lvbs_len;
    uint32_t nslots;
};

struct msg_ls_open {
    uint16_t namelen;
    char name[RDLM_LOCKSPACE_MAXLEN];
};

struct msg_name {
    uint16_t len;
    uint8_t bytes[RDLM_RESNAME_MAXLEN];
};

struct msg_request {
    uint64_t lkid, parent, xid, hint, group;
    uint32_t timeout_cs, rd_id, flags;
    int8_t mode, grmode; /* grmode: the client's view, for conversions */
    uint8_t has_bast;
    uint8_t lvb_written; /* the client already wrote the LVB record (a fast attempt failed) */
    struct msg_name name;
    uint8_t lvb[RDLM_LVB_LEN];
};

struct msg_unlock {
    uint64_t lkid;
    uint64_t parent; /* nonzero for a lock on a sub-resource */
    uint32_t flags;
    int8_t grmode;       /* the client's view */
    uint8_t lvb_written; /* as in msg_request */
    struct msg_name name;
    uint8_t lvb[RDLM_LVB_LEN];
};

struct msg_cancel {
    uint64_t lkid;
    uint32_t flags;
    uint8_t deadlock;
};

struct msg_complete {
    uint64_t lkid;
    uint8_t op, status, sbflags, lvb_read;
    int8_t mode;
    uint64_t lvbseq;
    uint8_t lvb[RDLM_LVB_LEN];
    uint32_t slot; /* LW_NO_SLOT: two-sided only */
    uint64_t word; /* the slot's word when the reply was made */
};

struct msg_bast {
    uint64_t lkid;
    int8_t mode;
    uint64_t hint;
};

struct msg_reply {
    uint8_t status;
    uint32_t textlen;
    char text[PROTO_MAX_TEXT];
};

struct msg_contended {
    uint32_t slot;
    uint16_t gen;
    struct msg_name name;
};

struct msg_hold {
    uint64_t lkid, hint;
    uint32_t flags;
    int8_t mode;
    uint8_t has_bast;
};

struct msg_hold_report {
    uint32_t slot;
    uint16_t gen;
    uint8_t last; /* 1 on the last message of this report */
    uint16_t n;
    struct msg_hold holds[PROTO_MAX_HOLDS];
};

struct msg_purge {
    uint32_t node, pid;
};

struct msg_query_lock {
    uint64_t lkid;
};

struct msg_query_res {
    uint64_t parent;
    struct msg_name name;
};

struct msg_heartbeat {
    uint16_t node;
    uint32_t epoch;
    uint64_t time_ns;
};

/* One decoded message. */
struct proto_msg {
    struct msg_hdr hdr;
    union {
        struct msg_shard_info shard_info;
        struct msg_ls_open ls_open;
        struct msg_request request;
        struct msg_unlock unlock;
        struct msg_cancel cancel;
        struct msg_complete complete;
        struct msg_bast bast;
        struct msg_reply reply;
        struct msg_contended contended;
        struct msg_hold_report hold_report;
        struct msg_purge purge;
        struct msg_query_lock query_lock;
        struct msg_query_res query_res;
        struct msg_name dump;
        struct msg_heartbeat heartbeat;
    } u;
};

/* Encode m (hdr.type, hdr.ls, hdr.reqid and the body) into buf; returns the length, or -1 if
 * it does not fit in cap. hdr.len is filled in. */
int proto_encode(struct proto_msg *m, uint8_t *buf, size_t cap);

/* Decode buf into m; 0, or -1 for a malformed message (wrong magic, version, type, length,
 * or any field out of range). */
int proto_decode(const void *buf, size_t len, struct proto_msg *m);

const char *proto_type_name(int type);

#endif /* RDLM_COMMON_PROTO_H */
