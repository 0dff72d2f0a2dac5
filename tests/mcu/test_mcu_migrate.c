/* MCU image versions 1 and 2 -> 3 (version 3 gives the flash room for real firmware images: the
 * memory block moves from 0x2100 to 0x3000 and grows). The old images are built here from their
 * documented layout (docs/LIFECYCLE.md), not by the code under test: the fields below 0x2100 are
 * those of today, the memory block at 0x2100 holds flash S (1024), flash NS (1024), SRAM S (512),
 * SRAM NS (512) filled with known patterns, version 2 adds 0x2D00..0x2FFF (ADAC key, SFI key and
 * region records). Checks: every persistent byte is kept, each memory's bytes land where version 3
 * puts them (flash S 512..1023, the version-2 secure region, at the new secure region's start,
 * 16 KiB), the rest of the flash reads erased, the old block reads zero; in place when the NVM
 * holds the new image, into a fresh NVM when it does not (the old one is then never written);
 * a power cut at every NVM operation of either leaves the old image, which the next open
 * migrates, or the new one; a version this code does not know is refused, never guessed at. */
#include "mcu_test_util.h"

#include "hooks.h"
#include "vsafe/sim.h"

static vsafe_openssl_crypto_t *oc;

/* An NVM sized as a file of image_len bytes was (16 KiB journal per half). */
static vsafe_sim_nvm_t *new_sim(uint32_t image_len, uint64_t seed)
{
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 4096, .erased = 0xFF};
    geo.page_count = vsafe_store_nvm_bytes(image_len, 16384, 4096) / 4096u;
    vsafe_sim_nvm_t *sim = NULL;
    CHECK(vsafe_sim_nvm_new(&sim, &geo, seed));
    return sim;
}

static int boot_grow(vsafe_sim_nvm_t *sim, vsafe_sim_nvm_t *grow, struct vsafe_mcu *m, bool *moved)
{
    memset(m, 0, sizeof *m);
    return vsafe_mcu_core_start_grow(m, vsafe_sim_nvm_port(sim), grow != NULL ? vsafe_sim_nvm_port(grow) : NULL,
                                     vsafe_openssl_crypto_port(oc), 0, 0, 0, moved);
}

static int boot(vsafe_sim_nvm_t *sim, struct vsafe_mcu *m) { return boot_grow(sim, NULL, m, NULL); }

static uint8_t pattern(uint32_t i, uint8_t seed) { return (uint8_t)(i * 13u + seed); }

/* An old image (version 1: 0x2D00 bytes, 2: 0x3000) of a CLOSED board with TrustZone on, DA
 * provisioned, OBK markers, a debug grant in force, the memory block filled with patterns and,
 * for version 2, SFI region records. */
static void old_image(unsigned version, uint8_t *img)
{
    creds_init();
    vsafe_mcu_t *src = mcu_in_state(VSAFE_MCU_STATE_CLOSED, true, 61);
    uint32_t len = version == 1u ? MCU_IMAGE_LEN_V1 : MCU_IMAGE_LEN_V2;
    memset(img, 0, len);
    memcpy(img, src->image, MCU_OFF_MEM_V2); /* header and OBK: the same offsets in every version */
    for (uint32_t i = 0; i < MCU_MEM_LEN_V2; i++) {
        img[MCU_OFF_MEM_V2 + i] = pattern(i, (uint8_t)(0x40u + i / 512u));
    }
    if (version == 2u) {
        memcpy(img + MCU_OFF_SFI_PRIV, src->image + MCU_OFF_SFI_PRIV, 32u + 64u);
        for (unsigned r = 0; r < 3u; r++) { /* owner hash and version of each region */
            memset(img + MCU_OFF_SFI_REGIONS + r * MCU_SFI_REC_LEN, 0x11 * (int)(r + 1u), 32);
            img[MCU_OFF_SFI_REGIONS + r * MCU_SFI_REC_LEN + 35] = (uint8_t)(5u + r);
        }
    }
    vsafe_mcu_close(src);
    img[MCU_OFF_VERSION + 1] = (uint8_t)version;
    img[MCU_OFF_GRANT] = 0x10; /* a debug grant in force (version 1: the old bit meaning) */
}

static void format_old(vsafe_sim_nvm_t *sim, unsigned version, const uint8_t *img)
{
    uint32_t len = version == 1u ? MCU_IMAGE_LEN_V1 : MCU_IMAGE_LEN_V2;
    uint8_t *buf = malloc(len);
    memcpy(buf, img, len);
    vsafe_store_t st;
    CHECK(vsafe_store_format(&st, vsafe_sim_nvm_port(sim), buf, len, VSAFE_STORE_TAG_MCU));
    free(buf);
}

