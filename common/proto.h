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

#define PROTO_MAGIC0            'R'
#define PROTO_MAGIC1            'L'
#define PROTO_VERSION           1
#define PROTO_HDR_LEN           24
#define PROTO_MAX_MSG           4096u
#define PROTO_MAX_TEXT          3900u /* text payload of a REPLY */
#define PROTO_MAX_HOLDS         128u  /* lock entries in one HOLD_REPORT */
#define RDLM_GLC_MAX_LS_WIRE    16    /* = RDLM_GLC_MAX_LS (rdlm.h) */
#define RDLM_RDNAME_MAXLEN_WIRE 32    /* = RDLM_RDNAME_MAXLEN (rdlm.h) */

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
    MSG_DL_QUERY = 18,      /* searcher shard -> shard: your wait edges in this lockspace */
    MSG_DL_EDGES = 19,      /* the answer, in messages of PROTO_DL_EDGES, the last one flagged */
    MSG_DL_CONFIRM = 20,    /* searcher -> master: are these edges still there, unchanged? */
    MSG_DL_CONFIRMED = 21,  /* the answer, edge by edge */
    MSG_DL_CANCEL = 22,     /* searcher -> the victim's master: cancel it, record the cycle */
    MSG_DL_LIST = 23,       /* rdlmctl -> shard: the deadlocks recorded here (REPLY, text) */
    MSG_RECOVER = 24,       /* home daemon -> client: a new view; report, then RECOVER_DONE */
    MSG_RECOVER_LOCKS = 25, /* client -> new master: its locks on a resource that moved */
    MSG_RECOVER_END = 26,   /* client -> new master: all sent (REPLY when applied) */
    MSG_RECOVER_DONE = 27,  /* client -> home daemon: reported everywhere for this epoch */
    MSG_GLC = 28,           /* client -> home daemon: group lock containers (REPLY) */
    MSG_RD = 29,            /* client -> a shard: recovery domains (REPLY) */
    MSG_ORPHAN = 30,        /* between shards: orphans and group locks kept by their owner's node */
    MSG_FAULT = 31,         /* rdlmctl -> shard 0: fault injection, isolate / heal (REPLY) */
    MSG_ALIVE = 32,         /* master -> a client's home shard 0: is that handle still open? */
    MSG_TYPE_MAX
};

/* The hello carried by a connection request (transport-level, <= 48 bytes). */
enum hello_role { ROLE_CLIENT = 1, ROLE_DAEMON = 2, ROLE_CTL = 3, ROLE_PEER = 4 };
/* ROLE_PEER: a shard's connection to another shard for the deadlock search (not membership) */
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
    uint32_t epoch;        /* the membership view: its epoch ... */
    uint64_t view_mask;    /* ... and its members (bit i = configured node index i) */
    uint64_t masters_mask; /* the members that master resources (placement) */
    uint64_t words_addr, lvbs_addr;
    uint32_t words_rkey, lvbs_rkey;
    uint32_t words_len, lvbs_len;
    uint32_t nslots;
    uint64_t fingerprint; /* of the daemon's cluster file: a client of another cluster leaves */
};

#define LSO_HOME 1 /* msg_ls_open.flags: this is the handle's home daemon (recovery) */
struct msg_ls_open {
    uint8_t flags;
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
    struct msg_name root; /* a new sublock whose parent is a root resource's lock: that resource
                             (the parent may be on the fast path: the master moves it off) */
    uint8_t lvb[RDLM_LVB_LEN];
};

