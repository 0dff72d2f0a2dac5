/* Known-answer tests of the OpenSSL crypto port: RFC 4493 / SP 800-38B AES-CMAC, SP 800-38A
 * AES-ECB and AES-CBC, RFC 3394 key unwrap, RFC 5869 HKDF, SHA-256, P-256 ECDH and ECDSA, the
 * seeded generator, and the channel IVs of the verified traces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "hooks.h"
#include "crypto_fixture.h"


static const char msg64[] = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

static void check_cmac(const vsafe_crypto_t *c, unsigned slot, size_t mlen, const char *tag_hex)
{
    uint8_t m[64], tag[16], exp[16], mac[16];
    unhex(msg64, m, sizeof m);
    unhex(tag_hex, exp, sizeof exp);
    vsafe_iov_t one = {m, mlen};
    assert_int_equal(c->cmac(c->ctx, slot, &one, 1, mac), VSAFE_OK);
    assert_memory_equal(mac, exp, 16);
    /* Same message split into odd pieces: the context is reused and streaming must agree. */
    vsafe_iov_t parts[3] = {{m, mlen / 3}, {m + mlen / 3, 0}, {m + mlen / 3, mlen - mlen / 3}};
    assert_int_equal(c->cmac(c->ctx, slot, parts, 3, tag), VSAFE_OK);
    assert_memory_equal(tag, exp, 16);
}

static void test_cmac_rfc4493(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    uint8_t k[32];
    unhex("2b7e151628aed2a6abf7158809cf4f3c", k, sizeof k);
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_HOST_MAC, k, 16), VSAFE_OK);
    check_cmac(c, VSAFE_KEY_HOST_MAC, 0, "bb1d6929e95937287fa37d129b756746");
    check_cmac(c, VSAFE_KEY_HOST_MAC, 16, "070a16b46b4d4144f79bdd9dd04a287c");
    check_cmac(c, VSAFE_KEY_HOST_MAC, 40, "dfa66747de9ae63030ca32611497c827");
    check_cmac(c, VSAFE_KEY_HOST_MAC, 64, "51f0bebf7e3b9d92fc49741779363cfe");
    /* SP 800-38B AES-256 examples, in another slot, after re-keying the first. */
    unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", k, sizeof k);
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_SCRATCH1, k, 32), VSAFE_OK);
    check_cmac(c, VSAFE_KEY_SCRATCH1, 0, "028962f61b7bf89efc6b551f4667d983");
    check_cmac(c, VSAFE_KEY_SCRATCH1, 16, "28a7023f452e8f82bd4bf28d8c37c35c");
    check_cmac(c, VSAFE_KEY_SCRATCH1, 40, "aaf3d8f1de5640c232f5b169b9c911e6");
    check_cmac(c, VSAFE_KEY_SCRATCH1, 64, "e1992190549f6ed5696a2c056c315410");
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_HOST_MAC, k, 32), VSAFE_OK);
    check_cmac(c, VSAFE_KEY_HOST_MAC, 16, "28a7023f452e8f82bd4bf28d8c37c35c");
}

static void test_ecb_cbc_sp800_38a(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    uint8_t k[32], iv[16], pt[64], ct[64], exp[64], buf[64];
    unhex("2b7e151628aed2a6abf7158809cf4f3c", k, sizeof k);
    unhex(msg64, pt, sizeof pt);
    unhex("000102030405060708090a0b0c0d0e0f", iv, sizeof iv);
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_HOST_CIPHER, k, 16), VSAFE_OK);
    assert_int_equal(c->aes_ecb_encrypt(c->ctx, VSAFE_KEY_HOST_CIPHER, pt, ct), VSAFE_OK);
    unhex("3ad77bb40d7a3660a89ecaf32466ef97", exp, sizeof exp);
    assert_memory_equal(ct, exp, 16);

    unhex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
          "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
          exp, sizeof exp);
    assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 1, iv, pt, 64, ct), VSAFE_OK);
    assert_memory_equal(ct, exp, 64);
    /* Again, to prove the IV is reset per call, and in place. */
    memcpy(buf, pt, 64);
    assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 1, iv, buf, 64, buf), VSAFE_OK);
    assert_memory_equal(buf, exp, 64);
    assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 0, iv, buf, 64, buf), VSAFE_OK);
    assert_memory_equal(buf, pt, 64);
    assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 0, iv, ct + 16, 16, buf), VSAFE_OK);
    /* wrong IV for block 2 -> not block 2 */
    assert_memory_not_equal(buf, pt + 16, 16);
    assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 1, iv, pt, 15, ct), VSAFE_ERR_ARGUMENT);

    unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", k, sizeof k);
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_HOST_CIPHER, k, 32), VSAFE_OK);
    unhex("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
          "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b",
          exp, sizeof exp);
    assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 1, iv, pt, 64, ct), VSAFE_OK);
    assert_memory_equal(ct, exp, 64);
    assert_int_equal(c->aes_ecb_encrypt(c->ctx, VSAFE_KEY_HOST_CIPHER, pt, ct), VSAFE_OK);
    unhex("f3eed1bdb5d2a03c064b5a7e3db181f8", exp, sizeof exp);
    assert_memory_equal(ct, exp, 16);
}