static void check_bytes(const uint8_t *p, uint32_t n, uint8_t v)
{
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] != v) {
            fail_msg("byte %u is 0x%02x, not 0x%02x", i, p[i], v);
        }
    }
}

static void check_migrated(const struct vsafe_mcu *m, unsigned version, const uint8_t *old)
{
    const uint8_t *img = m->image, *mem = old + MCU_OFF_MEM_V2;
    assert_int_equal(img[MCU_OFF_VERSION + 1], 3);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_CLOSED);
    assert_true(mcu_tz_on(m));
    assert_true(mcu_da_config_valid(m));
    /* every persistent byte kept: header, secrets, counters, records, OBK */
    assert_memory_equal(img, old, MCU_OFF_VERSION);
    assert_memory_equal(img + MCU_OFF_SOC_CLASS, old + MCU_OFF_SOC_CLASS, MCU_OFF_HDPL - MCU_OFF_SOC_CLASS);
    assert_memory_equal(img + MCU_OFF_OBK, old + MCU_OFF_OBK, MCU_OFF_MEM_V2 - MCU_OFF_OBK);
    /* the memory block, where version 3 keeps it: offsets 0x3000, 0x17000, 0x27000, 0x27200 */
    const uint8_t *fs = img + 0x3000u, *fns = img + 0x17000u;
    assert_memory_equal(fs, mem, 512);
    check_bytes(fs + 512, 0x4000u - 512u, 0xFF);
    assert_memory_equal(fs + 0x4000u, mem + 512, 512);
    check_bytes(fs + 0x4000u + 512u, 0x10000u - 512u, 0xFF);
    assert_memory_equal(fns, mem + 1024, 1024);
    check_bytes(fns + 1024, 0x10000u - 1024u, 0xFF);
    assert_memory_equal(img + 0x27000u, mem + 2048, 512);
    assert_memory_equal(img + 0x27200u, mem + 2560, 512);
    assert_int_equal(MCU_IMAGE_LEN, 0x27400u);
    check_bytes(img + MCU_OFF_MEM_V2, MCU_MEM_LEN_V2, 0x00); /* the old block is reserved now */
    if (version == 1u) {
        /* the grant of the old bit meaning is gone, the area version 2 added blank but for the
         * SFI provisioning key version 1 did not have */
        check_bytes(img + MCU_OFF_GRANT, 16, 0x00);
        check_bytes(img + MCU_IMAGE_LEN_V1, MCU_OFF_SFI_PRIV - MCU_IMAGE_LEN_V1, 0x00);
        check_bytes(img + MCU_OFF_SFI_REGIONS, MCU_IMAGE_LEN_V2 - MCU_OFF_SFI_REGIONS, 0x00);
        uint8_t pub[64], zero[64] = {0};
        CHECK(vsafe_mcu_sfi_pubkey(m, pub));
        assert_memory_not_equal(pub, zero, 64);
    } else {
        /* version 2's grant means what it meant; its ADAC and SFI area is kept as it was */
        assert_int_equal(img[MCU_OFF_GRANT], 0x10);
        assert_memory_equal(img + MCU_IMAGE_LEN_V1, old + MCU_IMAGE_LEN_V1, MCU_IMAGE_LEN_V2 - MCU_IMAGE_LEN_V1);
        uint8_t owner[32];
        uint32_t ver = 0;
        CHECK(vsafe_mcu_sfi_region_info(m, VSAFE_MCU_SFI_NONSECURE, owner, &ver));
        assert_int_equal(ver, 7);
        check_bytes(owner, 32, 0x33);
    }
}

/* In place: an NVM that holds the version-3 image (a caller's NVM sized for it). */
static void migrates_in_place(unsigned version)
{
    uint8_t *old = malloc(MCU_IMAGE_LEN_V2);
    old_image(version, old);
    vsafe_sim_nvm_t *sim = new_sim(MCU_IMAGE_LEN, 9);
    format_old(sim, version, old);
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    CHECK(boot(sim, m));
    check_migrated(m, version, old);
    /* it works as a version-3 board: ADAC authentication with the test chain */
    CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_PARTIAL));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_TZ_CLOSED);
    /* reopening finds version 3 directly */
    CHECK(boot(sim, m));
    assert_int_equal(m->image[MCU_OFF_VERSION + 1], 3);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_TZ_CLOSED);
    free(m);
    free(old);
    vsafe_sim_nvm_free(sim);
}

