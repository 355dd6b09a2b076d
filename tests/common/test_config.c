/*
 * tests/common/test_config.c - the cluster file parser (common/config.c): a full file, the
 * defaults, and every error naming its line; the local-node lookup and RDLM_CONFIG.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

static char path[64];

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Load text; expect failure with an error containing want (or success if want is NULL). */
static void load_expect(const char *text, const char *want)
{
    struct rdlm_cluster_config cfg;
    char err[256];
    write_file(text);
    int rc = rdlm_config_load(path, &cfg, err, sizeof(err));
    if (!want) {
        if (rc != 0)
            fail_msg("unexpected error: %s", err);
        rdlm_config_free(&cfg);
        return;
    }
    assert_int_equal(rc, -1);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
    assert_null(cfg.nodes);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/rdlm-test-config-%d.ini", (int)getpid());
    unsetenv("RDLM_NODE");
    unsetenv("RDLM_CONFIG");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void test_full_file(void **state)
{
    (void)state;
    struct rdlm_cluster_config cfg;
    char err[256];
    write_file("; demo cluster\n"
               "[cluster]\n"
               "name = demo\n"
               "transport = tcp          ; tcp | rdma | auto\n"
               "shards = 2\n"
               "deadlock_wait_ms = 1500\n"
               "heartbeat_ms = 250\n"
               "toss_secs = 7\n"
               "[node 2]\n"
               "  address = 127.0.0.1\n"
               "  port = 7403\n"
               "  shards = 3\n"
               "[node 1]\n"
               "address = ::1\n"
               "port = 7401              ; shard i listens on port + i\n"
               "device = rxe0\n");
    assert_int_equal(rdlm_config_load(path, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.name, "demo");
    assert_string_equal(cfg.transport, "tcp");
    assert_int_equal(cfg.shards, 2);
    assert_int_equal(cfg.deadlock_wait_ms, 1500);
    assert_int_equal(cfg.heartbeat_ms, 250);
    assert_int_equal(cfg.toss_secs, 7);
    assert_int_equal(cfg.nnodes, 2);
    assert_int_equal(cfg.nodes[0].id, 1); /* sorted by id */
    assert_string_equal(cfg.nodes[0].address, "::1");
    assert_int_equal(cfg.nodes[0].port, 7401);
    assert_int_equal(cfg.nodes[0].shards, 2); /* the [cluster] default, set after the node */
    assert_string_equal(cfg.nodes[0].device, "rxe0");
    assert_int_equal(cfg.nodes[1].shards, 3);
    assert_ptr_equal(rdlm_config_node(&cfg, 2), &cfg.nodes[1]);
    assert_null(rdlm_config_node(&cfg, 3));
    rdlm_config_free(&cfg);
    assert_null(cfg.nodes);
}

static void test_defaults(void **state)
{
    (void)state;
    struct rdlm_cluster_config cfg;
    char err[256];
    write_file("[node 4095]\naddress = 10.0.0.1\nport = 65535\n");
    assert_int_equal(rdlm_config_load(path, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.name, "rdlm");
    assert_string_equal(cfg.transport, "auto");
    assert_int_equal(cfg.shards, 1);
    assert_int_equal(cfg.deadlock_wait_ms, 1000);
    assert_int_equal(cfg.heartbeat_ms, 200);
    assert_int_equal(cfg.toss_secs, 10);
    assert_int_equal(cfg.nodes[0].shards, 1);
    rdlm_config_free(&cfg);
}

static void test_unknown_key_names_line(void **state)
{
    (void)state;
    char want[128];
    snprintf(want, sizeof(want), "%s:7: unknown key 'adress' in [node 2]", path);
    load_expect("[cluster]\nname = x\n[node 1]\naddress = 127.0.0.1\nport = 7401\n"
                "[node 2]\nadress = 127.0.0.1\nport = 7402\n",
                want);
}

static void test_section_errors(void **state)
{
    (void)state;
    load_expect("[clutser]\n", ":1: unknown section [clutser]");
    load_expect("[node 1]\naddress=1.2.3.4\nport=1\n[node 1]\n",
                ":4: duplicate node id 1 (first defined at line 1)");
    load_expect("[node 0]\n", ":1: bad node id '0'");
    load_expect("[node 4096]\n", ":1: bad node id '4096'");
    load_expect("[node x]\n", ":1: bad node id 'x'");
    load_expect("[cluster]\n[cluster]\n", ":2: duplicate [cluster] section");
    load_expect("name = x\n", ":1: key 'name' outside any section");
    load_expect("[cluster\n", ":1: syntax error");
    load_expect("[cluster]\n\nname\n", ":3: syntax error");
}

static void test_value_errors(void **state)
{
    (void)state;
    load_expect("[cluster]\nshards = 65\n", ":2: bad value '65' for 'shards' in [cluster]");
    load_expect("[cluster]\nshards = 0\n", ":2: bad value '0'");
    load_expect("[cluster]\nheartbeat_ms = 12x\n", ":2: bad value '12x'");
    load_expect("[cluster]\nheartbeat_ms = -1\n", ":2: bad value '-1'");
    load_expect("[cluster]\ntoss_secs = 99999999999999999999\n", ":2: bad value");
    load_expect("[cluster]\ntransport = ib\n", ":2: bad transport 'ib'");
    load_expect("[cluster]\nname = a b\n", ":2: bad value 'a b' for 'name'");
    load_expect("[cluster]\nname = x\nname = y\n", ":3: duplicate key 'name' in [cluster]");
    load_expect("[cluster]\nbogus = 1\n", ":2: unknown key 'bogus' in [cluster]");
    load_expect("[node 3]\naddress = host.example\n", ":2: bad address 'host.example'");
    load_expect("[node 3]\naddress = 1.2.3.4\nport = 70000\n", ":3: bad value '70000' for "
                                                               "'port' in [node 3]");
    load_expect("[node 3]\naddress = 1.2.3.4\nport = 7401\nport = 7402\n",
                ":4: duplicate key 'port' in [node 3]");
}

static void test_node_errors(void **state)
{
    (void)state;
    load_expect("[cluster]\nname = x\n", ":2: no [node N] section");
    load_expect("", ":1: no [node N] section");
    load_expect("[cluster]\n[node 2]\nport = 7401\n", ":2: [node 2] has no address");
    load_expect("[node 2]\naddress = 1.2.3.4\n", ":1: [node 2] has no port");
    load_expect("[node 1]\naddress = 1.2.3.4\nport = 65535\nshards = 2\n",
                ":3: ports 65535..65536 of [node 1] (2 shards) exceed 65535");
    load_expect("[cluster]\nshards = 2\n[node 1]\naddress = 127.0.0.1\nport = 7401\n"
                "[node 2]\naddress = 127.0.0.1\nport = 7402\n",
                ":8: ports 7402..7403 of [node 2] overlap ports 7401..7402 of [node 1]");
    load_expect("[cluster]\nshards = 2\n[node 1]\naddress = 127.0.0.1\nport = 7401\n"
                "[node 2]\naddress = 127.0.0.2\nport = 7402\n",
                NULL);
}

static void test_long_line(void **state)
{
    (void)state;
    char text[600];
    snprintf(text, sizeof(text), "[cluster]\n; %0400d\nname = x\nbogus = 1\n", 0);
    load_expect(text, ":2: line too long");
}

static void test_missing_file(void **state)
{
    (void)state;
    struct rdlm_cluster_config cfg;
    char err[256];
    assert_int_equal(rdlm_config_load("/nonexistent/cluster.ini", &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/cluster.ini: cannot open"));
}

static void test_local_node(void **state)
{
    (void)state;
    struct rdlm_cluster_config cfg;
    char err[256];
    write_file("[node 3]\naddress = 192.0.2.254\nport = 7401\n"
               "[node 5]\naddress = 127.0.0.1\nport = 7401\n"
               "[node 7]\naddress = 127.0.0.1\nport = 7402\n");
    assert_int_equal(rdlm_config_load(path, &cfg, err, sizeof(err)), 0);
    unsetenv("RDLM_NODE");
    assert_int_equal(rdlm_config_local_node(&cfg), 5);
    setenv("RDLM_NODE", "7", 1);
    assert_int_equal(rdlm_config_local_node(&cfg), 7);
    setenv("RDLM_NODE", "4", 1);
    errno = 0;
    assert_int_equal(rdlm_config_local_node(&cfg), -1);
    assert_int_equal(errno, EINVAL);
    setenv("RDLM_NODE", "5x", 1);
    assert_int_equal(rdlm_config_local_node(&cfg), -1);
    unsetenv("RDLM_NODE");
    rdlm_config_free(&cfg);
}

static void test_no_local_node(void **state)
{
    (void)state;
    struct rdlm_cluster_config cfg;
    char err[256];
    write_file("[node 3]\naddress = 203.0.113.77\nport = 7401\n");
    assert_int_equal(rdlm_config_load(path, &cfg, err, sizeof(err)), 0);
    errno = 0;
    assert_int_equal(rdlm_config_local_node(&cfg), -1);
    assert_int_equal(errno, ENOENT);
    rdlm_config_free(&cfg);
}

static void test_config_path(void **state)
{
    (void)state;
    unsetenv("RDLM_CONFIG");
    assert_string_equal(rdlm_config_path(), "/etc/rdlm/cluster.ini");
    setenv("RDLM_CONFIG", "", 1);
    assert_string_equal(rdlm_config_path(), "/etc/rdlm/cluster.ini");
    setenv("RDLM_CONFIG", "/tmp/x.ini", 1);
    assert_string_equal(rdlm_config_path(), "/tmp/x.ini");
    unsetenv("RDLM_CONFIG");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_unknown_key_names_line),
        cmocka_unit_test(test_section_errors),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_node_errors),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_local_node),
        cmocka_unit_test(test_no_local_node),
        cmocka_unit_test(test_config_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
