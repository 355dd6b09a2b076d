/*
 * docs/examples/tcdlm/common.h - small helpers shared by the TruCluster DLM examples: failing
 * with a message, joining the caller's own user namespace, naming resources after a tag (so
 * that several runs do not meet), and waiting (bounded) for a child process. The examples
 * themselves use nothing of rdlm but <sys/dlm.h>.
 */
#ifndef TCDLM_EXAMPLE_COMMON_H
#define TCDLM_EXAMPLE_COMMON_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dlm.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *example_name = "example";

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "%s[%d]: ", example_name, (int)getpid());                                  \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(255);                                                                                 \
    } while (0)

/* st must be one of the statuses given; else fail, saying what it was. */
#define EXPECT(what, st, ...)                                                                      \
    do {                                                                                           \
        dlm_status_t st_ = (st), ok_[] = {__VA_ARGS__};                                            \
        int good_ = 0;                                                                             \
        for (size_t i_ = 0; i_ < sizeof(ok_) / sizeof(ok_[0]); i_++)                               \
            good_ |= st_ == ok_[i_];                                                               \
        if (!good_)                                                                                \
            FAIL("%s: %s", what, dlm_sperrno(st_));                                                \
    } while (0)

/* The namespace of the caller's own user id (anybody may join it). */
static inline dlm_nsp_t example_join(void)
{
    dlm_nsp_t nsp;

    EXPECT("dlm_nsjoin", dlm_nsjoin(geteuid(), &nsp, DLM_USER | DLM_JOIN_SAME_OK), DLM_SUCCESS);
    return nsp;
}

/* A resource name: "<tag>-<what>" (tag: argv[1], or "ex"). */
static inline unsigned short example_resource(char *buf, size_t len, int argc, char **argv,
                                              const char *what)
{
    snprintf(buf, len, "%s-%s", argc > 1 ? argv[1] : "ex", what);
    return (unsigned short)strlen(buf);
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Wait for child pid at most timeout_ms; its exit status, or 128 + the signal that ended it,
 * or -1 (it was still running and has been killed). */
static inline int wait_child(pid_t pid, int timeout_ms)
{
    int status;

    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* One byte through a pipe: a go signal between processes. */
static inline void send_byte(int fd, char c)
{
    if (write(fd, &c, 1) != 1)
        FAIL("pipe write: %s", strerror(errno));
}

static inline char recv_byte(int fd)
{
    char c = 0;

    if (read(fd, &c, 1) != 1)
        FAIL("pipe read: %s", strerror(errno));
    return c;
}

#endif
