/* Host key services, part 2: symmetric keys. The host-side derivations against the vectors of the
 * services specification (working KEK, wrapped envelopes, key confirmation), the record, table,
 * control-field, write and erase frames byte for byte, and the whole wrapped-write and
 * establishment flows against a fake device whose ECDHE key is the P-256 generator (private key
 * 1), so that the test knows the shared secret from the host's own public key and re-derives
 * every value it checks with OpenSSL directly (HKDF, AES key unwrap, AES-CMAC), not with the
 * library under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "fake_device.h"

static const char SALT_HEX[] = "E45D4CFD2015DE9E0AA9A9F6A49F45100F99D9633FB1B2DDDBEEE675D54DE25B";
static const char GX[] = "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296";
static const char GY[] = "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";

static const vsafe_host_symkey_info_t CMAC128 = {.lock = 0, .slot = 0, .key_type = VSAFE_HOST_SYM_AES128,
                                                 .mode = VSAFE_HOST_SYM_CMAC, .usage = 0x03, .min_mac_len = 2};
static const vsafe_host_symkey_info_t CCM256 = {.lock = 0, .slot = 1, .key_type = VSAFE_HOST_SYM_AES256,
                                                .mode = VSAFE_HOST_SYM_CCM, .usage = 0x0C, .tag_len = 4};

/* ---- Independent OpenSSL helpers (the test's own oracle) ---- */

static void ossl_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out,
                      size_t n)
{
    uint8_t salt[32];
    assert_int_equal(hex(SALT_HEX, salt), 32);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
    char md[] = "SHA256";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, md, 0),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, 32),
                      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len), OSSL_PARAM_END};
    assert_int_equal(EVP_KDF_derive(kc, out, n, p), 1);
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
}

static size_t ossl_unwrap(const uint8_t kek[32], const uint8_t *in, size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int o1 = 0, o2 = 0;
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(c, out, &o1, in, (int)n), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, out + o1, &o2), 1);
    EVP_CIPHER_CTX_free(c);
    return (size_t)(o1 + o2);
}

static void ossl_cmac256(const uint8_t key[32], const uint8_t *msg, size_t n, uint8_t mac[16])
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *mc = EVP_MAC_CTX_new(m);
    char cipher[] = "AES-256-CBC";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0), OSSL_PARAM_END};
    size_t out = 0;
    assert_int_equal(EVP_MAC_init(mc, key, 32, p), 1);
    assert_int_equal(EVP_MAC_update(mc, msg, n), 1);
    assert_int_equal(EVP_MAC_final(mc, mac, &out, 16), 1);
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(m);
}

/* The device's answer to Generate ECDHE on P-256 with the generator G as its public key. */
static void answer_ecdhe_g(fake_t *f)
{
    char rsp[512];
    strcpy(rsp, "00 08 2A 86 48 CE 3D 03 01 07 04 00 20 ");
    strcat(rsp, GX);
    strcat(rsp, " 00 20 ");
    strcat(rsp, GY);
    fake_answer_hex(f, 0, rsp);
}

/* ---- Pure host-side derivations against the specification's vectors ---- */

