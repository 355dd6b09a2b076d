/*
 * tests/lib/test_glc.c - group lock containers (rdlm_glc_*) against a real 3-node cluster of
 * 2 shards each: every status of every call; group locks owned by the container (they
 * survive the process that requested them, another member converts and unlocks them by id);
 * the ends of a container (last detach, PERM, destroy with HASPROCS/HASLOCKS/LOCKS/FORCE,
 * OWNED) release its locks on every master, local and remote; a member that unlocks another
 * member's pending group request gives that member the ABORTED completion; the loss of a
 * master rebuilds the group locks the container holds, and only those.
 *
 * Other members are forked children driven over pipes (forked before the parent opens any
 * handle, so no thread exists at fork). All processes run as node 1 (containers are
 * node-local). Every wait is bounded; children are always reaped.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/proto.h"
#include "rdlm.h"
#include "tests/lib/cluster_fixture.h"
#include "tests/lib/raw_conn.h"

#define LS_NAME  "glc"
#define WAIT_MS  5000
#define NNAMES   8

enum child_op { C_ATTACH = 1, C_LOCK_EX, C_LOCK_ASYNC, C_AST_STATUS, C_DETACH, C_UNLOCK, C_EXIT };

struct cmd {
    int op;
    uint64_t arg;
    char name[256]; /* a resource name; for C_ATTACH, the cluster file (forked before it existed) */
};

struct child {
    pid_t pid;
    int cmd_fd, rep_fd;
};

/* ---- the child member ---- */

static volatile int g_ast_status = -1;

static void child_ast(void *arg)
{
    struct rdlm_lksb *lksb = arg;

    __atomic_store_n(&g_ast_status, lksb->status, __ATOMIC_SEQ_CST);
}

static uint64_t child_do(rdlm_ls **ls, const struct cmd *c, struct rdlm_lksb *async_lksb)
{
    struct rdlm_lock_ext ext = {.group = rdlm_glc_current()};
    struct rdlm_lksb lksb = {0};
    int st;

    switch (c->op) {
    case C_ATTACH:
        setenv("RDLM_CONFIG", c->name, 1);
        setenv("RDLM_NODE", "1", 1);
        if (!*ls && rdlm_ls_open(LS_NAME, 0, ls) != RDLM_OK)
            return (uint64_t)-1;
        return (uint64_t)rdlm_glc_attach(ls, 1, c->arg);
    case C_LOCK_EX:
        st = rdlm_lock(*ls, RDLM_MODE_EX, &lksb, RDLM_LKF_WAIT, c->name, strlen(c->name), NULL,
                       NULL, NULL, &ext);
        return st == RDLM_OK ? lksb.lkid : 0;
    case C_LOCK_ASYNC:
        st = rdlm_lock(*ls, RDLM_MODE_EX, async_lksb, 0, c->name, strlen(c->name), child_ast,
                       async_lksb, NULL, &ext);
        return st == RDLM_OK ? async_lksb->lkid : 0;
    case C_AST_STATUS:
        for (int i = 0; i < WAIT_MS && __atomic_load_n(&g_ast_status, __ATOMIC_SEQ_CST) < 0; i++)
            usleep(1000);
        return (uint64_t)(int64_t)__atomic_load_n(&g_ast_status, __ATOMIC_SEQ_CST);
    case C_DETACH:
        return (uint64_t)rdlm_glc_detach(*ls);
    case C_UNLOCK:
        return (uint64_t)rdlm_unlock(*ls, c->arg, RDLM_LKF_WAIT, NULL, NULL);
    }
    return 0;
}

