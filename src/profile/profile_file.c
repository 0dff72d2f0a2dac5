/* Profile files: JSON (docs/PROFILE.md) compiled into vsafe_profile_t, and built-ins copied to the
 * heap so that every loaded profile is released the same way.
 *
 * Invariants:
 *  - Every message is "<file>:<line>: <field path>: <what was expected>, got <value>"; the line
 *    comes from jansson for syntax errors and from vsafe_profile_json_line for field errors.
 *  - Statuses: VSAFE_ERR_PROFILE_SYNTAX when the text is not JSON (or repeats a key),
 *    VSAFE_ERR_PROFILE_FIELD when it does not follow the format (unknown field, wrong type, unknown
 *    name, odd hex), VSAFE_ERR_BAD_PROFILE when a well-formed value cannot exist on a device.
 *  - Every object is checked for unknown keys before its fields are read: a typo never falls back
 *    silently to a default.
 *  - A profile returned has passed vsafe_profile_check; its zones are sorted by index (the order
 *    the device lists them in); each zone's content is its own heap block or NULL. */
#include "profile/profile_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <strings.h>

#include "vsafe/se_wire.h"

#define PROFILE_FILE_MAX (4u * 1024u * 1024u)
#define PATH_CAP 96u

typedef struct {
    const char *file;
    const char *text;
    size_t text_len;
    char *err;
    size_t err_cap;
} ctx_t;

__attribute__((format(printf, 4, 5))) static int fail(const ctx_t *c, int status, const char *path,
                                                      const char *fmt, ...)
{
    if (c->err_cap == 0) {
        return status;
    }
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    unsigned line = vsafe_profile_json_line(c->text, c->text_len, path);
    if (line == 0) {
        line = 1;
    }
    if (path[0] != '\0') {
        snprintf(c->err, c->err_cap, "%s:%u: %s: %s", c->file, line, path, why);
    } else {
        snprintf(c->err, c->err_cap, "%s:%u: %s", c->file, line, why);
    }
    return status;
}

/* A path cut short at PATH_CAP still locates its longest existing prefix. */
static void join(char *dst, const char *base, const char *key)
{
    if (snprintf(dst, PATH_CAP, "%s%s%s", base, base[0] != '\0' ? "." : "", key) >= (int)PATH_CAP) {
        dst[PATH_CAP - 1u] = '\0';
    }
}

static void join_index(char *dst, const char *base, size_t i)
{
    if (snprintf(dst, PATH_CAP, "%s[%zu]", base, i) >= (int)PATH_CAP) {
        dst[PATH_CAP - 1u] = '\0';
    }
}

/* A short rendering of a JSON value for "got ..." */
static const char *show(const json_t *v, char *buf, size_t cap)
{
    if (json_is_object(v)) {
        return "an object";
    }
    if (json_is_array(v)) {
        return "an array";
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s == NULL) {
        return "a value";
    }
    if (strlen(s) >= cap && cap > 4) {
        snprintf(buf, cap, "%.*s...", (int)(cap - 4), s);
    } else {
        snprintf(buf, cap, "%s", s);
    }
    free(s);
    return buf;
}

/* ---- unknown keys ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) {
        return 99;
    }
    size_t row[41];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int check_keys(const ctx_t *c, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool known = strcmp(key, "comment") == 0;
        const char *near = NULL;
        size_t near_d = 3;
        for (size_t i = 0; allowed[i] != NULL && !known; i++) {
            known = strcmp(key, allowed[i]) == 0;
            size_t d = edit_distance(key, allowed[i]);
            if (d < near_d) {
                near_d = d;
                near = allowed[i];
            }
        }
        if (!known) {
            char p[PATH_CAP];
            join(p, path, key);
            if (near != NULL) {
                return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "unknown field (did you mean \"%s\"?)", near);
            }
            char list[256] = "";
            for (size_t i = 0; allowed[i] != NULL; i++) {
                size_t n = strlen(list);
                snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", allowed[i]);
            }
            return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "unknown field (known: %s)", list);
        }
    }
    return VSAFE_OK;
}

/* ---- typed getters: *present tells whether the key was there ---- */

