/* url.c - base URL hosts and loopback; see url.h. */
#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

static size_t scheme_len(const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return 8;
    if (strncasecmp(url, "http://", 7) == 0)
        return 7;
    return 0;
}

int hexrun__url_is_cleartext(const char *url)
{
    return url && strncasecmp(url, "http://", 7) == 0;
}

int hexrun__url_host(const char *url, char *out, size_t outlen)
{
    size_t s = url ? scheme_len(url) : 0;
    if (!s)
        return -1;
    const char *host = url + s;
    size_t auth_len = strcspn(host, "/?#");
    if (memchr(host, '@', auth_len))
        return -1; /* userinfo: "https://app.hex.tech\@127.0.0.1" is not app.hex.tech */
    size_t len;
    if (host[0] == '[') {
        const char *close = memchr(host, ']', auth_len);
        if (!close)
            return -1;
        host++;
        len = (size_t)(close - host);
    } else {
        len = strcspn(host, ":/?#");
    }
    if (len == 0 || len >= outlen)
        return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)host[i]);
    out[len] = '\0';
    return 0;
}

int hexrun__host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!host)
        return 0;
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    /* inet_pton takes only a full dotted quad: "127.1" or "127.evil.example" fail. */
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}