static void test_working_kek_and_envelopes(void **state)
{
    (void)state;
    uint8_t base[32], kek[32], want[64], env[64];
    size_t n = 0;
    for (int i = 0; i < 32; i++) {
        base[i] = (uint8_t)i;
    }
    assert_int_equal(vsafe_host_working_kek(base, 1, kek), 0);
    hex("08F424926445EF7CB6F5D3A8834EEA5E648FCA20BED99193F18B39B688E3F32B", want);
    assert_memory_equal(kek, want, 32);

    uint8_t key[32];
    memset(key, 0x5A, sizeof key);
    assert_int_equal(vsafe_host_symkey_envelope(base, 1, &CMAC128, key, 16, env, sizeof env, &n), 0);
    assert_int_equal(n, 32);
    hex("6B35DD70716EE295613DB235006304D7E8DF0F48331E35CD02D749E92BB97F58", want);
    assert_memory_equal(env, want, 32);

    assert_int_equal(vsafe_host_symkey_envelope(base, 1, &CCM256, key, 32, env, sizeof env, &n), 0);
    assert_int_equal(n, 56);
    hex("14D069C0052110003DC8E2A5A1A79F4CFF1AA4CC4A249109BBA8F552043B44292D6B584BFA5706C0DF1CB11D4BABA554E10103B6B3927FC5",
        want);
    assert_memory_equal(env, want, 56);
    /* a second envelope of the session (CTR 2) differs */
    assert_int_equal(vsafe_host_symkey_envelope(base, 2, &CCM256, key, 32, env, sizeof env, &n), 0);
    assert_memory_not_equal(env, want, 56);
    /* the envelope carries 16 key bytes for every type but AES-256 */
    assert_int_equal(vsafe_host_symkey_envelope(base, 1, &CMAC128, key, 32, env, sizeof env, &n), VSAFE_ERR_ARGUMENT);
    assert_int_equal(vsafe_host_symkey_envelope(base, 1, &CCM256, key, 32, env, 55, &n), VSAFE_ERR_BUFFER_TOO_SMALL);
}

static void test_confirm_vector(void **state)
{
    (void)state;
    uint8_t secret[32], payload[64], keys[32], want[32];
    size_t pl = 0, kl = 0;
    for (int i = 0; i < 32; i++) {
        secret[i] = (uint8_t)(0x40 + i);
    }
    assert_int_equal(vsafe_host_symkey_confirm(secret, 32, &CMAC128, 1, payload, sizeof payload, &pl, keys,
                                               sizeof keys, &kl), 0);
    size_t wn = hex("5E 25 9A D9 7D E1 E0 C8 00 07 00 00 00 01 00 03 02", want);
    assert_int_equal(pl, wn);
    assert_memory_equal(payload, want, wn);
    assert_int_equal(kl, 16);
    hex("32B091A5A99CCFF64A13C3EC1C06935E", want);
    assert_memory_equal(keys, want, 16);
}

static void test_record_encoding(void **state)
{
    (void)state;
    uint8_t out[16], want[16];
    size_t n = 0;
    /* SDK 05 CMAC (slot 3) and CCM (slot 2) records */
    vsafe_host_symkey_info_t i = CMAC128;
    i.slot = 3;
    assert_int_equal(vsafe_host_symkey_info_encode(&i, 1, out, sizeof out, &n), 0);
    assert_int_equal(n, hex("00 03 00 01 00 03 02", want));
    assert_memory_equal(out, want, n);
    i = CCM256;
    i.slot = 2;
    assert_int_equal(vsafe_host_symkey_info_encode(&i, 1, out, sizeof out, &n), 0);
    assert_int_equal(n, hex("00 02 01 00 00 0C 04 00", want));
    assert_memory_equal(out, want, n);
    /* INFO_LEN per mode: ECB 6, CMAC 7, GCM 7, CCM 8, HKDF 8, HMAC 8 */
    const size_t lens[6] = {8, 7, 6, 7, 8, 8};
    for (uint8_t m = 0; m < 6; m++) {
        vsafe_host_symkey_info_t r = {.mode = m, .tag_len = 0xA1, .ctr_byte = 0xA2, .min_mac_len = 0xA3,
                                      .hkdf_flags = 0xA4, .generic_key_len = 0xA5};
        assert_int_equal(vsafe_host_symkey_info_encode(&r, 1, out, sizeof out, &n), 0);
        assert_int_equal(n, lens[m]);
        assert_int_equal(vsafe_host_symkey_info_encode(&r, 0, out, sizeof out, &n), 0);
        assert_int_equal(n, lens[m] - 1);
    }
    vsafe_host_symkey_info_t h = {.lock = 1, .slot = 4, .key_type = 2, .mode = VSAFE_HOST_SYM_HMAC, .usage = 0x03,
                                  .min_mac_len = 8, .generic_key_len = 24};
    assert_int_equal(vsafe_host_symkey_info_encode(&h, 1, out, sizeof out, &n), 0);
    assert_int_equal(n, hex("01 04 02 05 00 03 08 18", want));
    assert_memory_equal(out, want, n);
    h.mode = 6;
    assert_int_equal(vsafe_host_symkey_info_encode(&h, 1, out, sizeof out, &n), VSAFE_ERR_ARGUMENT);
}

