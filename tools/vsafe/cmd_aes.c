/* vsafe aes (encrypt, decrypt, gmac) and vsafe mac (generate, verify) with the keys of the
 * symmetric key slots. The device takes the mode from the slot; the tool reads it (and the tag
 * length) from the key table so that it lays the frame out as that mode wants, unless --mode
 * says otherwise. Decrypted data is output only once its tag verified (chunked decryption keeps
 * the chunks until the Finish says so), and it is written 0600. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "cmd_sym.h"
#include "common/secure.h"

#define AES_DATA_MAX (1024u * 1024u)
#define MAC_MSG_MAX 255u

typedef struct {
    const char *slot, *mode, *chunk, *out, *tag_out, *host_key;
    vsafe_cli_input_t data, nonce, aad, tag;
} aes_opts_t;

#define AES_HELP_COMMON                                                                                      \
    "  --slot N          the symmetric key slot\n"                                                            \
    "  --mode M          ecb, ccm or gcm (default: the slot's mode, from the key table)\n"                    \
    "  --nonce HEX | --nonce-file F   ccm: the 13-byte nonce (7..13 with --chunk); gcm: the IV (default\n"   \
    "                    length 12, any length >= 1)\n"                                                      \
    "  --aad HEX | --aad-file F       ccm, gcm: the associated data (default none)\n"                         \
    "  --chunk N         ccm, gcm: send the data in chunks of N bytes (Start / Process / Finish, 0x1F\n"      \
    "                    0x11..0x16; the slot needs the encrypt-chunks / decrypt-chunks usage)\n"

/* The slot's mode and tag length, or --mode. Returns 0 or an exit status. */
static int slot_mode(vsafe_cli_t *cli, uint8_t slot, const char *mode_s, uint8_t *mode, size_t *tag_len)
{
    vsafe_host_symkey_slot_t s;
    int present = 0;
    int rc = vsafe_cli_symkey_slot(cli, slot, &s, &present);
    if (rc != 0) {
        return rc;
    }
    *tag_len = present ? s.tag_len : 16u;
    if (mode_s != NULL) {
        *mode = strcmp(mode_s, "ecb") == 0 ? VSAFE_HOST_SYM_ECB : strcmp(mode_s, "ccm") == 0 ? VSAFE_HOST_SYM_CCM
                                                                                             : VSAFE_HOST_SYM_GCM;
        return 0;
    }
    if (!present) {
        return vsafe_cli_fail_named(cli, "EMPTY_SLOT", "symmetric key slot %u holds no key (Query 0x23)", slot);
    }
    *mode = s.mode;
    if (*mode != VSAFE_HOST_SYM_ECB && *mode != VSAFE_HOST_SYM_CCM && *mode != VSAFE_HOST_SYM_GCM) {
        /* Sent as GCM so that the device, not the tool, says why the key does not do AES. */
        *mode = VSAFE_HOST_SYM_GCM;
    }
    return 0;
}

static int parse_common(vsafe_cli_t *cli, const aes_opts_t *o, uint8_t *slot, uint32_t *chunk)
{
    int rc = vsafe_cli_parse_slot(cli, "--slot", o->slot, 0xFE, 0, slot);
    if (rc != 0) {
        return rc;
    }
    if (o->mode != NULL && strcmp(o->mode, "ecb") != 0 && strcmp(o->mode, "ccm") != 0 && strcmp(o->mode, "gcm") != 0) {
        return vsafe_cli_usage_error(cli, "--mode: '%s' is not ecb, ccm or gcm", o->mode);
    }
    *chunk = 0;
    if (o->chunk != NULL && (rc = vsafe_cli_parse_u32(cli, "--chunk", o->chunk, 1, 700, chunk)) != 0) {
        return rc;
    }
    if ((rc = vsafe_cli_out_check(cli, "--out", o->out)) != 0 || (rc = vsafe_cli_out_check(cli, "--tag-out", o->tag_out)) != 0) {
        return rc;
    }
    return 0;
}

