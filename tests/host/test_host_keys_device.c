/* Host key-service API against the in-process device (SPL05): the private key table, Generate key
 * for every curve, signatures checked with OpenSSL directly, device-side verification of a
 * signature made by OpenSSL, ECDH with the ephemeral slot recomputed with OpenSSL, and the
 * device's refusals mapped to their statuses; Establish key through the secure channel with
 * response encryption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "vsafe/host.h"
#include "vsafe/se_wire.h"

typedef struct {
    vsafe_se_t *se;
    vsafe_host_t *h;
} fx_t;

static int setup(void **state)
{
    static fx_t f;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    assert_int_equal(vsafe_se_open(&f.se, &o), 0);
    assert_int_equal(vsafe_host_open_se(&f.h, f.se), 0);
    assert_int_equal(vsafe_host_init(f.h), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    vsafe_host_close(f->h);
    vsafe_se_close(f->se);
    return 0;
}

/* An OpenSSL public key of a Weierstrass curve from X||Y. */
static EVP_PKEY *ossl_ec_pub(const char *group, const uint8_t *xy, size_t k)
{
    uint8_t pt[1 + 2 * 66];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 2 * k);
    char g[32];
    snprintf(g, sizeof g, "%s", group);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, g, 0),
                      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * k), OSSL_PARAM_END};
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
    assert_int_equal(EVP_PKEY_fromdata(c, &key, EVP_PKEY_PUBLIC_KEY, p), 1);
    EVP_PKEY_CTX_free(c);
    return key;
}

/* ECDSA (r, s) over a digest, checked by OpenSSL. */
static int ossl_ecdsa_ok(EVP_PKEY *key, const uint8_t *dgst, size_t dn, const uint8_t *rs, size_t half)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(rs, (int)half, NULL), BN_bin2bn(rs + half, (int)half, NULL));
    unsigned char der[200], *pd = der;
    int dl = i2d_ECDSA_SIG(sig, &pd);
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    int ok = EVP_PKEY_verify(c, der, (size_t)dl, dgst, dn);
    EVP_PKEY_CTX_free(c);
    return ok == 1;
}

static void test_table_and_p256(void **state)
{
    fx_t *f = *state;
    vsafe_host_privkey_t s[8];
    size_t count = 0;
    uint16_t limit = 0;
    int rc = vsafe_host_privkey_table(f->h, s, 8, &count, &limit);
    assert_int_equal(rc, 0);
    assert_int_equal(count, 6);
    assert_int_equal(s[5].slot, VSAFE_HOST_EPHEMERAL_SLOT);
    uint8_t pub[VSAFE_EC_MAX_PUB], sig[VSAFE_EC_MAX_SIG], msg[32];
    size_t n = 0, sn = 0;
    rc = vsafe_host_generate_key(f->h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P256, 10, pub, sizeof pub, &n);
    assert_int_equal(rc, 0);
    assert_int_equal(vsafe_host_privkey_table(f->h, s, 8, &count, NULL), 0);
    assert_true(s[1].present);
    assert_int_equal(s[1].curve, VSAFE_CURVE_P256);
    memset(msg, 0x4D, sizeof msg);
    assert_int_equal(vsafe_host_sign(f->h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P256, msg, 32, sig, sizeof sig, &sn),
                     0);
    EVP_PKEY *k = ossl_ec_pub("prime256v1", pub, 32);
    assert_true(ossl_ecdsa_ok(k, msg, 32, sig, 32));
    msg[0] ^= 1;
    assert_false(ossl_ecdsa_ok(k, msg, 32, sig, 32));
    EVP_PKEY_free(k);
    /* the device verifies its own signature, and refuses a wrong one with validity 0 */
    int valid = -1;
    rc = vsafe_host_verify_signature(f->h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, 64, 0, sig, 64, msg, 32,
                                     &valid);
    assert_int_equal(rc, 0);
    assert_int_equal(valid, 0);
    msg[0] ^= 1;
    assert_int_equal(vsafe_host_verify_signature(f->h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, 64, 0, sig, 64,
                                                 msg, 32, &valid), 0);
    assert_int_equal(valid, 1);
    /* slot 0 is the factory key: Generate key refused; an empty slot cannot sign */
    assert_int_equal(vsafe_host_generate_key(f->h, VSAFE_HOST_PROT_TABLE, 0, VSAFE_CURVE_P256, 0, pub, sizeof pub, &n),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED));
    assert_int_equal(vsafe_host_sign(f->h, VSAFE_HOST_PROT_TABLE, 3, VSAFE_CURVE_P256, msg, 32, sig, sizeof sig, &sn),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_KEY_NOT_FOUND));
}

