#include "simproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 5000
#define CALL_TIMEOUT_MS 10000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static void exec_hexsim(int out_fd, const char *const *extra_args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = env_or("HEXSIM_BIN", "build/hexsim");
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--scenario";
    argv[n++] = env_or("HEXSIM_SCENARIO", "hexsim/scenarios/test.json");
    /* HEXSIM_PROFILE=spec-variant runs a whole suite against the variant profile. */
    if (getenv("HEXSIM_PROFILE") && *getenv("HEXSIM_PROFILE")) {
        argv[n++] = "--profile";
        argv[n++] = getenv("HEXSIM_PROFILE");
    }
    for (int i = 0; extra_args && extra_args[i] && n < 63; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    dup2(out_fd, STDOUT_FILENO);
    close(out_fd);
    execv(argv[0], (char *const *)argv);
    fprintf(stderr, "simproc: cannot exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Reads the child's stdout until the first line, within the start timeout. */
static int read_first_line(int fd, char *line, size_t cap)
{
    size_t len = 0;
    long long deadline = now_ms() + START_TIMEOUT_MS;
    while (len + 1 < cap) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        ssize_t r = read(fd, line + len, 1);
        if (r <= 0)
            return -1;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    return 0;
}

int hexsim_proc_start(hexsim_proc *p, const char *const *extra_args)
{
    int fds[2];
    char line[256];
    memset(p, 0, sizeof(*p));
    if (pipe(fds) != 0)
        return -1;
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        close(fds[0]);
        exec_hexsim(fds[1], extra_args);
    }
    close(fds[1]);
    int rc = read_first_line(fds[0], line, sizeof(line));
    /* Nobody reads hexsim's stdout after this line, so hexsim must not log per request
     * there (it would fill the pipe); the read end stays open until hexsim_proc_stop. */
    p->out_fd = fds[0];
    if (rc != 0 || sscanf(line, "listening on http://127.0.0.1:%d", &p->port) != 1) {
        fprintf(stderr, "simproc: hexsim did not report a port (got \"%s\")\n",
                rc == 0 ? line : "");
        hexsim_proc_stop(p);
        return -1;
    }
    snprintf(p->base_url, sizeof(p->base_url), "http://127.0.0.1:%d", p->port);
    return 0;
}

void hexsim_proc_stop(hexsim_proc *p)
{
    if (p->pid <= 0) {
        p->pid = 0;
        return;
    }
    kill(p->pid, SIGTERM);
    long long deadline = now_ms() + 3000;
    while (waitpid(p->pid, NULL, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            break;
        }
        usleep(10000);
    }
    p->pid = 0;
    if (p->out_fd > 0)
        close(p->out_fd);
    p->out_fd = -1;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads until the peer closes (the request asks for Connection: close). */
static char *recv_all(int fd, size_t *out_len)
{
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    long long deadline = now_ms() + CALL_TIMEOUT_MS;
    while (buf) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        if (len + 4096 + 1 > cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                break;
            buf = bigger;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0)
            break;
        if (r == 0) {
            buf[len] = '\0';
            *out_len = len;
            return buf;
        }
        len += (size_t)r;
    }
    free(buf);
    return NULL;
}

int hexsim_proc_call(const hexsim_proc *p, const char *method, const char *path, const char *token,
                     const char *body, char **out_body)
{
    char head[2048], auth[512] = "";
    size_t body_len = body ? strlen(body) : 0, len = 0;
    int status = -1;
    if (out_body)
        *out_body = NULL;
    if (token)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, p->port, auth, body_len);
    int fd = connect_loopback(p->port);
    if (fd < 0 || n <= 0 || (size_t)n >= sizeof(head))
        goto out;
    if (send_all(fd, head, (size_t)n) != 0 || (body_len && send_all(fd, body, body_len) != 0))
        goto out;
    char *resp = recv_all(fd, &len);
    if (!resp)
        goto out;
    char *sep = strstr(resp, "\r\n\r\n");
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || !sep) {
        status = -1;
    } else if (out_body) {
        *out_body = strdup(sep + 4);
    }
    free(resp);
out:
    if (fd >= 0)
        close(fd);
    return status;
}
