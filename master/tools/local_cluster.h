/*
 * master/tools/local_cluster.h - `rdlmctl up` / `rdlmctl down`: a cluster of N rdlmd
 * processes on this host, described by DIR/cluster.ini, each with DIR/node-I.log (its stderr)
 * and DIR/node-I.pid.  The daemons run detached (their own session), so they outlive rdlmctl.
 */
#ifndef RDLM_MASTER_TOOLS_LOCAL_CLUSTER_H
#define RDLM_MASTER_TOOLS_LOCAL_CLUSTER_H

#include <stddef.h>
#include <sys/types.h>

#define LC_MAX_NODES    64u
#define LC_UP_TIMEOUT   10000 /* ms until every node must be ready */
#define LC_DOWN_TIMEOUT 5000  /* ms between SIGTERM and SIGKILL */

struct lc_up_opts {
    unsigned nodes;            /* 1..LC_MAX_NODES */
    const char *transport;     /* tcp | rdma | auto */
    unsigned shards;           /* per node, 1..64 */
    const char *dir;           /* NULL = lc_default_dir() */
    unsigned base_port;        /* 0 = find a free range */
    unsigned deadlock_wait_ms; /* 0 = the cluster file's default */
    int fault_injection;       /* start the daemons with RDLM_FAULT_INJECTION=1 (tests) */
    const char *fence_command; /* NULL = none (a lost node is trusted to be dead) */
};

/* Return 0 on success, 1 on failure (already reported on stderr). */
int lc_up(const struct lc_up_opts *opts);
int lc_down(const char *dir);

/* $XDG_RUNTIME_DIR/rdlm, else /tmp/rdlm-$UID. */
void lc_default_dir(char *buf, size_t len);
/* dir (or the default) as an absolute path; create it (mode 0700) if create. 0 or -1. */
int lc_resolve_dir(const char *dir, int create, char *buf, size_t len);

/* --- daemons of a directory (cluster_stop.c) --- */
struct lc_daemon {
    unsigned node;
    pid_t pid;
};

/* Running daemons recorded in dir's pid files (stale pid files are removed).  Returns the
 * count (at most max). */
size_t lc_running(const char *dir, struct lc_daemon *out, size_t max);
/* SIGTERM each daemon's process group, wait up to LC_DOWN_TIMEOUT, SIGKILL what is left,
 * remove the pid files. */
void lc_stop(const char *dir, const struct lc_daemon *d, size_t n);
/* pid is alive (not a zombie) and was started with dir's cluster.ini. */
int lc_is_daemon(pid_t pid, const char *dir);
void lc_pidfile(const char *dir, unsigned node, char *buf, size_t len);

#endif
