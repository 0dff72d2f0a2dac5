/* vsafe pubkey: the generic public key slots (table, show, write, flags) and entity
 * authentication by one of their keys (authenticate: challenge, host signature, device check in
 * one run, since the device keeps the challenge in RAM only). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "keyfmt.h"
#include "vsafe/se_wire.h"

#define SLOTS_MAX 16

static const struct {
    uint8_t bit;
    const char *name;
} flag_names[] = {
    {VSAFE_HOST_GPK_SYMKEY_ESTABLISH, "symkey-establish"},
    {VSAFE_HOST_GPK_KEK_SESSION, "kek-session"},
    {VSAFE_HOST_GPK_ENTITY_AUTH, "entity-auth"},
    {VSAFE_HOST_GPK_HOST_KEY_ESTABLISH, "host-key-establish"},
};
#define FLAG_COUNT (sizeof flag_names / sizeof flag_names[0])

static json_t *flags_json(uint8_t b)
{
    json_t *o = json_pack("{s:b}", "change_right", (b & VSAFE_HOST_GPK_CHANGE_RIGHT) != 0);
    for (size_t i = 0; i < FLAG_COUNT; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s", flag_names[i].name);
        for (char *p = key; *p != '\0'; p++) {
            *p = *p == '-' ? '_' : *p;
        }
        json_object_set_new(o, key, json_boolean((b & flag_names[i].bit) != 0));
    }
    return o;
}

static void flags_text(uint8_t b, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < FLAG_COUNT; i++) {
        if (b & flag_names[i].bit) {
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", flag_names[i].name);
        }
    }
    if (n == 0) {
        snprintf(out, cap, "none");
    }
}

static const char *const table_help = "Lists the generic public key slots (Query 0x48): presence, curve, uses allowed.\n"
                                      "  JSON: {\"pubkey_table\": [{\"slot\", \"present\", \"curve\", \"flags\": {...}}]}\n"
                                      VSAFE_CLI_HELP_COMMON;

static int pubkey_table(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_pubkey_slot_t slots[SLOTS_MAX];
    size_t count = 0;
    if ((rc = vsafe_host_pubkey_table(cli->host, slots, SLOTS_MAX, &count)) != 0) {
        return vsafe_cli_fail(cli, rc, "generic public key table (Query 0x48)");
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < count; i++) {
            json_array_append_new(arr, json_pack("{s:i, s:b, s:s?, s:o}", "slot", slots[i].slot, "present",
                                                 slots[i].present,
                                                 "curve", slots[i].present ? vsafe_cli_curve_label(slots[i].curve) : NULL,
                                                 "flags", flags_json(slots[i].flags[1])));
        }
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "pubkey_table", arr));
    }
    printf("slot  key               change  may authenticate\n");
    for (size_t i = 0; i < count; i++) {
        char f[128];
        flags_text(slots[i].flags[1], f, sizeof f);
        printf("%4u  %-16s  %-6s  %s\n", slots[i].slot, slots[i].present ? vsafe_cli_curve_label(slots[i].curve) : "empty",
               (slots[i].flags[1] & VSAFE_HOST_GPK_CHANGE_RIGHT) ? "yes" : "no", f);
    }
    return VSAFE_CLI_EXIT_OK;
}

static const char *const show_help =
    "Shows one generic public key slot and its key (Query 0x4C).\n"
    "  --slot N          the slot\n"
    "  --out F           write the key to F (- for stdout); --format pem|der|raw (default pem)\n"
    "  JSON: {\"pubkey_show\": {\"slot\", \"present\", \"curve\", \"public_key\": HEX, \"flags\": {...}}}\n"
    VSAFE_CLI_HELP_COMMON;

static int pubkey_show(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *out = NULL, *fmt_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, {"out", 1, &out, NULL, NULL, NULL}, {"format", 1, &fmt_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    int fmt = vsafe_cli_pub_format(fmt_s);
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFF, 0, &slot)) != 0 ||
        (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    if (fmt < 0) {
        return vsafe_cli_usage_error(cli, "--format: '%s' is not pem, der or raw", fmt_s);
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    vsafe_host_pubkey_slot_t s;
    if ((rc = vsafe_host_pubkey_slot(cli->host, slot, &s)) != 0) {
        return vsafe_cli_fail(cli, rc, "generic public key slot %u (Query 0x4C)", slot);
    }
    if (out != NULL) {
        if (!s.present) {
            return vsafe_cli_fail_named(cli, "EMPTY_SLOT", "generic public key slot %u holds no key", slot);
        }
        if ((rc = vsafe_cli_pub_write(cli, "--out", out, s.curve, s.pub, s.pub_len, fmt)) != 0) {
            return rc;
        }
    }
    char *hex = s.present ? vsafe_cli_hex(s.pub, s.pub_len) : NULL;
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:b, s:s?, s:s?, s:o, s:s?}}", "pubkey_show", "slot", slot,
                                               "present", s.present, "curve",
                                               s.present ? vsafe_cli_curve_label(s.curve) : NULL, "public_key", hex,
                                               "flags", flags_json(s.flags[1]), "out", out));
    } else if (!vsafe_cli_out_is_stdout(out)) {
        char f[128];
        flags_text(s.flags[1], f, sizeof f);
        printf("slot %u: %s%s%s; change right %s; may authenticate: %s\n", slot,
               s.present ? vsafe_cli_curve_label(s.curve) : "empty", s.present ? " " : "", s.present ? hex : "",
               (s.flags[1] & VSAFE_HOST_GPK_CHANGE_RIGHT) ? "yes" : "no", f);
    }
    free(hex);
    return rc;
}

static const char *const write_help =
    "Writes a public key into an empty generic public key slot (Write public key 0x1F 0x0A; write-once).\n"
    "  --slot N          the slot\n"
    "  --pubkey-file F   PEM or DER (public key or certificate), or raw X||Y / 04||X||Y / K with --curve\n"
    "  --curve NAME      " VSAFE_CLI_CURVES "\n"
    "  JSON: {\"pubkey_write\": {\"slot\", \"curve\"}}\n" VSAFE_CLI_HELP_COMMON;

static int pubkey_write(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *file = NULL, *curve_s = NULL, *key_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, {"pubkey-file", 1, &file, NULL, NULL, NULL},
                                    {"curve", 1, &curve_s, NULL, NULL, NULL}, {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFF, 0, &slot)) != 0) {
        return rc;
    }
    if (file == NULL) {
        return vsafe_cli_usage_error(cli, "--pubkey-file F is required");
    }
    unsigned curve = VSAFE_CURVE_NONE;
    if (curve_s != NULL && (curve = vsafe_cli_curve_parse(curve_s)) == VSAFE_CURVE_NONE) {
        return vsafe_cli_usage_error(cli, "--curve: '%s' is not a curve vsafe knows (%s)", curve_s, VSAFE_CLI_CURVES);
    }
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t pub_len = 0;
    if ((rc = vsafe_cli_pub_read(cli, "--pubkey-file", file, curve, &curve, pub, &pub_len)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        return rc;
    }
    if ((rc = vsafe_host_write_pubkey(cli->host, prot, slot, curve, pub, pub_len)) != 0) {
        /* The slots are write-once: say so when the slot, asked again, holds a key. */
        vsafe_host_pubkey_slot_t held;
        int full = rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED) &&
                   vsafe_host_pubkey_slot(cli->host, slot, &held) == 0 && held.present;
        return vsafe_cli_fail_hint(cli, rc, full ? "the slot already holds a key, and generic public key slots are "
                                                   "write-once"
                                                 : NULL,
                                   "write a %s key into generic public key slot %u", vsafe_cli_curve_label(curve), slot);
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s}}", "pubkey_write", "slot", slot, "curve",
                                                 vsafe_cli_curve_label(curve)));
    }
    printf("generic public key slot %u: %s key written (write-once)\n", slot, vsafe_cli_curve_label(curve));
    return VSAFE_CLI_EXIT_OK;
}

