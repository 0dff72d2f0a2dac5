/* Golden images of the two layouts the store holds (issue 8): tests/store/golden/se_v1_spl05.nvm
 * (secure element, "VSE1") and mcu_v1_closed.nvm (MCU, "VMC1"), written once by
 * store_gen_golden_device with the code of their day and committed. Every run mounts them and
 * checks the values their workload left, written down here by hand from the workload (never
 * recomputed by the code under test): through the public device APIs on a simulated copy, through
 * the read-only file backend, and, for the secure element, at the byte offsets docs/NVM-FORMAT.md
 * §7 gives. An image that stops loading is a broken promise to every device in the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hooks.h"
#include "vsafe/host.h"
#include "vsafe/mcu.h"
#include "vsafe/se.h"
#include "vsafe/se_wire.h"
#include "vsafe/sim.h"

static void golden_path(char *out, size_t cap, const char *file)
{
    const char *src = getenv("VSAFE_SOURCE_DIR");
    snprintf(out, cap, "%s/tests/store/golden/%s", src ? src : ".", file);
}

static vsafe_sim_nvm_t *load(const char *file)
{
    char path[4096];
    golden_path(path, sizeof path, file);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = 0, .erased = 0xFF, .may_reorder = 1};
    vsafe_sim_nvm_t *sim = NULL;
    int rc = vsafe_sim_nvm_from_file(&sim, path, &g, 0);
    if (rc != 0) {
        fail_msg("%s: %d (generate once with store_gen_golden_device tests/store/golden)", path, rc);
    }
    return sim;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void check_se_values(vsafe_se_t *se)
{
    vsafe_host_t *h;
    const vsafe_host_prot_t p = VSAFE_HOST_PROT_NONE;
    uint8_t b[64];
    uint32_t ctr = 0;
    assert_int_equal(vsafe_host_open_se(&h, se), VSAFE_OK);
    assert_int_equal(vsafe_host_read_zone(h, p, 1, 0, b, 18), VSAFE_OK);
    assert_memory_equal(b, "vsafe golden SE v1", 18);
    assert_int_equal(vsafe_host_read_zone(h, p, 2, 100, b, 32), VSAFE_OK);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(b[i], i);
    }
    assert_int_equal(vsafe_host_read_counter_zone(h, p, 5, 0, b, 2, &ctr), VSAFE_OK);
    assert_int_equal(ctr, 4294967288u); /* 2^32 - 1, decremented 7 times by 1 */
    assert_int_equal(b[0], 0x01);
    assert_int_equal(b[1], 0x02);
    assert_int_equal(vsafe_host_read_counter_zone(h, p, 6, 8, b, 8, &ctr), VSAFE_OK);
    assert_int_equal(ctr, 4294966295u); /* 2^32 - 1 - 1000 */
    static const uint8_t d8[8] = {0xDE, 0xAD, 0xBE, 0xEF, 0xCA, 0xFE, 0xF0, 0x0D};
    assert_memory_equal(b, d8, 8);
    assert_int_equal(vsafe_host_read_counter_zone(h, p, 7, 0, b, 0, &ctr), VSAFE_OK);
    assert_int_equal(ctr, 4294967295u);
    vsafe_host_zone_t z[16];
    size_t n = 0;
    assert_int_equal(vsafe_host_zones(h, z, 16, &n), VSAFE_OK);
    bool seen3 = false;
    for (size_t i = 0; i < n; i++) {
        if (z[i].index == 3) {
            seen3 = true;
            assert_int_equal(z[i].read_ac, VSAFE_SE_AC_HOST);
            assert_int_equal(z[i].read_ac_cr, 0);
        }
    }
    assert_true(seen3);
    vsafe_host_close(h);
}