/* ---- Frames ---- */

static void test_table_ctrl_write_erase(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    assert_non_null(h);
    /* 14 23: 4 slots: CMAC present (locked), empty, CCM* with a counter, GCM */
    fake_answer_hex(&f, 0, "04 03 00 01 00 03 02 00 01 01 00 00 3C 08 85 00 00 01 00 05 01 03 00 2C 10");
    vsafe_host_symkey_slot_t s[4];
    size_t count = 0;
    assert_int_equal(vsafe_host_symkey_table(h, s, 4, &count), 0);
    assert_true(fake_body_is(&f, 0, "14 23"));
    assert_int_equal(count, 4);
    assert_true(s[0].present);
    assert_int_equal(s[0].lock, VSAFE_HOST_SYM_LOCKED);
    assert_int_equal(s[0].mode, VSAFE_HOST_SYM_CMAC);
    assert_int_equal(s[0].usage, 0x03);
    assert_int_equal(s[0].min_mac_len, 2);
    assert_false(s[1].present);
    assert_int_equal(s[2].mode, VSAFE_HOST_SYM_CCM);
    assert_int_equal(s[2].tag_len, 8);
    assert_int_equal(s[2].ctr_byte, 0x85);
    assert_int_equal(s[2].counter, 0x100);
    assert_int_equal(s[3].mode, VSAFE_HOST_SYM_GCM);
    assert_int_equal(s[3].key_type, VSAFE_HOST_SYM_AES256);
    assert_int_equal(s[3].tag_len, 16);
    /* an ECB record with a parameter byte shifts the table: refused; counter missing; slot missing */
    fake_answer_hex(&f, 0, "01 01 00 02 00 0C 00");
    fake_answer_hex(&f, 0, "01 01 01 00 00 3C 08 85 00 00");
    fake_answer_hex(&f, 0, "02 00");
    fake_answer_hex(&f, 0, "");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vsafe_host_symkey_table(h, s, 4, &count), VSAFE_ERR_HOST_FRAME);
    }
    fake_answer_hex(&f, 0, "03 00 00 00");
    assert_int_equal(vsafe_host_symkey_table(h, s, 2, &count), VSAFE_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(count, 3);

    /* 04_Symmetric_key_provisioning_control_fields: 14 4B i -> 3 bytes; 10 4B s 03 FF FF */
    uint8_t ctrl[3];
    fake_answer_hex(&f, 0, "08 FF FF");
    assert_int_equal(vsafe_host_symkey_ctrl(h, 1, ctrl), 0);
    assert_true(fake_body_is(&f, 6, "14 4B 01"));
    assert_int_equal(ctrl[0], VSAFE_HOST_SYM_CTRL_CHANGE_RIGHT);
    fake_answer_hex(&f, 0, "08 FF");
    assert_int_equal(vsafe_host_symkey_ctrl(h, 1, ctrl), VSAFE_ERR_HOST_FRAME);
    const uint8_t put[3] = {VSAFE_HOST_SYM_CTRL_ECDHE_ANON | VSAFE_HOST_SYM_CTRL_WRAPPED_ANON, 0xFF, 0xFF};
    fake_answer_hex(&f, 0x11, "");
    assert_int_equal(vsafe_host_put_symkey_ctrl(h, 1, put),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED));
    assert_true(fake_body_is(&f, 8, "10 4B 01 03 FF FF"));

    /* Write plaintext 1F 17 KEY_INFO KEY */
    uint8_t key[32];
    memset(key, 0x6B, sizeof key);
    fake_answer_hex(&f, 0, "");
    vsafe_host_symkey_info_t i = CMAC128;
    i.slot = 3;
    assert_int_equal(vsafe_host_symkey_write_plain(h, VSAFE_HOST_PROT_TABLE, &i, key, 16), 0);
    assert_true(fake_body_is(&f, 9, "1F 17 00 03 00 01 00 03 02 6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B"));
    /* a generic secret takes GENERIC_KEY_LEN bytes */
    vsafe_host_symkey_info_t g = {.slot = 5, .key_type = VSAFE_HOST_SYM_GENERIC, .mode = VSAFE_HOST_SYM_HMAC,
                                  .usage = 0x03, .min_mac_len = 16, .generic_key_len = 20};
    fake_answer_hex(&f, 0, "");
    assert_int_equal(vsafe_host_symkey_write_plain(h, VSAFE_HOST_PROT_TABLE, &g, key, 20), 0);
    assert_true(fake_body_is(&f, 10, "1F 17 00 05 02 05 00 03 10 14 6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B"));
    assert_int_equal(vsafe_host_symkey_write_plain(h, VSAFE_HOST_PROT_TABLE, &g, key, 16), VSAFE_ERR_ARGUMENT);
    fake_answer_hex(&f, 0x1C, "");
    assert_int_equal(vsafe_host_symkey_write_plain(h, VSAFE_HOST_PROT_TABLE, &i, key, 16),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_WRONG_MODE_OF_OPERATION));
    /* Erase 1F 19 SLOT */
    fake_answer_hex(&f, 0, "");
    assert_int_equal(vsafe_host_symkey_erase(h, VSAFE_HOST_PROT_TABLE, 7), 0);
    assert_true(fake_body_is(&f, 12, "1F 19 07"));
    fake_answer_hex(&f, 0, "00");
    assert_int_equal(vsafe_host_symkey_erase(h, VSAFE_HOST_PROT_TABLE, 7), VSAFE_ERR_HOST_FRAME);
    vsafe_host_close(h);
}