static void child_main(int cmd_fd, int rep_fd)
{
    rdlm_ls *ls = NULL;
    struct rdlm_lksb async_lksb = {0};
    struct cmd c;

    alarm(600); /* a lost parent never leaves us behind */
    while (read(cmd_fd, &c, sizeof(c)) == (ssize_t)sizeof(c) && c.op != C_EXIT) {
        uint64_t r = child_do(&ls, &c, &async_lksb);
        if (write(rep_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            break;
    }
    _exit(0); /* as a dying process: no close, the daemons see the connections go */
}

/* The children are all forked in main(), before anything opens a handle: a process that
 * forks after using verbs (RDMA transport) leaves its children unable to (ibv_fork_init). */
#define NCHILDREN 8
static struct child g_pool[NCHILDREN];
static int g_pool_used;

static int fork_children(void)
{
    for (int i = 0; i < NCHILDREN; i++) {
        int to[2], from[2];
        if (pipe(to) < 0 || pipe(from) < 0)
            return -1;
        g_pool[i].pid = fork();
        if (g_pool[i].pid < 0)
            return -1;
        if (g_pool[i].pid == 0) {
            for (int j = 0; j < i; j++) { /* not the earlier children's pipes */
                close(g_pool[j].cmd_fd);
                close(g_pool[j].rep_fd);
            }
            close(to[1]);
            close(from[0]);
            child_main(to[0], from[1]);
        }
        close(to[0]);
        close(from[1]);
        g_pool[i].cmd_fd = to[1];
        g_pool[i].rep_fd = from[0];
    }
    return 0;
}

static struct child spawn_child(void)
{
    assert_true(g_pool_used < NCHILDREN);
    return g_pool[g_pool_used++];
}

static uint64_t ask(struct child *ch, int op, uint64_t arg, const char *name)
{
    struct cmd c = {.op = op, .arg = arg};
    uint64_t r = (uint64_t)-2;

    if (name)
        snprintf(c.name, sizeof(c.name), "%s", name);
    else if (op == C_ATTACH)
        snprintf(c.name, sizeof(c.name), "%s", getenv("RDLM_CONFIG"));
    assert_int_equal(write(ch->cmd_fd, &c, sizeof(c)), (ssize_t)sizeof(c));
    assert_int_equal(read(ch->rep_fd, &r, sizeof(r)), (ssize_t)sizeof(r));
    return r;
}

/* Reap the child within the bounded wait; its wait status. */
static int reap(struct child *ch, bool tell_exit)
{
    struct cmd c = {.op = C_EXIT};
    int status = -1;

    if (tell_exit && write(ch->cmd_fd, &c, sizeof(c)) < 0)
        (void)0;
    for (int i = 0; i < WAIT_MS; i++) {
        if (waitpid(ch->pid, &status, WNOHANG) == ch->pid)
            break;
        usleep(1000);
        if (i == WAIT_MS - 1) {
            kill(ch->pid, SIGKILL);
            waitpid(ch->pid, &status, 0);
        }
    }
    close(ch->cmd_fd);
    close(ch->rep_fd);
    return status;
}

/* ---- the parent's helpers ---- */

static rdlm_ls *open_ls(void)
{
    rdlm_ls *ls = NULL;

    assert_int_equal(rdlm_ls_open(LS_NAME, 0, &ls), RDLM_OK);
    return ls;
}

static int try_ex(rdlm_ls *ls, const char *name)
{
    struct rdlm_lksb lksb = {0};
    int st = rdlm_lock(ls, RDLM_MODE_EX, &lksb, RDLM_LKF_WAIT | RDLM_LKF_NOQUEUE, name,
                       strlen(name), NULL, NULL, NULL, NULL);

    if (st == RDLM_OK)
        assert_int_equal(rdlm_unlock(ls, lksb.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    return st;
}

/* Lock names g0..g7 EX as group locks of the current container. */
static void lock_group_names(rdlm_ls *ls, uint64_t *lkids, const char *prefix)
{
    struct rdlm_lock_ext ext = {.group = rdlm_glc_current()};

    for (int i = 0; i < NNAMES; i++) {
        struct rdlm_lksb lksb = {0};
        char name[16];
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        assert_int_equal(rdlm_lock(ls, RDLM_MODE_EX, &lksb, RDLM_LKF_WAIT, name, strlen(name),
                                   NULL, NULL, NULL, &ext),
                         RDLM_OK);
        lkids[i] = lksb.lkid;
    }
}

/* Every name is free (want RDLM_OK) or held (want NOTQUEUED) for another owner; at least
 * one of them must be mastered on another node than ours, so remote masters are covered. */
static void expect_names(rdlm_ls *other, const char *prefix, int want)
{
    bool remote = false;

    for (int i = 0; i < NNAMES; i++) {
        struct rdlm_res_info ri;
        char name[16];
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        for (int t = 0; t < 200 && try_ex(other, name) != want; t++)
            usleep(10000); /* a PURGE to a remote shard is asynchronous */
        assert_int_equal(try_ex(other, name), want);
        if (rdlm_query_resource(other, name, strlen(name), 0, &ri) == RDLM_OK)
            remote |= ri.master_node != 1;
    }
    assert_true(remote);
}

/* ---- tests ---- */

static void test_arguments(void **state)
{
    rdlm_ls *ls = open_ls(), *none[1] = {NULL};
    struct rdlm_lock_ext ext = {.group = 12345};
    struct rdlm_lksb lksb = {0};
    rdlm_ls *many[RDLM_GLC_MAX_LS + 1];
    uint64_t id = 7;

    (void)state;
    for (int i = 0; i <= RDLM_GLC_MAX_LS; i++)
        many[i] = ls;
    assert_int_equal(rdlm_glc_current(), 0);
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, NULL), RDLM_E_INVAL);
    assert_int_equal(rdlm_glc_create(&ls, 1, RDLM_GLC_OWNED | RDLM_GLC_PERM, &id), RDLM_E_INVAL);
    assert_int_equal(rdlm_glc_create(&ls, 1, RDLM_GLC_FORCE, &id), RDLM_E_INVAL);
    assert_int_equal(rdlm_glc_create(&ls, 0, 0, &id), RDLM_E_INVAL);
    assert_int_equal(rdlm_glc_create(many, RDLM_GLC_MAX_LS + 1, 0, &id), RDLM_E_INVAL);
    assert_int_equal(rdlm_glc_create(none, 1, 0, &id), RDLM_E_INVAL);
    assert_int_equal(id, 7); /* untouched */
    assert_int_equal(rdlm_glc_attach(&ls, 1, 0), RDLM_E_NOENT);
    assert_int_equal(rdlm_glc_attach(&ls, 1, 0x1234567), RDLM_E_NOENT);
    assert_int_equal(rdlm_glc_detach(ls), RDLM_E_NOTATTACHED);
    assert_int_equal(rdlm_glc_detach(NULL), RDLM_E_INVAL);
    assert_int_equal(rdlm_glc_destroy(ls, 0x1234567, 0), RDLM_E_NOENT);
    assert_int_equal(rdlm_glc_destroy(ls, 0x1234567, RDLM_GLC_PERM), RDLM_E_INVAL);
    assert_int_equal(rdlm_lock(ls, RDLM_MODE_EX, &lksb, RDLM_LKF_WAIT, "g", 1, NULL, NULL, NULL,
                               &ext),
                     RDLM_E_NOTATTACHED);
    assert_int_equal(lksb.lkid, 0);
    assert_int_equal(rdlm_ls_close(ls), RDLM_OK);
}

/* Create, ATTACHED twice, group ownership visible to queries, the last detach releases the
 * locks on every master; the container is gone afterwards. */
static void test_last_detach_releases(void **state)
{
    rdlm_ls *ls = open_ls(), *other = open_ls();
    struct rdlm_lock_info li;
    uint64_t id = 0, id2 = 0, lkids[NNAMES];

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);
    assert_true(id != 0);
    assert_int_equal(rdlm_glc_current(), id);
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id2), RDLM_E_ATTACHED);
    assert_int_equal(rdlm_glc_attach(&ls, 1, id), RDLM_E_ATTACHED);
    {
        int status = -1;
        pid_t pid = fork(); /* a child is not attached: the attachment is its parent's */
        if (pid == 0)
            _exit(rdlm_glc_current() == 0 ? 0 : 1);
        assert_true(pid > 0 && waitpid(pid, &status, 0) == pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    lock_group_names(ls, lkids, "a");
    assert_int_equal(rdlm_query_lock(ls, lkids[0], &li), RDLM_OK);
    assert_true(li.owner_is_group);
    assert_int_equal(li.owner_pid, id);
    expect_names(other, "a", RDLM_E_NOTQUEUED);
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    assert_int_equal(rdlm_glc_current(), 0);
    expect_names(other, "a", RDLM_OK);
    assert_int_equal(rdlm_glc_attach(&ls, 1, id), RDLM_E_NOENT);
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

/* A group lock outlives the member that requested it; another member converts and unlocks it
 * by its id; attaching needs every lockspace of the container. */
static void test_member_exit_and_import(void **state)
{
    struct child ch = spawn_child();
    rdlm_ls *ls = open_ls(), *other = open_ls(), *x = NULL;
    rdlm_ls *both[2];
    struct rdlm_lksb lksb = {0};
    uint64_t id = 0, lkid;
    int status;

    (void)state;
    assert_int_equal(rdlm_ls_open("glc-x", 0, &x), RDLM_OK);
    both[0] = ls;
    both[1] = x;
    assert_int_equal(rdlm_glc_create(both, 2, 0, &id), RDLM_OK);
    /* the child has only LS_NAME open: not every lockspace of the container */
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_E_NOTATTACHED);
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_E_ATTACHED);
    lkid = ask(&ch, C_LOCK_EX, 0, "m1");
    assert_true(lkid != 0);
    status = reap(&ch, true); /* the requester exits */
    assert_true(WIFEXITED(status));
    assert_int_equal(try_ex(other, "m1"), RDLM_E_NOTQUEUED); /* held by the container */
    lksb.lkid = lkid;
    assert_int_equal(rdlm_lock(ls, RDLM_MODE_NL, &lksb, RDLM_LKF_CONVERT | RDLM_LKF_WAIT, NULL, 0,
                               NULL, NULL, NULL, NULL),
                     RDLM_OK);
    assert_int_equal(try_ex(other, "m1"), RDLM_OK); /* NL blocks nothing */
    assert_int_equal(rdlm_unlock(ls, lkid, RDLM_LKF_WAIT, &lksb, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(rdlm_unlock(ls, lkid, RDLM_LKF_WAIT, &lksb, NULL), RDLM_E_NOLOCK);
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    rdlm_ls_close(x);
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

/* PERM survives the last detach; destroy: HASPROCS, HASLOCKS, then LOCKS releases. */
static void test_perm_and_destroy(void **state)
{
    struct child ch = spawn_child();
    rdlm_ls *ls = open_ls(), *other = open_ls();
    uint64_t id = 0, lkids[NNAMES];

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, RDLM_GLC_PERM, &id), RDLM_OK);
    lock_group_names(ls, lkids, "p");
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_OK);
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    assert_int_equal(rdlm_glc_destroy(ls, id, 0), RDLM_E_HASPROCS);
    assert_int_equal((int)ask(&ch, C_DETACH, 0, NULL), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_DETACH, 0, NULL), RDLM_E_NOTATTACHED);
    expect_names(other, "p", RDLM_E_NOTQUEUED); /* PERM: the locks stay */
    assert_int_equal(rdlm_glc_destroy(ls, id, 0), RDLM_E_HASLOCKS);
    assert_int_equal(rdlm_glc_destroy(ls, id, RDLM_GLC_LOCKS), RDLM_OK);
    expect_names(other, "p", RDLM_OK);
    assert_int_equal(rdlm_glc_destroy(ls, id, RDLM_GLC_LOCKS), RDLM_E_NOENT);
    assert_true(WIFEXITED(reap(&ch, true)));
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

