/* vsafe key: the private key slots (table, generate, show, sign, verify, ecdh, ecdhe, decompress).
 *
 * The device never reveals the public key of a private slot after Generate key. `key generate`
 * therefore keeps the public key it returned in DIR/key-slot-N.pem, and `key show` reads it from
 * there (slot 0's from the zone-0 certificate). Invariant: that file is written only after the
 * device accepted the key, and `key show` offers it only while the table shows a key of its
 * curve in the slot. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_io.h"
#include "common/secure.h"
#include "keyfmt.h"

#define SLOTS_MAX 16
#define MSG_MAX 748u
#define CERT_MAX 1000u

static const char *gen_ac_name(uint16_t mode)
{
    static const char *const names[4] = {"free", "host", "forbidden", "forbidden"};
    return names[VSAFE_HOST_PK_MODE_GENKEY_AC(mode)];
}

static json_t *privkey_json(const vsafe_host_privkey_t *k)
{
    char mode[8];
    snprintf(mode, sizeof mode, "0x%04x", k->mode);
    return json_pack("{s:i, s:b, s:s?, s:s, s:b, s:b, s:b, s:b, s:s, s:s}", "slot", k->slot, "present", k->present,
                     "curve", k->present ? vsafe_cli_curve_label(k->curve) : NULL, "mode", mode, "sign", (k->mode & VSAFE_HOST_PK_MODE_SIGN_EXTERNAL) != 0, "sign_internal",
                     (k->mode & VSAFE_HOST_PK_MODE_SIGN_INTERNAL) != 0, "key_establishment",
                     (k->mode & VSAFE_HOST_PK_MODE_KEY_ESTABLISH) != 0, "change_right",
                     (k->mode & VSAFE_HOST_PK_MODE_CHANGE_RIGHT) != 0, "generate_key_ac", gen_ac_name(k->mode),
                     "eddsa_variant", VSAFE_HOST_PK_MODE_EDDSA_VARIANT(k->mode) == 1 ? "prehashed" : "pure");
}

/* The table, and the record of slot in it (NULL when the slot is not listed). */
static int table(vsafe_cli_t *cli, vsafe_host_privkey_t *slots, size_t *count, uint16_t *limit)
{
    int rc = vsafe_host_privkey_table(cli->host, slots, SLOTS_MAX, count, limit);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "private key table (Query 0x14)");
    }
    return 0;
}

static const vsafe_host_privkey_t *find(const vsafe_host_privkey_t *slots, size_t count, uint8_t slot)
{
    for (size_t i = 0; i < count; i++) {
        if (slots[i].slot == slot) {
            return &slots[i];
        }
    }
    return NULL;
}

/* The curve of the key in slot, from the table; VSAFE_CURVE_NONE when the slot is empty or not listed. */
static int slot_curve(vsafe_cli_t *cli, uint8_t slot, unsigned *curve, uint16_t *mode)
{
    vsafe_host_privkey_t slots[SLOTS_MAX];
    size_t count = 0;
    int rc = table(cli, slots, &count, NULL);
    if (rc != 0) {
        return rc;
    }
    const vsafe_host_privkey_t *k = find(slots, count, slot);
    *curve = k != NULL && k->present ? k->curve : VSAFE_CURVE_NONE;
    if (mode != NULL) {
        *mode = k != NULL ? k->mode : 0;
    }
    return 0;
}

static const char *cache_file(vsafe_cli_t *cli, uint8_t slot)
{
    char name[32];
    snprintf(name, sizeof name, "key-slot-%u.pem", slot);
    return vsafe_cli_device_file(cli, name);
}

static const char *const table_help = "Lists the private key slots (Query 0x14): presence, curve, what each may do.\n"
                                      "  JSON: {\"key_table\": {\"global_usage_limit\": N, \"slots\": [...]}}\n" VSAFE_CLI_HELP_COMMON;

static int key_table(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_privkey_t slots[SLOTS_MAX];
    size_t count = 0;
    uint16_t limit = 0;
    if ((rc = table(cli, slots, &count, &limit)) != 0) {
        return rc;
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < count; i++) {
            json_array_append_new(arr, privkey_json(&slots[i]));
        }
        return vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:o}}", "key_table", "global_usage_limit", limit, "slots", arr));
    }
    printf("slot       key               sign  ecdh  generate  change  eddsa\n");
    for (size_t i = 0; i < count; i++) {
        const vsafe_host_privkey_t *k = &slots[i];
        char slot[16];
        snprintf(slot, sizeof slot, k->slot == VSAFE_HOST_EPHEMERAL_SLOT ? "ephemeral" : "%u", k->slot);
        printf("%-9s  %-16s  %-4s  %-4s  %-8s  %-6s  %s\n", slot, k->present ? vsafe_cli_curve_label(k->curve) : "empty",
               (k->mode & VSAFE_HOST_PK_MODE_SIGN_EXTERNAL) ? "yes" : "no",
               (k->mode & VSAFE_HOST_PK_MODE_KEY_ESTABLISH) ? "yes" : "no", gen_ac_name(k->mode),
               (k->mode & VSAFE_HOST_PK_MODE_CHANGE_RIGHT) ? "yes" : "no",
               VSAFE_HOST_PK_MODE_EDDSA_VARIANT(k->mode) == 1 ? "prehashed" : "pure");
    }
    printf("global usage limit %u\n", limit);
    return VSAFE_CLI_EXIT_OK;
}

