/* `vsafe hostkey` and `vsafe cmdac`: host keys, sessions and the command access table
 * (see docs/CLI.md).
 *
 * Invariants of `hostkey provision`:
 *  H1 The keys are on disk, complete and durable (keyfile.h: temporary file, fsync, link/rename,
 *     directory fsync) before the device is asked to store them; for ECDH the keys are derived
 *     before Establish is sent (vsafe_host_provision_ecdh_ex). So a failure or a kill at any
 *     instant leaves either no new key on the device or a complete key file.
 *  H2 Every way of failing before the device is asked leaves the device untouched, and the key
 *     file is removed again only when the device is seen to hold no key afterwards.
 *  H3 Unless --keep-open, the provisioning control fields are locked after provisioning (change
 *     right and re-provisioning cleared), so nobody on the bus can re-enable provisioning.
 * Keys are never printed; every buffer holding them is wiped with vsafe_wipe on every path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "cli.h"
#include "cli_io.h"
#include "cmd_mcu.h"
#include "common/secure.h"
#include "exposure.h"
#include "host/keyfile.h"
#include "vsafe/se_wire.h"

#define HK_ANON 0x01u
#define HK_PLAIN 0x02u
#define HK_REPROV 0x04u
#define HK_CHANGE_RIGHT 0x08u

enum { METHOD_PLAINTEXT = 0, METHOD_WRAPPED = 1, METHOD_ECDH = 2 };

static int load_key_file(vsafe_cli_t *cli, const char *opt, const char *path, vsafe_keyfile_t *k)
{
    int rc = vsafe_keyfile_load(path, k);
    if (rc == VSAFE_ERR_PARSE) {
        unsigned line = k->error_line;
        size_t bad = k->error_key_len;
        unsigned type = k->type;
        vsafe_wipe(k, sizeof *k);
        if (line == 0u && bad > 0u) {
            return vsafe_cli_fail_named(cli, "BAD_KEY_FILE",
                                        "%s: key file '%s': 'type %s' takes %u-byte mac and cipher keys, and it "
                                        "holds a %zu-byte key",
                                        opt, path, type == VSAFE_HOST_KEY_AES256 ? "aes256" : "aes128",
                                        type == VSAFE_HOST_KEY_AES256 ? 32u : 16u, bad);
        }
        if (line > 0u) {
            return vsafe_cli_fail_named(cli, "BAD_KEY_FILE",
                                        "%s: key file '%s', line %u: expected '# comment', 'type aes128|aes256', "
                                        "'mac HEX' or 'cipher HEX' (one space, hex digits only)",
                                        opt, path, line);
        }
        return vsafe_cli_fail_named(cli, "BAD_KEY_FILE",
                                    "%s: key file '%s': needs each of 'type', 'mac' and 'cipher' exactly once, with "
                                    "keys of 16 (aes128) or 32 (aes256) bytes",
                                    opt, path);
    }
    if (rc == VSAFE_ERR_NOT_FOUND || rc == VSAFE_ERR_IO) {
        int err = k->error_errno;
        vsafe_wipe(k, sizeof *k);
        return vsafe_cli_fail_named(cli, vsafe_status_name(rc), "%s: cannot read key file '%s': %s", opt, path,
                                    err != 0 ? strerror(err) : "not a regular file");
    }
    if (rc != VSAFE_OK) {
        vsafe_wipe(k, sizeof *k);
        return vsafe_cli_fail(cli, rc, "%s: cannot read key file '%s'", opt, path);
    }
    return 0;
}

/* The board's own keys: what its secure firmware does at boot (vsafe_board_session_open), the
 * keys read from OBK HDPL3-S of DIR/mcu.nvm into this process only, never to a file. The MCU is
 * opened read-only (a query: a missing mcu.nvm is NO_MCU) and runs uncut: --cut-after belongs to
 * the secure element's state file in these commands. */
