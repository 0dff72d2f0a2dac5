/* The authenticated variants that provision symmetric keys: Establish symmetric keys (1F 04) and
 * Start volatile KEK (1F 03) signed by the key of a generic public key slot. The host's signature
 * over CURVE_ID || host public key || device ECDHE public key is made with OpenSSL here; the
 * derived keys are recomputed with OpenSSL (ECDH, HKDF, CMAC, AES key wrap) and read back from the
 * committed image; refusals with their status and the NVM unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <openssl/ecdsa.h>

#include "sym_util.h"

static const uint8_t sha256_id[11] = {0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

/* Writes signer's public key into generic public key slot gslot and sets its flags. */
static void gpub_write(sdev_t *d, uint8_t gslot, const uint8_t *spub, uint8_t flags1)
{
    uint8_t f[200] = {0x1F, 0x0A, gslot}, r[16];
    size_t rl;
    memcpy(f + 3, KU_P256->id, 10);
    size_t n = 13 + ku_put_pub(f + 13, KU_P256, spub);
    assert_int_equal(su_cmd(d, f, n, r, &rl), 0x00);
    uint8_t put[5] = {0x10, 0x4D, gslot, 0x00, flags1};
    assert_int_equal(su_cmd(d, put, 5, r, &rl), 0x00);
}

/* Generate ECDHE (P-256), then builds CODE CURVE_ID HOST_PUB ALG [00 SIG_SLOT SHA-256 R S] in f; the
 * device public key in dp, the shared secret in secret. signer NULL: the anonymous variant. bad:
 * one bit of S flipped. */
static size_t kex_frame(sdev_t *d, uint8_t code, uint8_t alg, EVP_PKEY *signer, uint8_t gslot, bool bad,
                        uint8_t *f, uint8_t dp[64], uint8_t secret[32], uint8_t hp[64])
{
    uint8_t r[200];
    size_t rl;
    uint8_t gen[12] = {0x1F, 0x0B};
    memcpy(gen + 2, KU_P256->id, 10);
    assert_int_equal(su_cmd(d, gen, 12, r, &rl), 0x00);
    assert_int_equal(rl, 10 + 69);
    memcpy(dp, r + 13, 32);
    memcpy(dp + 32, r + 47, 32);
    EVP_PKEY *h = ku_keygen(KU_P256, hp);
    assert_int_equal(ku_ecdh(h, KU_P256, dp, secret), 32);
    EVP_PKEY_free(h);
    size_t n = 0;
    f[n++] = 0x1F;
    f[n++] = code;
    memcpy(f + n, KU_P256->id, 10);
    n += 10;
    n += ku_put_pub(f + n, KU_P256, hp);
    f[n++] = alg;
    if (signer == NULL) {
        return n;
    }
    uint8_t tbs[148];
    memcpy(tbs, f + 2, 79);          /* CURVE_ID || host pub */
    memcpy(tbs + 79, r + 10, 69);    /* device pub, wire form */
    uint8_t der[100];
    size_t dl = sizeof der;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, signer), 1);
    assert_int_equal(EVP_DigestSign(m, der, &dl, tbs, sizeof tbs), 1);
    EVP_MD_CTX_free(m);
    const uint8_t *dptr = der;
    ECDSA_SIG *sg = d2i_ECDSA_SIG(NULL, &dptr, (long)dl);
    f[n++] = 0x00;
    f[n++] = gslot;
    memcpy(f + n, sha256_id, 11);
    n += 11;
    f[n++] = 0x00;
    f[n++] = 0x20;
    BN_bn2binpad(ECDSA_SIG_get0_r(sg), f + n, 32);
    n += 32;
    f[n++] = 0x00;
    f[n++] = 0x20;
    BN_bn2binpad(ECDSA_SIG_get0_s(sg), f + n, 32);
    n += 32;
    ECDSA_SIG_free(sg);
    if (bad) {
        f[n - 1] ^= 0x01;
    }
    return n;
}

static void put_ctrl3(sdev_t *d, uint8_t slot, uint8_t b0, uint8_t b1, uint8_t b2)
{
    uint8_t f[6] = {0x10, 0x4B, slot, b0, b1, b2}, r[8];
    size_t rl;
    assert_int_equal(su_cmd(d, f, 6, r, &rl), 0x00);
}

/* 1F 05 for one CMAC AES-128 record into slot, from the shared secret; *key gets the key. */
static size_t confirm_one(const uint8_t secret[32], uint8_t slot, uint8_t *f, uint8_t key[16])
{
    uint8_t okm[48], mac[16], rec[9];
    size_t rn = su_hex("0007 00 00 00 01 00 03 02", rec);
    rec[3] = slot;
    ossl_hkdf(su_salt, 32, secret, 32, (const uint8_t *)"\x12\x13", 2, okm, 48);
    ossl_cmac(okm, 32, rec, rn, mac);
    f[0] = 0x1F;
    f[1] = 0x05;
    memcpy(f + 2, mac, 8);
    memcpy(f + 10, rec, rn);
    memcpy(key, okm + 32, 16);
    return 10 + rn;
}

