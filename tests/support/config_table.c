/*
 * config_table - print plugin/config.c's key table, one key a line, tab-separated:
 * name, type, default, min, max, doc. `make check-docs` compares it with the header's key
 * list and docs/config.md (docs/gen_reference.py --check-config).
 */
#include <stdio.h>

#include "config.h"

int main(void)
{
    for (size_t i = 0; hexrun__config_key_at(i); i++) {
        const hexrun__config_key *k = hexrun__config_key_at(i);
        printf("%s\t%s\t%lld\t%lld\t%lld\t%s\n", k->name, hexrun__config_type_name(k),
               (long long)k->def, (long long)k->min, (long long)k->max, k->doc);
    }
    return 0;
}