/* Checks 1F 03 / 1F 04 payload: CURVE_ID 04 00 20 X 00 20 Y alg; returns the host public key X||Y. */
static void host_pub_of(const fake_t *f, size_t i, uint8_t ext, uint8_t alg, size_t extra, uint8_t pub[64])
{
    assert_int_equal(f->cmd_len[i], 2 + 10 + 69 + 1 + extra + 2);
    uint8_t want[16];
    size_t n = hex("00 08 2A 86 48 CE 3D 03 01 07 04 00 20", want);
    assert_int_equal(f->cmd[i][0], 0x1F);
    assert_int_equal(f->cmd[i][1], ext);
    assert_memory_equal(f->cmd[i] + 2, want, n);
    assert_int_equal(f->cmd[i][2 + 10 + 35], 0x00);
    assert_int_equal(f->cmd[i][2 + 10 + 36], 0x20);
    assert_int_equal(f->cmd[i][2 + 10 + 69], alg);
    memcpy(pub, f->cmd[i] + 2 + 10 + 3, 32);
    memcpy(pub + 32, f->cmd[i] + 2 + 10 + 37, 32);
}

static void test_wrapped_flow(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    answer_ecdhe_g(&f);
    fake_answer_hex(&f, 0, ""); /* 1F 03 */
    fake_answer_hex(&f, 0, ""); /* 1F 09 */
    fake_answer_hex(&f, 0, ""); /* 1F 06 */
    uint8_t key[16];
    memset(key, 0x5A, sizeof key);
    vsafe_host_symkey_info_t i = CMAC128;
    i.slot = 1;
    assert_int_equal(vsafe_host_symkey_write_wrapped(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, NULL, &i, key, 16), 0);
    assert_int_equal(f.ncmd, 4);
    assert_true(fake_body_is(&f, 0, "1F 0B 00 08 2A 86 48 CE 3D 03 01 07"));
    uint8_t hp[64], g[64];
    host_pub_of(&f, 1, 0x03, 0x01, 0, hp);
    assert_true(fake_body_is(&f, 3, "1F 06"));
    /* 1F 09 <32-byte envelope>: unwrap it with the KEK the device derives */
    assert_int_equal(f.cmd_len[2], 2 + 32 + 2);
    hex(GX, g);
    hex(GY, g + 32);
    uint8_t info[128], base[32], kek[32], plain[32];
    memcpy(info, g, 64);       /* device_pub */
    memcpy(info + 64, hp, 64); /* host_pub */
    ossl_hkdf(hp, 32, info, 128, base, 32); /* the secret is the host key's X (device key = 1) */
    const uint8_t winfo[3] = {0x10, 0x11, 0x01};
    ossl_hkdf(base, 32, winfo, 3, kek, 32);
    assert_int_equal(ossl_unwrap(kek, f.cmd[2] + 2, 32, plain), 24);
    uint8_t want[24];
    hex("00 01 00 01 00 03 02 5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A 80", want);
    assert_memory_equal(plain, want, 24);

    /* The session is stopped even when the write is refused */
    fake_t f2;
    vsafe_host_t *h2 = fake_open(&f2);
    answer_ecdhe_g(&f2);
    fake_answer_hex(&f2, 0, "");
    fake_answer_hex(&f2, 0x18, "");
    fake_answer_hex(&f2, 0, "");
    assert_int_equal(vsafe_host_symkey_write_wrapped(h2, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, NULL, &i, key, 16),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR));
    assert_int_equal(f2.ncmd, 4);
    assert_true(fake_body_is(&f2, 3, "1F 06"));
    vsafe_host_close(h2);
    /* ...but not when it never started */
    h2 = fake_open(&f2);
    answer_ecdhe_g(&f2);
    fake_answer_hex(&f2, 0x17, "");
    assert_int_equal(vsafe_host_symkey_write_wrapped(h2, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, NULL, &i, key, 16),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_CHALLENGE_MISSING));
    assert_int_equal(f2.ncmd, 2);
    vsafe_host_close(h2);
    /* a device ECDHE key that is not on the curve is a malformed response */
    h2 = fake_open(&f2);
    char bad[512];
    strcpy(bad, "00 08 2A 86 48 CE 3D 03 01 07 04 00 20 ");
    strcat(bad, GX);
    strcat(bad, " 00 20 ");
    strcat(bad, GX);
    fake_answer_hex(&f2, 0, bad);
    assert_int_equal(vsafe_host_symkey_write_wrapped(h2, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, NULL, &i, key, 16),
                     VSAFE_ERR_HOST_FRAME);
    assert_int_equal(f2.ncmd, 1);
    vsafe_host_close(h2);
    vsafe_host_close(h);
}