/* Frees the inputs of an AES command (the data may be plaintext: wiped). */
typedef struct {
    uint8_t *data, *nonce, *aad, *tag, *out;
    size_t data_len, nonce_len, aad_len, tag_len, out_cap;
} aes_bufs_t;

static void bufs_free(aes_bufs_t *b)
{
    if (b->data != NULL) {
        vsafe_wipe(b->data, b->data_len);
    }
    if (b->out != NULL) {
        vsafe_wipe(b->out, b->out_cap);
    }
    free(b->data);
    free(b->nonce);
    free(b->aad);
    free(b->tag);
    free(b->out);
}

static const char *mode_label(uint8_t mode)
{
    return mode == VSAFE_HOST_SYM_ECB ? "ecb" : mode == VSAFE_HOST_SYM_CCM ? "ccm" : "gcm";
}

static int read_aead_inputs(vsafe_cli_t *cli, const aes_opts_t *o, uint8_t mode, uint32_t chunk, aes_bufs_t *b)
{
    int rc;
    if (mode == VSAFE_HOST_SYM_ECB) {
        if (vsafe_cli_input_given(&o->nonce) || vsafe_cli_input_given(&o->aad) || chunk != 0) {
            return vsafe_cli_usage_error(cli, "ecb takes no --nonce, --aad or --chunk");
        }
        return 0;
    }
    size_t nmin = mode == VSAFE_HOST_SYM_CCM ? (chunk != 0 ? 7u : 13u) : 1u;
    size_t nmax = mode == VSAFE_HOST_SYM_CCM ? 13u : 128u;
    if ((rc = vsafe_cli_input_read(cli, "nonce", &o->nonce, 1, nmin, nmax, &b->nonce, &b->nonce_len)) != 0 ||
        (rc = vsafe_cli_input_read(cli, "aad", &o->aad, 0, 0, AES_DATA_MAX, &b->aad, &b->aad_len)) != 0) {
        return rc;
    }
    return 0;
}

static const char *const encrypt_help =
    "Encrypts with the key in a symmetric key slot (Encrypt 0x1B; ECB, CCM* or GCM by the slot's mode).\n"
    "  --data HEX | --data-file F     the plaintext (ecb: a multiple of 16 bytes)\n" AES_HELP_COMMON
    "  --out F           write the ciphertext, then the tag, to F (- for stdout)\n"
    "  --tag-out F       write the tag to F instead (then --out gets the ciphertext alone)\n"
    "  JSON: {\"aes_encrypt\": {\"slot\", \"mode\", \"ciphertext\": HEX, \"tag\": HEX, \"counter\" (ccm with a device\n"
    "         counter: the value used), \"out\"}}\n" VSAFE_CLI_HELP_COMMON;

static const char *const decrypt_help =
    "Decrypts with the key in a symmetric key slot (Decrypt 0x1C); exit status 1 when the tag does not\n"
    "verify (nothing is output then).\n"
    "  --data HEX | --data-file F     the ciphertext, followed by the tag unless --tag is given\n"
    "  --tag HEX | --tag-file F       ccm, gcm: the tag\n" AES_HELP_COMMON
    "  --out F           write the plaintext to F (mode 0600; - for stdout) instead of printing it\n"
    "  JSON: {\"aes_decrypt\": {\"slot\", \"mode\", \"verified\": BOOL, \"plaintext\": HEX (without --out), \"out\"}}\n"
    VSAFE_CLI_HELP_COMMON;

