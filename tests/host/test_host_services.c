/* Host key services, part 1: private key slots, generic public key slots, entity authentication
 * and hash, against a fake device (fake_device.h). (AES, MAC, Derive keys, envelopes and password:
 * test_host_aes_mac.c; symmetric keys: test_host_symkeys.c; trace: test_host_trace_services.c.)
 * Every command frame is compared byte for byte with the layout and the example frames of the
 * STSAFE-A120 services specification (traces with their CRCs where it gives them); every
 * response is a canned frame typed from the specified response layout, and each parser is also
 * fed error, short and long responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "fake_device.h"

static const char P256_ID[] = "00 08 2A 86 48 CE 3D 03 01 07";
static const char ED25519_ID[] = "00 03 2B 65 70";

/* ---- Private key slots ---- */

static void test_generate_key_traces(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    assert_non_null(h);
    bld_t r;
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t n = 0;
    /* P-256, slot 1, limit 255 -> 04 00 20 X 00 20 Y */
    bld(&r);
    bh(&r, "04 00 20");
    brep(&r, 0x11, 32);
    bh(&r, "00 20");
    brep(&r, 0x22, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P256, 255, pub, sizeof pub, &n), 0);
    assert_true(fake_cmd_is(&f, 0, "11 13 01 00 FF 00 00 00 08 2A 86 48 CE 3D 03 01 07 A1 D8"));
    assert_int_equal(n, 64);
    uint8_t want[64];
    memset(want, 0x11, 32);
    memset(want + 32, 0x22, 32);
    assert_memory_equal(pub, want, 64);

    /* P-521: 04 00 42 X 00 42 Y (137 bytes) */
    bld(&r);
    bh(&r, "04 00 42");
    brep(&r, 0x33, 66);
    bh(&r, "00 42");
    brep(&r, 0x44, 66);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P521, 255, pub, sizeof pub, &n), 0);
    assert_true(fake_cmd_is(&f, 1, "11 13 01 00 FF 00 00 00 05 2B 81 04 00 23 82 44"));
    assert_int_equal(n, 132);
    assert_int_equal(pub[0], 0x33);
    assert_int_equal(pub[131], 0x44);

    /* Brainpool P-512: 133-byte response */
    bld(&r);
    bh(&r, "04 00 40");
    brep(&r, 0x55, 64);
    bh(&r, "00 40");
    brep(&r, 0x66, 64);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_BP512, 255, pub, sizeof pub, &n), 0);
    assert_true(fake_cmd_is(&f, 2, "11 13 01 00 FF 00 00 00 09 2B 24 03 03 02 08 01 01 0D CF 9E"));
    assert_int_equal(n, 128);

    /* Ed25519: short form 00 20 K */
    bld(&r);
    bh(&r, "00 20");
    brep(&r, 0x77, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_ED25519, 255, pub, sizeof pub,
                                             &n), 0);
    assert_true(fake_cmd_is(&f, 3, "11 13 01 00 FF 00 00 00 03 2B 65 70 C6 91"));
    assert_int_equal(n, 32);
    assert_int_equal(pub[31], 0x77);

    /* The ephemeral slot, usage limit 1 (SDK 03_ECDH) */
    bld(&r);
    bh(&r, "04 00 20");
    brep(&r, 0x11, 32);
    bh(&r, "00 20");
    brep(&r, 0x22, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, VSAFE_HOST_EPHEMERAL_SLOT, VSAFE_CURVE_P256, 1,
                                             pub, sizeof pub, &n), 0);
    assert_true(fake_cmd_is(&f, 4, "11 13 FF 00 01 00 00 00 08 2A 86 48 CE 3D 03 01 07 79 B8"));
    vsafe_host_close(h);
}

