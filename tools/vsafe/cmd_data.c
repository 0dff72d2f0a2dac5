/* CLI commands on the device and its data: zones, read, update, decrement, ac, info, random,
 * echo (init is in cmd_init.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_io.h"
#include "vsafe/se_wire.h"

#define ZONES_MAX 256

static json_t *zone_json(const vsafe_host_zone_t *z)
{
    json_t *o = json_pack("{s:i, s:s, s:i, s:s, s:s, s:b, s:b}", "index", z->index, "type",
                          z->type == VSAFE_SE_ZONE_COUNTER ? "counter" : "data", "length", z->length, "read_ac",
                          vsafe_cli_ac_name(z->read_ac), "update_ac", vsafe_cli_ac_name(z->update_ac),
                          "read_ac_change_right", z->read_ac_cr, "update_ac_change_right", z->update_ac_cr);
    if (z->type == VSAFE_SE_ZONE_COUNTER) {
        json_object_set_new(o, "counter", json_integer(z->counter));
    }
    return o;
}

int vsafe_cmd_zones(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_zone_t zones[ZONES_MAX];
    size_t count = 0;
    rc = vsafe_host_zones(cli->host, zones, ZONES_MAX, &count);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "partition query");
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < count; i++) {
            json_array_append_new(arr, zone_json(&zones[i]));
        }
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "zones", arr));
    }
    printf("zone  type     length  read AC  may change  update AC  may change   counter\n");
    for (size_t i = 0; i < count; i++) {
        const vsafe_host_zone_t *z = &zones[i];
        printf("%4u  %-7s  %6u  %-7s  %-10s  %-9s  ", z->index, z->type == VSAFE_SE_ZONE_COUNTER ? "counter" : "data",
               z->length, vsafe_cli_ac_name(z->read_ac), z->read_ac_cr ? "yes" : "no", vsafe_cli_ac_name(z->update_ac));
        if (z->type == VSAFE_SE_ZONE_COUNTER) {
            printf("%-10s  %u", z->update_ac_cr ? "yes" : "no", z->counter);
        } else {
            printf("%s", z->update_ac_cr ? "yes" : "no");
        }
        printf("\n");
    }
    return VSAFE_CLI_EXIT_OK;
}

/* The range rule of the zone commands (read, update, decrement; docs/CLI.md, "Offsets and
 * lengths"): what no device could accept is a usage error (exit 2), found before anything is
 * sent: a ZONE beyond 255, an --offset or --length beyond 65535 (the commands' 16-bit fields), an
 * end (offset + length) beyond 65535 (no partition table describes a larger zone), more data than
 * the one command that must carry it holds (an atomic Update, a Decrement's associated data).
 * Everything else goes to the device, which alone checks it against the zone; its refusal is
 * reported with its status and, from the partition table, a hint that names the zone's length,
 * type, counter or access condition. */
#define ZONE_END_MAX 0xFFFFu

static int zone_end_check(vsafe_cli_t *cli, const char *what, uint32_t offset, size_t len)
{
    if ((size_t)offset + len > ZONE_END_MAX) {
        return vsafe_cli_usage_error(cli, "--offset %u + %s %zu ends at %zu, beyond the largest zone a device can "
                                          "have (%u bytes)",
                                     (unsigned)offset, what, len, (size_t)offset + len, ZONE_END_MAX);
    }
    return 0;
}

/* Data one command must carry whole (update --atomic, decrement --data): at most what the frame
 * holds with the protection the command gets. Checked once the device is open (the command table
 * decides the protection), before anything is sent. */
static int zone_frame_check(vsafe_cli_t *cli, vsafe_host_prot_t prot, uint8_t cmd, const char *what, size_t len)
{
    size_t max = vsafe_host_zone_data_max(cli->host, prot, cmd);
    if (len <= max) {
        return 0;
    }
    size_t plain = vsafe_host_zone_data_max(cli->host, VSAFE_HOST_PROT_NONE, cmd);
    return vsafe_cli_usage_error(cli, "%s: %zu byte%s do not fit the one %s command that carries them (at most %zu "
                                      "bytes%s)",
                                 what, len, len == 1 ? "" : "s", cmd == VSAFE_SE_CMD_UPDATE ? "Update" : "Decrement",
                                 max,
                                 max + 4u == plain ? " here: the C-MAC takes 4 bytes of the frame"
                                 : max < plain     ? " here: the C-MAC and the encryption's padding take room in the frame"
                                                   : "");
}

