/* Test-only views into the device core (se/core_hooks.h). Above every layer of the core: nothing
 * in the library calls it. */
#include "se/core_hooks.h"

size_t vsafe_se_core_hook_working_memory(const vsafe_se_core_t *core, vsafe_se_hook_region_t *regions, size_t cap)
{
    const vsafe_se_hook_region_t all[] = {
        {"plain", core->plain, sizeof core->plain},
        {"txn", core->txn.buf, sizeof core->txn.buf},
        {"out", core->out, sizeof core->out},
        {"kek", core->kek_base, sizeof core->kek_base},
    };
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n && i < cap; i++) {
        regions[i] = all[i];
    }
    return n;
}
