/* wake.h - answers hexsim holds back (delay and slow_body faults) without holding one of
 * libmicrohttpd's pool threads: the connection is suspended, and one timer thread resumes it
 * at its deadline. A sleeping pool thread would stall every other connection it serves. */
#ifndef HEXSIM_WAKE_H
#define HEXSIM_WAKE_H

#include <stdint.h>

struct MHD_Connection;

/* One held connection; lives in the caller's per-request state until it is resumed. */
typedef struct hs_wake {
    int64_t due_ms; /* CLOCK_MONOTONIC */
    struct MHD_Connection *conn;
    void (*work)(void *arg); /* run by the timer thread at the deadline, before the resume */
    void *arg;
    struct hs_wake *next;
} hs_wake;

/* Starts the timer thread; 0, or -1 when it cannot. */
int hs_wake_start(void);

/* From conn's access handler or content reader: suspends conn, and after ms real (wall
 * clock) milliseconds runs work(arg) (may be NULL) on the timer thread, then resumes conn,
 * which calls the handler or reader again. 0 when held; -1 once hexsim is stopping (conn
 * is not suspended: answer now). w is the caller's and must stay valid until the resume. */
int hs_wake_after(hs_wake *w, struct MHD_Connection *conn, int ms, void (*work)(void *arg),
                  void *arg);

/* Makes every held connection due now (POST /__sim/release): the timer thread does each
 * one's work and resumes it at once, in arrival order. Returns how many were held. */
int hs_wake_release_all(void);

/* How many releases there have been: a slow body made before the latest one sends the
 * rest of its body without further delays. */
unsigned hs_wake_releases(void);

/* Resumes every held connection at once, without its work, refuses any new hold and joins
 * the timer thread: libmicrohttpd must not be stopped with connections suspended. */
void hs_wake_stop(void);

#endif
