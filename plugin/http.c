/* http.c - libcurl multi transport and retry policy; see http.h. The only curl user. */
#include "http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "url.h"

#define RETRY_AFTER_CAP_MS HEXRUN__RETRY_AFTER_MAX_MS

typedef struct http_attempt {
    struct http_attempt *prev, *next;
    hexrun__http *http;
    CURL *easy;
    char *url;
    char *method;
    char *body;
    struct curl_slist *headers;
    hexrun__buf resp_body;
    char *retry_after;
    int too_large;
    hexrun__http_done_fn done;
    void *ud;
    char errbuf[CURL_ERROR_SIZE];
} http_attempt;

struct hexrun__http {
    CURLM *multi;
    hexrun__log *log;
    char *api_base; /* "<base_url>/api", no trailing slash */
    char *auth_header;
    char *user_agent;
    char *ca_file;
    char *proxy;
    int insecure;
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    int64_t max_response_bytes;
    http_attempt *attempts;
    int in_flight;
    int watch_fd; /* hexrun__http_watch_fd's, or -1 */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* curl_global_init is called once per process and never undone: another part of the
 * host may use libcurl too, and global cleanup is not safe while it does. */
static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int base_url_ok(const char *url)
{
    return url && (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0) &&
           !strpbrk(url, " \t\r\n?#");
}

/* A loopback base URL (hexsim in tests, demos and benchmarks) never goes through a proxy
 * taken from the environment: that traffic must stay on this host. The match is exact
 * (url.h): "127.example.com" is a name like any other and keeps its proxy. */
static int base_url_is_loopback(const char *url)
{
    char host[256];
    return hexrun__url_host(url, host, sizeof host) == 0 && hexrun__host_is_loopback(host);
}

static int http_copy_opts(hexrun__http *http, const hexrun__http_opts *opts)
{
    size_t n = strlen(opts->base_url);
    while (n && opts->base_url[n - 1] == '/')
        n--;
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_append(&b, opts->base_url, n);
    hexrun__buf_appends(&b, "/api");
    http->api_base = hexrun__buf_steal(&b);
    hexrun__buf_appendf(&b, "Authorization: Bearer %s", opts->token);
    http->auth_header = hexrun__buf_steal(&b);
    http->user_agent =
        strdup(opts->user_agent ? opts->user_agent : "hexrun/" HEXRUN_VERSION_STRING);
    http->ca_file = dup_or_null(opts->ca_file);
    http->proxy = dup_or_null(opts->proxy);
    if (!http->api_base || !http->auth_header || !http->user_agent ||
        (opts->ca_file && !http->ca_file) || (opts->proxy && !http->proxy))
        return HEXRUN_E_NOMEM;
    if (!http->proxy && base_url_is_loopback(opts->base_url)) {
        http->proxy = strdup("");
        if (!http->proxy)
            return HEXRUN_E_NOMEM;
    }
    http->insecure = opts->insecure_skip_verify;
    http->timeout_ms = opts->timeout_ms;
    http->connect_timeout_ms = opts->connect_timeout_ms;
    http->max_response_bytes = opts->max_response_bytes;
    return HEXRUN_OK;
}

int hexrun__http_new(const hexrun__http_opts *opts, hexrun__log *log, hexrun__http **out)
{
    if (!out)
        return HEXRUN_E_INVALID_ARG;
    *out = NULL;
    if (!opts || !base_url_ok(opts->base_url) || !opts->token || !opts->token[0] ||
        strpbrk(opts->token, "\r\n"))
        return HEXRUN_E_INVALID_ARG;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK)
        return HEXRUN_E_TRANSPORT;
    hexrun__http *http = calloc(1, sizeof *http);
    if (!http)
        return HEXRUN_E_NOMEM;
    http->log = log;
    http->watch_fd = -1;
    int rc = http_copy_opts(http, opts);
    if (rc == HEXRUN_OK) {
        http->multi = curl_multi_init();
        if (!http->multi)
            rc = HEXRUN_E_TRANSPORT;
    }
    if (rc != HEXRUN_OK) {
        hexrun__http_free(http);
        return rc;
    }
    curl_multi_setopt(http->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* Hundreds of jobs must not mean hundreds of sockets to one API host: further
     * attempts wait inside curl for a free connection (and count as not sent if their
     * timeout ends there). */
    curl_multi_setopt(http->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)HEXRUN__HTTP_MAX_CONNECTIONS);
    curl_multi_setopt(http->multi, CURLMOPT_MAXCONNECTS, (long)HEXRUN__HTTP_MAX_CONNECTIONS);
    if (http->insecure)
        hexrun__log_write(log, HEXRUN_LOG_WARN,
                          "event=tls_insecure detail=\"certificate verification is off\"");
    *out = http;
    return HEXRUN_OK;
}

