/* Unit suite: the curl transport against a loopback HTTP server started inside the test
 * (127.0.0.1, port 0). */
#include <check.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ck_run.h"
#include "http.h"

#define TOKEN "tok-abc123"
#define BIG_BYTES 100000
#define CAP_BYTES 10000

/* ----- a tiny loopback server ----- */

typedef struct server {
    int fd;
    int port;
    int redirect_port; /* where /redirect points */
    pthread_t thread;
    atomic_int stop;
    atomic_int connections;
    atomic_int requests;
} server;

typedef struct conn {
    server *srv;
    int fd;
} conn;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static void reply(int fd, int status, const char *extra_headers, const char *body)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu"
                     "\r\n%s\r\n",
                     status, strlen(body), extra_headers);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* Read one request (head and Content-Length body) into buf. Returns the head length, or
 * -1 when the peer closed or nothing came within 5 s. */
static int read_request(int fd, char *buf, size_t cap, size_t *total)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (len + 1 >= cap || poll(&p, 1, 5000) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t want = head + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
    while (len < want && len + 1 < cap) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *total = len;
    return (int)head;
}

static void header_value(const char *req, const char *name, char *out, size_t outlen)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *p = strcasestr(req, key);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(key);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, outlen, "%.*s", (int)n, p);
}

static void reply_echo(int fd, const char *req, int head)
{
    char method[16] = "", path[512] = "", auth[128], ctype[128], ua[128];
    sscanf(req, "%15s %511s", method, path);
    header_value(req, "Authorization", auth, sizeof auth);
    header_value(req, "Content-Type", ctype, sizeof ctype);
    header_value(req, "User-Agent", ua, sizeof ua);
    char body[2048];
    snprintf(body, sizeof body, "method=%s path=%s auth=%s ctype=%s ua=%s body=%s", method, path,
             auth, ctype, ua, req + head);
    reply(fd, 200, "", body);
}

static void reply_big_chunked(int fd)
{
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    send_all(fd, head, strlen(head));
    char chunk[4096 + 16];
    int n = snprintf(chunk, sizeof chunk, "1000\r\n");
    memset(chunk + n, 'x', 4096);
    memcpy(chunk + n + 4096, "\r\n", 2);
    for (int sent = 0; sent < BIG_BYTES; sent += 4096)
        send_all(fd, chunk, (size_t)n + 4096 + 2);
    send_all(fd, "0\r\n\r\n", 5);
}

/* Returns 0 to keep the connection open for another request. */
static int serve_one(server *srv, int fd, const char *req, int head)
{
    char path[512] = "";
    sscanf(req, "%*15s %511s", path);
    path[strcspn(path, "?")] = '\0';
    if (strcmp(path, "/api/v1/ok") == 0) {
        reply(fd, 200, "", "{\"ok\":true}");
    } else if (strncmp(path, "/api/v1/echo", 12) == 0) {
        reply_echo(fd, req, head);
    } else if (strcmp(path, "/api/v1/big") == 0 || strcmp(path, "/api/v1/exact") == 0) {
        size_t n = path[8] == 'b' ? BIG_BYTES : CAP_BYTES;
        char *body = malloc(n + 1);
        memset(body, 'x', n);
        body[n] = '\0';
        reply(fd, 200, "", body);
        free(body);
    } else if (strcmp(path, "/api/v1/bigchunked") == 0) {
        reply_big_chunked(fd);
        return 1;
    } else if (strcmp(path, "/api/v1/busy") == 0) {
        reply(fd, 503, "Retry-After: 7\r\n", "{\"reason\":\"busy\"}");
    } else if (strcmp(path, "/api/v1/drop") == 0) {
        return 1;
    } else if (strcmp(path, "/api/v1/slow") == 0) {
        for (int i = 0; i < 30 && !atomic_load(&srv->stop); i++)
            usleep(100 * 1000);
        reply(fd, 200, "", "{}");
    } else if (strcmp(path, "/api/v1/redirect") == 0) {
        char loc[128];
        snprintf(loc, sizeof loc, "Location: http://127.0.0.1:%d/api/v1/ok\r\n",
                 srv->redirect_port);
        reply(fd, 302, loc, "");
    } else {
        reply(fd, 404, "", "{\"reason\":\"no such path\"}");
    }
    return 0;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    static char req[65536];
    char *buf = malloc(sizeof req);
    size_t total = 0;
    int head;
    while (buf && (head = read_request(c->fd, buf, sizeof req, &total)) >= 0) {
        atomic_fetch_add(&c->srv->requests, 1);
        if (serve_one(c->srv, c->fd, buf, head))
            break;
    }
    free(buf);
    close(c->fd);
    free(c);
    return NULL;
}

