/*
 * common/config.c - the cluster file parser (inih) and the local-node lookup.
 *
 * inih's handler does not get line numbers in Debian's build, so we feed inih through our own
 * reader: it counts physical lines, strips leading blanks (so indented keys are not taken for
 * inih's continuation lines), rejects over-long lines, and recognises section headers itself
 * (so empty and repeated sections are seen too).  The first error wins; every error names the
 * file and the line.
 */
#include "common/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

enum sec_kind { SEC_NONE, SEC_CLUSTER, SEC_NODE, SEC_BAD };

struct pnode {
    struct rdlm_node_config n;
    int line;      /* of the [node N] header */
    int port_line; /* of its port key (0 = none) */
    int shards_set;
};

struct parser {
    FILE *f;
    const char *path;
    int line;
    struct rdlm_cluster_config *cfg;
    struct pnode *nodes;
    size_t nnodes, cap;
    enum sec_kind kind;
    size_t cur;    /* index of the current node in nodes */
    uint32_t seen; /* keys seen in the current section (bit per key) */
    int cluster_line;
    char *err;
    size_t errlen;
    int err_line; /* 0 = no error yet */
};

struct ipaddr {
    int family;
    unsigned char bytes[16];
};

static void fail(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, int line, const char *fmt, ...)
{
    if (p->err_line)
        return;
    p->err_line = line > 0 ? line : 1;
    int n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->err_line);
    if (n < 0 || (size_t)n >= p->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int parse_ip(const char *s, struct ipaddr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->bytes) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, s, out->bytes) == 1)
        out->family = AF_INET6;
    else
        return -1;
    return 0;
}

static int same_ip(const struct ipaddr *a, const struct ipaddr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* Strict unsigned decimal in [min, max]. */
static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static void section_label(const struct parser *p, char *buf, size_t len)
{
    if (p->kind == SEC_NODE)
        snprintf(buf, len, "[node %u]", p->nodes[p->cur].n.id);
    else
        snprintf(buf, len, "[cluster]");
}

static void bad_number(struct parser *p, const char *key, const char *value, uint32_t min,
                       uint32_t max)
{
    char sec[32];
    section_label(p, sec, sizeof(sec));
    fail(p, p->line, "bad value '%s' for '%s' in %s (expected an integer %u..%u)", value, key, sec,
         min, max);
}

/* --- section headers (seen by the reader) --- */

static struct pnode *add_node(struct parser *p, uint32_t id)
{
    for (size_t i = 0; i < p->nnodes; i++) {
        if (p->nodes[i].n.id == id) {
            fail(p, p->line, "duplicate node id %u (first defined at line %d)", id,
                 p->nodes[i].line);
            return NULL;
        }
    }
    if (p->nnodes == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct pnode *n = realloc(p->nodes, cap * sizeof(*n));
        if (!n) {
            fail(p, p->line, "out of memory");
            return NULL;
        }
        p->nodes = n;
        p->cap = cap;
    }
    struct pnode *n = &p->nodes[p->nnodes++];
    memset(n, 0, sizeof(*n));
    n->n.id = id;
    n->line = p->line;
    return n;
}

static void open_node_section(struct parser *p, const char *idstr)
{
    uint32_t id;
    while (isspace((unsigned char)*idstr))
        idstr++;
    if (parse_u32(idstr, 1, RDLM_NODE_ID_MAX, &id) < 0) {
        fail(p, p->line, "bad node id '%s' in [node %s] (expected 1..%u)", idstr, idstr,
             RDLM_NODE_ID_MAX);
        return;
    }
    if (!add_node(p, id))
        return;
    p->kind = SEC_NODE;
    p->cur = p->nnodes - 1;
}

static void open_section(struct parser *p, const char *line)
{
    const char *end = strchr(line + 1, ']');
    p->kind = SEC_BAD;
    p->seen = 0;
    if (!end)
        return; /* inih reports the syntax error */
    char name[64];
    const char *s = line + 1;
    while (s < end && isspace((unsigned char)*s))
        s++;
    size_t len = (size_t)(end - s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= sizeof(name))
        len = sizeof(name) - 1;
    memcpy(name, s, len);
    name[len] = '\0';
    if (strcmp(name, "cluster") == 0) {
        if (p->cluster_line)
            fail(p, p->line, "duplicate [cluster] section (first at line %d)", p->cluster_line);
        else
            p->kind = SEC_CLUSTER;
        p->cluster_line = p->cluster_line ? p->cluster_line : p->line;
    } else if (strncmp(name, "node", 4) == 0 && isspace((unsigned char)name[4])) {
        open_node_section(p, name + 5);
    } else {
        fail(p, p->line, "unknown section [%s] (expected [cluster] or [node N])", name);
    }
}

/* inih's reader: one physical line per call (inih counts calls as lines). */
static char *reader(char *buf, int num, void *stream)
{
    struct parser *p = stream;
    if (!fgets(buf, num, p->f))
        return NULL;
    p->line++;
    size_t len = strlen(buf);
    if (len == (size_t)num - 1 && buf[len - 1] != '\n' && !feof(p->f)) {
        int c;
        while ((c = fgetc(p->f)) != EOF && c != '\n')
            ;
        fail(p, p->line, "line too long (at most %d characters)", num - 2);
        buf[0] = '\0';
        return buf;
    }
    size_t skip = 0;
    if (p->line == 1 && strncmp(buf, "\xEF\xBB\xBF", 3) == 0)
        skip = 3;
    while (buf[skip] && buf[skip] != '\n' && isspace((unsigned char)buf[skip]))
        skip++;
    memmove(buf, buf + skip, strlen(buf + skip) + 1);
    if (buf[0] == '[')
        open_section(p, buf);
    return buf;
}

/* --- keys --- */

static int mark_seen(struct parser *p, unsigned bit, const char *key)
{
    if (p->seen & (1u << bit)) {
        char sec[32];
        section_label(p, sec, sizeof(sec));
        fail(p, p->line, "duplicate key '%s' in %s", key, sec);
        return -1;
    }
    p->seen |= 1u << bit;
    return 0;
}

static void unknown_key(struct parser *p, const char *key)
{
    char sec[32];
    section_label(p, sec, sizeof(sec));
    fail(p, p->line, "unknown key '%s' in %s", key, sec);
}

static int copy_name(struct parser *p, const char *key, const char *value, char *dst, size_t len)
{
    size_t n = strlen(value);
    int ok = n > 0 && n < len;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)value[i]) || strchr("_.-", value[i]);
    if (!ok) {
        fail(p, p->line, "bad value '%s' for '%s' (1..%zu characters of A-Z a-z 0-9 _ . -)", value,
             key, len - 1);
        return -1;
    }
    memcpy(dst, value, n + 1);
    return 0;
}