/* The partition table's record of zone index into *out, *found set when the table has it. Returns 0,
 * or an exit status when the query fails (printed). A zone not in the table is no failure here:
 * the command still goes to the device, which answers ENTRY_NOT_FOUND. */
static int find_zone(vsafe_cli_t *cli, uint32_t index, vsafe_host_zone_t *out, int *found)
{
    vsafe_host_zone_t zones[ZONES_MAX];
    size_t count = 0;
    *found = 0;
    int rc = vsafe_host_zones(cli->host, zones, ZONES_MAX, &count);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "partition query");
    }
    for (size_t i = 0; i < count && i < ZONES_MAX; i++) {
        if (zones[i].index == index) {
            *out = zones[i];
            *found = 1;
        }
    }
    return 0;
}

/* What a zone command asked for, for the hint on its refusal. */
typedef struct {
    uint32_t zone;
    int which;       /* 0 read, 1 update or decrement */
    int to_ac;       /* the AC an `ac` change asked for; -1: not a change */
    int have_key;    /* a host session was open */
    uint32_t offset;
    size_t len;      /* bytes read or written */
    uint32_t amount; /* decrement: by how much; 0 otherwise */
} zone_req_t;

/* board: the device directory is a board's (its MCU, DIR/mcu.nvm, may hold host keys in OBK). */
static void ac_hint(const vsafe_host_zone_t *z, const zone_req_t *r, int board, char *out, size_t cap)
{
    const char *what = r->which ? "update" : "read";
    unsigned zone = z->index;
    uint8_t ac = r->which ? z->update_ac : z->read_ac;
    uint8_t cr = r->which ? z->update_ac_cr : z->read_ac_cr;
    if (r->to_ac >= 0) {
        if (!cr) {
            snprintf(out, cap, "zone %u's %s AC can no longer change: its change right was cleared", zone, what);
        } else if (r->to_ac < ac) {
            snprintf(out, cap, "an AC can only be made stricter: zone %u's %s AC is %s, and %s is less strict", zone,
                     what, vsafe_cli_ac_name(ac), vsafe_cli_ac_name((uint8_t)r->to_ac));
        } else if (ac == VSAFE_SE_AC_HOST && !r->have_key) {
            snprintf(out, cap, "zone %u's %s AC is host: the change needs a host session, give --host-key FILE", zone,
                     what);
        }
    } else if (ac == VSAFE_SE_AC_HOST && !r->have_key && board) {
        snprintf(out, cap, "zone %u's %s AC is host: give --host-key FILE, the key file hostkey provision --out wrote, "
                           "or --host-key " VSAFE_CLI_OBK_HOST_KEY " for the keys of the board's MCU",
                 zone, what);
    } else if (ac == VSAFE_SE_AC_HOST && !r->have_key) {
        snprintf(out, cap, "zone %u's %s AC is host: give --host-key FILE, the key file hostkey provision --out wrote",
                 zone, what);
    } else if (ac != VSAFE_SE_AC_ALWAYS && ac != VSAFE_SE_AC_HOST) {
        snprintf(out, cap, "zone %u's %s AC is never: no one can %s it", zone, what, what);
    }
}

