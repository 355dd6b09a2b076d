/*
 * master/rdlmd.c - the rdlm daemon: one per node. Reads the cluster file, finds the cores and
 * NUMA node near the network device (hwloc), starts one shard thread per configured shard
 * (each pinned, with its lock-word table on that NUMA node), reports what it chose, and runs
 * in the foreground with logs on stderr until SIGTERM/SIGINT, when it drains: every shard
 * closes its connections (clients see the disconnect) and frees its tables.
 *
 * Usage: rdlmd [--config FILE] [--node ID] [--slots N] [-v]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/daemon.h"
#include "master/topology.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: rdlmd [--config FILE] [--node ID] [--slots N] [-v]\n"
            "  --config FILE  cluster file (default: $RDLM_CONFIG or %s)\n"
            "  --node ID      this node's id (default: $RDLM_NODE or the node whose\n"
            "                 address is local)\n"
            "  --slots N      lock-word slots per shard (default %u)\n",
            RDLM_CONFIG_DEFAULT, SHARD_SLOTS_DEFAULT);
}

struct options {
    const char *config;
    int node;
    uint32_t slots;
    bool verbose;
};

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"node", required_argument, NULL, 'n'},
        {"slots", required_argument, NULL, 's'},  {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int ch;

    *o = (struct options){rdlm_config_path(), -1, SHARD_SLOTS_DEFAULT, false};
    while ((ch = getopt_long(argc, argv, "c:n:s:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 'n':
            o->node = atoi(optarg);
            break;
        case 's':
            o->slots = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'v':
            o->verbose = true;
            break;
        default:
            usage();
            return -1;
        }
    }
    if (o->slots < 16 || o->slots > (1u << 24)) {
        fprintf(stderr, "rdlmd: --slots must be 16..%u\n", 1u << 24);
        return -1;
    }
    return 0;
}

static int load(struct rdlmd *d, const struct options *o)
{
    char err[256];
    int node = o->node;

    if (rdlm_config_load(o->config, &d->cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "rdlmd: %s\n", err);
        return -1;
    }
    if (node < 0)
        node = rdlm_config_local_node(&d->cfg);
    d->me = node > 0 ? rdlm_config_node(&d->cfg, (uint32_t)node) : NULL;
    if (!d->me) {
        fprintf(stderr, "rdlmd: %s: this host is not a node of the cluster (use --node)\n",
                o->config);
        return -1;
    }
    d->slots_per_shard = o->slots;
    d->verbose = o->verbose;
    return 0;
}

static int plan_shards(struct rdlmd *d)
{
    struct rdlm_topology_plan plan;
    const char *where =
        strcmp(d->cfg.transport, "rdma") == 0 && d->me->device[0] ? d->me->device : d->me->address;
    int rc = rdlm_topology_plan(d->cfg.transport, where, d->me->shards, &plan);

    d->nshards = d->me->shards;
    d->shards = calloc(d->nshards, sizeof(*d->shards));
    if (!d->shards)
        return -1;
    d->numa_node = rc == 0 ? plan.numa_node : -1;
    snprintf(d->placement, sizeof(d->placement), "%s", rc == 0 ? plan.where : "no topology");
    for (unsigned i = 0; i < d->nshards; i++) {
        struct shard *s = &d->shards[i];
        s->d = d;
        s->index = i;
        s->node = (uint16_t)d->me->id;
        s->port = (uint16_t)(d->me->port + i);
        s->cpu = rc == 0 ? plan.cpu[i] : -1;
        s->nslots = d->slots_per_shard;
        u64map_init(&s->lock_client);
    }
    return 0;
}

static void free_daemon(struct rdlmd *d)
{
    free(d->shards);
    free(d->members);
    rdlm_config_free(&d->cfg);
}

int main(int argc, char **argv)
{
    static struct rdlmd d;
    struct options o;
    sigset_t sigs;
    int sig = 0;
    unsigned started = 0;

    if (parse_args(argc, argv, &o) < 0 || load(&d, &o) < 0)
        return 2;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* the shards inherit the mask */
    signal(SIGPIPE, SIG_IGN);
    membership_init(&d);
    fault_init(&d);
    if (plan_shards(&d) < 0)
        return 1;
    for (; started < d.nshards; started++)
        if (shard_start(&d.shards[started]) < 0)
            break;
    if (started < d.nshards) {
        atomic_store(&d.stop, true);
    } else {
        log_msg("node %u (%s) cluster %s: %u shard(s) on ports %u-%u, transport %s, %u slots "
                "each; placement: %s",
                d.me->id, d.me->address, d.cfg.name, d.nshards, d.me->port,
                d.me->port + d.nshards - 1, rt_backend_name(rt_ctx_backend(d.shards[0].ctx)),
                d.slots_per_shard, d.placement);
        log_msg("ready");
        sigwait(&sigs, &sig);
        log_msg("signal %d: draining", sig);
        atomic_store(&d.stop, true);
    }
    for (unsigned i = 0; i < started; i++)
        shard_join(&d.shards[i]);
    log_msg("stopped");
    free_daemon(&d);
    return started < d.nshards ? 1 : atomic_load(&d.exit_status);
}
