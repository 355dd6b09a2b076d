/*
 * tests/cluster/rdomain_client.c - recovery domains end to end (tests/cluster/
 * test_rdomain.sh runs it against `rdlmctl up 3 --shards 2`; docs/protocol.md section 7).
 *
 * Usage: rdomain_client CLUSTER_DIR             the scenarios, in order (RDLM_CONFIG set)
 *        rdomain_client hold NODE DOM RES...    (internal) a holder: attach DOM, PW
 *                                               persistent locks with an LVB written on each
 *                                               RES ("=RES": NL, the LVB stays valid), say
 *                                               "ready", then sleep until killed
 *        rdomain_client attach NODE DOM          (internal) attach DOM, "ready", sleep
 *        rdomain_client collect NODE DOM         (internal) attach, collect, "ready N", sleep
 * The main process runs on node 1 (its own handle); helpers are fork+exec'd with RDLM_NODE
 * set, read over a pipe, and killed with SIGKILL. Resource and domain names are chosen by
 * placement so that nothing the later scenarios need is mastered on node 3, which the
 * node-failure scenario kills. Prints "PASS name" / "FAIL name: why" and a summary; every
 * wait is bounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/placement.h"
#include "common/proto.h"
#include "common/rdname.h"
#include "rdlm.h"
#include "tests/lib/raw_conn.h"
#include "verbs/transport.h"

#define LS_NAME "rdtest"

static struct rdlm_cluster_config cfg;
static char run_id[16];
static char why[512];
static int npass, nfail;
static const char *cdir;
static rdlm_ls *ls;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
    va_list ap;
    if (why[0])
        return -1;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return -1;
}

static void verdict(const char *name, int rc)
{
    if (rc == 0 && !why[0]) {
        printf("PASS %s\n", name);
        npass++;
    } else {
        printf("FAIL %s: %s\n", name, why[0] ? why : "failed");
        nfail++;
    }
    why[0] = 0;
}

#define EXPECT(name, got, want)                                                                    \
    do {                                                                                           \
        int g_ = (got), w_ = (want);                                                               \
        if (g_ != w_)                                                                              \
            failf("%s: got %s, want %s", name, rdlm_status_str(g_), rdlm_status_str(w_));         \
        verdict(name, g_ == w_ ? 0 : -1);                                                          \
    } while (0)

/* ---- names placed where we want them ---- */

static size_t members(struct rdlm_member *m, uint64_t mask)
{
    size_t n = cfg.nnodes < 64 ? cfg.nnodes : 64;
    for (size_t i = 0; i < n; i++)
        m[i] = (struct rdlm_member){cfg.nodes[i].id, (mask >> i & 1) ? cfg.nodes[i].shards : 0};
    return n;
}

/* A resource name "<label>-<run>-<k>" mastered on node_id (full view), or, with avoid, not on
 * node_id. */
static void res_name(const char *label, uint32_t node_id, bool avoid, char *out, size_t len)
{
    struct rdlm_member m[64];
    size_t n = members(m, ~0ull);
    for (unsigned k = 0;; k++) {
        snprintf(out, len, "%s-%s-%u", label, run_id, k);
        struct rdlm_placement_target t =
            rdlm_place(m, n, rdlm_ls_seed(LS_NAME), 0, out, strlen(out));
        if ((t.node == node_id) != avoid)
            return;
    }
}

/* A domain name whose domain master is on node_id. */
static void dom_name(const char *label, uint32_t node_id, char *out, size_t len)
{
    struct rdlm_member m[64];
    size_t n = members(m, ~0ull);
    for (unsigned k = 0;; k++) {
        snprintf(out, len, "%s%s%u", label, run_id, k);
        if (rdlm_rd_master(m, n, out, strlen(out)).node == node_id)
            return;
    }
}

/* ---- locks ---- */

static uint8_t lvb[RDLM_LVB_LEN];

