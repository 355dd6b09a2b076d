/*
 * tests/common/test_topology.c - master/topology.c on this machine: plans are sane for tcp
 * (loopback, a real NIC, an unknown address) and rdma, pinning works, NUMA memory is zeroed
 * and page-aligned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "master/topology.h"

static int allowed_cpu(int cpu)
{
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);
}

static int allowed_count(void)
{
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    return CPU_COUNT(&set);
}

static void check_plan(const struct rdlm_topology_plan *p, unsigned nshards)
{
    printf("  %u shards: %s (numa %d)\n", nshards, p->where, p->numa_node);
    assert_int_equal(p->nshards, nshards);
    assert_true(p->where[0] != '\0');
    assert_non_null(strstr(p->where, "cores "));
    unsigned distinct_expected = nshards < (unsigned)allowed_count() ? nshards : 0;
    for (unsigned i = 0; i < nshards; i++) {
        if (!allowed_cpu(p->cpu[i]))
            fail_msg("shard %u on cpu %d, not in this process's affinity", i, p->cpu[i]);
        for (unsigned j = 0; j < i && distinct_expected; j++)
            assert_int_not_equal(p->cpu[i], p->cpu[j]);
        assert_true(p->shard_numa[i] >= -1);
    }
    assert_true(p->numa_node >= -1);
}

static void test_plan_loopback(void **state)
{
    (void)state;
    struct rdlm_topology_plan p;
    for (unsigned n = 1; n <= 5; n++) {
        assert_int_equal(rdlm_topology_plan("tcp", "127.0.0.1", n, &p), 0);
        check_plan(&p, n);
        assert_non_null(strstr(p.where, "loopback lo"));
        assert_non_null(strstr(p.where, "whole machine"));
    }
}

/* The first non-loopback IPv4 address, if any. */
static int first_nic_ip(char *ip, size_t len, char *ifname, size_t iflen)
{
    struct ifaddrs *list, *ifa;
    int found = 0;
    if (getifaddrs(&list) < 0)
        return 0;
    for (ifa = list; ifa && !found; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET ||
            (ifa->ifa_flags & IFF_LOOPBACK))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, ip, (socklen_t)len);
        snprintf(ifname, iflen, "%s", ifa->ifa_name);
        found = 1;
    }
    freeifaddrs(list);
    return found;
}

static void test_plan_nic(void **state)
{
    (void)state;
    char ip[64], ifname[IF_NAMESIZE + 1];
    if (!first_nic_ip(ip, sizeof(ip), ifname, sizeof(ifname)))
        skip();
    struct rdlm_topology_plan p;
    assert_int_equal(rdlm_topology_plan("tcp", ip, 2, &p), 0);
    check_plan(&p, 2);
    assert_non_null(strstr(p.where, ifname));
    /* rdma given an address uses that address's netdev */
    assert_int_equal(rdlm_topology_plan("rdma", ip, 2, &p), 0);
    check_plan(&p, 2);
    assert_non_null(strstr(p.where, ifname));
}

static void test_plan_fallbacks(void **state)
{
    (void)state;
    struct rdlm_topology_plan p;
    assert_int_equal(rdlm_topology_plan("tcp", "203.0.113.77", 3, &p), 0);
    check_plan(&p, 3);
    assert_non_null(strstr(p.where, "not on this host"));
    assert_int_equal(rdlm_topology_plan("rdma", "no_such_dev0", 2, &p), 0);
    check_plan(&p, 2);
    assert_non_null(strstr(p.where, "no_such_dev0"));
    assert_int_equal(rdlm_topology_plan("rdma", NULL, 64, &p), 0);
    check_plan(&p, 64);
    assert_int_equal(rdlm_topology_plan("tcp", "127.0.0.1", 0, &p), -EINVAL);
    assert_int_equal(rdlm_topology_plan("tcp", "127.0.0.1", 65, &p), -EINVAL);
}

static void *pin_thread(void *arg)
{
    int cpu = *(int *)arg;
    intptr_t ok = rdlm_topology_pin_self(cpu) == 0;
    cpu_set_t set;
    ok = ok && pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0;
    ok = ok && CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set) && sched_getcpu() == cpu;
    return (void *)ok;
}

static void test_pin(void **state)
{
    (void)state;
    struct rdlm_topology_plan p;
    assert_int_equal(rdlm_topology_plan("tcp", "127.0.0.1", 2, &p), 0);
    for (unsigned i = 0; i < p.nshards; i++) {
        pthread_t t;
        void *ok;
        assert_int_equal(pthread_create(&t, NULL, pin_thread, &p.cpu[i]), 0);
        assert_int_equal(pthread_join(t, &ok), 0);
        assert_true(ok != NULL);
    }
    assert_int_equal(rdlm_topology_pin_self(-1), -EINVAL);
}

static void test_numa_alloc(void **state)
{
    (void)state;
    struct rdlm_topology_plan p;
    assert_int_equal(rdlm_topology_plan("tcp", "127.0.0.1", 1, &p), 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t sizes[] = {1, 4096, 100000, 1u << 20};
    for (int node = -1; node <= 0; node++) {
        int numa = node < 0 ? -1 : (p.numa_node >= 0 ? p.numa_node : 0);
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            unsigned char *m = rdlm_numa_alloc(sizes[k], numa);
            assert_non_null(m);
            assert_int_equal((uintptr_t)m % page, 0);
            for (size_t i = 0; i < sizes[k]; i++)
                if (m[i] != 0)
                    fail_msg("byte %zu of %zu not zero", i, sizes[k]);
            memset(m, 0xab, sizes[k]);
            rdlm_numa_free(m, sizes[k]);
        }
    }
    rdlm_numa_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_loopback),  cmocka_unit_test(test_plan_nic),
        cmocka_unit_test(test_plan_fallbacks), cmocka_unit_test(test_pin),
        cmocka_unit_test(test_numa_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