/* Integers, or "0x.." strings for byte-like values. */
static bool as_number(const json_t *v, unsigned long long *out, bool *negative)
{
    *negative = false;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        *negative = n < 0;
        *out = n < 0 ? 0 : (unsigned long long)n;
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if ((s[0] == '0') && (s[1] == 'x' || s[1] == 'X') && s[2] != '\0' && strlen(s) <= 18) {
            char *end;
            errno = 0;
            *out = strtoull(s + 2, &end, 16);
            return *end == '\0' && errno == 0 && s[2] != '-' && s[2] != '+';
        }
    }
    return false;
}

static int get_uint(const ctx_t *c, const json_t *obj, const char *key, const char *path,
                    unsigned long long min, unsigned long long max, bool *present, unsigned long long *out)
{
    const json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (v == NULL) {
        return VSAFE_OK;
    }
    char p[PATH_CAP], got[48];
    join(p, path, key);
    bool negative;
    if (!as_number(v, out, &negative)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "expected an integer %llu..%llu, got %s", min, max,
                    show(v, got, sizeof got));
    }
    if (negative || *out < min || *out > max) {
        return fail(c, VSAFE_ERR_BAD_PROFILE, p, "expected an integer %llu..%llu, got %s", min, max,
                    show(v, got, sizeof got));
    }
    return VSAFE_OK;
}

static int get_bool(const ctx_t *c, const json_t *obj, const char *key, const char *path, bool dflt,
                    bool *out)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (v == NULL) {
        return VSAFE_OK;
    }
    if (!json_is_boolean(v)) {
        char p[PATH_CAP], got[48];
        join(p, path, key);
        return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "expected true or false, got %s", show(v, got, sizeof got));
    }
    *out = json_is_true(v);
    return VSAFE_OK;
}

/* One of names[] (case-insensitive; values[] gives its number) or an integer 0..max. */
static int get_enum(const ctx_t *c, const json_t *obj, const char *key, const char *path,
                    const char *const *names, const unsigned *values, unsigned max, const char *expect,
                    unsigned dflt, unsigned *out)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (v == NULL) {
        return VSAFE_OK;
    }
    char p[PATH_CAP], got[48];
    join(p, path, key);
    if (json_is_string(v)) {
        for (size_t i = 0; names[i] != NULL; i++) {
            if (strcasecmp(json_string_value(v), names[i]) == 0) {
                *out = values[i];
                return VSAFE_OK;
            }
        }
    }
    unsigned long long n;
    bool negative;
    if (!json_is_integer(v) || !as_number(v, &n, &negative)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "expected %s, got %s", expect, show(v, got, sizeof got));
    }
    if (negative || n > max) {
        return fail(c, VSAFE_ERR_BAD_PROFILE, p, "expected %s, got %s", expect, show(v, got, sizeof got));
    }
    *out = (unsigned)n;
    return VSAFE_OK;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Hex bytes, spaces and colons allowed between them. *out is malloc'd (NULL when empty). */
static int get_hex(const ctx_t *c, const json_t *obj, const char *key, const char *path, bool *present,
                   uint8_t **out, size_t *out_len)
{
    const json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    *out = NULL;
    *out_len = 0;
    if (v == NULL) {
        return VSAFE_OK;
    }
    char p[PATH_CAP], got[48];
    join(p, path, key);
    if (!json_is_string(v)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "expected a hex string, got %s", show(v, got, sizeof got));
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    uint8_t *buf = malloc(n / 2u + 1u);
    if (buf == NULL) {
        return fail(c, VSAFE_ERR_NO_MEMORY, p, "out of memory");
    }
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ' || s[i] == ':') {
            i++;
            continue;
        }
        int hi = hex_digit(s[i]);
        int lo = i + 1 < n ? hex_digit(s[i + 1]) : -1;
        if (hi >= 0 && i + 1 >= n) {
            /* The last digit has no partner: say so, not "bad character" at a character that is fine. */
            free(buf);
            return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "odd number of hex digits (each byte is two digits)");
        }
        if (hi < 0 || lo < 0) {
            free(buf);
            return fail(c, VSAFE_ERR_PROFILE_FIELD, p,
                        "expected hex bytes (pairs of 0-9a-f, spaces allowed), bad character at offset %zu", hi < 0 ? i : i + 1);
        }
        buf[len++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    if (len == 0) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    *out_len = len;
    return VSAFE_OK;
}

/* ---- sections ---- */

static const char *const ac_names[] = { "always", "host", "never", NULL };
static const unsigned ac_values[] = { VSAFE_SE_AC_ALWAYS, VSAFE_SE_AC_HOST, VSAFE_SE_AC_NEVER };
#define AC_EXPECT "\"always\", \"host\" or \"never\" (or 0..7)"

