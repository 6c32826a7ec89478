/*
 * libFuzzer target: the small text checks of plugin/http.c and plugin/hex.c that the other
 * targets do not reach: hexrun__http_escape (path segments), hexrun__hex_is_uuid,
 * hexrun__hex_state_from_status and hexrun__http_error_from_status.
 * Input: byte 0 the output buffer size for the escape, byte 1-2 an HTTP status, the rest
 * the text.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Escaping fits exactly when the buffer holds the encoded text and its NUL, and decoding
 * the result gives the input back. */
static void check_escape(const char *in, size_t outlen)
{
    size_t need = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++)
        need += unreserved(*p) ? 1 : 3;
    char *out = malloc(outlen ? outlen : 1);
    if (!out)
        return;
    int rc = hexrun__http_escape(in, out, outlen);
    if (need + 1 > outlen) {
        if (rc != -1)
            abort();
        free(out);
        return;
    }
    if (rc < 0 || (size_t)rc != need || strlen(out) != need)
        abort();
    size_t j = 0;
    for (size_t i = 0; out[i]; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '%') {
            int hi = hex_value(out[i + 1]), lo = hi < 0 ? -1 : hex_value(out[i + 2]);
            if (hi < 0 || lo < 0 || unreserved((unsigned char)(hi << 4 | lo)))
                abort(); /* only what must be escaped is, in upper-case hex */
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (!unreserved(c)) {
            abort();
        }
        if ((unsigned char)in[j++] != c)
            abort();
    }
    if (in[j] != '\0')
        abort();
    free(out);
}

/* 8-4-4-4-12 hex digits, nothing else. */
static int uuid_oracle(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    return s[sizeof shape - 1] == '\0';
}

static void check_status_text(const char *s)
{
    static const struct {
        const char *name;
        int32_t state;
    } names[] = {{"PENDING", HEXRUN_STATE_PENDING},
                 {"RUNNING", HEXRUN_STATE_RUNNING},
                 {"COMPLETED", HEXRUN_STATE_COMPLETED},
                 {"ERRORED", HEXRUN_STATE_ERRORED},
                 {"KILLED", HEXRUN_STATE_KILLED},
                 {"UNABLE_TO_ALLOCATE_KERNEL", HEXRUN_STATE_UNABLE_TO_ALLOCATE_KERNEL}};
    int32_t want = HEXRUN_STATE_UNKNOWN; /* anything else Hex may send, case and all */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            want = names[i].state;
    if (hexrun__hex_state_from_status(s) != want)
        abort();
}

static void check_status_code(int status)
{
    int rc = hexrun__http_error_from_status(status);
    if ((rc == HEXRUN_OK) != (status >= 200 && status < 300))
        abort();
    if (rc > 0 || rc < HEXRUN_E_OUTCOME_UNKNOWN)
        abort();
    if (status >= 500 && status < 600 && rc != HEXRUN_E_UNAVAILABLE)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    char *text = malloc(size - 3 + 1);
    if (!text)
        return 0;
    memcpy(text, data + 3, size - 3);
    text[size - 3] = '\0';
    check_escape(text, data[0]);
    if (hexrun__hex_is_uuid(text) != uuid_oracle(text))
        abort();
    check_status_text(text);
    check_status_code(data[1] | data[2] << 8);
    free(text);
    return 0;
}
