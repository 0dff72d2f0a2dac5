/* `vsafe status`: explain a status code, or list them all (docs/STATUS.md holds the same list).
 * A query is a name (library or wire: ACCESS_CONDITION_NOT_SATISFIED, ERR_DEV_...), a library
 * value (0 or negative, as the C API returns), or a device wire status byte (1..255, as it
 * starts a response frame: `vsafe status 0x11`, `vsafe status 17`). Library values are never
 * positive, so a positive number is always the wire byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vsafe/se_wire.h"

typedef struct {
    int value;
    const char *name;
    const char *message;
} status_row_t;

typedef struct {
    int byte;
    const char *name;
    const char *when;
} wire_row_t;

static const wire_row_t wire_rows[] = {
#define VSAFE_WIRE_OK(name, byte, msg, when) {byte, #name, when},
#define VSAFE_WIRE_ERROR(name, byte, msg, when) {byte, #name, when},
#include "vsafe/wire_status.def"
#undef VSAFE_WIRE_OK
#undef VSAFE_WIRE_ERROR
};

static const char *wire_when(int byte)
{
    for (size_t i = 0; i < sizeof wire_rows / sizeof wire_rows[0]; i++) {
        if (wire_rows[i].byte == byte) {
            return wire_rows[i].when;
        }
    }
    return "";
}

static const status_row_t rows[] = {
#define X(name, value, msg) {value, #name, msg},
#include "vsafe/status.def"
#undef X
};

int vsafe_cmd_status(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *pos[1] = {NULL};
    int list = 0, markdown = 0, done = 0;
    size_t npos = 0;
    const vsafe_cli_opt_t opts[] = {{"list", 0, NULL, &list, NULL, "list every status"}, {"markdown", 0, NULL, &markdown, NULL, "the list as a Markdown table (docs/STATUS.md)"}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 0, 1, &npos, &done);
    if (rc != 0 || done) {
        return rc;
    }
    size_t n = sizeof rows / sizeof rows[0];
    if (list || npos == 0) {
        if (cli->json) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++) {
                json_array_append_new(arr, json_pack("{s:i, s:s, s:s}", "value", rows[i].value, "name",
                                                     vsafe_status_name(rows[i].value), "message", rows[i].message));
            }
            return vsafe_cli_json_out(cli, json_pack("{s:o}", "status", arr));
        }
        if (markdown) {
            printf("| Value | Name | Meaning |\n|---:|---|---|\n");
        }
        for (size_t i = 0; i < n; i++) {
            if (markdown) {
                printf("| %d | `%s` | %s |\n", rows[i].value, vsafe_status_name(rows[i].value), rows[i].message);
            } else {
                printf("%6d  %-40s %s\n", rows[i].value, vsafe_status_name(rows[i].value), rows[i].message);
            }
        }
        return VSAFE_CLI_EXIT_OK;
    }
    const char *q = pos[0];
    char *end = NULL;
    long v = strtol(q, &end, 0);
    int numeric = end != q && *end == '\0';
    if (numeric && v > 255) {
        return vsafe_cli_fail_named(cli, "UNKNOWN", "no status numbered '%s': wire statuses are 1..255 (0x01..0xFF), "
                                    "library statuses 0 or negative", q);
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = vsafe_status_name(rows[i].value);
        int wire = vsafe_status_wire(rows[i].value);
        int match = (numeric && v <= 0 && v == rows[i].value) || (numeric && v > 0 && v == wire) ||
                    strcasecmp(q, name) == 0 || strcasecmp(q, rows[i].name) == 0;
        if (match) {
            const char *when = wire >= 0 ? wire_when(wire) : "";
            if (cli->json) {
                json_t *o = json_pack("{s:i, s:s, s:s}", "value", rows[i].value, "name", name, "message",
                                      rows[i].message);
                if (wire >= 0 && rows[i].value != 0) {
                    json_object_set_new(o, "wire_status", json_integer(wire));
                }
                if (when[0] != '\0') {
                    json_object_set_new(o, "when", json_string(when));
                }
                return vsafe_cli_json_out(cli, json_pack("{s:o}", "status", o));
            }
            printf("%d  %s: %s", rows[i].value, name, rows[i].message);
            if (wire > 0) {
                printf(" (device wire status 0x%02X)", wire);
            }
            printf("\n");
            if (when[0] != '\0') {
                printf("    this device answers it when: %s\n", when);
            } else if (wire > 0) {
                printf("    defined by the protocol; this device never answers it\n");
            }
            return VSAFE_CLI_EXIT_OK;
        }
    }
    if (numeric && v > 0) {
        return vsafe_cli_fail_named(cli, "UNKNOWN", "0x%02lX is not a wire status the protocol defines", v);
    }
    return vsafe_cli_fail_named(cli, "UNKNOWN", "no status named or numbered '%s'", q);
}