struct num_key {
    const char *name;
    uint32_t min, max;
    size_t offset; /* into struct rdlm_cluster_config */
};

static const struct num_key cluster_nums[] = {
    {"shards", 1, RDLM_SHARDS_MAX, offsetof(struct rdlm_cluster_config, shards)},
    {"deadlock_wait_ms", 1, 3600000, offsetof(struct rdlm_cluster_config, deadlock_wait_ms)},
    {"heartbeat_ms", 1, 60000, offsetof(struct rdlm_cluster_config, heartbeat_ms)},
    {"toss_secs", 0, 86400, offsetof(struct rdlm_cluster_config, toss_secs)},
    {"node_timeout_ms", 2, 600000, offsetof(struct rdlm_cluster_config, node_timeout_ms)},
};

static void cluster_key(struct parser *p, const char *key, const char *value)
{
    if (strcmp(key, "name") == 0) {
        if (mark_seen(p, 0, key) == 0)
            copy_name(p, key, value, p->cfg->name, sizeof(p->cfg->name));
        return;
    }
    if (strcmp(key, "transport") == 0) {
        if (mark_seen(p, 1, key) < 0)
            return;
        if (strcmp(value, "tcp") && strcmp(value, "rdma") && strcmp(value, "auto"))
            fail(p, p->line, "bad transport '%s' (expected tcp, rdma or auto)", value);
        else
            snprintf(p->cfg->transport, sizeof(p->cfg->transport), "%s", value);
        return;
    }
    if (strcmp(key, "fence_command") == 0) {
        if (mark_seen(p, 7, key) < 0)
            return;
        if (!*value || strlen(value) >= sizeof(p->cfg->fence_command))
            fail(p, p->line, "bad fence_command (1..%zu characters)",
                 sizeof(p->cfg->fence_command) - 1);
        else
            snprintf(p->cfg->fence_command, sizeof(p->cfg->fence_command), "%s", value);
        return;
    }
    for (unsigned i = 0; i < sizeof(cluster_nums) / sizeof(cluster_nums[0]); i++) {
        const struct num_key *k = &cluster_nums[i];
        if (strcmp(key, k->name) != 0)
            continue;
        if (mark_seen(p, 2 + i, key) < 0)
            return;
        uint32_t *dst = (uint32_t *)((char *)p->cfg + k->offset);
        if (parse_u32(value, k->min, k->max, dst) < 0)
            bad_number(p, key, value, k->min, k->max);
        return;
    }
    unknown_key(p, key);
}

