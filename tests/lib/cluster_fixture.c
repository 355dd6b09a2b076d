/*
 * tests/lib/cluster_fixture.c - start and stop a local cluster for a cmocka test (see the
 * header).
 */
#include "tests/lib/cluster_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];
static char g_ctl[512];
static pid_t g_owner; /* only the process that started it stops it (not forked children) */

const char *fixture_cluster_dir(void)
{
    return g_dir;
}

void fixture_cluster_down(void)
{
    char cmd[2048];

    if (!g_dir[0] || getpid() != g_owner)
        return;
    if (getenv("RDLM_FIXTURE_KEEP")) /* keep the logs for a look */
        snprintf(cmd, sizeof(cmd), "%s down --dir %s >/dev/null 2>&1; echo kept %s >&2", g_ctl,
                 g_dir, g_dir);
    else
        snprintf(cmd, sizeof(cmd), "%s down --dir %s >/dev/null 2>&1; rm -rf %s", g_ctl, g_dir,
                 g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cluster fixture: stop failed\n");
    g_dir[0] = 0;
}

int fixture_cluster_up(const char *tag, unsigned nodes, unsigned shards)
{
    return fixture_cluster_up_with(tag, nodes, shards, "");
}

int fixture_cluster_up_with(const char *tag, unsigned nodes, unsigned shards, const char *extra)
{
    static int registered;
    char cmd[2048], cfg[300];
    const char *build = getenv("RDLM_BUILD") ? getenv("RDLM_BUILD") : "build";
    const char *transport =
        getenv("RDLM_FIXTURE_TRANSPORT") ? getenv("RDLM_FIXTURE_TRANSPORT") : "tcp";

    snprintf(g_ctl, sizeof(g_ctl), "%s/master/rdlmctl", build);
    snprintf(g_dir, sizeof(g_dir), "/tmp/rdlm-%s-XXXXXX", tag);
    if (!mkdtemp(g_dir)) {
        g_dir[0] = 0;
        return -1;
    }
    g_owner = getpid();
    if (!registered++)
        atexit(fixture_cluster_down);
    snprintf(cmd, sizeof(cmd), "%s up %u --shards %u --transport %s --dir %s %s >/dev/null", g_ctl,
             nodes, shards, transport, g_dir, extra);
    if (system(cmd) != 0)
        return -1;
    snprintf(cfg, sizeof(cfg), "%s/cluster.ini", g_dir);
    setenv("RDLM_CONFIG", cfg, 1);
    return 0;
}

int fixture_kill_node(unsigned node)
{
    return fixture_signal_node(node, SIGKILL);
}

int fixture_signal_node(unsigned node, int sig)
{
    char path[400];
    FILE *f;
    int pid = 0;

    snprintf(path, sizeof(path), "%s/node-%u.pid", g_dir, node);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (fscanf(f, "%d", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid > 1 ? kill(pid, sig) : -1;
}

int fixture_ctl(const char *args, char *out, size_t len)
{
    char cmd[2048];
    FILE *p;
    size_t n = 0;

    if (!g_dir[0] || !len)
        return -1;
    snprintf(cmd, sizeof(cmd), "timeout 60 %s %s --dir %s 2>&1", g_ctl, args, g_dir);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (n + 1 < len && !feof(p)) {
        size_t got = fread(out + n, 1, len - 1 - n, p);
        if (!got)
            break;
        n += got;
    }
    out[n] = 0;
    while (fgetc(p) != EOF) /* the rest, so that the command never blocks on a full pipe */
        ;
    return pclose(p) == 0 ? 0 : -1;
}

int fixture_name_on_node(rdlm_ls *ls, unsigned node, const char *prefix, char *name, size_t len)
{
    for (int i = 0; i < 400; i++) {
        struct rdlm_lksb sb = {0};
        struct rdlm_res_info ri = {0};
        int q;
        snprintf(name, len, "%s%d", prefix, i);
        if (rdlm_lock(ls, RDLM_MODE_NL, &sb, RDLM_LKF_WAIT, name, strlen(name), NULL, NULL, NULL,
                      NULL) != RDLM_OK)
            return -1;
        q = rdlm_query_resource(ls, name, strlen(name), 0, &ri);
        if (rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, NULL, NULL) != RDLM_E_UNLOCKED || q != RDLM_OK)
            return -1;
        if (ri.master_node == node)
            return 0;
    }
    return -1;
}

int fixture_fork_kid(struct fixture_kid *k, void (*body)(void))
{
    int to[2], from[2];

    if (pipe(to) < 0 || pipe(from) < 0)
        return -1;
    k->pid = fork();
    if (k->pid < 0)
        return -1;
    k->cmd = k->pid ? to[1] : to[0];
    k->rep = k->pid ? from[0] : from[1];
    close(k->pid ? to[0] : to[1]);
    close(k->pid ? from[1] : from[0]);
    if (k->pid == 0)
        body();
    return 0;
}

void fixture_reap_kid(struct fixture_kid *k)
{
    if (k->pid > 0 && waitpid(k->pid, NULL, WNOHANG) == 0) {
        kill(k->pid, SIGKILL);
        waitpid(k->pid, NULL, 0);
    }
}
