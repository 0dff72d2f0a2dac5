/* vsafe derive: HKDF-SHA256 on the device (Derive keys 0x1F 0x10): keys out to the host, into a
 * symmetric key slot the device picks, or (extract only) a PRK kept in a slot. Derived keys are
 * secrets: printed only when asked for, written 0600, wiped after use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "cmd_sym.h"
#include "common/secure.h"

#define DERIVE_OUT_MAX 32u
#define DERIVE_KEYS_MAX 700u

static const char *const derive_help =
    "Derives keys with HKDF-SHA256 on the device (Derive keys 0x1F 0x10): extract and expand by default.\n"
    "  --ikm HEX | --ikm-file F | --ikm-slot N   the input key material: in the command, or a generic\n"
    "                    key with the derive usage in a symmetric key slot\n"
    "  --salt HEX | --salt-file F | --salt-slot N   the salt (default none: HashLen zero bytes)\n"
    "  --info HEX | --info-file F                   the info of the expand step (default empty)\n"
    "  --length L[,L...] keys returned to the host, L bytes each, in this order (the input must allow it:\n"
    "                    given in the command, or a slot key written with --allow-host)\n"
    "  --to-slot         one more key, into a symmetric key slot the device picks (one whose control fields\n"
    "                    allow derived keys), with the attributes of these options:\n" VSAFE_CLI_KEYINFO_HELP
    "  --extract-only    only the extract step: the device keeps the PRK in a slot and says which\n"
    "  --expand-only     only the expand step: the input is the PRK (32 bytes)\n"
    "  --out F           write the host keys, concatenated, to F (mode 0600; - for stdout) instead of\n"
    "                    printing them\n"
    "  JSON: {\"derive\": {\"keys\": [HEX...] (without --out), \"slots\": [N...] (--to-slot), \"prk_slot\"\n"
    "         (--extract-only), \"out\"}}\n" VSAFE_CLI_HELP_COMMON;

int vsafe_cmd_derive(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *ikm_slot_s = NULL, *salt_slot_s = NULL, *len_s = NULL, *out = NULL, *key_s = NULL;
    vsafe_cli_input_t ikm = {NULL, NULL}, salt = {NULL, NULL}, info = {NULL, NULL};
    vsafe_cli_keyinfo_opts_t ko = {0};
    int to_slot = 0, extract_only = 0, expand_only = 0, done = 0;
    cli->help = derive_help;
    const vsafe_cli_opt_t opts[] = {VSAFE_CLI_INPUT_OPTS("ikm", ikm),
                                    {"ikm-slot", 1, &ikm_slot_s, NULL, NULL, NULL},
                                    VSAFE_CLI_INPUT_OPTS("salt", salt),
                                    {"salt-slot", 1, &salt_slot_s, NULL, NULL, NULL},
                                    VSAFE_CLI_INPUT_OPTS("info", info),
                                    {"length", 1, &len_s, NULL, NULL, NULL},
                                    {"to-slot", 0, NULL, &to_slot, NULL, NULL},
                                    VSAFE_CLI_KEYINFO_OPTS(ko),
                                    {"extract-only", 0, NULL, &extract_only, NULL, NULL},
                                    {"expand-only", 0, NULL, &expand_only, NULL, NULL},
                                    {"out", 1, &out, NULL, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (vsafe_cli_input_given(&ikm) == (ikm_slot_s != NULL)) {
        return vsafe_cli_usage_error(cli, "give the input key material: --ikm HEX, --ikm-file F or --ikm-slot N");
    }
    if (extract_only && expand_only) {
        return vsafe_cli_usage_error(cli, "--extract-only and --expand-only exclude each other");
    }
    if (vsafe_cli_input_given(&salt) && salt_slot_s != NULL) {
        return vsafe_cli_usage_error(cli, "give the salt once: --salt, --salt-file or --salt-slot");
    }
    if (expand_only && (vsafe_cli_input_given(&salt) || salt_slot_s != NULL)) {
        return vsafe_cli_usage_error(cli, "--expand-only takes no salt");
    }
    if (extract_only && (len_s != NULL || to_slot || vsafe_cli_input_given(&info) || out != NULL)) {
        return vsafe_cli_usage_error(cli, "--extract-only makes no keys: no --length, --to-slot, --info or --out");
    }
    if (!extract_only && len_s == NULL && !to_slot) {
        return vsafe_cli_usage_error(cli, "say which keys to derive: --length L[,L...] and/or --to-slot");
    }
    if ((rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    vsafe_host_derive_out_t outs[DERIVE_OUT_MAX];
    size_t n_out = 0, host_total = 0;
    if (len_s != NULL) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", len_s);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
            uint32_t l = 0;
            if (n_out + (to_slot ? 1u : 0u) >= DERIVE_OUT_MAX) {
                return vsafe_cli_usage_error(cli, "--length: at most %u keys", DERIVE_OUT_MAX);
            }
            if ((rc = vsafe_cli_parse_u32(cli, "--length", t, 1, 0xFFFF, &l)) != 0) {
                return rc;
            }
            outs[n_out] = (vsafe_host_derive_out_t){.dest = VSAFE_HOST_DERIVE_TO_HOST, .key_len = (uint16_t)l};
            host_total += l;
            n_out++;
        }
    }
    if (host_total > DERIVE_KEYS_MAX) {
        return vsafe_cli_usage_error(cli, "--length: %zu bytes in all, more than one response carries (%u)", host_total,
                                     DERIVE_KEYS_MAX);
    }
    if (to_slot) {
        outs[n_out] = (vsafe_host_derive_out_t){.dest = VSAFE_HOST_DERIVE_TO_SLOT};
        if ((rc = vsafe_cli_keyinfo(cli, &ko, &outs[n_out].info)) != 0) {
            return rc;
        }
        n_out++;
    } else if (ko.mode != NULL || ko.type != NULL || ko.usage != NULL) {
        return vsafe_cli_usage_error(cli, "--mode, --type and --usage describe the --to-slot key");
    }
    uint8_t ikm_slot = 0, salt_slot = 0;
    if ((ikm_slot_s != NULL && (rc = vsafe_cli_parse_slot(cli, "--ikm-slot", ikm_slot_s, 0xFE, 0, &ikm_slot)) != 0) ||
        (salt_slot_s != NULL && (rc = vsafe_cli_parse_slot(cli, "--salt-slot", salt_slot_s, 0xFE, 0, &salt_slot)) != 0)) {
        return rc;
    }
    uint8_t *ikm_b = NULL, *salt_b = NULL, *info_b = NULL;
    size_t ikm_l = 0, salt_l = 0, info_l = 0;
    if ((rc = vsafe_cli_input_read(cli, "ikm", &ikm, 0, 1, 512, &ikm_b, &ikm_l)) != 0 ||
        (rc = vsafe_cli_input_read(cli, "salt", &salt, 0, 0, 512, &salt_b, &salt_l)) != 0 ||
        (rc = vsafe_cli_input_read(cli, "info", &info, 0, 0, 512, &info_b, &info_l)) != 0) {
        goto done;
    }
    vsafe_host_derive_t d = {.ikm_from_slot = ikm_slot_s != NULL, .ikm_slot = ikm_slot, .ikm = ikm_b, .ikm_len = ikm_l,
                             .extract = !expand_only, .expand = !extract_only, .salt_from_slot = salt_slot_s != NULL,
                             .salt_slot = salt_slot, .salt = salt_b, .salt_len = salt_l, .info = info_b,
                             .info_len = info_l, .out = outs, .out_count = n_out};
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        goto done;
    }
    uint8_t keys[DERIVE_KEYS_MAX], prk_slot = 0xFF, slots[DERIVE_OUT_MAX];
    size_t keys_len = 0;
    memset(slots, 0xFF, sizeof slots);
    rc = vsafe_host_derive(cli->host, prot, &d, &prk_slot, keys, sizeof keys, &keys_len, slots);
    if (rc != 0) {
        rc = vsafe_cli_fail(cli, rc, "derive keys (HKDF-SHA256)");
        goto done;
    }
    if (out != NULL && (rc = vsafe_cli_write_file(cli, "--out", out, keys, keys_len, 1)) != 0) {
        vsafe_wipe(keys, sizeof keys);
        goto done;
    }
    json_t *jkeys = json_array(), *jslots = json_array();
    size_t at = 0;
    for (size_t i = 0; i < n_out; i++) {
        if (outs[i].dest == VSAFE_HOST_DERIVE_TO_HOST) {
            char *hex = vsafe_cli_hex(keys + at, outs[i].key_len);
            at += outs[i].key_len;
            if (out == NULL) {
                if (cli->json) {
                    json_array_append_new(jkeys, json_string(hex));
                } else {
                    printf("key %zu  %s\n", i, hex);
                }
            }
            vsafe_wipe(hex, strlen(hex));
            free(hex);
        } else {
            json_array_append_new(jslots, json_integer(slots[i]));
            if (!cli->json) {
                printf("key %zu  in symmetric key slot %u\n", i, slots[i]);
            }
        }
    }
    vsafe_wipe(keys, sizeof keys);
    if (cli->json) {
        json_t *o = json_pack("{s:o, s:o, s:s?}", "keys", jkeys, "slots", jslots, "out", out);
        json_object_set_new(o, "prk_slot", extract_only ? json_integer(prk_slot) : json_null());
        rc = vsafe_cli_json_out(cli, json_pack("{s:o}", "derive", o));
    } else {
        json_decref(jkeys);
        json_decref(jslots);
        if (extract_only) {
            printf("PRK in symmetric key slot %u\n", prk_slot);
        } else if (out != NULL && !vsafe_cli_out_is_stdout(out)) {
            printf("%zu key bytes written to %s\n", keys_len, out);
        }
    }
done:
    if (ikm_b != NULL) {
        vsafe_wipe(ikm_b, ikm_l);
    }
    free(ikm_b);
    free(salt_b);
    free(info_b);
    return rc;
}