static void attempt_free(http_attempt *a)
{
    if (a->easy)
        curl_easy_cleanup(a->easy);
    curl_slist_free_all(a->headers);
    free(a->url);
    free(a->method);
    free(a->body);
    free(a->retry_after);
    hexrun__buf_free(&a->resp_body);
    free(a);
}

static void attempt_unlink(hexrun__http *http, http_attempt *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        http->attempts = a->next;
    if (a->next)
        a->next->prev = a->prev;
    http->in_flight--;
}

static void deliver_abort(http_attempt *a)
{
    hexrun__http_resp resp = {
        .error = HEXRUN_E_TRANSPORT, .sent = 1, .body = "", .error_text = "aborted"};
    a->done(&resp, a->ud);
}

void hexrun__http_free(hexrun__http *http)
{
    if (!http)
        return;
    while (http->attempts) {
        http_attempt *a = http->attempts;
        curl_multi_remove_handle(http->multi, a->easy);
        attempt_unlink(http, a);
        deliver_abort(a);
        attempt_free(a);
    }
    if (http->multi)
        curl_multi_cleanup(http->multi);
    free(http->api_base);
    free(http->auth_header);
    free(http->user_agent);
    free(http->ca_file);
    free(http->proxy);
    free(http);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    http_attempt *a = ud;
    size_t n = size * nmemb;
    int64_t cap = a->http->max_response_bytes;
    if (cap > 0 && (int64_t)(a->resp_body.len + n) > cap) {
        a->too_large = 1;
        return 0; /* aborts the transfer: the cap holds while receiving */
    }
    /* A known length (within the cap) is reserved at once: no growth by doubling, no
     * copies while a large body arrives. */
    curl_off_t length = -1;
    if (!a->resp_body.cap &&
        curl_easy_getinfo(a->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0 && (cap <= 0 || length <= cap))
        hexrun__buf_reserve(&a->resp_body, (size_t)length);
    return hexrun__buf_append(&a->resp_body, data, n) == 0 ? n : 0;
}

char *hexrun__http_take_body(const hexrun__http_resp *resp)
{
    http_attempt *a = resp->attempt;
    if (!a || !a->resp_body.data)
        return strdup("");
    char *body = a->resp_body.data;
    a->resp_body = (hexrun__buf)HEXRUN__BUF_INIT;
    return body;
}

static char *trimmed_copy(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return strndup(s, len);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    http_attempt *a = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget headers of the previous one. */
        free(a->retry_after);
        a->retry_after = NULL;
    } else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        free(a->retry_after);
        a->retry_after = trimmed_copy(data + 12, n - 12);
    }
    return n;
}

static int text_ok(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    return 1;
}

static char *build_url(const hexrun__http *http, const char *path, const char *query)
{
    hexrun__buf b = HEXRUN__BUF_INIT;
    hexrun__buf_appends(&b, http->api_base);
    hexrun__buf_appends(&b, path);
    if (query && query[0]) {
        hexrun__buf_appends(&b, strchr(path, '?') ? "&" : "?");
        hexrun__buf_appends(&b, query);
    }
    return hexrun__buf_steal(&b);
}

static int method_ok(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (m && strcmp(m, known[i]) == 0)
            return 1;
    return 0;
}