/* FORCE kills the attached processes and releases the locks. */
static void test_force_destroy(void **state)
{
    struct child ch = spawn_child();
    rdlm_ls *ls = open_ls(), *other = open_ls();
    uint64_t id = 0, lkids[NNAMES];
    int status;

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_OK);
    lock_group_names(ls, lkids, "f");
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK); /* the child keeps it alive */
    expect_names(other, "f", RDLM_E_NOTQUEUED);
    assert_int_equal(rdlm_glc_destroy(ls, id, RDLM_GLC_LOCKS), RDLM_E_HASPROCS);
    assert_int_equal(rdlm_glc_destroy(ls, id, RDLM_GLC_FORCE), RDLM_OK);
    status = reap(&ch, false);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    expect_names(other, "f", RDLM_OK);
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

/* OWNED: the creator's detach kills the other members and releases the locks. */
static void test_owned(void **state)
{
    struct child ch = spawn_child();
    rdlm_ls *ls = open_ls(), *other = open_ls();
    uint64_t id = 0, lkid;
    int status;

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, RDLM_GLC_OWNED, &id), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_OK);
    lkid = ask(&ch, C_LOCK_EX, 0, "o1");
    assert_true(lkid != 0);
    assert_int_equal(try_ex(other, "o1"), RDLM_E_NOTQUEUED);
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    status = reap(&ch, false);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    for (int t = 0; t < 200 && try_ex(other, "o1") != RDLM_OK; t++)
        usleep(10000);
    assert_int_equal(try_ex(other, "o1"), RDLM_OK);
    assert_int_equal(rdlm_glc_attach(&ls, 1, id), RDLM_E_NOENT);
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

