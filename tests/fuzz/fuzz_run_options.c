/* libFuzzer target: validation of host run options into a RunProject body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[512];
    char *body = NULL;
    int dry = 0;
    int rc = hexrun__hex_run_options(text, &body, &dry, err, sizeof err);
    /* An accepted body is a JSON object that passes validation again unchanged. */
    if (rc == HEXRUN_OK) {
        char *again = NULL;
        int dry2 = 0;
        if (!body || hexrun__hex_run_options(body, &again, &dry2, err, sizeof err) != 0 ||
            strcmp(body, again) != 0 || dry != dry2)
            abort();
        free(again);
    } else if (body || !err[0]) {
        abort();
    }
    free(body);
    hexrun__hex_validate_json(text, 0, err, sizeof err);
    free(text);
    return 0;
}