static void test_v1_image_opens_migrated(void **state)
{
    (void)state;
    migrates_in_place(1);
}

static void test_v2_image_opens_migrated(void **state)
{
    (void)state;
    migrates_in_place(2);
}

/* An NVM sized as the old version made it cannot hold the new image: without a new NVM the open
 * is refused and nothing is written; with one, the migrated image goes there, the old NVM stays
 * byte for byte as it was, and the new one opens as version 3. */
static void test_old_sized_nvm_migrates_into_a_new_one(void **state)
{
    (void)state;
    for (unsigned version = 1; version <= 2u; version++) {
        uint8_t *old = malloc(MCU_IMAGE_LEN_V2);
        old_image(version, old);
        vsafe_sim_nvm_t *sim = new_sim(version == 1u ? MCU_IMAGE_LEN_V1 : MCU_IMAGE_LEN_V2, 10);
        format_old(sim, version, old);
        size_t len;
        uint8_t *before = malloc(vsafe_sim_nvm_mem(sim, &len) != NULL ? len : 0);
        memcpy(before, vsafe_sim_nvm_mem(sim, &len), len);
        struct vsafe_mcu *m = calloc(1, sizeof *m);
        bool moved = true;
        assert_int_equal(boot_grow(sim, NULL, m, &moved), VSAFE_ERR_STORE_FULL);
        assert_false(moved);
        assert_memory_equal(vsafe_sim_nvm_mem(sim, &len), before, len);
        vsafe_sim_nvm_t *grow = new_sim(MCU_IMAGE_LEN, 11);
        CHECK(boot_grow(sim, grow, m, &moved));
        assert_true(moved);
        check_migrated(m, version, old);
        assert_memory_equal(vsafe_sim_nvm_mem(sim, &len), before, len);
        CHECK(boot(grow, m));
        check_migrated(m, version, old);
        free(m);
        free(before);
        free(old);
        vsafe_sim_nvm_free(grow);
        vsafe_sim_nvm_free(sim);
    }
}

/* Cuts power at every NVM operation of a migration (in place, or into a new NVM), three cut
 * models: the old image or the new one, nothing else, and the next power-on migrates (again). */
static void cut_sweep(unsigned version, bool into_new)
{
    static const vsafe_sim_cut_model_t models[] = {VSAFE_SIM_CUT_DROPPED, VSAFE_SIM_CUT_TORN_UNIT,
                                                   VSAFE_SIM_CUT_TORN_PAGE};
    uint32_t old_len = version == 1u ? MCU_IMAGE_LEN_V1 : MCU_IMAGE_LEN_V2;
    uint8_t *old = malloc(MCU_IMAGE_LEN_V2);
    old_image(version, old);
    vsafe_sim_nvm_t *sim = new_sim(into_new ? old_len : MCU_IMAGE_LEN, 12);
    vsafe_sim_nvm_t *target = into_new ? new_sim(MCU_IMAGE_LEN, 13) : sim;
    format_old(sim, version, old);
    size_t len, tlen;
    uint8_t *snap = malloc(vsafe_sim_nvm_mem(sim, &len) != NULL ? len : 0);
    memcpy(snap, vsafe_sim_nvm_mem(sim, &len), len);
    uint8_t *blank = malloc(vsafe_sim_nvm_mem(target, &tlen) != NULL ? tlen : 0);
    memcpy(blank, vsafe_sim_nvm_mem(target, &tlen), tlen);
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    uint8_t *probe = malloc(MCU_IMAGE_LEN);
    unsigned cuts = 0, saw_old = 0;
    for (size_t mi = 0; mi < 3; mi++) {
        for (uint64_t n = 1;; n++) {
            memcpy(vsafe_sim_nvm_mem(sim, &len), snap, len);
            if (into_new) {
                memcpy(vsafe_sim_nvm_mem(target, &tlen), blank, tlen);
            }
            vsafe_sim_nvm_power_on(target);
            vsafe_sim_nvm_reseed(target, n * 31u + mi);
            CHECK(vsafe_sim_nvm_arm_cut(target, n, models[mi]));
            int rc = boot_grow(sim, into_new ? target : NULL, m, NULL);
            bool cut = vsafe_sim_nvm_cut_happened(target);
            vsafe_sim_nvm_disarm(target);
            vsafe_sim_nvm_power_on(target);
            if (!cut) {
                CHECK(rc);
                check_migrated(m, version, old);
                break;
            }
            cuts++;
            uint32_t stored = 0, tag = 0;
            if (into_new) {
                /* the old NVM is never written; the new one holds the new image or no state */
                assert_memory_equal(vsafe_sim_nvm_mem(sim, &len), snap, len);
                vsafe_store_t st;
                int mrc = vsafe_store_mount(&st, vsafe_sim_nvm_port(target), probe, MCU_IMAGE_LEN, VSAFE_STORE_TAG_MCU);
                if (mrc == VSAFE_OK) {
                    CHECK(boot(target, m));
                    check_migrated(m, version, old);
                } else {
                    /* blank or a torn first snapshot: no state (the file backend renames only
                     * a new file whose migration returned, so this one is never used) */
                    assert_true(mrc == VSAFE_ERR_STORE_EMPTY || mrc == VSAFE_ERR_STORE_CORRUPT);
                    saw_old++;
                }
                /* the next open starts again from the old NVM with a blank new one */
                memcpy(vsafe_sim_nvm_mem(target, &tlen), blank, tlen);
                CHECK(boot_grow(sim, target, m, NULL));
                check_migrated(m, version, old);
                continue;
            }
            CHECK(vsafe_store_probe(vsafe_sim_nvm_port(sim), &stored, &tag));
            assert_true(stored == old_len || stored == MCU_IMAGE_LEN);
            saw_old += stored == old_len;
            CHECK(boot(sim, m)); /* the next power-on migrates (again) or finds version 3 */
            check_migrated(m, version, old);
        }
    }
    printf("migration from version %u %s: %u power cuts, %u left the version-%u image\n", version,
           into_new ? "into a new NVM" : "in place", cuts, saw_old, version);
    assert_true(cuts > 0 && saw_old > 0);
    free(probe);
    free(blank);
    free(snap);
    free(m);
    free(old);
    if (into_new) {
        vsafe_sim_nvm_free(target);
    }
    vsafe_sim_nvm_free(sim);
}

