/*
 * lib/ast.c - delivering callbacks. Completions and blocking ASTs are queued (under the
 * handle's mutex) by whoever processed the message, and run with the mutex released: by the
 * handle's dispatch thread (the default), or by rdlm_dispatch() in programs that poll
 * rdlm_ls_fd() themselves (RDLM_LS_FD_DISPATCH). rdlm_ls_fd() is an epoll descriptor over the
 * transport's fd and the queue's eventfd, so it is readable both when callbacks are queued
 * and when messages that will produce them are waiting.
 */
#include "lib/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int ast_init(struct rdlm_ls *ls)
{
    struct epoll_event ev = {.events = EPOLLIN};

    ls->ast_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ls->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ls->ep_fd = epoll_create1(EPOLL_CLOEXEC);
    if (ls->ast_fd < 0 || ls->wake_fd < 0 || ls->ep_fd < 0)
        return -1;
    ev.data.fd = ls->ast_fd;
    if (epoll_ctl(ls->ep_fd, EPOLL_CTL_ADD, ls->ast_fd, &ev) < 0)
        return -1;
    ev.data.fd = rt_ctx_fd(ls->ctx);
    return epoll_ctl(ls->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
}

void ast_fini(struct rdlm_ls *ls)
{
    while (ls->ast_head) {
        struct ast_item *a = ls->ast_head;
        ls->ast_head = a->next;
        free(a);
    }
    if (ls->ast_fd >= 0)
        close(ls->ast_fd);
    if (ls->wake_fd >= 0)
        close(ls->wake_fd);
    if (ls->ep_fd >= 0)
        close(ls->ep_fd);
}

static void enqueue(struct rdlm_ls *ls, struct ast_item *a)
{
    uint64_t one = 1;

    pthread_mutex_lock(&ls->ast_mu);
    if (ls->ast_tail)
        ls->ast_tail->next = a;
    else
        ls->ast_head = a;
    ls->ast_tail = a;
    pthread_mutex_unlock(&ls->ast_mu);
    (void)!write(ls->ast_fd, &one, sizeof(one));
}

/* Take every queued callback. */
static struct ast_item *take_queue(struct rdlm_ls *ls)
{
    struct ast_item *a;
    uint64_t v;

    pthread_mutex_lock(&ls->ast_mu);
    a = ls->ast_head;
    ls->ast_head = ls->ast_tail = NULL;
    (void)!read(ls->ast_fd, &v, sizeof(v));
    pthread_mutex_unlock(&ls->ast_mu);
    return a;
}

static int run_list(struct ast_item *a)
{
    int n = 0;

    while (a) {
        struct ast_item *next = a->next;
        if (a->blocking)
            a->bast(a->astarg, a->mode, a->hint);
        else
            a->ast(a->astarg);
        free(a);
        a = next;
        n++;
    }
    return n;
}

void ast_queue_completion(struct rdlm_ls *ls, rdlm_ast_fn ast, void *astarg)
{
    struct ast_item *a = calloc(1, sizeof(*a));

    if (!a)
        return;
    a->ast = ast;
    a->astarg = astarg;
    enqueue(ls, a);
}

void ast_queue_blocking(struct rdlm_ls *ls, rdlm_bast_fn bast, void *astarg, int mode,
                        uint64_t hint)
{
    struct ast_item *a = calloc(1, sizeof(*a));

    if (!a)
        return;
    a->blocking = true;
    a->bast = bast;
    a->astarg = astarg;
    a->mode = mode;
    a->hint = hint;
    enqueue(ls, a);
}

void wake_waiters(struct rdlm_ls *ls)
{
    uint64_t one = 1;

    (void)!write(ls->wake_fd, &one, sizeof(one));
}

/* Drive the transport (mutex held), then run the queued callbacks (mutex released). Returns
 * how many ran. */
int run_asts(struct rdlm_ls *ls)
{
    struct ast_item *a;

    pthread_mutex_lock(&ls->mu);
    progress(ls, 0);
    a = take_queue(ls);
    if (rt_arm(ls->ctx) == 1)
        (void)!write(ls->ast_fd, &(uint64_t){1}, sizeof(uint64_t));
    pthread_mutex_unlock(&ls->mu);
    return run_list(a);
}

static void *dispatch_main(void *arg)
{
    struct rdlm_ls *ls = arg;
    struct epoll_event ev[2];

    for (;;) {
        pthread_mutex_lock(&ls->ast_mu);
        bool stop = ls->stop_dispatch;
        pthread_mutex_unlock(&ls->ast_mu);
        if (stop)
            break;
        if (atomic_load(&ls->busy)) {
            /* A caller is driving the transport (and queueing what it finds): only run the
             * callbacks, so a synchronous wait never waits for its own process's BAST, and
             * never compete for the mutex or the CPU with the caller's fast path. */
            struct pollfd p = {ls->ast_fd, POLLIN, 0};
            poll(&p, 1, 1);
            run_list(take_queue(ls));
            continue;
        }
        if (run_asts(ls) == 0)
            epoll_wait(ls->ep_fd, ev, 2, 50);
    }
    return NULL;
}

int rdlm_ls_start_dispatch(rdlm_ls *ls)
{
    int rc;

    if (!ls)
        return RDLM_E_INVAL;
    pthread_mutex_lock(&ls->mu);
    if (ls->dispatching) {
        pthread_mutex_unlock(&ls->mu);
        return RDLM_E_EXISTS;
    }
    pthread_mutex_lock(&ls->ast_mu);
    ls->stop_dispatch = false;
    pthread_mutex_unlock(&ls->ast_mu);
    rc = pthread_create(&ls->dispatcher, NULL, dispatch_main, ls);
    ls->dispatching = rc == 0;
    pthread_mutex_unlock(&ls->mu);
    return rc ? RDLM_E_NOMEM : RDLM_OK;
}

int rdlm_ls_stop_dispatch(rdlm_ls *ls)
{
    if (!ls)
        return RDLM_E_INVAL;
    pthread_mutex_lock(&ls->mu);
    if (!ls->dispatching) {
        pthread_mutex_unlock(&ls->mu);
        return RDLM_OK;
    }
    pthread_mutex_lock(&ls->ast_mu);
    ls->stop_dispatch = true;
    pthread_mutex_unlock(&ls->ast_mu);
    pthread_mutex_unlock(&ls->mu);
    if (!pthread_equal(pthread_self(), ls->dispatcher))
        pthread_join(ls->dispatcher, NULL);
    else
        pthread_detach(ls->dispatcher);
    pthread_mutex_lock(&ls->mu);
    ls->dispatching = false;
    pthread_mutex_unlock(&ls->mu);
    return RDLM_OK;
}

int rdlm_ls_fd(rdlm_ls *ls)
{
    return ls ? ls->ep_fd : -1;
}

int rdlm_dispatch(rdlm_ls *ls)
{
    return ls ? run_asts(ls) : -RDLM_E_INVAL;
}