/* A synchronous persistent lock in rd with VALBLK: its status; lksb filled. */
static int plock(rdlm_ls *h, const char *name, int mode, uint32_t rd, struct rdlm_lksb *sb)
{
    struct rdlm_lock_ext ext = {.rd_id = rd};
    memset(sb, 0, sizeof(*sb));
    sb->lvb = lvb;
    int st = rdlm_lock(h, mode, sb, RDLM_LKF_WAIT | RDLM_LKF_VALBLK | RDLM_LKF_PERSIST_RES, name,
                       (unsigned)strlen(name), NULL, NULL, NULL, &ext);
    return st == RDLM_OK ? sb->status : st;
}

static int pconv(rdlm_ls *h, int mode, struct rdlm_lksb *sb)
{
    int st = rdlm_lock(h, mode, sb, RDLM_LKF_WAIT | RDLM_LKF_VALBLK | RDLM_LKF_CONVERT, NULL, 0,
                       NULL, NULL, NULL, NULL);
    return st == RDLM_OK ? sb->status : st;
}

static int punlock(rdlm_ls *h, struct rdlm_lksb *sb)
{
    int st = rdlm_unlock(h, sb->lkid, RDLM_LKF_WAIT, sb, NULL);
    return st == RDLM_OK || st == RDLM_E_UNLOCKED ? RDLM_OK : st;
}

/* Lock name PR with VALBLK (persistent, rd) and unlock: 1 if the grant said VALNOTVALID, 0 if
 * not, -1 on error. *zero: the LVB read was all zero. */
static int probe(const char *name, uint32_t rd, bool *zero)
{
    struct rdlm_lksb sb;
    int st = plock(ls, name, RDLM_MODE_PR, rd, &sb), inval;
    if (st != RDLM_OK)
        return failf("probe %s: %s", name, rdlm_status_str(st));
    inval = (sb.sbflags & RDLM_SBF_VALNOTVALID) != 0;
    if (zero) {
        *zero = true;
        for (int i = 0; i < RDLM_LVB_LEN; i++)
            *zero &= lvb[i] == 0;
    }
    if (punlock(ls, &sb) != RDLM_OK)
        return failf("probe %s: unlock failed", name);
    return inval;
}

/* ---- helpers (child processes) ---- */

struct helper {
    pid_t pid;
    FILE *out;
    char line[256];
};

static int helper_start(struct helper *h, const char *self, char *const args[])
{
    int fd[2];
    if (pipe(fd) < 0)
        return failf("pipe: %s", strerror(errno));
    h->pid = fork();
    if (h->pid < 0)
        return failf("fork: %s", strerror(errno));
    if (h->pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execv(self, args);
        _exit(127);
    }
    close(fd[1]);
    h->out = fdopen(fd[0], "r");
    /* its first line, within 20 s */
    uint64_t end = now_ms() + 20000;
    h->line[0] = 0;
    while (now_ms() < end) {
        fd_set rs;
        struct timeval tv = {0, 100000};
        FD_ZERO(&rs);
        FD_SET(fileno(h->out), &rs);
        if (select(fileno(h->out) + 1, &rs, NULL, NULL, &tv) > 0) {
            if (!fgets(h->line, sizeof(h->line), h->out))
                h->line[0] = 0;
            break;
        }
    }
    if (strncmp(h->line, "ready", 5) != 0)
        return failf("helper %s %s: %s", args[1], args[3], h->line[0] ? h->line : "no answer");
    return 0;
}

static void helper_kill(struct helper *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
    }
    if (h->out)
        fclose(h->out);
    h->pid = 0;
    h->out = NULL;
}

