/*
 * tests/lib/test_orphan.c - orphaned PERSISTENT locks whose master dies (master/keeper.c,
 * docs/protocol.md section 6, "Orphans kept by their owner's node"), against a real 3-node
 * cluster of 2 shards each, every process as node 1:
 *   - orphans mastered by node 3 are rebuilt on their new masters after node 3 is killed,
 *     with their modes, their value block (valid, as written), their resource's persistence
 *     and a sub-resource orphan under an orphan parent; they can then be adopted and purged;
 *   - an orphan purged, and one adopted, before the kill do not come back (their keeper was
 *     told), and the adopted lock is its adopter's;
 *   - a process of node 3 that outlives its daemon (cut off, not yet fenced) keeps its locks,
 *     its container's group lock included, until the fence agent reports node 3 fenced; then
 *     they are released (docs/protocol.md section 6: lost nodes' processes);
 *   - a master whose connection from a live client of another node is reset keeps its locks
 *     until the process is gone (master/alive.c);
 *   - MSG_ORPHAN from a client connection closes it; malformed, misdirected or stray ORPHAN
 *     messages from a peer connection change nothing.
 * The kill is the last test (the cluster stays a node short). Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/proto.h"
#include "rdlm.h"
#include "tests/lib/cluster_fixture.h"
#include "tests/lib/raw_conn.h"

#define LS_NAME  "orph"
#define WAIT_MS  5000
#define LVB_TEXT "kept past node 3"

/* ---- a process of node 3 that outlives its daemon, and the fence agent that kills it ---- */

static char g_fence_dir[64];                         /* fence.sh, called, go, victim.pid */
static struct fixture_kid g_cutoff = {-1, -1, -1};   /* node 3's process that outlives its daemon */
static struct fixture_kid g_resetter = {-1, -1, -1}; /* a process whose connection is reset */

struct cutoff_cmd {
    char config[256], held[32], grouped[32];
};

/* As node 3: EX on held, and EX on grouped as a group lock of a new container; then wait to be
 * killed (by the fence agent; alarm as a bound). */
static void cutoff_main(void)
{
    struct cutoff_cmd c;
    struct rdlm_lksb sb = {0};
    struct rdlm_lock_ext ext = {0};
    rdlm_ls *ls = NULL;
    int st = -1;

    alarm(300);
    if (read(g_cutoff.cmd, &c, sizeof(c)) != (ssize_t)sizeof(c))
        _exit(1);
    setenv("RDLM_CONFIG", c.config, 1);
    setenv("RDLM_NODE", "3", 1);
    if (rdlm_ls_open(LS_NAME, 0, &ls) == RDLM_OK &&
        rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, c.held, strlen(c.held), NULL, NULL, NULL,
                  NULL) == RDLM_OK &&
        rdlm_glc_create(&ls, 1, 0, &ext.group) == RDLM_OK)
        st = rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, c.grouped, strlen(c.grouped), NULL,
                       NULL, NULL, &ext);
    if (write(g_cutoff.rep, &st, sizeof(st)) != (ssize_t)sizeof(st))
        _exit(1);
    for (;;)
        pause();
}

/* ---- a process whose connection to a master is reset while it lives on ---- */

struct reset_cmd {
    char config[256], name[32];
    unsigned port_lo, port_hi; /* the master node's ports */
};

/* Every TCP connection of ours to a port in [lo, hi] is reset (SO_LINGER 0, then the
 * descriptor replaced by /dev/null, which closes the socket): the master sees a reset, as
 * from a network fault; the handle lives on. Returns how many. */
static int reset_conns(unsigned lo, unsigned hi)
{
    int null = open("/dev/null", O_RDWR), n = 0;

    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        struct linger lg = {1, 0};
        if (fd == null || getpeername(fd, (struct sockaddr *)&peer, &len) < 0 ||
            peer.sin_family != AF_INET || ntohs(peer.sin_port) < lo || ntohs(peer.sin_port) > hi)
            continue;
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0 && dup2(null, fd) == fd)
            n++;
    }
    close(null);
    return n;
}