static int parse_zone(const ctx_t *c, const json_t *zj, const char *path, vsafe_profile_zone_t *z)
{
    static const char *const keys[] = { "index", "type", "length", "read_ac", "update_ac",
                                        "read_ac_change_right", "update_ac_change_right",
                                        "counter", "content_hex", NULL };
    static const char *const type_names[] = { "data", "counter", NULL };
    static const unsigned type_values[] = { VSAFE_SE_ZONE_DATA, VSAFE_SE_ZONE_COUNTER };
    char got[48];
    if (!json_is_object(zj)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, path, "expected a zone object, got %s", show(zj, got, sizeof got));
    }
    int rc = check_keys(c, zj, path, keys);
    bool present;
    unsigned long long n;
    unsigned e;
    if (rc != VSAFE_OK || (rc = get_uint(c, zj, "index", path, 0, 255, &present, &n)) != VSAFE_OK) {
        return rc;
    }
    if (!present) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, path, "missing field \"index\" (0..255)");
    }
    z->index = (uint8_t)n;
    if ((rc = get_enum(c, zj, "type", path, type_names, type_values, 1, "\"data\" or \"counter\"",
                       VSAFE_SE_ZONE_DATA, &e)) != VSAFE_OK) {
        return rc;
    }
    z->type = (uint8_t)e;
    if ((rc = get_uint(c, zj, "length", path, 1, 65535, &present, &n)) != VSAFE_OK) {
        return rc;
    }
    if (!present) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, path, "missing field \"length\" (1..65535 bytes)");
    }
    z->length = (uint16_t)n;
    if ((rc = get_enum(c, zj, "read_ac", path, ac_names, ac_values, 7, AC_EXPECT, VSAFE_SE_AC_ALWAYS, &e)) != VSAFE_OK) {
        return rc;
    }
    z->read_ac = (uint8_t)e;
    if ((rc = get_enum(c, zj, "update_ac", path, ac_names, ac_values, 7, AC_EXPECT, VSAFE_SE_AC_ALWAYS, &e)) != VSAFE_OK) {
        return rc;
    }
    z->update_ac = (uint8_t)e;
    if ((rc = get_bool(c, zj, "read_ac_change_right", path, true, &z->read_ac_cr)) != VSAFE_OK ||
        (rc = get_bool(c, zj, "update_ac_change_right", path, true, &z->update_ac_cr)) != VSAFE_OK ||
        (rc = get_uint(c, zj, "counter", path, 0, 0xFFFFFFFFull, &present, &n)) != VSAFE_OK) {
        return rc;
    }
    char p[PATH_CAP];
    if (z->type == VSAFE_SE_ZONE_COUNTER && !present) {
        return fail(c, VSAFE_ERR_BAD_PROFILE, path,
                    "a counter zone needs its initial \"counter\" (0..4294967295)");
    }
    if (z->type == VSAFE_SE_ZONE_DATA && present) {
        join(p, path, "counter");
        return fail(c, VSAFE_ERR_BAD_PROFILE, p, "a data zone has no counter (set \"type\": \"counter\")");
    }
    z->counter = present ? (uint32_t)n : 0u;
    uint8_t *content;
    size_t content_len;
    if ((rc = get_hex(c, zj, "content_hex", path, &present, &content, &content_len)) != VSAFE_OK) {
        return rc;
    }
    if (content_len > z->length) {
        free(content);
        join(p, path, "content_hex");
        return fail(c, VSAFE_ERR_BAD_PROFILE, p, "content is %zu bytes, longer than the zone (%u)",
                    content_len, z->length);
    }
    z->content = content;
    z->content_len = (uint16_t)content_len;
    return VSAFE_OK;
}

static int parse_zones(const ctx_t *c, const json_t *arr, vsafe_profile_t *p)
{
    char got[48];
    if (!json_is_array(arr)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, "zones", "expected an array of zones, got %s", show(arr, got, sizeof got));
    }
    if (json_array_size(arr) > VSAFE_PROFILE_MAX_ZONES) {
        return fail(c, VSAFE_ERR_BAD_PROFILE, "zones", "too many zones (%zu, at most %u)",
                    json_array_size(arr), VSAFE_PROFILE_MAX_ZONES);
    }
    p->zone_count = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[PATH_CAP];
        join_index(path, "zones", i);
        memset(&p->zones[i], 0, sizeof p->zones[i]);
        int rc = parse_zone(c, json_array_get(arr, i), path, &p->zones[i]);
        p->zone_count = (uint8_t)(i + 1u); /* so that free releases what parse_zone kept */
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    return VSAFE_OK;
}

