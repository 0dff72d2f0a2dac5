/* Writes docs/STATUS.md to stdout from the two status tables: the wire statuses
 * (include/vsafe/wire_status.def) and the library statuses (include/vsafe/status.def). The CTest
 * docs_status_md fails when the committed file differs; regenerate with
 *   cmake --build build --target status-md
 * The library table is printed exactly as `vsafe status --list --markdown` prints it. */
#include <stdio.h>

#include "vsafe/se_wire.h"
#include "vsafe/status.h"

typedef struct {
    unsigned byte;
    const char *name;
    const char *when;
} wire_row_t;

static const wire_row_t wire_rows[] = {
#define VSAFE_WIRE_OK(name, byte, msg, when) {(byte), #name, (when)},
#define VSAFE_WIRE_ERROR(name, byte, msg, when) {(byte), #name, (when)},
#include "vsafe/wire_status.def"
#undef VSAFE_WIRE_OK
#undef VSAFE_WIRE_ERROR
};

typedef struct {
    int value;
    const char *message;
} lib_row_t;

static const lib_row_t lib_rows[] = {
#define X(name, value, msg) {(value), (msg)},
#include "vsafe/status.def"
#undef X
};

int main(void)
{
    const size_t nw = sizeof wire_rows / sizeof wire_rows[0];
    printf("# Status codes\n\n"
           "<!-- Generated from include/vsafe/wire_status.def and include/vsafe/status.def by\n"
           "     tools/docgen/gen_status_md.c: do not edit by hand; run\n"
           "     `cmake --build build --target status-md` (CTest docs_status_md checks it). -->\n\n"
           "Every vsafe function returns `0` (OK) or a negative status from one table, "
           "`include/vsafe/status.def`.\n"
           "Values are stable and only ever added. The names are what the CLI prints and what `--json` "
           "reports as\n"
           "`error`. When the device refuses a command with wire status *w*, the host library returns\n"
           "`VSAFE_DEV_STATUS(w)` = −500 − *w*, and `vsafe_status_name` gives the device name, e.g.\n"
           "`ACCESS_CONDITION_NOT_SATISFIED`.\n\n"
           "## Device wire statuses: when the device answers what\n\n"
           "The status byte that starts every response frame comes from one table,\n"
           "`include/vsafe/wire_status.def`; it also gives the `VSAFE_SE_ST_*` constants, the names of\n"
           "`vsafe_se_wire_status_name` and the `ERR_DEV_*` rows of the library table below.\n\n"
           "| Wire | Name | Situation |\n|---|---|---|\n");
    for (size_t i = 0; i < nw; i++) {
        if (wire_rows[i].when[0] != '\0') {
            printf("| 0x%02X | `%s` | %s |\n", wire_rows[i].byte, wire_rows[i].name, wire_rows[i].when);
        }
    }
    printf("\nThe other wire statuses (");
    const char *sep = "";
    for (size_t i = 0; i < nw; i++) {
        if (wire_rows[i].when[0] == '\0') {
            printf("%s0x%02X `%s`", sep, wire_rows[i].byte, wire_rows[i].name);
            sep = ", ";
        }
    }
    printf(") exist in the protocol but this device does not produce them.\n\n"
           "## The vsafe status table\n\n"
           "As `vsafe status --list --markdown` prints it:\n\n"
           "| Value | Name | Meaning |\n|---:|---|---|\n");
    for (size_t i = 0; i < sizeof lib_rows / sizeof lib_rows[0]; i++) {
        printf("| %d | `%s` | %s |\n", lib_rows[i].value, vsafe_status_name(lib_rows[i].value), lib_rows[i].message);
    }
    return 0;
}
