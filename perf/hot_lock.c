/*
 * perf/hot_lock.c - one hot lock, P contending client processes, each doing synchronous EX
 * lock+unlock pairs on the same name for S seconds: aggregate pairs per second. Run with P=1
 * and P=8 to see whether contention collapses throughput (CAS retry storms) or the service
 * hands the lock over in order (SLOW mode: the master queues and grants).
 * Usage: hot_lock [-p PROCS] [-t SECONDS]   (RDLM_CONFIG: the cluster). Prints one JSON line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rdlm.h"

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void worker(int seconds, int fd)
{
    uint64_t pairs = 0, end;
    rdlm_ls *ls;

    if (rdlm_ls_open("bench", RDLM_LS_FD_DISPATCH, &ls) != RDLM_OK)
        exit(1);
    end = now_ns() + (uint64_t)seconds * 1000000000ull;
    while (now_ns() < end) {
        struct rdlm_lksb sb = {0};
        if (rdlm_lock(ls, RDLM_MODE_EX, &sb, RDLM_LKF_WAIT, "hot", 3, NULL, NULL, NULL, NULL) ||
            rdlm_unlock(ls, sb.lkid, RDLM_LKF_WAIT, &sb, NULL) != RDLM_E_UNLOCKED)
            exit(1);
        pairs++;
    }
    rdlm_ls_close(ls);
    exit(write(fd, &pairs, sizeof(pairs)) == (ssize_t)sizeof(pairs) ? 0 : 1);
}

int main(int argc, char **argv)
{
    int procs = 1, seconds = 3, pfd[2], bad = 0;
    uint64_t total = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-p") == 0)
            procs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-t") == 0)
            seconds = atoi(argv[i + 1]);
    }
    if (procs < 1 || procs > 64 || seconds < 1 || pipe(pfd) < 0)
        return 2;
    for (int i = 0; i < procs; i++)
        if (fork() == 0) {
            close(pfd[0]);
            worker(seconds, pfd[1]);
        }
    close(pfd[1]);
    for (int i = 0; i < procs; i++) {
        uint64_t n;
        if (read(pfd[0], &n, sizeof(n)) != (ssize_t)sizeof(n))
            bad++;
        else
            total += n;
    }
    while (wait(NULL) > 0)
        ;
    printf("hot lock, %d process(es), %d s: %.0f lock+unlock pairs per second\n", procs, seconds,
           (double)total / seconds);
    printf("{\"procs\": %d, \"pairs_per_s\": %.1f}\n", procs, (double)total / seconds);
    return bad ? 1 : 0;
}