struct msg_unlock {
    uint64_t lkid;
    uint64_t parent; /* nonzero for a lock on a sub-resource */
    uint64_t group;  /* a group lock (never on the fast path: the engine must know it) */
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
    uint64_t group, xid; /* not on the wire in HOLD_REPORT (0); set by recovery reports */
    uint64_t parent;     /* likewise: a sub-resource lock's parent lock, and its resource */
    struct msg_name subname;
    uint32_t rd_id; /* likewise: the resource is persistent in this domain */
    uint8_t kept;   /* likewise: a keeper reported it (keeper.c), for this owner: */
    uint8_t orphan; /* ... an orphan (else a group lock) */
    uint8_t owner_kind;
    uint16_t owner_node;
    uint64_t owner_id;
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
    uint32_t epoch; /* the sender's view: epoch, members, masters */
    uint64_t view_mask;
    uint64_t masters_mask;
    uint32_t incarnation;  /* random per daemon start: a restarted daemon is a new one */
    uint32_t done_epoch;   /* every home client of the sender has reported for this epoch */
    uint32_t fenced_epoch; /* every node outside that view is fenced (coordinator) */
    uint64_t time_ns;
    uint64_t fingerprint; /* of the sender's cluster file (common/config.h) */
};

/* Recovery (docs/protocol.md section 6). */
struct msg_recover {
    uint32_t epoch;
    uint64_t view_mask;
    uint64_t masters_mask;
};

#define PROTO_MAX_RECLOCKS 24u
struct msg_reclock {
    uint64_t lkid, hint, group, xid, lvbseq;
    uint64_t parent;         /* a sub-resource lock: its parent lock (reported before it) */
    struct msg_name subname; /* ... and its resource's name (empty for the root's locks) */
    uint32_t rd_id;          /* the resource is persistent in this recovery domain (0: not) */
    uint32_t flags;
    int8_t mode;
    uint8_t has_bast;
    uint8_t has_lvb; /* lvb[] is the value this holder last read or wrote */
    uint8_t lvb[RDLM_LVB_LEN];
};

struct msg_recover_locks {
    uint32_t epoch;
    struct msg_name name;
    uint16_t n;
    struct msg_reclock locks[PROTO_MAX_RECLOCKS];
};

/* Deadlock search (docs/protocol.md section 5), between shards on ROLE_PEER connections. */
#define PROTO_DL_EDGES 48u /* wait edges in one DL_EDGES */
#define PROTO_DL_CYCLE 16u /* edges of one cycle in DL_CONFIRM, DL_CONFIRMED, DL_CANCEL */

/* Who waits, cluster-wide: a client handle (node, pid, id = its incarnation), a group lock
 * container (node, id), a transaction (id = xid), or one lock by itself (id = its lkid: an
 * orphan, or a lock whose owner the master no longer knows; it never waits). */
enum dl_owner_kind { DLO_PROCESS = 1, DLO_GROUP = 2, DLO_XID = 3, DLO_LOCK = 4 };
struct msg_dl_owner {
    uint8_t kind;
    uint16_t node;
    uint32_t pid;
    uint64_t id;
};

#define DLE_LASTING 0x1u /* the blocker blocks in every state it can reach (engine.h) */
#define DLE_OLD     0x2u /* the waiter has waited at least deadlock_wait_ms */
struct msg_dl_edge {
    uint64_t waiter, wstamp, blocker, bstamp;
    struct msg_dl_owner wowner, bowner;
    uint8_t flags; /* DLE_* */
};

struct msg_dl_query {
    uint16_t node, shard; /* the searcher */
};

struct msg_dl_edges {
    uint8_t last;      /* 1 on the last message of the answer */
    uint8_t truncated; /* 1: the master left edges out (too many) */
    uint16_t n;
    struct msg_dl_edge e[PROTO_DL_EDGES];
};

struct msg_dl_check {
    uint64_t waiter, wstamp, blocker, bstamp;
};

struct msg_dl_confirm {
    uint8_t cycle; /* the searcher's number for the cycle, echoed in the answer */
    uint16_t n;
    struct msg_dl_check c[PROTO_DL_CYCLE];
};

/* One edge as its master sees it now: present = both locks there with the same stamps and
 * the edge still counted; then the modes and the resource, for the record. */
struct msg_dl_fact {
    uint8_t present;
    int8_t wgrmode, wrqmode, bgrmode;
    struct msg_name name;
};

