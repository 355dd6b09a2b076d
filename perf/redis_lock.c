/*
 * perf/redis_lock.c - a single-instance Redis lock as a benchmark client (see redis_lock.h):
 * RESP requests written in one write(), one-line replies read back, TCP_NODELAY.
 */
#include "perf/redis_lock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char release_lua[] =
    "if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end";

struct redis_lock {
    int fd;
    unsigned long seq;
    char sha[48];
};

/* Send argv as a RESP array; read one reply (short: one line, or a bulk string) into buf. */
static int command(struct redis_lock *r, int argc, const char *const *argv, char *buf, size_t len)
{
    char out[1024];
    size_t n = (size_t)snprintf(out, sizeof(out), "*%d\r\n", argc);
    ssize_t got;

    for (int i = 0; i < argc && n < sizeof(out); i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (n >= sizeof(out) || write(r->fd, out, n) != (ssize_t)n)
        return -1;
    got = read(r->fd, buf, len - 1); /* every reply used here fits one segment */
    if (got <= 0)
        return -1;
    buf[got] = 0;
    return 0;
}

struct redis_lock *redis_lock_connect(int port, char *err, unsigned errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct redis_lock *r = calloc(1, sizeof(*r));
    const char *load[] = {"SCRIPT", "LOAD", release_lua};
    char reply[256];
    int one = 1;

    if (!r)
        return NULL;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "cannot reach redis on 127.0.0.1:%d", port);
        goto fail;
    }
    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (command(r, 3, load, reply, sizeof(reply)) < 0 || reply[0] != '$' || !strchr(reply, '\n') ||
        sscanf(strchr(reply, '\n') + 1, "%47s", r->sha) != 1) {
        snprintf(err, errlen, "redis SCRIPT LOAD failed");
        goto fail;
    }
    return r;
fail:
    if (r->fd >= 0)
        close(r->fd);
    free(r);
    return NULL;
}

int redis_lock_pair(struct redis_lock *r, const char *key, char *err, unsigned errlen)
{
    char token[48], reply[256] = "";

    snprintf(token, sizeof(token), "%d-%lu", (int)getpid(), ++r->seq);
    const char *acq[] = {"SET", key, token, "NX", "PX", "10000"};
    const char *rel[] = {"EVALSHA", r->sha, "1", key, token};
    if (command(r, 6, acq, reply, sizeof(reply)) < 0 || strncmp(reply, "+OK", 3) != 0 ||
        command(r, 5, rel, reply, sizeof(reply)) < 0 || strncmp(reply, ":1", 2) != 0) {
        snprintf(err, errlen, "redis: unexpected reply %.60s", reply);
        return -1;
    }
    return 0;
}

void redis_lock_close(struct redis_lock *r)
{
    if (r) {
        close(r->fd);
        free(r);
    }
}
