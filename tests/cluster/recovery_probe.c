/*
 * tests/cluster/recovery_probe.c - the small client the recovery test (run_recovery_test.sh)
 * uses around a node kill:
 *
 *   pick PREFIX N NODE [LS]  print the names PREFIX0..PREFIX{N-1} whose master, with every node
 *                        up, is on NODE (the resources the kill will move)
 *   hold                 for each --pr NAME: EX with an LVB "v:NAME" written on the way down
 *                        to PR, kept; for each --nl NAME: the same down to NL. Writes
 *                        --ready, then holds until --stop exists (bounded by --max-ms).
 *   check                after the kill: --ex NAME is locked EX and the time from --since-ms
 *                        (CLOCK_REALTIME ms) to its grant printed ("recovered_ms N"); each
 *                        --valid NAME read at PR must give "v:NAME" without VALNOTVALID, each
 *                        --invalid NAME must give VALNOTVALID (Linux LVB recovery rules).
 *                        A handle whose home saw the old view retries (bounded) with a new one.
 * Exit 0 when every expectation held, 1 otherwise (the reason on stderr), 2 on usage errors.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/placement.h"
#include "rdlm.h"

#define MAX_NAMES 32

static const char *ls_name = "recovery";
static const char *ready_file, *stop_file;
static long long since_ms;
static long max_ms = 60000;
static const char *pr[MAX_NAMES], *nl[MAX_NAMES], *valid[MAX_NAMES], *invalid[MAX_NAMES];
static int npr, nnl, nvalid, ninvalid;
static const char *ex_name;

static long long real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pick(const char *prefix, int n, unsigned node)
{
    struct rdlm_cluster_config cfg;
    struct rdlm_member m[64];
    char err[256], name[64];
    size_t k;

    if (rdlm_config_load(rdlm_config_path(), &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "recovery_probe: %s\n", err);
        return 2;
    }
    for (k = 0; k < cfg.nnodes && k < 64; k++)
        m[k] = (struct rdlm_member){cfg.nodes[k].id, cfg.nodes[k].shards};
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        struct rdlm_placement_target t =
            rdlm_place(m, k, rdlm_ls_seed(ls_name), 0, name, strlen(name));
        if (t.node == node)
            printf("%s\n", name);
    }
    rdlm_config_free(&cfg);
    return 0;
}

static int lock_down(rdlm_ls *ls, const char *name, int to, struct rdlm_lksb *sb)
{
    int st = rdlm_lock(ls, RDLM_MODE_EX, sb, RDLM_LKF_WAIT | RDLM_LKF_VALBLK, name, strlen(name),
                       NULL, NULL, NULL, NULL);

    if (st != RDLM_OK)
        return st;
    memset(sb->lvb, 0, RDLM_LVB_LEN);
    snprintf((char *)sb->lvb, RDLM_LVB_LEN, "v:%s", name);
    return rdlm_lock(ls, to, sb, RDLM_LKF_WAIT | RDLM_LKF_VALBLK | RDLM_LKF_CONVERT, NULL, 0, NULL,
                     NULL, NULL, NULL);
}

static int hold(void)
{
    static uint8_t lvbs[2 * MAX_NAMES][RDLM_LVB_LEN];
    static struct rdlm_lksb sbs[2 * MAX_NAMES];
    rdlm_ls *ls;
    int st = rdlm_ls_open(ls_name, 0, &ls);
    long waited = 0;

    if (st != RDLM_OK) {
        fprintf(stderr, "recovery_probe hold: open: %s\n", rdlm_status_str(st));
        return 1;
    }
    for (int i = 0; i < npr + nnl; i++) {
        const char *name = i < npr ? pr[i] : nl[i - npr];
        sbs[i].lvb = lvbs[i];
        st = lock_down(ls, name, i < npr ? RDLM_MODE_PR : RDLM_MODE_NL, &sbs[i]);
        if (st != RDLM_OK) {
            fprintf(stderr, "recovery_probe hold: %s: %s\n", name, rdlm_status_str(st));
            return 1;
        }
    }
    if (ready_file)
        fclose(fopen(ready_file, "w"));
    while (stop_file && access(stop_file, F_OK) != 0 && waited < max_ms) {
        usleep(20000);
        waited += 20;
    }
    rdlm_ls_close(ls);
    return 0;
}

/* Lock name in mode (VALBLK), reopening the handle if it broke; the status, sbflags, lvb. */
static int lock_retry(rdlm_ls **ls, const char *name, int mode, struct rdlm_lksb *sb)
{
    long long deadline = real_ms() + max_ms;
    int st;

    for (;;) {
        st = rdlm_lock(*ls, mode, sb, RDLM_LKF_WAIT | RDLM_LKF_VALBLK, name, strlen(name), NULL,
                       NULL, NULL, NULL);
        if (st != RDLM_E_NOTCONN || real_ms() > deadline)
            return st;
        rdlm_ls_close(*ls);
        usleep(5000);
        while (rdlm_ls_open(ls_name, 0, ls) != RDLM_OK) {
            if (real_ms() > deadline)
                return RDLM_E_NOTCONN;
            usleep(5000);
        }
    }
}

