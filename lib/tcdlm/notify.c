/*
 * lib/tcdlm/notify.c - delivering completion and blocking routines (docs/tcdlm.md
 * "Delivery"): at once in the native dispatch thread that received the callback (the default,
 * until dlm_set_signal is first called); queued and the process sent the chosen signal, whose
 * handler (installed here, the program's saved) runs them; or queued until dlm_notify()
 * (dlm_set_signal(0)).
 *
 * The native threads never take the signal (namespace.c opens every handle with all signals
 * blocked), and every entry point blocks it in its thread (table.c), so the handler never
 * interrupts the library and never finds tc_mu held by its own thread. A blocking routine whose
 * lock ended or is no longer granted by the time it runs is dropped.
 */
#include "lib/tcdlm/tcdlm_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum delivery { DELIVER_THREAD, DELIVER_SIGNAL, DELIVER_POLL };

_Atomic int tc_sig; /* the signal chosen, 0 if none (read by tc_enter) */

static enum delivery mode = DELIVER_THREAD; /* under tc_mu */
static struct sigaction saved;              /* the program's action for tc_sig */
static struct tc_item *head, *tail;         /* under tc_mu */

int tc_current_signal(void)
{
    return mode == DELIVER_SIGNAL ? atomic_load(&tc_sig) : 0;
}

static bool still_blocking(const struct tc_item *it)
{
    struct tc_lock *l;
    bool live;

    pthread_mutex_lock(&tc_mu);
    l = tc_lock_by_id(it->id);
    live = l && l->grmode != RDLM_MODE_IV && l->cur.blkrtn;
    pthread_mutex_unlock(&tc_mu);
    return live;
}

static void run(struct tc_item *it)
{
    dlm_lkid_t lkid = it->lkid;

    if (it->blocking) {
        if (still_blocking(it))
            it->blkrtn(it->notprm, it->hint, &lkid, it->mode);
    } else if (it->cplrtn) {
        it->cplrtn(it->notprm, &lkid, it->status);
    }
    free(it);
}

static int run_all(struct tc_item *it)
{
    int n = 0;

    while (it) {
        struct tc_item *next = it->next;
        run(it);
        it = next;
        n++;
    }
    return n;
}

static struct tc_item *take_all(void)
{
    struct tc_item *it;

    pthread_mutex_lock(&tc_mu);
    it = head;
    head = tail = NULL;
    pthread_mutex_unlock(&tc_mu);
    return it;
}

void tc_deliver(struct tc_item *it)
{
    enum delivery m;
    int sig;

    pthread_mutex_lock(&tc_mu);
    m = mode;
    sig = atomic_load(&tc_sig);
    if (m != DELIVER_THREAD) {
        it->next = NULL;
        if (tail)
            tail->next = it;
        else
            head = it;
        tail = it;
    }
    pthread_mutex_unlock(&tc_mu);
    if (m == DELIVER_THREAD)
        run(it);
    else if (m == DELIVER_SIGNAL)
        kill(getpid(), sig);
}

static void handler(int sig)
{
    int saved_errno = errno;

    (void)sig;
    run_all(take_all());
    errno = saved_errno;
}

int dlm_notify(void)
{
    struct tc_guard g;
    int n;

    tc_enter(&g);
    n = run_all(take_all());
    tc_leave(&g);
    return n;
}

static dlm_status_t install(int newsig, int oldsig)
{
    struct sigaction sa;

    if (oldsig > 0 && oldsig != newsig)
        sigaction(oldsig, &saved, NULL);
    if (newsig > 0 && newsig != oldsig) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = handler;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(newsig, &sa, &saved) < 0)
            return DLM_BADPARAM;
    }
    return DLM_SUCCESS;
}

static dlm_status_t set_signal(int newsig, int *oldsig)
{
    int old;
    bool queued;
    dlm_status_t st;

    if (newsig < 0 || newsig > SIGRTMAX || newsig == SIGKILL || newsig == SIGSTOP)
        return DLM_BADPARAM;
    pthread_mutex_lock(&tc_mu);
    if (!tc_any_handle()) {
        pthread_mutex_unlock(&tc_mu);
        return DLM_NOTATTACHED;
    }
    old = tc_current_signal();
    st = install(newsig, old);
    if (st == DLM_SUCCESS) {
        mode = newsig > 0 ? DELIVER_SIGNAL : DELIVER_POLL;
        atomic_store(&tc_sig, newsig);
        if (oldsig)
            *oldsig = old;
    }
    queued = head != NULL;
    pthread_mutex_unlock(&tc_mu);
    if (st == DLM_SUCCESS && queued && newsig > 0)
        kill(getpid(), newsig);
    return st;
}

dlm_status_t dlm_set_signal(int newsig, int *oldsig)
{
    struct tc_guard g;
    dlm_status_t st;

    tc_enter(&g);
    st = set_signal(newsig, oldsig);
    tc_leave(&g);
    return st;
}

void tc_signal_reset(void)
{
    struct tc_item *it;

    pthread_mutex_lock(&tc_mu);
    install(0, tc_current_signal());
    mode = DELIVER_THREAD;
    atomic_store(&tc_sig, 0);
    it = head;
    head = tail = NULL;
    pthread_mutex_unlock(&tc_mu);
    while (it) { /* their locks are gone */
        struct tc_item *next = it->next;
        free(it);
        it = next;
    }
}

void tc_notify_forget(void)
{
    install(0, tc_current_signal());
    mode = DELIVER_THREAD;
    atomic_store(&tc_sig, 0);
    head = tail = NULL;
}