static bool name_matches(const char *want, const char *name)
{
    for (; *want != '\0' && *name != '\0'; want++, name++) {
        char a = (*want == '-' || *want == ' ') ? '_' : *want;
        char b = (*name == '-' || *name == ' ') ? '_' : *name;
        if ((a | 0x20) != (b | 0x20) && !(a == '_' && b == '_')) {
            return false;
        }
    }
    return *want == '\0' && *name == '\0';
}

/* A command name as traces print it ("Read", "generate_random", "write-host-key-v2-plaintext"). */
static bool command_by_name(const char *s, uint8_t *header, uint8_t *ext, bool *is_ext)
{
    if (strcasecmp(s, "random") == 0) {
        *header = VSAFE_SE_CMD_RANDOM;
        *ext = 0;
        *is_ext = false;
        return true;
    }
    for (unsigned code = 0; code < VSAFE_SE_CMD_EXTENDED; code++) {
        const char *n = vsafe_se_command_name((uint8_t)code, 0);
        if (n != NULL && name_matches(s, n)) {
            *header = (uint8_t)code;
            *ext = 0;
            *is_ext = false;
            return true;
        }
    }
    for (unsigned e = 0; e < 256u; e++) {
        const char *n = vsafe_se_command_name(VSAFE_SE_CMD_EXTENDED, (uint8_t)e);
        if (n != NULL && name_matches(s, n)) {
            *header = VSAFE_SE_CMD_EXTENDED;
            *ext = (uint8_t)e;
            *is_ext = true;
            return true;
        }
    }
    return false;
}

static int parse_command(const ctx_t *c, const json_t *cj, const char *path, vsafe_profile_cmd_t *cmd)
{
    static const char *const keys[] = { "code", "ext", "ac", "encrypt_command", "encrypt_response", NULL };
    static const char *const cmd_ac_names[] = { "never", "free", "admin", "host", NULL };
    static const unsigned cmd_ac_values[] = { VSAFE_SE_CMD_AC_NEVER, VSAFE_SE_CMD_AC_FREE,
                                              VSAFE_SE_CMD_AC_ADMIN, VSAFE_SE_CMD_AC_HOST };
    char got[48], p[PATH_CAP];
    if (!json_is_object(cj)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, path, "expected a command object, got %s", show(cj, got, sizeof got));
    }
    int rc = check_keys(c, cj, path, keys);
    if (rc != VSAFE_OK) {
        return rc;
    }
    const json_t *code = json_object_get(cj, "code");
    join(p, path, "code");
    bool named_ext = false;
    if (code == NULL) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, path, "missing field \"code\" (0..31 or a command name)");
    }
    if (json_is_string(code) && strncasecmp(json_string_value(code), "0x", 2) != 0) {
        if (!command_by_name(json_string_value(code), &cmd->header, &cmd->ext, &named_ext)) {
            return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "unknown command name %s", show(code, got, sizeof got));
        }
    } else {
        bool present;
        unsigned long long n;
        if ((rc = get_uint(c, cj, "code", path, 0, VSAFE_SE_HDR_CODE, &present, &n)) != VSAFE_OK) {
            return rc;
        }
        cmd->header = (uint8_t)n;
    }
    bool present;
    unsigned long long n;
    if ((rc = get_uint(c, cj, "ext", path, 0, 255, &present, &n)) != VSAFE_OK) {
        return rc;
    }
    join(p, path, "ext");
    if (present && cmd->header != VSAFE_SE_CMD_EXTENDED) {
        return fail(c, VSAFE_ERR_BAD_PROFILE, p, "only command 0x1F (extended) has an extended code");
    }
    if (present && named_ext && n != cmd->ext) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, p, "the command name already gives ext %u", cmd->ext);
    }
    if (!present && !named_ext && cmd->header == VSAFE_SE_CMD_EXTENDED) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, path, "missing field \"ext\" (command 0x1F needs its extended code)");
    }
    if (present) {
        cmd->ext = (uint8_t)n;
    }
    unsigned ac;
    bool enc_cmd, enc_rsp;
    if ((rc = get_enum(c, cj, "ac", path, cmd_ac_names, cmd_ac_values, 3,
                       "\"free\", \"never\", \"admin\" or \"host\" (or 0..3)", VSAFE_SE_CMD_AC_FREE, &ac)) != VSAFE_OK ||
        (rc = get_bool(c, cj, "encrypt_command", path, false, &enc_cmd)) != VSAFE_OK ||
        (rc = get_bool(c, cj, "encrypt_response", path, false, &enc_rsp)) != VSAFE_OK) {
        return rc;
    }
    cmd->ac = (uint8_t)ac;
    cmd->enc = (uint8_t)((enc_cmd ? VSAFE_SE_ENC_CMD : 0u) | (enc_rsp ? VSAFE_SE_ENC_RSP : 0u));
    return VSAFE_OK;
}

