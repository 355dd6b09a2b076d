/*
 * docs/examples/tcdlm/group_lock.c - a group lock shared by two processes. The creator makes
 * a group lock container bound to its namespace and takes an EX group lock in it
 * (dlm_locktp with DLM_GROUP_LOCK); the member attaches to the container (dlm_glc_attach)
 * and, by the lock id alone, converts the creator's lock down to PR and then unlocks it: a
 * group lock belongs to the container, and any attached process may manipulate it. The
 * creator checks the resource is free afterwards, and both detach (the last detach destroys
 * the container).
 *
 * The member is forked before the creator joins anything; ids travel through a pipe.
 *
 * usage: group_lock [TAG]
 */
#include <stdint.h>
#include <sys/dlm.h>

#include "common.h"

struct msg {
    dlm_glc_id_t id;
    dlm_lkid_t lock;
};

static int member(int from_creator, int to_creator)
{
    struct msg m;
    dlm_lkid_t lock;

    if (read(from_creator, &m, sizeof(m)) != sizeof(m))
        FAIL("no container id");
    lock = m.lock;
    example_join();
    EXPECT("attach", dlm_glc_attach(m.id, 0), DLM_SUCCESS);
    EXPECT("EX -> PR", dlm_cvt(&lock, DLM_PRMODE, NULL, 0, 0, 0, NULL, 0), DLM_SUCCESS);
    EXPECT("unlock", dlm_unlock(&lock, NULL, 0), DLM_SUCCESS);
    send_byte(to_creator, 'd');
    recv_byte(from_creator);
    EXPECT("glc detach", dlm_glc_detach(), DLM_SUCCESS);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    return 0;
}

int main(int argc, char **argv)
{
    char res[80];
    unsigned short len;
    struct msg m;
    dlm_nsp_t nsp;
    dlm_lkid_t probe;
    int down[2], up[2];
    pid_t pid;

    example_name = "group_lock";
    len = example_resource(res, sizeof(res), argc, argv, "group");
    if (pipe(down) < 0 || pipe(up) < 0)
        FAIL("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        FAIL("fork: %s", strerror(errno));
    if (pid == 0)
        exit(member(down[0], up[1]));
    nsp = example_join();
    EXPECT("create", dlm_glc_create(&m.id, 0, &nsp, 1), DLM_SUCCESS);
    EXPECT("group EX",
           dlm_locktp(nsp, (unsigned char *)res, len, NULL, &m.lock, DLM_EXMODE, NULL,
                      DLM_GROUP_LOCK, 0, 0, NULL, 0, 0, 0),
           DLM_SUCCESS);
    if (write(down[1], &m, sizeof(m)) != sizeof(m))
        FAIL("pipe write: %s", strerror(errno));
    recv_byte(up[0]); /* the member converted and unlocked it */
    EXPECT("free again",
           dlm_lock(nsp, (unsigned char *)res, len, NULL, &probe, DLM_EXMODE, NULL, DLM_NOQUEUE, 0,
                    0, NULL, 0),
           DLM_SUCCESS);
    EXPECT("unlock", dlm_unlock(&probe, NULL, 0), DLM_SUCCESS);
    EXPECT("glc detach", dlm_glc_detach(), DLM_SUCCESS);
    send_byte(down[1], 'x');
    if (wait_child(pid, 60000) != 0)
        FAIL("member failed");
    EXPECT("gone", dlm_glc_attach(m.id, 0), DLM_ENOENT);
    EXPECT("detach", dlm_detach(), DLM_SUCCESS);
    printf("group_lock: container %#llx, lock converted and released by the member\n",
           (unsigned long long)m.id);
    return 0;
}
