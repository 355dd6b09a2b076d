/*
 * tests/lib/cluster_fixture.h - a real local cluster for the cmocka tests of the client
 * libraries: `rdlmctl up` in a temporary directory (RDLM_BUILD names the build directory),
 * RDLM_CONFIG pointed at it, and `rdlmctl down` at the end, also from an atexit handler so
 * that an aborting test leaves no daemon behind. RDLM_FIXTURE_TRANSPORT (tcp, rdma) picks the
 * daemons' transport; RDLM_FIXTURE_KEEP=1 keeps the directory with the daemons' logs.
 */
#ifndef RDLM_TESTS_CLUSTER_FIXTURE_H
#define RDLM_TESTS_CLUSTER_FIXTURE_H

#include <stddef.h>

#include "rdlm.h"

/* Start nodes x shards daemons on 127.0.0.1; 0, or -1. tag names the temporary directory. */
int fixture_cluster_up(const char *tag, unsigned nodes, unsigned shards);
/* The same with extra arguments for `rdlmctl up` (shell words, e.g. a --fence-command). */
int fixture_cluster_up_with(const char *tag, unsigned nodes, unsigned shards, const char *extra);
/* Stop them and remove the directory (idempotent). */
void fixture_cluster_down(void);
/* SIGKILL node's rdlmd (a failure for the others to recover from); 0, or -1. */
int fixture_kill_node(unsigned node);
/* Send sig to node's rdlmd (SIGSTOP/SIGCONT: a daemon that stalls); 0, or -1. */
int fixture_signal_node(unsigned node, int sig);
/* `rdlmctl ARGS --dir DIR`: its output (stdout and stderr, truncated to len - 1) in out; 0 if it
 * exited 0, else -1. */
int fixture_ctl(const char *args, char *out, size_t len);
/* A name "<prefix><i>" whose resource node masters (asked while ls holds NL on it, so that the
 * resource exists); 0, or -1 if none of the first 400 is. */
int fixture_name_on_node(rdlm_ls *ls, unsigned node, const char *prefix, char *name, size_t len);
/* A helper process, forked before any handle exists and driven over two pipes. */
struct fixture_kid {
    int pid;
    int cmd, rep; /* the parent's ends (it writes cmd, reads rep); in the child, its own */
};
/* Fork k; the child runs body (which must not return). 0, or -1. */
int fixture_fork_kid(struct fixture_kid *k, void (*body)(void));
/* SIGKILL and reap k if it still runs (a test failed before it ended). */
void fixture_reap_kid(struct fixture_kid *k);
/* The cluster's directory ("" when down). */
const char *fixture_cluster_dir(void);

#endif