/* As node 1: EX on name (answer: the status); then reset the connections to the master
 * (answer: how many); then exit when told (a process that dies). */
static void resetter_main(void)
{
    struct reset_cmd c;
    struct rdlm_lksb sb = {0};
    rdlm_ls *ls = NULL;
    int st = -1;

    alarm(300);
    if (read(g_resetter.cmd, &c, sizeof(c)) != (ssize_t)sizeof(c))
        _exit(1);
    setenv("RDLM_CONFIG", c.config, 1);
    setenv("RDLM_NODE", "1", 1);
    if (rdlm_ls_open(LS_NAME, 0, &ls) == RDLM_OK)
        st = rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, c.name, strlen(c.name), NULL, NULL,
                       NULL, NULL);
    if (write(g_resetter.rep, &st, sizeof(st)) != (ssize_t)sizeof(st) ||
        read(g_resetter.cmd, &c, sizeof(c)) != (ssize_t)sizeof(c))
        _exit(1);
    st = reset_conns(c.port_lo, c.port_hi);
    if (write(g_resetter.rep, &st, sizeof(st)) != (ssize_t)sizeof(st) ||
        read(g_resetter.cmd, &c, sizeof(c)) != (ssize_t)sizeof(c))
        _exit(1);
    _exit(0); /* dies with the handle open: its home connection goes with it */
}

/* The fence agent: says it was called, waits (bounded) for the test's go, kills the process
 * named in victim.pid (node 3's surviving process), succeeds. */
static int write_fence_agent(void)
{
    char path[128];
    FILE *f;

    snprintf(g_fence_dir, sizeof(g_fence_dir), "/tmp/rdlm-orphan-fence-XXXXXX");
    if (!mkdtemp(g_fence_dir))
        return -1;
    snprintf(path, sizeof(path), "%s/fence.sh", g_fence_dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f,
            "#!/bin/sh\n# test_orphan's fence agent for node $1\nd=%s\ntouch $d/called\n"
            "i=0\nwhile [ ! -e $d/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done\n"
            "[ -s $d/victim.pid ] && kill -9 \"$(cat $d/victim.pid)\" 2>/dev/null\nexit 0\n",
            g_fence_dir);
    fclose(f);
    return chmod(path, 0755);
}

static bool fence_file(const char *name)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/%s", g_fence_dir, name);
    return access(path, F_OK) == 0;
}

static void fence_go(void)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/go", g_fence_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

static rdlm_ls *open_ls(void)
{
    rdlm_ls *ls = NULL;

    assert_int_equal(rdlm_ls_open(LS_NAME, 0, &ls), RDLM_OK);
    return ls;
}

static int lock_sync(rdlm_ls *ls, int mode, struct rdlm_lksb *sb, uint32_t flags, const char *name,
                     const struct rdlm_lock_ext *ext)
{
    return rdlm_lock(ls, mode, sb, flags | RDLM_LKF_WAIT, name, strlen(name), NULL, NULL, NULL,
                     ext);
}