/* Prints or writes a public key: --out F in fmt, and the raw hex in the text / JSON. */
static int pub_result(vsafe_cli_t *cli, const char *verb, uint8_t slot, unsigned curve, const uint8_t *pub,
                      size_t pub_len, const char *out, int fmt, json_t *extra)
{
    if (out != NULL) {
        int rc = vsafe_cli_pub_write(cli, "--out", out, curve, pub, pub_len, fmt);
        if (rc != 0) {
            json_decref(extra);
            return rc;
        }
    }
    char *hex = vsafe_cli_hex(pub, pub_len);
    int rc = VSAFE_CLI_EXIT_OK;
    if (cli->json) {
        json_t *o = json_pack("{s:i, s:s, s:s}", "slot", slot, "curve", vsafe_cli_curve_label(curve), "public_key", hex);
        if (extra != NULL) {
            json_object_update(o, extra);
        }
        if (out != NULL) {
            json_object_set_new(o, "out", json_string(out));
        }
        rc = vsafe_cli_json_out(cli, json_pack("{s:o}", verb, o));
    } else if (!vsafe_cli_out_is_stdout(out)) {
        printf("%s public key (%s): %s\n", vsafe_cli_curve_label(curve),
               curve == VSAFE_CURVE_X25519 || curve == VSAFE_CURVE_ED25519 ? "K" : "X||Y", hex);
    }
    json_decref(extra);
    free(hex);
    return rc;
}

static int parse_format(vsafe_cli_t *cli, const char *s, int *fmt)
{
    *fmt = vsafe_cli_pub_format(s);
    return *fmt < 0 ? vsafe_cli_usage_error(cli, "--format: '%s' is not pem, der or raw", s) : 0;
}

static int parse_curve(vsafe_cli_t *cli, const char *s, unsigned *curve)
{
    *curve = vsafe_cli_curve_parse(s);
    if (*curve == VSAFE_CURVE_NONE) {
        return vsafe_cli_usage_error(cli, "--curve: '%s' is not a curve vsafe knows (%s)", s, VSAFE_CLI_CURVES);
    }
    return 0;
}

static const char *const generate_help =
    "Generates a key pair in a private key slot (Generate key 0x11 0x13); prints the public key.\n"
    "  --slot N          1..4, or ephemeral (0xFF: one ECDH only, in device RAM)\n"
    "  --curve NAME      " VSAFE_CLI_CURVES "\n"
    "  --usage-limit N   uses allowed (signatures or ECDH), 0 = no limit (default)\n"
    "  --out F           write the public key to F (- for stdout); --format pem|der|raw (default pem)\n"
    "  The public key is also kept in DIR/key-slot-N.pem for `key show` (static slots).\n"
    "  JSON: {\"key_generate\": {\"slot\", \"curve\", \"public_key\": HEX, \"usage_limit\", \"out\"}}\n" VSAFE_CLI_HELP_COMMON;

static int key_generate(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *curve_s = NULL, *limit_s = NULL, *out = NULL, *fmt_s = NULL, *key_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL},  {"curve", 1, &curve_s, NULL, NULL, NULL},
                                    {"usage-limit", 1, &limit_s, NULL, NULL, NULL}, {"out", 1, &out, NULL, NULL, NULL},
                                    {"format", 1, &fmt_s, NULL, NULL, NULL}, {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    unsigned curve = 0;
    uint32_t limit = 0;
    int fmt = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 1, &slot)) != 0) {
        return rc;
    }
    if (curve_s == NULL) {
        return vsafe_cli_usage_error(cli, "--curve NAME is required (%s)", VSAFE_CLI_CURVES);
    }
    if ((rc = parse_curve(cli, curve_s, &curve)) != 0 || (rc = parse_format(cli, fmt_s, &fmt)) != 0 ||
        (limit_s != NULL && (rc = vsafe_cli_parse_u32(cli, "--usage-limit", limit_s, 0, 0xFFFF, &limit)) != 0) ||
        (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        return rc;
    }
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t pub_len = 0;
    rc = vsafe_host_generate_key(cli->host, prot, slot, curve, (uint16_t)limit, pub, sizeof pub, &pub_len);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "generate a %s key in slot %u", vsafe_cli_curve_label(curve), slot);
    }
    if (slot != VSAFE_HOST_EPHEMERAL_SLOT) {
        const char *cache = cache_file(cli, slot);
        if ((rc = vsafe_cli_pub_write(cli, "key cache", cache, curve, pub, pub_len, VSAFE_CLI_PUB_PEM)) != 0) {
            return rc;
        }
    }
    return pub_result(cli, "key_generate", slot, curve, pub, pub_len, out, fmt,
                      json_pack("{s:i}", "usage_limit", (int)limit));
}