static int aes_run(vsafe_cli_t *cli, int argc, char **argv, int encrypt)
{
    aes_opts_t o = {0};
    int done = 0;
    const vsafe_cli_opt_t enc_opts[] = {{"slot", 1, &o.slot, NULL, NULL, NULL},         {"mode", 1, &o.mode, NULL, NULL, NULL},
                                        VSAFE_CLI_INPUT_OPTS("data", o.data), VSAFE_CLI_INPUT_OPTS("nonce", o.nonce),
                                        VSAFE_CLI_INPUT_OPTS("aad", o.aad),   {"chunk", 1, &o.chunk, NULL, NULL, NULL},
                                        {"out", 1, &o.out, NULL, NULL, NULL},             {"tag-out", 1, &o.tag_out, NULL, NULL, NULL},
                                        {"host-key", 1, &o.host_key, NULL, NULL, NULL},   VSAFE_CLI_OPT_END};
    const vsafe_cli_opt_t dec_opts[] = {{"slot", 1, &o.slot, NULL, NULL, NULL},         {"mode", 1, &o.mode, NULL, NULL, NULL},
                                        VSAFE_CLI_INPUT_OPTS("data", o.data), VSAFE_CLI_INPUT_OPTS("nonce", o.nonce),
                                        VSAFE_CLI_INPUT_OPTS("aad", o.aad),   VSAFE_CLI_INPUT_OPTS("tag", o.tag),
                                        {"chunk", 1, &o.chunk, NULL, NULL, NULL},         {"out", 1, &o.out, NULL, NULL, NULL},
                                        {"host-key", 1, &o.host_key, NULL, NULL, NULL},   VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, encrypt ? enc_opts : dec_opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0, mode = 0;
    uint32_t chunk = 0;
    size_t tag_len = 0;
    if ((rc = parse_common(cli, &o, &slot, &chunk)) != 0) {
        return rc;
    }
    if (!vsafe_cli_input_given(&o.data)) {
        return vsafe_cli_usage_error(cli, "--data HEX or --data-file F is required");
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, o.host_key, &prot)) != 0 || (rc = slot_mode(cli, slot, o.mode, &mode, &tag_len)) != 0) {
        return rc;
    }
    aes_bufs_t b = {0};
    if ((rc = read_aead_inputs(cli, &o, mode, chunk, &b)) != 0 ||
        (rc = vsafe_cli_input_read(cli, "data", &o.data, 1, 0, AES_DATA_MAX, &b.data, &b.data_len)) != 0 ||
        (!encrypt && (rc = vsafe_cli_input_read(cli, "tag", &o.tag, 0, 1, 16, &b.tag, &b.tag_len)) != 0)) {
        bufs_free(&b);
        return rc;
    }
    size_t len = b.data_len;
    const uint8_t *tag_in = b.tag;
    if (!encrypt && mode != VSAFE_HOST_SYM_ECB && b.tag == NULL) {
        if (len < tag_len) {
            bufs_free(&b);
            return vsafe_cli_usage_error(cli, "--data: %zu bytes hold no %zu-byte tag (or give --tag)", len, tag_len);
        }
        len -= tag_len;
        tag_in = b.data + len;
    } else if (!encrypt && b.tag != NULL) {
        if (mode == VSAFE_HOST_SYM_ECB) {
            bufs_free(&b);
            return vsafe_cli_usage_error(cli, "ecb has no tag");
        }
        tag_len = b.tag_len;
    }
    b.out_cap = len + 16u;
    b.out = malloc(b.out_cap);
    if (b.out == NULL) {
        bufs_free(&b);
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "aes");
    }
    uint8_t tag[16] = {0};
    int verified = 1;
    vsafe_host_ccm_ctr_t ctr = {0, 0};
    vsafe_host_aead_t a = {.mode = mode == VSAFE_HOST_SYM_CCM ? VSAFE_AEAD_CCM : VSAFE_AEAD_GCM, .slot = slot,
                           .nonce = b.nonce, .nonce_len = b.nonce_len, .aad = b.aad, .aad_len = b.aad_len,
                           .tag_len = tag_len};
    if (mode == VSAFE_HOST_SYM_ECB) {
        rc = vsafe_host_aes_ecb(cli->host, prot, encrypt, slot, b.data, len, b.out);
    } else if (chunk == 0) {
        rc = encrypt ? vsafe_host_aead_encrypt(cli->host, prot, &a, b.data, len, b.out, tag, &ctr)
                     : vsafe_host_aead_decrypt(cli->host, prot, &a, b.data, len, tag_in, b.out, &verified);
    } else {
        /* Start carries all the AAD and the first chunk; Process the middle ones; Finish the rest. */
        size_t first = len < chunk ? len : chunk, at = first;
        rc = vsafe_host_aead_start(cli->host, prot, encrypt, &a, b.aad_len, len, b.data, first, b.out,
                                   encrypt ? &ctr : NULL);
        while (rc == 0 && len - at > chunk) {
            rc = vsafe_host_aead_process(cli->host, prot, encrypt, NULL, 0, b.data + at, chunk, b.out + at);
            at += chunk;
        }
        if (rc == 0) {
            rc = encrypt ? vsafe_host_aead_finish_encrypt(cli->host, prot, NULL, 0, b.data + at, len - at, b.out + at, tag,
                                                          tag_len)
                         : vsafe_host_aead_finish_decrypt(cli->host, prot, NULL, 0, b.data + at, len - at, tag_in, tag_len,
                                                          b.out + at, &verified);
        }
    }
    if (rc != 0) {
        bufs_free(&b);
        return vsafe_cli_fail(cli, rc, "%s with symmetric key slot %u (%s%s)", encrypt ? "encrypt" : "decrypt", slot,
                              mode_label(mode), chunk ? ", chunked" : "");
    }
    size_t tl = mode == VSAFE_HOST_SYM_ECB ? 0 : tag_len;
    if (encrypt) {
        /* --out gets ciphertext || tag unless the tag has its own file. */
        memcpy(b.out + len, tag, tl);
        size_t out_len = o.tag_out != NULL ? len : len + tl;
        if ((o.out != NULL && (rc = vsafe_cli_write_file(cli, "--out", o.out, b.out, out_len, 0)) != 0) ||
            (o.tag_out != NULL && (rc = vsafe_cli_write_file(cli, "--tag-out", o.tag_out, tag, tl, 0)) != 0)) {
            bufs_free(&b);
            return rc;
        }
        char *ct = vsafe_cli_hex(b.out, len), *th = vsafe_cli_hex(tag, tl);
        if (cli->json) {
            json_t *r = json_pack("{s:i, s:s, s:s, s:s, s:s?}", "slot", slot, "mode", mode_label(mode), "ciphertext", ct,
                                  "tag", th, "out", o.out);
            json_object_set_new(r, "counter", ctr.present ? json_integer(ctr.counter) : json_null());
            rc = vsafe_cli_json_out(cli, json_pack("{s:o}", "aes_encrypt", r));
        } else if (!vsafe_cli_out_is_stdout(o.out) && !vsafe_cli_out_is_stdout(o.tag_out)) {
            printf("ciphertext %s\n", ct);
            if (tl > 0) {
                printf("tag        %s\n", th);
            }
            if (ctr.present) {
                printf("counter    %u\n", ctr.counter);
            }
        }
        free(ct);
        free(th);
        bufs_free(&b);
        return rc;
    }
    if (verified && o.out != NULL && (rc = vsafe_cli_write_file(cli, "--out", o.out, b.out, len, 1)) != 0) {
        bufs_free(&b);
        return rc;
    }
    char *pt = verified && o.out == NULL ? vsafe_cli_hex(b.out, len) : NULL;
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:b, s:s?, s:s?}}", "aes_decrypt", "slot", slot, "mode",
                                               mode_label(mode), "verified", verified, "plaintext", pt, "out",
                                               verified ? o.out : NULL));
    } else if (!verified) {
        printf("tag does NOT verify: no plaintext\n");
    } else if (pt != NULL) {
        printf("%s\n", pt);
    }
    if (pt != NULL) {
        vsafe_wipe(pt, strlen(pt));
        free(pt);
    }
    bufs_free(&b);
    return verified && rc == 0 ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
}

