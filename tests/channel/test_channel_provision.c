/* Host key provisioning (Put 0x4A control fields, plaintext, wrapped and ECDH provisioning): control fields (0x4A), wrapped provisioning through a
 * volatile KEK session, ECDH establishment, their refusals, and the counter staying in sync across
 * a volatile reset and a close/reopen of a durable device. The host side is computed here
 * independently (its own crypto port, OpenSSL key wrap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "chan_host.h"

#define CURVE "0008 2A8648CE3D030107"

static const uint8_t salt[32] = {0xE4, 0x5D, 0x4C, 0xFD, 0x20, 0x15, 0xDE, 0x9E, 0x0A, 0xA9, 0xA9,
                                 0xF6, 0xA4, 0x9F, 0x45, 0x10, 0x0F, 0x99, 0xD9, 0x63, 0x3F, 0xB1,
                                 0xB2, 0xDD, 0xDB, 0xEE, 0xE6, 0x75, 0xD5, 0x4D, 0xE2, 0x5B};

typedef struct {
    th_dev_t dev;
    th_t th;
    uint8_t dev_pub[64], host_pub[64], secret[32];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    th_dev_new(&fx->dev, NULL, 21);
    th_init(&fx->th, th_core_xfer, &fx->dev.core);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    th_free(&fx->th);
    th_dev_free(&fx->dev);
    free(fx);
    return 0;
}

static size_t put_pub(uint8_t *p, const uint8_t pub[64])
{
    p[0] = 0x04;
    p[1] = 0x00;
    p[2] = 0x20;
    memcpy(p + 3, pub, 32);
    p[35] = 0x00;
    p[36] = 0x20;
    memcpy(p + 37, pub + 32, 32);
    return 69;
}

/* Generate ECDHE on the device, a host ephemeral key, and the shared secret on the host. */
static void ecdhe(fx_t *fx)
{
    th_t *th = &fx->th;
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x0B, CURVE, 0), 0);
    assert_int_equal(th->data_len, 79);
    uint8_t exp[10];
    tu_hex(CURVE, exp, sizeof exp);
    assert_memory_equal(th->data, exp, 10);
    assert_memory_equal(th->data + 10, "\x04\x00\x20", 3);
    assert_memory_equal(th->data + 45, "\x00\x20", 2);
    memcpy(fx->dev_pub, th->data + 13, 32);
    memcpy(fx->dev_pub + 32, th->data + 47, 32);
    assert_int_equal(th->c->ecdh_keygen(th->c->ctx, fx->host_pub), 0);
    assert_int_equal(th->c->ecdh_derive(th->c->ctx, fx->dev_pub, fx->secret), 0);
}

/* CURVE_ID · host pub · alg [· type] */
static size_t key_agreement_payload(fx_t *fx, uint8_t *p, uint8_t alg, int type)
{
    size_t n = tu_hex(CURVE, p, 10);
    n += put_pub(p + n, fx->host_pub);
    p[n++] = alg;
    if (type >= 0) {
        p[n++] = (uint8_t)type;
    }
    return n;
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02X", b[i]);
    }
}

static void test_control_fields(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_cmd_hex(th, 0x14, 0, "4A", 0), 0);
    assert_memory_equal(th->data, "\x0A\xFF", 2);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 1A FF", 0), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 0A", 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    /* Plaintext not allowed: refused */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 08 FF", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000000 00 " TH_MAC_KEY " " TH_CIPHER_KEY, 0),
                     VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* Allowed again, change right dropped: one way */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 02 FF", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 0A FF", 0), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(th_cmd_hex(th, 0x14, 0, "4A", 0), 0);
    assert_memory_equal(th->data, "\x02\xFF", 2);
    assert_int_equal(th_provision_test_keys(th), 0);
    /* ECDH / wrapped are not allowed (bit0 clear) */
    ecdhe(fx);
    uint8_t p[100];
    size_t n = key_agreement_payload(fx, p, 0x03, 0);
    assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
}