static void *server_main(void *arg)
{
    server *srv = arg;
    while (!atomic_load(&srv->stop)) {
        struct pollfd p = {.fd = srv->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv->fd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&srv->connections, 1);
        conn *c = malloc(sizeof *c);
        c->srv = srv;
        c->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, conn_main, c);
        pthread_detach(t);
    }
    return NULL;
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(server *srv, int redirect_port)
{
    memset(srv, 0, sizeof *srv);
    srv->fd = listen_loopback(&srv->port);
    srv->redirect_port = redirect_port;
    ck_assert_int_eq(pthread_create(&srv->thread, NULL, server_main, srv), 0);
}

static void server_stop(server *srv)
{
    atomic_store(&srv->stop, 1);
    pthread_join(srv->thread, NULL);
    close(srv->fd);
}

/* ----- the client side ----- */

typedef struct result {
    int done;
    int error, sent, status;
    char body[BIG_BYTES + 1];
    size_t body_len;
    char retry_after[64];
    int has_retry_after;
    char error_text[512];
    int64_t elapsed_ms;
} result;

static void on_done(const hexrun__http_resp *r, void *ud)
{
    result *res = ud;
    res->done++;
    res->error = r->error;
    res->sent = r->sent;
    res->status = r->status;
    res->body_len = r->body_len;
    snprintf(res->body, sizeof res->body, "%s", r->body);
    res->has_retry_after = r->retry_after != NULL;
    snprintf(res->retry_after, sizeof res->retry_after, "%s", r->retry_after ? r->retry_after : "");
    snprintf(res->error_text, sizeof res->error_text, "%s", r->error_text);
    res->elapsed_ms = r->elapsed_ms;
}

static server srv;
static hexrun__http *http;
static result res;

static hexrun__http *client_for(int port, const char *suffix, int64_t max_bytes, hexrun__log *log)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, suffix);
    hexrun__http_opts o = {.base_url = url,
                           .token = TOKEN,
                           .timeout_ms = 5000,
                           .connect_timeout_ms = 2000,
                           .proxy = "",
                           .max_response_bytes = max_bytes};
    hexrun__http *h = NULL;
    ck_assert_int_eq(hexrun__http_new(&o, log, &h), HEXRUN_OK);
    return h;
}

static void setup(void)
{
    server_start(&srv, 0);
    http = client_for(srv.port, "", CAP_BYTES, NULL);
    memset(&res, 0, sizeof res);
}

static void teardown(void)
{
    hexrun__http_free(http);
    server_stop(&srv);
}

static void perform_on(hexrun__http *h, const char *method, const char *path, const char *query,
                       const char *body, int64_t timeout_ms)
{
    memset(&res, 0, sizeof res);
    hexrun__http_req req = {.method = method,
                            .path = path,
                            .query = query,
                            .body = body,
                            .timeout_ms = timeout_ms,
                            .done = on_done,
                            .ud = &res};
    ck_assert_int_eq(hexrun__http_start(h, &req), HEXRUN_OK);
    int64_t deadline = now_ms() + 8000;
    while (!res.done && now_ms() < deadline)
        ck_assert_int_ge(hexrun__http_run(h, 100), 0);
    ck_assert_int_eq(res.done, 1);
    ck_assert_int_eq(hexrun__http_in_flight(h), 0);
}

static void perform(const char *method, const char *path, const char *body)
{
    perform_on(http, method, path, NULL, body, 0);
}

START_TEST(ok_gives_status_and_body)
{
    perform("GET", "/v1/ok", NULL);
    ck_assert_int_eq(res.error, HEXRUN_OK);
    ck_assert_int_eq(res.sent, 1);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body, "{\"ok\":true}");
    ck_assert_uint_eq(res.body_len, 11);
    ck_assert_int_eq(res.has_retry_after, 0);
    ck_assert_str_eq(res.error_text, "");
}
END_TEST