/* Why the device refused a zone command, when the partition table tells; "" when it cannot. */
static void zone_hint(vsafe_cli_t *cli, int rc, const zone_req_t *r, char *out, size_t cap)
{
    out[0] = '\0';
    vsafe_host_zone_t zones[ZONES_MAX];
    size_t count = 0;
    if (cli->host == NULL || vsafe_host_zones(cli->host, zones, ZONES_MAX, &count) != 0 || count == 0) {
        return;
    }
    const vsafe_host_zone_t *z = NULL;
    unsigned lo = 255, hi = 0;
    for (size_t i = 0; i < count && i < ZONES_MAX; i++) {
        lo = zones[i].index < lo ? zones[i].index : lo;
        hi = zones[i].index > hi ? zones[i].index : hi;
        if (zones[i].index == r->zone) {
            z = &zones[i];
        }
    }
    if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ENTRY_NOT_FOUND) && z == NULL) {
        snprintf(out, cap, "the partition table has %zu zones, %u..%u: vsafe zones lists them", count, lo, hi);
        return;
    }
    if (z == NULL) {
        return;
    }
    int counter = z->type == VSAFE_SE_ZONE_COUNTER;
    if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED)) {
        ac_hint(z, r, cli->connect == NULL && vsafe_cli_state_file_present(cli, "mcu.nvm") > 0, out, cap);
    } else if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_BOUNDARY_EXCEEDED)) {
        size_t end = (size_t)r->offset + r->len;
        if (r->offset > z->length) {
            snprintf(out, cap, "zone %u %s %u bytes: offset %u is past its end", z->index,
                     counter ? "holds, beside its counter," : "is", z->length, (unsigned)r->offset);
        } else {
            snprintf(out, cap, "zone %u %s %u bytes: offset %u + %zu byte%s would end at %zu; from offset %u at most %u "
                     "byte%s",
                     z->index, counter ? "holds, beside its counter," : "is", z->length, (unsigned)r->offset, r->len,
                     r->len == 1 ? "" : "s", end, (unsigned)r->offset, z->length - (unsigned)r->offset,
                     z->length - r->offset == 1 ? "" : "s");
        }
    } else if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_WRONG_ZONE_TYPE)) {
        if (counter) {
            snprintf(out, cap, "zone %u is a counter zone: its data is written with vsafe decrement %u --data HEX",
                     z->index, z->index);
        } else {
            snprintf(out, cap, "zone %u is a data zone: only counter zones decrement, vsafe zones shows the types",
                     z->index);
        }
    } else if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED) && counter) {
        snprintf(out, cap, "zone %u's counter is %u: it cannot go down by %u", z->index, z->counter,
                 (unsigned)r->amount);
    }
}

static int zone_fail(vsafe_cli_t *cli, int rc, const zone_req_t *r, const char *ctx)
{
    char hint[256] = "";
    zone_hint(cli, rc, r, hint, sizeof hint);
    return vsafe_cli_fail_hint(cli, rc, hint, "%s", ctx);
}

/* Prints data as a hex dump with an ASCII column. */
static void hexdump(const uint8_t *p, size_t n, uint32_t base)
{
    for (size_t i = 0; i < n; i += 16) {
        printf("  %04x  ", (unsigned)(base + i));
        for (size_t j = 0; j < 16; j++) {
            if (i + j < n) {
                printf("%02x ", p[i + j]);
            } else {
                printf("   ");
            }
        }
        printf(" ");
        for (size_t j = 0; j < 16 && i + j < n; j++) {
            uint8_t c = p[i + j];
            putchar(c >= 0x20 && c < 0x7f ? c : '.');
        }
        printf("\n");
    }
}