static int aes_encrypt(vsafe_cli_t *cli, int argc, char **argv)
{
    return aes_run(cli, argc, argv, 1);
}

static int aes_decrypt(vsafe_cli_t *cli, int argc, char **argv)
{
    return aes_run(cli, argc, argv, 0);
}

static const char *const gmac_help =
    "GMAC with the GCM key in a symmetric key slot: computes the tag over the associated data (Encrypt\n"
    "0x1B with no message), or with --tag verifies it (Decrypt 0x1C; exit status 1 when it does not).\n"
    "  --slot N          the symmetric key slot (a GCM key)\n"
    "  --nonce HEX | --nonce-file F   the IV (any length >= 1)\n"
    "  --aad HEX | --aad-file F       the data to authenticate\n"
    "  --tag HEX | --tag-file F       verify this tag instead of computing one\n"
    "  --out F           write the computed tag to F (- for stdout)\n"
    "  JSON: {\"aes_gmac\": {\"slot\", \"tag\": HEX}} or {\"aes_gmac\": {\"slot\", \"verified\": BOOL}}\n"
    VSAFE_CLI_HELP_COMMON;

static int aes_gmac(vsafe_cli_t *cli, int argc, char **argv)
{
    aes_opts_t o = {0};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &o.slot, NULL, NULL, NULL},           VSAFE_CLI_INPUT_OPTS("nonce", o.nonce),
                                    VSAFE_CLI_INPUT_OPTS("aad", o.aad),   VSAFE_CLI_INPUT_OPTS("tag", o.tag),
                                    {"out", 1, &o.out, NULL, NULL, NULL},             {"host-key", 1, &o.host_key, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0, mode = 0;
    uint32_t chunk = 0;
    size_t tag_len = 0;
    o.mode = "gcm";
    if ((rc = parse_common(cli, &o, &slot, &chunk)) != 0) {
        return rc;
    }
    int verify = vsafe_cli_input_given(&o.tag);
    if (verify && o.out != NULL) {
        return vsafe_cli_usage_error(cli, "--out goes with computing a tag, not with --tag");
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, o.host_key, &prot)) != 0 || (rc = slot_mode(cli, slot, NULL, &mode, &tag_len)) != 0) {
        return rc;
    }
    aes_bufs_t b = {0};
    if ((rc = read_aead_inputs(cli, &o, VSAFE_HOST_SYM_GCM, 0, &b)) != 0 ||
        (verify && (rc = vsafe_cli_input_read(cli, "tag", &o.tag, 1, 1, 16, &b.tag, &b.tag_len)) != 0)) {
        bufs_free(&b);
        return rc;
    }
    vsafe_host_aead_t a = {.mode = VSAFE_AEAD_GCM, .slot = slot, .nonce = b.nonce, .nonce_len = b.nonce_len,
                           .aad = b.aad, .aad_len = b.aad_len, .tag_len = verify ? b.tag_len : tag_len};
    uint8_t tag[16];
    int verified = 0;
    rc = verify ? vsafe_host_gmac_verify(cli->host, prot, &a, b.tag, &verified)
                : vsafe_host_gmac_compute(cli->host, prot, &a, tag);
    bufs_free(&b);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "GMAC %s with symmetric key slot %u", verify ? "verify" : "compute", slot);
    }
    if (verify) {
        if (cli->json) {
            rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:b}}", "aes_gmac", "slot", slot, "verified", verified));
        } else {
            printf("tag %s\n", verified ? "verified" : "does NOT verify");
        }
        return verified && rc == 0 ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
    }
    if (o.out != NULL && (rc = vsafe_cli_write_file(cli, "--out", o.out, tag, a.tag_len, 0)) != 0) {
        return rc;
    }
    char *th = vsafe_cli_hex(tag, a.tag_len);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:s?}}", "aes_gmac", "slot", slot, "tag", th, "out", o.out));
    } else if (!vsafe_cli_out_is_stdout(o.out)) {
        printf("%s\n", th);
    }
    free(th);
    return rc;
}