START_TEST(request_carries_token_json_and_user_agent)
{
    perform("POST", "/v1/echo", "{\"a\":1}");
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body,
                     "method=POST path=/api/v1/echo auth=Bearer " TOKEN
                     " ctype=application/json ua=hexrun/" HEXRUN_VERSION_STRING " body={\"a\":1}");
    perform("DELETE", "/v1/echo", NULL);
    ck_assert_str_eq(res.body, "method=DELETE path=/api/v1/echo auth=Bearer " TOKEN
                               " ctype= ua=hexrun/" HEXRUN_VERSION_STRING " body=");
    perform_on(http, "GET", "/v1/echo?x=1", "y=2&z=%2F", NULL, 0);
    ck_assert_ptr_nonnull(strstr(res.body, "path=/api/v1/echo?x=1&y=2&z=%2F "));
    perform_on(http, "GET", "/v1/echo", "limit=5", NULL, 0);
    ck_assert_ptr_nonnull(strstr(res.body, "path=/api/v1/echo?limit=5 "));
}
END_TEST

START_TEST(base_url_trailing_slash_and_user_agent_option)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d///", srv.port);
    hexrun__http_opts o = {
        .base_url = url, .token = TOKEN, .user_agent = "hexrun/1 (test)", .proxy = ""};
    hexrun__http *h = NULL;
    ck_assert_int_eq(hexrun__http_new(&o, NULL, &h), HEXRUN_OK);
    perform_on(h, "PATCH", "/v1/echo", NULL, "{}", 0);
    ck_assert_ptr_nonnull(strstr(res.body, "method=PATCH path=/api/v1/echo auth="));
    ck_assert_ptr_nonnull(strstr(res.body, "ua=hexrun/1 (test) "));
    hexrun__http_free(h);
}
END_TEST

START_TEST(keep_alive_reuses_one_connection)
{
    for (int i = 0; i < 5; i++) {
        perform("GET", "/v1/ok", NULL);
        ck_assert_int_eq(res.status, 200);
    }
    ck_assert_int_eq(atomic_load(&srv.requests), 5);
    ck_assert_int_eq(atomic_load(&srv.connections), 1);
}
END_TEST

START_TEST(concurrent_attempts_all_complete)
{
    result many[8];
    memset(many, 0, sizeof many);
    for (int i = 0; i < 8; i++) {
        hexrun__http_req req = {.method = "GET",
                                .path = i % 2 ? "/v1/ok" : "/v1/busy",
                                .done = on_done,
                                .ud = &many[i]};
        ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_OK);
    }
    ck_assert_int_eq(hexrun__http_in_flight(http), 8);
    int64_t deadline = now_ms() + 8000;
    while (hexrun__http_run(http, 100) > 0 && now_ms() < deadline)
        ;
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(many[i].done, 1);
        ck_assert_int_eq(many[i].status, i % 2 ? 200 : 503);
    }
}
END_TEST

START_TEST(many_attempts_share_a_bounded_pool)
{
    enum { N = 60 };
    static result many[N];
    memset(many, 0, sizeof many);
    for (int i = 0; i < N; i++) {
        hexrun__http_req req = {.method = "GET", .path = "/v1/ok", .done = on_done, .ud = &many[i]};
        ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_OK);
    }
    int64_t deadline = now_ms() + 8000;
    while (hexrun__http_run(http, 100) > 0 && now_ms() < deadline)
        ;
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(many[i].status, 200);
    ck_assert_int_eq(atomic_load(&srv.requests), N);
    ck_assert_int_le(atomic_load(&srv.connections), HEXRUN__HTTP_MAX_CONNECTIONS);
}
END_TEST

START_TEST(oversize_body_with_length_is_refused)
{
    perform("GET", "/v1/big", NULL);
    ck_assert_int_eq(res.error, HEXRUN_E_TOO_LARGE);
    ck_assert_int_eq(res.sent, 1);
    ck_assert_ptr_nonnull(strstr(res.error_text, "max_response_bytes (10000)"));
    ck_assert_uint_le(res.body_len, CAP_BYTES);
}
END_TEST

START_TEST(oversize_chunked_body_is_cut_while_receiving)
{
    perform("GET", "/v1/bigchunked", NULL);
    ck_assert_int_eq(res.error, HEXRUN_E_TOO_LARGE);
    ck_assert_uint_le(res.body_len, CAP_BYTES);
}
END_TEST