/* NOQUEUE EX by another owner: RDLM_OK (then released) if the name is free. */
static int try_ex(rdlm_ls *ls, const char *name)
{
    struct rdlm_lksb sb = {0};
    int st = lock_sync(ls, RDLM_MODE_EX, &sb, RDLM_LKF_NOQUEUE, name, NULL);

    if (st == RDLM_OK)
        assert_int_equal(rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    return st;
}

static unsigned master_of(rdlm_ls *ls, const char *name)
{
    struct rdlm_res_info ri;

    return rdlm_query_resource(ls, name, strlen(name), 0, &ri) == RDLM_OK ? ri.master_node : 0;
}

/* A name with prefix whose resource node masters. */
static void name_on_node(rdlm_ls *ls, unsigned node, const char *prefix, char *name, size_t len)
{
    if (fixture_name_on_node(ls, node, prefix, name, len) < 0)
        fail_msg("no name with prefix %s mastered by node %u", prefix, node);
}

/* Wait (bounded) until name is held (want NOTQUEUED) or free (want OK) for another owner. */
static int wait_for(rdlm_ls *ls, const char *name, int want)
{
    int st = -1;

    for (int t = 0; t < 300 && st != want; t++) {
        st = try_ex(ls, name);
        if (st != want)
            usleep(50000);
    }
    return st;
}

/* Make orphans: a handle takes the locks and closes; wait until the first one is an orphan. */
struct orphan_set {
    char ex[32], pr[32], parent[32], adopted[32], purged[32];
};

static void make_orphans(rdlm_ls *probe, const struct orphan_set *n, bool purged_only)
{
    rdlm_ls *a = open_ls();
    uint8_t lvb[RDLM_LVB_LEN] = {0};
    struct rdlm_lksb sb = {.lvb = lvb};
    struct rdlm_lock_ext sub = {0};

    if (purged_only) {
        assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sb, RDLM_LKF_PERSISTENT, n->purged, NULL),
                         RDLM_OK);
    } else {
        /* the value block: written by an EX holder's release, then read by the orphan-to-be */
        assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sb, RDLM_LKF_VALBLK, n->ex, NULL), RDLM_OK);
        memcpy(sb.lvb, LVB_TEXT, sizeof(LVB_TEXT));
        assert_int_equal(rdlm_unlock(a, sb.lkid, RDLM_LKF_WAIT | RDLM_LKF_VALBLK, &sb, NULL),
                         RDLM_E_UNLOCKED);
        assert_int_equal(
            lock_sync(a, RDLM_MODE_EX, &sb, RDLM_LKF_PERSISTENT | RDLM_LKF_VALBLK, n->ex, NULL),
            RDLM_OK);
        assert_memory_equal(sb.lvb, LVB_TEXT, sizeof(LVB_TEXT));
        assert_int_equal(lock_sync(a, RDLM_MODE_PR, &sb, RDLM_LKF_PERSISTENT, n->pr, NULL),
                         RDLM_OK);
        assert_int_equal(lock_sync(a, RDLM_MODE_PW, &sb, RDLM_LKF_PERSISTENT, n->parent, NULL),
                         RDLM_OK);
        sub.parent = sb.lkid;
        assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sb, RDLM_LKF_PERSISTENT, "leaf", &sub),
                         RDLM_OK);
        assert_int_equal(lock_sync(a, RDLM_MODE_EX, &sb, RDLM_LKF_PERSISTENT, n->adopted, NULL),
                         RDLM_OK);
    }
    rdlm_ls_close(a);
    assert_int_equal(wait_for(probe, purged_only ? n->purged : n->ex, RDLM_E_NOTQUEUED),
                     RDLM_E_NOTQUEUED);
}