static const char *const flags_help =
    "Sets what a generic public key slot's key may authenticate (Put 0x10 0x4D), once: the change right\n"
    "is cleared unless --keep-open.\n"
    "  --slot N          the slot\n"
    "  --set LIST        comma-separated: symkey-establish, kek-session, entity-auth, host-key-establish,\n"
    "                    or none\n"
    "  --keep-open       keep the change right (the flags may be set again)\n"
    "  JSON: {\"pubkey_flags\": {\"slot\", \"flags\": {...}}}\n" VSAFE_CLI_HELP_COMMON;

static int pubkey_flags(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *set_s = NULL;
    int keep = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, {"set", 1, &set_s, NULL, NULL, NULL},
                                    {"keep-open", 0, NULL, &keep, NULL, NULL}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFF, 0, &slot)) != 0) {
        return rc;
    }
    if (set_s == NULL) {
        return vsafe_cli_usage_error(cli, "--set LIST is required (or 'none')");
    }
    uint8_t b = keep ? VSAFE_HOST_GPK_CHANGE_RIGHT : 0;
    if (strcmp(set_s, "none") != 0) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", set_s);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
            size_t i = 0;
            for (; i < FLAG_COUNT && strcmp(flag_names[i].name, t) != 0; i++) {
            }
            if (i == FLAG_COUNT) {
                return vsafe_cli_usage_error(cli, "--set: unknown flag '%s'", t);
            }
            b |= flag_names[i].bit;
        }
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    const uint8_t flags[2] = {0, b};
    if ((rc = vsafe_host_put_pubkey_flags(cli->host, slot, flags)) != 0) {
        return vsafe_cli_fail(cli, rc, "set the flags of generic public key slot %u", slot);
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:o}}", "pubkey_flags", "slot", slot, "flags", flags_json(b)));
    }
    char f[128];
    flags_text(b, f, sizeof f);
    printf("generic public key slot %u: may authenticate %s; change right %s\n", slot, f,
           keep ? "kept" : "cleared, for good");
    return VSAFE_CLI_EXIT_OK;
}