START_TEST(body_of_exactly_the_cap_is_accepted)
{
    perform("GET", "/v1/exact", NULL);
    ck_assert_int_eq(res.error, HEXRUN_OK);
    ck_assert_uint_eq(res.body_len, CAP_BYTES);
}
END_TEST

START_TEST(busy_503_gives_retry_after)
{
    perform("POST", "/v1/busy", "{}");
    ck_assert_int_eq(res.error, HEXRUN_OK);
    ck_assert_int_eq(res.status, 503);
    ck_assert_str_eq(res.retry_after, "7");
    ck_assert_int_eq(hexrun__retry_after_parse(res.retry_after, 0), 7000);
    ck_assert_str_eq(res.body, "{\"reason\":\"busy\"}");
    ck_assert_int_eq(hexrun__http_error_from_status(res.status), HEXRUN_E_UNAVAILABLE);
}
END_TEST

START_TEST(drop_before_reply_is_sent_and_outcome_unknown_for_post)
{
    perform("POST", "/v1/drop", "{}");
    ck_assert_int_eq(res.error, HEXRUN_E_TRANSPORT);
    ck_assert_int_eq(res.sent, 1);
    ck_assert_int_eq(res.status, 0);
    ck_assert_str_ne(res.error_text, "");
    hexrun__http_resp r = {.error = res.error, .sent = res.sent, .status = res.status};
    ck_assert_int_eq(hexrun__retry_should(HEXRUN__RETRY_RUN_PROJECT, &r), 0);
    ck_assert_int_eq(hexrun__retry_outcome_unknown(HEXRUN__RETRY_RUN_PROJECT, &r), 1);
}
END_TEST

START_TEST(slow_reply_times_out_as_sent)
{
    int64_t t0 = now_ms();
    perform_on(http, "GET", "/v1/slow", NULL, NULL, 300);
    ck_assert_int_eq(res.error, HEXRUN_E_TRANSPORT);
    ck_assert_int_eq(res.sent, 1);
    ck_assert_int_lt(now_ms() - t0, 2000);
    ck_assert_ptr_nonnull(strstr(res.error_text, "timed out"));
}
END_TEST

START_TEST(connect_refused_is_not_sent)
{
    int port;
    int fd = listen_loopback(&port);
    close(fd); /* nothing listens there now */
    hexrun__http *h = client_for(port, "", 0, NULL);
    perform_on(h, "POST", "/v1/ok", NULL, "{}", 0);
    ck_assert_int_eq(res.error, HEXRUN_E_TRANSPORT);
    ck_assert_int_eq(res.sent, 0);
    ck_assert_int_eq(res.status, 0);
    hexrun__http_resp r = {.error = res.error, .sent = res.sent};
    ck_assert_int_eq(hexrun__retry_should(HEXRUN__RETRY_RUN_PROJECT, &r), 1);
    ck_assert_int_eq(hexrun__retry_outcome_unknown(HEXRUN__RETRY_RUN_PROJECT, &r), 0);
    hexrun__http_free(h);
}
END_TEST

START_TEST(redirect_to_another_host_is_not_followed)
{
    server other;
    server_start(&other, 0);
    server redirecting;
    server_start(&redirecting, other.port);
    hexrun__http *h = client_for(redirecting.port, "", 0, NULL);
    perform_on(h, "GET", "/v1/redirect", NULL, NULL, 0);
    ck_assert_int_eq(res.error, HEXRUN_OK);
    ck_assert_int_eq(res.status, 302);
    ck_assert_int_eq(hexrun__http_error_from_status(res.status), HEXRUN_E_HTTP);
    usleep(200 * 1000);
    /* The other host never saw a request, so never saw the Authorization header. */
    ck_assert_int_eq(atomic_load(&other.connections), 0);
    ck_assert_int_eq(atomic_load(&other.requests), 0);
    hexrun__http_free(h);
    server_stop(&redirecting);
    server_stop(&other);
}
END_TEST