static void test_authenticated_establish(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 61);
    uint8_t spub[64], spub2[64], f[300], dp[64], hp[64], secret[32], r[100], key[16];
    size_t rl;
    EVP_PKEY *signer = ku_keygen(KU_P256, spub), *other = ku_keygen(KU_P256, spub2);
    gpub_write(&d, 0, spub, 0x01);       /* change right only: may not authenticate 1F 04 yet */
    gpub_write(&d, 1, spub2, 0x02);      /* may authenticate 1F 04 */
    put_ctrl3(&d, 3, 0x00, 0xFF, 0x00);  /* slot 3: only an establishment signed by slot 0 */
    put_ctrl3(&d, 4, 0x00, 0xFF, 0xFF);  /* slot 4: any authenticated establishment, no anonymous one */
    size_t n0, n1;
    uint8_t *before = su_nvm_copy(&d, &n0);
    /* the slot's flag is missing: 0x11, the ECDHE key consumed */
    size_t n = kex_frame(&d, 0x04, 0x02, signer, 0, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    uint8_t put[5] = {0x10, 0x4D, 0x00, 0x00, 0x02}; /* may authenticate 1F 04, change right given up */
    assert_int_equal(su_cmd(&d, put, 5, r, &rl), 0x00);
    free(before);
    before = su_nvm_copy(&d, &n0);
    /* a bad signature: 0x11, consumed, nothing pending */
    n = kex_frame(&d, 0x04, 0x02, signer, 0, true, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    n = confirm_one(secret, 3, f, key);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    /* an empty or unknown signing slot */
    n = kex_frame(&d, 0x04, 0x02, signer, 2, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    n = kex_frame(&d, 0x04, 0x02, signer, 9, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    /* anonymous: slot 3 refuses it */
    n = kex_frame(&d, 0x04, 0x02, NULL, 0, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    n = confirm_one(secret, 3, f, key);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* signed by slot 1: slot 3 wants slot 0 */
    n = kex_frame(&d, 0x04, 0x02, other, 1, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    n = confirm_one(secret, 3, f, key);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    uint8_t *after = su_nvm_copy(&d, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    /* signed by slot 0: slot 3 takes the key */
    n = kex_frame(&d, 0x04, 0x02, signer, 0, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    n = confirm_one(secret, 3, f, key);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    uint32_t il;
    uint8_t *img = su_image(&d, &il);
    assert_memory_equal(img + SU_SYM_REC(img, 3) + 16, key, 16);
    free(img);
    /* signed by slot 1: slot 4 (no anonymous, no particular signer) takes it */
    n = kex_frame(&d, 0x04, 0x02, other, 1, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    n = confirm_one(secret, 4, f, key);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    img = su_image(&d, &il);
    assert_memory_equal(img + SU_SYM_REC(img, 4) + 16, key, 16);
    free(img);
    EVP_PKEY_free(signer);
    EVP_PKEY_free(other);
    su_free(&d);
}

/* Finding (this work): an authenticated Start volatile KEK recorded its session as anonymous, so a
 * wrapped write into a slot that names its signing slot (control byte 1) was refused with 0x11,
 * and a slot that allows only anonymous wrapped writes accepted it. */
static void regress_authenticated_kek_recorded_anonymous(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 62);
    uint8_t spub[64], f[300], dp[64], hp[64], secret[32], r[100];
    size_t rl;
    EVP_PKEY *signer = ku_keygen(KU_P256, spub);
    gpub_write(&d, 2, spub, 0x04);      /* may authenticate 1F 03 */
    put_ctrl3(&d, 5, 0x00, 0x02, 0xFF); /* slot 5: wrapped writes in sessions signed by slot 2 */
    size_t n = kex_frame(&d, 0x03, 0x01, signer, 2, false, f, dp, secret, hp);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    uint8_t info[128], base[32], wk[32], pl[32], env[40];
    memcpy(info, dp, 64);
    memcpy(info + 64, hp, 64);
    ossl_hkdf(su_salt, 32, secret, 32, info, 128, base, 32);
    ossl_hkdf(su_salt, 32, base, 32, (const uint8_t *)"\x10\x11\x01", 3, wk, 32);
    size_t pn = su_hex("00050001000302 0102030405060708090A0B0C0D0E0F10 80", pl);
    assert_int_equal(ossl_kw(wk, 32, pl, pn, env, true), pn + 8);
    uint8_t w[48] = {0x1F, 0x09};
    memcpy(w + 2, env, pn + 8);
    assert_int_equal(su_cmd(&d, w, 2 + pn + 8, r, &rl), 0x00);
    assert_int_equal(su_hexcmd(&d, "1F 06", r, &rl), 0x00);
    uint32_t il;
    uint8_t *img = su_image(&d, &il);
    assert_memory_equal(img + SU_SYM_REC(img, 5) + 16, pl + 7, 16);
    free(img);
    EVP_PKEY_free(signer);
    su_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authenticated_establish),
        cmocka_unit_test(regress_authenticated_kek_recorded_anonymous),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