static int parse_command_table(const ctx_t *c, const json_t *tj, vsafe_profile_t *p)
{
    static const char *const keys[] = { "change_rights", "commands", NULL };
    static const char *const cr_keys[] = { "access", "encryption", NULL };
    char got[48];
    if (!json_is_object(tj)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, "command_table", "expected an object, got %s", show(tj, got, sizeof got));
    }
    int rc = check_keys(c, tj, "command_table", keys);
    if (rc != VSAFE_OK) {
        return rc;
    }
    const json_t *cr = json_object_get(tj, "change_rights");
    if (cr != NULL) {
        bool access, encryption;
        if (!json_is_object(cr)) {
            return fail(c, VSAFE_ERR_PROFILE_FIELD, "command_table.change_rights",
                        "expected {\"access\": bool, \"encryption\": bool}, got %s", show(cr, got, sizeof got));
        }
        if ((rc = check_keys(c, cr, "command_table.change_rights", cr_keys)) != VSAFE_OK ||
            (rc = get_bool(c, cr, "access", "command_table.change_rights", true, &access)) != VSAFE_OK ||
            (rc = get_bool(c, cr, "encryption", "command_table.change_rights", true, &encryption)) != VSAFE_OK) {
            return rc;
        }
        p->cmd_change_rights = (uint8_t)((access ? 0x02u : 0u) | (encryption ? 0x01u : 0u));
    }
    const json_t *arr = json_object_get(tj, "commands");
    if (arr == NULL) {
        return VSAFE_OK;
    }
    if (!json_is_array(arr)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, "command_table.commands", "expected an array, got %s",
                    show(arr, got, sizeof got));
    }
    if (json_array_size(arr) > VSAFE_PROFILE_MAX_CMDS) {
        return fail(c, VSAFE_ERR_BAD_PROFILE, "command_table.commands", "too many command records (%zu, at most %u)",
                    json_array_size(arr), VSAFE_PROFILE_MAX_CMDS);
    }
    memset(p->cmds, 0, sizeof p->cmds);
    p->cmd_count = (uint8_t)json_array_size(arr);
    for (size_t i = 0; i < p->cmd_count; i++) {
        char path[PATH_CAP];
        join_index(path, "command_table.commands", i);
        if ((rc = parse_command(c, json_array_get(arr, i), path, &p->cmds[i])) != VSAFE_OK) {
            return rc;
        }
    }
    return VSAFE_OK;
}

static int parse_host_key(const ctx_t *c, const json_t *hj, vsafe_profile_t *p)
{
    static const char *const keys[] = { "plaintext", "wrapped", "reprovision", "change_right", "auth_key_slot", NULL };
    const char *path = "host_key_provisioning";
    char got[48];
    if (!json_is_object(hj)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, path, "expected an object, got %s", show(hj, got, sizeof got));
    }
    bool plaintext, wrapped, reprovision, change_right, present;
    unsigned long long slot;
    int rc;
    if ((rc = check_keys(c, hj, path, keys)) != VSAFE_OK ||
        (rc = get_bool(c, hj, "plaintext", path, true, &plaintext)) != VSAFE_OK ||
        (rc = get_bool(c, hj, "wrapped", path, false, &wrapped)) != VSAFE_OK ||
        (rc = get_bool(c, hj, "reprovision", path, false, &reprovision)) != VSAFE_OK ||
        (rc = get_bool(c, hj, "change_right", path, true, &change_right)) != VSAFE_OK ||
        (rc = get_uint(c, hj, "auth_key_slot", path, 0, 255, &present, &slot)) != VSAFE_OK) {
        return rc;
    }
    p->hostkey_ctrl[0] = (uint8_t)((wrapped ? 0x01u : 0u) | (plaintext ? 0x02u : 0u) |
                                   (reprovision ? 0x04u : 0u) | (change_right ? 0x08u : 0u));
    p->hostkey_ctrl[1] = present ? (uint8_t)slot : 0xFFu;
    return VSAFE_OK;
}