START_TEST(loopback_base_url_ignores_environment_proxy)
{
    server proxy;
    server_start(&proxy, 0);
    char proxy_url[64];
    snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", proxy.port);
    setenv("http_proxy", proxy_url, 1);
    setenv("HTTP_PROXY", proxy_url, 1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    hexrun__http_opts o = {.base_url = url, .token = TOKEN};
    hexrun__http *h = NULL;
    ck_assert_int_eq(hexrun__http_new(&o, NULL, &h), HEXRUN_OK);
    perform_on(h, "GET", "/v1/ok", NULL, NULL, 0);
    ck_assert_int_eq(res.status, 200);
    ck_assert_int_eq(atomic_load(&proxy.connections), 0);
    ck_assert_int_eq(atomic_load(&srv.requests), 1);
    hexrun__http_free(h);
    server_stop(&proxy);
}
END_TEST

typedef struct chain {
    hexrun__http *h;
    int done;
    int statuses[2];
} chain;

static void on_chain_done(const hexrun__http_resp *r, void *ud)
{
    chain *c = ud;
    c->statuses[c->done++] = r->status;
    if (c->done == 1) {
        /* What the engine does for a retry: start the next attempt from the callback. */
        hexrun__http_req next = {.method = "GET", .path = "/v1/ok", .done = on_chain_done, .ud = c};
        ck_assert_int_eq(hexrun__http_start(c->h, &next), HEXRUN_OK);
    }
}

START_TEST(done_callback_may_start_the_next_attempt)
{
    chain c = {.h = http};
    hexrun__http_req req = {.method = "GET", .path = "/v1/busy", .done = on_chain_done, .ud = &c};
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_OK);
    int64_t deadline = now_ms() + 8000;
    while (c.done < 2 && now_ms() < deadline)
        hexrun__http_run(http, 100);
    ck_assert_int_eq(c.done, 2);
    ck_assert_int_eq(c.statuses[0], 503);
    ck_assert_int_eq(c.statuses[1], 200);
    ck_assert_int_eq(hexrun__http_in_flight(http), 0);
}
END_TEST

START_TEST(bad_requests_are_refused_without_callback)
{
    hexrun__http_req req = {.method = "GET", .path = "/v1/ok", .done = on_done, .ud = &res};
    req.method = "TRACE";
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_E_INVALID_ARG);
    req.method = "get";
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_E_INVALID_ARG);
    req.method = "GET";
    req.path = "v1/ok";
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_E_INVALID_ARG);
    req.path = "/v1/o k";
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_E_INVALID_ARG);
    req.path = "/v1/ok\r\nX-Evil: 1";
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_E_INVALID_ARG);
    req.path = "/v1/ok";
    req.query = "a=1\nb=2";
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_E_INVALID_ARG);
    req.query = NULL;
    req.done = NULL;
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun__http_start(http, NULL), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun__http_in_flight(http), 0);
    ck_assert_int_eq(res.done, 0);
}
END_TEST

START_TEST(bad_options_are_refused)
{
    hexrun__http *h = (hexrun__http *)1;
    hexrun__http_opts o = {.base_url = "ftp://127.0.0.1", .token = TOKEN};
    ck_assert_int_eq(hexrun__http_new(&o, NULL, &h), HEXRUN_E_INVALID_ARG);
    ck_assert_ptr_null(h);
    o.base_url = "http://127.0.0.1/a b";
    ck_assert_int_eq(hexrun__http_new(&o, NULL, &h), HEXRUN_E_INVALID_ARG);
    o.base_url = "http://127.0.0.1/?x";
    ck_assert_int_eq(hexrun__http_new(&o, NULL, &h), HEXRUN_E_INVALID_ARG);
    o.base_url = "http://127.0.0.1";
    o.token = "";
    ck_assert_int_eq(hexrun__http_new(&o, NULL, &h), HEXRUN_E_INVALID_ARG);
    o.token = "a\r\nX-Evil: 1";
    ck_assert_int_eq(hexrun__http_new(&o, NULL, &h), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun__http_new(NULL, NULL, &h), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun__http_new(&o, NULL, NULL), HEXRUN_E_INVALID_ARG);
    hexrun__http_free(NULL);
}
END_TEST

typedef struct waker {
    hexrun__http *http;
    atomic_llong woke_at; /* now_ms() just before the wake-up; 0 before */
} waker;

