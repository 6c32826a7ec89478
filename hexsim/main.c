/* main.c - hexsim's command line: load a scenario, serve loopback, stop on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "wake.h"

static const char USAGE[] =
    "usage: hexsim [options]\n"
    "  --port N          TCP port on 127.0.0.1 (and ::1); 0 picks a free one (default 0)\n"
    "  --scenario FILE   scenario JSON (tokens, projects, users, ...; see docs/hexsim.md)\n"
    "  --time-scale X    hexsim time runs X times faster than real time (default 1)\n"
    "  --seed N          seed of every random choice (ids, durations, outcomes, faults)\n"
    "  --rate-limits     enforce Hex's rate limits (also settable in the scenario)\n"
    "  --profile NAME    default, or spec-variant: answers the spec allows that the default\n"
    "                    profile never gives (see docs/hexsim.md)\n"
    "  --threads N       libmicrohttpd thread pool size (default 4)\n"
    "  --max-body BYTES  largest accepted request body; larger gets 413 (default 1048576)\n"
    "  --no-ipv6         serve 127.0.0.1 only\n"
    "  --tls-cert FILE   serve HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE    ... and this PEM private key\n"
    "The first line on stdout is `listening on http://127.0.0.1:PORT` (https with TLS).\n";

typedef struct options {
    long port;
    const char *scenario;
    double time_scale;
    long seed;
    int rate_limits;
    long threads;
    long max_body;
    int ipv6;
    const char *tls_cert, *tls_key;
    const char *profile;
} options;

static int parse_long(const char *flag, const char *v, long lo, long hi, long *out)
{
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || n < lo || n > hi) {
        fprintf(stderr, "hexsim: %s needs an integer from %ld to %ld\n", flag, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            exit(0);
        } else if (!strcmp(a, "--port")) {
            rc = parse_long(a, v, 0, 65535, &o->port), i++;
        } else if (!strcmp(a, "--scenario") && v) {
            o->scenario = v, i++;
        } else if (!strcmp(a, "--time-scale") && v) {
            o->time_scale = strtod(v, NULL), i++;
            if (o->time_scale <= 0 || o->time_scale > 1e6) {
                fprintf(stderr, "hexsim: --time-scale needs a number above 0 and up to 1e6\n");
                rc = -1;
            }
        } else if (!strcmp(a, "--seed")) {
            rc = parse_long(a, v, 0, 0x7fffffffL, &o->seed), i++;
        } else if (!strcmp(a, "--profile") && v) {
            o->profile = v, i++;
            if (strcmp(v, "default") && strcmp(v, "spec-variant")) {
                fprintf(stderr, "hexsim: --profile takes default or spec-variant\n");
                rc = -1;
            }
        } else if (!strcmp(a, "--rate-limits")) {
            o->rate_limits = 1;
        } else if (!strcmp(a, "--threads")) {
            rc = parse_long(a, v, 1, 64, &o->threads), i++;
        } else if (!strcmp(a, "--max-body")) {
            rc = parse_long(a, v, 1024, 1L << 30, &o->max_body), i++;
        } else if (!strcmp(a, "--tls-cert") && v) {
            o->tls_cert = v, i++;
        } else if (!strcmp(a, "--tls-key") && v) {
            o->tls_key = v, i++;
        } else if (!strcmp(a, "--no-ipv6")) {
            o->ipv6 = 0;
        } else {
            fprintf(stderr, "hexsim: unknown or incomplete option '%s'\n%s", a, USAGE);
            rc = -1;
        }
        if (rc)
            return -1;
    }
    return 0;
}

static int load_scenario(const options *o)
{
    char err[256] = "";
    json_object *sc = o->scenario ? json_object_from_file(o->scenario) : json_object_new_object();
    if (!sc || !json_object_is_type(sc, json_type_object)) {
        fprintf(stderr, "hexsim: cannot read scenario %s: %s\n", o->scenario,
                json_util_get_last_err() ? json_util_get_last_err() : "not a JSON object");
        json_object_put(sc);
        return -1;
    }
    hs_w.seed = (uint64_t)o->seed;
    hs_w.max_body = (size_t)o->max_body;
    snprintf(hs_w.profile, sizeof(hs_w.profile), "%s", o->profile ? o->profile : "");
    hs_w.limits = (hs_limits){o->rate_limits, 20, 60, 30, 1800};
    if (hs_world_load(sc, err, sizeof(err)) != 0) {
        fprintf(stderr, "hexsim: %s: %s\n", o->scenario, err);
        return -1;
    }
    if (o->time_scale > 0)
        hs_set_time_scale(o->time_scale);
    return 0;
}

static struct MHD_Daemon *start_v6(unsigned port, unsigned threads, const hs_tls *tls)
{
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6,
                               .sin6_port = htons((uint16_t)port),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    return hs_server_start((struct sockaddr *)&sa6, threads, 1, tls);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? calloc(1, 1 << 20) : NULL;
    if (buf && fread(buf, 1, (1 << 20) - 1, f) == 0) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    if (!buf)
        fprintf(stderr, "hexsim: cannot read %s\n", path);
    return buf;
}

/* Loads the PEM files named by --tls-cert and --tls-key; 0 with tls unused when absent. */
static int load_tls(const options *o, hs_tls *tls, int *enabled)
{
    *enabled = o->tls_cert || o->tls_key;
    if (!*enabled)
        return 0;
    if (!o->tls_cert || !o->tls_key) {
        fprintf(stderr, "hexsim: --tls-cert and --tls-key go together\n");
        return -1;
    }
    tls->cert_pem = read_file(o->tls_cert);
    tls->key_pem = read_file(o->tls_key);
    return tls->cert_pem && tls->key_pem ? 0 : -1;
}

int main(int argc, char **argv)
{
    options o = {.time_scale = 0, .threads = 4, .max_body = 1 << 20, .ipv6 = 1, .seed = 0};
    hs_tls tls = {0};
    int use_tls = 0;
    if (parse_args(argc, argv, &o) != 0 || load_tls(&o, &tls, &use_tls) != 0 ||
        load_scenario(&o) != 0)
        return 2;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Blocked before the pool threads start, so only sigwait below receives them. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (hs_wake_start() != 0) {
        fprintf(stderr, "hexsim: cannot start the timer thread\n");
        return 1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *v4 =
        hs_server_start((struct sockaddr *)&sa, (unsigned)o.threads, 0, use_tls ? &tls : NULL);
    if (!v4) {
        fprintf(stderr, "hexsim: cannot listen on 127.0.0.1:%ld\n", o.port);
        return 1;
    }
    unsigned port = MHD_get_daemon_info(v4, MHD_DAEMON_INFO_BIND_PORT)->port;
    struct MHD_Daemon *v6 = o.ipv6 ? start_v6(port, 2, use_tls ? &tls : NULL) : NULL;
    if (o.ipv6 && !v6)
        fprintf(stderr, "hexsim: ::1 is not available; serving 127.0.0.1 only\n");
    printf("listening on %s://127.0.0.1:%u\n", use_tls ? "https" : "http", port);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    hs_wake_stop(); /* a request inside a delay fault must not hold up the stop */
    if (v6)
        MHD_stop_daemon(v6);
    MHD_stop_daemon(v4);
    free(tls.cert_pem);
    free(tls.key_pem);
    return 0;
}
