/* Golden images of the two layouts the store holds (issue 8): tests/store/golden/se_v1_spl05.nvm
 * (secure element, "VSE1"), mcu_v1_closed.nvm and mcu_v2_sfi.nvm (MCU, "VMC1", image versions 1
 * and 2, which open migrated to version 3), written once by
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
#include <unistd.h>

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

/* A blank NVM of the size a version-3 MCU file has: where a migration from an NVM sized for an
 * older, smaller image goes. */
static vsafe_sim_nvm_t *grow_sim(void)
{
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .erased = 0xFF, .may_reorder = 1};
    g.page_count = vsafe_store_nvm_bytes(MCU_IMAGE_LEN, 16384, 4096) / 4096u;
    vsafe_sim_nvm_t *sim = NULL;
    assert_int_equal(vsafe_sim_nvm_new(&sim, &g, 5), VSAFE_OK);
    return sim;
}

static void check_mcu_v1_values(vsafe_mcu_t *m)
{
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
    assert_int_equal(vsafe_mcu_mem_read(m, VSAFE_MCU_FLASH_NS, 0x8000u, b, 16), VSAFE_OK);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(b[i], 0xFF); /* the flash version 3 added reads erased */
    }
    /* and the right password still opens debug: the DA configuration survived */
    assert_int_equal(vsafe_da_authenticate_password(m, "golden-pw"), VSAFE_OK);
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
    assert_int_equal(rep.image_len, 0x2D00u);      /* MCU image version 1 */
    assert_true(rep.tail_clean);
    /* the file was sized for the version-1 image: its migration to version 3 goes to a new NVM
     * (without one the open is refused, nothing written) */
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.nvm = nvm, .rng_seed = 1, .power_on_reset = 0};
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_ERR_STORE_FULL);
    vsafe_sim_nvm_t *grow = grow_sim();
    o.grow_nvm = vsafe_sim_nvm_port(grow);
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_OK);
    check_mcu_v1_values(m);
    vsafe_mcu_close(m);
    assert_int_equal(vsafe_store_inspect(vsafe_sim_nvm_port(grow), &rep), VSAFE_OK);
    assert_int_equal(rep.image_len, 0x27400u); /* MCU image version 3 */
    vsafe_sim_nvm_free(grow);
    vsafe_sim_nvm_free(sim);
}

/* Copies a golden file into a fresh directory; returns the copy's path in out. */
static void golden_copy(const char *file, char *dir, char *out, size_t cap)
{
    char src[4096];
    golden_path(src, sizeof src, file);
    assert_non_null(mkdtemp(dir));
    snprintf(out, cap, "%s/mcu.nvm", dir);
    FILE *in = fopen(src, "rb"), *to = fopen(out, "wb");
    assert_non_null(in);
    assert_non_null(to);
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, to), n);
    }
    fclose(in);
    assert_int_equal(fclose(to), 0);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* The state file of version 1 as a user has it: opening it grows it (a new file renamed over the
 * old), a leftover from a migration that crashed before its rename is overwritten, and it then
 * opens as version 3 directly. */
static void test_golden_mcu_file_grows(void **state)
{
    (void)state;
    char dir[] = "/tmp/vsafe-golden-mcu-XXXXXX", path[4200], left[4300];
    golden_copy("mcu_v1_closed.nvm", dir, path, sizeof path);
    assert_int_equal(file_size(path), 57344); /* sized for the version-1 image */
    snprintf(left, sizeof left, "%s.migrate", path);
    FILE *f = fopen(left, "wb"); /* what a crash during an earlier migration left */
    assert_non_null(f);
    fputs("torn", f);
    fclose(f);
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.state_path = path, .rng_seed = 1, .power_on_reset = 0};
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_OK);
    check_mcu_v1_values(m);
    vsafe_mcu_close(m);
    assert_int_equal(file_size(path), (long)vsafe_store_nvm_bytes(MCU_IMAGE_LEN, 16384, 4096));
    assert_int_equal(file_size(left), -1); /* renamed into place */
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_OK);
    vsafe_mcu_info_t info;
    assert_int_equal(vsafe_mcu_info(m, &info), VSAFE_OK);
    assert_int_equal(info.state, VSAFE_MCU_STATE_OPEN); /* the password regressed it above */
    vsafe_mcu_close(m);
    unlink(path);
    rmdir(dir);
}

/* mcu_v2_sfi.nvm (image version 2; workload in gen_golden_device.c): TrustZone on, each SFI region
 * installed by its owner (payload byte i = (i * 7 + r) & 0xFF, lengths 300 / 512 / 1000,
 * versions 5 / 6 / 7), OBK HDPL2 "golden-mcu-v2-o2", SRAM S "golden-mcu-sramS", iROT_PROVISIONED.
 * After the migration each region holds its payload at the region's new place, the owners are
 * kept (the secure and non-secure owners update their regions with their saved keys, another key
 * is refused), and the provisioning key is kept (their images are packed for it). */