static void test_generate_key_bad_responses(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t r;
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t n = 0;
    /* refusal */
    fake_answer_hex(&f, 0x11, "");
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 0, VSAFE_CURVE_P256, 0, pub, sizeof pub, &n),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED));
    /* one byte short, one byte long, wrong length field, wrong form for the curve */
    bld(&r);
    bh(&r, "04 00 20");
    brep(&r, 0x11, 32);
    bh(&r, "00 20");
    brep(&r, 0x22, 31);
    fake_answer(&f, 0, r.b, r.n);
    brep(&r, 0x22, 2);
    fake_answer(&f, 0, r.b, r.n);
    bld(&r);
    bh(&r, "04 00 21");
    brep(&r, 0x11, 32);
    bh(&r, "00 20");
    brep(&r, 0x22, 32);
    fake_answer(&f, 0, r.b, r.n);
    bld(&r);
    bh(&r, "00 20");
    brep(&r, 0x11, 32);
    fake_answer(&f, 0, r.b, r.n);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P256, 0, pub, sizeof pub, &n),
                         VSAFE_ERR_HOST_FRAME);
    }
    /* host-side refusals: unknown curve, too small a buffer (nothing sent) */
    size_t sent = f.ncmd;
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 1, 99, 0, pub, sizeof pub, &n),
                     VSAFE_ERR_ARGUMENT);
    assert_int_equal(vsafe_host_generate_key(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P384, 0, pub, 95, &n),
                     VSAFE_ERR_ARGUMENT);
    assert_int_equal(f.ncmd, sent);
    vsafe_host_close(h);
}

static void test_privkey_table(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    /* 6 slots, byte1 0, limit FFFF; slot 0 P-256 present, 1-4 empty, FF present X25519 */
    const char *table = "06 00 FF FF"
                        " 00 01 80 04 00 08 2A 86 48 CE 3D 03 01 07"
                        " 01 00 80 15 02 00 80 15 03 00 80 15 04 00 80 55"
                        " FF 01 00 01 00 03 2B 65 6E";
    fake_answer_hex(&f, 0, table);
    vsafe_host_privkey_t s[8];
    size_t count = 0;
    uint16_t limit = 0;
    assert_int_equal(vsafe_host_privkey_table(h, s, 8, &count, &limit), 0);
    assert_true(fake_body_is(&f, 0, "14 14"));
    assert_int_equal(count, 6);
    assert_int_equal(limit, 0xFFFF);
    assert_int_equal(s[0].slot, 0);
    assert_true(s[0].present);
    assert_int_equal(s[0].curve, VSAFE_CURVE_P256);
    assert_true(s[0].mode & VSAFE_HOST_PK_MODE_CHANGE_RIGHT);
    assert_true(s[0].mode & VSAFE_HOST_PK_MODE_SIGN_EXTERNAL);
    assert_false(s[0].mode & VSAFE_HOST_PK_MODE_KEY_ESTABLISH);
    assert_int_equal(s[1].slot, 1);
    assert_false(s[1].present);
    assert_int_equal(s[1].curve, VSAFE_CURVE_NONE);
    assert_int_equal(VSAFE_HOST_PK_MODE_GENKEY_AC(s[1].mode), 1);
    assert_int_equal(VSAFE_HOST_PK_MODE_EDDSA_VARIANT(s[4].mode), 1);
    assert_int_equal(s[5].slot, 0xFF);
    assert_int_equal(s[5].curve, VSAFE_CURVE_X25519);
    assert_true(s[5].mode & VSAFE_HOST_PK_MODE_KEY_ESTABLISH);
    /* too small a buffer: the count is still reported */
    fake_answer_hex(&f, 0, table);
    assert_int_equal(vsafe_host_privkey_table(h, s, 2, &count, NULL), VSAFE_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(count, 6);
    /* a record missing, a byte left over, an unknown curve, a CURVE_ID longer than 9 */
    fake_answer_hex(&f, 0, "02 00 FF FF 00 00 80 04");
    fake_answer_hex(&f, 0, "01 00 FF FF 00 00 80 04 00");
    fake_answer_hex(&f, 0, "01 00 FF FF 00 01 80 04 00 03 2B 65 71");
    fake_answer_hex(&f, 0, "01 00 FF FF 00 01 80 04 00 0A 2B 24 03 03 02 08 01 01 0D 00");
    fake_answer_hex(&f, 0, "01 00 FF");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(vsafe_host_privkey_table(h, s, 8, &count, NULL), VSAFE_ERR_HOST_FRAME);
    }
    vsafe_host_close(h);
}