static const vsafe_cli_sub_t aes_subs[] = {
    {"encrypt", aes_encrypt,
     "aes encrypt --slot N [--mode ecb|ccm|gcm] (--data HEX|--data-file F) [--nonce HEX|--nonce-file F] "
     "[--aad HEX|--aad-file F] [--chunk N] [--out F] [--tag-out F]",
     encrypt_help},
    {"decrypt", aes_decrypt,
     "aes decrypt --slot N [--mode ecb|ccm|gcm] (--data HEX|--data-file F) [--tag HEX|--tag-file F] "
     "[--nonce HEX|--nonce-file F] [--aad HEX|--aad-file F] [--chunk N] [--out F]",
     decrypt_help},
    {"gmac", aes_gmac, "aes gmac --slot N (--nonce HEX|--nonce-file F) (--aad HEX|--aad-file F) [--tag HEX|--tag-file F] [--out F]",
     gmac_help},
};

int vsafe_cmd_aes(vsafe_cli_t *cli, int argc, char **argv)
{
    return vsafe_cli_dispatch(cli, argc, argv, aes_subs, sizeof aes_subs / sizeof aes_subs[0],
                              "AES with the keys of the symmetric key slots: ECB, CCM*, GCM (one-shot or chunked), "
                              "GMAC.",
                              NULL);
}

