/*
 * docs/examples/tcdlm/noqueue_trylock.c - try-locks: several processes each take, with
 * DLM_NOQUEUE, whichever of a set of slots is free, count one use in its value block, and
 * release it. A try on a held slot never waits: it fails at once with DLM_NOTQUEUED. Each
 * worker exits with the number of slots it took; in the end the parent reads every slot's
 * count and checks that their sum is the workers' total (no use lost: never two holders). The
 * asynchronous form is shown too: dlm_quelock with DLM_NOQUEUE returns DLM_SUCCESS and the
 * completion routine gets DLM_NOTQUEUED.
 *
 * usage: noqueue_trylock [TAG [WORKERS [ROUNDS]]]
 */
#include <stdint.h>
#include <sys/dlm.h>

#include "common.h"

#define SLOTS 3

static volatile int completed;
static volatile dlm_status_t outcome;

static void done(callback_arg_t notprm, dlm_lkid_t *lkid, dlm_status_t status)
{
    (void)notprm;
    (void)lkid;
    outcome = status;
    completed = 1;
}

static int worker(int argc, char **argv, int rounds)
{
    dlm_nsp_t nsp = example_join();
    int got = 0, busy = 0;

    for (int r = 0; r < rounds; r++) {
        for (int s = 0; s < SLOTS; s++) {
            char res[80], what[16];
            unsigned short len;
            dlm_valb_t vb = {{0}};
            dlm_lkid_t id;
            dlm_status_t st;

            snprintf(what, sizeof(what), "slot%d", s);
            len = example_resource(res, sizeof(res), argc, argv, what);
            st = dlm_lock(nsp, (unsigned char *)res, len, NULL, &id, DLM_EXMODE, &vb,
                          DLM_NOQUEUE | DLM_VALB | DLM_SYNCSTS, 0, 0, NULL, 0);
            if (st == DLM_NOTQUEUED) {
                busy++;
                continue;
            }
            EXPECT("try-lock", st, DLM_SYNCH);
            vb.valblk[0]++; /* one more use */
            sleep_ms(1);
            EXPECT("unlock", dlm_unlock(&id, &vb, DLM_VALB), DLM_SUCCESS);
            got++;
            break;
        }
    }
    printf("noqueue_trylock[%d]: %d slots taken, %d tries found a slot busy\n", (int)getpid(), got,
           busy);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    return got;
}

/* The uses counted in the slots' value blocks. */
static unsigned int counted(dlm_nsp_t nsp, int argc, char **argv)
{
    unsigned int sum = 0;

    for (int s = 0; s < SLOTS; s++) {
        char res[80], what[16];
        unsigned short len;
        dlm_valb_t vb = {{0}};
        dlm_lkid_t id;

        snprintf(what, sizeof(what), "slot%d", s);
        len = example_resource(res, sizeof(res), argc, argv, what);
        EXPECT("read",
               dlm_lock(nsp, (unsigned char *)res, len, NULL, &id, DLM_PRMODE, &vb, DLM_VALB, 0, 0,
                        NULL, 0),
               DLM_SUCCESS);
        sum += vb.valblk[0];
        EXPECT("unlock", dlm_unlock(&id, NULL, 0), DLM_SUCCESS);
    }
    return sum;
}

static void async_try(dlm_nsp_t nsp, int argc, char **argv)
{
    char res[80];
    unsigned short len = example_resource(res, sizeof(res), argc, argv, "async");
    dlm_lkid_t held, tried;

    EXPECT(
        "EX",
        dlm_lock(nsp, (unsigned char *)res, len, NULL, &held, DLM_EXMODE, NULL, 0, 0, 0, NULL, 0),
        DLM_SUCCESS);
    EXPECT("quelock",
           dlm_quelock(nsp, (unsigned char *)res, len, NULL, &tried, DLM_PRMODE, NULL, DLM_NOQUEUE,
                       0, 0, NULL, 0, done),
           DLM_SUCCESS);
    for (int i = 0; i < 5000 && !completed; i++)
        sleep_ms(1);
    if (!completed || outcome != DLM_NOTQUEUED)
        FAIL("asynchronous try-lock: %s", completed ? dlm_sperrno(outcome) : "no completion");
    EXPECT("unlock", dlm_unlock(&held, NULL, 0), DLM_SUCCESS);
}

int main(int argc, char **argv)
{
    int workers = argc > 2 ? atoi(argv[2]) : 4;
    int rounds = argc > 3 ? atoi(argv[3]) : 50;
    pid_t pids[16];
    unsigned int total = 0, before;
    dlm_nsp_t nsp;
    int go[2];

    example_name = "noqueue_trylock";
    if (workers < 1 || workers > 16 || rounds < 1 || rounds > 200)
        FAIL("usage: noqueue_trylock [TAG [WORKERS(1..16) [ROUNDS(1..200)]]]");
    if (pipe(go) < 0)
        FAIL("pipe: %s", strerror(errno));
    for (int i = 0; i < workers; i++) { /* before this process has threads */
        pids[i] = fork();
        if (pids[i] < 0)
            FAIL("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            recv_byte(go[0]);
            exit(worker(argc, argv, rounds));
        }
    }
    nsp = example_join();
    before = counted(nsp, argc, argv);
    for (int s = 0; s < SLOTS; s++) { /* an NL lock on each slot keeps its count alive */
        char res[80], what[16];
        unsigned short len;
        dlm_lkid_t id;

        snprintf(what, sizeof(what), "slot%d", s);
        len = example_resource(res, sizeof(res), argc, argv, what);
        EXPECT(
            "NL",
            dlm_lock(nsp, (unsigned char *)res, len, NULL, &id, DLM_NLMODE, NULL, 0, 0, 0, NULL, 0),
            DLM_SUCCESS);
    }
    for (int i = 0; i < workers; i++)
        send_byte(go[1], 'g');
    for (int i = 0; i < workers; i++) {
        int got = wait_child(pids[i], 120000);
        if (got < 0 || got > rounds)
            FAIL("worker %d failed", i);
        total += (unsigned int)got;
    }
    if (total == 0 || counted(nsp, argc, argv) - before != total)
        FAIL("slots counted %u uses, the workers %u", counted(nsp, argc, argv) - before, total);
    async_try(nsp, argc, argv);
    EXPECT("unlock", dlm_unlock(NULL, NULL, DLM_DEQALL), DLM_SUCCESS);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    printf("noqueue_trylock: %d workers took slots %u times\n", workers, total);
    return 0;
}