/* The loss of node 3, master of every name: kept orphans come back, the others do not. */
static void test_orphans_survive_master_loss(void **state)
{
    rdlm_ls *b = open_ls(), *c = open_ls();
    struct orphan_set n;
    struct cutoff_cmd cc = {0};
    char path[128];
    FILE *f;
    int st = -1;
    uint8_t lvb[RDLM_LVB_LEN] = {0};
    struct rdlm_lksb sb = {.lvb = lvb}, adopted = {0};
    struct rdlm_res_info ri;

    (void)state;
    name_on_node(b, 3, "ex", n.ex, sizeof(n.ex));
    name_on_node(b, 3, "pr", n.pr, sizeof(n.pr));
    name_on_node(b, 3, "tree", n.parent, sizeof(n.parent));
    name_on_node(b, 3, "adopt", n.adopted, sizeof(n.adopted));
    name_on_node(b, 3, "purge", n.purged, sizeof(n.purged));

    make_orphans(b, &n, true); /* first, so that the purge below takes only it */
    assert_int_equal(rdlm_purge(b, 0, (uint32_t)getpid()), RDLM_OK);
    assert_int_equal(try_ex(b, n.purged), RDLM_OK);
    make_orphans(b, &n, false);
    assert_int_equal(lock_sync(c, RDLM_MODE_EX, &adopted, RDLM_LKF_ORPHAN, n.adopted, NULL),
                     RDLM_OK);
    assert_int_equal(try_ex(b, n.pr), RDLM_E_NOTQUEUED);
    /* node 3's process: EX on a name of node 1, a group EX on a name of node 2 */
    snprintf(cc.config, sizeof(cc.config), "%s", getenv("RDLM_CONFIG"));
    name_on_node(b, 1, "cut", cc.held, sizeof(cc.held));
    name_on_node(b, 2, "grp", cc.grouped, sizeof(cc.grouped));
    assert_int_equal(write(g_cutoff.cmd, &cc, sizeof(cc)), (ssize_t)sizeof(cc));
    assert_int_equal(read(g_cutoff.rep, &st, sizeof(st)), (ssize_t)sizeof(st));
    assert_int_equal(st, RDLM_OK);
    snprintf(path, sizeof(path), "%s/victim.pid", g_fence_dir);
    assert_non_null(f = fopen(path, "w"));
    fprintf(f, "%d\n", (int)g_cutoff.pid);
    fclose(f);
    usleep(200000); /* the DROPs and KEEPs reach the keeper (node 1) */

    /* node 3's daemon dies; its process lives on, cut off, until the fence agent kills it */
    assert_int_equal(fixture_kill_node(3), 0);
    for (int t = 0; t < 200 && !fence_file("called"); t++)
        usleep(50000);
    assert_true(fence_file("called"));
    usleep(500000); /* every daemon has the view without node 3 */
    assert_int_equal(try_ex(b, cc.held), RDLM_E_NOTQUEUED);    /* not before the fence */
    assert_int_equal(try_ex(b, cc.grouped), RDLM_E_NOTQUEUED); /* likewise its container's */
    fence_go();
    assert_int_equal(waitpid(g_cutoff.pid, &st, 0), g_cutoff.pid); /* the agent killed it */
    assert_int_equal(wait_for(b, cc.held, RDLM_OK), RDLM_OK);
    assert_int_equal(wait_for(b, cc.grouped, RDLM_OK), RDLM_OK);
    /* the purged one stays gone; the orphans are rebuilt (held for everyone) */
    assert_int_equal(wait_for(b, n.purged, RDLM_OK), RDLM_OK);
    assert_int_equal(master_of(b, n.ex) == 3, false);
    assert_int_equal(try_ex(b, n.ex), RDLM_E_NOTQUEUED);
    assert_int_equal(try_ex(b, n.pr), RDLM_E_NOTQUEUED);
    assert_int_equal(try_ex(b, n.parent), RDLM_E_NOTQUEUED);
    assert_int_equal(rdlm_query_resource(b, n.ex, strlen(n.ex), 0, &ri), RDLM_OK);
    assert_int_equal(ri.persistent, 0); /* PERSISTENT locks, not a PERSIST_RES resource */
    assert_int_equal(ri.granted_mode, RDLM_MODE_EX);
    assert_int_equal(ri.lock_count, 1);

    /* the adopted lock is c's, once: no orphan came back beside it */
    assert_int_equal(try_ex(b, n.adopted), RDLM_E_NOTQUEUED);
    assert_int_equal(rdlm_query_resource(b, n.adopted, strlen(n.adopted), 0, &ri), RDLM_OK);
    assert_int_equal(ri.lock_count, 1);
    assert_int_equal(rdlm_unlock(c, adopted.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(try_ex(b, n.adopted), RDLM_OK);

    /* adoption after the rebuild; then the value block reads as it was written */
    assert_int_equal(lock_sync(b, RDLM_MODE_PR, &sb, RDLM_LKF_ORPHAN, n.ex, NULL),
                     RDLM_E_ORPHANMODE);
    assert_int_equal(lock_sync(b, RDLM_MODE_EX, &sb, RDLM_LKF_ORPHAN, n.ex, NULL), RDLM_OK);
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(lock_sync(b, RDLM_MODE_PR, &sb, RDLM_LKF_VALBLK, n.ex, NULL), RDLM_OK);
    assert_false(sb.sbflags & RDLM_SBF_VALNOTVALID);
    assert_memory_equal(sb.lvb, LVB_TEXT, sizeof(LVB_TEXT));
    assert_int_equal(rdlm_unlock(b, sb.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(try_ex(b, n.ex), RDLM_OK);

    /* the rest purged by node and pid: parent, its sublock and the PR orphan */
    assert_int_equal(rdlm_purge(b, 0, (uint32_t)getpid()), RDLM_OK);
    assert_int_equal(wait_for(b, n.pr, RDLM_OK), RDLM_OK);
    assert_int_equal(wait_for(b, n.parent, RDLM_OK), RDLM_OK);
    rdlm_ls_close(c);
    rdlm_ls_close(b);
}

/* ---- hostile ORPHAN messages ---- */

static void raw_open_as(struct raw_conn *r, unsigned node, unsigned shard, uint8_t role)
{
    struct rdlm_cluster_config cfg;
    struct proto_hello hello = {role, 2, 4242, 77};
    char err[256];

    assert_int_equal(rdlm_config_load(getenv("RDLM_CONFIG"), &cfg, err, sizeof(err)), 0);
    assert_int_equal(raw_open(r, &cfg, node, shard, &hello), 0);
    rdlm_config_free(&cfg);
}

static void orphan_msg(struct proto_msg *m, uint8_t op, const char *root)
{
    memset(m, 0, sizeof(*m));
    m->hdr.type = MSG_ORPHAN;
    m->u.orphan.op = op;
    m->u.orphan.orphan = 1;
    m->u.orphan.owner_kind = 1;
    m->u.orphan.owner_node = 1;
    m->u.orphan.owner_id = 1234;
    m->u.orphan.epoch = 1;
    m->u.orphan.ls.len = (uint16_t)strlen(LS_NAME);
    memcpy(m->u.orphan.ls.bytes, LS_NAME, m->u.orphan.ls.len);
    m->u.orphan.root.len = (uint16_t)strlen(root);
    memcpy(m->u.orphan.root.bytes, root, m->u.orphan.root.len);
    m->u.orphan.lock.lkid = 0x77;
    m->u.orphan.lock.mode = RDLM_MODE_EX;
}

static void test_hostile(void **state)
{
    rdlm_ls *b = open_ls();
    struct proto_msg m, in;
    struct raw_conn r;

    (void)state;
    /* from a client connection: closed */
    raw_open_as(&r, 1, 0, ROLE_CLIENT);
    orphan_msg(&m, ORPHAN_KEEP, "h0");
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    assert_int_equal(raw_recv(&r, MSG_REPLY, WAIT_MS, &in), RAW_CLOSED);
    raw_close(&r);
    /* an unknown op from a peer: malformed, closed */
    raw_open_as(&r, 1, 0, ROLE_PEER);
    orphan_msg(&m, ORPHAN_KEEP, "h0");
    assert_int_equal(raw_send(&r, &m, PROTO_HDR_LEN, 99), 0);
    assert_int_equal(raw_recv(&r, MSG_REPLY, WAIT_MS, &in), RAW_CLOSED);
    raw_close(&r);
    /* a REPORT for a resource nobody rebuilds, a KEEP to a shard that keeps nothing, a
     * KEEP for another node's owner, a stray ENDED: ignored; END is answered */
    raw_open_as(&r, 1, 1, ROLE_PEER);
    orphan_msg(&m, ORPHAN_REPORT, "h1");
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    orphan_msg(&m, ORPHAN_KEEP, "h1");
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    orphan_msg(&m, ORPHAN_END, "h1");
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    assert_int_equal(raw_recv(&r, MSG_ORPHAN, WAIT_MS, &in), RAW_GOT);
    assert_int_equal(in.u.orphan.op, ORPHAN_ENDED);
    raw_close(&r);
    raw_open_as(&r, 1, 0, ROLE_PEER);
    orphan_msg(&m, ORPHAN_KEEP, "h2");
    m.u.orphan.owner_node = 3;
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    orphan_msg(&m, ORPHAN_ENDED, "h2");
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    orphan_msg(&m, ORPHAN_DROP, "h2");
    m.u.orphan.lock.lkid = 0x99; /* never kept */
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    orphan_msg(&m, ORPHAN_END, "h2");
    assert_int_equal(raw_send(&r, &m, -1, 0), 0);
    assert_int_equal(raw_recv(&r, MSG_ORPHAN, WAIT_MS, &in), RAW_GOT);
    raw_close(&r);
    /* nothing came of it: the names are free, the daemons serve */
    assert_int_equal(try_ex(b, "h0"), RDLM_OK);
    assert_int_equal(try_ex(b, "h1"), RDLM_OK);
    assert_int_equal(try_ex(b, "h2"), RDLM_OK);
    rdlm_ls_close(b);
}

/* A master whose connection from a remote client is reset keeps the client's locks while the
 * client's home says the handle is open (master/alive.c), and releases them once the process
 * is gone. tcp only: the reset is made on the client's TCP socket. */
static void test_reset_connection_keeps_locks(void **state)
{
    rdlm_ls *b = open_ls();
    struct reset_cmd rc = {0};
    struct rdlm_cluster_config cfg;
    const struct rdlm_node_config *n2;
    char err[256];
    int st = -1;

    (void)state;
    if (getenv("RDLM_FIXTURE_TRANSPORT") && strcmp(getenv("RDLM_FIXTURE_TRANSPORT"), "tcp")) {
        rdlm_ls_close(b);
        skip();
    }
    assert_int_equal(rdlm_config_load(getenv("RDLM_CONFIG"), &cfg, err, sizeof(err)), 0);
    assert_non_null(n2 = rdlm_config_node(&cfg, 2));
    rc.port_lo = n2->port;
    rc.port_hi = n2->port + n2->shards - 1;
    rdlm_config_free(&cfg);
    snprintf(rc.config, sizeof(rc.config), "%s", getenv("RDLM_CONFIG"));
    name_on_node(b, 2, "rst", rc.name, sizeof(rc.name));
    assert_int_equal(write(g_resetter.cmd, &rc, sizeof(rc)), (ssize_t)sizeof(rc));
    assert_int_equal(read(g_resetter.rep, &st, sizeof(st)), (ssize_t)sizeof(st));
    assert_int_equal(st, RDLM_OK);
    assert_int_equal(try_ex(b, rc.name), RDLM_E_NOTQUEUED);
    assert_int_equal(write(g_resetter.cmd, &rc, sizeof(rc)), (ssize_t)sizeof(rc));
    assert_int_equal(read(g_resetter.rep, &st, sizeof(st)), (ssize_t)sizeof(st));
    assert_true(st >= 1);
    for (int t = 0; t < 10; t++) { /* a second: still its (it lives, its home says so) */
        usleep(100000);
        assert_int_equal(try_ex(b, rc.name), RDLM_E_NOTQUEUED);
    }
    assert_int_equal(write(g_resetter.cmd, &rc, sizeof(rc)), (ssize_t)sizeof(rc));
    assert_int_equal(waitpid(g_resetter.pid, &st, 0), g_resetter.pid);
    assert_int_equal(wait_for(b, rc.name, RDLM_OK), RDLM_OK); /* gone: released */
    rdlm_ls_close(b);
}

static int start(void **state)
{
    char extra[200];

    (void)state;
    setenv("RDLM_NODE", "1", 1);
    if (write_fence_agent() < 0)
        return -1;
    snprintf(extra, sizeof(extra), "--fence-command '%s/fence.sh %%n'", g_fence_dir);
    return fixture_cluster_up_with("orphan", 3, 2, extra);
}

static int stop(void **state)
{
    char cmd[128];

    (void)state;
    fixture_cluster_down();
    fixture_reap_kid(&g_cutoff); /* if a test failed before the agent killed it */
    fixture_reap_kid(&g_resetter);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_fence_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_reset_connection_keeps_locks),
        cmocka_unit_test(test_orphans_survive_master_loss),
    };

    if (fixture_fork_kid(&g_cutoff, cutoff_main) < 0 ||
        fixture_fork_kid(&g_resetter, resetter_main) < 0) {
        fprintf(stderr, "test_orphan: cannot fork the helper processes\n");
        return 1;
    }
    return cmocka_run_group_tests_name("librdlm-orphan", tests, start, stop);
}