static int check(void)
{
    uint8_t lvb[RDLM_LVB_LEN] = {0}, want[RDLM_LVB_LEN];
    struct rdlm_lksb sb = {.lvb = lvb};
    rdlm_ls *ls;
    int bad = 0, st;

    while ((st = rdlm_ls_open(ls_name, 0, &ls)) != RDLM_OK) {
        if (real_ms() - since_ms > max_ms) {
            fprintf(stderr, "recovery_probe check: open: %s\n", rdlm_status_str(st));
            return 1;
        }
        usleep(5000);
    }
    if (ex_name) {
        st = lock_retry(&ls, ex_name, RDLM_MODE_EX, &sb);
        if (st != RDLM_OK) {
            fprintf(stderr, "recovery_probe check: EX %s: %s\n", ex_name, rdlm_status_str(st));
            return 1;
        }
        printf("recovered_ms %lld\n", real_ms() - since_ms);
        fflush(stdout);
    }
    for (int i = 0; i < nvalid + ninvalid; i++) {
        const char *name = i < nvalid ? valid[i] : invalid[i - nvalid];
        bool expect_valid = i < nvalid;
        st = lock_retry(&ls, name, RDLM_MODE_PR, &sb);
        memset(want, 0, sizeof(want));
        snprintf((char *)want, sizeof(want), "v:%s", name);
        if (st != RDLM_OK) {
            fprintf(stderr, "recovery_probe check: PR %s: %s\n", name, rdlm_status_str(st));
            bad++;
        } else if (expect_valid &&
                   ((sb.sbflags & RDLM_SBF_VALNOTVALID) || memcmp(lvb, want, RDLM_LVB_LEN) != 0)) {
            fprintf(stderr, "recovery_probe check: %s: LVB \"%.*s\"%s, want \"%s\" valid\n", name,
                    RDLM_LVB_LEN, (char *)lvb,
                    (sb.sbflags & RDLM_SBF_VALNOTVALID) ? " VALNOTVALID" : "", (char *)want);
            bad++;
        } else if (!expect_valid && !(sb.sbflags & RDLM_SBF_VALNOTVALID)) {
            fprintf(stderr, "recovery_probe check: %s: LVB should read VALNOTVALID\n", name);
            bad++;
        }
    }
    rdlm_ls_close(ls);
    return bad ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: recovery_probe pick PREFIX N NODE [LS] | hold [--pr N].. [--nl N].. "
                    "--ready F --stop F | check --since-ms T [--ex N] [--valid N].. [--invalid "
                    "N].. [--ls LS] [--max-ms MS]\n");
    return 2;
}

static int add(const char **v, int *n, const char *name)
{
    if (*n >= MAX_NAMES)
        return -1;
    v[(*n)++] = name;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "pick") == 0) {
        if (argc == 6)
            ls_name = argv[5];
        return argc == 5 || argc == 6 ? pick(argv[2], atoi(argv[3]), (unsigned)atoi(argv[4]))
                                      : usage();
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!v)
            return usage();
        i++;
        if (strcmp(a, "--ls") == 0)
            ls_name = v;
        else if (strcmp(a, "--pr") == 0)
            rc = add(pr, &npr, v);
        else if (strcmp(a, "--nl") == 0)
            rc = add(nl, &nnl, v);
        else if (strcmp(a, "--valid") == 0)
            rc = add(valid, &nvalid, v);
        else if (strcmp(a, "--invalid") == 0)
            rc = add(invalid, &ninvalid, v);
        else if (strcmp(a, "--ex") == 0)
            ex_name = v;
        else if (strcmp(a, "--ready") == 0)
            ready_file = v;
        else if (strcmp(a, "--stop") == 0)
            stop_file = v;
        else if (strcmp(a, "--since-ms") == 0)
            since_ms = atoll(v);
        else if (strcmp(a, "--max-ms") == 0)
            max_ms = atol(v);
        else
            return usage();
        if (rc < 0)
            return usage();
    }
    if (strcmp(argv[1], "hold") == 0)
        return hold();
    if (strcmp(argv[1], "check") == 0)
        return check();
    return usage();
}