static void test_v1_migration_power_cut_everywhere(void **state)
{
    (void)state;
    cut_sweep(1, false);
}

static void test_v2_migration_power_cut_everywhere(void **state)
{
    (void)state;
    cut_sweep(2, false);
    cut_sweep(2, true);
}

static void test_unknown_version_refused(void **state)
{
    (void)state;
    uint8_t *old = malloc(MCU_IMAGE_LEN_V2);
    old_image(2, old);
    vsafe_sim_nvm_t *sim = new_sim(MCU_IMAGE_LEN, 14);
    format_old(sim, 2, old);
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    CHECK(boot(sim, m));
    /* a future layout: version 4 at the same length */
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_VERSION + 1u, 4);
    CHECK(vsafe_store_commit(&m->store, &m->txn));
    assert_int_equal(boot(sim, m), VSAFE_ERR_STORE_MISMATCH);
    /* an older version word in a version-3-length image is not that version's image either */
    for (uint8_t v = 1; v <= 2u; v++) {
        vsafe_sim_nvm_free(sim);
        sim = new_sim(MCU_IMAGE_LEN, 15);
        format_old(sim, 2, old);
        CHECK(boot(sim, m));
        vsafe_txn_begin(&m->txn);
        vsafe_txn_put_u8(&m->txn, MCU_OFF_VERSION + 1u, v);
        CHECK(vsafe_store_commit(&m->store, &m->txn));
        assert_int_equal(boot(sim, m), VSAFE_ERR_STORE_MISMATCH);
    }
    /* and a version-2 word in a version-1-length image */
    vsafe_sim_nvm_free(sim);
    sim = new_sim(MCU_IMAGE_LEN, 16);
    old_image(1, old);
    old[MCU_OFF_VERSION + 1] = 2;
    format_old(sim, 1, old);
    assert_int_equal(boot(sim, m), VSAFE_ERR_STORE_MISMATCH);
    free(m);
    free(old);
    vsafe_sim_nvm_free(sim);
}

int main(void)
{
    CHECK(vsafe_openssl_crypto_new(&oc, 61));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_image_opens_migrated),
        cmocka_unit_test(test_v2_image_opens_migrated),
        cmocka_unit_test(test_old_sized_nvm_migrates_into_a_new_one),
        cmocka_unit_test(test_v1_migration_power_cut_everywhere),
        cmocka_unit_test(test_v2_migration_power_cut_everywhere),
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