static int obk_session(vsafe_cli_t *cli, vsafe_host_prot_t *prot)
{
    if (cli->connect != NULL) {
        return vsafe_cli_usage_error(cli, "--host-key %s reads the board's MCU in the device directory; it "
                                          "does not work with --connect",
                                     VSAFE_CLI_OBK_HOST_KEY);
    }
    unsigned long cut = cli->cut_after;
    cli->cut_after = 0;
    vsafe_mcu_t *m = NULL;
    int rc = vsafe_cli_open_mcu(cli, &m, 1);
    cli->cut_after = cut;
    if (rc != 0) {
        return rc;
    }
    int s = vsafe_board_session_open(m, cli->host);
    bool open_state = vsafe_mcu_state(m) == VSAFE_MCU_STATE_OPEN;
    vsafe_mcu_close(m);
    if (s != VSAFE_OK) {
        const char *hint = s == VSAFE_ERR_NOT_FOUND
                               ? "OBK HDPL3-S holds no host keys: vsafe mcu hostkeys puts them there, a full "
                                 "regression erases them"
                           : s == VSAFE_ERR_STATE && open_state
                               ? "option-byte keys are not readable in OPEN: the DHUK that protects them does not "
                                 "exist until PROVISIONING"
                               : NULL;
        return vsafe_cli_fail_hint(cli, s, hint, "open host session with the keys of OBK HDPL3-S");
    }
    *prot = VSAFE_HOST_PROT_MAC;
    return 0;
}

int vsafe_cli_session(vsafe_cli_t *cli, const char *key_file, vsafe_host_prot_t *prot)
{
    if (strcmp(key_file, VSAFE_CLI_OBK_HOST_KEY) == 0) {
        return obk_session(cli, prot);
    }
    vsafe_keyfile_t k;
    int rc = load_key_file(cli, "--host-key", key_file, &k);
    if (rc != 0) {
        return rc;
    }
    unsigned type = k.type;
    rc = vsafe_host_session_open(cli->host, k.mac, k.cipher, k.type);
    vsafe_wipe(&k, sizeof k);
    if (rc != 0) {
        /* What the device's slot holds says which side is wrong. */
        char hint[160] = "";
        vsafe_host_key_slot_t slot;
        if (vsafe_host_query_key_slot(cli->host, &slot) == VSAFE_OK) {
            const char *have = slot.key_type == VSAFE_HOST_KEY_AES256 ? "AES-256" : "AES-128";
            const char *given = type == VSAFE_HOST_KEY_AES256 ? "AES-256" : "AES-128";
            if (!slot.present) {
                snprintf(hint, sizeof hint, "the device holds no host key: vsafe hostkey provision --out F makes one");
            } else if (slot.key_type != type) {
                snprintf(hint, sizeof hint, "'%s' holds %u-byte %s keys, the device's host key slot a %u-byte %s key",
                         key_file, type == VSAFE_HOST_KEY_AES256 ? 32u : 16u, given,
                         slot.key_type == VSAFE_HOST_KEY_AES256 ? 32u : 16u, have);
            }
        }
        return vsafe_cli_fail_hint(cli, rc, hint, "open host session with '%s'", key_file);
    }
    *prot = VSAFE_HOST_PROT_MAC;
    return 0;
}

/* A key given as a secret option: optional "0x", then exactly 2 * want hex digits. */
static int key_from_secret(vsafe_cli_t *cli, const char *name, const vsafe_cli_secret_t *sec, size_t want,
                           uint8_t out[32])
{
    char text[80];
    size_t n = 0;
    int rc = vsafe_cli_secret_read(cli, name, sec, text, sizeof text, &n);
    if (rc != 0) {
        return rc;
    }
    const char *p = text;
    if (n >= 2u && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        n -= 2u;
    }
    size_t digits = n;
    rc = n == 2u * want ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i += 2u) {
        unsigned v = 0;
        for (size_t j = 0; j < 2u; j++) {
            char c = p[i + j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) {
                rc = -1;
            }
            v = v << 4 | (unsigned)(d & 15);
        }
        out[i / 2u] = (uint8_t)v;
    }
    vsafe_wipe(text, sizeof text);
    if (rc != 0) {
        vsafe_wipe(out, 32);
        const char *type = want == 32u ? "AES-256" : "AES-128";
        const char *other = want == 32u ? "without --aes256, 16" : "with --aes256, 32";
        if (digits != 2u * want && digits % 2u == 0u) {
            return vsafe_cli_usage_error(cli, "--%s: %zu bytes given, an %s host key is %zu bytes (%zu hex digits; %s)",
                                         name, digits / 2u, type, want, 2u * want, other);
        }
        return vsafe_cli_usage_error(cli, "--%s: an %s host key is %zu bytes as %zu hex digits, given %zu character%s%s",
                                     name, type, want, 2u * want, digits, digits == 1 ? "" : "s",
                                     digits == 2u * want ? " that are not all hex digits" : "");
    }
    return 0;
}

