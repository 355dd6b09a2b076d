/*
 * docs/examples/libdlm/bast_downconvert.c - a blocking AST makes a holder give way. The
 * holder (a child process, single-threaded: it polls the lockspace fd and calls
 * dlm_dispatch) takes EX with a blocking AST and publishes a value in the LVB. When the
 * parent asks for PR, the holder's blocking AST runs and down-converts EX -> NL with
 * LKF_VALBLK, which writes the value and lets the parent's PR be granted with it.
 *
 * usage: bast_downconvert [LOCKSPACE]
 */
#include <libdlm.h>
#include <poll.h>

#include "common.h"

static const char resource[] = "bast-downconvert";

struct holder {
    dlm_lshandle_t ls;
    struct dlm_lksb lksb;
    char lvb[DLM_LVB_LEN];
    int completions; /* ASTs seen */
    int basts;
};

static void holder_ast(void *arg)
{
    ((struct holder *)arg)->completions++;
}

static void holder_bast(void *arg)
{
    struct holder *h = arg;

    if (h->basts++ > 0)
        return;
    /* Somebody waits for us: publish and step down to NL (asynchronously, from the AST). */
    if (dlm_ls_lock(h->ls, LKM_NLMODE, &h->lksb, LKF_CONVERT | LKF_VALBLK, NULL, 0, 0, holder_ast,
                    h, NULL, NULL) < 0)
        FAIL("holder: down-convert: %s", strerror(errno));
}

/* Dispatch ASTs until *counter reaches want (at most timeout_ms). */
static void dispatch_until(struct holder *h, int *counter, int want, int timeout_ms)
{
    struct pollfd p = {dlm_ls_get_fd(h->ls), POLLIN, 0};

    for (int waited = 0; *counter < want; waited += 10) {
        if (waited >= timeout_ms)
            FAIL("holder: timed out waiting for an AST");
        if (poll(&p, 1, 10) > 0 && dlm_dispatch(p.fd) < 0)
            FAIL("holder: dlm_dispatch: %s", strerror(errno));
    }
}

static int holder_main(const char *lsname, int to_parent, int from_parent)
{
    struct holder h = {0};
    char c;

    h.lksb.sb_lvbptr = h.lvb;
    h.ls = dlm_open_lockspace(lsname);
    if (!h.ls)
        FAIL("holder: open lockspace: %s", strerror(errno));
    if (dlm_ls_lock(h.ls, LKM_EXMODE, &h.lksb, LKF_VALBLK, resource, sizeof(resource) - 1, 0,
                    holder_ast, &h, holder_bast, NULL) < 0)
        FAIL("holder: EX: %s", strerror(errno));
    dispatch_until(&h, &h.completions, 1, 10000);
    if (h.lksb.sb_status != 0)
        FAIL("holder: EX status %d", h.lksb.sb_status);
    snprintf(h.lvb, sizeof(h.lvb), "from holder %d", (int)getpid());
    if (write(to_parent, "r", 1) != 1) /* holding EX */
        FAIL("holder: pipe");
    dispatch_until(&h, &h.completions, 2, 30000); /* the BAST, then the down-conversion */
    if (h.basts < 1 || h.lksb.sb_status != 0)
        FAIL("holder: no blocking AST (%d) or down-convert status %d", h.basts, h.lksb.sb_status);
    if (read(from_parent, &c, 1) != 1) /* the parent has checked the value */
        FAIL("holder: pipe");
    if (dlm_ls_unlock_wait(h.ls, h.lksb.sb_lkid, 0, &h.lksb) < 0)
        FAIL("holder: unlock: %s", strerror(errno));
    dlm_close_lockspace(h.ls);
    return 0;
}

int main(int argc, char **argv)
{
    const char *lsname = example_lockspace(argc, argv);
    int up[2], down[2];
    char lvb[DLM_LVB_LEN] = {0}, expect[DLM_LVB_LEN] = {0}, c;
    struct dlm_lksb lksb = {.sb_lvbptr = lvb};
    dlm_lshandle_t ls;
    pid_t holder;

    example_name = "bast_downconvert";
    if (pipe(up) < 0 || pipe(down) < 0)
        FAIL("pipe: %s", strerror(errno));
    holder = fork();
    if (holder < 0)
        FAIL("fork: %s", strerror(errno));
    if (holder == 0)
        _exit(holder_main(lsname, up[1], down[0]));
    ls = dlm_open_lockspace(lsname);
    if (!ls)
        FAIL("open lockspace: %s", strerror(errno));
    if (read(up[0], &c, 1) != 1)
        FAIL("the holder died before taking EX");
    /* Waits until the holder's blocking AST has down-converted. */
    if (dlm_ls_lock_wait(ls, LKM_PRMODE, &lksb, LKF_VALBLK, resource, sizeof(resource) - 1, 0, NULL,
                         NULL, NULL) < 0)
        FAIL("PR: %s", strerror(errno));
    snprintf(expect, sizeof(expect), "from holder %d", (int)holder);
    if (memcmp(lvb, expect, sizeof(expect)) != 0)
        FAIL("LVB \"%.32s\", expected \"%s\"", lvb, expect);
    if (write(down[1], "d", 1) != 1)
        FAIL("pipe");
    if (wait_child(holder, 30000) != 0)
        FAIL("the holder failed");
    if (dlm_ls_unlock_wait(ls, lksb.sb_lkid, 0, &lksb) < 0)
        FAIL("unlock: %s", strerror(errno));
    printf("bast_downconvert: the holder stepped down on its blocking AST; PR read \"%s\", OK\n",
           lvb);
    dlm_close_lockspace(ls);
    return 0;
}