/* A member force-unlocks another member's waiting group request: the requester's completion
 * is ABORTED, the unlocker's call returns UNLOCKED. */
static void test_unlock_others_request(void **state)
{
    struct child ch = spawn_child();
    rdlm_ls *ls = open_ls(), *holder = open_ls();
    struct rdlm_lksb hl = {0};
    uint64_t id = 0, lkid;

    (void)state;
    assert_int_equal(rdlm_lock(holder, RDLM_MODE_EX, &hl, RDLM_LKF_WAIT, "w1", 2, NULL, NULL,
                               NULL, NULL),
                     RDLM_OK);
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_OK);
    lkid = ask(&ch, C_LOCK_ASYNC, 0, "w1"); /* queued behind the holder */
    assert_true(lkid != 0);
    assert_int_equal(rdlm_unlock(ls, lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_BUSY);
    assert_int_equal(rdlm_unlock(ls, lkid, RDLM_LKF_FORCEUNLOCK | RDLM_LKF_WAIT, NULL, NULL),
                     RDLM_E_UNLOCKED);
    assert_int_equal((int)(int64_t)ask(&ch, C_AST_STATUS, 0, NULL), RDLM_E_ABORTED);
    assert_true(WIFEXITED(reap(&ch, true)));
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    rdlm_unlock(holder, hl.lkid, RDLM_LKF_WAIT, NULL, NULL);
    rdlm_ls_close(holder);
    rdlm_ls_close(ls);
}

