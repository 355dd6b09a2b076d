/*
 * master/tools/cluster_up.c - `rdlmctl up N`: write DIR/cluster.ini for N nodes on this host,
 * start one detached rdlmd per node, wait until each is ready, print how to use and stop it.
 *
 * Addresses: 127.0.0.1, or for rdma (and auto, when one exists) the IPv4 address of the
 * netdev under the first RDMA device (rxe or hardware).  Ports: N * shards consecutive ports,
 * checked free by binding them (under a host-wide lock, /tmp/rdlm-up.lock, so that two `up`s at
 * once do not pick the same ones).  Ready: the log has a line with "rdlmd: ready", or (tcp) the
 * shard-0 port accepts a connection.
 */
#include "master/tools/local_cluster.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PORT_SEARCH_FIRST 7401u
#define PORT_SEARCH_LAST  30000u

struct up {
    const struct lc_up_opts *o;
    char dir[PATH_MAX];
    char cfg[PATH_MAX + 16];
    char rdlmd[PATH_MAX];
    char addr[INET_ADDRSTRLEN];
    char device[64];
    unsigned base;
    struct lc_daemon d[LC_MAX_NODES];
    size_t started;
};

static int find_rdlmd(struct up *u)
{
    const char *env = getenv("RDLMD");
    char self[PATH_MAX];
    ssize_t n;
    if (env && *env) {
        snprintf(u->rdlmd, sizeof(u->rdlmd), "%s", env);
    } else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
        self[n] = '\0';
        snprintf(u->rdlmd, sizeof(u->rdlmd), "%s/rdlmd", dirname(self));
    }
    if (u->rdlmd[0] && access(u->rdlmd, X_OK) == 0)
        return 0;
    fprintf(stderr, "rdlmctl: cannot find rdlmd (looked for %s; set RDLMD=/path/to/rdlmd)\n",
            u->rdlmd[0] ? u->rdlmd : "rdlmd next to rdlmctl");
    return -1;
}

static int ipv4_of(const char *ifname, char *addr, size_t len)
{
    struct ifaddrs *list;
    int found = 0;
    if (getifaddrs(&list) < 0)
        return 0;
    for (struct ifaddrs *ifa = list; ifa && !found; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET ||
            strcmp(ifa->ifa_name, ifname) != 0)
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, addr, (socklen_t)len);
        found = 1;
    }
    freeifaddrs(list);
    return found;
}

