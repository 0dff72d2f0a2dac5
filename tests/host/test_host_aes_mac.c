/* Host key services, part 3: AES (ECB, CCM* and GCM one-shot and chunked, GMAC), MAC, local
 * envelopes, password and Derive keys, against a fake device (fake_device.h). Every command frame
 * is compared byte for byte with the layout and the example frames of the STSAFE-A120 services
 * specification; every response is a canned frame typed from the specified response layout, and
 * each parser is also fed error, short and long responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "fake_device.h"

/* ---- AES ---- */

static void test_ccm_sdk_frames(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    uint8_t nonce[13], aad[8], msg[16], ct[16], tag[4], pt[16];
    for (int i = 0; i < 13; i++) {
        nonce[i] = (uint8_t)i;
    }
    memset(aad, 0x5A, 8);
    memset(msg, 0x3C, 16);
    vsafe_host_aead_t a = {.mode = VSAFE_AEAD_CCM, .slot = 1, .nonce = nonce, .nonce_len = 13, .aad = aad,
                           .aad_len = 8, .tag_len = 4};
    /* 1B 02 s <13> 00 08 <8> 00 10 <16> -> CT(16) TAG(4) CTR_PRESENT(00) */
    bld(&r);
    brep(&r, 0xC1, 16);
    bh(&r, "A1 A2 A3 A4 00");
    fake_answer(&f, 0, r.b, r.n);
    vsafe_host_ccm_ctr_t c = {.present = 7};
    assert_int_equal(vsafe_host_aead_encrypt(h, VSAFE_HOST_PROT_TABLE, &a, msg, 16, ct, tag, &c), 0);
    bld(&x);
    bh(&x, "1B 02 01 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 00 08");
    brep(&x, 0x5A, 8);
    bh(&x, "00 10");
    brep(&x, 0x3C, 16);
    assert_body(&f, 0, &x);
    assert_int_equal(ct[0], 0xC1);
    assert_memory_equal(tag, ((const uint8_t[]){0xA1, 0xA2, 0xA3, 0xA4}), 4);
    assert_int_equal(c.present, 0);
    /* with a counter: CTR_PRESENT 01 and the counter used */
    bld(&r);
    brep(&r, 0xC1, 16);
    bh(&r, "A1 A2 A3 A4 01 00 00 01 02");
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_encrypt(h, VSAFE_HOST_PROT_TABLE, &a, msg, 16, ct, tag, &c), 0);
    assert_int_equal(c.present, 1);
    assert_int_equal(c.counter, 0x102);
    /* counter flag set but no counter; a GCM-shaped answer (no CTR_PRESENT) */
    bld(&r);
    brep(&r, 0xC1, 16);
    bh(&r, "A1 A2 A3 A4 01");
    fake_answer(&f, 0, r.b, r.n);
    bld(&r);
    brep(&r, 0xC1, 16);
    bh(&r, "A1 A2 A3 A4");
    fake_answer(&f, 0, r.b, r.n);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vsafe_host_aead_encrypt(h, VSAFE_HOST_PROT_TABLE, &a, msg, 16, ct, tag, &c),
                         VSAFE_ERR_HOST_FRAME);
    }
    /* 1C 02 s <13> 00 08 <8> 00 14 <16 ct> <4 tag> -> VERIFIED PLAINTEXT */
    bld(&r);
    bh(&r, "01");
    brep(&r, 0x3C, 16);
    fake_answer(&f, 0, r.b, r.n);
    int ok = -1;
    memset(ct, 0xC1, 16);
    assert_int_equal(vsafe_host_aead_decrypt(h, VSAFE_HOST_PROT_TABLE, &a, ct, 16, tag, pt, &ok), 0);
    bld(&x);
    bh(&x, "1C 02 01 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 00 08");
    brep(&x, 0x5A, 8);
    bh(&x, "00 14");
    brep(&x, 0xC1, 16);
    bh(&x, "A1 A2 A3 A4");
    assert_body(&f, 4, &x);
    assert_int_equal(ok, 1);
    assert_memory_equal(pt, msg, 16);
    /* wrong tag: status 0, VERIFIED 0, zero plaintext; out untouched */
    bld(&r);
    bh(&r, "00");
    brep(&r, 0x00, 16);
    fake_answer(&f, 0, r.b, r.n);
    memset(pt, 0xEE, 16);
    assert_int_equal(vsafe_host_aead_decrypt(h, VSAFE_HOST_PROT_TABLE, &a, ct, 16, tag, pt, &ok), 0);
    assert_int_equal(ok, 0);
    assert_int_equal(pt[0], 0xEE);
    /* one-shot CCM* takes a 13-byte nonce only */
    a.nonce_len = 12;
    assert_int_equal(vsafe_host_aead_encrypt(h, VSAFE_HOST_PROT_TABLE, &a, msg, 16, ct, tag, &c), VSAFE_ERR_ARGUMENT);
    /* AAD_LEN 0: the plaintext is still sent (the frame's lengths agree) */
    a.nonce_len = 13;
    a.aad_len = 0;
    bld(&r);
    brep(&r, 0xC1, 16);
    bh(&r, "A1 A2 A3 A4 00");
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_encrypt(h, VSAFE_HOST_PROT_TABLE, &a, msg, 16, ct, tag, NULL), 0);
    bld(&x);
    bh(&x, "1B 02 01 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 00 00 00 10");
    brep(&x, 0x3C, 16);
    assert_body(&f, 6, &x);
    vsafe_host_close(h);
}

