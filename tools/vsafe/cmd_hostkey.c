/* `vsafe hostkey` and `vsafe cmdac`: host keys, sessions and the command access table
 * (spec §4.4, §4.5, §6).
 *
 * Key file (written by `hostkey provision --out`, mode 0600), one "name value" per line:
 *     # vsafe host key
 *     type aes128            (or aes256)
 *     mac 00112233...        (16 or 32 bytes in hex)
 *     cipher 01234567...
 * Keys are never printed; buffers holding them are wiped (OPENSSL_cleanse) on every path. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli.h"
#include "vsafe/se_wire.h"

typedef struct {
    unsigned type;
    uint8_t mac[32];
    uint8_t cipher[32];
} key_t_;

static size_t key_len(const key_t_ *k)
{
    return k->type == VSAFE_HOST_KEY_AES256 ? 32u : 16u;
}

static void key_wipe(key_t_ *k)
{
    OPENSSL_cleanse(k, sizeof *k);
}

/* Hex into a fixed buffer; returns the byte count or -1. Wipes what it parsed on error. */
static int hex_into(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    for (; s[0] != '\0' && s[0] != '\n' && s[0] != '\r' && s[0] != ' '; s += 2) {
        unsigned v;
        if (s[1] == '\0' || n >= cap || sscanf(s, "%2x", &v) != 1) {
            OPENSSL_cleanse(out, cap);
            return -1;
        }
        out[n++] = (uint8_t)v;
    }
    return (int)n;
}

static int load_key_file(vsafe_cli_t *cli, const char *path, key_t_ *k)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "cannot open key file '%s'", path);
    }
    char line[256];
    int have_type = 0, lineno = 0;
    int mac_n = -1, cipher_n = -1;
    memset(k, 0, sizeof *k);
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '#' || *p == '\n' || *p == '\0') {
            continue;
        }
        if (strncmp(p, "type ", 5) == 0) {
            if (strncmp(p + 5, "aes128", 6) == 0) {
                k->type = VSAFE_HOST_KEY_AES128;
            } else if (strncmp(p + 5, "aes256", 6) == 0) {
                k->type = VSAFE_HOST_KEY_AES256;
            } else {
                break;
            }
            have_type = 1;
        } else if (strncmp(p, "mac ", 4) == 0) {
            mac_n = hex_into(p + 4, k->mac, sizeof k->mac);
        } else if (strncmp(p, "cipher ", 7) == 0) {
            cipher_n = hex_into(p + 7, k->cipher, sizeof k->cipher);
        } else {
            break;
        }
        OPENSSL_cleanse(line, sizeof line);
    }
    OPENSSL_cleanse(line, sizeof line);
    int eof = feof(f);
    fclose(f);
    if (!eof || !have_type || mac_n != (int)key_len(k) || cipher_n != (int)key_len(k)) {
        key_wipe(k);
        return vsafe_cli_fail_named(cli, "BAD_KEY_FILE",
                                    "key file '%s' (line %d): expected lines 'type aes128|aes256', 'mac HEX' and "
                                    "'cipher HEX' with keys of 16 or 32 bytes",
                                    path, lineno);
    }
    return 0;
}

static int save_key_file(vsafe_cli_t *cli, const char *path, const key_t_ *k)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "cannot write key file '%s'", path);
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "cannot write key file '%s'", path);
    }
    fprintf(f, "# vsafe host key: keep this file secret\ntype %s\nmac ", k->type ? "aes256" : "aes128");
    for (size_t i = 0; i < key_len(k); i++) {
        fprintf(f, "%02x", k->mac[i]);
    }
    fprintf(f, "\ncipher ");
    for (size_t i = 0; i < key_len(k); i++) {
        fprintf(f, "%02x", k->cipher[i]);
    }
    fprintf(f, "\n");
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "cannot write key file '%s'", path);
    }
    return 0;
}

int vsafe_cli_session(vsafe_cli_t *cli, const char *key_file, vsafe_host_prot_t *prot)
{
    key_t_ k;
    int rc = load_key_file(cli, key_file, &k);
    if (rc != 0) {
        return rc;
    }
    rc = vsafe_host_session_open(cli->host, k.mac, k.cipher, k.type);
    key_wipe(&k);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "open host session with '%s'", key_file);
    }
    *prot = VSAFE_HOST_PROT_MAC;
    return 0;
}

