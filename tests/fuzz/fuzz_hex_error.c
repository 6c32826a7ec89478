/* libFuzzer target: error bodies of both families (and anything else a server sends). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hexrun__hex_error e;
    hexrun__hex_parse_error((const char *)data, size, &e);
    if (!memchr(e.message, 0, sizeof e.message) || !memchr(e.trace_id, 0, sizeof e.trace_id) ||
        !memchr(e.code, 0, sizeof e.code))
        abort();
    /* The summary goes into logs and error strings: no control characters. */
    for (const char *p = e.message; *p; p++)
        if ((unsigned char)*p < 0x20)
            abort();
    return 0;
}