static void test_gcm_ecb_gmac(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    uint8_t iv[12], aad[3] = {0xAD, 0xAD, 0xAD}, msg[20], out[32], tag[16];
    memset(iv, 0x1F, sizeof iv);
    memset(msg, 0x20, sizeof msg);
    vsafe_host_aead_t a = {.mode = VSAFE_AEAD_GCM, .slot = 5, .nonce = iv, .nonce_len = 12, .aad = aad, .aad_len = 3,
                           .tag_len = 16};
    /* 1B 02 SLOT IV_LEN IV AAD_LEN AAD MSG_LEN PT -> CT TAG */
    bld(&r);
    brep(&r, 0xC2, 20);
    brep(&r, 0x7A, 16);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_encrypt(h, VSAFE_HOST_PROT_TABLE, &a, msg, 20, out, tag, NULL), 0);
    bld(&x);
    bh(&x, "1B 02 05 00 0C");
    brep(&x, 0x1F, 12);
    bh(&x, "00 03 AD AD AD 00 14");
    brep(&x, 0x20, 20);
    assert_body(&f, 0, &x);
    assert_int_equal(tag[15], 0x7A);
    /* a CCM*-shaped answer (extra CTR_PRESENT byte) is refused for GCM */
    brep(&r, 0x00, 1);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_encrypt(h, VSAFE_HOST_PROT_TABLE, &a, msg, 20, out, tag, NULL),
                     VSAFE_ERR_HOST_FRAME);
    /* 1C 02 SLOT IV_LEN IV AAD_LEN AAD MSG_LEN CT TAG: MSG_LEN excludes the tag */
    bld(&r);
    bh(&r, "01");
    brep(&r, 0x20, 20);
    fake_answer(&f, 0, r.b, r.n);
    int ok = 0;
    memset(out, 0xC2, 20);
    assert_int_equal(vsafe_host_aead_decrypt(h, VSAFE_HOST_PROT_TABLE, &a, out, 20, tag, msg, &ok), 0);
    bld(&x);
    bh(&x, "1C 02 05 00 0C");
    brep(&x, 0x1F, 12);
    bh(&x, "00 03 AD AD AD 00 14");
    brep(&x, 0xC2, 20);
    brep(&x, 0x7A, 16);
    assert_body(&f, 2, &x);
    assert_int_equal(ok, 1);
    /* GMAC: ... 00 00 -> TAG;  ... 00 00 TAG -> VERIFIED */
    bld(&r);
    brep(&r, 0x6D, 16);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_gmac_compute(h, VSAFE_HOST_PROT_TABLE, &a, tag), 0);
    bld(&x);
    bh(&x, "1B 02 05 00 0C");
    brep(&x, 0x1F, 12);
    bh(&x, "00 03 AD AD AD 00 00");
    assert_body(&f, 3, &x);
    assert_int_equal(tag[0], 0x6D);
    fake_answer_hex(&f, 0, "01");
    assert_int_equal(vsafe_host_gmac_verify(h, VSAFE_HOST_PROT_TABLE, &a, tag, &ok), 0);
    brep(&x, 0x6D, 16);
    x.b[0] = 0x1C;
    assert_body(&f, 4, &x);
    assert_int_equal(ok, 1);
    fake_answer_hex(&f, 0, "00 00");
    assert_int_equal(vsafe_host_gmac_verify(h, VSAFE_HOST_PROT_TABLE, &a, tag, &ok), VSAFE_ERR_HOST_FRAME);
    assert_int_equal(ok, 0);
    /* ECB: 1B 02 SLOT DATA -> DATA; 1C 02 */
    uint8_t blk[32];
    memset(blk, 0xEC, 32);
    bld(&r);
    brep(&r, 0x0E, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aes_ecb(h, VSAFE_HOST_PROT_TABLE, 0, 3, blk, 32, out), 0);
    bld(&x);
    bh(&x, "1C 02 03");
    brep(&x, 0xEC, 32);
    assert_body(&f, 6, &x);
    assert_int_equal(out[31], 0x0E);
    fake_answer(&f, 0, r.b, 16);
    assert_int_equal(vsafe_host_aes_ecb(h, VSAFE_HOST_PROT_TABLE, 1, 3, blk, 32, out), VSAFE_ERR_HOST_FRAME);
    assert_int_equal(vsafe_host_aes_ecb(h, VSAFE_HOST_PROT_TABLE, 1, 3, blk, 20, out), VSAFE_ERR_ARGUMENT);
    vsafe_host_close(h);
}