static int attempt_headers(http_attempt *a)
{
    const hexrun__http *http = a->http;
    const char *lines[] = {http->auth_header, "Accept: application/json",
                           /* no 100-continue round trip for small JSON bodies */
                           "Expect:", a->body ? "Content-Type: application/json" : NULL};
    for (size_t i = 0; i < sizeof lines / sizeof *lines && lines[i]; i++) {
        struct curl_slist *l = curl_slist_append(a->headers, lines[i]);
        if (!l)
            return HEXRUN_E_NOMEM;
        a->headers = l;
    }
    return HEXRUN_OK;
}

static void attempt_setopts(http_attempt *a, int64_t timeout_ms)
{
    const hexrun__http *http = a->http;
    CURL *e = a->easy;
    curl_easy_setopt(e, CURLOPT_URL, a->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* Our own floor, whatever the system's TLS library allows (security.md). */
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, http->user_agent);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(e, CURLOPT_PRIVATE, a);
    if (timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    if (http->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)http->connect_timeout_ms);
    if (http->max_response_bytes > 0)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)http->max_response_bytes);
    if (http->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, http->ca_file);
    if (http->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (http->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, http->proxy);
    /* libcurl re-sends a request by itself when a reused keep-alive connection dies before
     * any answer. For POST and PATCH that could be a second Hex run, so they always get a
     * connection of their own (a few per minute at most: the handshake is cheap). */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT,
                     hexrun__retry_kind_of(a->method) == HEXRUN__RETRY_NON_IDEMPOTENT ? 1L : 0L);
    if (strcmp(a->method, "GET") == 0)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(a->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, a->method);
    if (a->body || strcmp(a->method, "POST") == 0) {
        const char *body = a->body ? a->body : "";
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
}

static int attempt_make(hexrun__http *http, const hexrun__http_req *req, http_attempt **out)
{
    http_attempt *a = calloc(1, sizeof *a);
    if (!a)
        return HEXRUN_E_NOMEM;
    a->http = http;
    a->done = req->done;
    a->ud = req->ud;
    a->url = build_url(http, req->path, req->query);
    a->method = strdup(req->method);
    a->body = dup_or_null(req->body);
    a->easy = curl_easy_init();
    if (!a->url || !a->method || (req->body && !a->body) || !a->easy ||
        attempt_headers(a) != HEXRUN_OK) {
        attempt_free(a);
        return HEXRUN_E_NOMEM;
    }
    attempt_setopts(a, req->timeout_ms > 0 ? req->timeout_ms : http->timeout_ms);
    *out = a;
    return HEXRUN_OK;
}

int hexrun__http_start(hexrun__http *http, const hexrun__http_req *req)
{
    if (!http || !req || !req->done || !method_ok(req->method) || !req->path ||
        req->path[0] != '/' || !text_ok(req->path) || !text_ok(req->query))
        return HEXRUN_E_INVALID_ARG;
    http_attempt *a = NULL;
    int rc = attempt_make(http, req, &a);
    if (rc != HEXRUN_OK)
        return rc;
    if (curl_multi_add_handle(http->multi, a->easy) != CURLM_OK) {
        attempt_free(a);
        return HEXRUN_E_NOMEM;
    }
    a->next = http->attempts;
    if (a->next)
        a->next->prev = a;
    http->attempts = a;
    http->in_flight++;
    return HEXRUN_OK;
}

static int is_tls_error(CURLcode rc)
{
    return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
           rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_ENGINE_NOTFOUND ||
           rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CRL_BADFILE ||
           rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || rc == CURLE_SSL_INVALIDCERTSTATUS;
}

/* Whether the request may have reached the server. Before the connection was ready
 * (pretransfer never reached) nothing of the request was written. */
static int attempt_was_sent(CURL *e, CURLcode rc)
{
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
        rc == CURLE_COULDNT_CONNECT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
        rc == CURLE_URL_MALFORMAT || is_tls_error(rc))
        return 0;
    curl_off_t pretransfer = 0;
    if (curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) == CURLE_OK &&
        pretransfer == 0)
        return 0;
    return 1;
}

