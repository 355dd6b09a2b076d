/*
 * verbs/pingpong.c - rdlm-pingpong: the raw transport floor (CAS round trip, SEND ping-pong).
 *
 *   rdlm-pingpong [--backend=tcp|rdma] [--iters=N] [--size=B]      loopback: spawns a server
 *   rdlm-pingpong server [--backend=..] [--port=P]                 prints "port P", serves
 *   rdlm-pingpong client --host=IP --port=P [--backend=..] [--iters=N] [--size=B]
 *
 * The client times N synchronous CAS round trips on a word of the server's registered memory
 * (rt_cas_sync: post + busy-poll in the caller's thread) and N SEND ping-pongs of B bytes
 * (the server echoes), and prints p50/p99/mean in microseconds.  The benchmarks in perf/
 * compare the lock fast path against these numbers.
 */
#include "verbs/transport.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *self_path = "/proc/self/exe"; /* argv[0] when it is a path */

struct opts {
    const char *mode, *host;
    enum rt_backend backend;
    uint16_t port;
    int iters;
    uint32_t size;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static rt_ctx *make_ctx(const struct opts *o)
{
    struct rt_config cfg;
    rt_ctx *ctx;
    int ret;
    rt_config_init(&cfg);
    cfg.backend = o->backend;
    /* rdma: busy-poll (the floor); tcp: the progress threads need the cores, spin briefly */
    cfg.spin_us = o->backend == RT_BACKEND_RDMA ? 2000000 : 50;
    ret = rt_ctx_create(&cfg, &ctx);
    if (ret) {
        fprintf(stderr, "rdlm-pingpong: %s transport: %s\n", rt_backend_name(o->backend),
                strerror(-ret));
        exit(1);
    }
    return ctx;
}

static int serve(const struct opts *o)
{
    static uint64_t words[8] __attribute__((aligned(64)));
    uint8_t wire[RT_RDESC_WIRE];
    struct rt_completion c;
    struct rt_rdesc d;
    rt_listener *l;
    rt_mr *mr;
    rt_ctx *ctx = make_ctx(o);
    uint64_t end = now_ns() + 600ull * 1000000000u;
    int closed = 0;

    if (rt_listen(ctx, "0.0.0.0", o->port, &l) || rt_reg(ctx, words, sizeof(words), &mr)) {
        fprintf(stderr, "rdlm-pingpong: listen/register failed\n");
        return 1;
    }
    rt_mr_rdesc(mr, &d);
    rt_rdesc_pack(&d, wire);
    printf("port %u\n", rt_listener_port(l));
    fflush(stdout);
    while (!closed && now_ns() < end) {
        if (rt_poll(ctx, &c, 1, 100) != 1)
            continue;
        if (c.type == RT_EV_ACCEPT)
            rt_send(c.conn, wire, sizeof(wire));
        else if (c.type == RT_EV_RECV)
            rt_send(c.conn, c.data, c.len);
        else if (c.type == RT_EV_CLOSED)
            closed = 1;
    }
    rt_ctx_destroy(ctx);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *ns, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)ns[i];
    qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
    printf("%-22s p50 %8.2f us  p99 %8.2f us  mean %8.2f us  (%d iterations)\n", what,
           (double)ns[n / 2] / 1e3, (double)ns[(size_t)n * 99 / 100] / 1e3, sum / n / 1e3, n);
}

static int wait_recv(rt_ctx *ctx, struct rt_completion *c)
{
    for (int tries = 0; tries < 100; tries++) {
        int n = rt_poll(ctx, c, 1, 100);
        if (n == 1 && c->type == RT_EV_RECV)
            return 0;
        if (n == 1 && c->type == RT_EV_CLOSED)
            return -1;
    }
    return -1;
}

static int bench_cas(rt_conn *conn, const struct rt_rdesc *d, int iters, uint64_t *ns)
{
    uint64_t old, cur = 0;
    for (int i = -iters / 10; i < iters; i++) {
        uint64_t t0 = now_ns();
        int st = rt_cas_sync(conn, d, 0, cur, cur + 1, &old, 5000);
        if (st != RT_OK) {
            fprintf(stderr, "rdlm-pingpong: CAS: %d %s\n", st, rt_conn_error(conn));
            return -1;
        }
        if (i >= 0)
            ns[i] = now_ns() - t0;
        cur = old == cur ? cur + 1 : old;
    }
    return 0;
}