/* The public key of slot: from the certificate (slot 0) or the file key generate wrote. */
static int slot_pub(vsafe_cli_t *cli, uint8_t slot, unsigned *curve, uint8_t *pub, size_t *pub_len,
                    const char **source)
{
    unsigned table_curve = 0;
    int rc = slot_curve(cli, slot, &table_curve, NULL);
    if (rc != 0) {
        return rc;
    }
    if (table_curve == VSAFE_CURVE_NONE) {
        return vsafe_cli_fail_named(cli, "EMPTY_SLOT", "private key slot %u holds no key (Query 0x14)", slot);
    }
    const char *path = NULL;
    if (slot == 0) {
        uint8_t der[CERT_MAX];
        size_t n = 0;
        if ((rc = vsafe_cli_read_device_cert(cli, der, sizeof der, &n)) != 0) {
            return rc;
        }
        path = "the zone-0 certificate";
        *source = "certificate";
        rc = vsafe_cli_pub_parse(cli, "zone 0", path, der, n, VSAFE_CURVE_NONE, curve, pub, pub_len);
    } else {
        path = cache_file(cli, slot);
        if (access(path, R_OK) != 0) {
            return vsafe_cli_fail_named(cli, "PUBLIC_KEY_UNKNOWN",
                                        "slot %u holds a %s key, but its public key was not kept (%s): the device "
                                        "returns it only to Generate key; generate it with vsafe key generate",
                                        slot, vsafe_cli_curve_label(table_curve), path);
        }
        *source = "generate";
        rc = vsafe_cli_pub_read(cli, "key cache", path, VSAFE_CURVE_NONE, curve, pub, pub_len);
    }
    if (rc == 0 && *curve != table_curve) {
        rc = vsafe_cli_fail_named(cli, "PUBLIC_KEY_UNKNOWN",
                                  "slot %u now holds a %s key, not the %s key kept in %s (generated elsewhere?)", slot,
                                  vsafe_cli_curve_label(table_curve), vsafe_cli_curve_label(*curve), path);
    }
    return rc;
}

static const char *const show_help =
    "Shows the public key of a private key slot: slot 0's from the zone-0 certificate, the others'\n"
    "as `key generate` kept it (the device returns it only when it generates the key).\n"
    "  --slot N          0..4\n"
    "  --out F           write it to F (- for stdout); --format pem|der|raw (default pem; raw is X||Y or K)\n"
    "  JSON: {\"key_show\": {\"slot\", \"curve\", \"public_key\": HEX, \"source\": \"certificate\"|\"generate\"}}\n"
    "  Without --slot: the table, as `key table`.\n" VSAFE_CLI_HELP_COMMON;

static int key_show(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *out = NULL, *fmt_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, {"out", 1, &out, NULL, NULL, NULL}, {"format", 1, &fmt_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (slot_s == NULL) {
        if (out != NULL || fmt_s != NULL) {
            return vsafe_cli_usage_error(cli, "--out and --format need --slot N");
        }
        return key_table(cli, 1, argv);
    }
    uint8_t slot = 0;
    int fmt = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 0, &slot)) != 0 ||
        (rc = parse_format(cli, fmt_s, &fmt)) != 0 || (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    unsigned curve = 0;
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t pub_len = 0;
    const char *source = NULL;
    if ((rc = slot_pub(cli, slot, &curve, pub, &pub_len, &source)) != 0) {
        return rc;
    }
    return pub_result(cli, "key_show", slot, curve, pub, pub_len, out, fmt, json_pack("{s:s}", "source", source));
}

/* ---- What is signed or verified ---- */
typedef struct {
    vsafe_cli_input_t digest, message;
    const char *hash_s;
} signed_input_t;
#define SIGNED_INPUT_OPTS(si)                                                                                   \
    VSAFE_CLI_INPUT_OPTS("digest", (si).digest), VSAFE_CLI_INPUT_OPTS("message", (si).message),               \
        {"hash", 1, &(si).hash_s, NULL, NULL, NULL}

#define SIGNED_INPUT_HELP                                                                                        \
    "  --digest HEX | --digest-file F    ECDSA: the digest, sent as it is (1..64 bytes); Ed25519 pre-hashed:\n" \
    "                                    the 64-byte SHA-512 pre-hash\n"                                      \
    "  --message HEX | --message-file F  the message: ECDSA hashes it on the host with --hash (default\n"      \
    "                                    sha256); Ed25519 pure signs it as it is, pre-hashed takes its SHA-512\n" \
    "  --hash ALG        " VSAFE_CLI_HASHES " (ECDSA with --message)\n"

