/* Generic public key slots and entity authentication: frames as STSELib lays them out, the
 * entity signature made with OpenSSL directly, refusals with their status and no NVM change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hooks.h"
#include "keys_util.h"

static vsafe_se_t *dev(vsafe_sim_nvm_t **sim)
{
    uint32_t bytes = vsafe_store_nvm_bytes(vsafe_se_core_image_size(&vsafe_profile_spl05), 16384u, 4096u);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = bytes / 4096u, .erased = 0xFF,
                              .may_reorder = 1};
    assert_int_equal(vsafe_sim_nvm_new(sim, &g, 5), VSAFE_OK);
    vsafe_se_open_ext_t ext = {.nvm = vsafe_sim_nvm_port(*sim), .rng_seed = 5};
    vsafe_se_t *se = NULL;
    assert_int_equal(vsafe_se_open_ex(&se, NULL, &ext), VSAFE_OK);
    return se;
}

/* ECDSA over the 16 challenge bytes as the digest, R||S, with OpenSSL. */
static void ecdsa_sign16(EVP_PKEY *k, const uint8_t *msg, uint8_t rs[64])
{
    uint8_t der[100];
    size_t dl = sizeof der;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    assert_int_equal(EVP_PKEY_sign_init(c), 1);
    assert_int_equal(EVP_PKEY_sign(c, der, &dl, msg, 16), 1);
    EVP_PKEY_CTX_free(c);
    const uint8_t *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(s);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + 32, 32);
    ECDSA_SIG_free(s);
}

