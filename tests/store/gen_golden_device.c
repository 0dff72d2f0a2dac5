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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/se_v1_spl05.nvm", argv[1]);
    gen_se(path);
    printf("wrote %s\n", path);
    snprintf(path, sizeof path, "%s/mcu_v1_closed.nvm", argv[1]);
    gen_mcu(path);
    printf("wrote %s\n", path);
    return 0;
}