static int child_main(int argc, char **argv)
{
    const char *what = argv[1], *dom = argv[3];
    rdlm_ls *h;
    uint32_t rd;
    int st;

    setenv("RDLM_NODE", argv[2], 1);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((st = rdlm_ls_open(LS_NAME, 0, &h)) != RDLM_OK) {
        printf("open: %s\n", rdlm_status_str(st));
        return 1;
    }
    if ((st = rdlm_rd_attach(h, dom, RDLM_RD_PROCESS, &rd)) != RDLM_OK) {
        printf("attach: %s\n", rdlm_status_str(st));
        return 1;
    }
    if (strcmp(what, "hold") == 0) {
        for (int i = 4; i < argc; i++) {
            bool keep_valid = argv[i][0] == '=';
            const char *name = argv[i] + keep_valid;
            struct rdlm_lksb *sb = calloc(1, sizeof(*sb));
            memset(lvb, 0xa0 + i, sizeof(lvb));
            if ((st = plock(h, name, RDLM_MODE_PW, rd, sb)) != RDLM_OK ||
                (memset(lvb, 0xa0 + i, sizeof(lvb)), st = pconv(h, RDLM_MODE_NL, sb)) != RDLM_OK ||
                (!keep_valid && (st = pconv(h, RDLM_MODE_PW, sb)) != RDLM_OK)) {
                printf("lock %s: %s\n", name, rdlm_status_str(st));
                return 1;
            }
        }
        printf("ready\n");
    } else if (strcmp(what, "collect") == 0) {
        struct rdlm_rd_collection *c;
        if ((st = rdlm_rd_collect(h, rd, &c)) != RDLM_OK) {
            printf("collect: %s\n", rdlm_status_str(st));
            return 1;
        }
        printf("ready %u\n", c->count);
    } else {
        printf("ready\n");
    }
    for (;;)
        pause();
}

/* ---- scenarios ---- */

static const char *self;

static bool coll_has(const struct rdlm_rd_collection *c, const char *name)
{
    for (uint32_t i = 0; i < c->count; i++)
        if (c->items[i].ls_id == rdlm_ls_id(ls) && c->items[i].namelen == strlen(name) &&
            memcmp(c->items[i].name, name, c->items[i].namelen) == 0 && c->items[i].parent == 0)
            return true;
    return false;
}

/* A holder on node 2 of dom: PW persistent locks on r1 and r2 (k2 "=": r2 kept valid, held
 * NL), then SIGKILL. */
static int hold_and_kill(const char *dom, const char *r1, const char *k2, const char *r2)
{
    struct helper h = {0};
    char a2[90];
    char *args[] = {(char *)self, "hold", "2", (char *)dom, (char *)r1, NULL, NULL};
    if (r2) {
        snprintf(a2, sizeof(a2), "%s%s", k2 ? k2 : "", r2);
        args[5] = a2;
    }
    int rc = helper_start(&h, self, args);
    helper_kill(&h);
    return rc;
}

/* Collect until it is no longer ALREADY (the collector's death reaches the domain master
 * asynchronously), within 10 s. */
static int collect_retry(uint32_t rd, struct rdlm_rd_collection **c)
{
    uint64_t end = now_ms() + 10000;
    int st;
    while ((st = rdlm_rd_collect(ls, rd, c)) == RDLM_E_ALREADY && now_ms() < end)
        sleep_ms(50);
    return st;
}

