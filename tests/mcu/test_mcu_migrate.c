/* MCU image version 1 -> 2 (the ADAC formats need an exchange context the version-1 layout has no
 * room for). A version-1 image is built from its documented layout: the version-2 fields below
 * 0x2D00 are the version-1 fields, the version word says 1, the length is 0x2D00. Checks: it opens,
 * keeps every persistent byte (state, TrustZone, OBK, regions, secrets, attempts), drops the
 * volatile debug grants, and says version 2; a power cut at every NVM operation of the migration
 * leaves either the version-1 image (which the next open migrates) or the version-2 one; a
 * version this code does not know is refused, never guessed at. */
#include "mcu_test_util.h"

#include "hooks.h"
#include "vsafe/sim.h"

static vsafe_openssl_crypto_t *oc;

static vsafe_sim_nvm_t *new_sim(void)
{
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 4096, .erased = 0xFF};
    /* sized as a version-1 MCU file was (image 0x2D00 + 16 KiB journal per half): the grown image
     * must fit the NVM the old version created */
    geo.page_count = vsafe_store_nvm_bytes(MCU_IMAGE_LEN_V1, 16384, 4096) / 4096u;
    vsafe_sim_nvm_t *sim = NULL;
    CHECK(vsafe_sim_nvm_new(&sim, &geo, 9));
    return sim;
}

static int boot(vsafe_sim_nvm_t *sim, struct vsafe_mcu *m)
{
    memset(m, 0, sizeof *m);
    return vsafe_mcu_core_start(m, vsafe_sim_nvm_port(sim), vsafe_openssl_crypto_port(oc), 0, 1);
}

/* A version-1 NVM holding a CLOSED board (TrustZone on, DA provisioned, markers) with a debug
 * grant in force; v1_image receives the version-1 image as written. */
static vsafe_sim_nvm_t *v1_board(uint8_t v1_image[MCU_IMAGE_LEN_V1])
{
    creds_init();
    vsafe_mcu_t *src = mcu_in_state(VSAFE_MCU_STATE_CLOSED, true, 61);
    memcpy(v1_image, src->image, MCU_IMAGE_LEN_V1);
    vsafe_mcu_close(src);
    v1_image[MCU_OFF_VERSION + 1] = 1;
    v1_image[MCU_OFF_GRANT] = 0x10; /* a version-1 debug grant (old bit meaning) */
    vsafe_sim_nvm_t *sim = new_sim();
    vsafe_store_t st;
    uint8_t img[MCU_IMAGE_LEN];
    memcpy(img, v1_image, MCU_IMAGE_LEN_V1);
    CHECK(vsafe_store_format(&st, vsafe_sim_nvm_port(sim), img, MCU_IMAGE_LEN_V1, VSAFE_STORE_TAG_MCU));
    return sim;
}

static void check_migrated(const struct vsafe_mcu *m, const uint8_t v1[MCU_IMAGE_LEN_V1])
{
    assert_int_equal(m->image[MCU_OFF_VERSION + 1], 2);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_CLOSED);
    assert_true(mcu_tz_on(m));
    assert_true(mcu_da_config_valid(m));
    /* every persistent byte kept: header, secrets, counters, records, OBK and regions */
    assert_memory_equal(m->image, v1, MCU_OFF_VERSION);
    assert_memory_equal(m->image + MCU_OFF_SOC_CLASS, v1 + MCU_OFF_SOC_CLASS, MCU_OFF_HDPL - MCU_OFF_SOC_CLASS);
    assert_memory_equal(m->image + MCU_OFF_OBK, v1 + MCU_OFF_OBK, MCU_IMAGE_LEN_V1 - MCU_OFF_OBK);
    /* the old grant is gone (reset), the new area blank */
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(m->image[MCU_OFF_GRANT + i], 0);
    }
    /* the new area is blank but for the SFI provisioning key version 1 did not have */
    for (uint32_t i = MCU_IMAGE_LEN_V1; i < MCU_IMAGE_LEN; i++) {
        if (i < MCU_OFF_SFI_PRIV || i >= MCU_OFF_SFI_PUB + 64u) {
            assert_int_equal(m->image[i], 0);
        }
    }
    uint8_t pub[64], zero[64] = {0};
    CHECK(vsafe_mcu_sfi_pubkey(m, pub));
    assert_memory_not_equal(pub, zero, 64);
}