static int bench_send(rt_ctx *ctx, rt_conn *conn, uint32_t size, int iters, uint64_t *ns)
{
    uint8_t buf[4096] = {0};
    struct rt_completion c;
    for (int i = -iters / 10; i < iters; i++) {
        uint64_t t0 = now_ns();
        if (rt_send(conn, buf, size) || wait_recv(ctx, &c) || c.len != size) {
            fprintf(stderr, "rdlm-pingpong: ping-pong failed: %s\n", rt_conn_error(conn));
            return -1;
        }
        if (i >= 0)
            ns[i] = now_ns() - t0;
    }
    return 0;
}

static int client(const struct opts *o)
{
    rt_ctx *ctx = make_ctx(o);
    uint64_t *ns = calloc((size_t)o->iters, sizeof(*ns));
    struct rt_completion c;
    struct rt_rdesc d;
    rt_conn *conn;
    int ret;

    ret = rt_connect_sync(ctx, o->host, o->port, "pingpong", 8, 10000, &conn);
    if (ret || !ns || wait_recv(ctx, &c) || c.len != RT_RDESC_WIRE) {
        fprintf(stderr, "rdlm-pingpong: connect to %s:%u: %s\n", o->host, o->port,
                ret ? strerror(-ret) : "no descriptor");
        return 1;
    }
    rt_rdesc_unpack(c.data, &d);
    printf("transport: %s\n", rt_ctx_describe(ctx));
    ret = bench_cas(conn, &d, o->iters, ns);
    if (!ret)
        report("CAS round trip", ns, o->iters);
    if (!ret)
        ret = bench_send(ctx, conn, o->size, o->iters, ns);
    if (!ret) {
        char what[48];
        snprintf(what, sizeof(what), "SEND ping-pong %uB", o->size);
        report(what, ns, o->iters);
    }
    rt_close(conn);
    rt_ctx_destroy(ctx);
    free(ns);
    return ret ? 1 : 0;
}

/* Spawn `rdlm-pingpong server` (a fresh process) and read its port. */
static pid_t spawn_server(const struct opts *o, uint16_t *port)
{
    int pfd[2];
    char be[32], line[64];
    FILE *f;
    pid_t pid;

    if (pipe(pfd))
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        snprintf(be, sizeof(be), "--backend=%s", rt_backend_name(o->backend));
        execl(self_path, "rdlm-pingpong", "server", be, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    f = fdopen(pfd[0], "r");
    if (pid < 0 || !f || !fgets(line, sizeof(line), f) || sscanf(line, "port %hu", port) != 1) {
        if (pid > 0)
            kill(pid, SIGKILL);
        return -1;
    }
    fclose(f);
    return pid;
}

static void parse(int argc, char **argv, struct opts *o)
{
    o->mode = "loopback";
    o->host = "127.0.0.1";
    o->backend = RT_BACKEND_DEFAULT;
    o->iters = 10000;
    o->size = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "server") || !strcmp(a, "client"))
            o->mode = a;
        else if (!strncmp(a, "--backend=", 10))
            o->backend = !strcmp(a + 10, "rdma")  ? RT_BACKEND_RDMA
                         : !strcmp(a + 10, "tcp") ? RT_BACKEND_TCP
                                                  : RT_BACKEND_AUTO;
        else if (!strncmp(a, "--host=", 7))
            o->host = a + 7;
        else if (!strncmp(a, "--port=", 7))
            o->port = (uint16_t)atoi(a + 7);
        else if (!strncmp(a, "--iters=", 8))
            o->iters = atoi(a + 8) > 0 ? atoi(a + 8) : 1;
        else if (!strncmp(a, "--size=", 7))
            o->size = (uint32_t)atoi(a + 7) <= 4096 ? (uint32_t)atoi(a + 7) : 4096;
        else {
            fprintf(stderr, "usage: rdlm-pingpong [server|client] [--backend=tcp|rdma|auto] "
                            "[--host=IP] [--port=P] [--iters=N] [--size=B]\n");
            exit(2);
        }
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    pid_t pid;
    int ret;

    signal(SIGPIPE, SIG_IGN);
    if (argv[0] && strchr(argv[0], '/'))
        self_path = argv[0];
    parse(argc, argv, &o);
    if (!strcmp(o.mode, "server"))
        return serve(&o);
    if (!strcmp(o.mode, "client"))
        return client(&o);
    pid = spawn_server(&o, &o.port);
    if (pid < 0) {
        fprintf(stderr, "rdlm-pingpong: could not start the server process\n");
        return 1;
    }
    ret = client(&o);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return ret;
}
