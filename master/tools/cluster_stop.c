/*
 * master/tools/cluster_stop.c - the daemons of a local cluster directory: finding them from
 * their pid files, telling them from unrelated processes that reuse a pid, stopping them
 * (`rdlmctl down`, and `rdlmctl up` when a node fails to start).
 *
 * A pid counts as ours only if it is alive (not a zombie) and its command line contains
 * DIR/cluster.ini: a stale pid file never gets an unrelated process killed.
 */
#include "master/tools/local_cluster.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void lc_default_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg)
        snprintf(buf, len, "%s/rdlm", xdg);
    else
        snprintf(buf, len, "/tmp/rdlm-%u", (unsigned)getuid());
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int lc_resolve_dir(const char *dir, int create, char *buf, size_t len)
{
    char def[PATH_MAX];
    if (!dir) {
        lc_default_dir(def, sizeof(def));
        dir = def;
    }
    if (create && mkdir_p(dir) < 0) {
        fprintf(stderr, "rdlmctl: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        snprintf(buf, len, "%s", dir);
        return -1;
    }
    snprintf(buf, len, "%s", real);
    return 0;
}

void lc_pidfile(const char *dir, unsigned node, char *buf, size_t len)
{
    snprintf(buf, len, "%s/node-%u.pid", dir, node);
}

/* Alive and not a zombie. */
static int proc_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

int lc_is_daemon(pid_t pid, const char *dir)
{
    char path[64], want[PATH_MAX], args[8192];
    if (pid <= 1 || !proc_alive(pid))
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    snprintf(want, sizeof(want), "%s/cluster.ini", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(args, 1, sizeof(args) - 1, f);
    fclose(f);
    args[n] = '\0';
    for (size_t i = 0; i < n; i += strlen(args + i) + 1)
        if (strcmp(args + i, want) == 0)
            return 1;
    return 0;
}

static pid_t read_pidfile(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || pid > INT_MAX)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

static int cmp_daemon(const void *a, const void *b)
{
    const struct lc_daemon *x = a, *y = b;
    return (x->node > y->node) - (x->node < y->node);
}

size_t lc_running(const char *dir, struct lc_daemon *out, size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned node;
        int end = 0;
        if (sscanf(e->d_name, "node-%u.pid%n", &node, &end) != 1 || e->d_name[end] != '\0')
            continue;
        char path[PATH_MAX];
        lc_pidfile(dir, node, path, sizeof(path));
        pid_t pid = read_pidfile(path);
        if (pid && lc_is_daemon(pid, dir) && n < max)
            out[n++] = (struct lc_daemon){node, pid};
        else
            unlink(path); /* stale */
    }
    closedir(d);
    qsort(out, n, sizeof(*out), cmp_daemon);
    return n;
}

static void signal_daemon(pid_t pid, int sig)
{
    if (pid <= 1)
        return; /* never kill(0) or kill(-1) */
    /* Each daemon leads its own session and process group (setsid): signal the group, so
     * helpers it started go too; fall back to the pid if it is not a group leader. */
    if (kill(-pid, sig) < 0)
        kill(pid, sig);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait up to ms for all to exit (reaping our own children). Returns how many are left. */
static size_t wait_gone(const struct lc_daemon *d, size_t n, long ms)
{
    size_t left = n;
    for (long waited = 0;; waited += 20) {
        left = 0;
        for (size_t i = 0; i < n; i++) {
            if (d[i].pid <= 1)
                continue;
            waitpid(d[i].pid, NULL, WNOHANG);
            left += proc_alive(d[i].pid);
        }
        if (left == 0 || waited >= ms)
            return left;
        sleep_ms(20);
    }
}

void lc_stop(const char *dir, const struct lc_daemon *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        signal_daemon(d[i].pid, SIGTERM);
    if (wait_gone(d, n, LC_DOWN_TIMEOUT) > 0) {
        for (size_t i = 0; i < n; i++)
            if (proc_alive(d[i].pid)) {
                fprintf(stderr, "rdlmctl: node %u (pid %d) ignored SIGTERM; killing it\n",
                        d[i].node, (int)d[i].pid);
                signal_daemon(d[i].pid, SIGKILL);
            }
        wait_gone(d, n, 2000);
    }
    for (size_t i = 0; i < n; i++) {
        if (d[i].pid > 1) {
            kill(-d[i].pid, SIGKILL); /* stragglers of its group, if any (ESRCH otherwise) */
            waitpid(d[i].pid, NULL, WNOHANG);
        }
        char path[PATH_MAX];
        lc_pidfile(dir, d[i].node, path, sizeof(path));
        unlink(path);
    }
}

int lc_down(const char *dir_opt)
{
    char dir[PATH_MAX];
    struct lc_daemon d[LC_MAX_NODES * 4];
    if (lc_resolve_dir(dir_opt, 0, dir, sizeof(dir)) < 0) {
        printf("rdlm: no cluster in %s\n", dir);
        return 0;
    }
    size_t n = lc_running(dir, d, sizeof(d) / sizeof(d[0]));
    if (n == 0) {
        printf("rdlm: no cluster running in %s\n", dir);
        return 0;
    }
    lc_stop(dir, d, n);
    printf("rdlm: stopped %zu node%s in %s\n", n, n == 1 ? "" : "s", dir);
    return 0;
}