/* The bytes the device takes: *buf (malloc'd) of *len. prehashed: an Ed25519ph slot/variant. */
static int signed_bytes(vsafe_cli_t *cli, const signed_input_t *si, unsigned curve, int prehashed, uint8_t **buf,
                        size_t *len, const char **what)
{
    int has_d = vsafe_cli_input_given(&si->digest), has_m = vsafe_cli_input_given(&si->message);
    if (has_d == has_m) {
        return vsafe_cli_usage_error(cli, "give the digest (--digest HEX / --digest-file F) or the message "
                                          "(--message HEX / --message-file F), one of them");
    }
    int ed = curve == VSAFE_CURVE_ED25519;
    if (si->hash_s != NULL && (has_d || ed)) {
        return vsafe_cli_usage_error(cli, "--hash goes with --message and an ECDSA key");
    }
    if (has_d && ed && !prehashed) {
        return vsafe_cli_usage_error(cli, "pure Ed25519 signs the message itself: give --message, not --digest");
    }
    int rc;
    if (has_d) {
        *what = "digest";
        return vsafe_cli_input_read(cli, "digest", &si->digest, 1, ed ? 64u : 1u, 64u, buf, len);
    }
    uint8_t *msg = NULL;
    size_t ml = 0;
    if ((rc = vsafe_cli_input_read(cli, "message", &si->message, 1, ed && !prehashed ? 1u : 0u,
                                   ed && !prehashed ? MSG_MAX : 16u * 1024u * 1024u, &msg, &ml)) != 0) {
        return rc;
    }
    if (ed && !prehashed) {
        *what = "message";
        *buf = msg;
        *len = ml;
        return 0;
    }
    unsigned alg = VSAFE_HASH_SHA512;
    if (!ed) {
        alg = si->hash_s != NULL ? vsafe_cli_hash_parse(si->hash_s) : VSAFE_HASH_SHA256;
        if (alg == 0) {
            free(msg);
            return vsafe_cli_usage_error(cli, "--hash: '%s' is not one of %s", si->hash_s, VSAFE_CLI_HASHES);
        }
    }
    *buf = malloc(64);
    if (*buf == NULL || vsafe_cli_host_digest(alg, msg, ml, *buf, len) != 0) {
        free(msg);
        free(*buf);
        *buf = NULL;
        return vsafe_cli_fail(cli, VSAFE_ERR_CRYPTO, "hash the message on the host");
    }
    free(msg);
    *what = vsafe_cli_hash_label(alg);
    return 0;
}

static const char *const sign_help =
    "Signs with the key in a private key slot (Generate signature 0x16); the device counts one use.\n"
    "  --slot N          0..4 (the curve comes from the key table)\n" SIGNED_INPUT_HELP
    "  --out F           write the signature to F (- for stdout); --format der|raw (default der: what\n"
    "                    openssl dgst/pkeyutl -verify read; raw is R||S; Ed25519 is R||S either way)\n"
    "  JSON: {\"key_sign\": {\"slot\", \"curve\", \"signed\": \"digest\"|\"message\"|HASH, \"signature\": R||S HEX,\n"
    "         \"out\"}}\n" VSAFE_CLI_HELP_COMMON;

static int key_sign(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *out = NULL, *fmt_s = NULL, *key_s = NULL;
    signed_input_t si = {{NULL, NULL}, {NULL, NULL}, NULL};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL},   SIGNED_INPUT_OPTS(si),
                                    {"out", 1, &out, NULL, NULL, NULL},       {"format", 1, &fmt_s, NULL, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 1, &slot)) != 0 ||
        (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    int der = fmt_s == NULL || strcmp(fmt_s, "der") == 0;
    if (!der && strcmp(fmt_s, "raw") != 0) {
        return vsafe_cli_usage_error(cli, "--format: '%s' is not der or raw", fmt_s);
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        return rc;
    }
    unsigned curve = 0;
    uint16_t mode = 0;
    if ((rc = slot_curve(cli, slot, &curve, &mode)) != 0) {
        return rc;
    }
    /* An empty or unlisted slot still goes to the device, which answers why it cannot sign; the
     * P-256 sizes then only shape the request. */
    unsigned size_curve = curve != VSAFE_CURVE_NONE ? curve : VSAFE_CURVE_P256;
    uint8_t *msg = NULL;
    size_t ml = 0;
    const char *what = NULL;
    if ((rc = signed_bytes(cli, &si, size_curve, VSAFE_HOST_PK_MODE_EDDSA_VARIANT(mode) == 1, &msg, &ml, &what)) != 0) {
        return rc;
    }
    uint8_t sig[VSAFE_EC_MAX_SIG];
    size_t sl = 0;
    rc = vsafe_host_sign(cli->host, prot, slot, size_curve, msg, ml, sig, sizeof sig, &sl);
    free(msg);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "sign with slot %u", slot);
    }
    if (out != NULL) {
        uint8_t enc[160];
        size_t el = sl;
        memcpy(enc, sig, sl);
        if (der && vsafe_cli_sig_to_der(size_curve, sig, sl, enc, sizeof enc, &el) != 0) {
            return vsafe_cli_fail(cli, VSAFE_ERR_CRYPTO, "encode the signature");
        }
        if ((rc = vsafe_cli_write_file(cli, "--out", out, enc, el, 0)) != 0) {
            return rc;
        }
    }
    char *hex = vsafe_cli_hex(sig, sl);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:s, s:s, s:s?}}", "key_sign", "slot", slot, "curve",
                                               vsafe_cli_curve_label(size_curve), "signed", what, "signature", hex,
                                               "out", out));
    } else if (!vsafe_cli_out_is_stdout(out)) {
        printf("%s\n", hex);
    }
    free(hex);
    return rc;
}

