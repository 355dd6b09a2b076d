/*
 * master/topology.c - shard placement on cores local to the network device (hwloc), thread
 * pinning and NUMA-bound table memory.  See topology.h.
 *
 * Locating the device: hwloc OS devices (I/O discovery on, "important" devices only): an
 * OPENFABRICS device by its ibverbs name, or a NETWORK device by its interface name (found
 * with getifaddrs from the node's address).  The device's first non-I/O ancestor gives the
 * cpuset; a device hwloc does not list (loopback, veth, rxe on a virtual netdev) means the
 * whole machine.  The cpuset is intersected with the process's CPU binding (taskset, cgroups).
 */
#include "master/topology.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hwloc.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct locality {
    hwloc_obj_t anchor; /* non-I/O ancestor of the device, NULL = whole machine */
    char what[72];      /* "NIC eth0", "loopback lo", ... */
};

static int load_topology(hwloc_topology_t *t, int with_io)
{
    if (hwloc_topology_init(t) < 0)
        return -errno ? -errno : -ENOMEM;
    if (with_io)
        hwloc_topology_set_io_types_filter(*t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (hwloc_topology_load(*t) < 0) {
        int e = errno ? errno : EIO;
        hwloc_topology_destroy(*t);
        return -e;
    }
    return 0;
}

static hwloc_obj_t find_osdev(hwloc_topology_t t, hwloc_obj_osdev_type_t type, const char *name)
{
    hwloc_obj_t o = NULL;
    while ((o = hwloc_get_next_osdev(t, o)) != NULL)
        if (o->attr->osdev.type == type && (!name || !*name || strcmp(o->name, name) == 0))
            return o;
    return NULL;
}

static int ip_matches(const struct sockaddr *sa, const char *ip)
{
    unsigned char want[16];
    if (sa->sa_family == AF_INET && inet_pton(AF_INET, ip, want) == 1)
        return memcmp(&((const struct sockaddr_in *)sa)->sin_addr, want, 4) == 0;
    if (sa->sa_family == AF_INET6 && inet_pton(AF_INET6, ip, want) == 1)
        return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, want, 16) == 0;
    return 0;
}

/* The interface holding ip: 0 (loopback set), or -1 if no interface has it. */
static int ifname_for_ip(const char *ip, char *ifname, size_t len, int *loopback)
{
    struct ifaddrs *list;
    int rc = -1;
    if (getifaddrs(&list) < 0)
        return -1;
    for (struct ifaddrs *ifa = list; ifa && rc < 0; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || !ip_matches(ifa->ifa_addr, ip))
            continue;
        snprintf(ifname, len, "%s", ifa->ifa_name);
        *loopback = (ifa->ifa_flags & IFF_LOOPBACK) != 0;
        rc = 0;
    }
    freeifaddrs(list);
    return rc;
}