static const char *const auth_help =
    "Entity authentication: the device makes a challenge (0x1F 0x0E), the host signs it with the\n"
    "private key whose public key is in the slot (ECDSA over the 16 bytes as the digest, or Ed25519),\n"
    "and the device checks the signature (0x1F 0x0F). Exit status 1 when the device refuses it.\n"
    "  --slot N          the generic public key slot (its entity-auth flag must be set)\n"
    "  --key F           the private key, PEM\n"
    "  JSON: {\"pubkey_authenticate\": {\"slot\", \"challenge\": HEX, \"valid\": BOOL}}\n" VSAFE_CLI_HELP_COMMON;

static int pubkey_authenticate(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *key_file = NULL, *key_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, {"key", 1, &key_file, NULL, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFF, 0, &slot)) != 0) {
        return rc;
    }
    if (key_file == NULL) {
        return vsafe_cli_usage_error(cli, "--key F (a PEM private key) is required");
    }
    EVP_PKEY *key = NULL;
    unsigned curve = 0;
    if ((rc = vsafe_cli_priv_load(cli, "--key", key_file, &key, &curve)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        EVP_PKEY_free(key);
        return rc;
    }
    uint8_t ch[16], sig[VSAFE_EC_MAX_SIG];
    size_t sl = 0;
    if ((rc = vsafe_host_entity_challenge(cli->host, prot, ch)) != 0) {
        EVP_PKEY_free(key);
        return vsafe_cli_fail(cli, rc, "entity challenge");
    }
    int srs = vsafe_cli_priv_sign(key, curve, 0, ch, sizeof ch, sig, sizeof sig, &sl);
    EVP_PKEY_free(key);
    if (srs != 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_CRYPTO, "sign the challenge with %s", key_file);
    }
    int valid = 0;
    if ((rc = vsafe_host_entity_verify(cli->host, prot, slot, sig, sl, &valid)) != 0) {
        char hint[256];
        vsafe_cli_gpk_hint(cli, "--key", key_file, curve, slot, VSAFE_HOST_GPK_ENTITY_AUTH, "entity-auth", hint,
                           sizeof hint);
        return vsafe_cli_fail_hint(cli, rc, hint, "entity signature check by slot %u", slot);
    }
    char *hex = vsafe_cli_hex(ch, sizeof ch);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:b}}", "pubkey_authenticate", "slot", slot, "challenge",
                                               hex, "valid", valid));
    } else {
        printf("challenge %s: %s\n", hex, valid ? "authenticated" : "signature REFUSED");
    }
    free(hex);
    return valid && rc == 0 ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
}

static const vsafe_cli_sub_t subs[] = {
    {"table", pubkey_table, "pubkey table", table_help},
    {"show", pubkey_show, "pubkey show --slot N [--out F [--format pem|der|raw]]", show_help},
    {"write", pubkey_write, "pubkey write --slot N --pubkey-file F [--curve NAME]", write_help},
    {"flags", pubkey_flags, "pubkey flags --slot N --set LIST|none [--keep-open]", flags_help},
    {"authenticate", pubkey_authenticate, "pubkey authenticate --slot N --key F", auth_help},
};

int vsafe_cmd_pubkey(vsafe_cli_t *cli, int argc, char **argv)
{
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0],
                              "Generic public key slots: keys of other parties the device checks signatures with.",
                              NULL);
}