static const char *const verify_help =
    "Verifies a signature on the device (Verify signature 0x17); exit status 1 when it does not verify.\n"
    "  --pubkey-file F   the public key: PEM or DER (public key or certificate), or raw X||Y / 04||X||Y / K\n"
    "                    with --curve; or --pubkey HEX --curve NAME; or --slot N (the key `key show` shows)\n"
    "  --curve NAME      " VSAFE_CLI_CURVES "\n"
    "  --signature HEX | --signature-file F   R||S, or DER for ECDSA\n" SIGNED_INPUT_HELP
    "  --eddsa-variant pure|prehashed   Ed25519 only (default pure)\n"
    "  JSON: {\"key_verify\": {\"curve\", \"valid\": BOOL}}\n" VSAFE_CLI_HELP_COMMON;

static int key_verify(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *pub_file = NULL, *pub_hex = NULL, *curve_s = NULL, *variant_s = NULL, *key_s = NULL;
    vsafe_cli_input_t sig_in = {NULL, NULL};
    signed_input_t si = {{NULL, NULL}, {NULL, NULL}, NULL};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL},
                                    {"pubkey-file", 1, &pub_file, NULL, NULL, NULL},
                                    {"pubkey", 1, &pub_hex, NULL, NULL, NULL},
                                    {"curve", 1, &curve_s, NULL, NULL, NULL},
                                    VSAFE_CLI_INPUT_OPTS("signature", sig_in),
                                    SIGNED_INPUT_OPTS(si),
                                    {"eddsa-variant", 1, &variant_s, NULL, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if ((slot_s != NULL) + (pub_file != NULL) + (pub_hex != NULL) != 1) {
        return vsafe_cli_usage_error(cli, "give the public key in one way: --pubkey-file F, --pubkey HEX --curve NAME "
                                          "or --slot N");
    }
    unsigned curve = VSAFE_CURVE_NONE;
    if (curve_s != NULL && (rc = parse_curve(cli, curve_s, &curve)) != 0) {
        return rc;
    }
    if (pub_hex != NULL && curve == VSAFE_CURVE_NONE) {
        return vsafe_cli_usage_error(cli, "--pubkey HEX needs --curve NAME");
    }
    unsigned variant = 0;
    if (variant_s != NULL && strcmp(variant_s, "pure") != 0) {
        if (strcmp(variant_s, "prehashed") != 0) {
            return vsafe_cli_usage_error(cli, "--eddsa-variant: '%s' is not pure or prehashed", variant_s);
        }
        variant = 1;
    }
    uint8_t slot = 0;
    if (slot_s != NULL && (rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 0, &slot)) != 0) {
        return rc;
    }
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t pub_len = 0;
    if (pub_file != NULL) {
        if ((rc = vsafe_cli_pub_read(cli, "--pubkey-file", pub_file, curve, &curve, pub, &pub_len)) != 0) {
            return rc;
        }
    } else if (pub_hex != NULL) {
        uint8_t *b = NULL;
        size_t bl = 0;
        if ((rc = vsafe_cli_parse_hex(cli, "--pubkey", pub_hex, &b, &bl)) != 0) {
            return rc;
        }
        size_t want = vsafe_host_curve_pub_size(curve);
        int point = bl == want + 1u && b[0] == 0x04;
        if (bl != want && !point) {
            free(b);
            return vsafe_cli_usage_error(cli, "--pubkey: %zu bytes, a %s key is %zu (X||Y or K) or 04||X||Y", bl,
                                         vsafe_cli_curve_label(curve), want);
        }
        memcpy(pub, b + (point ? 1 : 0), want);
        pub_len = want;
        free(b);
    }
    if (curve == VSAFE_CURVE_X25519) {
        return vsafe_cli_usage_error(cli, "an X25519 key does not sign");
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        return rc;
    }
    if (slot_s != NULL) {
        const char *source = NULL;
        unsigned c = 0;
        if ((rc = slot_pub(cli, slot, &c, pub, &pub_len, &source)) != 0) {
            return rc;
        }
        if (curve != VSAFE_CURVE_NONE && c != curve) {
            return vsafe_cli_usage_error(cli, "--curve %s: slot %u holds a %s key", curve_s, slot,
                                         vsafe_cli_curve_label(c));
        }
        curve = c;
    }
    uint8_t *sig_raw = NULL, *msg = NULL;
    size_t sig_raw_len = 0, ml = 0;
    const char *what = NULL;
    if ((rc = vsafe_cli_input_read(cli, "signature", &sig_in, 1, 1, 1024, &sig_raw, &sig_raw_len)) != 0) {
        return rc;
    }
    uint8_t sig[VSAFE_EC_MAX_SIG];
    size_t sl = 0;
    if (vsafe_cli_sig_from_any(curve, sig_raw, sig_raw_len, sig, &sl) != 0) {
        free(sig_raw);
        return vsafe_cli_usage_error(cli, "--signature: %zu bytes are neither R||S of a %s key (%zu bytes) nor DER",
                                     sig_raw_len, vsafe_cli_curve_label(curve), vsafe_host_curve_sig_size(curve));
    }
    free(sig_raw);
    if ((rc = signed_bytes(cli, &si, curve, variant == 1, &msg, &ml, &what)) != 0) {
        return rc;
    }
    int valid = 0;
    rc = vsafe_host_verify_signature(cli->host, prot, curve, pub, pub_len, variant, sig, sl, msg, ml, &valid);
    free(msg);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "verify a %s signature", vsafe_cli_curve_label(curve));
    }
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:s, s:b}}", "key_verify", "curve",
                                               vsafe_cli_curve_label(curve), "signed", what, "valid", valid));
    } else {
        printf("signature %s\n", valid ? "valid" : "INVALID");
    }
    return valid && rc == 0 ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
}