/* The default name: the file's base name without its extension. */
static void default_name(const char *file, char *name, size_t cap)
{
    const char *base = strrchr(file, '/');
    base = base != NULL ? base + 1 : file;
    size_t n = strcspn(base, ".");
    if (n == 0) {
        base = "profile";
        n = strlen(base);
    }
    if (n >= cap) {
        n = cap - 1u;
    }
    memcpy(name, base, n);
    name[n] = '\0';
}

static int parse_root(const ctx_t *c, const json_t *root, vsafe_profile_t *p)
{
    static const char *const keys[] = { "name", "product_data", "life_cycle_state", "i2c_address",
                                        "zones", "command_table", "host_key_provisioning", NULL };
    static const char *const lcs_names[] = { "born", "patching", "operational", "terminated",
                                             "born_locked", "operational_locked", NULL };
    static const unsigned lcs_values[] = { 0x01, 0x02, 0x03, 0x04, 0x81, 0x83 };
    char got[48];
    if (!json_is_object(root)) {
        return fail(c, VSAFE_ERR_PROFILE_FIELD, "", "a profile is a JSON object, got %s", show(root, got, sizeof got));
    }
    int rc = check_keys(c, root, "", keys);
    if (rc != VSAFE_OK) {
        return rc;
    }
    const json_t *name = json_object_get(root, "name");
    if (name != NULL) {
        if (!json_is_string(name) || json_string_length(name) == 0 ||
            json_string_length(name) >= sizeof p->name || strlen(json_string_value(name)) != json_string_length(name)) {
            return fail(c, VSAFE_ERR_PROFILE_FIELD, "name", "expected a string of 1..%zu characters, got %s",
                        sizeof p->name - 1u, show(name, got, sizeof got));
        }
        snprintf(p->name, sizeof p->name, "%s", json_string_value(name));
    } else {
        default_name(c->file, p->name, sizeof p->name);
    }
    bool present;
    uint8_t *pd;
    size_t pd_len;
    if ((rc = get_hex(c, root, "product_data", "", &present, &pd, &pd_len)) != VSAFE_OK) {
        return rc;
    }
    if (present) {
        if (pd_len > VSAFE_PROFILE_MAX_PRODUCT_DATA) {
            free(pd);
            return fail(c, VSAFE_ERR_BAD_PROFILE, "product_data", "product data is %zu bytes, at most %u",
                        pd_len, VSAFE_PROFILE_MAX_PRODUCT_DATA);
        }
        memset(p->product_data, 0, sizeof p->product_data);
        if (pd_len > 0) {
            memcpy(p->product_data, pd, pd_len);
        }
        p->product_data_len = (uint8_t)pd_len;
        free(pd);
    }
    unsigned lcs;
    unsigned long long addr;
    if ((rc = get_enum(c, root, "life_cycle_state", "", lcs_names, lcs_values, 255,
                       "\"born\", \"patching\", \"operational\", \"terminated\", \"born_locked\", \"operational_locked\" (or 0..255)",
                       p->life_cycle_state, &lcs)) != VSAFE_OK ||
        (rc = get_uint(c, root, "i2c_address", "", 0, 0x7F, &present, &addr)) != VSAFE_OK) {
        return rc;
    }
    p->life_cycle_state = (uint8_t)lcs;
    if (present) {
        p->i2c_addr = (uint8_t)addr;
    }
    const json_t *v;
    if ((v = json_object_get(root, "zones")) != NULL) {
        /* The defaults are a deep copy of the built-in (vsafe_profile_copy): release their zone
         * contents (SPL05's zone-0 certificate) before the file's zones replace them. */
        for (unsigned i = 0; i < p->zone_count; i++) {
            free((void *)(uintptr_t)p->zones[i].content);
            p->zones[i].content = NULL;
        }
        p->zone_count = 0;
        if ((rc = parse_zones(c, v, p)) != VSAFE_OK) {
            return rc;
        }
    }
    if ((v = json_object_get(root, "command_table")) != NULL && (rc = parse_command_table(c, v, p)) != VSAFE_OK) {
        return rc;
    }
    if ((v = json_object_get(root, "host_key_provisioning")) != NULL && (rc = parse_host_key(c, v, p)) != VSAFE_OK) {
        return rc;
    }
    return VSAFE_OK;
}

