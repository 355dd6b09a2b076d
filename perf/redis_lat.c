/*
 * perf/redis_lat.c - the tool most users would otherwise reach for, measured the same way as
 * perf/service_lat: N uncontended acquire+release pairs of a Redis lock on loopback —
 * `SET key token NX PX 10000` to acquire, a compare-and-delete Lua script (EVALSHA) to release,
 * the usual single-instance Redis lock. Plain RESP over one TCP connection (TCP_NODELAY).
 * Usage: redis_lat PORT [-n ITERATIONS]   Prints p50/p99 and one JSON line.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *release_lua =
    "if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end";

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Send a command (argv) as a RESP array; read one reply line into buf. 0 or -1. */
static int command(int fd, int argc, const char *const *argv, char *buf, size_t len)
{
    char out[1024];
    size_t n = (size_t)snprintf(out, sizeof(out), "*%d\r\n", argc);
    ssize_t got;

    for (int i = 0; i < argc; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (write(fd, out, n) != (ssize_t)n)
        return -1;
    got = read(fd, buf, len - 1); /* replies here are one short line */
    if (got <= 0)
        return -1;
    buf[got] = 0;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 6379, iters = 5000, one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char reply[256], sha[64], key[32], token[32];
    uint64_t *t;
    int fd;

    if (argc > 3 && strcmp(argv[2], "-n") == 0)
        iters = atoi(argv[3]);
    t = calloc((size_t)iters, sizeof(*t));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (!t || iters < 10 || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "redis_lat: cannot reach redis on 127.0.0.1:%d\n", port);
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const char *load[] = {"SCRIPT", "LOAD", release_lua};
    if (command(fd, 3, load, reply, sizeof(reply)) < 0 || reply[0] != '$')
        return 1;
    sscanf(strchr(reply, '\n') + 1, "%63s", sha);
    for (int i = 0; i < iters + 200; i++) {
        snprintf(key, sizeof(key), "lat-%d", i % 16);
        snprintf(token, sizeof(token), "%d-%d", (int)getpid(), i);
        const char *acq[] = {"SET", key, token, "NX", "PX", "10000"};
        const char *rel[] = {"EVALSHA", sha, "1", key, token};
        uint64_t t0 = now_ns();
        if (command(fd, 6, acq, reply, sizeof(reply)) < 0 || strncmp(reply, "+OK", 3) != 0 ||
            command(fd, 5, rel, reply, sizeof(reply)) < 0 || strncmp(reply, ":1", 2) != 0) {
            fprintf(stderr, "redis_lat: unexpected reply %s", reply);
            return 1;
        }
        if (i >= 200) /* after a warm-up */
            t[i - 200] = now_ns() - t0;
    }
    qsort(t, (size_t)iters, sizeof(*t), cmp);
    double p50 = (double)t[iters / 2] / 1000.0, p99 = (double)t[(size_t)(iters * 0.99)] / 1000.0;
    printf("redis SET NX PX + compare-and-delete, %d pairs: p50 %.1f us  p99 %.1f us\n", iters, p50,
           p99);
    printf("{\"path\": \"redis\", \"p50_us\": %.1f, \"p99_us\": %.1f}\n", p50, p99);
    close(fd);
    free(t);
    return 0;
}