static void fill_error(http_attempt *a, CURLcode rc, hexrun__http_resp *resp, char *text,
                       size_t textlen)
{
    if (rc == CURLE_OK) {
        resp->error = HEXRUN_OK;
        resp->sent = 1;
        text[0] = '\0';
        return;
    }
    if (a->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        resp->error = HEXRUN_E_TOO_LARGE;
        resp->sent = 1;
        snprintf(text, textlen, "response larger than max_response_bytes (%lld)",
                 (long long)a->http->max_response_bytes);
        return;
    }
    if (a->resp_body.failed) {
        resp->error = HEXRUN_E_NOMEM;
        resp->sent = 1;
        snprintf(text, textlen, "out of memory while receiving the response");
        return;
    }
    resp->error = is_tls_error(rc) ? HEXRUN_E_TLS : HEXRUN_E_TRANSPORT;
    resp->sent = attempt_was_sent(a->easy, rc);
    char raw[CURL_ERROR_SIZE + 64];
    snprintf(raw, sizeof raw, "%s (curl %d)", a->errbuf[0] ? a->errbuf : curl_easy_strerror(rc),
             (int)rc);
    hexrun__log_redact(a->http->log, raw, text, textlen);
}

static void attempt_finish(hexrun__http *http, http_attempt *a, CURLcode rc)
{
    char text[CURL_ERROR_SIZE + 128];
    hexrun__http_resp resp = {0};
    fill_error(a, rc, &resp, text, sizeof text);
    long status = 0;
    curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t total_us = 0, up = 0;
    curl_easy_getinfo(a->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(a->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    resp.status = (int)status;
    resp.body = a->resp_body.data ? a->resp_body.data : "";
    resp.body_len = a->resp_body.len;
    resp.retry_after = a->retry_after;
    resp.error_text = text;
    resp.elapsed_ms = (int64_t)(total_us / 1000);
    resp.bytes_sent = (uint64_t)up;
    resp.bytes_received = a->resp_body.len;
    resp.attempt = a;
    hexrun__log_write(http->log, HEXRUN_LOG_DEBUG,
                      "event=http method=%s url=%s status=%d error=%d sent=%d ms=%lld "
                      "bytes=%zu%s%s",
                      a->method, a->url, resp.status, resp.error, resp.sent,
                      (long long)resp.elapsed_ms, resp.body_len, text[0] ? " detail=" : "", text);
    a->done(&resp, a->ud);
}

static int collect_finished(hexrun__http *http)
{
    CURLMsg *msg;
    int left, finished = 0;
    while ((msg = curl_multi_info_read(http->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        http_attempt *a = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&a);
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(http->multi, a->easy);
        attempt_unlink(http, a);
        attempt_finish(http, a, rc);
        attempt_free(a);
        finished++;
    }
    return finished;
}

int hexrun__http_run(hexrun__http *http, int timeout_ms)
{
    int running = 0;
    if (curl_multi_perform(http->multi, &running) != CURLM_OK)
        return HEXRUN_E_TRANSPORT;
    /* Return at once when something finished: the caller may have new work to start. */
    if (collect_finished(http) == 0 && timeout_ms > 0) {
        struct curl_waitfd extra = {.fd = http->watch_fd, .events = CURL_WAIT_POLLIN};
        if (curl_multi_poll(http->multi, &extra, http->watch_fd >= 0, timeout_ms, NULL) != CURLM_OK)
            return HEXRUN_E_TRANSPORT;
        if (curl_multi_perform(http->multi, &running) != CURLM_OK)
            return HEXRUN_E_TRANSPORT;
        collect_finished(http);
    }
    return http->in_flight;
}

int hexrun__http_in_flight(const hexrun__http *http)
{
    return http ? http->in_flight : 0;
}

void hexrun__http_watch_fd(hexrun__http *http, int fd)
{
    if (http)
        http->watch_fd = fd;
}

void hexrun__http_wakeup(hexrun__http *http)
{
    if (http)
        curl_multi_wakeup(http->multi);
}

int hexrun__http_escape(const char *in, char *out, size_t outlen)
{
    static const char hexdigits[] = "0123456789ABCDEF";
    if (!in || !out)
        return -1;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int plain = isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        size_t need = plain ? 1 : 3;
        if (o + need >= outlen)
            return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hexdigits[*p >> 4];
            out[o++] = hexdigits[*p & 15];
        }
    }
    if (o >= outlen)
        return -1;
    out[o] = '\0';
    return (int)o;
}

int hexrun__http_error_from_status(int status)
{
    if (status >= 200 && status < 300)
        return HEXRUN_OK;
    switch (status) {
    case 400:
    case 422:
        return HEXRUN_E_INVALID_REQUEST;
    case 401:
        return HEXRUN_E_AUTH;
    case 403:
        return HEXRUN_E_FORBIDDEN;
    case 404:
        return HEXRUN_E_NOT_FOUND;
    case 429:
        return HEXRUN_E_RATE_LIMITED;
    default:
        return status >= 500 && status < 600 ? HEXRUN_E_UNAVAILABLE : HEXRUN_E_HTTP;
    }
}

/* ---------------------------------------------------------------------------------------
 * Retry policy
 * ------------------------------------------------------------------------------------- */

hexrun__retry_kind hexrun__retry_kind_of(const char *method)
{
    if (method && (strcasecmp(method, "GET") == 0 || strcasecmp(method, "PUT") == 0 ||
                   strcasecmp(method, "DELETE") == 0))
        return HEXRUN__RETRY_IDEMPOTENT;
    return HEXRUN__RETRY_NON_IDEMPOTENT;
}

int hexrun__retry_should(hexrun__retry_kind kind, const hexrun__http_resp *resp)
{
    if (!resp)
        return 0;
    /* A certificate problem or an oversize answer does not change on a second try. */
    if (resp->error == HEXRUN_E_TRANSPORT)
        return kind == HEXRUN__RETRY_IDEMPOTENT || !resp->sent;
    if (resp->error != HEXRUN_OK)
        return 0;
    if (resp->status == 429 || resp->status == 503)
        return 1;
    return kind == HEXRUN__RETRY_IDEMPOTENT && resp->status >= 500 && resp->status < 600;
}

int hexrun__retry_outcome_unknown(hexrun__retry_kind kind, const hexrun__http_resp *resp)
{
    if (kind != HEXRUN__RETRY_NON_IDEMPOTENT || !resp)
        return 0;
    if (resp->error != HEXRUN_OK)
        return resp->sent;
    /* A 500, 502 or 504 may come from a gateway after Hex did the work (a load balancer
     * timing out on a slow RunProject); only a 503 says the request was not taken. */
    return resp->status >= 500 && resp->status < 600 && resp->status != 503;
}

static int all_digits(const char *s, size_t len)
{
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int64_t hexrun__retry_after_parse(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    size_t len = strlen(value);
    while (len && isspace((unsigned char)value[len - 1]))
        len--;
    if (all_digits(value, len)) {
        int64_t secs = 0;
        for (size_t i = 0; i < len && secs <= RETRY_AFTER_CAP_MS / 1000; i++)
            secs = secs * 10 + (value[i] - '0');
        int64_t ms = secs * 1000;
        return ms > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : ms;
    }
    /* HTTP-dates always name a weekday first; curl_getdate would also take bare
     * numbers and other forms that RFC 9110 does not allow here. */
    if (len < 20 || !isalpha((unsigned char)value[0]))
        return -1;
    char *date = strndup(value, len);
    if (!date)
        return -1;
    time_t when = curl_getdate(date, NULL);
    free(date);
    if (when == -1)
        return -1;
    if (when <= now)
        return 0;
    int64_t secs = (int64_t)when - (int64_t)now;
    return secs > RETRY_AFTER_CAP_MS / 1000 ? RETRY_AFTER_CAP_MS : secs * 1000;
}

static uint64_t xorshift64s(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int64_t hexrun__retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                                 int64_t retry_after_ms, uint64_t *rng_state)
{
    if (retry_after_ms >= 0)
        return retry_after_ms;
    if (base_ms <= 0 || max_ms <= 0)
        return 0;
    int64_t cap = base_ms;
    for (int i = 1; i < attempt && cap < max_ms; i++)
        cap = cap > max_ms / 2 ? max_ms : cap * 2;
    if (cap > max_ms)
        cap = max_ms;
    uint64_t r = rng_state ? xorshift64s(rng_state) : 0;
    return (int64_t)(r % ((uint64_t)cap + 1));
}
