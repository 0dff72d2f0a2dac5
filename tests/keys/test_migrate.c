/* Image version 2 and the migration of version-1 images.
 *
 * The golden file tests/keys/golden/se_v1_spl05.nvm is a real SPL05 device state file written
 * by vsafe before version 2 existed (the CLI at commit 777bd94: init; update 1 "Golden v1 state,
 * zone 1"; update 10 offset 100 00 11 .. ff; decrement 5 three times with data 01, 02, 03 at
 * offset 0; decrement 6 by 1000 with data ca fe at offset 4; ac 2 --update host). It must keep
 * loading and read back the same zones and counters. Power is cut at every NVM operation of its
 * migration, under every write model of the simulated NVM: afterwards the NVM holds either the
 * version-1 state byte for byte or the migrated state, whose key-services region the test writes
 * down itself from the documented layout (docs/NVM-FORMAT.md), never from the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hooks.h"
#include "vsafe/host.h"
#include "vsafe/se.h"
#include "vsafe/sim.h"

#define V1_LEN 17864u
#define REGION_LEN 2584u /* 32 + 5 * 208 + 4 * 136 + 16 * 56 + 2 * 36 */

static void golden_path(char *out, size_t cap)
{
    const char *src = getenv("VSAFE_SOURCE_DIR");
    snprintf(out, cap, "%s/tests/keys/golden/se_v1_spl05.nvm", src ? src : ".");
}

static vsafe_nvm_geometry_t file_geo(void)
{
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = 0, .erased = 0xFF, .may_reorder = 1};
    return g;
}

static vsafe_sim_nvm_t *golden_sim(uint64_t seed)
{
    char path[4096];
    golden_path(path, sizeof path);
    vsafe_nvm_geometry_t g = file_geo();
    vsafe_sim_nvm_t *sim = NULL;
    int rc = vsafe_sim_nvm_from_file(&sim, path, &g, seed);
    if (rc != VSAFE_OK) {
        fail_msg("%s: %d", path, rc);
    }
    return sim;
}

static uint8_t *mount_raw(vsafe_sim_nvm_t *sim, uint32_t *len)
{
    uint32_t tag = 0;
    assert_int_equal(vsafe_store_probe(vsafe_sim_nvm_port(sim), len, &tag), VSAFE_OK);
    assert_int_equal(tag, VSAFE_STORE_TAG_SE);
    uint8_t *img = calloc(1, *len);
    vsafe_store_t st;
    assert_non_null(img);
    assert_int_equal(vsafe_store_mount(&st, vsafe_sim_nvm_port(sim), img, *len, VSAFE_STORE_TAG_SE), VSAFE_OK);
    return img;
}

/* The version-2 image a migration of v1 must give, written from the documented layout. */
static void expected_v2(const uint8_t *v1, uint8_t *v2)
{
    memcpy(v2, v1, V1_LEN);
    memset(v2 + V1_LEN, 0, REGION_LEN);
    v2[0x004] = 0x00;
    v2[0x005] = 0x02; /* version 2 */
    v2[0x0AC] = (uint8_t)(V1_LEN >> 24);
    v2[0x0AD] = (uint8_t)(V1_LEN >> 16);
    v2[0x0AE] = (uint8_t)(V1_LEN >> 8);
    v2[0x0AF] = (uint8_t)V1_LEN;
    uint8_t *r = v2 + V1_LEN;
    memcpy(r, "VSVC", 4);
    r[4] = 5;
    r[5] = 4;
    r[6] = 16;
    r[7] = 2;
    r[8] = 0xFF;
    r[9] = 0xFF; /* global usage limit */
    r[10] = 0x00;
    r[11] = 0x01; /* ephemeral slot: key establishment only */
    for (unsigned i = 0; i < 5; i++) {
        uint8_t *p = r + 32 + i * 208;
        p[2] = i == 0 ? 0x00 : 0x80;
        p[3] = i == 0 ? 0x24 : 0x05;
    }
    for (unsigned i = 0; i < 4; i++) {
        uint8_t *g = r + 32 + 5 * 208 + i * 136;
        g[2] = 0x00;
        g[3] = 0x01;
    }
    for (unsigned i = 0; i < 16; i++) {
        uint8_t *s = r + 32 + 5 * 208 + 4 * 136 + i * 56;
        s[12] = 0x08;
        s[13] = 0xFF;
        s[14] = 0xFF;
    }
}