static void sort_zones(vsafe_profile_t *p)
{
    for (unsigned i = 1; i < p->zone_count; i++) {
        vsafe_profile_zone_t z = p->zones[i];
        unsigned j = i;
        for (; j > 0 && p->zones[j - 1].index > z.index; j--) {
            p->zones[j] = p->zones[j - 1];
        }
        p->zones[j] = z;
    }
}

/* ---- public ---- */

void vsafe_profile_free(vsafe_profile_t *p)
{
    if (p == NULL) {
        return;
    }
    for (unsigned i = 0; i < p->zone_count && i < VSAFE_PROFILE_MAX_ZONES; i++) {
        free((void *)(uintptr_t)p->zones[i].content);
    }
    free(p);
}

int vsafe_profile_copy(const vsafe_profile_t *src, vsafe_profile_t **out)
{
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    if (src == NULL || src->zone_count > VSAFE_PROFILE_MAX_ZONES) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_profile_t *p = malloc(sizeof *p);
    if (p == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    *p = *src;
    for (unsigned i = 0; i < p->zone_count; i++) {
        p->zones[i].content = NULL;
    }
    for (unsigned i = 0; i < p->zone_count; i++) {
        const vsafe_profile_zone_t *z = &src->zones[i];
        if (z->content != NULL && z->content_len > 0) {
            uint8_t *buf = malloc(z->content_len);
            if (buf == NULL) {
                vsafe_profile_free(p);
                return VSAFE_ERR_NO_MEMORY;
            }
            memcpy(buf, z->content, z->content_len);
            p->zones[i].content = buf;
        } else {
            p->zones[i].content_len = 0;
        }
    }
    *out = p;
    return VSAFE_OK;
}

int vsafe_profile_parse(const char *file, const char *text, size_t text_len, vsafe_profile_t **out,
                        char *err, size_t err_cap)
{
    if (err_cap > 0 && err != NULL) {
        err[0] = '\0';
    } else {
        err_cap = 0;
    }
    if (out == NULL || text == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    if (file == NULL) {
        file = "<profile>";
    }
    const ctx_t c = { file, text, text_len, err, err_cap };
    json_error_t je;
    json_t *root = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        if (err_cap > 0) {
            snprintf(err, err_cap, "%s:%d:%d: %s", file, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
                     je.text);
        }
        return VSAFE_ERR_PROFILE_SYNTAX;
    }
    vsafe_profile_t *p = NULL;
    int rc = vsafe_profile_copy(&vsafe_profile_spl05, &p);
    if (rc != VSAFE_OK) {
        json_decref(root);
        return fail(&c, rc, "", "out of memory");
    }
    rc = parse_root(&c, root, p);
    json_decref(root);
    if (rc == VSAFE_OK) {
        char field[PATH_CAP], why[200];
        rc = vsafe_profile_check(p, field, sizeof field, why, sizeof why);
        if (rc != VSAFE_OK) {
            rc = fail(&c, rc, field, "%s", why);
        }
    }
    if (rc != VSAFE_OK) {
        vsafe_profile_free(p);
        return rc;
    }
    sort_zones(p);
    *out = p;
    return VSAFE_OK;
}

/* The directories searched for NAME.json, in order: each of $VSAFE_PROFILE_PATH (':'-separated),
 * then share/vsafe/profiles beside the running program's installation (BIN/../share/...), then
 * the one of the configured install prefix. */
static int try_dir(const char *dir, size_t dir_len, const char *name, char *out, size_t cap)
{
    if (dir_len == 0) {
        return VSAFE_ERR_NOT_FOUND;
    }
    int n = snprintf(out, cap, "%.*s/%s.json", (int)dir_len, dir, name);
    if (n < 0 || (size_t)n >= cap) {
        return VSAFE_ERR_NOT_FOUND;
    }
    struct stat st;
    return stat(out, &st) == 0 && S_ISREG(st.st_mode) ? VSAFE_OK : VSAFE_ERR_NOT_FOUND;
}

int vsafe_profile_find(const char *name, char *out, size_t cap)
{
    if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL || out == NULL || cap == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    const char *env = getenv("VSAFE_PROFILE_PATH");
    for (const char *p = env; p != NULL && *p != '\0';) {
        const char *colon = strchr(p, ':');
        size_t l = colon != NULL ? (size_t)(colon - p) : strlen(p);
        if (try_dir(p, l, name, out, cap) == VSAFE_OK) {
            return VSAFE_OK;
        }
        p = colon != NULL ? colon + 1 : NULL;
    }
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el > 0) {
        exe[el] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            char dir[4200];
            int n = snprintf(dir, sizeof dir, "%s/../share/vsafe/profiles", exe);
            if (n > 0 && (size_t)n < sizeof dir && try_dir(dir, (size_t)n, name, out, cap) == VSAFE_OK) {
                return VSAFE_OK;
            }
        }
    }