static void test_establish_flow(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    answer_ecdhe_g(&f);
    fake_answer_hex(&f, 0, ""); /* 1F 04 */
    fake_answer_hex(&f, 0, ""); /* 1F 05 */
    vsafe_host_symkey_info_t recs[2] = {CMAC128, CCM256};
    recs[0].slot = 1;
    recs[1].slot = 2;
    uint8_t keys[64];
    size_t kl = 0;
    assert_int_equal(vsafe_host_symkey_establish(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, NULL, recs, 2, keys,
                                                 sizeof keys, &kl), 0);
    assert_int_equal(f.ncmd, 3);
    assert_true(fake_body_is(&f, 0, "1F 0B 00 08 2A 86 48 CE 3D 03 01 07"));
    uint8_t hp[64];
    host_pub_of(&f, 1, 0x04, 0x02, 0, hp);
    /* 1F 05 MAC(8) 0007 <CMAC rec> 0008 <CCM rec> */
    uint8_t recbytes[32];
    size_t rn = hex("00 07 00 01 00 01 00 03 02 00 08 00 02 01 00 00 0C 04 00", recbytes);
    assert_int_equal(f.cmd_len[2], 2 + 8 + rn + 2);
    assert_memory_equal(f.cmd[2] + 2 + 8, recbytes, rn);
    uint8_t okm[32 + 16 + 32], mac[16];
    const uint8_t kinfo[2] = {0x12, 0x13};
    ossl_hkdf(hp, 32, kinfo, 2, okm, sizeof okm);
    ossl_cmac256(okm, recbytes, rn, mac);
    assert_memory_equal(f.cmd[2] + 2, mac, 8);
    assert_int_equal(kl, 48);
    assert_memory_equal(keys, okm + 32, 48);

    /* a refused confirmation (MAC mismatch is 0x02) gives no keys */
    fake_t f2;
    vsafe_host_t *h2 = fake_open(&f2);
    answer_ecdhe_g(&f2);
    fake_answer_hex(&f2, 0, "");
    fake_answer_hex(&f2, 0x02, "");
    kl = 99;
    memset(keys, 0xEE, sizeof keys);
    assert_int_equal(vsafe_host_symkey_establish(h2, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, NULL, recs, 1, keys,
                                                 sizeof keys, &kl),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA));
    assert_int_equal(kl, 99);
    assert_int_equal(keys[0], 0xEE);
    vsafe_host_close(h2);
    vsafe_host_close(h);
}

