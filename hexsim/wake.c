/* wake.c - the timer thread that resumes held connections at their deadlines (wake.h). */
#include "wake.h"

#include <microhttpd.h>
#include <pthread.h>
#include <time.h>

#include "hexsim.h"

/* The held connections, earliest deadline first; all of it under mu. The timer thread runs
 * each one's work under mu too, so the stop never races a work half done. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static hs_wake *head;
static int stopping, started;
static unsigned releases; /* how many times hs_wake_release_all ran */
static pthread_t thread;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_until(int64_t due_ms)
{
    struct timespec until = {.tv_sec = (time_t)(due_ms / 1000),
                             .tv_nsec = (long)(due_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&cv, &mu, &until);
}

static void *timer_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        if (!head) {
            pthread_cond_wait(&cv, &mu);
        } else if (head->due_ms > mono_ms()) {
            wait_until(head->due_ms);
        } else {
            hs_wake *w = head;
            head = w->next;
            if (w->work)
                w->work(w->arg);
            MHD_resume_connection(w->conn);
        }
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int hs_wake_start(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* deadlines ignore clock steps */
    int rc = pthread_cond_init(&cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc == 0 && pthread_create(&thread, NULL, timer_main, NULL) == 0)
        started = 1;
    return started ? 0 : -1;
}

/* After the last entry due at or before w: equal deadlines resume in arrival order. */
static void insert_locked(hs_wake *w)
{
    hs_wake **at = &head;
    while (*at && (*at)->due_ms <= w->due_ms)
        at = &(*at)->next;
    w->next = *at;
    *at = w;
}

int hs_wake_after(hs_wake *w, struct MHD_Connection *conn, int ms, void (*work)(void *arg),
                  void *arg)
{
    /* Fault delays are checked when set (0 to HS_MAX_DELAY_MS); this only keeps a bad one
     * from ever holding a connection for longer. */
    ms = ms < 0 ? 0 : ms > HS_MAX_DELAY_MS ? HS_MAX_DELAY_MS : ms;
    *w = (hs_wake){.due_ms = mono_ms() + ms, .conn = conn, .work = work, .arg = arg};
    pthread_mutex_lock(&mu);
    int held = started && !stopping;
    if (held) {
        /* Under mu: the timer thread cannot resume conn before it is suspended. */
        MHD_suspend_connection(conn);
        insert_locked(w);
        if (head == w)
            pthread_cond_signal(&cv); /* a new earliest deadline */
    }
    pthread_mutex_unlock(&mu);
    return held ? 0 : -1;
}

int hs_wake_release_all(void)
{
    int n = 0;
    pthread_mutex_lock(&mu);
    int64_t now = mono_ms();
    for (hs_wake *w = head; w; w = w->next, n++)
        w->due_ms = now; /* all due now: the list stays in order, arrival order kept */
    releases++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return n;
}

unsigned hs_wake_releases(void)
{
    pthread_mutex_lock(&mu);
    unsigned n = releases;
    pthread_mutex_unlock(&mu);
    return n;
}

void hs_wake_stop(void)
{
    pthread_mutex_lock(&mu);
    stopping = 1;
    for (hs_wake *w = head, *next; w; w = next) {
        next = w->next; /* a resumed connection may end, and w with it, at once */
        MHD_resume_connection(w->conn);
    }
    head = NULL;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (started)
        pthread_join(thread, NULL);
    started = 0;
}
