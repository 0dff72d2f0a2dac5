/* Secure firmware install and the three parties: each party packs its image for one device with
 * its own key (vsafe_sfi_pack, OpenSSL), the device installs it (vsafe_mcu_sfi_install, through
 * the port). Checked: the installed bytes are the plaintext; every refusal (wrong state, wrong
 * device, replayed or older image, tampered ciphertext / tag / header / signature, another
 * party's region) leaves the NVM image unchanged; the three-party sequence follows the lifecycle
 * (iROT step, iROT_PROVISIONED, secure step, TZ_CLOSED, non-secure step, CLOSED); a power cut at
 * every NVM operation of an install, under three cut models, leaves the region wholly old or
 * wholly new (the oracle is the plaintext each side packed, not the code under test). */
#include "mcu_test_util.h"

#include <openssl/evp.h>

#include "vsafe/sim.h"

#define REGION_MAX 0x10000u /* the secure and non-secure regions: 64 KiB; iROT 16 KiB */
#define IMG_MAX (REGION_MAX + VSAFE_SFI_HEADER_LEN + 80u)

static vsafe_da_key_t *party[4]; /* 1 iROT owner, 2 secure owner, 3 non-secure owner */

static void parties_init(void)
{
    for (int i = 1; i <= 3; i++) {
        if (party[i] == NULL) {
            CHECK(vsafe_da_key_generate(&party[i]));
        }
    }
}

static size_t pack(vsafe_mcu_t *m, unsigned region, uint32_t version, vsafe_da_key_t *owner, const uint8_t *pl,
                   size_t n, uint8_t *out, size_t cap)
{
    uint8_t pub[64];
    CHECK(vsafe_mcu_sfi_pubkey(m, pub));
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_info(m, &info));
    vsafe_sfi_pack_t p = {.region = region, .version = version, .owner = owner, .device_pub = pub,
                          .device_soc_id = info.soc_id, .payload = pl, .payload_len = n};
    size_t len = 0;
    CHECK(vsafe_sfi_pack(&p, out, cap, &len));
    return len;
}

static void payload(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed * 31u + i * 7u);
    }
}

/* The region's bytes as the device reads them. */
static void region_bytes(vsafe_mcu_t *m, unsigned region, uint8_t *out)
{
    CHECK(vsafe_mcu_mem_read(m, vsafe_mcu_sfi_region_mem(region), vsafe_mcu_sfi_region_offset(region), out,
                             vsafe_mcu_sfi_region_size(region)));
}

