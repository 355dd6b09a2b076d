/*
 * lib/rd_internal.h - what lib/rd.c (the recovery-domain API, the process's attachments,
 * recovery) and lib/rd_wire.c (the exchanges with the shards) share.
 */
#ifndef RDLM_LIB_RD_INTERNAL_H
#define RDLM_LIB_RD_INTERNAL_H

#include "lib/client.h"

#define RD_TIMEOUT_MS 10000

/* All under ls->mu. m is filled by the caller but for its type and lockspace; the REPLY lands
 * in *reply; the answer is its status (RDLM_E_NOTCONN if none came). */
int rd_ask(struct rdlm_ls *ls, struct cconn *cc, struct proto_msg *m, struct proto_msg *reply);
/* The domain master of name under the handle's view. */
struct rdlm_placement_target rd_master_of(const struct rdlm_ls *ls, const char *name, size_t len);
int rd_ask_master(struct rdlm_ls *ls, const char *name, size_t len, struct proto_msg *m,
                  struct proto_msg *reply);
/* The same message to every (node, shard) of the view; the first failure. */
int rd_ask_all(struct rdlm_ls *ls, struct proto_msg *m, struct proto_msg *reply);
bool rd_coll_has(const struct rdlm_rd_collection *c, uint64_t lsid, const uint8_t *name,
                 unsigned len);
/* RD_SCAN every shard: the domain's invalid resources into c; with c NULL, only whether there
 * is any (*any). */
int rd_scan_all(struct rdlm_ls *ls, uint32_t rd_id, struct rdlm_rd_collection *c, bool *any,
                struct proto_msg *m, struct proto_msg *reply);

#endif
