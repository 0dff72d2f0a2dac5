/* libFuzzer target on the profile loader (src/profile): arbitrary JSON text compiled into a
 * profile. A profile that compiles must pass validation, copy, and give a device image; one that
 * does not must come back NULL with a message. On compiled text, the line locator must stay inside
 * the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"

static unsigned count_lines(const uint8_t *data, size_t size)
{
    unsigned lines = 1;
    for (size_t i = 0; i < size; i++) {
        lines += data[i] == '\n';
    }
    return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    vsafe_profile_t *p = (vsafe_profile_t *)&p; /* not NULL: the loader must set it */
    char err[256] = "";
    int rc = vsafe_profile_parse("fuzz.json", text, size, &p, err, sizeof err);
    if (rc != VSAFE_OK) {
        if (p != NULL || err[0] == '\0') {
            abort();
        }
    } else {
        char field[128], msg[256];
        vsafe_profile_t *q = NULL;
        if (p == NULL || vsafe_profile_check(p, field, sizeof field, msg, sizeof msg) != VSAFE_OK) {
            abort();
        }
        if (vsafe_profile_copy(p, &q) != VSAFE_OK || q == NULL) {
            abort();
        }
        uint32_t n = vsafe_se_core_image_size(q);
        uint8_t *img = n > 0 ? malloc(n) : NULL;
        if (img == NULL || vsafe_se_core_build_image(q, img, n) != VSAFE_OK) {
            abort();
        }
        free(img);
        vsafe_profile_free(q);
        vsafe_profile_free(p);
        /* the text is JSON (it compiled): the locator's precondition holds */
        static const char *paths[] = {"", "zones[0].length", "zones[3].read_ac", "command_table.commands[0]",
                                      "name"};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            if (vsafe_profile_json_line(text, size, paths[i]) > count_lines(data, size)) {
                abort();
            }
        }
    }
    return 0;
}