static void test_slots_and_entity_auth(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = NULL;
    vsafe_se_t *se = dev(&sim);
    uint8_t r[300], pub[132], f[300];
    size_t rl = 0, n;
    /* factory: 4 empty slots, flags 00 01 */
    uint8_t q48[] = {0x14, 0x48};
    assert_int_equal(ku_cmd(se, q48, 2, r, &rl), 0x00);
    static const uint8_t t0[] = {4, 0, 0, 0, 0x01, 1, 0, 0, 0x01, 2, 0, 0, 0x01, 3, 0, 0, 0x01};
    assert_int_equal(rl, sizeof t0);
    assert_memory_equal(r, t0, sizeof t0);
    uint8_t q4c[] = {0x14, 0x4C, 0x01};
    static const uint8_t empty[] = {0x00, 0x00, 0x01};
    assert_int_equal(ku_cmd(se, q4c, 3, r, &rl), 0x00);
    assert_int_equal(rl, 3);
    assert_memory_equal(r, empty, 3);

    /* write a P-256 key into slot 1, read it back */
    EVP_PKEY *k = ku_keygen(KU_P256, pub);
    f[0] = 0x1F;
    f[1] = 0x0A;
    f[2] = 0x01;
    memcpy(f + 3, KU_P256->id, 10);
    n = 13 + ku_put_pub(f + 13, KU_P256, pub);
    assert_int_equal(ku_cmd(se, f, n, r, &rl), 0x00);
    assert_int_equal(ku_cmd(se, q4c, 3, r, &rl), 0x00);
    assert_int_equal(rl, 3 + 10 + 69);
    assert_int_equal(r[0], 1);
    assert_memory_equal(r + 3, KU_P256->id, 10);
    assert_memory_equal(r + 13, f + 13, 69);

    /* refusals, NVM unchanged */
    size_t mlen = 0;
    uint8_t *m = vsafe_sim_nvm_mem(sim, &mlen), *before = malloc(mlen);
    memcpy(before, m, mlen);
    assert_int_equal(ku_cmd(se, f, n, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED); /* write-once */
    f[2] = 0x04;
    assert_int_equal(ku_cmd(se, f, n, r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    f[2] = 0x02;
    f[13 + 3 + 31] ^= 0x01; /* X changed: off the curve (with overwhelming probability) */
    assert_int_equal(ku_cmd(se, f, n, r, &rl), VSAFE_SE_ST_INVALID_PUBLIC_KEY);
    uint8_t badcurve[] = {0x1F, 0x0A, 0x02, 0x00, 0x03, 0x2B, 0x65, 0x71, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                          11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    assert_int_equal(ku_cmd(se, badcurve, sizeof badcurve, r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    uint8_t ver0[] = {0x1F, 0x0F, 0x00, 0x01};
    assert_int_equal(ku_cmd(se, ver0, sizeof ver0, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    memcpy(f, (uint8_t[]){0x1F, 0x0E}, 2);
    assert_int_equal(ku_cmd(se, f, 2, r, &rl), 0x00);
    uint8_t v[80] = {0x1F, 0x0F, 0x00, 0x01, 0x00, 0x20};
    v[38] = 0x00;
    v[39] = 0x20;
    assert_int_equal(ku_cmd(se, v, 72, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED); /* flag not set */
    uint8_t *after = vsafe_sim_nvm_mem(sim, &mlen);
    assert_memory_equal(before, after, mlen);
    free(before);

    /* flags: entity authentication + change right; then clear the change right */
    uint8_t put[] = {0x10, 0x4D, 0x01, 0x00, 0x09};
    assert_int_equal(ku_cmd(se, put, 5, r, &rl), 0x00);
    uint8_t ch[] = {0x1F, 0x0E}, chal[16], rs[64];
    assert_int_equal(ku_cmd(se, ch, 2, chal, &rl), 0x00);
    assert_int_equal(rl, 16);
    ecdsa_sign16(k, chal, rs);
    memcpy(v + 6, rs, 32);
    memcpy(v + 40, rs + 32, 32);
    assert_int_equal(ku_cmd(se, v, 72, r, &rl), 0x00);
    assert_int_equal(rl, 1);
    assert_int_equal(r[0], 0x01);
    /* the challenge is consumed */
    assert_int_equal(ku_cmd(se, v, 72, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    /* a signature over another challenge does not verify */
    assert_int_equal(ku_cmd(se, ch, 2, chal, &rl), 0x00);
    assert_int_equal(ku_cmd(se, v, 72, r, &rl), 0x00);
    assert_int_equal(r[0], 0x00);
    /* reset drops a pending challenge */
    assert_int_equal(ku_cmd(se, ch, 2, chal, &rl), 0x00);
    uint8_t reset[] = {0x01};
    assert_int_equal(ku_cmd(se, reset, 1, r, &rl), 0x00);
    ecdsa_sign16(k, chal, rs);
    memcpy(v + 6, rs, 32);
    memcpy(v + 40, rs + 32, 32);
    assert_int_equal(ku_cmd(se, v, 72, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    put[4] = 0x08; /* keep entity authentication, give up the change right */
    assert_int_equal(ku_cmd(se, put, 5, r, &rl), 0x00);
    put[4] = 0x09;
    assert_int_equal(ku_cmd(se, put, 5, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(ku_cmd(se, q48, 2, r, &rl), 0x00);
    static const uint8_t rec1[] = {1, 1, 0x00, 0x08, 0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    assert_memory_equal(r + 5, rec1, sizeof rec1);
    EVP_PKEY_free(k);
    vsafe_se_close(se);
    vsafe_sim_nvm_free(sim);
}

/* PD-16: Start volatile KEK authenticated by generic slot 0 (flag "KEK"): the host signs
 * CURVE_ID || host pub || device ECDHE pub (SHA-256, ECDSA) with OpenSSL; a bad signature or a
 * slot without the flag is 0x11 and consumes the ECDHE key. */
static void test_authenticated_kek(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = NULL;
    vsafe_se_t *se = dev(&sim);
    uint8_t r[300], spub[132], hpub[132], f[400];
    size_t rl = 0;
    EVP_PKEY *signer = ku_keygen(KU_P256, spub);
    f[0] = 0x1F;
    f[1] = 0x0A;
    f[2] = 0x00;
    memcpy(f + 3, KU_P256->id, 10);
    size_t n = 13 + ku_put_pub(f + 13, KU_P256, spub);
    assert_int_equal(ku_cmd(se, f, n, r, &rl), 0x00);
    EVP_PKEY *host = ku_keygen(KU_P256, hpub);
    for (int round = 0; round < 3; round++) {
        if (round == 2) {
            uint8_t put[] = {0x10, 0x4D, 0x00, 0x00, 0x05}; /* change right + may authenticate 1F 03 */
            assert_int_equal(ku_cmd(se, put, 5, r, &rl), 0x00);
        }
        uint8_t gen[12] = {0x1F, 0x0B};
        memcpy(gen + 2, KU_P256->id, 10);
        assert_int_equal(ku_cmd(se, gen, 12, r, &rl), 0x00);
        assert_int_equal(rl, 10 + 69);
        uint8_t tbs[148];
        memcpy(tbs, KU_P256->id, 10);
        ku_put_pub(tbs + 10, KU_P256, hpub);
        memcpy(tbs + 79, r + 10, 69);
        uint8_t der[100];
        size_t dl = sizeof der;
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, signer), 1);
        assert_int_equal(EVP_DigestSign(m, der, &dl, tbs, sizeof tbs), 1);
        EVP_MD_CTX_free(m);
        const uint8_t *dp = der;
        ECDSA_SIG *sg = d2i_ECDSA_SIG(NULL, &dp, (long)dl);
        uint8_t k[300] = {0x1F, 0x03};
        size_t kn = 2;
        memcpy(k + kn, tbs, 79);
        kn += 79;
        k[kn++] = 0x01; /* ALG_ID */
        static const uint8_t sha256_id[11] = {0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
        k[kn++] = 0x00;
        k[kn++] = 0x00; /* SIG_SLOT */
        memcpy(k + kn, sha256_id, 11);
        kn += 11;
        k[kn++] = 0x00;
        k[kn++] = 0x20;
        BN_bn2binpad(ECDSA_SIG_get0_r(sg), k + kn, 32);
        kn += 32;
        k[kn++] = 0x00;
        k[kn++] = 0x20;
        BN_bn2binpad(ECDSA_SIG_get0_s(sg), k + kn, 32);
        kn += 32;
        ECDSA_SIG_free(sg);
        if (round == 0) {
            /* flag not set yet */
            assert_int_equal(ku_cmd(se, k, kn, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
            assert_int_equal(ku_cmd(se, k, kn, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING); /* consumed */
            uint8_t put[] = {0x10, 0x4D, 0x00, 0x00, 0x05};
            assert_int_equal(ku_cmd(se, put, 5, r, &rl), 0x00);
        } else if (round == 1) {
            k[kn - 1] ^= 0x01; /* S damaged */
            assert_int_equal(ku_cmd(se, k, kn, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
        } else {
            assert_int_equal(ku_cmd(se, k, kn, r, &rl), 0x00);
            uint8_t stop[] = {0x1F, 0x06};
            assert_int_equal(ku_cmd(se, stop, 2, r, &rl), 0x00);
        }
    }
    EVP_PKEY_free(signer);
    EVP_PKEY_free(host);
    vsafe_se_close(se);
    vsafe_sim_nvm_free(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_and_entity_auth),
        cmocka_unit_test(test_authenticated_kek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
