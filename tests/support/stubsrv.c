/* stubsrv.c - see stubsrv.h. */
#include "stubsrv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define BODY_MAX (1 << 20)
#define IO_TIMEOUT_MS 10000

struct stub_server {
    int fd;
    char base_url[64];
    stub_handler fn;
    void *ud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping, active, requests;
};

typedef struct conn {
    stub_server *s;
    int fd;
} conn;

char *stub_printf(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

/* Read what has arrived (up to cap bytes, waiting at most IO_TIMEOUT_MS); -1 on EOF. */
static int read_some(int fd, char *buf, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
        return -1;
    ssize_t n = read(fd, buf, cap);
    return n <= 0 ? -1 : (int)n;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        /* The client may have gone (a shutdown aborts its transfers): an error, never a
         * SIGPIPE that kills the test. */
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Parse one request; returns 0 or -1 (req->body malloc'd on success). */
static int read_request(int fd, stub_req *req)
{
    char head[HEAD_MAX + 1];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len >= HEAD_MAX)
            return -1;
        int n = read_some(fd, head + len, HEAD_MAX - len);
        if (n < 0)
            return -1;
        len += (size_t)n;
        head[len] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    char target[sizeof req->path + sizeof req->query];
    if (sscanf(head, "%15s %3071s", req->method, target) != 2)
        return -1;
    char *q = strchr(target, '?');
    snprintf(req->query, sizeof req->query, "%s", q ? q + 1 : "");
    if (q)
        *q = '\0';
    if (strlen(target) >= sizeof req->path)
        return -1;
    memcpy(req->path, target, strlen(target) + 1);
    size_t clen = 0;
    for (char *line = strstr(head, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            clen = strtoul(line + 17, NULL, 10);
    if (clen > BODY_MAX)
        return -1;
    size_t have = len - (size_t)(end + 4 - head);
    req->body = calloc(1, clen + 1);
    if (!req->body)
        return -1;
    memcpy(req->body, end + 4, have < clen ? have : clen);
    while (have < clen) {
        int n = read_some(fd, req->body + have, clen - have);
        if (n < 0) {
            free(req->body);
            return -1;
        }
        have += (size_t)n;
    }
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    default:
        return "Status";
    }
}

static void answer(int fd, const stub_resp *resp)
{
    if (resp->delay_ms > 0) {
        struct timespec ts = {resp->delay_ms / 1000, (resp->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    size_t blen = resp->body ? strlen(resp->body) : 0;
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     resp->status, reason(resp->status), blen, resp->headers);
    if (write_all(fd, head, (size_t)n) == 0 && blen)
        write_all(fd, resp->body, blen);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    stub_server *s = c->s;
    stub_req req;
    memset(&req, 0, sizeof req);
    if (read_request(c->fd, &req) == 0) {
        stub_resp resp = {.status = 200};
        s->fn(&req, &resp, s->ud);
        answer(c->fd, &resp);
        free(resp.body);
        free(req.body);
        pthread_mutex_lock(&s->mu);
        s->requests++;
        pthread_mutex_unlock(&s->mu);
    }
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    stub_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stopping)
            return NULL;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        conn *c = fd >= 0 ? malloc(sizeof *c) : NULL;
        if (!c) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        pthread_t t;
        pthread_mutex_lock(&s->mu);
        s->active++;
        pthread_mutex_unlock(&s->mu);
        if (pthread_create(&t, NULL, conn_main, c) == 0) {
            pthread_detach(t);
        } else {
            close(fd);
            free(c);
            pthread_mutex_lock(&s->mu);
            s->active--;
            pthread_mutex_unlock(&s->mu);
        }
    }
}

stub_server *stub_start(stub_handler fn, void *ud)
{
    stub_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fn = fn;
    s->ud = ud;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 64) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0 ||
        pthread_create(&s->thread, NULL, accept_main, s) != 0) {
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return NULL;
    }
    snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    return s;
}

const char *stub_base_url(const stub_server *s)
{
    return s->base_url;
}

int stub_requests(stub_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void stub_stop(stub_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->fd);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&s->mu);
    while (s->active > 0 && pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == 0)
        ;
    int left = s->active;
    pthread_mutex_unlock(&s->mu);
    if (left == 0) { /* else a connection thread still uses s: leak it rather than crash */
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
    }
}
