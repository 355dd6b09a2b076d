/*
 * master/rd_internal.h - what the two halves of the recovery-domain code share: the domain
 * master's state (rd.c) and the per-shard state of the persistent resources a shard masters
 * (rd_res.c); docs/protocol.md section 7.
 */
#ifndef RDLM_MASTER_RD_INTERNAL_H
#define RDLM_MASTER_RD_INTERNAL_H

#include "master/daemon.h"
#include "rdlm.h"

#define RD_MAX_DOMAINS 4096u /* per shard, as domain master */
#define RD_MAX_ATTS    1024u /* attachments per domain */
#define RD_MAX_MARKS   4096u /* per shard: domains with a mark */
#define GHOST_NS       (60ull * 1000 * 1000 * 1000)

struct rd_att {
    uint16_t node;
    uint32_t pid;
    uint32_t client; /* the connection it came on */
    uint8_t kind;    /* RDLM_RD_PROCESS or RDLM_RD_GROUP */
    uint64_t group;
    bool ghost; /* its connection closed: only remembered for the failed flag */
    uint64_t since_ns;
};

struct rd_dom {
    uint32_t rd_id;
    uint8_t namelen;
    char name[RDLM_RDNAME_MAXLEN_WIRE];
    struct rd_att *atts;
    uint32_t natts, cap;
    bool collecting; /* a collection is outstanding ... */
    uint16_t cnode;  /* ... by this process */
    uint32_t cpid;
    uint32_t cclient;
    bool failed;      /* a node with an attached process was lost since the collect */
    bool invalidated; /* detached with INVALIDATE, not validated since */
};

struct rd_mark { /* per shard: a domain's state for the resources mastered here */
    uint32_t rd_id;
    bool invalidated;     /* new persistent resources of the domain start invalid */
    uint32_t clear_epoch; /* the view epoch of the domain's last validation (RD_CLEAR) */
};

struct rd_shard {
    struct rd_dom **doms;
    uint32_t ndoms;
    struct rd_mark *marks;
    uint32_t nmarks;
    uint64_t base_masters; /* the masters of the first view this shard saw */
    uint64_t masters;      /* of the last view */
    uint32_t loss_epoch;   /* the last view that lost masters (0: none) */
};

/* The shard's recovery-domain state, created on first use (NULL if out of memory). */
struct rd_shard *rd_state(struct shard *s);

/* rd_res.c: the ops every shard answers for the resources it masters. */
void rd_op_scan(struct shard *s, struct mclient *c, const struct proto_msg *m);
void rd_op_validate(struct shard *s, struct mclient *c, const struct proto_msg *m);
int rd_op_mark(struct shard *s, const struct msg_rd *q);

#endif
