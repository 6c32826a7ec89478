/* libFuzzer target: redaction. The token must never survive, whatever surrounds it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TOKEN "hxtok_FUZZ/secret+1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* input, then the token, then the input again: the token is in every message. */
    size_t tl = strlen(TOKEN);
    char *in = malloc(2 * size + tl + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    memcpy(in + size, TOKEN, tl);
    memcpy(in + size + tl, data, size);
    in[2 * size + tl] = '\0';
    const char *const secrets[] = {TOKEN, NULL};
    size_t need = hexrun__redact(in, secrets, NULL, 0);
    char *out = malloc(need + 1);
    if (!out)
        abort();
    if (hexrun__redact(in, secrets, out, need + 1) != need || strlen(out) > need)
        abort();
    /* Only a token that the input itself completes could survive: the inserted one
     * must be gone when the input holds no NUL (which would cut the string first). */
    if (!memchr(data, 0, size) && strstr(out, TOKEN))
        abort();
    free(out);
    free(in);
    return 0;
}