static int hostkey_show(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_key_slot_t s;
    uint8_t ctrl[2];
    if ((rc = vsafe_host_query_key_slot(cli->host, &s)) != 0) {
        return vsafe_cli_fail(cli, rc, "query host key slot");
    }
    if ((rc = vsafe_host_query_key_ctrl(cli->host, ctrl)) != 0) {
        return vsafe_cli_fail(cli, rc, "query host key control fields");
    }
    if (cli->json) {
        return vsafe_cli_json_out(
            cli, json_pack("{s:{s:b, s:s, s:I, s:{s:b, s:b, s:b, s:b, s:i}}}", "hostkey", "present", s.present,
                           "key_type", s.key_type == 1 ? "aes256" : "aes128", "counter", (json_int_t)s.counter,
                           "control", "plaintext_allowed", (ctrl[0] >> 1) & 1, "wrapped_allowed", ctrl[0] & 1,
                           "reprovision_allowed", (ctrl[0] >> 2) & 1, "change_right", (ctrl[0] >> 3) & 1,
                           "auth_key_slot", ctrl[1]));
    }
    if (s.present) {
        printf("host key       %s, C-MAC counter %u\n", s.key_type == 1 ? "AES-256" : "AES-128", s.counter);
    } else {
        printf("host key       empty\n");
    }
    printf("provisioning   plaintext %s, wrapped/ECDH %s, re-provisioning %s, control change right %s\n",
           (ctrl[0] & 2) ? "allowed" : "refused", (ctrl[0] & 1) ? "allowed" : "refused",
           (ctrl[0] & 4) ? "allowed" : "refused", (ctrl[0] & 8) ? "yes" : "no");
    return VSAFE_CLI_EXIT_OK;
}

static int hostkey_provision(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *key_file = NULL, *mac_s = NULL, *cipher_s = NULL, *method = "plaintext", *out = NULL;
    int aes256 = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"key-file", 1, &key_file, NULL}, {"mac-key", 1, &mac_s, NULL},
                                    {"cipher-key", 1, &cipher_s, NULL}, {"aes256", 0, NULL, &aes256},
                                    {"method", 1, &method, NULL},     {"out", 1, &out, NULL},
                                    {NULL, 0, NULL, NULL}};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    int m = strcmp(method, "plaintext") == 0 ? 0 : strcmp(method, "wrapped") == 0 ? 1 : strcmp(method, "ecdh") == 0 ? 2 : -1;
    if (m < 0) {
        return vsafe_cli_usage_error(cli, "--method: '%s' is not plaintext, wrapped or ecdh", method);
    }
    if ((mac_s == NULL) != (cipher_s == NULL)) {
        return vsafe_cli_usage_error(cli, "give both --mac-key and --cipher-key");
    }
    if (key_file != NULL && mac_s != NULL) {
        return vsafe_cli_usage_error(cli, "give --key-file or --mac-key/--cipher-key, not both");
    }
    if (m == 2 && (key_file != NULL || mac_s != NULL)) {
        return vsafe_cli_usage_error(cli, "with --method ecdh the keys are derived on both sides: give no keys, only --out F");
    }
    if (key_file == NULL && mac_s == NULL && out == NULL) {
        return vsafe_cli_usage_error(cli, "new keys are generated: give --out F to keep them (or give the keys)");
    }
    key_t_ k;
    memset(&k, 0, sizeof k);
    k.type = aes256 ? VSAFE_HOST_KEY_AES256 : VSAFE_HOST_KEY_AES128;
    if (key_file != NULL) {
        if ((rc = load_key_file(cli, key_file, &k)) != 0) {
            return rc;
        }
        if (aes256 && k.type != VSAFE_HOST_KEY_AES256) {
            key_wipe(&k);
            return vsafe_cli_usage_error(cli, "--aes256 given but '%s' holds AES-128 keys", key_file);
        }
    } else if (mac_s != NULL) {
        int a = hex_into(mac_s, k.mac, sizeof k.mac);
        int b = hex_into(cipher_s, k.cipher, sizeof k.cipher);
        if (a != (int)key_len(&k) || b != (int)key_len(&k)) {
            key_wipe(&k);
            return vsafe_cli_usage_error(cli, "--mac-key and --cipher-key must be %zu bytes of hex each%s",
                                         key_len(&k), aes256 ? "" : " (or 32 with --aes256)");
        }
    } else if (m != 2) {
        if (RAND_bytes(k.mac, (int)key_len(&k)) != 1 || RAND_bytes(k.cipher, (int)key_len(&k)) != 1) {
            key_wipe(&k);
            return vsafe_cli_fail(cli, VSAFE_ERR_CRYPTO, "generate keys");
        }
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        key_wipe(&k);
        return rc;
    }
    if (m == 0) {
        rc = vsafe_host_provision_plaintext(cli->host, k.type, k.mac, k.cipher);
    } else if (m == 1) {
        rc = vsafe_host_provision_wrapped(cli->host, k.type, k.mac, k.cipher);
    } else {
        rc = vsafe_host_provision_ecdh(cli->host, k.type, k.mac, k.cipher);
    }
    if (rc != 0) {
        key_wipe(&k);
        return vsafe_cli_fail(cli, rc, "provision host key (%s)", method);
    }
    if (out != NULL && (rc = save_key_file(cli, out, &k)) != 0) {
        key_wipe(&k);
        return rc;
    }
    key_wipe(&k);
    vsafe_host_key_slot_t s = {0};
    if ((rc = vsafe_host_query_key_slot(cli->host, &s)) != 0) {
        return vsafe_cli_fail(cli, rc, "query host key slot");
    }
    if (cli->json) {
        json_t *o = json_pack("{s:{s:s, s:s, s:I}}", "hostkey", "method", method, "key_type",
                              s.key_type == 1 ? "aes256" : "aes128", "counter", (json_int_t)s.counter);
        if (out != NULL) {
            json_object_set_new(json_object_get(o, "hostkey"), "key_file", json_string(out));
        }
        return vsafe_cli_json_out(cli, o);
    }
    printf("host key provisioned (%s, %s), C-MAC counter %u%s%s\n", s.key_type == 1 ? "AES-256" : "AES-128", method,
           s.counter, out != NULL ? "; keys saved to " : "", out != NULL ? out : "");
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cmd_hostkey(vsafe_cli_t *cli, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "provision") == 0) {
        cli->usage = "hostkey provision [--key-file F | --mac-key HEX --cipher-key HEX] [--aes256] "
                     "[--method plaintext|wrapped|ecdh] [--out F]";
        return hostkey_provision(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "show") == 0) {
        cli->usage = "hostkey show";
        return hostkey_show(cli, argc - 1, argv + 1);
    }
    return vsafe_cli_usage_error(cli, "expected 'hostkey provision' or 'hostkey show'");
}