/* A signer that records the TBS it was given and returns a fixed R||S. */
typedef struct {
    uint8_t tbs[400];
    size_t tbs_len;
} signer_t;

static int fixed_sign(void *ctx, const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
    signer_t *s = ctx;
    memcpy(s->tbs, tbs, tbs_len);
    s->tbs_len = tbs_len;
    assert_true(sig_cap >= 64);
    memset(sig, 0x52, 32);
    memset(sig + 32, 0x53, 32);
    *sig_len = 64;
    return 0;
}

static void test_authenticated_variant(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    answer_ecdhe_g(&f);
    fake_answer_hex(&f, 0, "");
    fake_answer_hex(&f, 0, "");
    fake_answer_hex(&f, 0, "");
    signer_t sg;
    vsafe_host_auth_t auth = {.sig_slot = 2, .hash = VSAFE_HASH_SHA256, .sign = fixed_sign,
                              .ctx = &sg};
    uint8_t key[16] = {0};
    assert_int_equal(vsafe_host_symkey_write_wrapped(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, &auth, &CMAC128, key,
                                                     16), 0);
    /* 1F 03 CURVE_ID HOST_PUB 01 00 SIG_SLOT HASH_ID 00 20 R 00 20 S */
    uint8_t hp[64];
    host_pub_of(&f, 1, 0x03, 0x01, 2 + 11 + 68, hp);
    uint8_t tail[96];
    size_t tn = hex("00 02 00 09 60 86 48 01 65 03 04 02 01 00 20", tail);
    memset(tail + tn, 0x52, 32);
    tn += 32;
    tn += hex("00 20", tail + tn);
    memset(tail + tn, 0x53, 32);
    tn += 32;
    assert_memory_equal(f.cmd[1] + 2 + 10 + 69 + 1, tail, tn);
    /* TBS = CURVE_ID || host_pub || device_pub, keys in the point form */
    assert_int_equal(sg.tbs_len, 10 + 69 + 69);
    assert_memory_equal(sg.tbs, f.cmd[1] + 2, 10 + 69);
    uint8_t dev[69];
    size_t dn = hex("04 00 20", dev);
    dn += hex(GX, dev + dn);
    dn += hex("00 20", dev + dn);
    dn += hex(GY, dev + dn);
    assert_memory_equal(sg.tbs + 79, dev, dn);
    /* Ed25519 signer: 00 00 instead of the hash identifier */
    fake_t f2;
    vsafe_host_t *h2 = fake_open(&f2);
    answer_ecdhe_g(&f2);
    fake_answer_hex(&f2, 0, "");
    fake_answer_hex(&f2, 0, "");
    auth.ed25519 = 1;
    vsafe_host_symkey_info_t r = CMAC128;
    assert_int_equal(vsafe_host_symkey_establish(h2, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, &auth, &r, 1, key,
                                                 sizeof key, &tn), 0);
    host_pub_of(&f2, 1, 0x04, 0x02, 2 + 2 + 68, hp);
    assert_memory_equal(f2.cmd[1] + 2 + 10 + 69 + 1, (const uint8_t *)"\x00\x02\x00\x00\x00\x20", 6);
    vsafe_host_close(h2);
    vsafe_host_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_working_kek_and_envelopes),
        cmocka_unit_test(test_confirm_vector),
        cmocka_unit_test(test_record_encoding),
        cmocka_unit_test(test_table_ctrl_write_erase),
        cmocka_unit_test(test_wrapped_flow),
        cmocka_unit_test(test_establish_flow),
        cmocka_unit_test(test_authenticated_variant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