static void wrap(const uint8_t kek[32], const uint8_t *in, size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap(), NULL, kek, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, out, &l1, in, (int)n), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, out + l1, &l2), 1);
    assert_int_equal((size_t)(l1 + l2), n + 8);
    EVP_CIPHER_CTX_free(ctx);
}

static void test_wrapped(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    const vsafe_crypto_t *c = th->c;
    uint8_t p[128], base[32], kek[32], info[128], env_pt[72], env[80];
    /* anonymous + plaintext + re-provision + change right */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 0F FF", 0), 0);
    memset(env, 0, sizeof env);
    assert_int_equal(th_cmd(th, 0x1F, 0x08, env, 48, 0), VSAFE_SE_ST_SESSION_ERROR);
    memset(fx->host_pub, 0, 64);
    size_t n = key_agreement_payload(fx, p, 0x01, -1);
    assert_int_equal(th_cmd(th, 0x1F, 0x03, p, n, 0), VSAFE_SE_ST_CHALLENGE_MISSING);

    for (int type = 0; type <= 1; type++) {
        size_t kl = type ? 32 : 16;
        ecdhe(fx);
        n = key_agreement_payload(fx, p, 0x01, -1);
        assert_int_equal(th_cmd(th, 0x1F, 0x03, p, n, 0), 0);
        memcpy(info, fx->dev_pub, 64);
        memcpy(info + 64, fx->host_pub, 64);
        assert_int_equal(c->hkdf_sha256(c->ctx, salt, 32, fx->secret, 32, info, 128, base, 32), 0);
        assert_int_equal(c->hkdf_sha256(c->ctx, salt, 32, base, 32, (const uint8_t *)"\x10\x11\x01", 3, kek, 32), 0);
        memset(env_pt, 0, sizeof env_pt);
        env_pt[3] = (uint8_t)type;
        for (size_t i = 0; i < 2 * kl; i++) {
            env_pt[4 + i] = (uint8_t)(0x40 + i + type);
        }
        env_pt[4 + 2 * kl] = 0x80;
        size_t m = 4 + 2 * kl + 4;
        wrap(kek, env_pt, m, env);
        /* A damaged envelope: 0x18, nothing written */
        env[7] ^= 1;
        assert_int_equal(th_cmd(th, 0x1F, 0x08, env, m + 8, 0), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
        env[7] ^= 1;
        assert_int_equal(th_cmd(th, 0x1F, 0x08, env, m + 4, 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
        assert_int_equal(th_cmd(th, 0x1F, 0x08, env, m + 8, 0), 0);
        assert_int_equal(th_cmd_hex(th, 0x1F, 0x06, "", 0), 0);
        assert_int_equal(th_cmd(th, 0x1F, 0x08, env, m + 8, 0), VSAFE_SE_ST_SESSION_ERROR);
        assert_int_equal(th_cmd_hex(th, 0x14, 0, "47", 0), 0);
        assert_int_equal(th->data[0], 1);
        assert_int_equal(th->data[1], type);
        char mk[65], ck[65];
        hex_of(env_pt + 4, kl, mk);
        hex_of(env_pt + 4 + kl, kl, ck);
        th_session(th, mk, ck, 0);
        assert_int_equal(th_cmd_hex(th, 0xE6, 0, "00 01 0000 AABBCC", 0), 0);
        assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0003", 0), 0);
        assert_memory_equal(th->data, "\xAA\xBB\xCC", 3);
    }
}

static void test_establish(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    const vsafe_crypto_t *c = th->c;
    uint8_t p[128], info[128], okm[64];
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 0D FF", 0), 0);
    for (int type = 0; type <= 1; type++) {
        size_t kl = type ? 32 : 16;
        ecdhe(fx);
        size_t n = key_agreement_payload(fx, p, 0x03, type);
        /* Refusals first (they do not consume the ephemeral key) */
        p[n - 1] = 2;
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_WRONG_KEY_TYPE);
        p[n - 1] = (uint8_t)type;
        p[n - 2] = 0x01;
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
        p[n - 2] = 0x03;
        p[9] ^= 1; /* another curve */
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
        p[9] ^= 1;
        p[10] = 0x02; /* compressed point encoding */
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_INVALID_PUBLIC_KEY);
        p[10] = 0x04;
        uint8_t auth[200];
        memcpy(auth, p, n);
        memcpy(auth + n, "\x00\x01\x01\x00\x20", 5);
        /* authenticated variant naming an empty generic public key slot (PD-16): 0x11, and the
         * ECDHE context is consumed */
        assert_int_equal(th_cmd(th, 0x1F, 0x18, auth, n + 5 + 32, 0), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_CHALLENGE_MISSING);
        ecdhe(fx);
        n = key_agreement_payload(fx, p, 0x03, type);
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n - 1, 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), 0);
        /* The ephemeral key is used once */
        assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_CHALLENGE_MISSING);
        memcpy(info, fx->host_pub, 64);
        memcpy(info + 64, fx->dev_pub, 64);
        assert_int_equal(c->hkdf_sha256(c->ctx, salt, 32, fx->secret, 32, info, 128, okm, 2 * kl), 0);
        char mk[65], ck[65];
        hex_of(okm, kl, mk);
        hex_of(okm + kl, kl, ck);
        assert_int_equal(th_cmd_hex(th, 0x14, 0, "47", 0), 0);
        assert_int_equal(th->data[1], type);
        th_session(th, mk, ck, 0);
        assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), 0);
    }
    /* A point not on the curve */
    ecdhe(fx);
    size_t n = key_agreement_payload(fx, p, 0x03, 0);
    p[n - 3] ^= 1;
    assert_int_equal(th_cmd(th, 0x1F, 0x18, p, n, 0), VSAFE_SE_ST_INVALID_PUBLIC_KEY);
    /* Unknown extended command */
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x1B, "", 0), VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED);
}

