/*
 * api_int.h - what the files of the public entry points share (internal to api.c,
 * api_jobs.c and api_direct.c): the client, and the checks every call makes first.
 */
#ifndef HEXRUN_API_INT_H
#define HEXRUN_API_INT_H

#include <sys/types.h>

#include "config.h"
#include "engine.h"
#include "hexrun.h"
#include "job.h"
#include "log.h"

struct hexrun_client {
    pid_t pid;
    hexrun_config *cfg;
    hexrun__log *log;
    hexrun__jobs jobs;
    hexrun__engine *engine;
    int shutting_down; /* under jobs.mu */
    int waiters;       /* threads blocked in a wait; shutdown waits for them to leave */
};

/* The prologue of every call on a client: clears the thread's last error, then
 * HEXRUN_OK, or HEXRUN_E_INVALID_ARG (NULL) / HEXRUN_E_FORKED with the message set. */
int hexrun__api_client_check(const hexrun_client *client, const char *fn);

/* HEXRUN_OK when id has the UUID shape, else HEXRUN_E_INVALID_ARG naming fn and what. */
int hexrun__api_check_uuid(const char *fn, const char *what, const char *id);

#endif