/* Whether the device will accept the method now (the same rules as the device applies). */
static const char *refusal(const vsafe_host_key_slot_t *s, const uint8_t ctrl[2], int method)
{
    if (method == METHOD_PLAINTEXT ? (ctrl[0] & HK_PLAIN) == 0u : ((ctrl[0] & HK_ANON) == 0u || ctrl[1] != 0xFFu)) {
        return method == METHOD_PLAINTEXT ? "the control fields (0x4A) do not allow plaintext provisioning"
                                          : "the control fields (0x4A) do not allow anonymous wrapped/ECDH provisioning";
    }
    if (s->present && (ctrl[0] & HK_REPROV) == 0u) {
        return "a host key is present and the control fields (0x4A) do not allow re-provisioning";
    }
    return NULL;
}

const char *vsafe_cli_plaintext_hostkey_refusal(vsafe_host_t *host)
{
    vsafe_host_key_slot_t slot;
    uint8_t ctrl[2] = {0};
    if (vsafe_host_query_key_slot(host, &slot) != VSAFE_OK || vsafe_host_query_key_ctrl(host, ctrl) != VSAFE_OK) {
        return NULL;
    }
    return refusal(&slot, ctrl, METHOD_PLAINTEXT);
}

typedef struct {
    vsafe_cli_t *cli;
    const char *out;
    int force;
    int saved; /* the key file is in place under its name */
    int failed; /* exit status already printed by save_keys */
} save_ctx_t;

static int save_keys(save_ctx_t *c, const vsafe_keyfile_t *k)
{
    vsafe_keyfile_staged_t st;
    /* The failing system call's errno survives the clean-up (successful calls leave errno alone). */
    errno = 0;
    int rc = vsafe_keyfile_stage(c->out, k, c->force, &st);
    if (rc == VSAFE_OK) {
        rc = vsafe_keyfile_commit(&st, c->force);
    }
    int e = errno;
    if (rc == VSAFE_ERR_EXISTS) {
        c->failed = vsafe_cli_fail(c->cli, rc, "key file '%s' exists: give --force to replace it", c->out);
    } else if (rc != VSAFE_OK) {
        c->failed = vsafe_cli_fail(c->cli, rc, "cannot write key file '%s'%s%s", c->out, e != 0 ? ": " : "",
                                   e != 0 ? strerror(e) : "");
    } else {
        c->saved = 1;
    }
    return rc;
}

/* ECDH: the keys, derived before Establish is sent, are saved first (H1). */
static int ecdh_ready(void *ctx, unsigned key_type, const uint8_t *mac, const uint8_t *cipher)
{
    save_ctx_t *c = ctx;
    vsafe_keyfile_t k;
    memset(&k, 0, sizeof k);
    k.type = key_type;
    k.key_len = key_type == VSAFE_HOST_KEY_AES256 ? 32u : 16u;
    memcpy(k.mac, mac, k.key_len);
    memcpy(k.cipher, cipher, k.key_len);
    int rc = save_keys(c, &k);
    vsafe_wipe(&k, sizeof k);
    return rc;
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
    vsafe_host_cmd_table_t t;
    if ((rc = vsafe_host_query_key_slot(cli->host, &s)) != 0) {
        return vsafe_cli_fail(cli, rc, "query host key slot");
    }
    if ((rc = vsafe_host_query_key_ctrl(cli->host, ctrl)) != 0) {
        return vsafe_cli_fail(cli, rc, "query host key control fields");
    }
    if ((rc = vsafe_host_command_table(cli->host, &t)) != 0) {
        return vsafe_cli_fail(cli, rc, "command table");
    }
    unsigned exposed = vsafe_cli_exposure(ctrl, s.present, t.change_rights);
    if (cli->json) {
        json_t *o = json_pack("{s:{s:b, s:s, s:I, s:{s:b, s:b, s:b, s:b, s:i}}}", "hostkey", "present", s.present,
                              "key_type", s.key_type == 1 ? "aes256" : "aes128", "counter", (json_int_t)s.counter,
                              "control", "plaintext_allowed", (ctrl[0] >> 1) & 1, "wrapped_allowed", ctrl[0] & 1,
                              "reprovision_allowed", (ctrl[0] >> 2) & 1, "change_right", (ctrl[0] >> 3) & 1,
                              "auth_key_slot", ctrl[1]);
        json_object_set_new(json_object_get(o, "hostkey"), "warnings", vsafe_cli_exposure_json(exposed));
        return vsafe_cli_json_out(cli, o);
    }
    if (s.present) {
        printf("host key       %s, C-MAC counter %u\n", s.key_type == 1 ? "AES-256" : "AES-128", s.counter);
    } else {
        printf("host key       empty\n");
    }
    printf("provisioning   plaintext %s, wrapped/ECDH %s, re-provisioning %s, control change right %s\n",
           (ctrl[0] & 2) ? "allowed" : "refused", (ctrl[0] & 1) ? "allowed" : "refused",
           (ctrl[0] & 4) ? "allowed" : "refused", (ctrl[0] & 8) ? "yes" : "no");
    vsafe_cli_exposure_print(stdout, exposed);
    return VSAFE_CLI_EXIT_OK;
}