/* The golden workload's zones and counters, through the host API. */
static void check_golden_zones(vsafe_se_t *se)
{
    vsafe_host_t *h = NULL;
    uint8_t buf[32];
    uint32_t ctr = 0;
    static const uint8_t z10[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    assert_int_equal(vsafe_host_open_se(&h, se), VSAFE_OK);
    assert_int_equal(vsafe_host_init(h), VSAFE_OK);
    assert_int_equal(vsafe_host_read_zone(h, VSAFE_HOST_PROT_NONE, 1, 0, buf, 24), VSAFE_OK);
    assert_memory_equal(buf, "Golden v1 state, zone 1\0", 24);
    assert_int_equal(vsafe_host_read_zone(h, VSAFE_HOST_PROT_NONE, 10, 100, buf, 16), VSAFE_OK);
    assert_memory_equal(buf, z10, 16);
    assert_int_equal(vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_NONE, 5, 0, buf, 2, &ctr), VSAFE_OK);
    assert_int_equal(ctr, 0xFFFFFFFFu - 3u);
    assert_int_equal(buf[0], 0x03);
    assert_int_equal(vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_NONE, 6, 4, buf, 2, &ctr), VSAFE_OK);
    assert_int_equal(ctr, 0xFFFFFFFFu - 1000u);
    assert_int_equal(buf[0], 0xca);
    assert_int_equal(buf[1], 0xfe);
    vsafe_host_zone_t zones[16];
    size_t n = 0;
    assert_int_equal(vsafe_host_zones(h, zones, 16, &n), VSAFE_OK);
    assert_int_equal(n, 12);
    assert_int_equal(zones[2].update_ac, VSAFE_SE_AC_HOST);
    assert_int_equal(zones[1].update_ac, VSAFE_SE_AC_ALWAYS);
    /* Query 0x14 answers from the migrated region: 6 slots, byte1 0, global limit FF FF. */
    uint8_t q[] = {0x14, 0x14};
    uint8_t rsp[200];
    size_t rl = 0;
    assert_int_equal(vsafe_host_raw(h, q, sizeof q, rsp, sizeof rsp, &rl), VSAFE_OK);
    assert_true(rl >= 4);
    assert_int_equal(rsp[0], 6);
    assert_int_equal(rsp[2], 0xFF);
    assert_int_equal(rsp[3], 0xFF);
    vsafe_host_close(h);
}

static void test_golden_v1_loads_and_migrates(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = golden_sim(1);
    uint32_t len = 0;
    uint8_t *v1 = mount_raw(sim, &len);
    assert_int_equal(len, V1_LEN);
    assert_int_equal(v1[5], 1);

    vsafe_se_t *se = NULL;
    vsafe_se_open_ext_t ext = {.nvm = vsafe_sim_nvm_port(sim), .rng_seed = 7};
    assert_int_equal(vsafe_se_open_ex(&se, NULL, &ext), VSAFE_OK);
    vsafe_se_stats_t stats;
    assert_int_equal(vsafe_se_stats(se, &stats), VSAFE_OK);
    assert_int_equal(stats.image_bytes, V1_LEN + REGION_LEN);
    assert_int_equal(stats.commits, 1); /* the migration, one commit */
    check_golden_zones(se);
    vsafe_se_close(se);

    uint8_t *v2 = mount_raw(sim, &len);
    assert_int_equal(len, V1_LEN + REGION_LEN);
    uint8_t *want = malloc(V1_LEN + REGION_LEN);
    expected_v2(v1, want);
    assert_memory_equal(v2, want, len);

    /* A second open finds version 2 and commits nothing. */
    assert_int_equal(vsafe_se_open_ex(&se, NULL, &ext), VSAFE_OK);
    assert_int_equal(vsafe_se_stats(se, &stats), VSAFE_OK);
    assert_int_equal(stats.commits, 0);
    check_golden_zones(se);
    vsafe_se_close(se);
    free(want);
    free(v2);
    free(v1);
    vsafe_sim_nvm_free(sim);
}

/* A read-only open shows the migrated view and leaves the file untouched. */
static void test_golden_read_only_untouched(void **state)
{
    (void)state;
    char src[4096], dir[] = "/tmp/vsafe-migrate-XXXXXX", path[4200];
    golden_path(src, sizeof src);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/se.nvm", dir);
    FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    static uint8_t before[200000], after[200000];
    size_t n = fread(before, 1, sizeof before, in);
    assert_int_equal(fwrite(before, 1, n, out), n);
    fclose(in);
    fclose(out);
    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {.profile = NULL, .state_path = path};
    vsafe_se_open_ext_t ext = {.read_only = 1};
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_OK);
    check_golden_zones(se);
    vsafe_se_close(se);
    in = fopen(path, "rb");
    assert_int_equal(fread(after, 1, sizeof after, in), n);
    fclose(in);
    assert_memory_equal(before, after, n);
    /* and a writer migrates it for good */
    assert_int_equal(vsafe_se_open(&se, &o), VSAFE_OK);
    check_golden_zones(se);
    vsafe_se_close(se);
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_OK);
    vsafe_se_stats_t stats;
    assert_int_equal(vsafe_se_stats(se, &stats), VSAFE_OK);
    assert_int_equal(stats.image_bytes, V1_LEN + REGION_LEN);
    vsafe_se_close(se);
    unlink(path);
    rmdir(dir);
}