static void test_every_curve(void **state)
{
    fx_t *f = *state;
    static const struct {
        unsigned curve;
        const char *group;
    } c[] = {{VSAFE_CURVE_P384, "secp384r1"},       {VSAFE_CURVE_P521, "secp521r1"},
             {VSAFE_CURVE_BP256, "brainpoolP256r1"}, {VSAFE_CURVE_BP384, "brainpoolP384r1"},
             {VSAFE_CURVE_BP512, "brainpoolP512r1"}};
    uint8_t pub[VSAFE_EC_MAX_PUB], sig[VSAFE_EC_MAX_SIG], msg[64];
    size_t n = 0, sn = 0;
    memset(msg, 0x3A, sizeof msg);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int rc = vsafe_host_generate_key(f->h, VSAFE_HOST_PROT_TABLE, 2, c[i].curve, 0, pub, sizeof pub, &n);
        assert_int_equal(rc, 0);
        size_t k = vsafe_host_curve_key_size(c[i].curve);
        assert_int_equal(n, 2 * k);
        size_t ml = k > 64 ? 64 : k;
        assert_int_equal(vsafe_host_sign(f->h, VSAFE_HOST_PROT_TABLE, 2, c[i].curve, msg, ml, sig, sizeof sig, &sn), 0);
        assert_int_equal(sn, 2 * k);
        EVP_PKEY *key = ossl_ec_pub(c[i].group, pub, k);
        assert_true(ossl_ecdsa_ok(key, msg, ml, sig, k));
        EVP_PKEY_free(key);
    }
    /* Ed25519: pure, checked with OpenSSL */
    int rc = vsafe_host_generate_key(f->h, VSAFE_HOST_PROT_TABLE, 3, VSAFE_CURVE_ED25519, 0, pub, sizeof pub, &n);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 32);
    assert_int_equal(vsafe_host_sign(f->h, VSAFE_HOST_PROT_TABLE, 3, VSAFE_CURVE_ED25519, msg, 32, sig, sizeof sig, &sn),
                     0);
    EVP_PKEY *ed = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, ed), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, 64, msg, 32), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(ed);
}

static void test_ecdh_ephemeral(void **state)
{
    fx_t *f = *state;
    uint8_t pub[64], secret[32], peer[65];
    size_t n = 0, sl = 0;
    int rc = vsafe_host_generate_key(f->h, VSAFE_HOST_PROT_TABLE, VSAFE_HOST_EPHEMERAL_SLOT, VSAFE_CURVE_P256, 1, pub,
                                     sizeof pub, &n);
    assert_int_equal(rc, 0);
    EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    size_t pn = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_PUB_KEY, peer, sizeof peer, &pn), 1);
    assert_int_equal(pn, 65);
    rc = vsafe_host_establish_key(f->h, VSAFE_HOST_PROT_TABLE, VSAFE_HOST_EPHEMERAL_SLOT, VSAFE_CURVE_P256, peer + 1,
                                  64, secret, sizeof secret, &sl);
    assert_int_equal(rc, 0);
    assert_int_equal(sl, 32);
    EVP_PKEY *dev = ossl_ec_pub("prime256v1", pub, 32);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(mine, NULL);
    uint8_t want[32];
    size_t wl = sizeof want;
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, dev), 1);
    assert_int_equal(EVP_PKEY_derive(c, want, &wl), 1);
    assert_memory_equal(secret, want, 32);
    /* single use: the ephemeral key is gone */
    assert_int_equal(vsafe_host_establish_key(f->h, VSAFE_HOST_PROT_TABLE, VSAFE_HOST_EPHEMERAL_SLOT,
                                              VSAFE_CURVE_P256, peer + 1, 64, secret, sizeof secret, &sl),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_KEY_NOT_FOUND));
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(dev);
    EVP_PKEY_free(mine);
}