static void node_number(struct parser *p, struct pnode *n, const char *key, const char *value)
{
    int is_port = strcmp(key, "port") == 0;
    uint32_t v, max = is_port ? 65535 : RDLM_SHARDS_MAX;
    if (parse_u32(value, 1, max, &v) < 0) {
        bad_number(p, key, value, 1, max);
    } else if (is_port) {
        n->n.port = (uint16_t)v;
        n->port_line = p->line;
    } else {
        n->n.shards = v;
        n->shards_set = 1;
    }
}

static void node_address(struct parser *p, struct pnode *n, const char *value)
{
    struct ipaddr ip;
    if (parse_ip(value, &ip) < 0 || strlen(value) >= sizeof(n->n.address))
        fail(p, p->line, "bad address '%s' in [node %u] (expected a numeric IPv4 or IPv6 address)",
             value, n->n.id);
    else
        memcpy(n->n.address, value, strlen(value) + 1);
}

static void node_key(struct parser *p, const char *key, const char *value)
{
    static const char *const keys[] = {"address", "port", "shards", "device"};
    struct pnode *n = &p->nodes[p->cur];
    unsigned i = 0;
    while (i < 4 && strcmp(key, keys[i]) != 0)
        i++;
    if (i == 4)
        unknown_key(p, key);
    else if (mark_seen(p, i, key) < 0)
        return;
    else if (i == 0)
        node_address(p, n, value);
    else if (i == 3)
        copy_name(p, key, value, n->n.device, sizeof(n->n.device));
    else
        node_number(p, n, key, value);
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    struct parser *p = user;
    (void)section; /* the reader tracks sections itself */
    switch (p->kind) {
    case SEC_NONE:
        fail(p, p->line, "key '%s' outside any section", key);
        break;
    case SEC_CLUSTER:
        cluster_key(p, key, value);
        break;
    case SEC_NODE:
        node_key(p, key, value);
        break;
    case SEC_BAD:
        break;
    }
    return 1; /* our errors are recorded in p; inih reports only syntax errors */
}

/* --- whole-file checks --- */

static void check_overlap(struct parser *p, size_t j)
{
    const struct rdlm_node_config *b = &p->nodes[j].n;
    struct ipaddr ib, ia;
    parse_ip(b->address, &ib);
    for (size_t i = 0; i < j; i++) {
        const struct rdlm_node_config *a = &p->nodes[i].n;
        parse_ip(a->address, &ia);
        unsigned a_end = a->port + a->shards - 1u, b_end = b->port + b->shards - 1u;
        if (!same_ip(&ia, &ib) || b->port > a_end || a->port > b_end)
            continue;
        fail(p, p->nodes[j].port_line,
             "ports %u..%u of [node %u] overlap ports %u..%u of [node %u] on %s", b->port, b_end,
             b->id, a->port, a_end, a->id, b->address);
        return;
    }
}

static int check_node(struct parser *p, struct pnode *n)
{
    if (!n->n.address[0]) {
        fail(p, n->line, "[node %u] has no address", n->n.id);
        return -1;
    }
    if (!n->port_line) {
        fail(p, n->line, "[node %u] has no port", n->n.id);
        return -1;
    }
    if (!n->shards_set)
        n->n.shards = p->cfg->shards;
    unsigned last = n->n.port + n->n.shards - 1u;
    if (last > 65535u) {
        fail(p, n->port_line, "ports %u..%u of [node %u] (%u shards) exceed 65535", n->n.port, last,
             n->n.id, n->n.shards);
        return -1;
    }
    return 0;
}

static void check_nodes(struct parser *p)
{
    if (p->nnodes == 0)
        fail(p, p->line, "no [node N] section: a cluster needs at least one node");
    for (size_t i = 0; i < p->nnodes && !p->err_line; i++)
        if (check_node(p, &p->nodes[i]) == 0)
            check_overlap(p, i);
}