static int read_pid(uint32_t node)
{
    char path[512];
    int pid = 0;
    snprintf(path, sizeof(path), "%s/node-%u.pid", cdir, node);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* ---- hostile MSG_RD ---- */

static int rd_raw_open(struct raw_conn *r, uint32_t node, uint32_t shard)
{
    struct proto_hello hello = {ROLE_CLIENT, 1, (uint32_t)getpid(), 77};

    return raw_open(r, &cfg, node, shard, &hello) < 0 ? failf("hostile: cannot connect") : 0;
}

/* Send (optionally with one byte patched), and return the REPLY's status, -2 if the
 * connection was closed, -1 on no answer in 5 s. */
static int raw_ask(struct raw_conn *r, struct proto_msg *m, int patch_at, uint8_t patch)
{
    struct proto_msg *in = calloc(1, sizeof(*in));
    enum raw_recv_result res;
    int st;

    m->hdr.type = MSG_RD;
    m->hdr.reqid = 4242;
    if (!in)
        return failf("hostile: out of memory");
    if (raw_send(r, m, patch_at, patch) < 0) {
        free(in);
        return -2;
    }
    res = raw_recv(r, MSG_REPLY, 5000, in);
    st = res == RAW_GOT ? in->u.reply.status : res == RAW_CLOSED ? -2 : -1;
    free(in);
    return st;
}

static int s_hostile(void)
{
    struct raw_conn r = {0};
    struct proto_msg *m = calloc(1, sizeof(*m));
    const char *dn = "hostile";
    int st, fails = 0;
    struct {
        const char *what;
        uint8_t op;
        uint32_t rd, flags;
        uint16_t namelen, n;
        uint64_t cursor;
        int want;
    } cases[] = {
        {"op 0", 0, 5, 0, 0, 0, 0, RDLM_E_INVAL},
        {"op 200", 200, 5, 0, 0, 0, 0, RDLM_E_INVAL},
        {"rd_id 0", RD_COLLECT, 0, 0, 0, 0, 0, RDLM_E_INVAL},
        {"attach bad flags", RD_ATTACH, 1, 0x3, 7, 0, 0, RDLM_E_INVAL},
        {"attach wrong id", RD_ATTACH, 1, RDLM_RD_PROCESS, 7, 0, 0, RDLM_E_INVAL},
        {"attach empty name", RD_ATTACH, 1, RDLM_RD_PROCESS, 0, 0, 0, RDLM_E_NAMELEN},
        {"collect unknown", RD_COLLECT, 12345, 0, 0, 0, 0, RDLM_E_NOTATTACHED},
        {"detach unknown", RD_DETACH, 12345, RDLM_RD_PROCESS, 0, 0, 0, RDLM_E_NOTATTACHED},
        {"validate_end unknown", RD_VALIDATE_END, 12345, 0, 0, 0, 0, RDLM_E_NOTATTACHED},
        {"abort unknown", RD_ABORT, 12345, 0, 0, 0, 0, RDLM_E_INVAL},
        {"scan cursor 7", RD_SCAN, 5, 0, 0, 0, 7, RDLM_E_INVAL},
        {"scan cursor without item", RD_SCAN, 5, 0, 0, 0, 1, RDLM_E_INVAL},
        {"validate no item", RD_VALIDATE, 5, 0, 0, 0, 0, RDLM_E_INVAL},
        {"validate unknown ls", RD_VALIDATE, 5, 0, 0, 1, 0, RDLM_OK},
        {"invalidate flags", RD_INVALIDATE, 5, 9, 0, 0, 0, RDLM_E_INVAL},
        {"collect with items", RD_COLLECT, 5, 0, 0, 2, 0, RDLM_E_INVAL},
        {"detach with a name", RD_DETACH, 5, RDLM_RD_PROCESS, 3, 0, 0, RDLM_E_INVAL},
    };
    if (!m || rd_raw_open(&r, 1, 0) < 0) {
        free(m);
        return -1;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(m, 0, sizeof(*m));
        m->u.rd.op = cases[i].op;
        m->u.rd.rd_id = cases[i].rd;
        m->u.rd.flags = cases[i].flags;
        m->u.rd.namelen = cases[i].namelen;
        memcpy(m->u.rd.name, dn, strlen(dn));
        m->u.rd.n = cases[i].n;
        m->u.rd.cursor = cases[i].cursor;
        for (unsigned k = 0; k < cases[i].n; k++) {
            m->u.rd.items[k].lsid = 99;
            m->u.rd.items[k].name.len = 1;
            m->u.rd.items[k].name.bytes[0] = 'x';
        }
        st = raw_ask(&r, m, -1, 0);
        if (st != cases[i].want) {
            failf("hostile %s: got %d, want %s", cases[i].what, st,
                  rdlm_status_str(cases[i].want));
            fails++;
        }
    }
    /* a malformed one (namelen beyond the limit on the wire): the connection is closed */
    memset(m, 0, sizeof(*m));
    m->u.rd.op = RD_ATTACH;
    m->u.rd.rd_id = 1;
    m->u.rd.namelen = 3;
    memcpy(m->u.rd.name, "abc", 3);
    /* header 24, op 1, flags 4, rd_id 4, group 8, cursor 8: namelen's low byte at 49 */
    st = raw_ask(&r, m, 49, 200);
    if (st != -2) {
        failf("hostile: a malformed RD was answered (%d), not closed", st);
        fails++;
    }
    raw_close(&r);
    free(m);
    /* the daemon still serves */
    uint32_t rd;
    char d[40];
    dom_name("hz", 1, d, sizeof(d));
    st = rdlm_rd_attach(ls, d, RDLM_RD_PROCESS, &rd);
    if (st != RDLM_OK || rdlm_rd_detach(ls, rd, 0) != RDLM_OK)
        return failf("hostile: the daemon no longer serves RD (%s)", rdlm_status_str(st));
    return fails ? -1 : 0;
}

int main(int argc, char **argv)
{
    char err[256];
    char dom[40], dom2[40], ra[80], rb[80], rv[80], ro[80], rn[80], rm[80], rm2[80], rn2[80],
        rw[80], rk[80];
    struct rdlm_lksb ksb;
    uint32_t rd, rd2, tmp;
    struct rdlm_rd_collection *c = NULL, *c2 = NULL;
    bool zero;
    int st;

    self = argv[0];
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 4 && (strcmp(argv[1], "hold") == 0 || strcmp(argv[1], "attach") == 0 ||
                      strcmp(argv[1], "collect") == 0))
        return child_main(argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: rdomain_client CLUSTER_DIR\n");
        return 2;
    }
    cdir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(run_id, sizeof(run_id), "%x", (unsigned)(getpid() ^ (unsigned)time(NULL)) & 0xffffff);
    if (rdlm_config_load(rdlm_config_path(), &cfg, err, sizeof(err)) < 0 || cfg.nnodes != 3) {
        fprintf(stderr, "rdomain_client: needs a cluster of 3 nodes: %s\n", err);
        return 2;
    }
    setenv("RDLM_NODE", "1", 1);
    if ((st = rdlm_ls_open(LS_NAME, 0, &ls)) != RDLM_OK) {
        fprintf(stderr, "rdomain_client: open: %s\n", rdlm_status_str(st));
        return 2;
    }
    uint32_t n3 = cfg.nodes[2].id;
    dom_name("dom", cfg.nodes[0].id, dom, sizeof(dom));
    dom_name("other", cfg.nodes[1].id, dom2, sizeof(dom2));
    res_name("a", n3, true, ra, sizeof(ra));
    res_name("b", n3, true, rb, sizeof(rb));
    res_name("v", n3, true, rv, sizeof(rv));
    res_name("o", n3, true, ro, sizeof(ro));
    res_name("n", n3, true, rn, sizeof(rn));
    res_name("n2", n3, true, rn2, sizeof(rn2));
    res_name("m", n3, false, rm, sizeof(rm));   /* mastered on node 3 until it is lost */
    res_name("m2", n3, false, rm2, sizeof(rm2));
    res_name("w", n3, false, rw, sizeof(rw));
    res_name("k", n3, false, rk, sizeof(rk)); /* a persistent lock on it survives node 3 */

    /* ---- argument checks ---- */
    EXPECT("attach: empty name is NAMELEN", rdlm_rd_attach(ls, "", RDLM_RD_PROCESS, &tmp),
           RDLM_E_NAMELEN);
    EXPECT("attach: 33-byte name is NAMELEN",
           rdlm_rd_attach(ls, "abcdefghijabcdefghijabcdefghijabc", RDLM_RD_PROCESS, &tmp),
           RDLM_E_NAMELEN);
    EXPECT("attach: no flag is INVAL", rdlm_rd_attach(ls, dom, 0, &tmp), RDLM_E_INVAL);
    EXPECT("attach: both flags is INVAL",
           rdlm_rd_attach(ls, dom, RDLM_RD_PROCESS | RDLM_RD_GROUP, &tmp), RDLM_E_INVAL);
    EXPECT("attach: GROUP without a container is NOTATTACHED",
           rdlm_rd_attach(ls, dom, RDLM_RD_GROUP, &tmp), RDLM_E_NOTATTACHED);
    EXPECT("collect: not attached is NOTATTACHED",
           rdlm_rd_collect(ls, rdlm_rd_hash(dom, strlen(dom)), &c), RDLM_E_NOTATTACHED);
    EXPECT("detach: not attached is NOTATTACHED",
           rdlm_rd_detach(ls, rdlm_rd_hash(dom, strlen(dom)), 0), RDLM_E_NOTATTACHED);

    /* ---- holders die: invalid LVBs, collected ---- */
    verdict("holders of PW persistent locks killed with SIGKILL",
            hold_and_kill(dom, ra, "=", rv) || hold_and_kill(dom2, ro, NULL, NULL));
    EXPECT("attach PROCESS", rdlm_rd_attach(ls, dom, RDLM_RD_PROCESS, &rd), RDLM_OK);
    verdict("rd_id is the name's hash", rd == rdlm_rd_hash(dom, strlen(dom)) ? 0 : failf("%x", rd));
    EXPECT("attach twice is ATTACHED", rdlm_rd_attach(ls, dom, RDLM_RD_PROCESS, &tmp),
           RDLM_E_ATTACHED);
    EXPECT("attach another domain", rdlm_rd_attach(ls, dom2, RDLM_RD_PROCESS, &rd2), RDLM_OK);
    st = probe(ra, rd, NULL);
    verdict("a VALBLK grant on the dead PW holder's resource reports VALNOTVALID",
            st == 1 ? 0 : failf("probe %d", st));
    st = probe(rv, rd, NULL);
    verdict("a resource the dead holder wrote and held NL stays valid",
            st == 0 ? 0 : failf("probe %d", st));
    {
        struct helper h = {0};
        char *args[] = {(char *)self, "collect", "2", dom, NULL};
        int rc = helper_start(&h, self, args);
        verdict("another process collects the one invalid resource",
                rc ? rc : strcmp(h.line, "ready 1\n") == 0 ? 0 : failf("%s", h.line));
        EXPECT("collect while another process's collection is outstanding is ALREADY",
               rdlm_rd_collect(ls, rd, &c), RDLM_E_ALREADY);
        helper_kill(&h);
    }
    EXPECT("the collector killed: collectable again", collect_retry(rd, &c), RDLM_OK);
    verdict("collect finds exactly the invalid resource of the domain",
            c && c->count == 1 && coll_has(c, ra) ? 0 : failf("count %u", c ? c->count : 0));
    EXPECT("a second collect is ALREADY", rdlm_rd_collect(ls, rd, &c2), RDLM_E_ALREADY);
    EXPECT("detach with an outstanding collection is ALREADY", rdlm_rd_detach(ls, rd, 0),
           RDLM_E_ALREADY);
    verdict("another holder dies after the collect", hold_and_kill(dom, rb, NULL, NULL));
    st = probe(rb, rd, NULL); /* waits until its master has released the dead holder's PW */
    verdict("its value block reads as invalid once its master released it",
            st == 1 ? 0 : failf("%d", st));
    EXPECT("validate: MORE_TO_RECOVER (another became invalid since the collect)",
           c ? rdlm_rd_validate(ls, rd, c) : RDLM_E_INVAL, RDLM_E_MORE_TO_RECOVER);
    c = NULL;
    st = probe(ra, rd, &zero);
    verdict("the validated LVB is valid and zero", st == 0 && zero ? 0 : failf("%d %d", st, zero));
    st = rdlm_rd_collect(ls, rd, &c);
    verdict("collect again finds only the new one",
            st == RDLM_OK && c->count == 1 && coll_has(c, rb)
                ? 0
                : failf("%s count %u", rdlm_status_str(st), c ? c->count : 0));
    EXPECT("validate: OK", c ? rdlm_rd_validate(ls, rd, c) : RDLM_E_INVAL, RDLM_OK);
    c = NULL;
    st = probe(rb, rd, &zero);
    verdict("valid and zero after OK", st == 0 && zero ? 0 : failf("%d", st));
    st = probe(ro, rd2, NULL);
    verdict("the other domain's invalid resource is still invalid", st == 1 ? 0 : failf("%d", st));
    EXPECT("collect the other domain", rdlm_rd_collect(ls, rd2, &c2), RDLM_OK);
    EXPECT("validate with another domain's collection is INVAL",
           c2 ? rdlm_rd_validate(ls, rd, c2) : RDLM_OK, RDLM_E_INVAL);
    verdict("the other domain's collection has its resource",
            c2 && c2->count == 1 && coll_has(c2, ro) ? 0 : failf("count %u", c2 ? c2->count : 0));
    EXPECT("validate the other domain", c2 ? rdlm_rd_validate(ls, rd2, c2) : RDLM_E_INVAL, RDLM_OK);
    c2 = NULL;

    /* ---- a node with an attached process is lost ---- */
    EXPECT("collect (nothing invalid)", rdlm_rd_collect(ls, rd, &c), RDLM_OK);
    verdict("the collection is empty", c && c->count == 0 ? 0 : failf("%u", c ? c->count : 9));
    EXPECT("a persistent NL lock on a resource of node 3", plock(ls, rk, RDLM_MODE_NL, rd, &ksb),
           RDLM_OK);
    {
        struct helper h = {0};
        char *args[] = {(char *)self, "attach", "3", dom, NULL};
        int rc = helper_start(&h, self, args), pid = read_pid(n3);
        verdict("a process of node 3 attaches", rc);
        if (pid > 0)
            kill(pid, SIGKILL);
        helper_kill(&h);
        verdict("node 3's rdlmd killed", pid > 0 ? 0 : failf("no pid file"));
    }
    {
        /* a lock on a resource node 3 mastered completes once the view is recovered */
        struct rdlm_lksb sb = {0};
        uint64_t end = now_ms() + 60000;
        do {
            st = rdlm_lock(ls, RDLM_MODE_NL, &sb, RDLM_LKF_WAIT, rw, (unsigned)strlen(rw), NULL,
                           NULL, NULL, NULL);
            if (st == RDLM_OK)
                st = sb.status;
            if (st != RDLM_OK)
                sleep_ms(200);
        } while (st != RDLM_OK && now_ms() < end);
        verdict("the cluster recovered without node 3", st == RDLM_OK ? 0 : failf("%s", rdlm_status_str(st)));
        if (st == RDLM_OK)
            punlock(ls, &sb);
        sleep_ms(500); /* every shard has applied the view */
    }
    {
        /* rebuilt from the surviving lock: still persistent, in the same domain */
        struct rdlm_lksb sb = {0};
        st = rdlm_lock(ls, RDLM_MODE_NL, &sb, RDLM_LKF_WAIT, rk, (unsigned)strlen(rk), NULL, NULL,
                       NULL, NULL);
        EXPECT("the rebuilt resource is still persistent (IS_PR)", st == RDLM_OK ? sb.status : st,
               RDLM_E_IS_PR);
        punlock(ls, &ksb);
    }
    EXPECT("validate: MORE_TO_RECOVER (a node with an attached process was lost)",
           c ? rdlm_rd_validate(ls, rd, c) : RDLM_E_INVAL, RDLM_E_MORE_TO_RECOVER);
    c = NULL;
    st = probe(rm, rd, NULL);
    verdict("a persistent resource created where the lost node mastered starts invalid",
            st == 1 ? 0 : failf("probe %d", st));
    st = rdlm_rd_collect(ls, rd, &c);
    verdict("collect finds it, and the rebuilt persistent resource (its value block died with "
            "its master)",
            st == RDLM_OK && c->count == 2 && coll_has(c, rm) && coll_has(c, rk) ? 0
                                : failf("%s %u", rdlm_status_str(st), c ? c->count : 0));
    EXPECT("validate: OK", c ? rdlm_rd_validate(ls, rd, c) : RDLM_E_INVAL, RDLM_OK);
    c = NULL;
    st = probe(rm2, rd, NULL);
    verdict("after the domain's validate, such resources start valid",
            st == 0 ? 0 : failf("probe %d", st));

    /* ---- HASLOCKS, INVALIDATE ---- */
    {
        struct rdlm_lksb sb;
        st = plock(ls, ra, RDLM_MODE_NL, rd, &sb);
        EXPECT("detach while holding a persistent lock of the domain is HASLOCKS",
               st == RDLM_OK ? rdlm_rd_detach(ls, rd, RDLM_RD_INVALIDATE) : st, RDLM_E_HASLOCKS);
        punlock(ls, &sb);
    }
    EXPECT("detach with INVALIDATE", rdlm_rd_detach(ls, rd, RDLM_RD_INVALIDATE), RDLM_OK);
    EXPECT("detach again is NOTATTACHED", rdlm_rd_detach(ls, rd, 0), RDLM_E_NOTATTACHED);
    st = probe(ra, rd, NULL) + 2 * probe(rv, rd, NULL);
    verdict("INVALIDATE: every resource of the domain is invalid", st == 3 ? 0 : failf("%d", st));
    st = probe(rn, rd, NULL);
    verdict("INVALIDATE: one created afterwards starts invalid", st == 1 ? 0 : failf("%d", st));
    st = probe(ro, rd2, NULL);
    verdict("INVALIDATE: another domain is untouched", st == 0 ? 0 : failf("%d", st));
    EXPECT("attach again", rdlm_rd_attach(ls, dom, RDLM_RD_PROCESS, &rd), RDLM_OK);
    st = rdlm_rd_collect(ls, rd, &c);
    verdict("collect finds all of them",
            st == RDLM_OK && c->count == 7 && coll_has(c, ra) && coll_has(c, rb) &&
                    coll_has(c, rv) && coll_has(c, rn) && coll_has(c, rm) && coll_has(c, rm2) &&
                    coll_has(c, rk)
                ? 0
                : failf("%s %u", rdlm_status_str(st), c ? c->count : 0));
    EXPECT("validate: OK", c ? rdlm_rd_validate(ls, rd, c) : RDLM_E_INVAL, RDLM_OK);
    c = NULL;
    st = probe(rn2, rd, NULL) + 2 * probe(ra, rd, NULL);
    verdict("after validate, new and old resources are valid", st == 0 ? 0 : failf("%d", st));

    /* ---- group containers ---- */
    {
        uint64_t gid = 0;
        st = rdlm_glc_create(&ls, 1, 0, &gid);
        EXPECT("a group container", st, RDLM_OK);
        if (st == RDLM_OK) {
            EXPECT("attach GROUP", rdlm_rd_attach(ls, dom, RDLM_RD_GROUP, &tmp), RDLM_OK);
            EXPECT("collect through the group", rdlm_rd_collect(ls, rd, &c), RDLM_OK);
            if (c)
                EXPECT("validate", rdlm_rd_validate(ls, rd, c), RDLM_OK);
            c = NULL;
            EXPECT("glc detach while the group is attached to a domain is ATTACHED",
                   rdlm_glc_detach(ls), RDLM_E_ATTACHED);
            EXPECT("detach GROUP", rdlm_rd_detach(ls, rd, RDLM_RD_GROUP), RDLM_OK);
            EXPECT("glc detach", rdlm_glc_detach(ls), RDLM_OK);
        }
    }
    EXPECT("detach PROCESS", rdlm_rd_detach(ls, rd, RDLM_RD_PROCESS), RDLM_OK);

    /* ---- hostile messages ---- */
    verdict("hostile MSG_RD messages: an error REPLY, or the connection closed", s_hostile());

    rdlm_ls_close(ls);
    rdlm_config_free(&cfg);
    printf("rdomain_client: %d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
