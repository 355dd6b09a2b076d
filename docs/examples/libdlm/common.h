/*
 * docs/examples/libdlm/common.h - small helpers shared by the libdlm examples: failing with a
 * message, and waiting (bounded) for a child process. The examples themselves use nothing of
 * rdlm but <libdlm.h>: they build unchanged against the Linux libdlm.
 */
#ifndef LIBDLM_EXAMPLE_COMMON_H
#define LIBDLM_EXAMPLE_COMMON_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "%s: ", example_name);                                                     \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

static const char *example_name = "example";

/* The lockspace the examples use: argv[1] if given, else "examples". */
static inline const char *example_lockspace(int argc, char **argv)
{
    return argc > 1 ? argv[1] : "examples";
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Wait for child pid at most timeout_ms; returns its exit status, or -1 (it was killed). */
static inline int wait_child(pid_t pid, int timeout_ms)
{
    int status;

    for (int waited = 0; waited < timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

#endif
