/* regress_bitflip_rollback_mcu (issue 8, finding 1): one flipped bit of a CLOSED MCU's state file
 * must never turn it back into OPEN or give back spent debug-authentication attempts. A
 * file-backed MCU is taken OPEN -> PROVISIONING (DA password, OBK and flash contents written) ->
 * CLOSED, then spends DA attempts on a wrong password; the test records what each call returned.
 * Bits of the used part of the state file are then flipped in turn and the store mounted: each
 * flip must be corrected, refused, or discarded as a torn tail, and every mount that succeeds must
 * give exactly the recorded state.
 *
 * Which bits: since image version 3 (157 KiB, 144 KiB of it flash) a mount costs some 13 times
 * what it did, and every bit would take over ten minutes. So every 7th bit of the used part
 * (7 is prime to 8: every bit position of a byte, and some 30 bits of every record header and
 * commit unit, are visited), except in the memory block of each half's snapshot (image offsets
 * 0x3000 on, almost all erased flash, where any flipped bit meets the same body-CRC check as a bit
 * of the fields before it): there every 257th. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bitflip_util.h"
#include "vsafe/mcu.h"

#define WRONG_TRIES 5u
#define GOOD_PW "s3cret-pw"

typedef struct {
    vsafe_mcu_state_t state;
    uint32_t attempts;
    uint8_t obk2[64];
    uint8_t flash_ns[32];
    uint8_t obk3[1000];
} model_t;

/* 0: the MCU on nvm shows exactly want; 1: an older state (not CLOSED, or fewer attempts spent);
 * 2: another difference; < 0: it does not open. */
static int compare_mcu(vsafe_nvm_t *nvm, const model_t *want)
{
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.nvm = nvm, .rng_seed = 3, .power_on_reset = 0};
    int rc = vsafe_mcu_open(&m, &o);
    if (rc != 0) {
        return rc;
    }
    vsafe_mcu_info_t info;
    model_t got;
    memset(&got, 0, sizeof got);
    rc = vsafe_mcu_info(m, &info);
    if (rc == 0 && (info.state != want->state || info.da_attempts < want->attempts)) {
        vsafe_mcu_close(m);
        return 1;
    }
    if (rc == 0) {
        got.state = info.state;
        got.attempts = info.da_attempts;
        rc = vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, got.obk2, sizeof got.obk2);
    }
    if (rc == 0) {
        rc = vsafe_mcu_mem_read(m, VSAFE_MCU_FLASH_NS, 0, got.flash_ns, sizeof got.flash_ns);
    }
    if (rc == 0) {
        rc = vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, got.obk3, sizeof got.obk3);
    }
    vsafe_mcu_close(m);
    if (rc != 0) {
        return 2;
    }
    return memcmp(&got, want, sizeof got) == 0 ? 0 : 2;
}

/* The snapshot opens each half: header (28 bytes), then the image, whose memory block begins at
 * 0x3000 (MCU image version 3). */
static unsigned mcu_stride(uint32_t off)
{
    return off >= 28u + 0x3000u && off < 28u + 0x27400u ? 257u : 7u;
}

static const model_t *older_model;
static bool older_mcu(vsafe_sim_nvm_t *sim, void *ctx)
{
    (void)ctx;
    return compare_mcu(vsafe_sim_nvm_port(sim), older_model) == 1;
}

static void step(vsafe_mcu_t *m, vsafe_mcu_state_t to)
{
    assert_int_equal(vsafe_mcu_program_state(m, to), VSAFE_OK);
    assert_int_equal(vsafe_mcu_reset(m), VSAFE_OK);
}

static void regress_bitflip_rollback_mcu(void **state)
{
    (void)state;
    char dir[] = "/tmp/vsafe-bitflip-mcu-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/mcu.nvm", dir);

    model_t want;
    memset(&want, 0, sizeof want);
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.state_path = path, .rng_seed = 3, .power_on_reset = 1};
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_OK);
    for (unsigned i = 0; i < sizeof want.flash_ns; i++) {
        want.flash_ns[i] = (uint8_t)(0xA0u + i);
    }
    assert_int_equal(vsafe_mcu_mem_write(m, VSAFE_MCU_FLASH_NS, 0, want.flash_ns, sizeof want.flash_ns), VSAFE_OK);
    step(m, VSAFE_MCU_STATE_PROVISIONING);
    uint8_t cfg[VSAFE_DA_CONFIG_LEN];
    assert_int_equal(vsafe_da_config_password(GOOD_PW, cfg), VSAFE_OK);
    assert_int_equal(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg), VSAFE_OK);
    for (unsigned i = 0; i < sizeof want.obk2; i++) {
        want.obk2[i] = (uint8_t)(i * 5u + 1u);
    }
    assert_int_equal(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, want.obk2, sizeof want.obk2),
                     VSAFE_OK);
    /* enough 1000-byte OBK writes that the store compacts: the other half then holds a
     * superseded snapshot and journal, whose flips must not matter either */
    for (unsigned k = 0; k < 24u; k++) {
        for (unsigned i = 0; i < sizeof want.obk3; i++) {
            want.obk3[i] = (uint8_t)(i ^ (k * 37u));
        }
        assert_int_equal(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, want.obk3,
                                             sizeof want.obk3),
                         VSAFE_OK);
    }
    step(m, VSAFE_MCU_STATE_CLOSED);
    want.state = VSAFE_MCU_STATE_CLOSED;
    for (unsigned i = 0; i < WRONG_TRIES; i++) {
        assert_int_equal(vsafe_da_authenticate_password(m, "wrong-password"), VSAFE_ERR_DA_BAD_PASSWORD);
        want.attempts++; /* each refusal spends one attempt */
    }
    vsafe_mcu_close(m);

    vsafe_nvm_geometry_t g = bf_file_geo();
    vsafe_sim_nvm_t *sim = NULL;
    assert_int_equal(vsafe_sim_nvm_from_file(&sim, path, &g, 0), VSAFE_OK);
    unlink(path);
    rmdir(dir);

    assert_int_equal(compare_mcu(vsafe_sim_nvm_port(sim), &want), 0);
    uint32_t len = 0, tag = 0;
    assert_int_equal(vsafe_store_probe(vsafe_sim_nvm_port(sim), &len, &tag), VSAFE_OK);
    assert_int_equal(tag, VSAFE_STORE_TAG_MCU);
    uint8_t *clean = malloc(len);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_mount(&st, vsafe_sim_nvm_port(sim), clean, len, tag), VSAFE_OK);
    vsafe_store_report_t rep;
    assert_int_equal(vsafe_store_inspect(vsafe_sim_nvm_port(sim), &rep), VSAFE_OK);
    assert_true(rep.other_half_valid); /* it compacted: both halves are used */
    printf("MCU history: CLOSED, %u attempts spent, newest record seq %u (snapshot %u, other half %u), image %u bytes\n",
           want.attempts, st.seq, rep.snapshot_seq, rep.other_half_seq, len);

    bf_counts_t c;
    older_model = &want;
    bf_stride = mcu_stride;
    bf_run(sim, clean, len, tag, older_mcu, NULL, &c);
    bf_print("regress_bitflip_rollback_mcu", &c);
    assert_int_equal(c.wrong, 0);
    assert_int_equal(c.tried, c.unaffected + c.corrected + c.torn + c.refused);
    free(clean);
    vsafe_sim_nvm_free(sim);
}

int main(int argc, char **argv)
{
    bf_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regress_bitflip_rollback_mcu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