struct msg_dl_confirmed {
    uint8_t cycle;
    uint16_t n;
    struct msg_dl_fact f[PROTO_DL_CYCLE];
};

/* One step of a deadlock cycle: a waiting request and the lock it waits for. */
struct msg_dl_step {
    struct msg_dl_owner owner;
    uint64_t lkid, blocker;
    int8_t grmode, rqmode, bgrmode;
    struct msg_name name;
};

struct msg_dl_cancel {
    uint64_t victim, vstamp;
    uint16_t node, shard; /* the searcher */
    uint16_t n;
    struct msg_dl_step s[PROTO_DL_CYCLE];
};

/* Group lock containers (master/glc.c, lib/glc.c): kept by each node's shard 0. */
enum glc_op {
    GLC_CREATE = 1,    /* flags, lss: create and attach the sender; REPLY text = id (8 bytes) */
    GLC_ATTACH = 2,    /* id, lss: the sender's lockspaces */
    GLC_DETACH = 3,    /* the sender's attachment */
    GLC_DESTROY = 4,   /* id, flags */
    GLC_LOCK_ADD = 5,  /* id, lkid, lsid, name: a group lock was created */
    GLC_LOCK_DEL = 6,  /* id, lkid: a group lock ended */
    GLC_LOCK_FIND = 7, /* id, lkid: REPLY text = lsid (8) namelen (1) name */
    GLC_PURGE = 8      /* home shard 0 -> every shard (ROLE_PEER): release group id's locks */
};
/* GLC_DESTROY: lkid is 0 if the caller is root (who may destroy any container), else 1. */
struct msg_glc {
    uint8_t op;
    uint32_t flags;
    uint64_t id, lkid, lsid;
    struct msg_name name;
    uint16_t nls;
    uint64_t lss[RDLM_GLC_MAX_LS_WIRE];
};

/* Recovery domains (master/rd.c, lib/rd.c; docs/protocol.md section 7). The domain master
 * is the (node, shard) placement gives the domain's name under PROTO_RD_SEED. */
enum rd_op {
    RD_ATTACH = 1,  /* domain master: name, rd_id, flags (RDLM_RD_PROCESS|GROUP, RDF_*), group */
    RD_DETACH = 2,  /* domain master: rd_id, flags (PROCESS|GROUP, INVALIDATE), group */
    RD_COLLECT = 3, /* domain master: rd_id, group: the sender collects */
    RD_VALIDATE_END = 4, /* domain master: rd_id, group, flags (RDF_MORE): end the collection */
    RD_ABORT = 5,        /* domain master: rd_id: drop the sender's collection (scan failed) */
    RD_SCAN = 6,         /* any shard: rd_id; cursor 1: resume after items[0]. REPLY text:
                            more (1) n (2) n x [lsid (8) namelen (1) name] */
    RD_VALIDATE = 7,     /* any shard: rd_id, items (1..PROTO_RD_ITEMS): valid and zero */
    RD_INVALIDATE = 8,   /* any shard: rd_id: every resource invalid, new ones too */
    RD_CLEAR = 9,        /* any shard: rd_id: the domain was validated (new ones start valid) */
};
#define RDF_REATTACH      0x100u /* RD_ATTACH after the domain master was lost (recovery) */
#define RDF_COLLECTOR     0x200u /* ... and the sender had the outstanding collection */
#define RDF_MORE          0x400u /* RD_VALIDATE_END: the rescan found uncollected invalid ones */
#define PROTO_RD_SEED     0x52444f4d41494e53ull /* placement seed of domain names */
#define PROTO_RD_SCAN_MAX 48u                   /* items in one RD_SCAN reply */
#define PROTO_RD_ITEMS    40 /* resources in one RD_VALIDATE message or RD_SCAN reply */
struct msg_rd_item {
    uint64_t lsid;
    struct msg_name name;
};
struct msg_rd {
    uint8_t op; /* enum rd_op (defined with the recovery domain code) */
    uint32_t flags;
    uint32_t rd_id;
    uint64_t group; /* the sender's group container, 0 if none */
    uint64_t cursor;
    uint16_t namelen;
    char name[RDLM_RDNAME_MAXLEN_WIRE];
    uint16_t n;
    struct msg_rd_item items[PROTO_RD_ITEMS];
};