static void check_mcu_v2_values(vsafe_mcu_t *m)
{
    vsafe_mcu_info_t info;
    assert_int_equal(vsafe_mcu_info(m, &info), VSAFE_OK);
    assert_int_equal(info.state, VSAFE_MCU_STATE_IROT_PROVISIONED);
    assert_true(info.trustzone);
    uint8_t b[1000 + 8]; /* the longest payload and 8 erased bytes after it */
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, b, 16), VSAFE_OK);
    assert_memory_equal(b, "golden-mcu-v2-o2", 16);
    assert_int_equal(vsafe_mcu_mem_read(m, VSAFE_MCU_SRAM_S, 0, b, 16), VSAFE_OK);
    assert_memory_equal(b, "golden-mcu-sramS", 16);
    static const uint32_t lens[4] = {0, 300, 512, 1000};
    for (unsigned r = 1; r <= 3; r++) {
        /* iROT flash S 0, secure flash S 16 KiB, non-secure flash NS 0 */
        vsafe_mcu_mem_t mem = r == 3u ? VSAFE_MCU_FLASH_NS : VSAFE_MCU_FLASH_S;
        uint32_t at = r == 2u ? 0x4000u : 0u;
        assert_int_equal(vsafe_mcu_mem_read(m, mem, at, b, lens[r] + 8u), VSAFE_OK);
        for (uint32_t i = 0; i < lens[r]; i++) {
            assert_int_equal(b[i], (i * 7u + r) & 0xFFu);
        }
        for (uint32_t i = lens[r]; i < lens[r] + 8u; i++) {
            assert_int_equal(b[i], 0xFF);
        }
        uint8_t owner[32];
        uint32_t ver = 0;
        assert_int_equal(vsafe_mcu_sfi_region_info(m, r, owner, &ver), VSAFE_OK);
        assert_int_equal(ver, 4u + r);
    }
    uint8_t pub[64];
    assert_int_equal(vsafe_mcu_sfi_pubkey(m, pub), VSAFE_OK);
    static uint8_t pl[0x10000], img[0x10000 + 300];
    for (size_t i = 0; i < sizeof pl; i++) {
        pl[i] = (uint8_t)(i * 3u);
    }
    vsafe_da_key_t *k2 = NULL, *k3 = NULL;
    char path[4096];
    golden_path(path, sizeof path, "mcu_v2_sfi_owner2.pem");
    assert_int_equal(vsafe_da_key_load(&k2, path), VSAFE_OK);
    golden_path(path, sizeof path, "mcu_v2_sfi_owner3.pem");
    assert_int_equal(vsafe_da_key_load(&k3, path), VSAFE_OK);
    size_t n = 0;
    vsafe_sfi_pack_t p = {.region = 2, .version = 7, .owner = k3, .device_pub = pub, .device_soc_id = info.soc_id,
                          .payload = pl, .payload_len = sizeof pl};
    assert_int_equal(vsafe_sfi_pack(&p, img, sizeof img, &n), VSAFE_OK);
    assert_int_equal(vsafe_mcu_sfi_install(m, img, n), VSAFE_ERR_SFI_FOREIGN_REGION);
    p.owner = k2; /* the secure owner: a 64 KiB image into the region it owned under version 2 */
    assert_int_equal(vsafe_sfi_pack(&p, img, sizeof img, &n), VSAFE_OK);
    assert_int_equal(vsafe_mcu_sfi_install(m, img, n), VSAFE_OK);
    assert_int_equal(vsafe_mcu_mem_read(m, VSAFE_MCU_FLASH_S, 0x4000u + 0xFFF0u, b, 16), VSAFE_OK);
    assert_memory_equal(b, pl + 0xFFF0u, 16);
    p.region = 3;
    p.version = 8;
    p.owner = k3;
    assert_int_equal(vsafe_sfi_pack(&p, img, sizeof img, &n), VSAFE_OK);
    assert_int_equal(vsafe_mcu_sfi_install(m, img, n), VSAFE_OK);
    vsafe_da_key_free(k2);
    vsafe_da_key_free(k3);
}

static void test_golden_mcu_v2(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = load("mcu_v2_sfi.nvm");
    vsafe_store_report_t rep;
    assert_int_equal(vsafe_store_inspect(vsafe_sim_nvm_port(sim), &rep), VSAFE_OK);
    assert_int_equal(rep.layout_tag, 0x564D4331u);
    assert_int_equal(rep.image_len, 0x3000u); /* MCU image version 2 */
    vsafe_sim_nvm_t *grow = grow_sim();
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.nvm = vsafe_sim_nvm_port(sim), .grow_nvm = vsafe_sim_nvm_port(grow), .rng_seed = 1};
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_OK);
    check_mcu_v2_values(m);
    vsafe_mcu_close(m);
    vsafe_sim_nvm_free(grow);
    vsafe_sim_nvm_free(sim);
    /* the same through the file backend: the file grows and opens as version 3 afterwards */
    char dir[] = "/tmp/vsafe-golden-mcu2-XXXXXX", path[4200];
    golden_copy("mcu_v2_sfi.nvm", dir, path, sizeof path);
    vsafe_mcu_options_t of = {.state_path = path, .rng_seed = 1, .power_on_reset = 0};
    assert_int_equal(vsafe_mcu_open(&m, &of), VSAFE_OK);
    check_mcu_v2_values(m);
    vsafe_mcu_close(m);
    assert_int_equal(vsafe_mcu_open(&m, &of), VSAFE_OK);
    uint8_t owner[32];
    uint32_t ver = 0;
    assert_int_equal(vsafe_mcu_sfi_region_info(m, 2, owner, &ver), VSAFE_OK);
    assert_int_equal(ver, 7); /* the update above was committed to the grown file */
    vsafe_mcu_close(m);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_se),
        cmocka_unit_test(test_golden_mcu),
        cmocka_unit_test(test_golden_mcu_file_grows),
        cmocka_unit_test(test_golden_mcu_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