static int is_ip(const char *s)
{
    unsigned char buf[16];
    return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

static void anchor_osdev(hwloc_topology_t t, hwloc_obj_t dev, struct locality *loc)
{
    hwloc_obj_t a = dev ? hwloc_get_non_io_ancestor_obj(t, dev) : NULL;
    loc->anchor = a && a != hwloc_get_root_obj(t) ? a : NULL;
}

static void locate_netdev(hwloc_topology_t t, const char *ip, struct locality *loc)
{
    char ifname[IF_NAMESIZE + 1];
    int loopback = 0;
    if (!ip || ifname_for_ip(ip, ifname, sizeof(ifname), &loopback) < 0) {
        snprintf(loc->what, sizeof(loc->what), "address %s not on this host", ip ? ip : "-");
        return;
    }
    hwloc_obj_t dev = loopback ? NULL : find_osdev(t, HWLOC_OBJ_OSDEV_NETWORK, ifname);
    snprintf(loc->what, sizeof(loc->what), "%s %s%s", loopback ? "loopback" : "NIC", ifname,
             dev || loopback ? "" : " (virtual)");
    anchor_osdev(t, dev, loc);
}

static void locate(hwloc_topology_t t, const char *transport, const char *dev_or_ip,
                   struct locality *loc)
{
    memset(loc, 0, sizeof(*loc));
    if (strcmp(transport, "rdma") != 0 || is_ip(dev_or_ip)) {
        locate_netdev(t, dev_or_ip, loc);
        return;
    }
    hwloc_obj_t dev = find_osdev(t, HWLOC_OBJ_OSDEV_OPENFABRICS, dev_or_ip);
    const char *name = dev ? dev->name : (dev_or_ip && *dev_or_ip ? dev_or_ip : "(any)");
    snprintf(loc->what, sizeof(loc->what), "RDMA device %s%s", name, dev ? "" : " (not found)");
    anchor_osdev(t, dev, loc);
}

/* The cpuset to use: the anchor's (or the machine's), within the process binding. */
static hwloc_bitmap_t usable_cpuset(hwloc_topology_t t, const struct locality *loc)
{
    hwloc_obj_t top = loc->anchor ? loc->anchor : hwloc_get_root_obj(t);
    hwloc_bitmap_t set = hwloc_bitmap_dup(top->cpuset);
    hwloc_bitmap_t bound = hwloc_bitmap_alloc();
    if (set && bound && hwloc_get_cpubind(t, bound, HWLOC_CPUBIND_PROCESS) == 0 &&
        hwloc_bitmap_intersects(set, bound))
        hwloc_bitmap_and(set, set, bound);
    hwloc_bitmap_free(bound);
    return set;
}

static int numa_of_set(hwloc_topology_t t, hwloc_const_cpuset_t set)
{
    hwloc_bitmap_t nodes = hwloc_bitmap_alloc();
    int node = -1;
    if (!nodes)
        return -1;
    hwloc_cpuset_to_nodeset(t, set, nodes);
    if (hwloc_bitmap_weight(nodes) == 1)
        node = hwloc_bitmap_first(nodes);
    hwloc_bitmap_free(nodes);
    return node;
}

static int numa_of_cpu(hwloc_topology_t t, int cpu)
{
    hwloc_bitmap_t one = hwloc_bitmap_alloc();
    int node = -1;
    if (one) {
        hwloc_bitmap_only(one, (unsigned)cpu);
        node = numa_of_set(t, one);
        hwloc_bitmap_free(one);
    }
    return node;
}

/* Shard i gets core floor(i * ncores / nshards) (spread), or core i % ncores (wrap). */
static int pick_cpus(hwloc_topology_t t, hwloc_const_cpuset_t set, struct rdlm_topology_plan *p)
{
    hwloc_obj_type_t type = HWLOC_OBJ_CORE;
    int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(t, set, type);
    if (ncores <= 0) {
        type = HWLOC_OBJ_PU;
        ncores = hwloc_get_nbobjs_inside_cpuset_by_type(t, set, type);
    }
    if (ncores <= 0)
        return -ENODEV;
    for (unsigned i = 0; i < p->nshards; i++) {
        unsigned k = p->nshards <= (unsigned)ncores ? i * (unsigned)ncores / p->nshards
                                                    : i % (unsigned)ncores;
        hwloc_obj_t core = hwloc_get_obj_inside_cpuset_by_type(t, set, type, k);
        hwloc_bitmap_t pu = hwloc_bitmap_dup(core->cpuset);
        if (!pu)
            return -ENOMEM;
        hwloc_bitmap_and(pu, pu, set);
        p->cpu[i] = hwloc_bitmap_first(pu);
        p->shard_numa[i] = numa_of_cpu(t, p->cpu[i]);
        hwloc_bitmap_free(pu);
    }
    return 0;
}

/* Append shard CPUs to buf, ending in "..." if they do not fit. */
static void append_cpus(char *buf, size_t size, const struct rdlm_topology_plan *p)
{
    size_t used = strlen(buf);
    for (unsigned i = 0; i < p->nshards; i++) {
        int n = snprintf(buf + used, size - used, "%s%d", i ? "," : "", p->cpu[i]);
        if (n < 0 || (size_t)n >= size - used) {
            memcpy(buf + size - 4, "...", 4);
            return;
        }
        used += (size_t)n;
    }
}

static void describe(const struct locality *loc, struct rdlm_topology_plan *p)
{
    char numa[48] = "no single NUMA node";
    if (p->numa_node >= 0)
        snprintf(numa, sizeof(numa), "NUMA node %d", p->numa_node);
    else if (loc->anchor)
        snprintf(numa, sizeof(numa), "%s L#%u", hwloc_obj_type_string(loc->anchor->type),
                 loc->anchor->logical_index);
    if (loc->anchor)
        snprintf(p->where, sizeof(p->where), "%s local to %s: cores ", loc->what, numa);
    else
        snprintf(p->where, sizeof(p->where), "%s -> whole machine (%s): cores ", loc->what, numa);
    append_cpus(p->where, sizeof(p->where), p);
}

int rdlm_topology_plan(const char *transport, const char *device_or_ip, unsigned nshards,
                       struct rdlm_topology_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->numa_node = -1;
    if (!transport || nshards == 0 || nshards > RDLM_TOPOLOGY_MAX_SHARDS)
        return -EINVAL;
    out->nshards = nshards;
    hwloc_topology_t t;
    int rc = load_topology(&t, 1);
    if (rc < 0)
        return rc;
    struct locality loc;
    locate(t, transport, device_or_ip, &loc);
    hwloc_bitmap_t set = usable_cpuset(t, &loc);
    rc = set ? pick_cpus(t, set, out) : -ENOMEM;
    if (rc == 0) {
        out->numa_node = numa_of_set(t, set);
        describe(&loc, out);
    }
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(t);
    return rc;
}

int rdlm_topology_pin_self(int cpu)
{
    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* A topology without I/O for memory binding, loaded once and kept. */
static hwloc_topology_t membind_topo;
static int membind_ok;
static pthread_once_t membind_once = PTHREAD_ONCE_INIT;

static void membind_init(void)
{
    membind_ok = load_topology(&membind_topo, 0) == 0;
}

static size_t page_round(size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (len + page - 1) / page * page;
}

/* What hwloc_alloc_membind does on Linux (mmap, then mbind), so that rdlm_numa_free can
 * munmap whether or not the binding worked. */
void *rdlm_numa_alloc(size_t len, int numa_node)
{
    size_t size = page_round(len ? len : 1);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    pthread_once(&membind_once, membind_init);
    hwloc_bitmap_t nodes = numa_node >= 0 && membind_ok ? hwloc_bitmap_alloc() : NULL;
    if (nodes) {
        hwloc_bitmap_only(nodes, (unsigned)numa_node);
        /* best effort: without binding support the memory is simply first-touch */
        (void)hwloc_set_area_membind(membind_topo, p, size, nodes, HWLOC_MEMBIND_BIND,
                                     HWLOC_MEMBIND_BYNODESET);
        hwloc_bitmap_free(nodes);
    }
    return p;
}

void rdlm_numa_free(void *p, size_t len)
{
    if (p)
        munmap(p, page_round(len ? len : 1));
}