static void test_aead_chunked(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    uint8_t nonce[13], aad[4] = {1, 2, 3, 4}, d[10], out[16], tag[8];
    memset(nonce, 0x4E, 13);
    memset(d, 0xDA, 10);
    vsafe_host_aead_t a = {.mode = VSAFE_AEAD_CCM, .slot = 2, .nonce = nonce, .nonce_len = 13, .aad = aad,
                           .aad_len = 4, .tag_len = 8};
    /* CCM* start encrypt: 1F 11 SLOT NONCE_LEN NONCE TOTAL_AAD(2) TOTAL_MSG(4) AAD_LEN AAD MSG_LEN PT
     * -> CT CTR_PRESENT COUNTER(4, always) */
    bld(&r);
    brep(&r, 0xC3, 10);
    bh(&r, "00 00 00 00 00");
    fake_answer(&f, 0, r.b, r.n);
    vsafe_host_ccm_ctr_t c;
    assert_int_equal(vsafe_host_aead_start(h, VSAFE_HOST_PROT_TABLE, 1, &a, 6, 30, d, 10, out, &c), 0);
    bld(&x);
    bh(&x, "1F 11 02 00 0D");
    brep(&x, 0x4E, 13);
    bh(&x, "00 06 00 00 00 1E 00 04 01 02 03 04 00 0A");
    brep(&x, 0xDA, 10);
    assert_body(&f, 0, &x);
    assert_int_equal(out[9], 0xC3);
    assert_int_equal(c.present, 0);
    bld(&r);
    brep(&r, 0xC3, 10);
    bh(&r, "00");
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_start(h, VSAFE_HOST_PROT_TABLE, 1, &a, 6, 30, d, 10, out, &c),
                     VSAFE_ERR_HOST_FRAME);
    /* process encrypt 1F 12 AAD_LEN AAD MSG_LEN PT -> CT */
    bld(&r);
    brep(&r, 0xC4, 10);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_process(h, VSAFE_HOST_PROT_TABLE, 1, aad, 2, d, 10, out), 0);
    bld(&x);
    bh(&x, "1F 12 00 02 01 02 00 0A");
    brep(&x, 0xDA, 10);
    assert_body(&f, 2, &x);
    /* finish encrypt 1F 13 -> CT TAG */
    bld(&r);
    brep(&r, 0xC5, 10);
    brep(&r, 0x7B, 8);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_finish_encrypt(h, VSAFE_HOST_PROT_TABLE, NULL, 0, d, 10, out, tag, 8), 0);
    bld(&x);
    bh(&x, "1F 13 00 00 00 0A");
    brep(&x, 0xDA, 10);
    assert_body(&f, 3, &x);
    assert_int_equal(tag[7], 0x7B);
    /* CCM* start decrypt 1F 14 ... TOTAL_CT(4) ... -> PT */
    bld(&r);
    brep(&r, 0xD1, 10);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_start(h, VSAFE_HOST_PROT_TABLE, 0, &a, 4, 10, d, 10, out, NULL), 0);
    bld(&x);
    bh(&x, "1F 14 02 00 0D");
    brep(&x, 0x4E, 13);
    bh(&x, "00 04 00 00 00 0A 00 04 01 02 03 04 00 0A");
    brep(&x, 0xDA, 10);
    assert_body(&f, 4, &x);
    /* finish decrypt 1F 16 AAD_LEN AAD CT_LEN CT TAG -> VERIFIED PT */
    bld(&r);
    bh(&r, "01");
    brep(&r, 0xD2, 10);
    fake_answer(&f, 0, r.b, r.n);
    int ok = 0;
    assert_int_equal(vsafe_host_aead_finish_decrypt(h, VSAFE_HOST_PROT_TABLE, NULL, 0, d, 10, tag, 8, out, &ok), 0);
    bld(&x);
    bh(&x, "1F 16 00 00 00 0A");
    brep(&x, 0xDA, 10);
    brep(&x, 0x7B, 8);
    assert_body(&f, 5, &x);
    assert_int_equal(ok, 1);
    assert_int_equal(out[0], 0xD2);
    /* GCM start: no totals, no counter */
    a.mode = VSAFE_AEAD_GCM;
    a.nonce_len = 12;
    bld(&r);
    brep(&r, 0xC6, 10);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_aead_start(h, VSAFE_HOST_PROT_TABLE, 1, &a, 0, 0, d, 10, out, NULL), 0);
    bld(&x);
    bh(&x, "1F 11 02 00 0C");
    brep(&x, 0x4E, 12);
    bh(&x, "00 04 01 02 03 04 00 0A");
    brep(&x, 0xDA, 10);
    assert_body(&f, 6, &x);
    /* process decrypt 1F 15; no context on the device */
    fake_answer_hex(&f, 0x17, "");
    assert_int_equal(vsafe_host_aead_process(h, VSAFE_HOST_PROT_TABLE, 0, NULL, 0, d, 10, out),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_CHALLENGE_MISSING));
    assert_true(fake_body_is(&f, 7, "1F 15 00 00 00 0A DA DA DA DA DA DA DA DA DA DA"));
    vsafe_host_close(h);
}

