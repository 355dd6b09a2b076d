/*
 * tests/engine-model/ref_model.h - an independent, brute-force reference model of the lock
 * engine (master/engine.h), written from docs/engine.md alone, for the model-based test.
 *
 * Same operations and queries as the engine, same observable behaviour; nothing clever: plain
 * arrays, linear searches, grantability recomputed from the rules every time. The action
 * list type is the reference's own (ref_actions) so that the model needs no engine code; an
 * LVB action carries the resource's name instead of an opaque pointer.
 */
#ifndef RDLM_TESTS_REF_MODEL_H
#define RDLM_TESTS_REF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "master/engine.h"

struct ref;

struct ref_action {
    struct eng_action a; /* a.res is always NULL: see name below */
    uint16_t namelen;    /* LVB: the resource's name */
    uint8_t name[RDLM_RESNAME_MAXLEN];
    uint64_t res_id; /* LVB: the reference's resource id (to tell whether it still exists) */
};

struct ref_actions {
    struct ref_action *v;
    size_t n;
    size_t cap;
};

void ref_actions_clear(struct ref_actions *a);
void ref_actions_free(struct ref_actions *a);

struct ref *ref_create(void);
void ref_destroy(struct ref *m);

int ref_request(struct ref *m, const struct eng_req *req, struct ref_actions *out);
int ref_unlock(struct ref *m, uint64_t lkid, uint32_t flags, const uint8_t *lvb,
               struct ref_actions *out);
int ref_cancel(struct ref *m, uint64_t lkid, uint32_t flags, struct ref_actions *out);
int ref_cancel_deadlock(struct ref *m, uint64_t lkid, struct ref_actions *out);
int ref_advance_time(struct ref *m, uint64_t now_cs, struct ref_actions *out);
int ref_purge_owner(struct ref *m, const struct eng_owner *owner, struct ref_actions *out);
int ref_purge_orphans(struct ref *m, uint32_t node, uint64_t pid, struct ref_actions *out);

int ref_query_lock(const struct ref *m, uint64_t lkid, struct eng_lock_info *info);
int ref_query_res(const struct ref *m, uint64_t parent_lkid, const void *name, uint16_t namelen,
                  struct eng_res_info *info);
int ref_query_queues(const struct ref *m, uint64_t parent_lkid, const void *name, uint16_t namelen,
                     struct eng_queues *q);
size_t ref_resource_count(const struct ref *m);
size_t ref_lock_count(const struct ref *m);

/* --- introspection for the test harness (not part of the engine API) --- */

/* True if the resource of an LVB action (its res_id) still exists. */
bool ref_res_live(const struct ref *m, uint64_t res_id);

/*
 * One live resource and how to name it through the query API: parent_lkid is 0 for a root
 * resource, else some lock on the parent resource (queryable = false when no lock is left on
 * the parent resource, so the resource cannot be named through the API).
 */
struct ref_res_key {
    uint64_t res_id;
    bool queryable;
    uint64_t parent_lkid;
    uint16_t namelen;
    uint8_t name[RDLM_RESNAME_MAXLEN];
    int depth; /* 0 = root */
};
size_t ref_list_resources(const struct ref *m, struct ref_res_key *out, size_t cap);

/* Every live lock id, in creation order. */
size_t ref_list_locks(const struct ref *m, uint64_t *out, size_t cap);

uint64_t ref_now(const struct ref *m);

/* The orphan an ORPHAN request would adopt (validation aside), 0 if none. */
uint64_t ref_adoption_candidate(const struct ref *m, uint64_t parent_lkid, const void *name,
                                uint16_t namelen, int mode);
bool ref_has_sublocks(const struct ref *m, uint64_t lkid);

/* How often each path of the contract was taken (all references of the process together). */
enum ref_cov {
    REF_COV_NEW_GRANT,
    REF_COV_NEW_EXPEDITE,
    REF_COV_NEW_NOORDER,
    REF_COV_NEW_NOTQUEUED,
    REF_COV_NEW_QUEUED,
    REF_COV_NEW_HEADQUE,
    REF_COV_ADOPT,
    REF_COV_CVT_GRANT,
    REF_COV_CVT_ALT,
    REF_COV_CVT_DEADLOCK,
    REF_COV_CVT_DEMOTE,
    REF_COV_CVT_DEMOTE_GRANT,
    REF_COV_CVT_NODLCKWT,
    REF_COV_CVT_NOTQUEUED,
    REF_COV_CVT_QUEUED,
    REF_COV_CVT_HEADQUE,
    REF_COV_PASS_CVT_GRANT,
    REF_COV_PASS_CVT_ALT,
    REF_COV_PASS_DEMOTE,
    REF_COV_PASS_SELF_BAST,
    REF_COV_PASS_WAIT_GRANT,
    REF_COV_PASS_WAIT_ALT,
    REF_COV_PENDING_BAST,
    REF_COV_PENDING_BAST_PRCW,
    REF_COV_QUEUE_BAST,
    REF_COV_NOQUEUE_BAST,
    REF_COV_GRANT_LVB_WRITE,
    REF_COV_GRANT_LVB_INVAL,
    REF_COV_GRANT_LVB_READ,
    REF_COV_UNLOCK_LVB_WRITE,
    REF_COV_UNLOCK_LVB_INVAL,
    REF_COV_FORCE_SUBLOCK,
    REF_COV_ABORTED,
    REF_COV_PURGE_REVERT,
    REF_COV_PURGE_DELETE,
    REF_COV_ORPHANED,
    REF_COV_PURGE_REMOVED,
    REF_COV_TIMEOUT,
    REF_COV_RES_FREED,
    REF_COV_COUNT
};
extern uint64_t ref_cov[REF_COV_COUNT];
const char *ref_cov_name(int k);

/* Print every resource, queue and lock (with internal fields such as highbast). */
void ref_dump(const struct ref *m, FILE *f);

#endif /* RDLM_TESTS_REF_MODEL_H */