static void test_sign_verify(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    uint8_t chal[32], sig[VSAFE_EC_MAX_SIG];
    size_t n = 0;
    memset(chal, 0xC3, sizeof chal);
    /* Device authentication: 16 00 00 20 <32-byte challenge> -> 00 20 R 00 20 S */
    bld(&r);
    bh(&r, "00 20");
    brep(&r, 0xAA, 32);
    bh(&r, "00 20");
    brep(&r, 0xBB, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_sign(h, VSAFE_HOST_PROT_TABLE, 0, VSAFE_CURVE_P256, chal, 32, sig, sizeof sig, &n), 0);
    bld(&x);
    bh(&x, "16 00 00 20");
    brep(&x, 0xC3, 32);
    assert_body(&f, 0, &x);
    assert_int_equal(n, 64);
    assert_int_equal(sig[0], 0xAA);
    assert_int_equal(sig[63], 0xBB);
    /* P-521 signature halves are 66 bytes; a P-256-sized answer is refused */
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_sign(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P521, chal, 32, sig, sizeof sig, &n),
                     VSAFE_ERR_HOST_FRAME);
    fake_answer_hex(&f, 0x0B, "");
    assert_int_equal(vsafe_host_sign(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P256, chal, 32, sig, sizeof sig, &n),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_KEY_BLOCKED));
    assert_int_equal(vsafe_host_sign(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_X25519, chal, 32, sig, sizeof sig, &n),
                     VSAFE_ERR_ARGUMENT);

    /* 01_Key_pair_generation_NIST_P256: 17 00 <P-256> 04 0020 X 0020 Y 0020 R 0020 S 0020 <32> */
    uint8_t pub[64], rs[64], msg[32];
    memset(pub, 0x01, 32);
    memset(pub + 32, 0x02, 32);
    memset(rs, 0x03, 32);
    memset(rs + 32, 0x04, 32);
    memset(msg, 0x05, 32);
    int valid = -1;
    fake_answer_hex(&f, 0, "01");
    assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, 64, 0, rs, 64, msg,
                                                 32, &valid), 0);
    assert_int_equal(valid, 1);
    bld(&x);
    bh(&x, "17 00");
    bh(&x, P256_ID);
    bh(&x, "04 00 20");
    brep(&x, 0x01, 32);
    bh(&x, "00 20");
    brep(&x, 0x02, 32);
    bh(&x, "00 20");
    brep(&x, 0x03, 32);
    bh(&x, "00 20");
    brep(&x, 0x04, 32);
    bh(&x, "00 20");
    brep(&x, 0x05, 32);
    assert_body(&f, 3, &x);
    /* invalid: status 0, validity 0 */
    fake_answer_hex(&f, 0, "00");
    assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, 64, 0, rs, 64, msg,
                                                 32, &valid), 0);
    assert_int_equal(valid, 0);
    /* Ed25519: 17 00 <Ed25519> 0020 K 0020 R 0020 S 00 0020 <32> */
    fake_answer_hex(&f, 0, "01");
    assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_ED25519, pub, 32, 0, rs, 64,
                                                 msg, 32, &valid), 0);
    bld(&x);
    bh(&x, "17 00");
    bh(&x, ED25519_ID);
    bh(&x, "00 20");
    brep(&x, 0x01, 32);
    bh(&x, "00 20");
    brep(&x, 0x03, 32);
    bh(&x, "00 20");
    brep(&x, 0x04, 32);
    bh(&x, "00 00 20");
    brep(&x, 0x05, 32);
    assert_body(&f, 5, &x);
    assert_int_equal(valid, 1);
    /* pre-hashed variant byte 01 */
    uint8_t ph[64];
    memset(ph, 0x06, sizeof ph);
    fake_answer_hex(&f, 0, "01");
    assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_ED25519, pub, 32, 1, rs, 64, ph,
                                                 64, &valid), 0);
    assert_int_equal(f.cmd[6][2 + 5 + 34 + 68], 0x01);
    assert_int_equal(f.cmd[6][2 + 5 + 34 + 68 + 1], 0x00);
    assert_int_equal(f.cmd[6][2 + 5 + 34 + 68 + 2], 0x40);
    /* error status forces validity 0; bad validity byte, long response */
    fake_answer_hex(&f, 0x19, "");
    valid = 1;
    assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, 64, 0, rs, 64, msg,
                                                 32, &valid), VSAFE_DEV_STATUS(VSAFE_SE_ST_INVALID_PUBLIC_KEY));
    assert_int_equal(valid, 0);
    fake_answer_hex(&f, 0, "02");
    fake_answer_hex(&f, 0, "01 00");
    fake_answer_hex(&f, 0, "");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, 64, 0, rs, 64,
                                                     msg, 32, &valid), VSAFE_ERR_HOST_FRAME);
        assert_int_equal(valid, 0);
    }
    /* no signatures with X25519; wrong signature length */
    assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_X25519, pub, 32, 0, rs, 64, msg,
                                                 32, &valid), VSAFE_ERR_ARGUMENT);
    assert_int_equal(vsafe_host_verify_signature(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, 64, 0, rs, 63, msg,
                                                 32, &valid), VSAFE_ERR_ARGUMENT);
    vsafe_host_close(h);
}