static void test_counter_across_reset_and_reopen(void **state)
{
    (void)state;
    char path[] = "/tmp/vsafe-chan-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    vsafe_se_t *se;
    vsafe_se_options_t o = {"spl05", path};
    assert_int_equal(vsafe_se_open(&se, &o), 0);
    th_t th;
    th_init(&th, th_se_xfer, se);
    assert_int_equal(th_provision_test_keys(&th), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(th_cmd_hex(&th, 0xE4, 0, "00 05 0000 00000001", 0), 0);
    }
    /* A volatile reset drops the loaded keys; the channel reloads them from the slot */
    assert_int_equal(th_cmd_hex(&th, 0x01, 0, "", 0), 0);
    assert_int_equal(th_cmd_hex(&th, 0xE4, 0, "00 05 0000 00000001", 0), 0);
    assert_memory_equal(th.data, "\xFF\xFF\xFF\xFB", 4);
    /* A failing protected command still counts */
    assert_int_equal(th_cmd_hex(&th, 0xE5, 0, "00 63 0000 0001", 0), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(th.counter, 5);
    vsafe_se_close(se);

    assert_int_equal(vsafe_se_open(&se, &o), 0);
    th.xctx = se;
    assert_int_equal(th_query_counter(&th), 5);
    th_session(&th, TH_MAC_KEY, TH_CIPHER_KEY, 5);
    assert_int_equal(th_cmd_hex(&th, 0xE4, 0, "00 05 0000 00000001", 0), 0);
    assert_memory_equal(th.data, "\xFF\xFF\xFF\xFA", 4);
    vsafe_se_close(se);
    assert_int_equal(vsafe_se_open(&se, &o), 0);
    th.xctx = se;
    assert_int_equal(th_query_counter(&th), 6);
    vsafe_se_close(se);
    th_free(&th);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_control_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_establish, setup, teardown),
        cmocka_unit_test(test_counter_across_reset_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