static int hostkey_lock(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0, was_open = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if ((rc = vsafe_cli_lock_hostkey_ctrl(cli->host, &was_open)) != VSAFE_OK) {
        return vsafe_cli_fail(cli, rc, "lock the host-key provisioning control fields");
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:b, s:b}}", "hostkey", "locked", 1, "was_open", was_open));
    }
    printf("%s\n", was_open ? "provisioning control fields locked: change right and re-provisioning cleared, for good"
                            : "provisioning control fields were already locked (no change right)");
    return VSAFE_CLI_EXIT_OK;
}

static int hostkey_provision(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *key_file = NULL, *method = "plaintext", *out = NULL;
    vsafe_cli_secret_t mac_s = {0}, cipher_s = {0};
    int aes256 = 0, done = 0, force = 0, keep_open = 0;
    const vsafe_cli_opt_t opts[] = {{"key-file", 1, &key_file, NULL, "FILE", "take the keys from a key file"},
                                    VSAFE_CLI_SECRET_OPTS_H("mac-key", mac_s, "the MAC key (hex)"),
                                    VSAFE_CLI_SECRET_OPTS_H("cipher-key", cipher_s, "the cipher key (hex)"),
                                    {"aes256", 0, NULL, &aes256, NULL, "AES-256 host keys (default AES-128)"},
                                    {"method", 1, &method, NULL, "plaintext|wrapped|ecdh", "how the keys reach the device (default plaintext; SPL05 refuses wrapped and ecdh)"},
                                    {"out", 1, &out, NULL, "FILE", "write the keys to this key file (0600) before the device gets them"},
                                    {"force", 0, NULL, &force, NULL, "overwrite an existing --out file"},
                                    {"keep-open", 0, NULL, &keep_open, NULL, "leave the provisioning control fields open (default: locked)"},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    int m = strcmp(method, "plaintext") == 0 ? METHOD_PLAINTEXT
            : strcmp(method, "wrapped") == 0 ? METHOD_WRAPPED
            : strcmp(method, "ecdh") == 0    ? METHOD_ECDH
                                             : -1;
    int given = vsafe_cli_secret_given(&mac_s) || vsafe_cli_secret_given(&cipher_s);
    if (m < 0) {
        return vsafe_cli_usage_error(cli, "--method: '%s' is not plaintext, wrapped or ecdh", method);
    }
    if (vsafe_cli_secret_given(&mac_s) != vsafe_cli_secret_given(&cipher_s)) {
        return vsafe_cli_usage_error(cli, "give both --mac-key and --cipher-key");
    }
    if (key_file != NULL && given) {
        return vsafe_cli_usage_error(cli, "give --key-file or --mac-key/--cipher-key, not both");
    }
    if (m == METHOD_ECDH && (key_file != NULL || given)) {
        return vsafe_cli_usage_error(cli, "with --method ecdh the keys are derived on both sides: give no keys, only --out F");
    }
    if (key_file == NULL && !given && out == NULL) {
        return vsafe_cli_usage_error(cli, "new keys are generated: give --out F to keep them (or give the keys)");
    }
    if (force && out == NULL) {
        return vsafe_cli_usage_error(cli, "--force only applies to --out F");
    }
    vsafe_keyfile_t k;
    memset(&k, 0, sizeof k);
    k.type = aes256 ? VSAFE_HOST_KEY_AES256 : VSAFE_HOST_KEY_AES128;
    k.key_len = aes256 ? 32u : 16u;
    save_ctx_t save = {.cli = cli, .out = out, .force = force};
    if (key_file != NULL) {
        if ((rc = load_key_file(cli, "--key-file", key_file, &k)) != 0) {
            return rc;
        }
        if (aes256 && k.type != VSAFE_HOST_KEY_AES256) {
            vsafe_wipe(&k, sizeof k);
            return vsafe_cli_usage_error(cli, "--aes256 given but '%s' holds AES-128 keys", key_file);
        }
    } else if (given) {
        if ((rc = key_from_secret(cli, "mac-key", &mac_s, k.key_len, k.mac)) != 0 ||
            (rc = key_from_secret(cli, "cipher-key", &cipher_s, k.key_len, k.cipher)) != 0) {
            vsafe_wipe(&k, sizeof k);
            return rc;
        }
    } else if (m != METHOD_ECDH) {
        if (RAND_bytes(k.mac, (int)k.key_len) != 1 || RAND_bytes(k.cipher, (int)k.key_len) != 1) {
            vsafe_wipe(&k, sizeof k);
            return vsafe_cli_fail(cli, VSAFE_ERR_CRYPTO, "generate keys");
        }
    }
    /* H1/H2: the key file's place is checked (and, when the keys are known, the file written
     * under a temporary name) before the device is opened. */
    vsafe_keyfile_staged_t staged = {.dir_fd = -1};
    if (out != NULL) {
        errno = 0; /* the failing call's errno survives the clean-up, as in save_keys */
        rc = m == METHOD_ECDH ? vsafe_keyfile_check_target(out, force) : vsafe_keyfile_stage(out, &k, force, &staged);
        int e = errno;
        if (rc != VSAFE_OK) {
            vsafe_wipe(&k, sizeof k);
            if (rc == VSAFE_ERR_EXISTS) {
                return vsafe_cli_fail(cli, rc, "key file '%s' exists: give --force to replace it", out);
            }
            return vsafe_cli_fail(cli, rc, "cannot write key file '%s'%s%s", out, e != 0 ? ": " : "",
                                  e != 0 ? strerror(e) : "");
        }
    }
    vsafe_host_key_slot_t before = {0}, after = {0};
    uint8_t ctrl[2] = {0};
    const char *why = NULL;
    if ((rc = vsafe_cli_open_host(cli)) == 0) {
        int q = vsafe_host_query_key_slot(cli->host, &before);
        if (q == VSAFE_OK) {
            q = vsafe_host_query_key_ctrl(cli->host, ctrl);
        }
        if (q != VSAFE_OK) {
            rc = vsafe_cli_fail(cli, q, "query the host key slot");
        } else if ((why = refusal(&before, ctrl, m)) != NULL) {
            rc = vsafe_cli_fail(cli, VSAFE_DEV_STATUS(0x11), "provision host key (%s): refused before sending: %s",
                                method, why);
        }
    }
    if (rc != 0) {
        vsafe_keyfile_abort(&staged);
        vsafe_wipe(&k, sizeof k);
        return rc;
    }
    if (out != NULL && m != METHOD_ECDH) {
        int crc = vsafe_keyfile_commit(&staged, force);
        if (crc != VSAFE_OK) {
            vsafe_wipe(&k, sizeof k);
            return vsafe_cli_fail(cli, crc, crc == VSAFE_ERR_EXISTS ? "key file '%s' appeared meanwhile: not replaced"
                                                                   : "cannot write key file '%s'", out);
        }
        save.saved = 1;
    }
    if (m == METHOD_PLAINTEXT) {
        rc = vsafe_host_provision_plaintext(cli->host, k.type, k.mac, k.cipher);
    } else if (m == METHOD_WRAPPED) {
        rc = vsafe_host_provision_wrapped(cli->host, k.type, k.mac, k.cipher);
    } else {
        rc = vsafe_host_provision_ecdh_ex(cli->host, k.type, out != NULL ? ecdh_ready : NULL, &save, k.mac, k.cipher);
    }
    vsafe_wipe(&k, sizeof k);
    if (rc != 0) {
        if (save.failed) {
            return save.failed; /* the key file could not be written: Establish was never sent */
        }
        if (save.saved) {
            /* H2: remove the file only when the device shows no key at all. */
            int q = vsafe_host_query_key_slot(cli->host, &after);
            if (q == VSAFE_OK && !before.present && !after.present && vsafe_keyfile_remove(out) == VSAFE_OK) {
                fprintf(stderr, "vsafe: the device holds no host key, so '%s' was removed again\n", out);
            } else {
                fprintf(stderr, "vsafe: the device may hold the new host key: '%s' is kept\n", out);
            }
        }
        return vsafe_cli_fail(cli, rc, "provision host key (%s)", method);
    }
    int was_open = 0, lrc = VSAFE_OK;
    if (!keep_open) {
        lrc = vsafe_cli_lock_hostkey_ctrl(cli->host, &was_open);
    }
    if ((rc = vsafe_host_query_key_slot(cli->host, &after)) != 0) {
        return vsafe_cli_fail(cli, rc, "query host key slot");
    }
    if (lrc != VSAFE_OK) {
        return vsafe_cli_fail(cli, lrc, "host key provisioned%s%s, but the control fields could not be locked "
                                        "(run: vsafe hostkey lock)",
                              out != NULL ? " and saved to " : "", out != NULL ? out : "");
    }
    if (cli->json) {
        json_t *o = json_pack("{s:{s:s, s:s, s:I, s:b}}", "hostkey", "method", method, "key_type",
                              after.key_type == 1 ? "aes256" : "aes128", "counter", (json_int_t)after.counter,
                              "locked", !keep_open);
        if (out != NULL) {
            json_object_set_new(json_object_get(o, "hostkey"), "key_file", json_string(out));
        }
        return vsafe_cli_json_out(cli, o);
    }
    printf("host key provisioned (%s, %s), C-MAC counter %u%s%s\n", after.key_type == 1 ? "AES-256" : "AES-128",
           method, after.counter, out != NULL ? "; keys saved to " : "", out != NULL ? out : "");
    if (keep_open) {
        printf("provisioning control fields left open (--keep-open): anyone on the bus can change them until "
               "'vsafe hostkey lock'\n");
    } else if (was_open) {
        printf("provisioning control fields locked (no re-provisioning, no further change)\n");
    }
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cmd_hostkey(vsafe_cli_t *cli, int argc, char **argv)
{
    static const vsafe_cli_sub_t subs[] = {
        {"provision", hostkey_provision,
         "hostkey provision [--key-file F | --mac-key[-file|-fd|-env] X --cipher-key[-file|-fd|-env] X] "
         "[--aes256] [--method plaintext|wrapped|ecdh] [--out F [--force]] [--keep-open]",
         "write the host key slot (random keys unless given), then lock its control fields\n"},
        {"show", hostkey_show, "hostkey show", "the host key slot, its control fields and what is still open\n"},
        {"lock", hostkey_lock, "hostkey lock", "lock the provisioning control fields (no re-provisioning)\n"},
    };
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0], cli->summary, NULL);
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

/* A refused Put 0x29/0x2A: the table, asked once more, tells why (a cleared change right, or a
 * command the table has no entry for). right_bit: 2 for the AC Put, 1 for the encryption Put. */
static int cmdac_refused(vsafe_cli_t *cli, int rc, const char *what, unsigned right_bit,
                         const vsafe_host_cmd_ac_t *recs, size_t n)
{
    char hint[256] = "";
    vsafe_host_cmd_table_t t;
    if (vsafe_host_command_table(cli->host, &t) == 0) {
        if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED) && (t.change_rights & right_bit) == 0) {
            snprintf(hint, sizeof hint, "the command table's %s change right was cleared: the table is one-time "
                     "programmable and can no longer change", right_bit == 2 ? "AC" : "encryption flags");
        }
        for (size_t i = 0; rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ENTRY_NOT_FOUND) && i < n && hint[0] == '\0'; i++) {
            int found = 0;
            for (size_t j = 0; j < t.count; j++) {
                found |= t.rec[j].header == recs[i].header && t.rec[j].ext == recs[i].ext;
            }
            if (!found) {
                if (recs[i].header == VSAFE_SE_CMD_EXTENDED) {
                    snprintf(hint, sizeof hint, "the command table has no entry for 1F %02X; vsafe cmdac show lists "
                             "its commands", recs[i].ext);
                } else {
                    snprintf(hint, sizeof hint, "the command table has no entry for %02X; vsafe cmdac show lists its "
                             "commands", recs[i].header);
                }
            }
        }
    }
    return vsafe_cli_fail_hint(cli, rc, hint, "%s", what);
}