/* ---- cmdac ---- */

static const struct {
    const char *name;
    uint8_t header, ext;
} cmd_names[] = {
    {"echo", 0x00, 0},      {"reset", 0x01, 0},        {"random", 0x02, 0},  {"decrement", 0x04, 0},
    {"read", 0x05, 0},      {"update", 0x06, 0},       {"put", 0x10, 0},     {"query", 0x14, 0},
    {"write-host-key", 0x1F, 0x07}, {"write-host-key-wrapped", 0x1F, 0x08}, {"establish-host-key", 0x1F, 0x18},
};

static const char *cmd_ac_name(uint8_t ac)
{
    static const char *const n[] = {"never", "free", "admin", "host"};
    return ac < 4 ? n[ac] : "?";
}

/* CMD: a name above, a code (0x05), or an extended code as 0x1F07. */
static int parse_cmd(const char *s, vsafe_host_cmd_ac_t *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < sizeof cmd_names / sizeof cmd_names[0]; i++) {
        if (strcasecmp(s, cmd_names[i].name) == 0) {
            r->header = cmd_names[i].header;
            r->ext = cmd_names[i].ext;
            return 0;
        }
    }
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 0);
    if (end == s || *end != '\0') {
        return -1;
    }
    if (v <= 0x1E) {
        r->header = (uint8_t)v;
        return 0;
    }
    if (v >= 0x1F00 && v <= 0x1FFF) {
        r->header = 0x1F;
        r->ext = (uint8_t)v;
        return 0;
    }
    return -1;
}

static int cmdac_show(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_cmd_table_t t;
    if ((rc = vsafe_host_command_table(cli->host, &t)) != 0) {
        return vsafe_cli_fail(cli, rc, "command table");
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < t.count; i++) {
            const vsafe_host_cmd_ac_t *r = &t.rec[i];
            const char *name = vsafe_se_command_name(r->header, r->ext);
            json_t *o = json_pack("{s:i, s:s, s:s, s:b, s:b}", "code", r->header, "name", name ? name : "?", "ac",
                                  cmd_ac_name(r->ac), "encrypt_cmd", (r->enc & VSAFE_SE_ENC_CMD) != 0, "encrypt_rsp",
                                  (r->enc & VSAFE_SE_ENC_RSP) != 0);
            if (r->header == VSAFE_SE_CMD_EXTENDED) {
                json_object_set_new(o, "ext", json_integer(r->ext));
            }
            json_array_append_new(arr, o);
        }
        return vsafe_cli_json_out(cli, json_pack("{s:{s:b, s:b, s:o}}", "cmdac", "ac_change_right",
                                                 (t.change_rights & 2) != 0, "encryption_change_right",
                                                 (t.change_rights & 1) != 0, "commands", arr));
    }
    printf("AC change right: %s; encryption flags change right: %s\n", (t.change_rights & 2) ? "yes" : "no",
           (t.change_rights & 1) ? "yes" : "no");
    printf("code     command                          AC     encrypt\n");
    for (size_t i = 0; i < t.count; i++) {
        const vsafe_host_cmd_ac_t *r = &t.rec[i];
        const char *name = vsafe_se_command_name(r->header, r->ext);
        char code[16];
        if (r->header == VSAFE_SE_CMD_EXTENDED) {
            snprintf(code, sizeof code, "1F %02X", r->ext);
        } else {
            snprintf(code, sizeof code, "%02X", r->header);
        }
        const char *enc = r->enc == 3 ? "cmd+rsp" : r->enc == 2 ? "cmd" : r->enc == 1 ? "rsp" : "-";
        printf("%-7s  %-31s  %-5s  %s\n", code, name ? name : "?", cmd_ac_name(r->ac), enc);
    }
    return VSAFE_CLI_EXIT_OK;
}