/* ---- MAC ---- */

typedef struct {
    const char *slot, *len, *out, *host_key;
    vsafe_cli_input_t data, mac;
} mac_opts_t;

static const char *const generate_help =
    "Computes a MAC with the key in a symmetric key slot (Generate MAC 0x09: AES-CMAC or HMAC-SHA-256\n"
    "by the slot's mode).\n"
    "  --slot N          the symmetric key slot (a CMAC or HMAC key)\n"
    "  --data HEX | --data-file F     the message (at most 255 bytes)\n"
    "  --mac-len N       MAC bytes (default 16 for CMAC, 32 for HMAC; at least the slot's minimum)\n"
    "  --out F           write the MAC to F (- for stdout)\n"
    "  JSON: {\"mac_generate\": {\"slot\", \"mode\", \"mac\": HEX, \"out\"}}\n" VSAFE_CLI_HELP_COMMON;

static const char *const verify_help =
    "Verifies a MAC on the device (Verify MAC 0x0A); exit status 1 when it does not verify.\n"
    "  --slot N          the symmetric key slot (a CMAC or HMAC key)\n"
    "  --data HEX | --data-file F     the message (at most 255 bytes)\n"
    "  --mac HEX | --mac-file F       the MAC (its length is the MAC length)\n"
    "  JSON: {\"mac_verify\": {\"slot\", \"verified\": BOOL}}\n" VSAFE_CLI_HELP_COMMON;