static int cmdac_set(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *ac_s = NULL, *key_s = NULL, *pos[1];
    int enc_cmd = 0, enc_rsp = 0, lock = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"ac", 1, &ac_s, NULL, "free|host|never", "the command's access condition"},          {"encrypt-cmd", 0, NULL, &enc_cmd, NULL, "the command's payload travels encrypted"},
                                    {"encrypt-rsp", 0, NULL, &enc_rsp, NULL, "the response's payload travels encrypted"}, {"lock", 0, NULL, &lock, NULL, "clear the command table's change right for good"},
                                    {"host-key", 1, &key_s, NULL, "FILE", "host key file for the session the change needs"},     VSAFE_CLI_OPT_END};
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
        return cmdac_refused(cli, rc, "set command access conditions", 2, recs, n);
    }
    if ((enc_cmd || enc_rsp) &&
        (rc = vsafe_host_put_command_table(cli->host, prot, VSAFE_SE_TAG_CMD_ENC, recs, n)) != 0) {
        return cmdac_refused(cli, rc, "set command encryption flags", 1, recs, n);
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

/* Put 0x29 and 0x2A with no records: each only clears its change right (one-time programmable). */
static int cmdac_lock(vsafe_cli_t *cli, int argc, char **argv)
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
    static const struct {
        uint8_t right, tag;
    } rights[] = {{2u, VSAFE_SE_TAG_CMD_AC}, {1u, VSAFE_SE_TAG_CMD_ENC}};
    for (size_t i = 0; i < 2; i++) {
        if ((t.change_rights & rights[i].right) == 0u) {
            continue;
        }
        const uint8_t frame[3] = {VSAFE_SE_CMD_PUT_ATTRIBUTE, rights[i].tag, 0x00};
        uint8_t rsp[16];
        size_t rn = 0;
        if ((rc = vsafe_host_raw(cli->host, frame, sizeof frame, rsp, sizeof rsp, &rn)) != 0) {
            return vsafe_cli_fail(cli, rc, "lock the command table (Put 0x%02X)", rights[i].tag);
        }
    }
    if ((rc = vsafe_host_refresh_command_table(cli->host)) != 0 || (rc = vsafe_host_command_table(cli->host, &t)) != 0) {
        return vsafe_cli_fail(cli, rc, "command table");
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:b, s:b}}", "cmdac", "ac_change_right", (t.change_rights & 2) != 0,
                                                 "encryption_change_right", (t.change_rights & 1) != 0));
    }
    printf("command table locked: AC change right: %s; encryption flags change right: %s\n",
           (t.change_rights & 2) ? "yes" : "no", (t.change_rights & 1) ? "yes" : "no");
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cmd_cmdac(vsafe_cli_t *cli, int argc, char **argv)
{
    static const vsafe_cli_sub_t subs[] = {
        {"show", cmdac_show, "cmdac show", "the command access table (Query 0x24) and its change rights\n"},
        {"set", cmdac_set,
         "cmdac set CMD[,CMD...] --ac free|host|never [--encrypt-cmd] [--encrypt-rsp] [--lock] [--host-key F]",
         "set the access condition and encryption flags of commands\n"},
        {"lock", cmdac_lock, "cmdac lock", "clear the command table's change rights for good\n"},
    };
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0], cli->summary, NULL);
}