/* ---- MAC, envelopes, password, derive ---- */

static void test_mac_envelope_password(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    uint8_t msg[16], mac[4];
    for (int i = 0; i < 16; i++) {
        msg[i] = (uint8_t)i;
    }
    /* 05_*_CMAC: 09 03 s 04 00 01 .. 0F -> 4-byte MAC; 0A 02 s 04 <MAC> 00 01 .. 0F -> 01 */
    fake_answer_hex(&f, 0, "9A 8B 7C 6D");
    assert_int_equal(vsafe_host_mac_generate(h, VSAFE_HOST_PROT_TABLE, 1, msg, 16, mac, 4), 0);
    assert_true(fake_body_is(&f, 0, "09 03 01 04 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"));
    assert_memory_equal(mac, ((const uint8_t[]){0x9A, 0x8B, 0x7C, 0x6D}), 4);
    int ok = -1;
    fake_answer_hex(&f, 0, "01");
    assert_int_equal(vsafe_host_mac_verify(h, VSAFE_HOST_PROT_TABLE, 1, mac, 4, msg, 16, &ok), 0);
    assert_true(fake_body_is(&f, 1, "0A 02 01 04 9A 8B 7C 6D 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"));
    assert_int_equal(ok, 1);
    fake_answer_hex(&f, 0, "9A 8B 7C");
    assert_int_equal(vsafe_host_mac_generate(h, VSAFE_HOST_PROT_TABLE, 1, msg, 16, mac, 4), VSAFE_ERR_HOST_FRAME);
    fake_answer_hex(&f, 0x1D, "");
    assert_int_equal(vsafe_host_mac_generate(h, VSAFE_HOST_PROT_TABLE, 1, msg, 16, mac, 4),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_WRONG_MAC_LENGTH));
    fake_answer_hex(&f, 0, "00");
    assert_int_equal(vsafe_host_mac_verify(h, VSAFE_HOST_PROT_TABLE, 1, mac, 4, msg, 16, &ok), 0);
    assert_int_equal(ok, 0);

    /* 03_Key_wrapping: 11 07 00 00 AF C1; 0E 00 <16> -> 24; 0F 00 <24> -> 16 */
    fake_answer_hex(&f, 0x11, "");
    assert_int_equal(vsafe_host_envelope_keygen(h, VSAFE_HOST_PROT_TABLE, 0, VSAFE_HOST_SYM_AES128),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED));
    assert_true(fake_cmd_is(&f, 5, "11 07 00 00 AF C1"));
    uint8_t env[24], back[16];
    bld(&r);
    brep(&r, 0xE7, 24);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_wrap(h, VSAFE_HOST_PROT_TABLE, 0, msg, 16, env, sizeof env), 0);
    assert_true(fake_body_is(&f, 6, "0E 00 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"));
    assert_int_equal(env[23], 0xE7);
    fake_answer(&f, 0, r.b, 23);
    assert_int_equal(vsafe_host_wrap(h, VSAFE_HOST_PROT_TABLE, 0, msg, 16, env, sizeof env), VSAFE_ERR_HOST_FRAME);
    fake_answer(&f, 0, msg, 16);
    memset(env, 0xE7, 24);
    assert_int_equal(vsafe_host_unwrap(h, VSAFE_HOST_PROT_TABLE, 0, env, 24, back, sizeof back), 0);
    bld(&x);
    bh(&x, "0F 00");
    brep(&x, 0xE7, 24);
    assert_body(&f, 8, &x);
    assert_memory_equal(back, msg, 16);
    fake_answer_hex(&f, 0x18, "");
    assert_int_equal(vsafe_host_unwrap(h, VSAFE_HOST_PROT_TABLE, 0, env, 24, back, sizeof back),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR));
    assert_int_equal(vsafe_host_wrap(h, VSAFE_HOST_PROT_TABLE, 0, msg, 0, env, sizeof env), VSAFE_ERR_ARGUMENT);

    /* Verify password 1A PW(16) -> VERIFIED REMAINING; Delete password 0C 09 */
    uint8_t pw[16];
    memset(pw, 0x50, 16);
    uint8_t rem = 9;
    fake_answer_hex(&f, 0, "00 00");
    ok = -1;
    assert_int_equal(vsafe_host_verify_password(h, VSAFE_HOST_PROT_TABLE, pw, &ok, &rem), 0);
    assert_true(fake_body_is(&f, 10, "1A 50 50 50 50 50 50 50 50 50 50 50 50 50 50 50 50"));
    assert_int_equal(ok, 0);
    assert_int_equal(rem, 0);
    fake_answer_hex(&f, 0, "01 03");
    assert_int_equal(vsafe_host_verify_password(h, VSAFE_HOST_PROT_TABLE, pw, &ok, &rem), 0);
    assert_int_equal(ok, 1);
    assert_int_equal(rem, 3);
    fake_answer_hex(&f, 0, "01");
    assert_int_equal(vsafe_host_verify_password(h, VSAFE_HOST_PROT_TABLE, pw, &ok, &rem), VSAFE_ERR_HOST_FRAME);
    fake_answer_hex(&f, 0x11, "");
    assert_int_equal(vsafe_host_delete_password(h), VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED));
    assert_true(fake_body_is(&f, 13, "0C 09"));
    vsafe_host_close(h);
}