/* The verified traces: the channel IVs with the SDK test cipher key at counter 1. */
static void test_spec_channel_ivs(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    uint8_t k[16], blk[16] = {0, 0, 0, 1, 0x80, 0x80}, iv[16], exp[16];
    unhex("0123456789ABCDEF0123456789ABCDEF", k, sizeof k);
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_HOST_CIPHER, k, 16), VSAFE_OK);
    assert_int_equal(c->aes_ecb_encrypt(c->ctx, VSAFE_KEY_HOST_CIPHER, blk, iv), VSAFE_OK);
    unhex("D43E0C37DBEBA0DBED76C45A99D12859", exp, sizeof exp);
    assert_memory_equal(iv, exp, 16);
    blk[4] = 0xC0;
    assert_int_equal(c->aes_ecb_encrypt(c->ctx, VSAFE_KEY_HOST_CIPHER, blk, iv), VSAFE_OK);
    unhex("1A4C77D3C02BE038BA646883EE1CB16E", exp, sizeof exp);
    assert_memory_equal(iv, exp, 16);
}

static void test_key_slots(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    uint8_t k[24] = {0}, mac[16], blk[16] = {0};
    vsafe_iov_t one = {blk, 16};
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_SCRATCH0, k, 24), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_SLOTS, k, 16), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_SCRATCH0, k, 16), VSAFE_OK);
    assert_int_equal(c->cmac(c->ctx, VSAFE_KEY_SCRATCH0, &one, 1, mac), VSAFE_OK);
    c->key_clear(c->ctx, VSAFE_KEY_SCRATCH0);
    assert_int_not_equal(c->cmac(c->ctx, VSAFE_KEY_SCRATCH0, &one, 1, mac), VSAFE_OK);
    assert_int_not_equal(c->aes_ecb_encrypt(c->ctx, VSAFE_KEY_SCRATCH0, blk, mac), VSAFE_OK);
    assert_int_not_equal(c->aes_cbc(c->ctx, VSAFE_KEY_SCRATCH0, 1, blk, blk, 16, mac), VSAFE_OK);
}

static void test_kw_rfc3394(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    uint8_t kek[32], in[40], out[32], exp[32];
    unhex("000102030405060708090A0B0C0D0E0F", kek, sizeof kek);
    unhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5", in, sizeof in);
    unhex("00112233445566778899AABBCCDDEEFF", exp, sizeof exp);
    assert_int_equal(c->aes_kw_unwrap(c->ctx, kek, 16, in, 24, out), VSAFE_OK);
    assert_memory_equal(out, exp, 16);
    in[5] ^= 1;
    assert_int_equal(c->aes_kw_unwrap(c->ctx, kek, 16, in, 24, out), VSAFE_ERR_CRYPTO);
    uint8_t zero[16] = {0};
    assert_memory_equal(out, zero, 16); /* failed output is wiped */

    unhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", kek, sizeof kek);
    unhex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21", in, sizeof in);
    unhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", exp, sizeof exp);
    assert_int_equal(c->aes_kw_unwrap(c->ctx, kek, 32, in, 40, out), VSAFE_OK);
    assert_memory_equal(out, exp, 32);

    /* Round trip of a host-key envelope (host key provisioning): wrap with OpenSSL directly, unwrap via port. */
    uint8_t env_pt[72], env[80], back[72];
    for (size_t i = 0; i < sizeof env_pt; i++) {
        env_pt[i] = (uint8_t)(i * 7 + 3);
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap(), NULL, kek, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, env, &l1, env_pt, 72), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, env + l1, &l2), 1);
    EVP_CIPHER_CTX_free(ctx);
    assert_int_equal(l1 + l2, 80);
    assert_int_equal(c->aes_kw_unwrap(c->ctx, kek, 32, env, 80, back), VSAFE_OK);
    assert_memory_equal(back, env_pt, 72);
    assert_int_equal(c->aes_kw_unwrap(c->ctx, kek, 32, env, 20, back), VSAFE_ERR_ARGUMENT);
}

