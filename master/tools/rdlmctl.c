/*
 * master/tools/rdlmctl.c - the operator's command: start/stop a local cluster (up, down) and
 * ask running daemons (status, lockspaces, dump, deadlocks); fault injection (isolate, heal,
 * lose-completions) for tests.  Usage: rdlmctl --help, and
 * docs/operations.md.  Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/proto.h"
#include "master/tools/ctl_client.h"
#include "master/tools/local_cluster.h"

static const char usage[] =
    "usage: rdlmctl COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Local clusters (every node on this host):\n"
    "  up N [--transport tcp|rdma|auto] [--shards S] [--dir DIR] [--base-port P]\n"
    "       [--deadlock-wait MS] [--fence-command CMD] [--fault-injection]\n"
    "        start N rdlmd processes in the background; write DIR/cluster.ini, and\n"
    "        DIR/node-I.log and DIR/node-I.pid per node; print the RDLM_CONFIG to export\n"
    "  down [--dir DIR]\n"
    "        stop the cluster of DIR (SIGTERM, then SIGKILL after 5 s); idempotent\n"
    "\n"
    "Asking the daemons of a cluster:\n"
    "  status                         every node: up/down, epoch, shards, load\n"
    "  lockspaces                     the lockspaces of the cluster\n"
    "  dump LOCKSPACE RESOURCE        one resource at its master: lock word, queues, LVB\n"
    "  deadlocks                      the deadlocks each shard resolved: cycle, victim\n"
    "\n"
    "Fault injection (tests only; refused unless the daemon was started with\n"
    "RDLM_FAULT_INJECTION=1, which up --fault-injection does):\n"
    "  isolate NODE[,NODE...] --node N  daemon N acts as if the network to those nodes went\n"
    "                                 silent: drops their connections, serves them nothing\n"
    "  heal --node N                  daemon N ends every isolation (closes what it dropped)\n"
    "                                 and loses no more completions\n"
    "  lose-completions --node N      daemon N sends no lock completion (replies still go), as\n"
    "                                 if it died between a reply and the completion after it\n"
    "\n"
    "Options:\n"
    "  --dir DIR          local cluster directory (default $XDG_RUNTIME_DIR/rdlm, else\n"
    "                     /tmp/rdlm-$UID)\n"
    "  --config FILE      cluster file for status/lockspaces/dump (default: --dir's\n"
    "                     cluster.ini, else $RDLM_CONFIG, else the default directory's\n"
    "                     cluster.ini if it exists, else /etc/rdlm/cluster.ini)\n"
    "  --transport T      tcp, rdma or auto (default tcp)\n"
    "  --shards S         shards per node, 1..64 (default 1)\n"
    "  --base-port P      first port (default: the first free range from 7401)\n"
    "  --deadlock-wait MS deadlock_wait_ms of the cluster file (default 1000)\n"
    "  --fence-command CMD  fence_command of the cluster file (%n: the node to fence)\n"
    "  --fault-injection  up: start the daemons with RDLM_FAULT_INJECTION=1\n"
    "  --node N           isolate/heal/lose-completions: the node whose daemon acts\n"
    "  -h, --help         this text\n"
    "\n"
    "Environment: RDLMD (the rdlmd binary; default: next to rdlmctl), RDLM_CONFIG.\n";

struct args {
    const char *cmd;
    const char *dir, *config, *transport;
    const char *fence_command; /* --fence-command */
    unsigned shards, base_port, deadlock_wait_ms;
    unsigned node;       /* --node: isolate/heal's daemon (0: not given) */
    int fault_injection; /* --fault-injection */
    int up_only;         /* an option only `up` takes was given */
    char **pos;
    int npos;
};