static void test_ecdh_ecdhe_decompress(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    uint8_t peer[64], secret[66], pub[VSAFE_EC_MAX_PUB];
    size_t n = 0;
    memset(peer, 0x21, 32);
    memset(peer + 32, 0x43, 32);
    /* 03_ECDH: 18 FF 04 00 20 <X> 00 20 <Y> -> 00 20 SECRET */
    bld(&r);
    bh(&r, "00 20");
    bseq(&r, 0x80, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_establish_key(h, VSAFE_HOST_PROT_TABLE, 0xFF, VSAFE_CURVE_P256, peer, 64, secret,
                                              sizeof secret, &n), 0);
    bld(&x);
    bh(&x, "18 FF 04 00 20");
    brep(&x, 0x21, 32);
    bh(&x, "00 20");
    brep(&x, 0x43, 32);
    assert_body(&f, 0, &x);
    assert_int_equal(n, 32);
    assert_int_equal(secret[0], 0x80);
    assert_int_equal(secret[31], 0x9F);
    /* X25519 peer in the short form */
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_establish_key(h, VSAFE_HOST_PROT_TABLE, 2, VSAFE_CURVE_X25519, peer, 32, secret,
                                              sizeof secret, &n), 0);
    bld(&x);
    bh(&x, "18 02 00 20");
    brep(&x, 0x21, 32);
    assert_body(&f, 1, &x);
    /* wrong secret length field; Ed25519 has no ECDH */
    bld(&r);
    bh(&r, "00 21");
    bseq(&r, 0x80, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_establish_key(h, VSAFE_HOST_PROT_TABLE, 2, VSAFE_CURVE_P256, peer, 64, secret,
                                              sizeof secret, &n), VSAFE_ERR_HOST_FRAME);
    assert_int_equal(vsafe_host_establish_key(h, VSAFE_HOST_PROT_TABLE, 2, VSAFE_CURVE_ED25519, peer, 32, secret,
                                              sizeof secret, &n), VSAFE_ERR_ARGUMENT);

    /* Generate ECDHE: 1F 0B CURVE_ID -> CURVE_ID echo + key */
    bld(&r);
    bh(&r, P256_ID);
    bh(&r, "04 00 20");
    brep(&r, 0x61, 32);
    bh(&r, "00 20");
    brep(&r, 0x62, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_generate_ecdhe(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, sizeof pub, &n), 0);
    assert_true(fake_body_is(&f, 3, "1F 0B 00 08 2A 86 48 CE 3D 03 01 07"));
    assert_int_equal(n, 64);
    assert_int_equal(pub[0], 0x61);
    assert_int_equal(pub[63], 0x62);
    /* X25519: short form; a P-384 echo for a P-256 request is refused */
    fake_answer_hex(&f, 0, "00 03 2B 65 6E 00 20 0101010101010101010101010101010101010101010101010101010101010101");
    assert_int_equal(vsafe_host_generate_ecdhe(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_X25519, pub, sizeof pub, &n), 0);
    assert_true(fake_body_is(&f, 4, "1F 0B 00 03 2B 65 6E"));
    assert_int_equal(n, 32);
    bld(&r);
    bh(&r, "00 05 2B 81 04 00 22 04 00 20");
    brep(&r, 0x61, 32);
    bh(&r, "00 20");
    brep(&r, 0x62, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_generate_ecdhe(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, pub, sizeof pub, &n),
                     VSAFE_ERR_HOST_FRAME);
    assert_int_equal(vsafe_host_generate_ecdhe(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_ED25519, pub, sizeof pub, &n),
                     VSAFE_ERR_ARGUMENT);

    /* Decompress: 1F 1A CURVE_ID 02 X -> Y (no prefix) */
    uint8_t xc[32], y[32];
    memset(xc, 0x5C, 32);
    bld(&r);
    brep(&r, 0x7E, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_decompress_key(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, 0x02, xc, 32, y, 32), 0);
    bld(&x);
    bh(&x, "1F 1A");
    bh(&x, P256_ID);
    bh(&x, "02");
    brep(&x, 0x5C, 32);
    assert_body(&f, 6, &x);
    assert_int_equal(y[0], 0x7E);
    brep(&r, 0x7E, 1);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_decompress_key(h, VSAFE_HOST_PROT_TABLE, VSAFE_CURVE_P256, 0x03, xc, 32, y, 32),
                     VSAFE_ERR_HOST_FRAME);
    vsafe_host_close(h);
}