static const char *const ecdh_help =
    "Computes an ECDH shared secret with the key in a private key slot (Establish key 0x18).\n"
    "  --slot N          1..4 (the curve comes from the key table), or ephemeral\n"
    "  --peer-file F     the peer's public key: PEM or DER, or raw X||Y / 04||X||Y / K with --curve;\n"
    "                    or --peer HEX (raw)\n"
    "  --curve NAME      the curve of a raw peer key; with --generate the curve of the ephemeral key\n"
    "  --generate        first generate a key in the ephemeral slot (usage limit 1), in the same run\n"
    "                    (the device keeps it in RAM only, for one ECDH); --pub-out F writes its public\n"
    "                    key (--format pem|der|raw)\n"
    "  --out F           write the shared secret to F (mode 0600; - for stdout) instead of printing it\n"
    "  JSON: {\"key_ecdh\": {\"slot\", \"curve\", \"secret\": HEX (without --out), \"public_key\" (--generate)}}\n"
    VSAFE_CLI_HELP_COMMON;

static int key_ecdh(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *peer_file = NULL, *peer_hex = NULL, *curve_s = NULL, *out = NULL, *pub_out = NULL,
               *fmt_s = NULL, *key_s = NULL;
    int generate = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL},     {"peer-file", 1, &peer_file, NULL, NULL, NULL},
                                    {"peer", 1, &peer_hex, NULL, NULL, NULL},   {"curve", 1, &curve_s, NULL, NULL, NULL},
                                    {"generate", 0, NULL, &generate, NULL, NULL}, {"out", 1, &out, NULL, NULL, NULL},
                                    {"pub-out", 1, &pub_out, NULL, NULL, NULL}, {"format", 1, &fmt_s, NULL, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL},  VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    unsigned curve = VSAFE_CURVE_NONE;
    int fmt = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 1, &slot)) != 0 ||
        (curve_s != NULL && (rc = parse_curve(cli, curve_s, &curve)) != 0) ||
        (rc = parse_format(cli, fmt_s, &fmt)) != 0 || (rc = vsafe_cli_out_check(cli, "--out", out)) != 0 ||
        (rc = vsafe_cli_out_check(cli, "--pub-out", pub_out)) != 0) {
        return rc;
    }
    if (generate && (slot != VSAFE_HOST_EPHEMERAL_SLOT || curve == VSAFE_CURVE_NONE)) {
        return vsafe_cli_usage_error(cli, "--generate goes with --slot ephemeral and --curve NAME");
    }
    if (pub_out != NULL && !generate) {
        return vsafe_cli_usage_error(cli, "--pub-out goes with --generate");
    }
    if ((peer_file != NULL) == (peer_hex != NULL)) {
        return vsafe_cli_usage_error(cli, "give the peer's public key: --peer-file F or --peer HEX");
    }
    if (vsafe_cli_out_is_stdout(out) && vsafe_cli_out_is_stdout(pub_out)) {
        return vsafe_cli_usage_error(cli, "--out - and --pub-out - cannot both use stdout");
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        return rc;
    }
    uint8_t eph[VSAFE_EC_MAX_PUB];
    size_t eph_len = 0;
    if (generate) {
        if ((rc = vsafe_host_generate_key(cli->host, prot, slot, curve, 1, eph, sizeof eph, &eph_len)) != 0) {
            return vsafe_cli_fail(cli, rc, "generate a %s key in the ephemeral slot", vsafe_cli_curve_label(curve));
        }
        if (pub_out != NULL && (rc = vsafe_cli_pub_write(cli, "--pub-out", pub_out, curve, eph, eph_len, fmt)) != 0) {
            return rc;
        }
    } else {
        unsigned c = 0;
        if ((rc = slot_curve(cli, slot, &c, NULL)) != 0) {
            return rc;
        }
        if (c != VSAFE_CURVE_NONE && curve != VSAFE_CURVE_NONE && c != curve) {
            return vsafe_cli_usage_error(cli, "--curve %s: slot %u holds a %s key", curve_s, slot,
                                         vsafe_cli_curve_label(c));
        }
        if (c != VSAFE_CURVE_NONE) {
            curve = c;
        }
    }
    uint8_t peer[VSAFE_EC_MAX_PUB];
    size_t peer_len = 0;
    if (peer_file != NULL) {
        if ((rc = vsafe_cli_pub_read(cli, "--peer-file", peer_file, curve, &curve, peer, &peer_len)) != 0) {
            return rc;
        }
    } else {
        uint8_t *b = NULL;
        size_t bl = 0;
        if (curve == VSAFE_CURVE_NONE) {
            return vsafe_cli_usage_error(cli, "slot %u is empty: give --curve NAME for the raw --peer key", slot);
        }
        if ((rc = vsafe_cli_parse_hex(cli, "--peer", peer_hex, &b, &bl)) != 0) {
            return rc;
        }
        size_t want = vsafe_host_curve_pub_size(curve);
        int point = bl == want + 1u && b[0] == 0x04;
        if (bl != want && !point) {
            free(b);
            return vsafe_cli_usage_error(cli, "--peer: %zu bytes, a %s key is %zu", bl, vsafe_cli_curve_label(curve),
                                         want);
        }
        memcpy(peer, b + (point ? 1 : 0), want);
        peer_len = want;
        free(b);
    }
    uint8_t secret[VSAFE_EC_MAX_KEY];
    size_t secret_len = 0;
    rc = vsafe_host_establish_key(cli->host, prot, slot, curve, peer, peer_len, secret, sizeof secret, &secret_len);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "ECDH with slot %u", slot);
    }
    if (out != NULL && (rc = vsafe_cli_write_file(cli, "--out", out, secret, secret_len, 1)) != 0) {
        vsafe_wipe(secret, sizeof secret);
        return rc;
    }
    char *hex = out == NULL ? vsafe_cli_hex(secret, secret_len) : NULL;
    vsafe_wipe(secret, sizeof secret);
    char *eph_hex = generate ? vsafe_cli_hex(eph, eph_len) : NULL;
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:i, s:s?, s:s?, s:s?}}", "key_ecdh", "slot", slot, "curve",
                                               vsafe_cli_curve_label(curve), "secret_length", (int)secret_len,
                                               "secret", hex, "out", out, "public_key", eph_hex));
    } else if (!vsafe_cli_out_is_stdout(out)) {
        if (eph_hex != NULL && !vsafe_cli_out_is_stdout(pub_out)) {
            printf("ephemeral public key %s\n", eph_hex);
        }
        if (hex != NULL) {
            printf("%s\n", hex);
        } else {
            printf("shared secret (%zu bytes) written to %s\n", secret_len, out);
        }
    }
    if (hex != NULL) {
        vsafe_wipe(hex, strlen(hex));
    }
    free(hex);
    free(eph_hex);
    return rc;
}