/* The first RDMA device whose port 1 netdev has an IPv4 address (RoCE / rxe). */
static int find_rdma_address(struct up *u)
{
    DIR *d = opendir("/sys/class/infiniband");
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)) != NULL) {
        char path[PATH_MAX], ifname[64] = "";
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len >= sizeof(u->device))
            continue;
        snprintf(path, sizeof(path), "/sys/class/infiniband/%s/ports/1/gid_attrs/ndevs/0",
                 e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fscanf(f, "%63s", ifname) == 1 && ipv4_of(ifname, u->addr, sizeof(u->addr))) {
            memcpy(u->device, e->d_name, len + 1);
            found = 1;
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

static int choose_address(struct up *u)
{
    const char *t = u->o->transport;
    if (strcmp(t, "tcp") != 0 && find_rdma_address(u))
        return 0;
    if (strcmp(t, "rdma") == 0) {
        fprintf(stderr, "rdlmctl: no RDMA device with an IPv4 address on its netdev "
                        "(see soft-roce/ to set up rxe, or use --transport tcp)\n");
        return -1;
    }
    snprintf(u->addr, sizeof(u->addr), "127.0.0.1");
    return 0;
}

static int port_free(const char *addr, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, ok;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as rdlmd does */
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* First busy port of [base, base + count), or 0 if all are free. */
static unsigned busy_port(const char *addr, unsigned base, unsigned count)
{
    for (unsigned p = base; p < base + count; p++)
        if (p > 65535 || !port_free(addr, p))
            return p;
    return 0;
}

static int choose_ports(struct up *u)
{
    unsigned count = u->o->nodes * u->o->shards, busy;
    if (u->o->base_port) {
        busy = busy_port(u->addr, u->o->base_port, count);
        if (busy) {
            fprintf(stderr,
                    "rdlmctl: port %u on %s is in use (or beyond 65535); need %u free "
                    "ports from %u\n",
                    busy, u->addr, count, u->o->base_port);
            return -1;
        }
        u->base = u->o->base_port;
        return 0;
    }
    for (unsigned base = PORT_SEARCH_FIRST; base + count <= PORT_SEARCH_LAST; base = busy + 1) {
        busy = busy_port(u->addr, base, count);
        if (!busy) {
            u->base = base;
            return 0;
        }
    }
    fprintf(stderr, "rdlmctl: no %u consecutive free ports in %u..%u on %s\n", count,
            PORT_SEARCH_FIRST, PORT_SEARCH_LAST, u->addr);
    return -1;
}

static unsigned node_port(const struct up *u, unsigned node)
{
    return u->base + (node - 1) * u->o->shards;
}

static int write_config(struct up *u)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s.tmp", u->cfg);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "rdlmctl: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fprintf(f,
            "; written by rdlmctl up; see docs/operations.md\n[cluster]\nname = local\n"
            "transport = %s\nshards = %u\n",
            u->o->transport, u->o->shards);
    if (u->o->deadlock_wait_ms)
        fprintf(f, "deadlock_wait_ms = %u\n", u->o->deadlock_wait_ms);
    if (u->o->fence_command)
        fprintf(f, "fence_command = %s\n", u->o->fence_command);
    for (unsigned i = 1; i <= u->o->nodes; i++) {
        fprintf(f, "\n[node %u]\naddress = %s\nport = %u\n", i, u->addr, node_port(u, i));
        if (u->device[0])
            fprintf(f, "device = %s\n", u->device);
    }
    if (fclose(f) != 0 || rename(tmp, u->cfg) != 0) {
        fprintf(stderr, "rdlmctl: cannot write %s: %s\n", u->cfg, strerror(errno));
        return -1;
    }
    return 0;
}

static void log_path(const struct up *u, unsigned node, char *buf, size_t len)
{
    snprintf(buf, len, "%s/node-%u.log", u->dir, node);
}

static void exec_daemon(const struct up *u, unsigned node)
{
    char log[PATH_MAX + 32], id[16];
    log_path(u, node, log, sizeof(log));
    snprintf(id, sizeof(id), "%u", node);
    setsid();
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0)
        _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    close_range(3, ~0u, 0); /* nothing of ours (pipes to a caller) stays open */
    char *argv[] = {(char *)u->rdlmd, "--config", (char *)u->cfg, "--node", id, NULL};
    if (u->o->fault_injection) /* only on request: never inherited from the caller */
        setenv("RDLM_FAULT_INJECTION", "1", 1);
    else
        unsetenv("RDLM_FAULT_INJECTION");
    execv(u->rdlmd, argv);
    fprintf(stderr, "rdlmctl: cannot run %s: %s\n", u->rdlmd, strerror(errno));
    _exit(127);
}

static int write_pidfile(const struct up *u, unsigned node, pid_t pid)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    lc_pidfile(u->dir, node, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", (int)pid);
    return fclose(f) == 0 && rename(tmp, path) == 0 ? 0 : -1;
}

static int spawn_all(struct up *u)
{
    fflush(NULL);
    for (unsigned i = 1; i <= u->o->nodes; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "rdlmctl: fork: %s\n", strerror(errno));
            return -1;
        }
        if (pid == 0)
            exec_daemon(u, i);
        u->d[u->started++] = (struct lc_daemon){i, pid};
        if (write_pidfile(u, i, pid) < 0) {
            fprintf(stderr, "rdlmctl: cannot write the pid file of node %u in %s\n", i, u->dir);
            return -1;
        }
    }
    return 0;
}