#ifdef VSAFE_PROFILE_DATADIR
    if (try_dir(VSAFE_PROFILE_DATADIR, strlen(VSAFE_PROFILE_DATADIR), name, out, cap) == VSAFE_OK) {
        return VSAFE_OK;
    }
#endif
    return VSAFE_ERR_NOT_FOUND;
}

static bool looks_like_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 5 && strcasecmp(s + n - 5, ".json") == 0);
}

int vsafe_profile_load(const char *name_or_path, vsafe_profile_t **out, char *err, size_t err_cap)
{
    if (err_cap > 0 && err != NULL) {
        err[0] = '\0';
    } else {
        err_cap = 0;
    }
    if (out == NULL || name_or_path == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    const vsafe_profile_t *builtin = vsafe_profile_builtin(name_or_path);
    if (builtin != NULL) {
        int rc = vsafe_profile_copy(builtin, out);
        if (rc != VSAFE_OK && err_cap > 0) {
            snprintf(err, err_cap, "%s: %s", name_or_path, vsafe_status_message(rc));
        }
        return rc;
    }
    /* A bare name (no '/', no .json) that is no file here: NAME.json in the profile directories. */
    char found[4096];
    const char *path = name_or_path;
    FILE *f = fopen(name_or_path, "rb");
    if (f == NULL && errno == ENOENT && !looks_like_path(name_or_path) &&
        vsafe_profile_find(name_or_path, found, sizeof found) == VSAFE_OK) {
        path = found;
        f = fopen(path, "rb");
    }
    if (f == NULL) {
        int e = errno;
        if (e == ENOENT && !looks_like_path(name_or_path)) {
            if (err_cap > 0) {
                snprintf(err, err_cap,
                         "unknown profile \"%s\": not a built-in (spl05, default), no such file, and no %s.json in "
                         "$VSAFE_PROFILE_PATH or the installed profiles (share/vsafe/profiles)",
                         name_or_path, name_or_path);
            }
            return VSAFE_ERR_PROFILE_UNKNOWN;
        }
        if (e == ENOENT || e == ENOTDIR) {
            /* A file that does not exist is an unknown profile, as a name is: ERR_IO is for a file
             * that exists and cannot be read. */
            if (err_cap > 0) {
                snprintf(err, err_cap, "unknown profile \"%s\": no such file: %s", path, strerror(e));
            }
            return VSAFE_ERR_PROFILE_UNKNOWN;
        }
        if (err_cap > 0) {
            snprintf(err, err_cap, "%s: cannot open: %s", path, strerror(e));
        }
        return VSAFE_ERR_IO;
    }
    name_or_path = path;
    char *text = malloc(PROFILE_FILE_MAX + 1u);
    if (text == NULL) {
        fclose(f);
        return VSAFE_ERR_NO_MEMORY;
    }
    size_t len = fread(text, 1, PROFILE_FILE_MAX + 1u, f);
    int read_error = ferror(f);
    fclose(f);
    int rc;
    if (read_error) {
        if (err_cap > 0) {
            snprintf(err, err_cap, "%s: cannot read the file", name_or_path);
        }
        rc = VSAFE_ERR_IO;
    } else if (len > PROFILE_FILE_MAX) {
        if (err_cap > 0) {
            snprintf(err, err_cap, "%s: larger than %u bytes, not a profile", name_or_path, PROFILE_FILE_MAX);
        }
        rc = VSAFE_ERR_PROFILE_SYNTAX;
    } else {
        rc = vsafe_profile_parse(name_or_path, text, len, out, err, err_cap);
    }
    free(text);
    return rc;
}