/* Through the host secure channel: Establish key set to HOST with response encryption (the
 * SDK-recommended setting), so the 34-byte answer comes back as 48 bytes of ciphertext with an
 * R-MAC; a signature sent MACed. */
static void test_protected_ecdh_and_sign(void **state)
{
    fx_t *f = *state;
    static const uint8_t mk[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
    static const uint8_t ck[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                                   0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    assert_int_equal(vsafe_host_provision_plaintext(f->h, VSAFE_HOST_KEY_AES128, mk, ck), 0);
    assert_int_equal(vsafe_host_session_open(f->h, mk, ck, VSAFE_HOST_KEY_AES128), 0);
    assert_int_equal(vsafe_host_put_command_ac(f->h, VSAFE_HOST_PROT_TABLE, 0x18, 0, VSAFE_SE_CMD_AC_HOST), 0);
    assert_int_equal(vsafe_host_put_command_enc(f->h, VSAFE_HOST_PROT_TABLE, 0x18, 0, VSAFE_SE_ENC_RSP), 0);
    uint8_t pub[64], secret[32], peer[65];
    size_t n = 0, sl = 0, pn = 0;
    assert_int_equal(vsafe_host_generate_key(f->h, VSAFE_HOST_PROT_TABLE, VSAFE_HOST_EPHEMERAL_SLOT, VSAFE_CURVE_P256,
                                             1, pub, sizeof pub, &n), 0);
    EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_int_equal(EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_PUB_KEY, peer, sizeof peer, &pn), 1);
    /* sent plainly it is refused by the command table */
    assert_int_equal(vsafe_host_establish_key(f->h, VSAFE_HOST_PROT_NONE, VSAFE_HOST_EPHEMERAL_SLOT, VSAFE_CURVE_P256,
                                              peer + 1, 64, secret, sizeof secret, &sl),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED));
    assert_int_equal(vsafe_host_establish_key(f->h, VSAFE_HOST_PROT_TABLE, VSAFE_HOST_EPHEMERAL_SLOT, VSAFE_CURVE_P256,
                                              peer + 1, 64, secret, sizeof secret, &sl), 0);
    EVP_PKEY *dev = ossl_ec_pub("prime256v1", pub, 32);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(mine, NULL);
    uint8_t want[32];
    size_t wl = sizeof want;
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, dev), 1);
    assert_int_equal(EVP_PKEY_derive(c, want, &wl), 1);
    assert_memory_equal(secret, want, 32);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(dev);
    EVP_PKEY_free(mine);
    /* a MACed Generate key and signature in slot 1, checked with OpenSSL */
    uint8_t msg[32], sig[64];
    memset(msg, 0x11, sizeof msg);
    assert_int_equal(vsafe_host_generate_key(f->h, VSAFE_HOST_PROT_MAC, 1, VSAFE_CURVE_P256, 0, pub, sizeof pub, &n),
                     0);
    assert_int_equal(vsafe_host_sign(f->h, VSAFE_HOST_PROT_MAC, 1, VSAFE_CURVE_P256, msg, 32, sig, sizeof sig, &n), 0);
    assert_int_equal(n, 64);
    EVP_PKEY *k1 = ossl_ec_pub("prime256v1", pub, 32);
    assert_true(ossl_ecdsa_ok(k1, msg, 32, sig, 32));
    EVP_PKEY_free(k1);
    uint32_t ctr = 0;
    vsafe_host_key_slot_t ks;
    assert_int_equal(vsafe_host_session_counter(f->h, &ctr), 0);
    assert_int_equal(vsafe_host_query_key_slot(f->h, &ks), 0);
    assert_int_equal(ks.counter, ctr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table_and_p256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_curve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecdh_ephemeral, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protected_ecdh_and_sign, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