/* ---- Generic public keys, entity authentication ---- */

static void test_pubkey_slots(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    vsafe_host_pubkey_slot_t s[4];
    size_t count = 0;
    /* 14 48: COUNT, then SLOT PRESENCE FLAGS(2) [CURVE_ID] */
    fake_answer_hex(&f, 0, "04 00 01 00 0A 00 08 2A 86 48 CE 3D 03 01 07 01 00 00 01 02 00 00 01 03 01 00 0F 00 03 2B 65 70");
    fake_answer_hex(&f, 0, "04 00 00 00 01");
    assert_int_equal(vsafe_host_pubkey_table(h, s, 4, &count), 0);
    assert_true(fake_body_is(&f, 0, "14 48"));
    assert_int_equal(count, 4);
    assert_true(s[0].present);
    assert_int_equal(s[0].curve, VSAFE_CURVE_P256);
    assert_int_equal(s[0].flags[1], VSAFE_HOST_GPK_ENTITY_AUTH | VSAFE_HOST_GPK_SYMKEY_ESTABLISH);
    assert_false(s[1].present);
    assert_int_equal(s[3].curve, VSAFE_CURVE_ED25519);
    assert_int_equal(vsafe_host_pubkey_table(h, s, 4, &count), VSAFE_ERR_HOST_FRAME);

    /* 14 4C SLOT: present P-256 */
    bld(&r);
    bh(&r, "01 00 08");
    bh(&r, P256_ID);
    bh(&r, "04 00 20");
    brep(&r, 0x91, 32);
    bh(&r, "00 20");
    brep(&r, 0x92, 32);
    fake_answer(&f, 0, r.b, r.n);
    vsafe_host_pubkey_slot_t e;
    assert_int_equal(vsafe_host_pubkey_slot(h, 0, &e), 0);
    assert_true(fake_body_is(&f, 2, "14 4C 00"));
    assert_true(e.present);
    assert_int_equal(e.pub_len, 64);
    assert_int_equal(e.pub[0], 0x91);
    assert_int_equal(e.pub[63], 0x92);
    /* empty: 00 FLAGS and nothing else */
    fake_answer_hex(&f, 0, "00 00 01");
    assert_int_equal(vsafe_host_pubkey_slot(h, 1, &e), 0);
    assert_false(e.present);
    assert_int_equal(e.flags[1], 0x01);
    fake_answer_hex(&f, 0, "00 00 01 00");
    assert_int_equal(vsafe_host_pubkey_slot(h, 1, &e), VSAFE_ERR_HOST_FRAME);
    fake_answer_hex(&f, 0x10, "");
    assert_int_equal(vsafe_host_pubkey_slot(h, 9, &e), VSAFE_DEV_STATUS(VSAFE_SE_ST_ENTRY_NOT_FOUND));
    /* Ed25519 short form; X25519 short and point forms */
    bld(&r);
    bh(&r, "01 00 08 00 03 2B 65 70 00 20");
    brep(&r, 0x93, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_pubkey_slot(h, 2, &e), 0);
    assert_int_equal(e.curve, VSAFE_CURVE_ED25519);
    assert_int_equal(e.pub_len, 32);
    bld(&r);
    bh(&r, "01 00 08 00 03 2B 65 6E 04 00 20");
    brep(&r, 0x94, 32);
    bh(&r, "00 20");
    brep(&r, 0x00, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_pubkey_slot(h, 3, &e), 0);
    assert_int_equal(e.curve, VSAFE_CURVE_X25519);
    assert_int_equal(e.pub[0], 0x94);

    /* Write public key 1F 0A SLOT CURVE_ID PUB; Put flags 10 4D SLOT FLAGS */
    uint8_t pub[64];
    memset(pub, 0xA1, 64);
    fake_answer_hex(&f, 0, "");
    assert_int_equal(vsafe_host_write_pubkey(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_ED25519, pub, 32), 0);
    bld(&x);
    bh(&x, "1F 0A 01");
    bh(&x, ED25519_ID);
    bh(&x, "00 20");
    brep(&x, 0xA1, 32);
    assert_body(&f, 8, &x);
    fake_answer_hex(&f, 0, "00");
    assert_int_equal(vsafe_host_write_pubkey(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_P256, pub, 64),
                     VSAFE_ERR_HOST_FRAME);
    const uint8_t flags[2] = {0x00, VSAFE_HOST_GPK_ENTITY_AUTH};
    fake_answer_hex(&f, 0x11, "");
    assert_int_equal(vsafe_host_put_pubkey_flags(h, 1, flags),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED));
    assert_true(fake_body_is(&f, 10, "10 4D 01 00 08"));
    vsafe_host_close(h);
}

