/* `vsafe sfi ...`: secure firmware install of the board's MCU (docs/LIFECYCLE.md).
 *   sfi pubkey                 the device's provisioning public key and SoC ID (what a packer needs)
 *   sfi pack ...               OEM / party side: encrypt, license and sign an image for one device
 *   sfi install FILE           device side: install an image into its region
 *   sfi show                   each region's owner and installed version */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_io.h"
#include "cmd_mcu.h"

/* Region numbers (VSAFE_MCU_SFI_*) by the names --region and the JSON use. */
static const char *const region_names[4] = {"", "irot", "s", "ns"};

static int parse_region(vsafe_cli_t *cli, const char *s, unsigned *region)
{
    for (unsigned r = 1; r <= 3; r++) {
        if (s != NULL && strcmp(s, region_names[r]) == 0) {
            *region = r;
            return 0;
        }
    }
    return vsafe_cli_usage_error(cli, "--region must be irot, s (secure) or ns (non-secure)");
}

static int sub_pubkey(vsafe_cli_t *cli, int argc, char **argv)
{
    vsafe_mcu_t *m = NULL;
    int rc = vsafe_cli_open_mcu_args(cli, argc, argv, 0, NULL, 1, &m);
    if (rc != 0) {
        return rc < 0 ? VSAFE_CLI_EXIT_OK : rc;
    }
    uint8_t pub[64];
    vsafe_mcu_info_t info;
    int s = vsafe_mcu_sfi_pubkey(m, pub);
    if (s == VSAFE_OK) {
        s = vsafe_mcu_info(m, &info);
    }
    vsafe_mcu_close(m);
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "sfi pubkey");
    }
    char *ph = vsafe_cli_hex(pub, 64), *ih = vsafe_cli_hex(info.soc_id, 16);
    if (cli->json) {
        json_t *o = json_pack("{s:{s:s, s:s}}", "sfi_pubkey", "provisioning_key", ph, "soc_id", ih);
        free(ph);
        free(ih);
        return vsafe_cli_json_out(cli, o);
    }
    printf("provisioning key  %s\nsoc id            %s\n", ph, ih);
    free(ph);
    free(ih);
    return 0;
}

static int sub_pack(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *region_s = NULL, *ver_s = NULL, *key_s = NULL, *in_s = NULL, *out_s = NULL, *dev_s = NULL,
               *soc_s = NULL;
    int done = 0;
    vsafe_cli_opt_t opts[] = {
        {"region", 1, &region_s, NULL, "irot|s|ns", "the region the image is for"},
        {"version", 1, &ver_s, NULL, "N", "image version (each install must be above the installed one)"},
        {"key", 1, &key_s, NULL, "FILE", "the region owner's private key (PEM, P-256) that signs the image"},
        {"in", 1, &in_s, NULL, "FILE", "the plaintext image"},
        {"out", 1, &out_s, NULL, "FILE", "where the packed image goes"},
        {"device-key", 1, &dev_s, NULL, "HEX", "the device's provisioning public key (default: read from this device)"},
        {"soc-id", 1, &soc_s, NULL, "HEX", "the device's SoC ID (with --device-key)"},
        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    unsigned region = 0;
    uint32_t version = 0;
    if (parse_region(cli, region_s, &region) != 0 ||
        (ver_s == NULL ? vsafe_cli_usage_error(cli, "--version N is required")
                       : vsafe_cli_parse_u32(cli, "--version", ver_s, 1, 0xFFFFFFFFu, &version)) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (key_s == NULL || in_s == NULL || out_s == NULL || (dev_s == NULL) != (soc_s == NULL)) {
        return vsafe_cli_usage_error(cli, "sfi pack needs --key, --in and --out (and --device-key with --soc-id)");
    }
    uint8_t pub[64], soc[16];
    if (dev_s != NULL) {
        uint8_t *b = NULL, *c = NULL;
        size_t bl = 0, cl = 0;
        if (vsafe_cli_parse_hex(cli, "--device-key", dev_s, &b, &bl) != 0 ||
            vsafe_cli_parse_hex(cli, "--soc-id", soc_s, &c, &cl) != 0 || bl != 64u || cl != 16u) {
            free(b);
            free(c);
            return vsafe_cli_usage_error(cli, "--device-key takes 64 bytes of hex (X||Y), --soc-id 16");
        }
        memcpy(pub, b, 64);
        memcpy(soc, c, 16);
        free(b);
        free(c);
    } else {
        vsafe_mcu_t *m;
        vsafe_mcu_info_t info;
        if ((rc = vsafe_cli_open_mcu(cli, &m, 1)) != 0) {
            return rc;
        }
        int s = vsafe_mcu_sfi_pubkey(m, pub);
        if (s == VSAFE_OK) {
            s = vsafe_mcu_info(m, &info);
        }
        vsafe_mcu_close(m);
        if (s != VSAFE_OK) {
            return vsafe_cli_fail(cli, s, "sfi pack: reading the device's provisioning key");
        }
        memcpy(soc, info.soc_id, 16);
    }
    uint8_t *payload = NULL;
    size_t plen = 0;
    if ((rc = vsafe_cli_read_file(cli, "--in", in_s, vsafe_mcu_sfi_region_size(region), &payload, &plen)) != 0) {
        return rc;
    }
    vsafe_da_key_t *owner = NULL;
    int s = vsafe_da_key_load(&owner, key_s);
    uint8_t *out = malloc(VSAFE_SFI_IMAGE_MAX);
    size_t olen = 0;
    if (s == VSAFE_OK && out == NULL) {
        s = VSAFE_ERR_NO_MEMORY;
    }
    if (s == VSAFE_OK) {
        vsafe_sfi_pack_t p = {.region = region, .version = version, .owner = owner, .device_pub = pub,
                              .device_soc_id = soc, .payload = payload, .payload_len = plen};
        s = vsafe_sfi_pack(&p, out, VSAFE_SFI_IMAGE_MAX, &olen);
    }
    vsafe_da_key_free(owner);
    free(payload);
    if (s != VSAFE_OK) {
        free(out);
        return vsafe_cli_fail(cli, s, "sfi pack");
    }
    rc = vsafe_cli_write_file(cli, "--out", out_s, out, olen, 0);
    free(out);
    if (rc != 0) {
        return rc;
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:i, s:i, s:s}}", "sfi_pack", "region", region_s, "version",
                                                 (int)version, "bytes", (int)olen, "out", out_s));
    }
    printf("%zu-byte image for region %s, version %u, packed for this device into %s\n", plen, region_s, version,
           out_s);
    return 0;
}