int vsafe_cmd_read(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *off_s = NULL, *len_s = NULL, *key_s = NULL, *out = NULL, *pos[1];
    int done = 0;
    const vsafe_cli_opt_t opts[] = {
        {"offset", 1, &off_s, NULL, "N", "byte offset in the zone (default 0)"},
        {"length", 1, &len_s, NULL, "N", "bytes to read (default: the rest of the zone)"},
        {"out", 1, &out, NULL, "FILE", "write the bytes read, raw, to FILE (- for stdout: nothing else is printed)"},
        {"host-key", 1, &key_s, NULL, "FILE", "host key file (or obk:HDPL3-S, the board MCU's OBK keys): open a host session, commands with C-MAC and R-MAC"},
        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if ((rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    uint32_t zone = 0, offset = 0, length = 0;
    if ((rc = vsafe_cli_parse_u32(cli, "ZONE", pos[0], 0, 255, &zone)) != 0 ||
        (off_s != NULL && (rc = vsafe_cli_parse_u32(cli, "--offset", off_s, 0, 0xFFFF, &offset)) != 0) ||
        (len_s != NULL && (rc = vsafe_cli_parse_u32(cli, "--length", len_s, 0, 0xFFFF, &length)) != 0) ||
        (len_s != NULL && (rc = zone_end_check(cli, "--length", offset, length)) != 0)) {
        return rc;
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot = VSAFE_HOST_PROT_TABLE;
    if (key_s != NULL && (rc = vsafe_cli_session(cli, key_s, &prot)) != 0) {
        return rc;
    }
    vsafe_host_zone_t z = {0};
    int found = 0;
    if ((rc = find_zone(cli, zone, &z, &found)) != 0) {
        return rc;
    }
    if (len_s == NULL) {
        /* The rest of the zone; from past its end, nothing: the device then refuses the offset. */
        length = found && offset <= z.length ? z.length - offset : 0;
    }
    uint8_t *data = malloc(length + 1u);
    if (data == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "read");
    }
    uint32_t counter = 0;
    int is_counter = found && z.type == VSAFE_SE_ZONE_COUNTER;
    if (is_counter) {
        rc = vsafe_host_read_counter_zone(cli->host, prot, (uint8_t)zone, (uint16_t)offset, data, length, &counter);
    } else {
        rc = vsafe_host_read_zone(cli->host, prot, (uint8_t)zone, (uint16_t)offset, data, length);
    }
    if (rc != 0) {
        free(data);
        char ctx[96];
        if (len_s != NULL) {
            snprintf(ctx, sizeof ctx, "read zone %u offset %u length %u", (unsigned)zone, (unsigned)offset,
                     (unsigned)length);
        } else {
            snprintf(ctx, sizeof ctx, "read zone %u from offset %u to its end", (unsigned)zone, (unsigned)offset);
        }
        zone_req_t req = {.zone = zone, .which = 0, .to_ac = -1, .have_key = key_s != NULL, .offset = offset,
                          .len = length};
        return zone_fail(cli, rc, &req, ctx);
    }
    if (out != NULL) {
        rc = vsafe_cli_write_file(cli, "--out", out, data, length, 0);
        if (rc != 0 || vsafe_cli_out_is_stdout(out)) {
            free(data);
            return rc;
        }
    }
    if (cli->json) {
        char *hex = vsafe_cli_hex(data, length);
        json_t *r = json_pack("{s:i, s:i, s:s}", "zone", (int)zone, "offset", (int)offset, "data", hex);
        if (is_counter) {
            json_object_set_new(r, "counter", json_integer(counter));
        }
        /* One shape for every command: the result under the command's name. */
        json_t *o = json_pack("{s:o}", "read", r);
        free(hex);
        free(data);
        return vsafe_cli_json_out(cli, o);
    }
    printf("zone %u, offset %u, %u byte%s", (unsigned)zone, (unsigned)offset, (unsigned)length, length == 1 ? "" : "s");
    if (is_counter) {
        printf(", counter %u", counter);
    }
    if (out != NULL) {
        printf(" written to %s\n", out);
    } else {
        printf("\n");
        hexdump(data, length, offset);
    }
    free(data);
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cmd_update(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *off_s = NULL, *key_s = NULL, *pos[1];
    vsafe_cli_input_t data_in = {NULL, NULL};
    int atomic = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {
        {"offset", 1, &off_s, NULL, "N", "byte offset in the zone (default 0)"},
        {"data", 1, &data_in.hex, NULL, "HEX", "bytes to write, hex"},
        {"data-file", 1, &data_in.file, NULL, "FILE", "bytes to write, raw, from FILE (- for stdin)"},
        {"atomic", 0, NULL, &atomic, NULL, "all or nothing on power loss (must fit one frame)"},
        {"host-key", 1, &key_s, NULL, "FILE", "host key file (or obk:HDPL3-S, the board MCU's OBK keys): open a host session, commands with C-MAC and R-MAC"},
        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint32_t zone = 0, offset = 0;
    if ((rc = vsafe_cli_parse_u32(cli, "ZONE", pos[0], 0, 255, &zone)) != 0 ||
        (off_s != NULL && (rc = vsafe_cli_parse_u32(cli, "--offset", off_s, 0, 0xFFFF, &offset)) != 0)) {
        return rc;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if ((rc = vsafe_cli_input_read(cli, "data", &data_in, 1, 0, ZONE_END_MAX, &data, &len)) != 0) {
        return rc;
    }
    if ((rc = zone_end_check(cli, "data", offset, len)) != 0 || (rc = vsafe_cli_open_host(cli)) != 0) {
        free(data);
        return rc;
    }
    vsafe_host_prot_t prot = VSAFE_HOST_PROT_TABLE;
    if ((key_s != NULL && (rc = vsafe_cli_session(cli, key_s, &prot)) != 0) ||
        (atomic && (rc = zone_frame_check(cli, prot, VSAFE_SE_CMD_UPDATE, "--atomic --data", len)) != 0)) {
        free(data);
        return rc;
    }
    rc = vsafe_host_update_zone(cli->host, prot, (uint8_t)zone, (uint16_t)offset, data, len, atomic);
    free(data);
    if (rc != 0) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "update zone %u offset %u (%zu byte%s)", (unsigned)zone, (unsigned)offset, len,
                 len == 1 ? "" : "s");
        zone_req_t req = {.zone = zone, .which = 1, .to_ac = -1, .have_key = key_s != NULL, .offset = offset,
                          .len = len};
        return zone_fail(cli, rc, &req, ctx);
    }
    if (cli->json) {
        json_t *r = json_pack("{s:i, s:i, s:i, s:b}", "zone", (int)zone, "offset", (int)offset, "length", (int)len,
                              "atomic", atomic);
        json_t *o = json_pack("{s:o}", "update", r);
        return vsafe_cli_json_out(cli, o);
    }
    printf("zone %u: wrote %zu byte%s at offset %u%s\n", (unsigned)zone, len, len == 1 ? "" : "s", (unsigned)offset,
           atomic ? " (atomic)" : "");
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cmd_decrement(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *off_s = NULL, *amount_s = NULL, *key_s = NULL, *pos[1];
    vsafe_cli_input_t data_in = {NULL, NULL};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {
        {"offset", 1, &off_s, NULL, "N", "byte offset of the associated data in the zone (default 0)"},
        {"data", 1, &data_in.hex, NULL, "HEX", "associated data written in the same atomic command, hex"},
        {"data-file", 1, &data_in.file, NULL, "FILE", "associated data, raw, from FILE (- for stdin)"},
        {"amount", 1, &amount_s, NULL, "N", "amount to decrement by (1..0xFFFFFFFF; default 1)"},
        {"host-key", 1, &key_s, NULL, "FILE", "host key file (or obk:HDPL3-S, the board MCU's OBK keys): open a host session, commands with C-MAC and R-MAC"},
        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint32_t zone = 0, offset = 0, amount = 1;
    if ((rc = vsafe_cli_parse_u32(cli, "ZONE", pos[0], 0, 255, &zone)) != 0 ||
        (off_s != NULL && (rc = vsafe_cli_parse_u32(cli, "--offset", off_s, 0, 0xFFFF, &offset)) != 0) ||
        (amount_s != NULL && (rc = vsafe_cli_parse_u32(cli, "--amount", amount_s, 1, 0xFFFFFFFFu, &amount)) != 0)) {
        return rc;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if ((rc = vsafe_cli_input_read(cli, "data", &data_in, 0, 0, ZONE_END_MAX, &data, &len)) != 0) {
        return rc;
    }
    if ((rc = zone_end_check(cli, "data", offset, len)) != 0 || (rc = vsafe_cli_open_host(cli)) != 0) {
        free(data);
        return rc;
    }
    vsafe_host_prot_t prot = VSAFE_HOST_PROT_TABLE;
    if ((key_s != NULL && (rc = vsafe_cli_session(cli, key_s, &prot)) != 0) ||
        (rc = zone_frame_check(cli, prot, VSAFE_SE_CMD_DECREMENT, "--data", len)) != 0) {
        free(data);
        return rc;
    }
    uint32_t counter = 0;
    rc = vsafe_host_decrement(cli->host, prot, (uint8_t)zone, amount, (uint16_t)offset, data, len, &counter);
    free(data);
    if (rc != 0) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "decrement zone %u by %u", (unsigned)zone, (unsigned)amount);
        zone_req_t req = {.zone = zone, .which = 1, .to_ac = -1, .have_key = key_s != NULL, .offset = offset,
                          .len = len, .amount = amount};
        return zone_fail(cli, rc, &req, ctx);
    }
    if (cli->json) {
        json_t *r = json_pack("{s:i, s:I}", "zone", (int)zone, "counter", (json_int_t)counter);
        json_t *o = json_pack("{s:o}", "decrement", r);
        return vsafe_cli_json_out(cli, o);
    }
    printf("zone %u: counter %u\n", (unsigned)zone, counter);
    return VSAFE_CLI_EXIT_OK;
}

static int parse_ac(const char *s, uint8_t *ac)
{
    if (strcmp(s, "always") == 0) {
        *ac = VSAFE_SE_AC_ALWAYS;
    } else if (strcmp(s, "host") == 0) {
        *ac = VSAFE_SE_AC_HOST;
    } else if (strcmp(s, "never") == 0) {
        *ac = VSAFE_SE_AC_NEVER;
    } else {
        return -1;
    }
    return 0;
}

int vsafe_cmd_ac(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *read_s = NULL, *update_s = NULL, *amount_s = NULL, *key_s = NULL, *pos[1];
    int lock = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"read", 1, &read_s, NULL, "always|host|never", "the new read access condition"},     {"update", 1, &update_s, NULL, "always|host|never", "the new update access condition"},
                                    {"lock", 0, NULL, &lock, NULL, "clear the change right for good"},       {"amount", 1, &amount_s, NULL, "N", "the Decrement that changes a counter zone's update AC decrements by N (required there)"},
                                    {"host-key", 1, &key_s, NULL, "FILE", "host key file (or obk:HDPL3-S, the board MCU's OBK keys): open a host session, commands with C-MAC and R-MAC"}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint32_t zone = 0, amount = 0;
    if ((rc = vsafe_cli_parse_u32(cli, "ZONE", pos[0], 0, 255, &zone)) != 0 ||
        (amount_s != NULL && (rc = vsafe_cli_parse_u32(cli, "--amount", amount_s, 1, 0xFFFFFFFFu, &amount)) != 0)) {
        return rc;
    }
    if ((read_s == NULL) == (update_s == NULL)) {
        return vsafe_cli_usage_error(cli, "give exactly one of --read AC or --update AC");
    }
    uint8_t ac = 0;
    const char *which = read_s != NULL ? "read" : "update";
    if (parse_ac(read_s != NULL ? read_s : update_s, &ac) != 0) {
        return vsafe_cli_usage_error(cli, "--%s: '%s' is not always, host or never", which,
                                     read_s != NULL ? read_s : update_s);
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot = VSAFE_HOST_PROT_TABLE;
    if (key_s != NULL && (rc = vsafe_cli_session(cli, key_s, &prot)) != 0) {
        return rc;
    }
    vsafe_host_zone_t z = {0};
    int found = 0;
    if ((rc = find_zone(cli, zone, &z, &found)) != 0) {
        return rc;
    }
    /* A zone not in the table goes to the device as a data zone's change: it answers ENTRY_NOT_FOUND. */
    uint32_t counter = 0;
    if (read_s != NULL) {
        rc = vsafe_host_change_read_ac(cli->host, prot, (uint8_t)zone, ac, !lock);
    } else if (z.type == VSAFE_SE_ZONE_COUNTER) {
        if (amount == 0) {
            return vsafe_cli_usage_error(cli,
                                         "zone %u is a counter zone: its update AC changes with a Decrement, "
                                         "so give --amount N (>= 1) to say by how much to decrement it",
                                         (unsigned)zone);
        }
        rc = vsafe_host_change_decrement_ac(cli->host, prot, (uint8_t)zone, ac, !lock, amount, 0, NULL, 0, &counter);
    } else {
        rc = vsafe_host_change_update_ac(cli->host, prot, (uint8_t)zone, ac, !lock, 0, NULL, 0, 0);
    }
    if (rc != 0) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "change %s AC of zone %u to %s", which, (unsigned)zone, vsafe_cli_ac_name(ac));
        zone_req_t req = {.zone = zone, .which = read_s == NULL, .to_ac = ac, .have_key = key_s != NULL,
                          .amount = amount};
        return zone_fail(cli, rc, &req, ctx);
    }
    if (cli->json) {
        json_t *o = json_pack("{s:{s:i, s:s, s:s, s:b}}", "ac", "zone", (int)zone, "which", which, "ac",
                              vsafe_cli_ac_name(ac), "change_right", !lock);
        if (z.type == VSAFE_SE_ZONE_COUNTER && read_s == NULL) {
            json_object_set_new(json_object_get(o, "ac"), "counter", json_integer(counter));
        }
        return vsafe_cli_json_out(cli, o);
    }
    printf("zone %u: %s AC is now %s%s\n", (unsigned)zone, which, vsafe_cli_ac_name(ac),
           lock ? " (locked: it can no longer change)" : "");
    if (z.type == VSAFE_SE_ZONE_COUNTER && read_s == NULL) {
        printf("zone %u: counter %u\n", (unsigned)zone, counter);
    }
    return VSAFE_CLI_EXIT_OK;
}

static const char *life_cycle_name(uint8_t lcs)
{
    switch (lcs) {
    case 0x01:
        return "born";
    case 0x02:
        return "patching";
    case 0x03:
        return "operational";
    case 0x04:
        return "terminated";
    case 0x81:
        return "born+locked";
    case 0x83:
        return "operational+locked";
    default:
        return "unknown";
    }
}

int vsafe_cmd_info(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t pd[64];
    size_t pd_len = 0;
    if ((rc = vsafe_host_product_data(cli->host, pd, sizeof pd, &pd_len)) != 0) {
        return vsafe_cli_fail(cli, rc, "product data");
    }
    uint8_t lcs = 0;
    int lcs_rc = vsafe_host_query_life_cycle(cli->host, &lcs);
    vsafe_host_key_slot_t slot = {0};
    int slot_rc = vsafe_host_query_key_slot(cli->host, &slot);
    uint8_t ctrl[2] = {0, 0};
    int ctrl_rc = vsafe_host_query_key_ctrl(cli->host, ctrl);
    vsafe_host_zone_t zones[ZONES_MAX];
    size_t nz = 0;
    if ((rc = vsafe_host_zones(cli->host, zones, ZONES_MAX, &nz)) != 0) {
        return vsafe_cli_fail(cli, rc, "partition query");
    }
    char profile[32];
    vsafe_cli_profile_name(cli, profile, sizeof profile);
    char *pd_hex = vsafe_cli_hex(pd, pd_len);
    char mask[8];
    snprintf(mask, sizeof mask, "%02x%02x%02x", pd[2], pd[3], pd[4]);
    if (cli->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "product_data", pd_hex, "mask_id", mask, "device_type",
                              "STSAFE-A120", "zones", (int)nz);
        if (profile[0] != '\0') {
            json_object_set_new(o, "profile", json_string(profile));
        }
        if (lcs_rc == 0) {
            json_object_set_new(o, "life_cycle", json_string(life_cycle_name(lcs)));
        }
        if (slot_rc == 0) {
            json_object_set_new(o, "host_key",
                                json_pack("{s:b, s:s, s:I}", "present", slot.present, "key_type",
                                          slot.key_type == 1 ? "aes256" : "aes128", "counter",
                                          (json_int_t)slot.counter));
        }
        if (ctrl_rc == 0) {
            json_object_set_new(o, "host_key_control",
                                json_pack("{s:b, s:b, s:b, s:b, s:i}", "wrapped_allowed", ctrl[0] & 1,
                                          "plaintext_allowed", (ctrl[0] >> 1) & 1, "reprovision_allowed",
                                          (ctrl[0] >> 2) & 1, "change_right", (ctrl[0] >> 3) & 1,
                                          "auth_key_slot", ctrl[1]));
        }
        free(pd_hex);
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "info", o));
    }
    printf("%-18sSTSAFE-A120 (virtual), mask ID %s\n", "device", mask);
    printf("%-18s%s\n", "product data", pd_hex);
    if (lcs_rc == 0) {
        printf("%-18s%s (0x%02x)\n", "life cycle", life_cycle_name(lcs), lcs);
    } else {
        printf("%-18s(query refused: %s)\n", "life cycle", vsafe_status_name(lcs_rc));
    }
    printf("%-18s%zu\n", "zones", nz);
    if (profile[0] != '\0') {
        printf("%-18s%s\n", "profile", profile);
    }
    if (slot_rc == 0) {
        if (slot.present) {
            printf("%-18s%s, C-MAC counter %u\n", "host key", slot.key_type == 1 ? "AES-256" : "AES-128", slot.counter);
        } else {
            printf("%-18sempty\n", "host key");
        }
    } else {
        printf("%-18s(query refused: %s)\n", "host key", vsafe_status_name(slot_rc));
    }
    if (ctrl_rc == 0) {
        printf("%-18splaintext %s, wrapped %s, re-provision %s, change right %s, auth key slot 0x%02x\n", "key provisioning",
               (ctrl[0] & 2) ? "allowed" : "refused", (ctrl[0] & 1) ? "allowed" : "refused",
               (ctrl[0] & 4) ? "allowed" : "refused", (ctrl[0] & 8) ? "yes" : "no", ctrl[1]);
    }
    free(pd_hex);
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cmd_random(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *pos[1], *key_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {
        {"host-key", 1, &key_s, NULL, "FILE", "host key file (or obk:HDPL3-S, the board MCU's OBK keys): open a host session (for a command table that requires one)"},
        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint32_t n = 0;
    if ((rc = vsafe_cli_parse_u32(cli, "N", pos[0], 1, 65536, &n)) != 0) {
        return rc;
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot = VSAFE_HOST_PROT_TABLE;
    if (key_s != NULL && (rc = vsafe_cli_session(cli, key_s, &prot)) != 0) {
        return rc;
    }
    uint8_t *buf = malloc(n);
    if (buf == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "random");
    }
    rc = vsafe_host_random_prot(cli->host, prot, buf, n);
    if (rc != 0) {
        free(buf);
        return vsafe_cli_fail(cli, rc, "generate random");
    }
    char *hex = vsafe_cli_hex(buf, n);
    free(buf);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:s}", "random", hex));
    } else {
        printf("%s\n", hex);
    }
    free(hex);
    return rc;
}

int vsafe_cmd_echo(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *pos[1], *key_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {
        {"host-key", 1, &key_s, NULL, "FILE", "host key file (or obk:HDPL3-S, the board MCU's OBK keys): open a host session (for a command table that requires one)"},
        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t *in = NULL;
    size_t n = 0;
    if ((rc = vsafe_cli_parse_hex(cli, "HEX", pos[0], &in, &n)) != 0) {
        return rc;
    }
    if (n > 749) {
        free(in);
        return vsafe_cli_usage_error(cli, "HEX: %zu bytes is more than one frame carries (749)", n);
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        free(in);
        return rc;
    }
    vsafe_host_prot_t prot = VSAFE_HOST_PROT_TABLE;
    if (key_s != NULL && (rc = vsafe_cli_session(cli, key_s, &prot)) != 0) {
        free(in);
        return rc;
    }
    uint8_t out[752];
    rc = vsafe_host_echo_prot(cli->host, prot, in, n, out);
    free(in);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "echo");
    }
    char *hex = vsafe_cli_hex(out, n);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:s}", "echo", hex));
    } else {
        printf("%s\n", hex);
    }
    free(hex);
    return rc;
}
