/* Private key slots: frames as STSELib lays them out, results checked with OpenSSL directly,
 * refusals with their status and no NVM change, usage limits to exhaustion, power cuts at every
 * NVM operation of Generate key and of a usage-limited signature, ephemeral key gone at reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hooks.h"
#include "keys_util.h"

typedef struct {
    vsafe_sim_nvm_t *sim;
    vsafe_se_t *se;
} kdev_t;

static vsafe_nvm_geometry_t geo(void)
{
    uint32_t bytes = vsafe_store_nvm_bytes(vsafe_se_core_image_size(&vsafe_profile_spl05), 16384u, 4096u);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = bytes / 4096u, .erased = 0xFF,
                              .may_reorder = 1};
    return g;
}

static void dev_open(kdev_t *d, uint64_t seed)
{
    vsafe_se_open_ext_t ext = {.nvm = vsafe_sim_nvm_port(d->sim), .rng_seed = seed};
    assert_int_equal(vsafe_se_open_ex(&d->se, NULL, &ext), VSAFE_OK);
}

static void dev_new(kdev_t *d, uint64_t seed)
{
    vsafe_nvm_geometry_t g = geo();
    assert_int_equal(vsafe_sim_nvm_new(&d->sim, &g, seed), VSAFE_OK);
    dev_open(d, seed);
}

static void dev_free(kdev_t *d)
{
    vsafe_se_close(d->se);
    vsafe_sim_nvm_free(d->sim);
}

/* 11 13 SLOT LIMIT(2) 00 00 CURVE_ID */
static int genkey(kdev_t *d, uint8_t slot, uint16_t limit, const ku_curve_t *cv, uint8_t *rsp, size_t *rl)
{
    uint8_t f[32] = {0x11, 0x13, slot, (uint8_t)(limit >> 8), (uint8_t)limit, 0x00, 0x00};
    memcpy(f + 7, cv->id, cv->id_len);
    return ku_cmd(d->se, f, 7 + cv->id_len, rsp, rl);
}

static int sign(kdev_t *d, uint8_t slot, const uint8_t *msg, uint16_t len, uint8_t *rsp, size_t *rl)
{
    uint8_t f[300] = {0x16, slot, (uint8_t)(len >> 8), (uint8_t)len};
    memcpy(f + 4, msg, len);
    return ku_cmd(d->se, f, 4u + len, rsp, rl);
}

/* The public key (X||Y or K) out of a Generate key response, checking its exact form. */
static void pub_of_genkey(const ku_curve_t *cv, const uint8_t *rsp, size_t rl, uint8_t *pub)
{
    if (cv->edwards != 0) {
        assert_int_equal(rl, 34);
        assert_int_equal(rsp[0], 0x00);
        assert_int_equal(rsp[1], 0x20);
        memcpy(pub, rsp + 2, 32);
        return;
    }
    assert_int_equal(rl, 1 + 2 * (2 + cv->coord));
    assert_int_equal(rsp[0], 0x04);
    assert_int_equal((rsp[1] << 8) | rsp[2], cv->coord);
    assert_int_equal((rsp[3 + cv->coord] << 8) | rsp[4 + cv->coord], cv->coord);
    memcpy(pub, rsp + 3, cv->coord);
    memcpy(pub + cv->coord, rsp + 5 + cv->coord, cv->coord);
}

static uint8_t *nvm_copy(kdev_t *d, size_t *n)
{
    uint8_t *m = vsafe_sim_nvm_mem(d->sim, n);
    uint8_t *c = malloc(*n);
    memcpy(c, m, *n);
    return c;
}

/* Every curve: generate in slot 1, sign (where the curve signs) and verify with OpenSSL, verify
 * an OpenSSL signature through 0x17, ECDH (where the curve establishes) against OpenSSL. */