static int log_says_ready(const struct up *u, unsigned node)
{
    char path[PATH_MAX + 32], line[512];
    int ready = 0;
    log_path(u, node, path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    for (int lines = 0; !ready && lines < 100000 && fgets(line, sizeof(line), f); lines++)
        ready = strstr(line, "rdlmd: ready") != NULL;
    fclose(f);
    return ready;
}

static int accepts(const char *addr, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && inet_pton(AF_INET, addr, &sa.sin_addr) == 1 &&
             connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void show_log_tail(const struct up *u, unsigned node)
{
    char path[PATH_MAX + 32], line[512], tail[15][512];
    unsigned n = 0;
    log_path(u, node, path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        memcpy(tail[n++ % 15], line, sizeof(line));
    fclose(f);
    fprintf(stderr, "--- last lines of %s:\n", path);
    for (unsigned i = n > 15 ? n - 15 : 0; i < n; i++)
        fprintf(stderr, "    %s%s", tail[i % 15], strchr(tail[i % 15], '\n') ? "" : "\n");
    if (n == 0)
        fprintf(stderr, "    (empty)\n");
}

/* Has node i's process exited?  Describe how into why; forget its (reaped) pid. */
static int exited(struct lc_daemon *d, char *why, size_t len)
{
    int st;
    if (waitpid(d->pid, &st, WNOHANG) != d->pid)
        return 0;
    d->pid = 0;
    if (WIFEXITED(st))
        snprintf(why, len, "exited with status %d", WEXITSTATUS(st));
    else
        snprintf(why, len, "killed by signal %d", WTERMSIG(st));
    return 1;
}

/* Every shard port of node i accepts (shard 0 alone can listen before the others do). */
static int all_accept(const struct up *u, unsigned i)
{
    for (unsigned s = 0; s < u->o->shards; s++)
        if (!accepts(u->addr, node_port(u, i) + s))
            return 0;
    return 1;
}

/* 0 when every node is ready; else the failed node (reported). */
static unsigned wait_ready(struct up *u)
{
    int ready[LC_MAX_NODES + 1] = {0};
    unsigned left = u->o->nodes;
    char why[64];
    int tcp = strcmp(u->o->transport, "tcp") == 0;
    for (long waited = 0; left > 0; waited += 50) {
        for (unsigned i = 1; i <= u->o->nodes; i++) {
            if (ready[i])
                continue;
            if (exited(&u->d[i - 1], why, sizeof(why))) {
                fprintf(stderr, "rdlmctl: node %u failed to start (%s)\n", i, why);
                return i;
            }
            ready[i] = log_says_ready(u, i) || (tcp && all_accept(u, i));
            left -= ready[i] != 0;
        }
        if (left > 0 && waited >= LC_UP_TIMEOUT) {
            for (unsigned i = 1; i <= u->o->nodes; i++)
                if (!ready[i]) {
                    fprintf(stderr, "rdlmctl: node %u not ready after %d s\n", i,
                            LC_UP_TIMEOUT / 1000);
                    return i;
                }
        }
        if (left > 0) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

static int check_not_running(const struct up *u)
{
    struct lc_daemon d[LC_MAX_NODES * 4];
    size_t n = lc_running(u->dir, d, sizeof(d) / sizeof(d[0]));
    if (n == 0)
        return 0;
    fprintf(stderr,
            "rdlmctl: a cluster is already running in %s (%zu node%s, node %u is pid "
            "%d)\nhint: stop it with `rdlmctl down --dir %s`, or pick another --dir\n",
            u->dir, n, n == 1 ? "" : "s", d[0].node, (int)d[0].pid, u->dir);
    return -1;
}

static int prepare(struct up *u)
{
    if (lc_resolve_dir(u->o->dir, 1, u->dir, sizeof(u->dir)) < 0)
        return -1;
    snprintf(u->cfg, sizeof(u->cfg), "%s/cluster.ini", u->dir);
    if (check_not_running(u) < 0 || find_rdlmd(u) < 0 || choose_address(u) < 0)
        return -1;
    return choose_ports(u) < 0 || write_config(u) < 0 ? -1 : 0;
}

/* One `up` at a time on this host, from choosing the ports until the daemons listen on them:
 * two clusters started at once would otherwise find the same ports free. -1 if no lock
 * could be had (then we go on without it). */
static int lock_ports(void)
{
    int fd = open("/tmp/rdlm-up.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);

    if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int lc_up(const struct lc_up_opts *opts)
{
    static struct up u; /* large; one per process */
    int lock = lock_ports();
    unsigned failed;

    memset(&u, 0, sizeof(u));
    u.o = opts;
    if (prepare(&u) < 0) {
        if (lock >= 0)
            close(lock);
        return 1;
    }
    failed = spawn_all(&u) < 0 ? 1 : wait_ready(&u);
    if (lock >= 0)
        close(lock); /* the ports are taken (or the cluster failed) */
    if (failed) {
        if (failed <= u.started)
            show_log_tail(&u, failed);
        lc_stop(u.dir, u.d, u.started);
        fprintf(stderr, "rdlmctl: cluster not started; stopped the other nodes\n");
        return 1;
    }
    printf("rdlm: %u-node cluster up (%s), config %s\n", opts->nodes, opts->transport, u.cfg);
    printf("export RDLM_CONFIG=%s\n", u.cfg);
    printf("stop it with: rdlmctl down --dir %s\n", u.dir);
    return 0;
}
