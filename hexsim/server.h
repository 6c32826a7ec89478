/* server.h - the HTTP side of hexsim (libmicrohttpd). */
#ifndef HEXSIM_SERVER_H
#define HEXSIM_SERVER_H

#include <sys/socket.h>

#include "hexsim.h"

struct MHD_Daemon;

/* PEM text of the certificate chain and key when hexsim serves HTTPS. */
typedef struct hs_tls {
    char *cert_pem;
    char *key_pem;
} hs_tls;

/* Starts a daemon on addr (port 0 = any free port) with a pool of `threads` threads;
 * tls NULL serves plain HTTP. */
struct MHD_Daemon *hs_server_start(const struct sockaddr *addr, unsigned threads, int ipv6,
                                   const hs_tls *tls);

#endif