static int sub_install(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *pos[1];
    size_t npos = 0;
    int done = 0;
    vsafe_cli_opt_t none[] = {VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, none, pos, 1, 1, &npos, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t *img = NULL;
    size_t len = 0;
    if ((rc = vsafe_cli_read_file(cli, "IMAGE", pos[0], VSAFE_SFI_IMAGE_MAX, &img, &len)) != 0) {
        return rc;
    }
    vsafe_mcu_t *m;
    if ((rc = vsafe_cli_open_mcu(cli, &m, 0)) != 0) {
        free(img);
        return rc;
    }
    int s = vsafe_mcu_sfi_install(m, img, len);
    unsigned region = len > 5u ? img[5] : 0u;
    uint8_t owner[32];
    uint32_t ver = 0;
    if (s == VSAFE_OK) {
        s = vsafe_mcu_sfi_region_info(m, region, owner, &ver);
    }
    vsafe_mcu_close(m);
    free(img);
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "sfi install %s", pos[0]);
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:i}}", "sfi_install", "region", region_names[region], "version",
                                                 (int)ver));
    }
    printf("installed into region %u (version %u)\n", region, ver);
    return 0;
}

static int sub_show(vsafe_cli_t *cli, int argc, char **argv)
{
    vsafe_mcu_t *m = NULL;
    int rc = vsafe_cli_open_mcu_args(cli, argc, argv, 0, NULL, 1, &m);
    if (rc != 0) {
        return rc < 0 ? VSAFE_CLI_EXIT_OK : rc;
    }
    json_t *arr = json_array();
    for (unsigned r = 1; r <= 3; r++) {
        uint8_t owner[32], zero[32] = {0};
        uint32_t ver = 0;
        if (vsafe_mcu_sfi_region_info(m, r, owner, &ver) != VSAFE_OK) {
            continue;
        }
        char *oh = vsafe_cli_hex(owner, 32);
        bool is_free = memcmp(owner, zero, 32) == 0;
        json_array_append_new(arr, json_pack("{s:s, s:i, s:s?, s:i}", "region", region_names[r], "size",
                                             (int)vsafe_mcu_sfi_region_size(r), "owner", is_free ? NULL : oh,
                                             "version", (int)ver));
        if (!cli->json) {
            printf("%-5s %4u bytes  %s  version %u\n", region_names[r], vsafe_mcu_sfi_region_size(r),
                   is_free ? "free" : oh, ver);
        }
        free(oh);
    }
    vsafe_mcu_close(m);
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:o}}", "sfi_show", "regions", arr));
    }
    json_decref(arr);
    return 0;
}

int vsafe_cmd_sfi(vsafe_cli_t *cli, int argc, char **argv)
{
    static const vsafe_cli_sub_t subs[] = {
        {"pubkey", sub_pubkey, "sfi pubkey", "the device's SFI provisioning public key and SoC ID\n"},
        {"pack", sub_pack, "sfi pack --region irot|s|ns --version N --key OWNER.pem --in FILE --out FILE "
                           "[--device-key HEX --soc-id HEX]",
         "encrypt, license (to one device) and sign an image for one region\n"},
        {"install", sub_install, "sfi install IMAGE", "install a packed image into its region\n"},
        {"show", sub_show, "sfi show", "each region's owner and installed version\n"},
    };
    cli->cut_mcu = 1;
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0], cli->summary, NULL);
}