/* The region holds pl (n bytes) and reads erased after it. */
static bool region_is(vsafe_mcu_t *m, unsigned region, const uint8_t *pl, size_t n)
{
    static uint8_t b[REGION_MAX];
    size_t size = vsafe_mcu_sfi_region_size(region);
    CHECK(size <= sizeof b ? VSAFE_OK : VSAFE_ERR_BUFFER_TOO_SMALL);
    region_bytes(m, region, b);
    if (memcmp(b, pl, n) != 0) {
        return false;
    }
    for (size_t i = n; i < size; i++) {
        if (b[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

static vsafe_mcu_t *provisioning_board(uint64_t seed)
{
    creds_init();
    parties_init();
    vsafe_mcu_t *m = mcu_volatile(seed);
    CHECK(vsafe_mcu_set_trustzone(m, true));
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    provision_da(m);
    return m;
}

static void test_three_parties_follow_the_lifecycle(void **state)
{
    (void)state;
    vsafe_mcu_t *m = provisioning_board(81);
    uint8_t irot[300], sec[512], ns[1024], img[1400];
    payload(irot, sizeof irot, 1);
    payload(sec, sizeof sec, 2);
    payload(ns, sizeof ns, 3);
    /* step 1, iROT owner, in PROVISIONING; then iROT_PROVISIONED */
    size_t n = pack(m, VSAFE_MCU_SFI_IROT, 1, party[1], irot, sizeof irot, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    assert_true(region_is(m, VSAFE_MCU_SFI_IROT, irot, sizeof irot));
    go(m, VSAFE_MCU_STATE_IROT_PROVISIONED);
    n = pack(m, VSAFE_MCU_SFI_IROT, 2, party[1], irot, sizeof irot, img, sizeof img);
    assert_int_equal(vsafe_mcu_sfi_install(m, img, n), VSAFE_ERR_SFI_STATE); /* the iROT is immutable now */
    /* step 2, secure owner; then TZ_CLOSED */
    n = pack(m, VSAFE_MCU_SFI_SECURE, 1, party[2], sec, sizeof sec, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    assert_true(region_is(m, VSAFE_MCU_SFI_SECURE, sec, sizeof sec));
    go(m, VSAFE_MCU_STATE_TZ_CLOSED);
    n = pack(m, VSAFE_MCU_SFI_SECURE, 2, party[2], sec, sizeof sec, img, sizeof img);
    assert_int_equal(vsafe_mcu_sfi_install(m, img, n), VSAFE_ERR_SFI_STATE);
    /* step 3, non-secure owner; a second version replaces the first; then CLOSED */
    n = pack(m, VSAFE_MCU_SFI_NONSECURE, 1, party[3], ns, 100, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    n = pack(m, VSAFE_MCU_SFI_NONSECURE, 2, party[3], ns, sizeof ns, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    assert_true(region_is(m, VSAFE_MCU_SFI_NONSECURE, ns, sizeof ns));
    go(m, VSAFE_MCU_STATE_CLOSED);
    n = pack(m, VSAFE_MCU_SFI_NONSECURE, 3, party[3], ns, sizeof ns, img, sizeof img);
    assert_int_equal(vsafe_mcu_sfi_install(m, img, n), VSAFE_ERR_SFI_STATE);
    /* each party's region holds its own image */
    assert_true(region_is(m, VSAFE_MCU_SFI_IROT, irot, sizeof irot));
    assert_true(region_is(m, VSAFE_MCU_SFI_SECURE, sec, sizeof sec));
    vsafe_mcu_close(m);
}

/* A refusal leaves every byte of the image as it was. */
static void refused(vsafe_mcu_t *m, const uint8_t *img, size_t n, int want)
{
    static uint8_t before[MCU_IMAGE_LEN];
    memcpy(before, m->image, MCU_IMAGE_LEN);
    assert_int_equal(vsafe_mcu_sfi_install(m, img, n), want);
    assert_memory_equal(m->image, before, MCU_IMAGE_LEN);
}

static void test_refusals(void **state)
{
    (void)state;
    vsafe_mcu_t *m = provisioning_board(82), *other = provisioning_board(83);
    uint8_t pl[256], img[1400], bad[1400];
    payload(pl, sizeof pl, 9);
    /* wrong device: packed for another MCU's provisioning key */
    size_t n = pack(other, VSAFE_MCU_SFI_SECURE, 1, party[2], pl, sizeof pl, img, sizeof img);
    refused(m, img, n, VSAFE_ERR_SFI_WRONG_DEVICE);
    CHECK(vsafe_mcu_sfi_install(other, img, n));
    /* installed once here; replayed, and an older version, are refused */
    n = pack(m, VSAFE_MCU_SFI_SECURE, 5, party[2], pl, sizeof pl, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    refused(m, img, n, VSAFE_ERR_SFI_REPLAY);
    n = pack(m, VSAFE_MCU_SFI_SECURE, 4, party[2], pl, sizeof pl, img, sizeof img);
    refused(m, img, n, VSAFE_ERR_SFI_REPLAY);
    /* another party's region: the secure region belongs to party 2 now */
    n = pack(m, VSAFE_MCU_SFI_SECURE, 9, party[3], pl, sizeof pl, img, sizeof img);
    refused(m, img, n, VSAFE_ERR_SFI_FOREIGN_REGION);
    /* tampered: every byte of a fresh image flipped in turn is refused */
    n = pack(m, VSAFE_MCU_SFI_NONSECURE, 1, party[3], pl, sizeof pl, img, sizeof img);
    unsigned by_code[8] = {0};
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, img, n);
        bad[i] ^= 0x01;
        static uint8_t before[MCU_IMAGE_LEN];
        memcpy(before, m->image, MCU_IMAGE_LEN);
        int rc = vsafe_mcu_sfi_install(m, bad, n);
        if (rc == VSAFE_OK) {
            fail_msg("image with byte %zu flipped was installed", i);
        }
        assert_memory_equal(m->image, before, MCU_IMAGE_LEN);
        by_code[rc == VSAFE_ERR_SFI_SIGNATURE ? 0 : rc == VSAFE_ERR_PARSE ? 1 : rc == VSAFE_ERR_SFI_FOREIGN_REGION ? 2 : 3]++;
    }
    printf("SFI: %zu byte flips refused: %u signature, %u format, %u owner, %u other\n", n, by_code[0], by_code[1],
           by_code[2], by_code[3]);
    CHECK(vsafe_mcu_sfi_install(m, img, n)); /* the untouched image installs */
    /* wrong state: OPEN has no SFI */
    vsafe_mcu_t *open = mcu_volatile(84);
    n = pack(open, VSAFE_MCU_SFI_IROT, 1, party[1], pl, sizeof pl, img, sizeof img);
    refused(open, img, n, VSAFE_ERR_SFI_STATE);
    /* too long for the region, truncated */
    refused(m, img, n - 1, VSAFE_ERR_PARSE);
    vsafe_mcu_close(open);
    vsafe_mcu_close(m);
    vsafe_mcu_close(other);
}

static void test_tag_checked_even_when_signed(void **state)
{
    (void)state;
    vsafe_mcu_t *m = provisioning_board(85);
    uint8_t pl[64], img[1400];
    payload(pl, sizeof pl, 4);
    size_t n = pack(m, VSAFE_MCU_SFI_NONSECURE, 1, party[3], pl, sizeof pl, img, sizeof img);
    /* flip a ciphertext byte and re-sign with the owner's key: signature fine, GCM tag not */
    img[VSAFE_SFI_HEADER_LEN + 3] ^= 0x40;
    uint8_t h[32];
    unsigned hl = 0;
    assert_int_equal(EVP_Digest(img, n - 64u, h, &hl, EVP_sha256(), NULL), 1);
    CHECK(vsafe_da_key_sign(party[3], h, img + n - 64u));
    refused(m, img, n, VSAFE_ERR_SFI_TAMPERED);
    /* and a license not for this device, re-signed: refused as the wrong device */
    n = pack(m, VSAFE_MCU_SFI_NONSECURE, 1, party[3], pl, sizeof pl, img, sizeof img);
    img[VSAFE_SFI_OFF_WRAPPED + 5] ^= 0x01;
    assert_int_equal(EVP_Digest(img, n - 64u, h, &hl, EVP_sha256(), NULL), 1);
    CHECK(vsafe_da_key_sign(party[3], h, img + n - 64u));
    refused(m, img, n, VSAFE_ERR_SFI_WRONG_DEVICE);
    vsafe_mcu_close(m);
}

/* Cuts power at every NVM operation of one install (k = 1, 2, ... until an install completes),
 * under three cut models: the region must read wholly old or wholly new after every cut, and the
 * regions beside it must keep what they held. Before the sweep: `keep` (keep_len bytes) in region
 * keep_region, old_pl in region; the install puts new_pl there. Every install is one snapshot of
 * the whole image, so the number of cut points does not depend on the payload's size. */
static void cut_sweep(unsigned region, size_t old_len, size_t new_len, unsigned keep_region, size_t keep_len,
                      uint64_t seed)
{
    static const vsafe_sim_cut_model_t models[] = {VSAFE_SIM_CUT_DROPPED, VSAFE_SIM_CUT_TORN_UNIT,
                                                   VSAFE_SIM_CUT_TORN_PAGE};
    creds_init();
    parties_init();
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 4096, .erased = 0xFF};
    geo.page_count = vsafe_store_nvm_bytes(MCU_IMAGE_LEN, 16384, 4096) / 4096u;
    vsafe_sim_nvm_t *sim = NULL;
    CHECK(vsafe_sim_nvm_new(&sim, &geo, seed));
    vsafe_openssl_crypto_t *oc;
    CHECK(vsafe_openssl_crypto_new(&oc, seed));
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    CHECK(vsafe_mcu_core_start(m, vsafe_sim_nvm_port(sim), vsafe_openssl_crypto_port(oc), 0, 1));
    CHECK(vsafe_mcu_set_trustzone(m, true));
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    uint8_t *old_pl = malloc(old_len), *new_pl = malloc(new_len), *keep = malloc(keep_len);
    uint8_t *img = malloc(IMG_MAX);
    payload(old_pl, old_len, 5);
    payload(new_pl, new_len, 6);
    payload(keep, keep_len, 8);
    size_t n = pack(m, keep_region, 1, party[keep_region], keep, keep_len, img, IMG_MAX);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    n = pack(m, region, 1, party[region], old_pl, old_len, img, IMG_MAX);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    n = pack(m, region, 2, party[region], new_pl, new_len, img, IMG_MAX);
    size_t len;
    uint8_t *snap = malloc(vsafe_sim_nvm_mem(sim, &len) != NULL ? len : 0);
    memcpy(snap, vsafe_sim_nvm_mem(sim, &len), len);
    unsigned cuts = 0, saw_old = 0, saw_new = 0;
    uint64_t ops = 0;
    for (size_t mi = 0; mi < 3; mi++) {
        for (uint64_t k = 1;; k++) {
            memcpy(vsafe_sim_nvm_mem(sim, &len), snap, len);
            vsafe_sim_nvm_power_on(sim);
            vsafe_sim_nvm_reseed(sim, k * 131u + mi);
            memset(m, 0, sizeof *m);
            CHECK(vsafe_mcu_core_start(m, vsafe_sim_nvm_port(sim), vsafe_openssl_crypto_port(oc), 0, 1));
            CHECK(vsafe_sim_nvm_arm_cut(sim, k, models[mi]));
            int rc = vsafe_mcu_sfi_install(m, img, n);
            bool cut = vsafe_sim_nvm_cut_happened(sim);
            vsafe_sim_nvm_disarm(sim);
            vsafe_sim_nvm_power_on(sim);
            memset(m, 0, sizeof *m);
            CHECK(vsafe_mcu_core_start(m, vsafe_sim_nvm_port(sim), vsafe_openssl_crypto_port(oc), 0, 1));
            uint8_t owner[32];
            uint32_t ver = 0;
            CHECK(vsafe_mcu_sfi_region_info(m, region, owner, &ver));
            bool is_old = region_is(m, region, old_pl, old_len) && ver == 1u;
            bool is_new = region_is(m, region, new_pl, new_len) && ver == 2u;
            if (!is_old && !is_new) {
                fail_msg("cut %llu (model %zu): region neither old nor new (version %u)", (unsigned long long)k, mi, ver);
            }
            if (!region_is(m, keep_region, keep, keep_len)) {
                fail_msg("cut %llu (model %zu): region %u beside it changed", (unsigned long long)k, mi, keep_region);
            }
            if (!cut) {
                CHECK(rc);
                assert_true(is_new);
                ops = k - 1u;
                break;
            }
            cuts++;
            saw_old += is_old;
            saw_new += is_new;
        }
    }
    printf("SFI install of %zu bytes into region %u (over %zu): %llu NVM operations, %u power cuts, %u left the "
           "old image, %u the new\n",
           new_len, region, old_len, (unsigned long long)ops, cuts, saw_old, saw_new);
    assert_true(cuts > 0 && saw_old > 0);
    free(snap);
    free(img);
    free(keep);
    free(new_pl);
    free(old_pl);
    free(m);
    vsafe_openssl_crypto_free(oc);
    vsafe_sim_nvm_free(sim);
}

static void test_power_cut_every_nvm_op(void **state)
{
    (void)state;
    cut_sweep(VSAFE_MCU_SFI_NONSECURE, 1024, 700, VSAFE_MCU_SFI_IROT, 300, 86);
}

/* The size: a 64 KiB image replaces a 64 KiB one in the secure region, the iROT region
 * beside it (16 KiB, full) untouched; every cut point, no sampling (the sweep is as long as for
 * 1 KiB: one snapshot). */
static void test_power_cut_every_nvm_op_64k(void **state)
{
    (void)state;
    cut_sweep(VSAFE_MCU_SFI_SECURE, REGION_MAX, REGION_MAX, VSAFE_MCU_SFI_IROT, 0x4000u, 88);
}

static void test_regression_frees_regions(void **state)
{
    (void)state;
    vsafe_mcu_t *m = provisioning_board(87);
    uint8_t pl[128], img[1400];
    payload(pl, sizeof pl, 7);
    size_t n = pack(m, VSAFE_MCU_SFI_NONSECURE, 3, party[3], pl, sizeof pl, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    n = pack(m, VSAFE_MCU_SFI_SECURE, 3, party[2], pl, sizeof pl, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    go(m, VSAFE_MCU_STATE_CLOSED);
    /* partial regression: the non-secure region is erased and free again; the secure one kept */
    CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_PARTIAL));
    uint8_t owner[32], zero[32] = {0};
    uint32_t ver;
    CHECK(vsafe_mcu_sfi_region_info(m, VSAFE_MCU_SFI_NONSECURE, owner, &ver));
    assert_memory_equal(owner, zero, 32);
    assert_int_equal(ver, 0);
    CHECK(vsafe_mcu_sfi_region_info(m, VSAFE_MCU_SFI_SECURE, owner, &ver));
    assert_int_equal(ver, 3);
    /* a new non-secure owner can take it in TZ_CLOSED */
    n = pack(m, VSAFE_MCU_SFI_NONSECURE, 1, party[1], pl, sizeof pl, img, sizeof img);
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    /* full regression frees every region */
    CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_FULL));
    for (unsigned r = 1; r <= 3; r++) {
        CHECK(vsafe_mcu_sfi_region_info(m, r, owner, &ver));
        assert_memory_equal(owner, zero, 32);
        assert_int_equal(ver, 0);
    }
    vsafe_mcu_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_parties_follow_the_lifecycle),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_tag_checked_even_when_signed),
        cmocka_unit_test(test_power_cut_every_nvm_op),
        cmocka_unit_test(test_power_cut_every_nvm_op_64k),
        cmocka_unit_test(test_regression_frees_regions),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 1; i <= 3; i++) {
        vsafe_da_key_free(party[i]);
    }
    vsafe_da_key_free(creds.root);
    vsafe_da_key_free(creds.inter);
    vsafe_da_key_free(creds.leaf);
    vsafe_da_key_free(creds.other);
    return rc;
}