static int mac_run(vsafe_cli_t *cli, int argc, char **argv, int generate)
{
    mac_opts_t o = {0};
    int done = 0;
    const vsafe_cli_opt_t gen_opts[] = {{"slot", 1, &o.slot, NULL, NULL, NULL},  VSAFE_CLI_INPUT_OPTS("data", o.data),
                                        {"mac-len", 1, &o.len, NULL, NULL, NULL}, {"out", 1, &o.out, NULL, NULL, NULL},
                                        {"host-key", 1, &o.host_key, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
    const vsafe_cli_opt_t ver_opts[] = {{"slot", 1, &o.slot, NULL, NULL, NULL}, VSAFE_CLI_INPUT_OPTS("data", o.data),
                                        VSAFE_CLI_INPUT_OPTS("mac", o.mac), {"host-key", 1, &o.host_key, NULL, NULL, NULL},
                                        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, generate ? gen_opts : ver_opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    uint32_t mac_len = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", o.slot, 0xFE, 0, &slot)) != 0 ||
        (o.len != NULL && (rc = vsafe_cli_parse_u32(cli, "--mac-len", o.len, 1, 32, &mac_len)) != 0) ||
        (rc = vsafe_cli_out_check(cli, "--out", o.out)) != 0) {
        return rc;
    }
    uint8_t *msg = NULL, *mac_in = NULL;
    size_t ml = 0, mcl = 0;
    if ((rc = vsafe_cli_input_read(cli, "data", &o.data, 1, 0, MAC_MSG_MAX, &msg, &ml)) != 0 ||
        (!generate && (rc = vsafe_cli_input_read(cli, "mac", &o.mac, 1, 1, 32, &mac_in, &mcl)) != 0)) {
        free(msg);
        return rc;
    }
    vsafe_host_prot_t prot;
    vsafe_host_symkey_slot_t s;
    int present = 0;
    if ((rc = vsafe_cli_open_prot(cli, o.host_key, &prot)) != 0 || (rc = vsafe_cli_symkey_slot(cli, slot, &s, &present)) != 0) {
        free(msg);
        free(mac_in);
        return rc;
    }
    if (generate && mac_len == 0) {
        if (!present) {
            free(msg);
            return vsafe_cli_fail_named(cli, "EMPTY_SLOT", "symmetric key slot %u holds no key (Query 0x23)", slot);
        }
        mac_len = s.mode == VSAFE_HOST_SYM_HMAC ? 32u : 16u;
    }
    const char *mode = present ? vsafe_cli_sym_mode_name(s.mode) : "none";
    uint8_t mac[32];
    int verified = 0;
    rc = generate ? vsafe_host_mac_generate(cli->host, prot, slot, msg, ml, mac, mac_len)
                  : vsafe_host_mac_verify(cli->host, prot, slot, mac_in, mcl, msg, ml, &verified);
    free(msg);
    free(mac_in);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "%s a MAC with symmetric key slot %u", generate ? "generate" : "verify", slot);
    }
    if (!generate) {
        if (cli->json) {
            rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:b}}", "mac_verify", "slot", slot, "mode", mode,
                                                   "verified", verified));
        } else {
            printf("MAC %s\n", verified ? "verified" : "does NOT verify");
        }
        return verified && rc == 0 ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
    }
    if (o.out != NULL && (rc = vsafe_cli_write_file(cli, "--out", o.out, mac, mac_len, 0)) != 0) {
        return rc;
    }
    char *hex = vsafe_cli_hex(mac, mac_len);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:s, s:s?}}", "mac_generate", "slot", slot, "mode", mode,
                                               "mac", hex, "out", o.out));
    } else if (!vsafe_cli_out_is_stdout(o.out)) {
        printf("%s\n", hex);
    }
    free(hex);
    return rc;
}

static int mac_generate(vsafe_cli_t *cli, int argc, char **argv)
{
    return mac_run(cli, argc, argv, 1);
}

static int mac_verify(vsafe_cli_t *cli, int argc, char **argv)
{
    return mac_run(cli, argc, argv, 0);
}

static const vsafe_cli_sub_t mac_subs[] = {
    {"generate", mac_generate, "mac generate --slot N (--data HEX|--data-file F) [--mac-len N] [--out F]", generate_help},
    {"verify", mac_verify, "mac verify --slot N (--data HEX|--data-file F) (--mac HEX|--mac-file F)", verify_help},
};

int vsafe_cmd_mac(vsafe_cli_t *cli, int argc, char **argv)
{
    return vsafe_cli_dispatch(cli, argc, argv, mac_subs, sizeof mac_subs / sizeof mac_subs[0],
                              "MACs with the keys of the symmetric key slots: AES-CMAC, HMAC-SHA-256.", NULL);
}