static void test_v1_image_opens_migrated(void **state)
{
    (void)state;
    uint8_t v1[MCU_IMAGE_LEN_V1];
    vsafe_sim_nvm_t *sim = v1_board(v1);
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    CHECK(boot(sim, m));
    check_migrated(m, v1);
    /* and it works as a version-2 board: ADAC authentication with the test chain */
    CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_PARTIAL));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_TZ_CLOSED);
    /* reopening finds version 2 directly */
    CHECK(boot(sim, m));
    assert_int_equal(m->image[MCU_OFF_VERSION + 1], 2);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_TZ_CLOSED);
    free(m);
    vsafe_sim_nvm_free(sim);
}

static void test_v1_migration_power_cut_everywhere(void **state)
{
    (void)state;
    static const vsafe_sim_cut_model_t models[] = {VSAFE_SIM_CUT_DROPPED, VSAFE_SIM_CUT_TORN_UNIT,
                                                   VSAFE_SIM_CUT_TORN_PAGE};
    uint8_t v1[MCU_IMAGE_LEN_V1];
    vsafe_sim_nvm_t *sim = v1_board(v1);
    size_t len;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &len);
    uint8_t *snap = malloc(len);
    memcpy(snap, mem, len);
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    unsigned cuts = 0, saw_v1 = 0;
    for (size_t mi = 0; mi < 3; mi++) {
        for (uint64_t n = 1;; n++) {
            memcpy(vsafe_sim_nvm_mem(sim, &len), snap, len);
            vsafe_sim_nvm_power_on(sim);
            vsafe_sim_nvm_reseed(sim, n * 31u + mi);
            CHECK(vsafe_sim_nvm_arm_cut(sim, n, models[mi]));
            int rc = boot(sim, m);
            bool cut = vsafe_sim_nvm_cut_happened(sim);
            vsafe_sim_nvm_disarm(sim);
            vsafe_sim_nvm_power_on(sim);
            if (!cut) {
                CHECK(rc);
                check_migrated(m, v1);
                break;
            }
            cuts++;
            /* what the NVM holds now is the version-1 image or the version-2 one, nothing else */
            uint32_t stored = 0, tag = 0;
            CHECK(vsafe_store_probe(vsafe_sim_nvm_port(sim), &stored, &tag));
            assert_true(stored == MCU_IMAGE_LEN_V1 || stored == MCU_IMAGE_LEN);
            saw_v1 += stored == MCU_IMAGE_LEN_V1;
            CHECK(boot(sim, m)); /* the next power-on migrates (again) or finds version 2 */
            check_migrated(m, v1);
        }
    }
    printf("migration: %u power cuts, %u left the version-1 image\n", cuts, saw_v1);
    assert_true(cuts > 0 && saw_v1 > 0);
    free(snap);
    free(m);
    vsafe_sim_nvm_free(sim);
}

static void test_unknown_version_refused(void **state)
{
    (void)state;
    uint8_t v1[MCU_IMAGE_LEN_V1];
    vsafe_sim_nvm_t *sim = v1_board(v1);
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    CHECK(boot(sim, m));
    /* a future layout: version 3 at the same length */
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_VERSION + 1u, 3);
    CHECK(vsafe_store_commit(&m->store, &m->txn));
    assert_int_equal(boot(sim, m), VSAFE_ERR_STORE_MISMATCH);
    /* a version-1 word in a version-2-length image is not a version-1 image either */
    vsafe_sim_nvm_free(sim);
    sim = v1_board(v1);
    CHECK(boot(sim, m));
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_VERSION + 1u, 1);
    CHECK(vsafe_store_commit(&m->store, &m->txn));
    assert_int_equal(boot(sim, m), VSAFE_ERR_STORE_MISMATCH);
    free(m);
    vsafe_sim_nvm_free(sim);
}

int main(void)
{
    CHECK(vsafe_openssl_crypto_new(&oc, 61));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_image_opens_migrated),
        cmocka_unit_test(test_v1_migration_power_cut_everywhere),
        cmocka_unit_test(test_unknown_version_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vsafe_openssl_crypto_free(oc);
    vsafe_da_key_free(creds.root);
    vsafe_da_key_free(creds.inter);
    vsafe_da_key_free(creds.leaf);
    vsafe_da_key_free(creds.other);
    return rc;
}
