/* libFuzzer target: cursor pagination and the page merger. The input is split at the
 * first NUL into two pages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void merge(const char *key, const char *a, size_t alen, const char *b, size_t blen)
{
    char err[256];
    hexrun__hex_pages *p = hexrun__hex_pages_new(key);
    if (!p)
        abort();
    int ok = hexrun__hex_pages_add(p, a, alen, err, sizeof err) == 0;
    ok = hexrun__hex_pages_add(p, b, blen, err, sizeof err) == 0 || ok;
    char *doc = hexrun__hex_pages_render(p);
    /* What the merger renders must itself be a valid object. */
    if (ok && doc && hexrun__hex_validate_json(doc, 1, err, sizeof err) != 0)
        abort();
    free(doc);
    hexrun__hex_pages_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nul = memchr(in, 0, size);
    size_t alen = nul ? (size_t)(nul - in) : size;
    const char *b = nul ? nul + 1 : "";
    size_t blen = nul ? size - alen - 1 : 0;
    char err[256];
    char *after = NULL;
    if (hexrun__hex_cursor_after(in, alen, &after, err, sizeof err) == 0 && after && !after[0])
        abort();
    free(after);
    hexrun__hex_next_page next;
    if (hexrun__hex_runs_next(in, alen, &next, err, sizeof err) == 0 &&
        (next.offset < -1 || (!next.present && next.query[0])))
        abort();
    merge("values", in, alen, b, blen);
    merge("runs", in, alen, b, blen);
    return 0;
}