static void test_every_curve(void **state)
{
    (void)state;
    kdev_t d;
    dev_new(&d, 11);
    uint8_t rsp[800], pub[132], msg[64];
    size_t rl = 0;
    for (size_t i = 0; i < sizeof ku_curves / sizeof ku_curves[0]; i++) {
        const ku_curve_t *cv = &ku_curves[i];
        assert_int_equal(genkey(&d, 1, 255, cv, rsp, &rl), 0x00);
        pub_of_genkey(cv, rsp, rl, pub);
        size_t mlen = cv->edwards ? 32 : (cv->coord >= 64 ? 64 : (cv->coord / 16) * 16);
        for (size_t k = 0; k < mlen; k++) {
            msg[k] = (uint8_t)(k * 13 + i);
        }
        if (cv->edwards != 2) {
            assert_int_equal(sign(&d, 1, msg, (uint16_t)mlen, rsp, &rl), 0x00);
            assert_int_equal(rl, 4 + 2 * cv->coord);
            assert_int_equal((rsp[0] << 8) | rsp[1], cv->coord);
            uint8_t rs[132];
            memcpy(rs, rsp + 2, cv->coord);
            memcpy(rs + cv->coord, rsp + 4 + cv->coord, cv->coord);
            assert_true(ku_openssl_verify(cv, pub, msg, mlen, rs));
            /* the device's verify of its own signature, and of a damaged one */
            uint8_t f[600] = {0x17, 0x00};
            size_t n = 2;
            memcpy(f + n, cv->id, cv->id_len);
            n += cv->id_len;
            n += ku_put_pub(f + n, cv, pub);
            memcpy(f + n, rsp, rl);
            n += rl;
            if (cv->edwards == 1) {
                f[n++] = 0x00;
            }
            f[n++] = 0;
            f[n++] = (uint8_t)mlen;
            memcpy(f + n, msg, mlen);
            n += mlen;
            uint8_t v[16];
            size_t vl = 0;
            assert_int_equal(ku_cmd(d.se, f, n, v, &vl), 0x00);
            assert_int_equal(vl, 1);
            assert_int_equal(v[0], 0x01);
            f[n - 1] ^= 0x01;
            assert_int_equal(ku_cmd(d.se, f, n, v, &vl), 0x00);
            assert_int_equal(v[0], 0x00);
        } else {
            assert_int_equal(sign(&d, 1, msg, 32, rsp, &rl), VSAFE_SE_ST_WRONG_KEY_TYPE);
        }
        if (cv->edwards != 1) {
            uint8_t hpub[132], f[300] = {0x18, 0x01}, want[132];
            EVP_PKEY *h = ku_keygen(cv, hpub);
            size_t n = 2 + ku_put_pub(f + 2, cv, hpub);
            assert_int_equal(ku_cmd(d.se, f, n, rsp, &rl), 0x00);
            size_t wl = ku_ecdh(h, cv, pub, want);
            assert_int_equal(wl, cv->coord);
            assert_int_equal(rl, 2 + wl);
            assert_int_equal((rsp[0] << 8) | rsp[1], wl);
            assert_memory_equal(rsp + 2, want, wl);
            EVP_PKEY_free(h);
        }
    }
    dev_free(&d);
}

/* The spec's traces: 01_Key_pair_generation_NIST_P256 and 03_ECDH's ephemeral key, byte for
 * byte including the CRC STSELib sends. */