static void test_hkdf_rfc5869_and_sha256(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    uint8_t ikm[22], salt[13], info[10], okm[42], exp[42];
    memset(ikm, 0x0b, sizeof ikm);
    unhex("000102030405060708090a0b0c", salt, sizeof salt);
    unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof info);
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", exp, sizeof exp);
    assert_int_equal(c->hkdf_sha256(c->ctx, salt, 13, ikm, 22, info, 10, okm, 42), VSAFE_OK);
    assert_memory_equal(okm, exp, 42);
    /* RFC 5869 test 3: no salt, no info */
    unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8", exp, sizeof exp);
    assert_int_equal(c->hkdf_sha256(c->ctx, NULL, 0, ikm, 22, NULL, 0, okm, 42), VSAFE_OK);
    assert_memory_equal(okm, exp, 42);

    uint8_t h[32], hexp[32];
    vsafe_iov_t iov[2] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"bc", 2}};
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hexp, sizeof hexp);
    assert_int_equal(c->sha256(c->ctx, iov, 2, h), VSAFE_OK);
    assert_memory_equal(h, hexp, 32);
}

static void test_ecdh_p256(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *a = fx->c;
    vsafe_openssl_crypto_t *ob;
    assert_int_equal(vsafe_openssl_crypto_new(&ob, 42), VSAFE_OK);
    const vsafe_crypto_t *b = vsafe_openssl_crypto_port(ob);
    uint8_t pa[64], pb[64], sa[32], sb[32];
    assert_int_equal(a->ecdh_derive(a->ctx, pa, sa), VSAFE_ERR_STATE);
    assert_int_equal(a->ecdh_keygen(a->ctx, pa), VSAFE_OK);
    assert_int_equal(b->ecdh_keygen(b->ctx, pb), VSAFE_OK);
    assert_int_equal(a->ecdh_derive(a->ctx, pb, sa), VSAFE_OK);
    assert_int_equal(b->ecdh_derive(b->ctx, pa, sb), VSAFE_OK);
    assert_memory_equal(sa, sb, 32);
    /* A point off the curve is refused. */
    pb[63] ^= 1;
    assert_int_not_equal(a->ecdh_derive(a->ctx, pb, sa), VSAFE_OK);
    a->ecdh_clear(a->ctx);
    assert_int_equal(a->ecdh_derive(a->ctx, pa, sa), VSAFE_ERR_STATE);
    vsafe_openssl_crypto_free(ob);
}

static void test_ecdsa_verify(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    uint8_t point[65], digest[32], sig[64], der[80];
    size_t plen = 0, dlen = sizeof der;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, "pub", point, sizeof point, &plen), 1);
    assert_int_equal(plen, 65);
    memset(digest, 0x5A, sizeof digest);
    EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(k, NULL);
    assert_int_equal(EVP_PKEY_sign_init(sctx), 1);
    assert_int_equal(EVP_PKEY_sign(sctx, der, &dlen, digest, 32), 1);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    assert_non_null(es);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
    assert_int_equal(c->ecdsa_verify(c->ctx, point + 1, digest, sig), VSAFE_OK);
    digest[0] ^= 1;
    assert_int_equal(c->ecdsa_verify(c->ctx, point + 1, digest, sig), VSAFE_ERR_CRYPTO);
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(sctx);
    EVP_PKEY_free(k);
}