/* Locks no live process holds, kept by their owner's node (master/keeper.c; docs/protocol.md
 * section 6), on ROLE_PEER connections: orphans (their owner died) and group locks (their
 * owner is a container of that node). A master tells the owner node's shard 0 (the keeper)
 * when such a lock begins or changes (KEEP) and when an orphan stops being one (DROP); when a
 * view moves the lock's resource, the keeper reports it to the new master like a client
 * reports its own locks. */
enum orphan_op {
    ORPHAN_KEEP = 1,   /* master -> keeper: owner, ls, root, lock: keep (or replace) this record */
    ORPHAN_DROP = 2,   /* master -> keeper: lock.lkid (in hdr.ls) is no orphan any more */
    ORPHAN_REPORT = 3, /* keeper -> new master: epoch, owner, ls, root, lock: install it */
    ORPHAN_END = 4,    /* keeper -> new master: epoch: all reported; answered by ORPHAN_ENDED */
    ORPHAN_ENDED = 5,  /* new master -> keeper: epoch: every report before the END is applied */
};
struct msg_orphan {
    uint8_t op;
    uint8_t orphan;     /* KEEP, REPORT: 1 an orphan, 0 a group lock */
    uint8_t owner_kind; /* enum eng_owner_kind (PROCESS or GROUP) */
    uint16_t owner_node;
    uint32_t epoch;
    uint64_t owner_id;
    struct msg_name ls;   /* the lockspace's name (its id is hdr.ls) */
    struct msg_name root; /* the root resource of the lock's tree (placement) */
    struct msg_reclock lock;
};

/* Fault injection (master/fault.c; docs/operations.md): refused unless the daemon was started
 * with RDLM_FAULT_INJECTION=1. ISOLATE adds nodes[0..n-1] (node ids, n >= 1) to the nodes the
 * daemon treats as behind a partition; LOSE_COMPLETIONS (n = 0) makes it send no lock
 * completion any more (replies still go: a daemon that dies between a reply and the completion
 * that follows it); HEAL (n = 0) ends both. */
enum fault_op { FAULT_ISOLATE = 1, FAULT_HEAL = 2, FAULT_LOSE_COMPLETIONS = 3 };
#define PROTO_FAULT_NODES 64u
struct msg_fault {
    uint8_t op;
    uint8_t n;
    uint16_t nodes[PROTO_FAULT_NODES];
};

/* A master whose connection from a remote client failed asks the client's home (shard 0 of its
 * node, on a ROLE_PEER connection) whether the handle (pid, incarnation) is still open there
 * before it releases the handle's locks (master/alive.c; docs/protocol.md section 4). */
enum alive_op { ALIVE_ASK = 1, ALIVE_ANSWER = 2 };
struct msg_alive {
    uint8_t op;
    uint8_t alive; /* ANSWER: 1 the handle's home connection is open, 0 it is gone */
    uint16_t node; /* the handle's node (the home answering) */
    uint32_t pid, incarnation;
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
        struct msg_recover recover; /* RECOVER, RECOVER_END, RECOVER_DONE */
        struct msg_recover_locks recover_locks;
        struct msg_dl_query dl_query;
        struct msg_dl_edges dl_edges;
        struct msg_dl_confirm dl_confirm;
        struct msg_dl_confirmed dl_confirmed;
        struct msg_dl_cancel dl_cancel;
        struct msg_glc glc;
        struct msg_rd rd;
        struct msg_orphan orphan;
        struct msg_fault fault;
        struct msg_alive alive;
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