static void test_derive(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    uint8_t ikm[4] = {0x1A, 0x1B, 0x1C, 0x1D}, salt[2] = {0x5A, 0x17}, info[3] = {0x1F, 0x2F, 0x3F};
    uint8_t keys[64], slots[4], prk = 0;
    size_t kl = 0;
    /* IKM in the command, extract + expand, salt in the command, one output to the host (20 bytes)
     * and one into a slot (CMAC AES-128, record without the slot byte) */
    vsafe_host_derive_out_t out[2] = {
        {.dest = VSAFE_HOST_DERIVE_TO_HOST, .key_len = 20},
        {.dest = VSAFE_HOST_DERIVE_TO_SLOT,
         .info = {.lock = 0, .slot = 9, .key_type = 0, .mode = VSAFE_HOST_SYM_CMAC, .usage = 0x03, .min_mac_len = 2}},
    };
    vsafe_host_derive_t d = {.ikm = ikm, .ikm_len = 4, .extract = 1, .expand = 1, .salt = salt, .salt_len = 2,
                             .info = info, .info_len = 3, .out = out, .out_count = 2};
    fake_answer_hex(&f, 0, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 07");
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &d, NULL, keys, sizeof keys, &kl, slots), 0);
    assert_true(fake_body_is(&f, 0,
                             "1F 10 00 04 00 04 1A 1B 1C 1D 03 00 09 60 86 48 01 65 03 04 02 01"
                             " 00 00 02 5A 17 00 03 1F 2F 3F 00 03 01 00 14 00 07 02 00 00 01 00 03 02"));
    assert_int_equal(kl, 20);
    assert_int_equal(keys[19], 0x13);
    assert_int_equal(slots[0], 0xFF);
    assert_int_equal(slots[1], 0x07);
    /* response one byte short / long */
    fake_answer_hex(&f, 0, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13");
    fake_answer_hex(&f, 0, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 07 08");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &d, NULL, keys, sizeof keys, &kl, slots),
                         VSAFE_ERR_HOST_FRAME);
    }
    /* slot input, extract only, salt from a slot -> PRK_SLOT */
    vsafe_host_derive_t e = {.ikm_from_slot = 1, .ikm_slot = 4, .extract = 1, .salt_from_slot = 1, .salt_slot = 5};
    fake_answer_hex(&f, 0, "0B");
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &e, &prk, NULL, 0, NULL, NULL), 0);
    assert_true(fake_body_is(&f, 3, "1F 10 02 04 02 00 09 60 86 48 01 65 03 04 02 01 02 05"));
    assert_int_equal(prk, 0x0B);
    /* expand only from a slot (an existing PRK), empty info, one HKDF output into a slot */
    vsafe_host_derive_out_t o1 = {.dest = VSAFE_HOST_DERIVE_TO_SLOT,
                                  .info = {.lock = 2, .key_type = 2, .mode = VSAFE_HOST_SYM_HKDF, .usage = 0x40,
                                           .hkdf_flags = 1, .generic_key_len = 32}};
    vsafe_host_derive_t g = {.ikm_from_slot = 1, .ikm_slot = 0x0B, .expand = 1, .out = &o1, .out_count = 1};
    fake_answer_hex(&f, 0, "0C");
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &g, NULL, NULL, 0, NULL, slots), 0);
    assert_true(fake_body_is(&f, 4,
                             "1F 10 02 0B 01 00 09 60 86 48 01 65 03 04 02 01 00 00 00 08 02 02 02 04 00 40 01 20"));
    assert_int_equal(slots[0], 0x0C);
    /* host-side refusals: neither step, extract-only with outputs */
    vsafe_host_derive_t bad = e;
    bad.extract = 0;
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &bad, &prk, NULL, 0, NULL, NULL), VSAFE_ERR_ARGUMENT);
    bad = e;
    bad.out = out;
    bad.out_count = 1;
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &bad, &prk, NULL, 0, NULL, NULL), VSAFE_ERR_ARGUMENT);
    vsafe_host_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ccm_sdk_frames),
        cmocka_unit_test(test_gcm_ecb_gmac),
        cmocka_unit_test(test_aead_chunked),
        cmocka_unit_test(test_mac_envelope_password),
        cmocka_unit_test(test_derive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