static void test_golden_se(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = load("se_v1_spl05.nvm");
    vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
    vsafe_store_report_t rep;
    assert_int_equal(vsafe_store_inspect(nvm, &rep), VSAFE_OK);
    assert_int_equal(rep.format_version, 1);
    assert_int_equal(rep.layout_tag, 0x56534531u); /* "VSE1" */
    assert_int_equal(rep.image_len, 17864);
    assert_int_equal(rep.seq, 12); /* format, then 11 commands */
    assert_int_equal(rep.snapshot_seq, 1);
    assert_true(rep.tail_clean);
    assert_int_equal(rep.recovery.corrected_bits, 0);

    /* the image, at the offsets of docs/NVM-FORMAT.md §7 */
    uint8_t *img = malloc(rep.image_len);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_mount(&st, nvm, img, rep.image_len, rep.layout_tag), VSAFE_OK);
    assert_int_equal(be32(img + 0x000), 0x56535345u); /* "VSSE" */
    assert_int_equal(img[0x004] << 8 | img[0x005], 1);
    assert_memory_equal(img + 0x010, "spl05", 6);
    const uint8_t *z5 = img + 0x1C0 + 5u * 16u;
    assert_int_equal(z5[0], 5);
    assert_int_equal(z5[1], 1); /* counter zone */
    assert_int_equal(be32(z5 + 12), 4294967288u);
    uint32_t seg5 = be32(z5 + 8);
    assert_int_equal(img[seg5], 0x01);
    assert_int_equal(img[seg5 + 1u], 0x02);
    const uint8_t *z3 = img + 0x1C0 + 3u * 16u;
    assert_int_equal(z3[0], 3);
    assert_int_equal((z3[2] >> 4) & 7u, VSAFE_SE_AC_HOST); /* read AC */
    assert_int_equal(z3[2] >> 7, 0);                      /* its change right, cleared */
    const uint8_t *z1 = img + 0x1C0 + 1u * 16u;
    assert_memory_equal(img + be32(z1 + 8), "vsafe golden SE v1", 18);
    free(img);

    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_open_ext_t ext;
    memset(&ext, 0, sizeof ext);
    ext.nvm = nvm;
    ext.rng_seed = 1;
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_OK);
    check_se_values(se);
    vsafe_se_close(se);
    vsafe_sim_nvm_free(sim);

    /* the committed file itself, through the read-only file backend */
    char path[4096];
    golden_path(path, sizeof path, "se_v1_spl05.nvm");
    vsafe_se_options_t of = {.profile = "spl05", .state_path = path};
    memset(&ext, 0, sizeof ext);
    ext.read_only = 1;
    assert_int_equal(vsafe_se_open_ex(&se, &of, &ext), VSAFE_OK);
    check_se_values(se);
    vsafe_se_close(se);
}

static void test_golden_mcu(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = load("mcu_v1_closed.nvm");
    vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
    vsafe_store_report_t rep;
    assert_int_equal(vsafe_store_inspect(nvm, &rep), VSAFE_OK);
    assert_int_equal(rep.format_version, 1);
    assert_int_equal(rep.layout_tag, 0x564D4331u); /* "VMC1" */
    assert_true(rep.tail_clean);
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.nvm = nvm, .rng_seed = 1, .power_on_reset = 0};
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_OK);
    vsafe_mcu_info_t info;
    assert_int_equal(vsafe_mcu_info(m, &info), VSAFE_OK);
    assert_int_equal(info.state, VSAFE_MCU_STATE_CLOSED);
    assert_int_equal(info.da_attempts, 3);
    assert_true(info.da_provisioned);
    assert_false(info.trustzone);
    assert_false(info.pending_set);
    uint8_t b[16];
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, b, 16), VSAFE_OK);
    assert_memory_equal(b, "golden-mcu-obk-2", 16);
    assert_int_equal(vsafe_mcu_mem_read(m, VSAFE_MCU_FLASH_NS, 0, b, 16), VSAFE_OK);
    assert_memory_equal(b, "golden-mcu-flash", 16);
    /* and the right password still opens debug: the DA configuration survived */
    assert_int_equal(vsafe_da_authenticate_password(m, "golden-pw"), VSAFE_OK);
    vsafe_mcu_close(m);
    vsafe_sim_nvm_free(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_se),
        cmocka_unit_test(test_golden_mcu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