static const char *const ecdhe_help =
    "Asks the device for an ECDHE public key (Generate ECDHE 0x1F 0x0B). The device keeps the private\n"
    "half in RAM for the one following command only, so within this CLI it serves to show the\n"
    "command (the host-key, KEK and symmetric-key commands use it inside their own runs).\n"
    "  --curve NAME      " VSAFE_CLI_CURVES " except Ed25519\n"
    "  --out F           write the public key to F; --format pem|der|raw (default pem)\n"
    "  JSON: {\"key_ecdhe\": {\"slot\": 255, \"curve\", \"public_key\": HEX}}\n" VSAFE_CLI_HELP_COMMON;

static int key_ecdhe(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *curve_s = NULL, *out = NULL, *fmt_s = NULL, *key_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"curve", 1, &curve_s, NULL, NULL, NULL}, {"out", 1, &out, NULL, NULL, NULL}, {"format", 1, &fmt_s, NULL, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    unsigned curve = 0;
    int fmt = 0;
    if (curve_s == NULL) {
        return vsafe_cli_usage_error(cli, "--curve NAME is required");
    }
    if ((rc = parse_curve(cli, curve_s, &curve)) != 0 || (rc = parse_format(cli, fmt_s, &fmt)) != 0 ||
        (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    if (curve == VSAFE_CURVE_ED25519) {
        return vsafe_cli_usage_error(cli, "--curve: an Ed25519 key does not do ECDH");
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        return rc;
    }
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t pub_len = 0;
    if ((rc = vsafe_host_generate_ecdhe(cli->host, prot, curve, pub, sizeof pub, &pub_len)) != 0) {
        return vsafe_cli_fail(cli, rc, "generate an ECDHE %s key", vsafe_cli_curve_label(curve));
    }
    return pub_result(cli, "key_ecdhe", 0xFF, curve, pub, pub_len, out, fmt, NULL);
}

static const char *const decompress_help =
    "Recovers Y of a compressed public key on the device (Decompress public key 0x1F 0x1A).\n"
    "  --curve NAME      a NIST or Brainpool curve\n"
    "  --point HEX | --point-file F   the compressed point: 02 or 03, then X\n"
    "  --out F           write the public key to F; --format pem|der|raw (default pem)\n"
    "  JSON: {\"key_decompress\": {\"curve\", \"y\": HEX, \"public_key\": X||Y HEX}}\n" VSAFE_CLI_HELP_COMMON;

static int key_decompress(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *curve_s = NULL, *out = NULL, *fmt_s = NULL, *key_s = NULL;
    vsafe_cli_input_t point_in = {NULL, NULL};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"curve", 1, &curve_s, NULL, NULL, NULL},   VSAFE_CLI_INPUT_OPTS("point", point_in),
                                    {"out", 1, &out, NULL, NULL, NULL},         {"format", 1, &fmt_s, NULL, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    unsigned curve = 0;
    int fmt = 0;
    if (curve_s == NULL) {
        return vsafe_cli_usage_error(cli, "--curve NAME is required");
    }
    if ((rc = parse_curve(cli, curve_s, &curve)) != 0 || (rc = parse_format(cli, fmt_s, &fmt)) != 0 ||
        (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    size_t cs = vsafe_host_curve_key_size(curve);
    uint8_t *pt = NULL;
    size_t pl = 0;
    if ((rc = vsafe_cli_input_read(cli, "point", &point_in, 1, cs + 1u, cs + 1u, &pt, &pl)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        free(pt);
        return rc;
    }
    uint8_t pub[VSAFE_EC_MAX_PUB];
    memcpy(pub, pt + 1, cs);
    rc = vsafe_host_decompress_key(cli->host, prot, curve, pt[0], pt + 1, cs, pub + cs, sizeof pub - cs);
    free(pt);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "decompress a %s point", vsafe_cli_curve_label(curve));
    }
    char *y = vsafe_cli_hex(pub + cs, cs);
    rc = pub_result(cli, "key_decompress", 0xFF, curve, pub, 2u * cs, out, fmt, json_pack("{s:s}", "y", y));
    free(y);
    return rc;
}

static const vsafe_cli_sub_t subs[] = {
    {"table", key_table, "key table", table_help},
    {"generate", key_generate,
     "key generate --slot N|ephemeral --curve NAME [--usage-limit N] [--out F [--format pem|der|raw]]", generate_help},
    {"show", key_show, "key show [--slot N [--out F] [--format pem|der|raw]]", show_help},
    {"sign", key_sign,
     "key sign --slot N (--digest HEX|--digest-file F|--message HEX|--message-file F [--hash ALG]) "
     "[--out F [--format der|raw]]",
     sign_help},
    {"verify", key_verify,
     "key verify (--pubkey-file F|--pubkey HEX --curve C|--slot N) (--signature HEX|--signature-file F) "
     "(--digest ...|--message ... [--hash ALG]) [--eddsa-variant pure|prehashed]",
     verify_help},
    {"ecdh", key_ecdh,
     "key ecdh --slot N|ephemeral (--peer-file F|--peer HEX) [--curve C] [--generate [--pub-out F]] [--out F]",
     ecdh_help},
    {"ecdhe", key_ecdhe, "key ecdhe --curve NAME [--out F [--format pem|der|raw]]", ecdhe_help},
    {"decompress", key_decompress, "key decompress --curve NAME (--point HEX|--point-file F) [--out F]",
     decompress_help},
};

int vsafe_cmd_key(vsafe_cli_t *cli, int argc, char **argv)
{
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0],
                              "Private key slots: generate key pairs, sign, verify, ECDH. Every subcommand takes "
                              "--host-key F, --json, --trace.",
                              NULL);
}