static void test_seeded_rng(void **state)
{
    (void)state;
    vsafe_openssl_crypto_t *x, *y, *z;
    uint8_t a[100], b[100], d[100];
    assert_int_equal(vsafe_openssl_crypto_new(&x, 7), VSAFE_OK);
    assert_int_equal(vsafe_openssl_crypto_new(&y, 7), VSAFE_OK);
    assert_int_equal(vsafe_openssl_crypto_new(&z, 8), VSAFE_OK);
    const vsafe_crypto_t *px = vsafe_openssl_crypto_port(x), *py = vsafe_openssl_crypto_port(y),
                         *pz = vsafe_openssl_crypto_port(z);
    assert_int_equal(px->random(px->ctx, a, 37), VSAFE_OK);
    assert_int_equal(px->random(px->ctx, a + 37, 63), VSAFE_OK);
    assert_int_equal(py->random(py->ctx, b, 100), VSAFE_OK);
    assert_int_equal(pz->random(pz->ctx, d, 100), VSAFE_OK);
    assert_memory_equal(a, b, 100);
    assert_memory_not_equal(a, d, 100);
    uint8_t ka[64], kb[64];
    assert_int_equal(px->ecdh_keygen(px->ctx, ka), VSAFE_OK);
    assert_int_equal(py->ecdh_keygen(py->ctx, kb), VSAFE_OK);
    assert_memory_equal(ka, kb, 64);
    assert_true(vsafe_openssl_crypto_memory(x) > 0);
    vsafe_openssl_crypto_free(x);
    vsafe_openssl_crypto_free(y);
    vsafe_openssl_crypto_free(z);
    vsafe_openssl_crypto_free(NULL);
}

/* The short (block by block) and long (EVP) paths agree with OpenSSL one-shot computations at
 * every length around their switch-over, for both key sizes, split into random iovecs. */
static void test_short_and_long_paths_agree(void **state)
{
    fx_t *fx = *state;
    const vsafe_crypto_t *c = fx->c;
    static uint8_t msg[700], out[700], ref[700];
    uint8_t key[32], iv[16], mac[16], refmac[16];
    for (size_t i = 0; i < sizeof msg; i++) {
        msg[i] = (uint8_t)(i * 31 + 7);
    }
    for (int kl = 16; kl <= 32; kl += 16) {
        for (int i = 0; i < kl; i++) {
            key[i] = (uint8_t)(i + kl);
        }
        memset(iv, 0x3C, sizeof iv);
        assert_int_equal(c->key_set(c->ctx, VSAFE_KEY_SCRATCH0, key, (size_t)kl), VSAFE_OK);
        for (size_t len = 0; len <= 600; len += (len < 300 ? 1 : 37)) {
            size_t cut1 = len / 3, cut2 = len - len / 5;
            vsafe_iov_t iov[3] = {{msg, cut1}, {msg + cut1, cut2 - cut1}, {msg + cut2, len - cut2}};
            size_t rl = 0;
            assert_int_equal(c->cmac(c->ctx, VSAFE_KEY_SCRATCH0, iov, 3, mac), VSAFE_OK);
            assert_non_null(EVP_Q_mac(NULL, "CMAC", NULL, kl == 16 ? "AES-128-CBC" : "AES-256-CBC", NULL, key,
                                      (size_t)kl, msg, len, refmac, sizeof refmac, &rl));
            assert_memory_equal(mac, refmac, 16);
            if (len % 16 == 0 && len > 0) {
                EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
                int o1 = 0;
                assert_int_equal(EVP_EncryptInit_ex(x, kl == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL, key, iv), 1);
                EVP_CIPHER_CTX_set_padding(x, 0);
                assert_int_equal(EVP_EncryptUpdate(x, ref, &o1, msg, (int)len), 1);
                EVP_CIPHER_CTX_free(x);
                assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_SCRATCH0, 1, iv, msg, len, out), VSAFE_OK);
                assert_memory_equal(out, ref, len);
                assert_int_equal(c->aes_cbc(c->ctx, VSAFE_KEY_SCRATCH0, 0, iv, out, len, out), VSAFE_OK);
                assert_memory_equal(out, msg, len);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmac_rfc4493),      cmocka_unit_test(test_ecb_cbc_sp800_38a),
        cmocka_unit_test(test_spec_channel_ivs),  cmocka_unit_test(test_key_slots),
        cmocka_unit_test(test_kw_rfc3394),        cmocka_unit_test(test_hkdf_rfc5869_and_sha256),
        cmocka_unit_test(test_ecdh_p256),         cmocka_unit_test(test_ecdsa_verify),
        cmocka_unit_test(test_seeded_rng),        cmocka_unit_test(test_short_and_long_paths_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