static void test_trace_frames(void **state)
{
    (void)state;
    static const uint8_t p256_gen[] = {0x11, 0x13, 0x01, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x08, 0x2A,
                                       0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0xA1, 0xD8};
    static const uint8_t eph_gen[] = {0x11, 0x13, 0xFF, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x2A,
                                      0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x79, 0xB8};
    static const uint8_t ed_gen[] = {0x11, 0x13, 0x01, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x03, 0x2B, 0x65, 0x70, 0xC6, 0x91};
    kdev_t d;
    dev_new(&d, 12);
    uint8_t r[300];
    size_t rl = 0;
    assert_int_equal(vsafe_se_transceive(d.se, p256_gen, sizeof p256_gen, r, sizeof r, &rl), 0);
    assert_int_equal(r[0], 0x00);
    assert_int_equal((r[1] << 8) | r[2], 69 + 2);
    assert_int_equal(vsafe_se_transceive(d.se, ed_gen, sizeof ed_gen, r, sizeof r, &rl), 0);
    assert_int_equal(r[0], 0x00);
    assert_int_equal((r[1] << 8) | r[2], 34 + 2);
    assert_int_equal(vsafe_se_transceive(d.se, eph_gen, sizeof eph_gen, r, sizeof r, &rl), 0);
    assert_int_equal(r[0], 0x00);
    assert_int_equal((r[1] << 8) | r[2], 69 + 2);
    /* Query 0x14: 6 slots 00..04, FF; slot 0 the P-256 identity key, slot 1 Ed25519, slot FF
     * P-256; modes 00 24 / 80 05 / 00 01. */
    uint8_t q[] = {0x14, 0x14};
    assert_int_equal(ku_cmd(d.se, q, 2, r, &rl), 0x00);
    static const uint8_t want_head[] = {0x06, 0x00, 0xFF, 0xFF};
    assert_memory_equal(r, want_head, 4);
    size_t p = 4;
    static const uint8_t slot0[] = {0x00, 0x01, 0x00, 0x24, 0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    assert_memory_equal(r + p, slot0, sizeof slot0);
    p += sizeof slot0;
    static const uint8_t slot1[] = {0x01, 0x01, 0x80, 0x05, 0x00, 0x03, 0x2B, 0x65, 0x70};
    assert_memory_equal(r + p, slot1, sizeof slot1);
    p += sizeof slot1;
    for (uint8_t s = 2; s <= 4; s++) {
        static const uint8_t empty[] = {0x00, 0x80, 0x05};
        assert_int_equal(r[p], s);
        assert_memory_equal(r + p + 1, empty, 3);
        p += 4;
    }
    static const uint8_t eph[] = {0xFF, 0x01, 0x00, 0x01, 0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    assert_memory_equal(r + p, eph, sizeof eph);
    assert_int_equal(rl, p + sizeof eph);
    dev_free(&d);
}

/* Refusals of Generate key, signature, establish, decompress, verify: status and no NVM change. */
static void test_refusals_change_nothing(void **state)
{
    (void)state;
    kdev_t d;
    dev_new(&d, 13);
    uint8_t r[300], pub[132];
    size_t rl = 0;
    assert_int_equal(genkey(&d, 2, 0, KU_X25519, r, &rl), 0x00);
    assert_int_equal(genkey(&d, 3, 0, KU_ED25519, r, &rl), 0x00);
    size_t n0 = 0;
    uint8_t *before = nvm_copy(&d, &n0);
    uint8_t msg[32] = {1, 2, 3};
    static const uint8_t bad_curve[] = {0x00, 0x03, 0x2B, 0x65, 0x71};
    ku_curve_t unknown = {"none", {0}, 5, 32, 0};
    memcpy(unknown.id, bad_curve, 5);
    assert_int_equal(genkey(&d, 0, 0, KU_P256, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(genkey(&d, 5, 0, KU_P256, r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(genkey(&d, 1, 0, &unknown, r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_int_equal(genkey(&d, 0xFF, 1, KU_ED25519, r, &rl), VSAFE_SE_ST_WRONG_KEY_TYPE);
    assert_int_equal(sign(&d, 0xFF, msg, 32, r, &rl), VSAFE_SE_ST_WRONG_KEY_USAGE);
    assert_int_equal(sign(&d, 4, msg, 32, r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    assert_int_equal(sign(&d, 2, msg, 32, r, &rl), VSAFE_SE_ST_WRONG_KEY_TYPE);
    assert_int_equal(sign(&d, 7, msg, 32, r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    uint8_t f[200] = {0x18, 0x03};
    EVP_PKEY *h = ku_keygen(KU_ED25519, pub);
    size_t n = 2 + ku_put_pub(f + 2, KU_ED25519, pub);
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_WRONG_KEY_TYPE);
    f[1] = 0x04;
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    f[1] = 0xFF;
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    EVP_PKEY_free(h);
    /* X25519 all-zero output: the point 0 */
    uint8_t z[40] = {0x18, 0x02, 0x00, 0x20};
    assert_int_equal(ku_cmd(d.se, z, 36, r, &rl), VSAFE_SE_ST_INVALID_PUBLIC_KEY);
    /* decompress: X25519 curve, bad prefix */
    uint8_t dc[80] = {0x1F, 0x1A};
    memcpy(dc + 2, KU_X25519->id, 5);
    dc[7] = 0x02;
    assert_int_equal(ku_cmd(d.se, dc, 8 + 32, r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    memcpy(dc + 2, KU_P256->id, 10);
    dc[12] = 0x04;
    assert_int_equal(ku_cmd(d.se, dc, 13 + 32, r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    /* verify with subject 01 */
    uint8_t vf[4] = {0x17, 0x01, 0x00, 0x08};
    assert_int_equal(ku_cmd(d.se, vf, 4, r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    size_t n1 = 0;
    uint8_t *after = nvm_copy(&d, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    dev_free(&d);
}

/* Decompression against OpenSSL's own compressed form of a fresh key. */
static void test_decompress(void **state)
{
    (void)state;
    kdev_t d;
    dev_new(&d, 14);
    for (size_t i = 0; i < 6; i++) {
        const ku_curve_t *cv = &ku_curves[i];
        uint8_t pub[132], r[200], f[100] = {0x1F, 0x1A};
        size_t rl = 0;
        EVP_PKEY *k = ku_keygen(cv, pub);
        size_t n = 2;
        memcpy(f + n, cv->id, cv->id_len);
        n += cv->id_len;
        f[n++] = (uint8_t)(0x02 | (pub[2 * cv->coord - 1] & 1));
        memcpy(f + n, pub, cv->coord);
        n += cv->coord;
        assert_int_equal(ku_cmd(d.se, f, n, r, &rl), 0x00);
        assert_int_equal(rl, cv->coord);
        assert_memory_equal(r, pub + cv->coord, cv->coord);
        EVP_PKEY_free(k);
    }
    dev_free(&d);
}

/* PD-14: a limit of 3 signs three times, then 0x0B with the key still present; PD-46: the
 * ephemeral key serves one Establish key and is gone after it and after a reset. */
static void test_usage_limits(void **state)
{
    (void)state;
    kdev_t d;
    dev_new(&d, 15);
    uint8_t r[300], pub[132], msg[32] = {9};
    size_t rl = 0;
    assert_int_equal(genkey(&d, 2, 3, KU_P256, r, &rl), 0x00);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sign(&d, 2, msg, 32, r, &rl), 0x00);
    }
    size_t n0 = 0;
    uint8_t *before = nvm_copy(&d, &n0);
    assert_int_equal(sign(&d, 2, msg, 32, r, &rl), VSAFE_SE_ST_KEY_BLOCKED);
    uint8_t *after = nvm_copy(&d, &n0);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    uint8_t q[] = {0x14, 0x14};
    assert_int_equal(ku_cmd(d.se, q, 2, r, &rl), 0x00);
    assert_int_equal(r[4 + 14 + 4], 0x02); /* slot 2 record (slot 0 the P-256 identity, 1 empty) */
    assert_int_equal(r[4 + 14 + 4 + 1], 0x01); /* still present */
    /* a new key resets the count */
    assert_int_equal(genkey(&d, 2, 1, KU_P256, r, &rl), 0x00);
    assert_int_equal(sign(&d, 2, msg, 32, r, &rl), 0x00);
    assert_int_equal(sign(&d, 2, msg, 32, r, &rl), VSAFE_SE_ST_KEY_BLOCKED);

    /* ephemeral: single use even with a larger limit, also when the use fails */
    EVP_PKEY *h = ku_keygen(KU_P256, pub);
    uint8_t f[100] = {0x18, 0xFF};
    size_t n = 2 + ku_put_pub(f + 2, KU_P256, pub);
    assert_int_equal(genkey(&d, 0xFF, 5, KU_P256, r, &rl), 0x00);
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), 0x00);
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    assert_int_equal(genkey(&d, 0xFF, 1, KU_P256, r, &rl), 0x00);
    f[5] ^= 0x55; /* off the curve */
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_INVALID_PUBLIC_KEY);
    f[5] ^= 0x55;
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    /* gone at reset */
    assert_int_equal(genkey(&d, 0xFF, 1, KU_P256, r, &rl), 0x00);
    uint8_t reset[] = {0x01};
    assert_int_equal(ku_cmd(d.se, reset, 1, r, &rl), 0x00);
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    /* gone at power loss (close and reopen = power cycle) */
    assert_int_equal(genkey(&d, 0xFF, 1, KU_P256, r, &rl), 0x00);
    vsafe_se_close(d.se);
    dev_open(&d, 16);
    assert_int_equal(ku_cmd(d.se, f, n, r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    EVP_PKEY_free(h);
    dev_free(&d);
}

/* Power cut at every NVM operation of Generate key (slot 1 replacing a key) and of the second
 * use of a key limited to 2, under every write model. The oracle is what was acknowledged. */
static void test_power_cuts(void **state)
{
    (void)state;
    unsigned cuts = 0;
    for (int model = 1; model <= VSAFE_SIM_CUT_MODELS; model++) {
        for (int which = 0; which < 2; which++) {
            for (uint64_t n = 1;; n++) {
                kdev_t d;
                uint8_t r[300], pub_old[132], pub_new[132], msg[32] = {7};
                size_t rl = 0;
                dev_new(&d, n * 7 + (uint64_t)model);
                assert_int_equal(genkey(&d, 1, 2, KU_P256, r, &rl), 0x00);
                pub_of_genkey(KU_P256, r, rl, pub_old);
                if (which == 1) {
                    assert_int_equal(sign(&d, 1, msg, 32, r, &rl), 0x00);
                }
                assert_int_equal(vsafe_sim_nvm_arm_cut(d.sim, n, (vsafe_sim_cut_model_t)model), VSAFE_OK);
                int st = which == 0 ? genkey(&d, 1, 0, KU_P256, r, &rl) : sign(&d, 1, msg, 32, r, &rl);
                bool cut = vsafe_sim_nvm_cut_happened(d.sim);
                if (!cut) {
                    assert_int_equal(st, 0x00);
                    dev_free(&d);
                    break;
                }
                cuts++;
                assert_int_equal(st, -1); /* no answer */
                vsafe_se_close(d.se);
                vsafe_sim_nvm_power_on(d.sim);
                dev_open(&d, 99);
                if (which == 0) {
                    /* old key (limit 2, one use left... none spent) or a new unlimited key */
                    int s1 = sign(&d, 1, msg, 32, r, &rl);
                    assert_int_equal(s1, 0x00);
                    uint8_t rs[64];
                    memcpy(rs, r + 2, 32);
                    memcpy(rs + 32, r + 36, 32);
                    bool old = ku_openssl_verify(KU_P256, pub_old, msg, 32, rs);
                    int s2 = sign(&d, 1, msg, 32, r, &rl);
                    int s3 = sign(&d, 1, msg, 32, r, &rl);
                    if (old) {
                        assert_int_equal(s2, 0x00);
                        assert_int_equal(s3, VSAFE_SE_ST_KEY_BLOCKED);
                    } else {
                        assert_int_equal(s2, 0x00);
                        assert_int_equal(s3, 0x00);
                    }
                    (void)pub_new;
                } else {
                    /* the second use happened (0 left) or not (1 left) */
                    int s1 = sign(&d, 1, msg, 32, r, &rl);
                    if (s1 == 0x00) {
                        assert_int_equal(sign(&d, 1, msg, 32, r, &rl), VSAFE_SE_ST_KEY_BLOCKED);
                    } else {
                        assert_int_equal(s1, VSAFE_SE_ST_KEY_BLOCKED);
                    }
                }
                dev_free(&d);
            }
        }
    }
    print_message("power cuts checked: %u\n", cuts);
    assert_true(cuts > 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_curve),
        cmocka_unit_test(test_trace_frames),
        cmocka_unit_test(test_refusals_change_nothing),
        cmocka_unit_test(test_decompress),
        cmocka_unit_test(test_usage_limits),
        cmocka_unit_test(test_power_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
