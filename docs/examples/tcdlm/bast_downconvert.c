/*
 * docs/examples/tcdlm/bast_downconvert.c - a blocking routine that makes a holder give way.
 * The holder keeps an EX lock with a blocking routine and has its notifications delivered by
 * a signal (dlm_set_signal(SIGUSR1)): when another process asks for the resource, the routine
 * runs in the holder's signal handler, gets the requester's hint and mode, and converts the
 * lock down to NL right there (a routine may call the DLM). A reader process then gets its PR
 * lock. The holder checks the hint it was given; the reader checks it waited for the holder.
 *
 * usage: bast_downconvert [TAG]
 */
#include <sys/dlm.h>

#include "common.h"

#define READER_HINT 0x5eed

static volatile int blocked; /* the routine ran */
static volatile callback_arg_t seen_hint;
static volatile dlm_lkmode_t seen_mode;

static void give_way(callback_arg_t notprm, callback_arg_t hint, dlm_lkid_t *lkid,
                     dlm_lkmode_t mode)
{
    seen_hint = hint;
    seen_mode = mode;
    if (dlm_cvt(lkid, DLM_NLMODE, NULL, 0, notprm, 0, give_way, 0) == DLM_SUCCESS)
        blocked = 1;
}

static int reader(const char *res, unsigned short len, int ready)
{
    dlm_nsp_t nsp;
    dlm_lkid_t id;
    dlm_status_t st;

    recv_byte(ready);
    nsp = example_join();
    /* not grantable now: the holder's EX */
    st = dlm_lock(nsp, (unsigned char *)res, len, NULL, &id, DLM_PRMODE, NULL, DLM_NOQUEUE, 0, 0,
                  NULL, 0);
    EXPECT("NOQUEUE PR", st, DLM_NOTQUEUED);
    /* waits until the holder has converted down */
    st = dlm_lock(nsp, (unsigned char *)res, len, NULL, &id, DLM_PRMODE, NULL, DLM_SYNCSTS, 0,
                  READER_HINT, NULL, 1000);
    EXPECT("PR", st, DLM_SUCCESS); /* DLM_SUCCESS, not DLM_SYNCH: it had to wait */
    EXPECT("unlock", dlm_unlock(&id, NULL, 0), DLM_SUCCESS);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    return 0;
}

int main(int argc, char **argv)
{
    char res[80];
    unsigned short len;
    dlm_nsp_t nsp;
    dlm_lkid_t id;
    pid_t pid;
    int ready[2], old;

    example_name = "bast_downconvert";
    len = example_resource(res, sizeof(res), argc, argv, "bast");
    if (pipe(ready) < 0)
        FAIL("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        FAIL("fork: %s", strerror(errno));
    if (pid == 0)
        exit(reader(res, len, ready[0]));
    nsp = example_join();
    EXPECT("set signal", dlm_set_signal(SIGUSR1, &old), DLM_SUCCESS);
    EXPECT(
        "EX",
        dlm_lock(nsp, (unsigned char *)res, len, NULL, &id, DLM_EXMODE, NULL, 0, 0, 0, give_way, 0),
        DLM_SUCCESS);
    send_byte(ready[1], 'g');
    for (int i = 0; i < 10000 && !blocked; i++)
        sleep_ms(1); /* the routine runs in this thread's signal handler */
    if (!blocked)
        FAIL("the blocking routine did not run");
    if (seen_hint != READER_HINT || seen_mode != DLM_PRMODE)
        FAIL("blocking routine got hint %#lx mode %d", (unsigned long)seen_hint, (int)seen_mode);
    if (wait_child(pid, 60000) != 0)
        FAIL("reader failed");
    printf("bast_downconvert: holder converted EX -> NL for a PR request (hint %#lx)\n",
           (unsigned long)seen_hint);
    EXPECT("unlock", dlm_unlock(&id, NULL, 0), DLM_SUCCESS);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    return 0;
}
