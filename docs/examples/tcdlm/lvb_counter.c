/*
 * docs/examples/tcdlm/lvb_counter.c - a counter kept in a lock value block, passed between
 * processes by conversions: each worker keeps an NL lock on the resource (which keeps the
 * value block alive) and, for every increment, converts NL -> EX with DLM_VALB (reading the
 * counter), adds one, and converts EX -> NL with DLM_VALB (publishing it). In the end the
 * parent reads the counter with a PR lock and checks that no increment was lost.
 *
 * The workers are forked before the parent joins a namespace (a process that has joined one
 * has threads); they start when the parent, holding its NL lock, writes to a pipe.
 *
 * usage: lvb_counter [TAG [WORKERS [INCREMENTS]]]
 */
#include <stdint.h>
#include <sys/dlm.h>

#include "common.h"

static char res[80];
static unsigned short reslen;

static uint64_t get(const dlm_valb_t *vb)
{
    return (uint64_t)vb->valblk[0] | (uint64_t)vb->valblk[1] << 32;
}

static void put(dlm_valb_t *vb, uint64_t v)
{
    vb->valblk[0] = (unsigned int)v;
    vb->valblk[1] = (unsigned int)(v >> 32);
}

static int worker(int go, int increments)
{
    dlm_valb_t vb = {{0}};
    dlm_lkid_t id;
    dlm_nsp_t nsp;

    recv_byte(go);
    nsp = example_join();
    EXPECT("NL lock",
           dlm_lock(nsp, (unsigned char *)res, reslen, NULL, &id, DLM_NLMODE, &vb, DLM_VALB, 0, 0,
                    NULL, 0),
           DLM_SUCCESS);
    for (int i = 0; i < increments; i++) {
        EXPECT("NL -> EX", dlm_cvt(&id, DLM_EXMODE, &vb, DLM_VALB, 0, 0, NULL, 0), DLM_SUCCESS);
        put(&vb, get(&vb) + 1);
        EXPECT("EX -> NL", dlm_cvt(&id, DLM_NLMODE, &vb, DLM_VALB, 0, 0, NULL, 0), DLM_SUCCESS);
    }
    EXPECT("unlock", dlm_unlock(&id, NULL, 0), DLM_SUCCESS);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    return 0;
}

int main(int argc, char **argv)
{
    int workers = argc > 2 ? atoi(argv[2]) : 3;
    int increments = argc > 3 ? atoi(argv[3]) : 200;
    dlm_valb_t vb = {{0}};
    dlm_lkid_t keep, reader;
    pid_t pids[16];
    dlm_nsp_t nsp;
    uint64_t start;
    int go[2];

    example_name = "lvb_counter";
    if (workers < 1 || workers > 16 || increments < 1)
        FAIL("usage: lvb_counter [TAG [WORKERS(1..16) [INCREMENTS]]]");
    reslen = example_resource(res, sizeof(res), argc, argv, "counter");
    if (pipe(go) < 0)
        FAIL("pipe: %s", strerror(errno));
    for (int i = 0; i < workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            FAIL("fork: %s", strerror(errno));
        if (pids[i] == 0)
            exit(worker(go[0], increments));
    }
    nsp = example_join();
    EXPECT("NL lock",
           dlm_lock(nsp, (unsigned char *)res, reslen, NULL, &keep, DLM_NLMODE, &vb, DLM_VALB, 0, 0,
                    NULL, 0),
           DLM_SUCCESS);
    start = get(&vb);
    for (int i = 0; i < workers; i++)
        send_byte(go[1], 'g');
    for (int i = 0; i < workers; i++)
        if (wait_child(pids[i], 120000) != 0)
            FAIL("worker %d failed", i);
    EXPECT("PR lock",
           dlm_lock(nsp, (unsigned char *)res, reslen, NULL, &reader, DLM_PRMODE, &vb,
                    DLM_VALB | DLM_SYNCSTS, 0, 0, NULL, 0),
           DLM_SYNCH);
    if (get(&vb) != start + (uint64_t)workers * (uint64_t)increments)
        FAIL("counter %llu, expected %llu", (unsigned long long)get(&vb),
             (unsigned long long)(start + (uint64_t)workers * (uint64_t)increments));
    printf("lvb_counter: %d workers x %d increments: counter %llu\n", workers, increments,
           (unsigned long long)get(&vb));
    EXPECT("unlock", dlm_unlock(NULL, NULL, DLM_DEQALL), DLM_SUCCESS);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    return 0;
}
