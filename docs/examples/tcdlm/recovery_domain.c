/*
 * docs/examples/tcdlm/recovery_domain.c - recovering a recovery domain after a writer dies.
 * A writer process attaches to the domain, takes a PW lock with DLM_PERSIST on a resource and
 * writes its value block, and is then killed with SIGKILL while holding it. Two survivors
 * lock the resource and see DLM_SUCCVALNOTVALID; both try to collect the domain, one wins
 * (the other gets DLM_EALREADY), walks the collection (dlm_rd_traverse), "repairs" what the
 * resources protect and validates it. The value block is then valid again and zero, and a
 * new lock gets plain DLM_SUCCESS.
 *
 * usage: recovery_domain [TAG]
 */
#include <sys/dlm.h>

#include "common.h"

static char res[80], domain[DLM_RDNAMELEN + 1];
static unsigned short reslen;

static dlm_status_t lock_persistent(dlm_nsp_t nsp, dlm_rd_id_t rd, dlm_lkmode_t mode,
                                    dlm_valb_t *vb, dlm_lkid_t *id)
{
    return dlm_locktp(nsp, (unsigned char *)res, reslen, NULL, id, mode, vb, DLM_PERSIST | DLM_VALB,
                      0, 0, NULL, 0, 0, rd);
}

static int writer(int ready)
{
    dlm_nsp_t nsp = example_join();
    dlm_valb_t vb = {{0}};
    dlm_rd_id_t rd;
    dlm_lkid_t id;

    EXPECT("rd attach", dlm_rd_attach(domain, &rd, DLM_RD_PROCESS), DLM_SUCCESS);
    EXPECT("PW", lock_persistent(nsp, rd, DLM_PWMODE, &vb, &id), DLM_SUCCESS, DLM_SUCCVALNOTVALID);
    vb.valblk[0] = 12345; /* a write in progress when it dies */
    EXPECT("publish", dlm_cvt(&id, DLM_PWMODE, &vb, DLM_VALB, 0, 0, NULL, 0), DLM_SUCCESS);
    send_byte(ready, 'r');
    for (;;)
        pause();
}

/* A survivor: sees the invalid value block, tries to collect; the collector recovers.
 * Exit status 0: collected the resource and validated; 2: the other one did. */
static int survivor(int go, int locked, int collect, int done_fd)
{
    dlm_nsp_t nsp;
    dlm_valb_t vb = {{0}};
    dlm_rd_id_t rd;
    dlm_lkid_t id;
    dlm_rd_collection_hndl_t h;
    dlm_status_t st;
    unsigned long cursor = 0;
    unsigned char name[DLM_RESNAMELEN];
    unsigned short namelen;
    dlm_nsp_t in;
    int found = 0;

    recv_byte(go);
    nsp = example_join();
    EXPECT("rd attach", dlm_rd_attach(domain, &rd, DLM_RD_PROCESS), DLM_SUCCESS);
    EXPECT("PR", lock_persistent(nsp, rd, DLM_PRMODE, &vb, &id), DLM_SUCCVALNOTVALID);
    EXPECT("unlock", dlm_unlock(&id, NULL, 0), DLM_SUCCESS);
    send_byte(locked, 'l');
    recv_byte(collect); /* both have seen it invalid */
    st = dlm_rd_collect(rd, &h, 0);
    if (st == DLM_EALREADY) { /* the other survivor recovers; wait until it has */
        recv_byte(done_fd);
        EXPECT("rd detach", dlm_rd_detach(rd, 0), DLM_SUCCESS);
        EXPECT("detach", dlm_detach(), DLM_SUCCESS);
        return 2;
    }
    EXPECT("collect", st, DLM_SUCCESS);
    while ((st = dlm_rd_traverse(&h, &cursor, name, &namelen, &in)) == DLM_MORE_TO_TRAVERSE)
        found += namelen == reslen && memcmp(name, res, reslen) == 0 && in == nsp;
    EXPECT("traverse", st, DLM_SUCCESS);
    if (found == 0) { /* the other collected and validated before this collect */
        EXPECT("validate (empty)", dlm_rd_validate(rd, &h, 0), DLM_SUCCESS);
        EXPECT("rd detach", dlm_rd_detach(rd, 0), DLM_SUCCESS);
        EXPECT("detach", dlm_detach(), DLM_SUCCESS);
        return 2;
    }
    /* ... here the application repairs what the resource protects ... */
    EXPECT("validate", dlm_rd_validate(rd, &h, 0), DLM_SUCCESS);
    EXPECT("PR again", lock_persistent(nsp, rd, DLM_PRMODE, &vb, &id), DLM_SUCCESS);
    for (int i = 0; i < DLM_VALBLKSIZE; i++)
        if (vb.valblk[i] != 0)
            FAIL("value block not zero after validation");
    EXPECT("unlock", dlm_unlock(&id, NULL, 0), DLM_SUCCESS);
    EXPECT("rd detach", dlm_rd_detach(rd, 0), DLM_SUCCESS);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    return 0;
}

int main(int argc, char **argv)
{
    int ready[2], go[2], done[2], locked[2], collect[2], st[2];
    pid_t w, s[2];

    example_name = "recovery_domain";
    reslen = example_resource(res, sizeof(res), argc, argv, "persistent");
    snprintf(domain, sizeof(domain), "%.24s-rd", argc > 1 ? argv[1] : "ex");
    if (pipe(ready) < 0 || pipe(go) < 0 || pipe(done) < 0 || pipe(locked) < 0 || pipe(collect) < 0)
        FAIL("pipe: %s", strerror(errno));
    w = fork();
    if (w == 0)
        exit(writer(ready[1]));
    for (int i = 0; i < 2; i++) {
        s[i] = fork();
        if (s[i] == 0)
            exit(survivor(go[0], locked[1], collect[0], done[0]));
    }
    if (w < 0 || s[0] < 0 || s[1] < 0)
        FAIL("fork: %s", strerror(errno));
    recv_byte(ready[0]);
    kill(w, SIGKILL);
    if (wait_child(w, 10000) != 128 + SIGKILL)
        FAIL("the writer did not die");
    sleep_ms(200); /* its daemon notices the connection gone and releases its lock */
    send_byte(go[1], 'g');
    send_byte(go[1], 'g');
    recv_byte(locked[0]);
    recv_byte(locked[0]);
    send_byte(collect[1], 'c');
    send_byte(collect[1], 'c');
    for (int i = 0; i < 2; i++) {
        pid_t first = waitpid(-1, &st[i], 0);
        if (first < 0 || !WIFEXITED(st[i]))
            FAIL("a survivor died");
        if (WEXITSTATUS(st[i]) == 0)
            send_byte(done[1], 'd'); /* recovered: tell the other */
        else if (WEXITSTATUS(st[i]) != 2)
            FAIL("a survivor failed");
    }
    if (WEXITSTATUS(st[0]) + WEXITSTATUS(st[1]) != 2)
        FAIL("expected one collector and one EALREADY");
    printf("recovery_domain: writer killed, one survivor recovered the domain, the other waited\n");
    return 0;
}