/* Power cut at every NVM operation of the migration, every write model. */
static void test_migration_power_cuts(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *ref = golden_sim(1);
    uint32_t len = 0;
    uint8_t *v1 = mount_raw(ref, &len);
    uint8_t *want2 = malloc(V1_LEN + REGION_LEN);
    expected_v2(v1, want2);
    vsafe_sim_nvm_free(ref);
    unsigned old_seen = 0, new_seen = 0;
    for (int model = 1; model <= VSAFE_SIM_CUT_MODELS; model++) {
        for (uint64_t n = 1;; n++) {
            vsafe_sim_nvm_t *sim = golden_sim(n * 31u + (uint64_t)model);
            assert_int_equal(vsafe_sim_nvm_arm_cut(sim, n, (vsafe_sim_cut_model_t)model), VSAFE_OK);
            vsafe_se_t *se = NULL;
            vsafe_se_open_ext_t ext = {.nvm = vsafe_sim_nvm_port(sim), .rng_seed = 7};
            int rc = vsafe_se_open_ex(&se, NULL, &ext);
            bool cut = vsafe_sim_nvm_cut_happened(sim);
            if (!cut) {
                assert_int_equal(rc, VSAFE_OK);
                vsafe_se_close(se);
                vsafe_sim_nvm_free(sim);
                break;
            }
            assert_int_not_equal(rc, VSAFE_OK);
            vsafe_sim_nvm_power_on(sim);
            uint8_t *got = mount_raw(sim, &len);
            if (len == V1_LEN) {
                assert_memory_equal(got, v1, V1_LEN);
                old_seen++;
            } else {
                assert_int_equal(len, V1_LEN + REGION_LEN);
                assert_memory_equal(got, want2, len);
                new_seen++;
            }
            free(got);
            /* whichever it is, the device opens and reads the golden workload back */
            assert_int_equal(vsafe_se_open_ex(&se, NULL, &ext), VSAFE_OK);
            check_golden_zones(se);
            vsafe_se_close(se);
            got = mount_raw(sim, &len);
            assert_int_equal(len, V1_LEN + REGION_LEN);
            assert_memory_equal(got, want2, len);
            free(got);
            vsafe_sim_nvm_free(sim);
        }
    }
    print_message("migration cuts: %u left version 1, %u left version 2\n", old_seen, new_seen);
    assert_true(old_seen > 0);
    free(want2);
    free(v1);
}

/* The store's resize on its own, on an in-order flash geometry: a cut anywhere leaves the old
 * image of the old length or the new image of the new length. */
static void test_store_resize_power_cuts(void **state)
{
    (void)state;
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 256, .page_count = 32, .erased = 0xFF, .may_reorder = 0};
    enum { OLD = 700, NEW = 1500 };
    uint8_t old_img[OLD], new_img[NEW];
    for (unsigned i = 0; i < OLD; i++) {
        old_img[i] = (uint8_t)(i * 7u + 3u);
    }
    memcpy(new_img, old_img, OLD);
    for (unsigned i = OLD; i < NEW; i++) {
        new_img[i] = (uint8_t)(i ^ 0x5Au);
    }
    new_img[5] = 0xEE; /* a header patch carried by the resize */
    for (int model = 1; model <= 3; model++) {
        for (uint64_t n = 1;; n++) {
            vsafe_sim_nvm_t *sim = NULL;
            assert_int_equal(vsafe_sim_nvm_new(&sim, &g, n), VSAFE_OK);
            uint8_t img[NEW];
            memcpy(img, old_img, OLD);
            vsafe_store_t st;
            assert_int_equal(vsafe_store_format(&st, vsafe_sim_nvm_port(sim), img, OLD, 0x11223344u), VSAFE_OK);
            assert_int_equal(vsafe_sim_nvm_arm_cut(sim, n, (vsafe_sim_cut_model_t)model), VSAFE_OK);
            memcpy(img + OLD, new_img + OLD, NEW - OLD);
            vsafe_txn_t t;
            vsafe_txn_begin(&t);
            vsafe_txn_put_u8(&t, 5, 0xEE);
            int rc = vsafe_store_commit_resize(&st, NEW, &t);
            if (!vsafe_sim_nvm_cut_happened(sim)) {
                assert_int_equal(rc, VSAFE_OK);
                assert_memory_equal(img, new_img, NEW);
                vsafe_sim_nvm_free(sim);
                break;
            }
            assert_int_not_equal(rc, VSAFE_OK);
            assert_memory_equal(img, old_img, OLD); /* the state in RAM did not move */
            vsafe_sim_nvm_power_on(sim);
            uint32_t len = 0, tag = 0;
            assert_int_equal(vsafe_store_probe(vsafe_sim_nvm_port(sim), &len, &tag), VSAFE_OK);
            uint8_t got[NEW];
            assert_int_equal(vsafe_store_mount(&st, vsafe_sim_nvm_port(sim), got, len, tag), VSAFE_OK);
            if (len == OLD) {
                assert_memory_equal(got, old_img, OLD);
                /* and it can still be resized afterwards */
                memcpy(got + OLD, new_img + OLD, NEW - OLD);
                assert_int_equal(vsafe_store_commit_resize(&st, NEW, &t), VSAFE_OK);
                assert_memory_equal(got, new_img, NEW);
            } else {
                assert_int_equal(len, NEW);
                assert_memory_equal(got, new_img, NEW);
            }
            vsafe_sim_nvm_free(sim);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_v1_loads_and_migrates),
        cmocka_unit_test(test_golden_read_only_untouched),
        cmocka_unit_test(test_migration_power_cuts),
        cmocka_unit_test(test_store_resize_power_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