static int cmp_node(const void *a, const void *b)
{
    const struct rdlm_node_config *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int publish_nodes(struct parser *p)
{
    struct rdlm_cluster_config *cfg = p->cfg;
    cfg->nodes = calloc(p->nnodes, sizeof(*cfg->nodes));
    if (!cfg->nodes) {
        fail(p, p->line, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->nnodes; i++)
        cfg->nodes[i] = p->nodes[i].n;
    cfg->nnodes = p->nnodes;
    qsort(cfg->nodes, cfg->nnodes, sizeof(*cfg->nodes), cmp_node);
    return 0;
}

static void set_defaults(struct rdlm_cluster_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->name, sizeof(cfg->name), "rdlm");
    snprintf(cfg->transport, sizeof(cfg->transport), "auto");
    cfg->shards = 1;
    cfg->deadlock_wait_ms = 1000;
    cfg->heartbeat_ms = 200;
    cfg->toss_secs = 10;
    cfg->node_timeout_ms = 2000;
}

static void run_parser(struct parser *p)
{
    int rc = ini_parse_stream(reader, p, handler, p);
    if (rc > 0 && (!p->err_line || rc < p->err_line)) {
        p->err_line = 0;
        fail(p, rc, "syntax error (expected '[section]', 'key = value' or a comment)");
    } else if (rc < 0) {
        fail(p, p->line, "cannot parse (out of memory)");
    }
    if (!p->err_line)
        check_nodes(p);
}

/* What makes two cluster files the same cluster: its name and its nodes. */
static uint64_t fingerprint(const struct rdlm_cluster_config *cfg)
{
    XXH64_state_t *st = XXH64_createState();
    uint64_t h;

    if (!st)
        return 0;
    XXH64_reset(st, 0x72646c6d);
    XXH64_update(st, cfg->name, strlen(cfg->name) + 1);
    for (size_t i = 0; i < cfg->nnodes; i++) {
        const struct rdlm_node_config *n = &cfg->nodes[i];
        uint32_t v[3] = {n->id, n->port, n->shards};
        XXH64_update(st, v, sizeof(v));
        XXH64_update(st, n->address, strlen(n->address) + 1);
    }
    h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}

int rdlm_config_load(const char *path, struct rdlm_cluster_config *out, char *err, size_t errlen)
{
    set_defaults(out);
    struct parser p = {.path = path, .cfg = out, .kind = SEC_NONE, .err = err, .errlen = errlen};
    if (errlen)
        err[0] = '\0';
    p.f = fopen(path, "r");
    if (!p.f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    run_parser(&p);
    fclose(p.f);
    if (!p.err_line)
        publish_nodes(&p);
    free(p.nodes);
    if (p.err_line) {
        rdlm_config_free(out);
        return -1;
    }
    out->fingerprint = fingerprint(out);
    return 0;
}

void rdlm_config_free(struct rdlm_cluster_config *cfg)
{
    free(cfg->nodes);
    cfg->nodes = NULL;
    cfg->nnodes = 0;
}

const struct rdlm_node_config *rdlm_config_node(const struct rdlm_cluster_config *cfg, uint32_t id)
{
    for (size_t i = 0; i < cfg->nnodes; i++)
        if (cfg->nodes[i].id == id)
            return &cfg->nodes[i];
    return NULL;
}

static int ifaddr_ip(const struct ifaddrs *ifa, struct ipaddr *out)
{
    memset(out, 0, sizeof(*out));
    if (!ifa->ifa_addr)
        return -1;
    out->family = ifa->ifa_addr->sa_family;
    if (out->family == AF_INET)
        memcpy(out->bytes, &((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr, 4);
    else if (out->family == AF_INET6)
        memcpy(out->bytes, &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr, 16);
    else
        return -1;
    return 0;
}

static int is_local(const struct ifaddrs *list, const char *address)
{
    struct ipaddr want, have;
    if (parse_ip(address, &want) < 0)
        return 0;
    for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next)
        if (ifaddr_ip(ifa, &have) == 0 && same_ip(&want, &have))
            return 1;
    return 0;
}

int rdlm_config_local_node(const struct rdlm_cluster_config *cfg)
{
    const char *env = getenv("RDLM_NODE");
    uint32_t id;
    if (env && *env) {
        if (parse_u32(env, 1, RDLM_NODE_ID_MAX, &id) == 0 && rdlm_config_node(cfg, id))
            return (int)id;
        errno = EINVAL;
        return -1;
    }
    struct ifaddrs *list;
    if (getifaddrs(&list) < 0)
        return -1;
    int found = -1;
    for (size_t i = 0; i < cfg->nnodes && found < 0; i++)
        if (is_local(list, cfg->nodes[i].address))
            found = (int)cfg->nodes[i].id;
    freeifaddrs(list);
    if (found < 0)
        errno = ENOENT;
    return found;
}

const char *rdlm_config_path(void)
{
    const char *env = getenv("RDLM_CONFIG");
    return env && *env ? env : RDLM_CONFIG_DEFAULT;
}
