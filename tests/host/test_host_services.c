/* Host key services, part 1: private key slots, generic public key slots, entity authentication,
 * hash, AES, MAC, Derive keys, local envelopes and password, against a fake device (fake_device.h).
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

typedef struct {
    uint8_t b[FAKE_FRAME];
    size_t n;
} bld_t;

static bld_t *bld(bld_t *x)
{
    x->n = 0;
    return x;
}
static void bh(bld_t *x, const char *h) { x->n += hex(h, x->b + x->n); }
static void brep(bld_t *x, uint8_t v, size_t n)
{
    memset(x->b + x->n, v, n);
    x->n += n;
}
static void bseq(bld_t *x, uint8_t start, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        x->b[x->n++] = (uint8_t)(start + i);
    }
}

/* Command frame i without its CRC equals x, and the CRC is right. */
static void assert_body(const fake_t *f, size_t i, const bld_t *x)
{
    assert_true(i < f->ncmd);
    assert_int_equal(f->cmd_len[i], x->n + 2);
    assert_memory_equal(f->cmd[i], x->b, x->n);
    uint16_t crc = vsafe_crc16(f->cmd[i], x->n);
    assert_int_equal(f->cmd[i][x->n], (uint8_t)(crc >> 8));
    assert_int_equal(f->cmd[i][x->n + 1], (uint8_t)crc);
}

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
        cmocka_unit_test(test_generate_key_traces),
        cmocka_unit_test(test_generate_key_bad_responses),
        cmocka_unit_test(test_privkey_table),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_ecdh_ecdhe_decompress),
        cmocka_unit_test(test_pubkey_slots),
        cmocka_unit_test(test_entity_auth),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_ccm_sdk_frames),
        cmocka_unit_test(test_gcm_ecb_gmac),
        cmocka_unit_test(test_aead_chunked),
        cmocka_unit_test(test_mac_envelope_password),
        cmocka_unit_test(test_derive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
