/* libFuzzer target: Retry-After values (delta-seconds or HTTP-date). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1);
    if (!value)
        return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    int64_t ms = hexrun__retry_after_parse(value, 1700000000);
    if (ms < -1 || ms > HEXRUN__RETRY_AFTER_MAX_MS)
        abort();
    uint64_t rng = size;
    int64_t d = hexrun__retry_backoff_ms((int)(size % 100), 100, 30000, ms, &rng);
    if (d < 0 || (ms < 0 && d > 30000))
        abort();
    free(value);
    return 0;
}
