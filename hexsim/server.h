/* server.h - the HTTP side of hexsim (libmicrohttpd). */
#ifndef HEXSIM_SERVER_H
#define HEXSIM_SERVER_H

#include <sys/socket.h>

#include "hexsim.h"

struct MHD_Daemon;

/* Starts a daemon on addr (port 0 = any free port) with a pool of `threads` threads. */
struct MHD_Daemon *hs_server_start(const struct sockaddr *addr, unsigned threads, int ipv6);

#endif
