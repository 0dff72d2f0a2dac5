/* Test-only views into the device core, for tests/hooks.h (the only header through which tests
 * see inside). Nothing in the library calls these; they exist so that a test can check what the
 * core holds without making the core's internals public. */
#ifndef VSAFE_SE_CORE_HOOKS_H
#define VSAFE_SE_CORE_HOOKS_H

#include "common/cursor.h" /* the cursor every request is parsed with */
#include "se/core.h"
#include "se/state.h" /* vsafe_se_state_cmd_record: where a command's table record lives */

typedef struct {
    const char *name;    /* "plain", "txn", "out", "kek" */
    const uint8_t *data;
    size_t len;          /* the whole buffer, not only its used part */
} vsafe_se_hook_region_t;

/* The core's working memory that must hold no secret between commands: the decrypted command
 * payload, the staged transaction, the response working buffer and the KEK base (between
 * commands only while a KEK session is open). Fills up to cap regions; returns how many exist. */
size_t vsafe_se_core_hook_working_memory(const vsafe_se_core_t *core, vsafe_se_hook_region_t *regions, size_t cap);

#endif