/* Hostile GLC requests never reach another process's container (covered in
 * tests/common for the wire); here: a container id of another node is unknown here. */
static void test_foreign_id(void **state)
{
    rdlm_ls *ls = open_ls();
    uint64_t id = 0;

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    setenv("RDLM_NODE", "2", 1); /* a process of node 2 asks its own daemon */
    {
        rdlm_ls *ls2 = open_ls();
        assert_int_equal(rdlm_glc_attach(&ls2, 1, id ^ 1), RDLM_E_NOENT);
        rdlm_ls_close(ls2);
    }
    setenv("RDLM_NODE", "1", 1);
    rdlm_ls_close(ls);
}

/* The creator's record of a group lock another member unlocked is stale: converting or
 * unlocking it through that record finds no lock, and never touches the counts of another
 * owner's lock on the resource (one-sided fast path). */
static void test_stale_record(void **state)
{
    struct child ch = spawn_child();
    rdlm_ls *ls = open_ls(), *other = open_ls(), *third = open_ls();
    struct rdlm_lock_ext ext;
    struct rdlm_lksb sb = {0}, osb = {0};
    uint64_t id = 0;

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);
    ext = (struct rdlm_lock_ext){.group = id};
    assert_int_equal(rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, "st1", 3, NULL, NULL, NULL,
                               &ext),
                     RDLM_OK);
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_UNLOCK, sb.lkid, NULL), RDLM_E_UNLOCKED);
    for (int i = 0; i < 3; i++) { /* another owner holds it, on the fast path if it can */
        assert_int_equal(rdlm_lock(other, RDLM_MODE_EX, &osb, RDLM_LKF_WAIT, "st1", 3, NULL, NULL,
                                   NULL, NULL),
                         RDLM_OK);
        if (i < 2)
            assert_int_equal(rdlm_unlock(other, osb.lkid, RDLM_LKF_WAIT, &osb, NULL),
                             RDLM_E_UNLOCKED);
    }
    assert_int_equal(rdlm_lock(ls, RDLM_MODE_NL, &sb, RDLM_LKF_CONVERT | RDLM_LKF_WAIT, NULL, 0,
                               NULL, NULL, NULL, NULL),
                     RDLM_E_NOLOCK);
    assert_int_equal(try_ex(third, "st1"), RDLM_E_NOTQUEUED); /* still other's alone */
    assert_int_equal(rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, &sb, NULL), RDLM_E_NOLOCK);
    assert_int_equal(try_ex(third, "st1"), RDLM_E_NOTQUEUED); /* other's count untouched */
    assert_int_equal(rdlm_unlock(other, osb.lkid, RDLM_LKF_WAIT, &osb, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(try_ex(third, "st1"), RDLM_OK); /* and nothing resurrected */
    assert_true(WIFEXITED(reap(&ch, true)));
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    rdlm_ls_close(third);
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

/* A name whose master is node, locked EX (as a group lock if group) with lksb sb, which must
 * outlive the lock; its lock id. */
static uint64_t lock_on_node(rdlm_ls *ls, unsigned node, const char *prefix, char *name, bool group,
                             struct rdlm_lksb *sb)
{
    struct rdlm_lock_ext ext = {.group = group ? rdlm_glc_current() : 0};

    for (int i = 0; i < 200; i++) {
        struct rdlm_res_info ri;
        memset(sb, 0, sizeof(*sb));
        snprintf(name, 16, "%s%d", prefix, i);
        assert_int_equal(rdlm_lock(ls, RDLM_MODE_EX, sb, RDLM_LKF_WAIT, name, strlen(name), NULL,
                                   NULL, NULL, &ext),
                         RDLM_OK);
        if (rdlm_query_resource(ls, name, strlen(name), 0, &ri) == RDLM_OK &&
            ri.master_node == node)
            return sb->lkid;
        assert_int_equal(rdlm_unlock(ls, sb->lkid, RDLM_LKF_WAIT, sb, NULL), RDLM_E_UNLOCKED);
    }
    fail_msg("no name mastered by node %u", node);
    return 0;
}

/* The master of three group locks and of a resource tree dies: the group lock the container
 * still holds is rebuilt from the record of the member that holds it; the one another member
 * unlocked is not brought back by the stale record the creator still has; the one a member
 * that exited since requested, of which no live member has a record, is rebuilt from the
 * container's node (master/keeper.c); the parent lock and its sublock come back as a tree.
 * Last test: the cluster stays a node short. */
static void test_master_loss(void **state)
{
    struct child ch = spawn_child(), gone = spawn_child();
    rdlm_ls *ls = open_ls(), *other = open_ls();
    char kept[16], ended[16], tree[16], left[16];
    struct rdlm_lksb ksb, esb, tsb, lsb;
    uint64_t id = 0, kept_id, ended_id, left_id;
    struct rdlm_lock_ext sub_ext = {0};
    struct rdlm_lksb sub = {0};
    int st = -1;

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);

    kept_id = lock_on_node(ls, 3, "k", kept, true, &ksb);
    ended_id = lock_on_node(ls, 3, "e", ended, true, &esb);
    sub_ext.parent = lock_on_node(ls, 3, "t", tree, false, &tsb); /* with a sublock, below */
    assert_int_equal(rdlm_lock(ls, RDLM_MODE_EX, &sub, RDLM_LKF_WAIT, "sub", 3, NULL, NULL, NULL,
                               &sub_ext),
                     RDLM_OK);
    /* a name on node 3 for the member that leaves: found with a plain lock, released */
    left_id = lock_on_node(ls, 3, "l", left, false, &lsb);
    assert_int_equal(rdlm_unlock(ls, left_id, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_int_equal((int)ask(&gone, C_ATTACH, id, NULL), RDLM_OK);
    left_id = ask(&gone, C_LOCK_EX, 0, left);
    assert_true(left_id != 0);
    assert_true(WIFEXITED(reap(&gone, true)));
    assert_int_equal((int)ask(&ch, C_ATTACH, id, NULL), RDLM_OK);
    assert_int_equal((int)ask(&ch, C_UNLOCK, ended_id, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(fixture_kill_node(3), 0);
    for (int t = 0; t < 300 && st != RDLM_OK; t++) { /* through the recovery */
        st = try_ex(other, ended);
        if (st != RDLM_OK)
            usleep(50000);
    }
    assert_int_equal(st, RDLM_OK); /* not resurrected */
    assert_int_equal(try_ex(other, kept), RDLM_E_NOTQUEUED); /* rebuilt */
    assert_int_equal(rdlm_unlock(ls, kept_id, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(try_ex(other, kept), RDLM_OK);
    assert_int_equal(try_ex(other, left), RDLM_E_NOTQUEUED); /* rebuilt by the keeper */
    assert_int_equal(rdlm_unlock(ls, left_id, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(try_ex(other, left), RDLM_OK);
    /* the resource tree was rebuilt: the parent still has its sublock */
    assert_int_equal(rdlm_unlock(ls, sub_ext.parent, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_SUBLOCKS);
    assert_int_equal(rdlm_unlock(ls, sub.lkid, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_int_equal(rdlm_unlock(ls, sub_ext.parent, RDLM_LKF_WAIT, NULL, NULL), RDLM_E_UNLOCKED);
    assert_true(WIFEXITED(reap(&ch, true)));
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

/* ---- hostile GLC messages, on raw connections ---- */

static void glc_raw_open(struct raw_conn *r, unsigned node, unsigned shard, uint8_t role,
                         unsigned as_node)
{
    struct rdlm_cluster_config cfg;
    struct proto_hello hello = {role, (uint16_t)as_node, 4242, 77}; /* not our pid */
    char err[256];

    assert_int_equal(rdlm_config_load(getenv("RDLM_CONFIG"), &cfg, err, sizeof(err)), 0);
    assert_int_equal(raw_open(r, &cfg, node, shard, &hello), 0);
    rdlm_config_free(&cfg);
}

/* Send m (byte patch_at replaced, if >= 0); then the REPLY's status, or -1 if the daemon
 * closed the connection instead, -2 if nothing came within WAIT_MS. */
static int raw_ask(struct raw_conn *r, struct proto_msg *m, int patch_at, uint8_t patch)
{
    struct proto_msg in;

    assert_int_equal(raw_send(r, m, patch_at, patch), 0);
    switch (raw_recv(r, MSG_REPLY, WAIT_MS, &in)) {
    case RAW_GOT:
        return in.u.reply.status;
    case RAW_CLOSED:
        return -1;
    default:
        return -2;
    }
}

static void test_hostile(void **state)
{
    rdlm_ls *ls = open_ls(), *other = open_ls();
    struct proto_msg m = {0};
    struct raw_conn r;
    uint64_t id = 0, lkids[NNAMES];

    (void)state;
    assert_int_equal(rdlm_glc_create(&ls, 1, 0, &id), RDLM_OK);
    lock_group_names(ls, lkids, "h");
    m.hdr.type = MSG_GLC;
    m.u.glc.op = GLC_CREATE;
    m.u.glc.nls = 1;
    m.u.glc.lss[0] = rdlm_ls_id(ls);
    /* to shard 1 (not the home shard), and to shard 0 claiming another node: closed */
    glc_raw_open(&r, 1, 1, ROLE_CLIENT, 1);
    assert_int_equal(raw_ask(&r, &m, -1, 0), -1);
    raw_close(&r);
    glc_raw_open(&r, 1, 0, ROLE_CLIENT, 2);
    assert_int_equal(raw_ask(&r, &m, -1, 0), -1);
    raw_close(&r);
    /* a client sending PURGE, and an unknown op: closed; the container is untouched */
    glc_raw_open(&r, 1, 0, ROLE_CLIENT, 1);
    m.u.glc.op = GLC_PURGE;
    m.u.glc.id = id;
    assert_int_equal(raw_ask(&r, &m, -1, 0), -1);
    raw_close(&r);
    glc_raw_open(&r, 1, 0, ROLE_CLIENT, 1);
    m.u.glc.op = GLC_CREATE;
    assert_int_equal(raw_ask(&r, &m, PROTO_HDR_LEN, 99), -1);
    raw_close(&r);
    /* a stranger's registry requests on our container: refused, connection kept */
    glc_raw_open(&r, 1, 0, ROLE_CLIENT, 1);
    m.u.glc.id = id;
    m.u.glc.lkid = lkids[0];
    m.u.glc.op = GLC_LOCK_FIND;
    assert_int_equal(raw_ask(&r, &m, -1, 0), RDLM_E_NOTATTACHED);
    m.u.glc.op = GLC_LOCK_DEL;
    assert_int_equal(raw_ask(&r, &m, -1, 0), RDLM_E_NOTATTACHED);
    m.u.glc.op = GLC_ATTACH;
    m.u.glc.nls = 0; /* covers none of its lockspaces */
    assert_int_equal(raw_ask(&r, &m, -1, 0), RDLM_E_NOTATTACHED);
    m.u.glc.op = GLC_DESTROY;
    m.u.glc.lkid = 1; /* not root, not the creator, no lockspace of it */
    assert_int_equal(raw_ask(&r, &m, -1, 0), RDLM_E_ACCESS);
    raw_close(&r);
    expect_names(other, "h", RDLM_E_NOTQUEUED); /* still the container's */
    assert_int_equal(rdlm_glc_detach(ls), RDLM_OK);
    expect_names(other, "h", RDLM_OK);
    rdlm_ls_close(other);
    rdlm_ls_close(ls);
}

static int start(void **state)
{
    (void)state;
    setenv("RDLM_NODE", "1", 1);
    return fixture_cluster_up("glc", 3, 2);
}

static int stop(void **state)
{
    (void)state;
    fixture_cluster_down();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_last_detach_releases),
        cmocka_unit_test(test_member_exit_and_import),
        cmocka_unit_test(test_perm_and_destroy),
        cmocka_unit_test(test_force_destroy),
        cmocka_unit_test(test_owned),
        cmocka_unit_test(test_unlock_others_request),
        cmocka_unit_test(test_foreign_id),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_stale_record),
        cmocka_unit_test(test_master_loss),
    };

    int rc;

    if (fork_children() < 0) {
        fprintf(stderr, "test_glc: cannot fork the member processes\n");
        return 1;
    }
    rc = cmocka_run_group_tests_name("librdlm-glc", tests, start, stop);
    while (g_pool_used < NCHILDREN) { /* the ones no test used */
        struct child ch = g_pool[g_pool_used++];
        reap(&ch, true);
    }
    return rc;
}
