/*
 * A stand-in plugin for hexrun-host's loader tests, built twice by tests/e2e.mk:
 * with FAKE_ABI_MAJOR=2 (another ABI major, which must be refused) and with
 * FAKE_ABI_MAJOR=1 (the right major but without the other required symbols).
 */
#include <stdint.h>

uint32_t hexrun_abi_version(void);

uint32_t hexrun_abi_version(void)
{
    return ((uint32_t)FAKE_ABI_MAJOR << 16) | 7u;
}