static void test_entity_auth(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    uint8_t ch[16];
    fake_answer_hex(&f, 0, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F");
    assert_int_equal(vsafe_host_entity_challenge(h, VSAFE_HOST_PROT_TABLE, ch), 0);
    assert_true(fake_body_is(&f, 0, "1F 0E"));
    assert_int_equal(ch[15], 0x0F);
    fake_answer_hex(&f, 0, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E");
    assert_int_equal(vsafe_host_entity_challenge(h, VSAFE_HOST_PROT_TABLE, ch), VSAFE_ERR_HOST_FRAME);
    uint8_t sig[64];
    memset(sig, 0xE1, 32);
    memset(sig + 32, 0xE2, 32);
    int valid = -1;
    fake_answer_hex(&f, 0, "01");
    assert_int_equal(vsafe_host_entity_verify(h, VSAFE_HOST_PROT_TABLE, 2, sig, 64, &valid), 0);
    bld_t x;
    bld(&x);
    bh(&x, "1F 0F 00 02 00 20");
    brep(&x, 0xE1, 32);
    bh(&x, "00 20");
    brep(&x, 0xE2, 32);
    assert_body(&f, 2, &x);
    assert_int_equal(valid, 1);
    fake_answer_hex(&f, 0x17, "");
    assert_int_equal(vsafe_host_entity_verify(h, VSAFE_HOST_PROT_TABLE, 2, sig, 64, &valid),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_CHALLENGE_MISSING));
    assert_int_equal(valid, 0);
    vsafe_host_close(h);
}

/* ---- Hash ---- */

static void test_hash(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    bld_t x, r;
    uint8_t msg[2000], d[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof msg; i++) {
        msg[i] = (uint8_t)i;
    }
    /* 01_Hash: 1F 00 <SHA-256 id> <128 bytes>, then 1F 02 -> 00 20 DIGEST */
    fake_answer_hex(&f, 0, "");
    bld(&r);
    bh(&r, "00 20");
    bseq(&r, 0xD0, 32);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_hash(h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA256, msg, 128, d, sizeof d, &n), 0);
    bld(&x);
    bh(&x, "1F 00 00 09 60 86 48 01 65 03 04 02 01");
    bseq(&x, 0, 128);
    assert_body(&f, 0, &x);
    assert_true(fake_body_is(&f, 1, "1F 02"));
    assert_int_equal(n, 32);
    assert_int_equal(d[0], 0xD0);
    /* 2000 bytes: Start 738, Process 749, Process 513, empty Finish */
    fake_answer_hex(&f, 0, "");
    fake_answer_hex(&f, 0, "");
    fake_answer_hex(&f, 0, "");
    bld(&r);
    bh(&r, "00 40");
    brep(&r, 0xD1, 64);
    fake_answer(&f, 0, r.b, r.n);
    assert_int_equal(vsafe_host_hash(h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA3_512, msg, 2000, d, sizeof d, &n), 0);
    assert_int_equal(f.cmd_len[2], 2 + 11 + 738 + 2);
    assert_true(f.cmd_len[2] > 13);
    assert_true(memcmp(f.cmd[2], "\x1F\x00\x00\x09\x60\x86\x48\x01\x65\x03\x04\x02\x0A", 13) == 0);
    assert_int_equal(f.cmd_len[3], 2 + 749 + 2);
    assert_int_equal(f.cmd[3][1], 0x01);
    assert_int_equal(f.cmd[3][2], msg[738]);
    assert_int_equal(f.cmd_len[4], 2 + 513 + 2);
    assert_int_equal(f.cmd[4][2], msg[738 + 749]);
    assert_true(fake_body_is(&f, 5, "1F 02"));
    assert_int_equal(n, 64);
    /* Finish: the length field must be the algorithm's and match the bytes */
    fake_answer_hex(&f, 0, "00 30 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
    assert_int_equal(vsafe_host_hash_finish(h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA256, NULL, 0, d, sizeof d, &n),
                     VSAFE_ERR_HOST_FRAME);
    fake_answer_hex(&f, 0x17, "");
    assert_int_equal(vsafe_host_hash_finish(h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA256, msg, 3, d, sizeof d, &n),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_CHALLENGE_MISSING));
    assert_true(fake_body_is(&f, 7, "1F 02 00 01 02"));
    /* empty messages and SHA-1 cannot be sent */
    assert_int_equal(vsafe_host_hash(h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA256, msg, 0, d, sizeof d, &n),
                     VSAFE_ERR_ARGUMENT);
    assert_int_equal(vsafe_host_hash_start(h, VSAFE_HOST_PROT_TABLE, 0, msg, 1), VSAFE_ERR_ARGUMENT);
    vsafe_host_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_key_traces),
        cmocka_unit_test(test_generate_key_bad_responses),
        cmocka_unit_test(test_privkey_table),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_ecdh_ecdhe_decompress),
        cmocka_unit_test(test_pubkey_slots),
        cmocka_unit_test(test_entity_auth),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
