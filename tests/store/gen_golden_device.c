/* Generates the golden device images in tests/store/golden/ (run once by hand; the outputs are
 * committed and never regenerated): a secure element state file (layout "VSE1") and an MCU state
 * file (layout "VMC1"), each written by the file backend after a fixed workload. test_golden_device.c
 * checks the values this workload leaves, written down there by hand.
 * Usage: store_gen_golden_device <output directory> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsafe/host.h"
#include "vsafe/mcu.h"
#include "vsafe/se.h"
#include "vsafe/se_wire.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != 0) {                                                                            \
            fprintf(stderr, "%s: %d\n", #x, rc_);                                                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void gen_se(const char *path)
{
    vsafe_se_t *se;
    vsafe_host_t *h;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = path};
    const vsafe_host_prot_t p = VSAFE_HOST_PROT_NONE;
    unlink(path);
    CHECK(vsafe_se_open(&se, &o));
    CHECK(vsafe_host_open_se(&h, se));
    CHECK(vsafe_host_update_zone(h, p, 1, 0, (const uint8_t *)"vsafe golden SE v1", 18, 1));
    uint8_t ramp[32];
    for (int i = 0; i < 32; i++) {
        ramp[i] = (uint8_t)i;
    }
    CHECK(vsafe_host_update_zone(h, p, 2, 100, ramp, sizeof ramp, 0));
    static const uint8_t d2[2] = {0x01, 0x02};
    for (int i = 0; i < 7; i++) {
        CHECK(vsafe_host_decrement(h, p, 5, 1, 0, d2, sizeof d2, NULL));
    }
    static const uint8_t d8[8] = {0xDE, 0xAD, 0xBE, 0xEF, 0xCA, 0xFE, 0xF0, 0x0D};
    CHECK(vsafe_host_decrement(h, p, 6, 1000, 8, d8, sizeof d8, NULL));
    CHECK(vsafe_host_change_read_ac(h, p, 3, VSAFE_SE_AC_HOST, 0));
    vsafe_host_close(h);
    vsafe_se_close(se);
}

static void gen_mcu(const char *path)
{
    vsafe_mcu_t *m;
    vsafe_mcu_options_t o = {.state_path = path, .rng_seed = 1, .power_on_reset = 1};
    unlink(path);
    CHECK(vsafe_mcu_open(&m, &o));
    CHECK(vsafe_mcu_mem_write(m, VSAFE_MCU_FLASH_NS, 0, (const uint8_t *)"golden-mcu-flash", 16));
    CHECK(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING));
    CHECK(vsafe_mcu_reset(m));
    uint8_t cfg[VSAFE_DA_CONFIG_LEN];
    CHECK(vsafe_da_config_password("golden-pw", cfg));
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg));
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, (const uint8_t *)"golden-mcu-obk-2", 16));
    CHECK(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_CLOSED));
    CHECK(vsafe_mcu_reset(m));
    for (int i = 0; i < 3; i++) {
        if (vsafe_da_authenticate_password(m, "not-the-pw") != VSAFE_ERR_DA_BAD_PASSWORD) {
            fprintf(stderr, "expected a refused password\n");
            exit(1);
        }
    }
    vsafe_mcu_close(m);
}

/* MCU image version 2 (written by the code of version 2, 0x3000 bytes): TrustZone on, PROVISIONING,
 * one SFI image per region from three owner keys (saved beside it, so that the test can update a
 * region as its owner), OBK HDPL2 and SRAM S markers, then iROT_PROVISIONED. Payload of region r:
 * byte i = (i * 7 + r) & 0xFF, lengths 300 / 512 / 1000, versions 5 / 6 / 7. */
static void gen_mcu_v2(const char *dir)
{
    char path[4096];
    vsafe_mcu_t *m;
    snprintf(path, sizeof path, "%s/mcu_v2_sfi.nvm", dir);
    vsafe_mcu_options_t o = {.state_path = path, .rng_seed = 2, .power_on_reset = 1};
    unlink(path);
    CHECK(vsafe_mcu_open(&m, &o));
    CHECK(vsafe_mcu_set_trustzone(m, true));
    CHECK(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING));
    CHECK(vsafe_mcu_reset(m));
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, (const uint8_t *)"golden-mcu-v2-o2", 16));
    CHECK(vsafe_mcu_mem_write(m, VSAFE_MCU_SRAM_S, 0, (const uint8_t *)"golden-mcu-sramS", 16));
    uint8_t pub[64];
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_sfi_pubkey(m, pub));
    CHECK(vsafe_mcu_info(m, &info));
    static const size_t lens[4] = {0, 300, 512, 1000};
    for (unsigned r = 1; r <= 3; r++) {
        vsafe_da_key_t *k;
        CHECK(vsafe_da_key_generate(&k));
        snprintf(path, sizeof path, "%s/mcu_v2_sfi_owner%u.pem", dir, r);
        unlink(path);
        CHECK(vsafe_da_key_save(k, path));
        uint8_t payload[1000], img[1000 + VSAFE_SFI_HEADER_LEN + 80];
        for (size_t i = 0; i < lens[r]; i++) {
            payload[i] = (uint8_t)((i * 7u + r) & 0xFFu);
        }
        size_t n = 0;
        vsafe_sfi_pack_t p = {.region = r, .version = 4u + r, .owner = k, .device_pub = pub,
                              .device_soc_id = info.soc_id, .payload = payload, .payload_len = lens[r]};
        CHECK(vsafe_sfi_pack(&p, img, sizeof img, &n));
        CHECK(vsafe_mcu_sfi_install(m, img, n));
        vsafe_da_key_free(k);
    }
    CHECK(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_IROT_PROVISIONED));
    CHECK(vsafe_mcu_reset(m));
    vsafe_mcu_close(m);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s <output directory> [v2]\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/se_v1_spl05.nvm", argv[1]);
    gen_se(path);
    printf("wrote %s\n", path);
    snprintf(path, sizeof path, "%s/mcu_v1_closed.nvm", argv[1]);
    gen_mcu(path);
    printf("wrote %s\n", path);
    if (argc == 3 && strcmp(argv[2], "v2") == 0) { /* added with image version 3; run once */
        gen_mcu_v2(argv[1]);
        printf("wrote %s/mcu_v2_sfi.nvm\n", argv[1]);
    }
    return 0;
}