static int bad_usage(const char *msg, const char *what)
{
    fprintf(stderr, "rdlmctl: %s%s%s\n(rdlmctl --help for usage)\n", msg, what ? " " : "",
            what ? what : "");
    return 2;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || *s == '-' || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_option(struct args *a, int c, const char *arg)
{
    switch (c) {
    case 'd':
        a->dir = arg;
        return 0;
    case 'c':
        a->config = arg;
        return 0;
    case 't':
        a->up_only = 1;
        a->transport = arg;
        if (strcmp(arg, "tcp") && strcmp(arg, "rdma") && strcmp(arg, "auto"))
            return bad_usage("--transport must be tcp, rdma or auto, not", arg);
        return 0;
    case 's':
        a->up_only = 1;
        return parse_uint(arg, 1, 64, &a->shards) ? bad_usage("--shards must be 1..64:", arg) : 0;
    case 'p':
        a->up_only = 1;
        return parse_uint(arg, 1, 65535, &a->base_port)
                   ? bad_usage("--base-port must be 1..65535:", arg)
                   : 0;
    case 'w':
        a->up_only = 1;
        return parse_uint(arg, 1, 3600000, &a->deadlock_wait_ms)
                   ? bad_usage("--deadlock-wait must be 1..3600000 (ms):", arg)
                   : 0;
    case 'f':
        a->up_only = 1;
        a->fault_injection = 1;
        return 0;
    case 'F':
        a->up_only = 1;
        a->fence_command = arg;
        return strchr(arg, '\n') ? bad_usage("--fence-command must be one line", NULL) : 0;
    case 'n':
        return parse_uint(arg, 1, 65535, &a->node) ? bad_usage("--node must be 1..65535:", arg) : 0;
    default:
        return bad_usage("unknown option", NULL);
    }
}

/* argv[1] is the command; options may come before or after the positional arguments. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"transport", required_argument, NULL, 't'},
        {"shards", required_argument, NULL, 's'},
        {"base-port", required_argument, NULL, 'p'},
        {"deadlock-wait", required_argument, NULL, 'w'},
        {"fault-injection", no_argument, NULL, 'f'},
        {"fence-command", required_argument, NULL, 'F'},
        {"node", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *a = (struct args){.cmd = argv[1], .transport = "tcp", .shards = 1};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            exit(0);
        }
        if (c == '?')
            return bad_usage("unknown option or missing value:", argv[optind]);
        int rc = parse_option(a, c, optarg);
        if (rc)
            return rc;
    }
    a->pos = argv + 1 + optind;
    a->npos = argc - 1 - optind;
    return 0;
}

static int cmd_up(const struct args *a)
{
    unsigned n;
    if (a->npos != 1)
        return bad_usage("up takes the number of nodes: rdlmctl up N", NULL);
    if (parse_uint(a->pos[0], 1, LC_MAX_NODES, &n) < 0)
        return bad_usage("the number of nodes must be 1..64, not", a->pos[0]);
    struct lc_up_opts o = {n,
                           a->transport,
                           a->shards,
                           a->dir,
                           a->base_port,
                           a->deadlock_wait_ms,
                           a->fault_injection,
                           a->fence_command};
    return lc_up(&o);
}

/* --config, else --dir's cluster.ini, else RDLM_CONFIG, else the default local cluster's
 * cluster.ini if it exists, else /etc/rdlm/cluster.ini. */
static void config_path(const struct args *a, char *buf, size_t len)
{
    char dir[PATH_MAX];
    const char *env = getenv("RDLM_CONFIG");
    if (a->config) {
        snprintf(buf, len, "%s", a->config);
    } else if (a->dir) {
        snprintf(buf, len, "%s/cluster.ini", a->dir);
    } else if (env && *env) {
        snprintf(buf, len, "%s", env);
    } else {
        lc_default_dir(dir, sizeof(dir));
        snprintf(buf, len, "%s/cluster.ini", dir);
        if (access(buf, R_OK) != 0)
            snprintf(buf, len, "%s", rdlm_config_path());
    }
}

/* The cluster file config_path names, loaded; -1 (said on stderr) if it cannot be. */
static int load_config(const struct args *a, struct rdlm_cluster_config *cfg)
{
    char path[PATH_MAX + 16], err[512];

    config_path(a, path, sizeof(path));
    if (rdlm_config_load(path, cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "rdlmctl: %s\n", err);
        return -1;
    }
    return 0;
}

static int cmd_query(const struct args *a)
{
    int want = strcmp(a->cmd, "dump") == 0 ? 2 : 0;
    if (a->npos != want)
        return bad_usage(want ? "usage: rdlmctl dump LOCKSPACE RESOURCE"
                              : "this command takes no arguments:",
                         want ? NULL : a->cmd);
    struct rdlm_cluster_config cfg;
    if (load_config(a, &cfg) < 0)
        return 1;
    int rc;
    if (strcmp(a->cmd, "status") == 0)
        rc = rdlm_ctl_status(&cfg, stdout);
    else if (strcmp(a->cmd, "lockspaces") == 0)
        rc = rdlm_ctl_lockspaces(&cfg, stdout);
    else if (strcmp(a->cmd, "deadlocks") == 0)
        rc = rdlm_ctl_deadlocks(&cfg, stdout);
    else
        rc = rdlm_ctl_dump(&cfg, a->pos[0], a->pos[1], stdout);
    rdlm_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}

/* "3,5" -> ids; -1 for anything else (empty items, not numbers, 0, > 65535, > 64 items). */
static int parse_nodes(const char *s, unsigned *ids, unsigned max, unsigned *n)
{
    char buf[512], *save = NULL, *tok;

    if (strlen(s) >= sizeof(buf) || !*s || *s == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
        return -1;
    strcpy(buf, s);
    *n = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == max || parse_uint(tok, 1, 65535, &ids[*n]) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

static int cmd_fault(const struct args *a)
{
    int isolate = strcmp(a->cmd, "isolate") == 0;
    int op = isolate                                   ? FAULT_ISOLATE
             : strcmp(a->cmd, "lose-completions") == 0 ? FAULT_LOSE_COMPLETIONS
                                                       : FAULT_HEAL;
    unsigned ids[64], n = 0;

    if (a->npos != isolate)
        return bad_usage(isolate ? "usage: rdlmctl isolate NODE[,NODE...] --node N"
                                 : "usage: rdlmctl heal|lose-completions --node N",
                         NULL);
    if (isolate && parse_nodes(a->pos[0], ids, 64, &n) < 0)
        return bad_usage("isolate takes node ids 1..65535 separated by commas (at most 64), not",
                         a->pos[0]);
    if (!a->node)
        return bad_usage(isolate ? "isolate needs --node N (the daemon that isolates)"
                                 : "heal and lose-completions need --node N (the daemon that acts)",
                         NULL);
    struct rdlm_cluster_config cfg;
    if (load_config(a, &cfg) < 0)
        return 1;
    int rc = rdlm_ctl_fault(&cfg, a->node, op, ids, n, stdout);
    rdlm_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct args a;
    if (argc < 2)
        return bad_usage("missing command", NULL);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    if (strcmp(a.cmd, "up") == 0)
        return cmd_up(&a);
    if (a.up_only)
        return bad_usage("--transport, --shards, --base-port, --deadlock-wait, "
                         "--fence-command and --fault-injection are options of up",
                         NULL);
    if (!strcmp(a.cmd, "isolate") || !strcmp(a.cmd, "heal") || !strcmp(a.cmd, "lose-completions"))
        return cmd_fault(&a);
    if (a.node)
        return bad_usage("--node is an option of isolate, heal and lose-completions", NULL);
    if (strcmp(a.cmd, "down") == 0)
        return a.npos ? bad_usage("down takes no arguments", NULL) : lc_down(a.dir);
    if (!strcmp(a.cmd, "status") || !strcmp(a.cmd, "lockspaces") || !strcmp(a.cmd, "dump") ||
        !strcmp(a.cmd, "deadlocks"))
        return cmd_query(&a);
    return bad_usage("unknown command", a.cmd);
}
