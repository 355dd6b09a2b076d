/*
 * master/topology.h - where rdlmd's shards run: the cores and NUMA node local to the network
 * device (hwloc), pinning, and NUMA-bound allocation of the shards' tables.
 *
 * rdma: the OS device of the ibverbs device (its PCI locality); tcp: the netdev holding the
 * node's address.  Loopback, virtual or unknown devices: the whole machine.  Shards get
 * distinct cores (one PU each), spread over that set; more shards than cores wrap around.
 */
#ifndef RDLM_MASTER_TOPOLOGY_H
#define RDLM_MASTER_TOPOLOGY_H

#include <stddef.h>

#define RDLM_TOPOLOGY_MAX_SHARDS 64

struct rdlm_topology_plan {
    int numa_node; /* OS index of the NUMA node local to the device, -1 if none / several */
    unsigned nshards;
    int cpu[RDLM_TOPOLOGY_MAX_SHARDS];        /* OS index of shard i's PU */
    int shard_numa[RDLM_TOPOLOGY_MAX_SHARDS]; /* NUMA node of cpu[i], -1 if unknown */
    char where[128];                          /* e.g. "NIC eth0 local to NUMA node 0: cores 0,1" */
};

/* transport "rdma": device_or_ip is the ibverbs device name (NULL or "" = the first one) or
 * an IP address (its netdev is used); anything else ("tcp", "auto"): device_or_ip is the
 * node's IP address.  nshards 1..64.  Returns 0 or -errno. */
int rdlm_topology_plan(const char *transport, const char *device_or_ip, unsigned nshards,
                       struct rdlm_topology_plan *out);

/* Pin the calling thread to one CPU (OS index).  Returns 0 or -errno. */
int rdlm_topology_pin_self(int cpu);

/* len bytes (rounded up to pages), zeroed, page-aligned, bound to numa_node when the system
 * supports it (numa_node -1: no binding).  NULL on failure.  Free with rdlm_numa_free. */
void *rdlm_numa_alloc(size_t len, int numa_node);
void rdlm_numa_free(void *p, size_t len);

#endif