static void *wake_later(void *arg)
{
    waker *w = arg;
    usleep(200 * 1000); /* most often the run waits by then; if not, the wake-up still counts */
    atomic_store(&w->woke_at, now_ms());
    hexrun__http_wakeup(w->http);
    return NULL;
}

START_TEST(wakeup_interrupts_a_waiting_run)
{
    /* Idle, the run would wait its whole limit (10 s): it returns after the wake-up and
     * before that limit, however late the waking thread gets to run. */
    waker w = {.http = http};
    pthread_t t;
    int64_t t0 = now_ms();
    ck_assert_int_eq(pthread_create(&t, NULL, wake_later, &w), 0);
    ck_assert_int_eq(hexrun__http_run(http, 10000), 0);
    int64_t returned = now_ms();
    pthread_join(t, NULL);
    int64_t woke_at = atomic_load(&w.woke_at);
    ck_assert_msg(woke_at && returned >= woke_at, "the run returned %lld ms in, before the wake-up",
                  (long long)(returned - t0));
    ck_assert_msg(returned - t0 < 10000,
                  "the run waited its whole limit: the wake-up did not end it");
}
END_TEST

START_TEST(free_aborts_attempts_in_flight)
{
    hexrun__http_req req = {.method = "GET", .path = "/v1/slow", .done = on_done, .ud = &res};
    ck_assert_int_eq(hexrun__http_start(http, &req), HEXRUN_OK);
    hexrun__http_run(http, 100);
    ck_assert_int_eq(res.done, 0);
    hexrun__http_free(http);
    http = NULL;
    ck_assert_int_eq(res.done, 1);
    ck_assert_int_eq(res.error, HEXRUN_E_TRANSPORT);
    ck_assert_int_eq(res.sent, 1);
    ck_assert_str_eq(res.error_text, "aborted");
}
END_TEST

typedef struct lines {
    int n;
    int leaked;
    int saw_http;
} lines;

static void collect(int32_t level, const char *message, void *ud)
{
    (void)level;
    lines *l = ud;
    l->n++;
    l->leaked |= strstr(message, TOKEN) != NULL;
    l->saw_http |=
        strstr(message, "event=http method=GET") != NULL && strstr(message, "status=503") != NULL;
}

START_TEST(debug_log_has_one_line_per_attempt_without_token)
{
    lines l = {0};
    const char *const secrets[] = {TOKEN, NULL};
    hexrun__log *log = hexrun__log_new(HEXRUN_LOG_DEBUG, collect, &l, secrets);
    hexrun__http *h = client_for(srv.port, "", 0, log);
    perform_on(h, "GET", "/v1/busy", "t=" TOKEN, NULL, 0);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(l.saw_http, 1);
    ck_assert_int_eq(l.leaked, 0);
    hexrun__http_free(h);
    hexrun__log_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("loopback");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, ok_gives_status_and_body);
    tcase_add_test(tc, request_carries_token_json_and_user_agent);
    tcase_add_test(tc, base_url_trailing_slash_and_user_agent_option);
    tcase_add_test(tc, keep_alive_reuses_one_connection);
    tcase_add_test(tc, concurrent_attempts_all_complete);
    tcase_add_test(tc, many_attempts_share_a_bounded_pool);
    tcase_add_test(tc, oversize_body_with_length_is_refused);
    tcase_add_test(tc, oversize_chunked_body_is_cut_while_receiving);
    tcase_add_test(tc, body_of_exactly_the_cap_is_accepted);
    tcase_add_test(tc, busy_503_gives_retry_after);
    tcase_add_test(tc, drop_before_reply_is_sent_and_outcome_unknown_for_post);
    tcase_add_test(tc, slow_reply_times_out_as_sent);
    tcase_add_test(tc, connect_refused_is_not_sent);
    tcase_add_test(tc, redirect_to_another_host_is_not_followed);
    tcase_add_test(tc, loopback_base_url_ignores_environment_proxy);
    tcase_add_test(tc, done_callback_may_start_the_next_attempt);
    tcase_add_test(tc, bad_requests_are_refused_without_callback);
    tcase_add_test(tc, bad_options_are_refused);
    tcase_add_test(tc, wakeup_interrupts_a_waiting_run);
    tcase_add_test(tc, free_aborts_attempts_in_flight);
    tcase_add_test(tc, debug_log_has_one_line_per_attempt_without_token);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