static int cmdac_set(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *ac_s = NULL, *key_s = NULL, *pos[1];
    int enc_cmd = 0, enc_rsp = 0, lock = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"ac", 1, &ac_s, NULL},          {"encrypt-cmd", 0, NULL, &enc_cmd},
                                    {"encrypt-rsp", 0, NULL, &enc_rsp}, {"lock", 0, NULL, &lock},
                                    {"host-key", 1, &key_s, NULL},     {NULL, 0, NULL, NULL}};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (ac_s == NULL && !enc_cmd && !enc_rsp) {
        return vsafe_cli_usage_error(cli, "give --ac and/or --encrypt-cmd / --encrypt-rsp");
    }
    uint8_t ac = 0;
    if (ac_s != NULL) {
        if (strcmp(ac_s, "free") == 0) {
            ac = VSAFE_SE_CMD_AC_FREE;
        } else if (strcmp(ac_s, "host") == 0) {
            ac = VSAFE_SE_CMD_AC_HOST;
        } else if (strcmp(ac_s, "never") == 0) {
            ac = VSAFE_SE_CMD_AC_NEVER;
        } else {
            return vsafe_cli_usage_error(cli, "--ac: '%s' is not free, host or never", ac_s);
        }
    }
    /* CMD may be a comma-separated list: one Put carries them all. */
    vsafe_host_cmd_ac_t recs[VSAFE_HOST_CMD_TABLE_MAX];
    size_t n = 0;
    char list[512];
    snprintf(list, sizeof list, "%s", pos[0]);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (n >= VSAFE_HOST_CMD_TABLE_MAX || parse_cmd(tok, &recs[n]) != 0) {
            return vsafe_cli_usage_error(cli, "CMD: '%s' is not a command name (read, update, decrement, ...) or code "
                                         "(0x05, 0x1F07)", tok);
        }
        recs[n].ac = ac;
        recs[n].enc = (uint8_t)((enc_cmd ? VSAFE_SE_ENC_CMD : 0) | (enc_rsp ? VSAFE_SE_ENC_RSP : 0));
        n++;
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot = VSAFE_HOST_PROT_TABLE;
    if (key_s != NULL && (rc = vsafe_cli_session(cli, key_s, &prot)) != 0) {
        return rc;
    }
    if (ac_s != NULL && (rc = vsafe_host_put_command_table(cli->host, prot, VSAFE_SE_TAG_CMD_AC, recs, n)) != 0) {
        return vsafe_cli_fail(cli, rc, "set command access conditions");
    }
    if ((enc_cmd || enc_rsp) &&
        (rc = vsafe_host_put_command_table(cli->host, prot, VSAFE_SE_TAG_CMD_ENC, recs, n)) != 0) {
        return vsafe_cli_fail(cli, rc, "set command encryption flags");
    }
    vsafe_host_cmd_table_t t;
    if ((rc = vsafe_host_command_table(cli->host, &t)) != 0) {
        return vsafe_cli_fail(cli, rc, "command table");
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:b, s:b}}", "cmdac", "set", pos[0], "ac_change_right",
                                                 (t.change_rights & 2) != 0, "encryption_change_right",
                                                 (t.change_rights & 1) != 0));
    }
    printf("command table updated for %s", pos[0]);
    if (ac_s != NULL) {
        printf(": AC %s", ac_s);
    }
    if (enc_cmd || enc_rsp) {
        printf(", encrypt%s%s", enc_cmd ? " commands" : "", enc_rsp ? (enc_cmd ? " and responses" : " responses") : "");
    }
    printf("\nAC change right: %s; encryption flags change right: %s%s\n", (t.change_rights & 2) ? "yes" : "no",
           (t.change_rights & 1) ? "yes" : "no",
           lock ? "" : "\n(the table is one-time programmable: each Put uses up its change right)");
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cmd_cmdac(vsafe_cli_t *cli, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "show") == 0) {
        cli->usage = "cmdac show";
        return cmdac_show(cli, argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "set") == 0) {
        cli->usage = "cmdac set CMD[,CMD...] --ac free|host|never [--encrypt-cmd] [--encrypt-rsp] [--lock] "
                     "[--host-key F]";
        return cmdac_set(cli, argc - 1, argv + 1);
    }
    return vsafe_cli_usage_error(cli, "expected 'cmdac show' or 'cmdac set'");
}
