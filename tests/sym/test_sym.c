/* Symmetric key services of the device: hash, symmetric key table and provisioning (plaintext,
 * wrapped, established), AES ECB, CCM* and GCM, CMAC/HMAC, local envelopes, password. Frames byte for
 * byte as STSELib lays them out; every result recomputed with OpenSSL directly; every refusal
 * with its status and the NVM unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sym_util.h"

static const uint8_t sha256_id[11] = {0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

/* ---- hash ---- */

static void test_hash(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 1);
    uint8_t f[800], r[800], want[64];
    size_t rl = 0;
    unsigned wl = 0;
    /* SDK 01_Hash: one Start of 128 bytes with SHA-256, then an empty Finish */
    uint8_t msg[128];
    for (unsigned i = 0; i < sizeof msg; i++) {
        msg[i] = (uint8_t)(i * 37u + 5u);
    }
    f[0] = 0x1F;
    f[1] = 0x00;
    memcpy(f + 2, sha256_id, 11);
    memcpy(f + 13, msg, sizeof msg);
    assert_int_equal(su_cmd(&d, f, 13 + sizeof msg, r, &rl), 0x00);
    assert_int_equal(rl, 0);
    assert_int_equal(su_hexcmd(&d, "1F 02", r, &rl), 0x00);
    ossl_digest("SHA256", msg, sizeof msg, want, &wl);
    assert_int_equal(rl, 2 + 32);
    assert_int_equal(r[0], 0x00);
    assert_int_equal(r[1], 32);
    assert_memory_equal(r + 2, want, 32);
    /* every algorithm, Start + Process + Finish with data, other commands in between */
    static const struct {
        uint8_t last;
        const char *name;
        unsigned len;
    } algs[] = {{0x01, "SHA256", 32}, {0x02, "SHA384", 48}, {0x03, "SHA512", 64},
                {0x08, "SHA3-256", 32}, {0x09, "SHA3-384", 48}, {0x0A, "SHA3-512", 64}};
    for (size_t a = 0; a < 6; a++) {
        memcpy(f + 2, sha256_id, 11);
        f[12] = algs[a].last;
        memcpy(f + 13, msg, 50);
        assert_int_equal(su_cmd(&d, f, 13 + 50, r, &rl), 0x00);
        assert_int_equal(su_hexcmd(&d, "14 23", r, &rl), 0x00); /* does not disturb the context */
        uint8_t p[100] = {0x1F, 0x01};
        memcpy(p + 2, msg + 50, 40);
        assert_int_equal(su_cmd(&d, p, 42, r, &rl), 0x00);
        p[1] = 0x02;
        memcpy(p + 2, msg + 90, 38);
        assert_int_equal(su_cmd(&d, p, 40, r, &rl), 0x00);
        ossl_digest(algs[a].name, msg, 128, want, &wl);
        assert_int_equal(wl, algs[a].len);
        assert_int_equal(rl, 2 + wl);
        assert_int_equal(r[1], wl);
        assert_memory_equal(r + 2, want, wl);
        /* the context is gone after Finish */
        assert_int_equal(su_hexcmd(&d, "1F 02", r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    }
    /* SHA-1, SHA-224, unknown identifiers */
    assert_int_equal(su_hexcmd(&d, "1F 00 00 05 2B 0E 03 02 1A 00 00 00 00 AA", r, &rl),
                     VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_int_equal(su_hexcmd(&d, "1F 00 00 09 60 86 48 01 65 03 04 02 04 AA", r, &rl),
                     VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_int_equal(su_hexcmd(&d, "1F 00 00 09 60 86 48 01 65 03 04 02 0B AA", r, &rl),
                     VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_int_equal(su_hexcmd(&d, "1F 00 00 09 60 86 48 01 65 03 04 02 01", r, &rl),
                     VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA); /* no data */
    assert_int_equal(su_hexcmd(&d, "1F 01 AA", r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    assert_int_equal(su_hexcmd(&d, "1F 01", r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    /* a reset loses the context */
    assert_int_equal(su_cmd(&d, f, 13 + 20, r, &rl), 0x00);
    assert_int_equal(su_hexcmd(&d, "01", r, &rl), 0x00);
    assert_int_equal(su_hexcmd(&d, "1F 02", r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    su_free(&d);
}

/* ---- table, control fields, plaintext write ---- */

static void put_ctrl(sdev_t *d, uint8_t slot, uint8_t b0)
{
    uint8_t f[6] = {0x10, 0x4B, slot, b0, 0xFF, 0xFF}, r[8];
    size_t rl;
    assert_int_equal(su_cmd(d, f, 6, r, &rl), 0x00);
}

/* 1F 17 INFO KEY */
static int write_plain(sdev_t *d, const char *info, const uint8_t *key, size_t klen)
{
    uint8_t f[100] = {0x1F, 0x17}, r[8];
    size_t n = 2 + su_hex(info, f + 2), rl;
    memcpy(f + n, key, klen);
    return su_cmd(d, f, n + klen, r, &rl);
}

static void test_table_and_plaintext(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 2);
    uint8_t r[800], want[200];
    size_t rl = 0;
    /* factory: 16 empty slots, control fields 08 FF FF */
    assert_int_equal(su_hexcmd(&d, "14 23", r, &rl), 0x00);
    assert_int_equal(rl, 17);
    assert_int_equal(r[0], 16);
    for (unsigned i = 1; i < 17; i++) {
        assert_int_equal(r[i], 0);
    }
    for (unsigned s = 0; s < 16; s++) {
        uint8_t q[3] = {0x14, 0x4B, (uint8_t)s};
        assert_int_equal(su_cmd(&d, q, 3, r, &rl), 0x00);
        assert_int_equal(rl, 3);
        assert_memory_equal(r, "\x08\xFF\xFF", 3);
    }
    /* plaintext not allowed by the factory fields */
    uint8_t k16[16], k32[32];
    memset(k16, 0x5A, 16);
    memset(k32, 0x5A, 32);
    assert_int_equal(write_plain(&d, "00 03 00 01 00 03 02", k16, 16), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* SDK 04: Put 10 4B s 03 FF FF clears the change right; a second Put is refused */
    assert_int_equal(su_hexcmd(&d, "10 4B 03 13 FF FF", r, &rl), 0x00);
    assert_int_equal(su_hexcmd(&d, "14 4B 03", r, &rl), 0x00);
    assert_memory_equal(r, "\x13\xFF\xFF", 3);
    assert_int_equal(su_hexcmd(&d, "10 4B 03 1B FF FF", r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* SDK 05 CMAC key information, slot 3 */
    assert_int_equal(write_plain(&d, "00 03 00 01 00 03 02", k16, 16), 0x00);
    put_ctrl(&d, 5, 0x18);
    assert_int_equal(write_plain(&d, "00 05 01 00 00 0C 04 84", k32, 32), 0x00); /* CCM, counter at 4 */
    put_ctrl(&d, 6, 0x18);
    assert_int_equal(write_plain(&d, "00 06 01 03 00 0C 10", k32, 32), 0x00); /* GCM tag 16 */
    put_ctrl(&d, 7, 0x18);
    assert_int_equal(write_plain(&d, "02 07 02 05 00 03 10 20", k32, 32), 0x00); /* HMAC, erasable */
    put_ctrl(&d, 8, 0x18);
    assert_int_equal(write_plain(&d, "01 08 00 02 00 0C", k16, 16), 0x00); /* ECB, locked */
    assert_int_equal(su_hexcmd(&d, "14 23", r, &rl), 0x00);
    size_t n = su_hex("10 00 00 00"
                      " 01 00 01 00 03 02"           /* slot 3 CMAC: MIN_MAC_LEN */
                      " 00"
                      " 01 01 00 00 0C 04 84 00000000" /* slot 5 CCM: TAG CTR_BYTE COUNTER */
                      " 01 01 03 00 0C 10"           /* slot 6 GCM: TAG */
                      " 05 02 05 00 03"              /* slot 7 HMAC, erasable (lock 2): no params */
                      " 03 00 02 00 0C"              /* slot 8 ECB, locked */
                      " 00 00 00 00 00 00 00",
                      want);
    assert_int_equal(rl, n);
    assert_memory_equal(r, want, n);
    su_free(&d);
}

static void test_key_info_refusals(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 3);
    uint8_t k[32], r[16];
    size_t rl;
    memset(k, 0x11, 32);
    put_ctrl(&d, 1, 0x10);
    assert_int_equal(write_plain(&d, "00 01 00 02 00 0C", k, 16), 0x00);
    put_ctrl(&d, 2, 0x10);
    assert_int_equal(write_plain(&d, "01 02 00 02 00 0C", k, 16), 0x00);
    size_t n0;
    uint8_t *before = su_nvm_copy(&d, &n0);
    static const struct {
        const char *info;
        size_t klen;
        int st;
    } cases[] = {
        {"00 02 00 02 00 0C", 16, VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED}, /* locked key present */
        {"00 03 00 02 00 0C", 16, VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED}, /* plaintext not allowed */
        {"00 10 00 02 00 0C", 16, VSAFE_SE_ST_ENTRY_NOT_FOUND},
        {"00 01 00 02 00 0C", 15, VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA},      /* short key */
        {"00 01 00 02 00 0C", 32, VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA},      /* AES-128 with 32 bytes */
        {"00 01 02 02 00 0C", 16, VSAFE_SE_ST_WRONG_MODE_OF_OPERATION},        /* ECB with a generic secret */
        {"00 01 00 05 00 03 10 10", 16, VSAFE_SE_ST_WRONG_MODE_OF_OPERATION},  /* HMAC with AES */
        {"00 01 00 02 00 03", 16, VSAFE_SE_ST_WRONG_KEY_USAGE},                /* ECB with MAC usage */
        {"00 01 00 01 00 0C 02", 16, VSAFE_SE_ST_WRONG_KEY_USAGE},             /* CMAC encrypting */
        {"00 01 00 02 01 0C", 16, VSAFE_SE_ST_WRONG_KEY_USAGE},
        {"00 01 00 00 00 0C 06 00", 16, VSAFE_SE_ST_WRONG_MAC_LENGTH},         /* CCM tag 6 */
        {"00 01 00 03 00 0C 03", 16, VSAFE_SE_ST_WRONG_MAC_LENGTH},            /* GCM tag 3 */
        {"00 01 00 01 00 03 11", 16, VSAFE_SE_ST_WRONG_MAC_LENGTH},            /* CMAC min 17 */
        {"03 01 00 02 00 0C", 16, VSAFE_SE_ST_VALUE_OUT_OF_RANGE},             /* LOCK 3 */
        {"00 01 03 02 00 0C", 16, VSAFE_SE_ST_VALUE_OUT_OF_RANGE},             /* KEY_TYPE 3 */
        {"00 01 00 06 00 0C", 16, VSAFE_SE_ST_VALUE_OUT_OF_RANGE},             /* MODE 6 */
        {"00 01 00 00 00 0C 04 8A", 16, VSAFE_SE_ST_VALUE_OUT_OF_RANGE},       /* counter offset 10 */
        {"00 01 02 05 00 03 10 0F", 15, VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA}, /* generic 15 bytes */
        {"00 01 02 05 00 03 10 21", 32, VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA}, /* generic 33 bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = write_plain(&d, cases[i].info, k, cases[i].klen);
        if (st != cases[i].st) {
            fprintf(stderr, "info %s: 0x%02X, expected 0x%02X\n", cases[i].info, st, cases[i].st);
        }
        assert_int_equal(st, cases[i].st);
    }
    /* erase: locked 0x11, out of table 0x10, wrong length 0x02 */
    assert_int_equal(su_hexcmd(&d, "1F 19 02", r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(su_hexcmd(&d, "1F 19 10", r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "1F 19", r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(su_hexcmd(&d, "1F 19 09", r, &rl), 0x00); /* empty: nothing to do */
    /* control fields: slot out of table, length */
    assert_int_equal(su_hexcmd(&d, "10 4B 10 08 FF FF", r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "10 4B 04 08 FF", r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(su_hexcmd(&d, "10 4B 01 08 FF FF", r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(su_hexcmd(&d, "14 4B 10", r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "14 4B", r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    size_t n1;
    uint8_t *after = su_nvm_copy(&d, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    /* erase an unlocked key: the slot reads empty, its control fields stay */
    assert_int_equal(su_hexcmd(&d, "1F 19 01", r, &rl), 0x00);
    uint8_t t[40];
    assert_int_equal(su_hexcmd(&d, "14 23", t, &rl), 0x00);
    assert_int_equal(t[2], 0x00);
    assert_int_equal(su_hexcmd(&d, "14 4B 01", r, &rl), 0x00);
    assert_memory_equal(r, "\x10\xFF\xFF", 3);
    su_free(&d);
}

/* ---- MAC ---- */

static void test_mac(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 4);
    uint8_t key[32], r[64], want[32], f[300];
    size_t rl;
    for (unsigned i = 0; i < 32; i++) {
        key[i] = (uint8_t)(0xA0 + i);
    }
    put_ctrl(&d, 1, 0x10);
    assert_int_equal(write_plain(&d, "00 01 00 01 00 03 02", key, 16), 0x00);
    /* SDK 05 CMAC: 09 03 s 04 00 01 .. 0F */
    assert_int_equal(su_hexcmd(&d, "09 03 01 04 000102030405060708090A0B0C0D0E0F", r, &rl), 0x00);
    uint8_t msg[16];
    for (unsigned i = 0; i < 16; i++) {
        msg[i] = (uint8_t)i;
    }
    ossl_cmac(key, 16, msg, 16, want);
    assert_int_equal(rl, 4);
    assert_memory_equal(r, want, 4);
    f[0] = 0x0A;
    f[1] = 0x02;
    f[2] = 0x01;
    f[3] = 0x04;
    memcpy(f + 4, want, 4);
    memcpy(f + 8, msg, 16);
    assert_int_equal(su_cmd(&d, f, 24, r, &rl), 0x00);
    assert_int_equal(rl, 1);
    assert_int_equal(r[0], 0x01);
    f[5] ^= 1;
    assert_int_equal(su_cmd(&d, f, 24, r, &rl), 0x00);
    assert_int_equal(r[0], 0x00);
    /* full 16-byte CMAC of an empty message */
    assert_int_equal(su_hexcmd(&d, "09 03 01 10", r, &rl), 0x00);
    ossl_cmac(key, 16, msg, 0, want);
    assert_memory_equal(r, want, 16);
    /* HMAC-SHA-256 with a 24-byte generic secret */
    put_ctrl(&d, 2, 0x10);
    assert_int_equal(write_plain(&d, "00 02 02 05 00 03 08 18", key, 24), 0x00);
    assert_int_equal(su_hexcmd(&d, "09 03 02 20 000102030405060708090A0B0C0D0E0F", r, &rl), 0x00);
    ossl_hmac(key, 24, msg, 16, want);
    assert_int_equal(rl, 32);
    assert_memory_equal(r, want, 32);
    /* refusals */
    assert_int_equal(su_hexcmd(&d, "09 03 01 01 00", r, &rl), VSAFE_SE_ST_WRONG_MAC_LENGTH); /* below min 2 */
    assert_int_equal(su_hexcmd(&d, "09 03 01 11 00", r, &rl), VSAFE_SE_ST_WRONG_MAC_LENGTH);
    assert_int_equal(su_hexcmd(&d, "09 03 02 21 00", r, &rl), VSAFE_SE_ST_WRONG_MAC_LENGTH);
    assert_int_equal(su_hexcmd(&d, "09 03 02 07 00", r, &rl), VSAFE_SE_ST_WRONG_MAC_LENGTH); /* min 8 */
    assert_int_equal(su_hexcmd(&d, "09 03 03 04 00", r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "09 03 10 04 00", r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "09 02 01 04 00", r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    put_ctrl(&d, 3, 0x10);
    assert_int_equal(write_plain(&d, "00 03 00 02 00 0C", key, 16), 0x00);
    assert_int_equal(su_hexcmd(&d, "09 03 03 04 00", r, &rl), VSAFE_SE_ST_WRONG_MODE_OF_OPERATION);
    put_ctrl(&d, 4, 0x10);
    assert_int_equal(write_plain(&d, "00 04 00 01 00 01 04", key, 16), 0x00); /* verify only */
    assert_int_equal(su_hexcmd(&d, "09 03 04 04 00", r, &rl), VSAFE_SE_ST_WRONG_KEY_USAGE);
    assert_int_equal(su_hexcmd(&d, "0A 02 04 04 00000000", r, &rl), 0x00);
    assert_int_equal(r[0], 0x00);
    su_free(&d);
}

/* ---- AES ---- */

static void test_aes(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 5);
    uint8_t key[32], r[800], f[800], ct[64], tag[16], nonce[13], aad[8], pt[16];
    size_t rl;
    for (unsigned i = 0; i < 32; i++) {
        key[i] = (uint8_t)(0x30 + 3 * i);
    }
    for (unsigned i = 0; i < 13; i++) {
        nonce[i] = (uint8_t)i;
    }
    memset(aad, 0x5A, 8);
    for (unsigned i = 0; i < 16; i++) {
        pt[i] = (uint8_t)(0xF0 ^ i);
    }
    /* SDK 05 CCM: slot s, AES-256, tag 4, no counter */
    put_ctrl(&d, 2, 0x10);
    assert_int_equal(write_plain(&d, "00 02 01 00 00 0C 04 00", key, 32), 0x00);
    size_t n = su_hex("1B 02 02 000102030405060708090A0B0C 0008 5A5A5A5A5A5A5A5A 0010", f);
    memcpy(f + n, pt, 16);
    assert_int_equal(su_cmd(&d, f, n + 16, r, &rl), 0x00);
    ossl_aead_enc(false, key, 32, nonce, 13, aad, 8, pt, 16, ct, tag, 4);
    assert_int_equal(rl, 16 + 4 + 1);
    assert_memory_equal(r, ct, 16);
    assert_memory_equal(r + 16, tag, 4);
    assert_int_equal(r[20], 0x00);
    n = su_hex("1C 02 02 000102030405060708090A0B0C 0008 5A5A5A5A5A5A5A5A 0014", f);
    memcpy(f + n, ct, 16);
    memcpy(f + n + 16, tag, 4);
    assert_int_equal(su_cmd(&d, f, n + 20, r, &rl), 0x00);
    assert_int_equal(rl, 17);
    assert_int_equal(r[0], 0x01);
    assert_memory_equal(r + 1, pt, 16);
    f[n + 19] ^= 0x01; /* wrong tag: status 0, VERIFIED 0, plaintext zero */
    assert_int_equal(su_cmd(&d, f, n + 20, r, &rl), 0x00);
    assert_int_equal(rl, 17);
    assert_int_equal(r[0], 0x00);
    static const uint8_t zero[16];
    assert_memory_equal(r + 1, zero, 16);
    /* frame lengths that do not add up: 0x02 */
    f[n - 1] = 0x13; /* CT_LEN one short of the bytes given */
    assert_int_equal(su_cmd(&d, f, n + 20, r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    n = su_hex("1B 02 02 000102030405060708090A0B0C 0000 0010", f); /* STSELib's AAD 0 defect */
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);

    /* CCM* with a counter at offset 2: the counter replaces nonce bytes 2..5, is returned and
     * advances by one per encryption (persisted) */
    put_ctrl(&d, 3, 0x10);
    assert_int_equal(write_plain(&d, "00 03 00 00 00 0C 08 82", key, 16), 0x00);
    for (uint32_t ctr = 0; ctr < 3; ctr++) {
        n = su_hex("1B 02 03 000102030405060708090A0B0C 0008 5A5A5A5A5A5A5A5A 0010", f);
        memcpy(f + n, pt, 16);
        assert_int_equal(su_cmd(&d, f, n + 16, r, &rl), 0x00);
        uint8_t nn[13];
        memcpy(nn, nonce, 13);
        nn[2] = (uint8_t)(ctr >> 24);
        nn[3] = (uint8_t)(ctr >> 16);
        nn[4] = (uint8_t)(ctr >> 8);
        nn[5] = (uint8_t)ctr;
        ossl_aead_enc(false, key, 16, nn, 13, aad, 8, pt, 16, ct, tag, 8);
        assert_int_equal(rl, 16 + 8 + 1 + 4);
        assert_memory_equal(r, ct, 16);
        assert_memory_equal(r + 16, tag, 8);
        assert_int_equal(r[24], 0x01);
        assert_int_equal(r[25], 0);
        assert_int_equal(r[26], 0);
        assert_int_equal(r[27], 0);
        assert_int_equal(r[28], ctr);
    }
    assert_int_equal(su_hexcmd(&d, "14 23", r, &rl), 0x00);
    assert_memory_equal(r + 10, "\x01\x00\x00\x00\x0C\x08\x82\x00\x00\x00\x03", 11); /* after slot 2's 7 bytes */
    /* the counter survives a power cycle */
    vsafe_se_close(d.se);
    su_open(&d, 6);
    assert_int_equal(su_hexcmd(&d, "14 23", r, &rl), 0x00);
    assert_memory_equal(r + 10, "\x01\x00\x00\x00\x0C\x08\x82\x00\x00\x00\x03", 11); /* after slot 2's 7 bytes */

    /* GCM tag 16, GMAC */
    put_ctrl(&d, 4, 0x10);
    assert_int_equal(write_plain(&d, "00 04 01 03 00 0F 10", key, 32), 0x00);
    n = su_hex("1B 02 04 000C 000102030405060708090A0B 0008 5A5A5A5A5A5A5A5A 0010", f);
    memcpy(f + n, pt, 16);
    assert_int_equal(su_cmd(&d, f, n + 16, r, &rl), 0x00);
    ossl_aead_enc(true, key, 32, nonce, 12, aad, 8, pt, 16, ct, tag, 16);
    assert_int_equal(rl, 32);
    assert_memory_equal(r, ct, 16);
    assert_memory_equal(r + 16, tag, 16);
    n = su_hex("1C 02 04 000C 000102030405060708090A0B 0008 5A5A5A5A5A5A5A5A 0010", f);
    memcpy(f + n, ct, 16);
    memcpy(f + n + 16, tag, 16);
    assert_int_equal(su_cmd(&d, f, n + 32, r, &rl), 0x00);
    assert_int_equal(r[0], 0x01);
    assert_memory_equal(r + 1, pt, 16);
    assert_int_equal(su_cmd(&d, f, n + 31, r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA); /* short tag */
    n = su_hex("1B 02 04 000C 000102030405060708090A0B 0008 5A5A5A5A5A5A5A5A 0000", f);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00); /* GMAC compute */
    ossl_aead_enc(true, key, 32, nonce, 12, aad, 8, pt, 0, ct, tag, 16);
    assert_int_equal(rl, 16);
    assert_memory_equal(r, tag, 16);
    n = su_hex("1C 02 04 000C 000102030405060708090A0B 0008 5A5A5A5A5A5A5A5A 0000", f);
    memcpy(f + n, tag, 16);
    assert_int_equal(su_cmd(&d, f, n + 16, r, &rl), 0x00);
    assert_int_equal(rl, 1);
    assert_int_equal(r[0], 0x01);

    /* ECB */
    put_ctrl(&d, 5, 0x10);
    assert_int_equal(write_plain(&d, "00 05 00 02 00 0C", key, 16), 0x00);
    f[0] = 0x1B;
    f[1] = 0x02;
    f[2] = 0x05;
    memcpy(f + 3, key, 32);
    assert_int_equal(su_cmd(&d, f, 35, r, &rl), 0x00);
    ossl_ecb(key, 16, true, key, 32, ct);
    assert_int_equal(rl, 32);
    assert_memory_equal(r, ct, 32);
    f[0] = 0x1C;
    memcpy(f + 3, ct, 32);
    assert_int_equal(su_cmd(&d, f, 35, r, &rl), 0x00);
    assert_memory_equal(r, key, 32);
    assert_int_equal(su_cmd(&d, f, 34, r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(su_cmd(&d, f, 3, r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);

    /* refusals: empty 0x0A, out of table 0x10, MAC slot 0x1C, usage 0x1B, sub-command 0x03 */
    size_t n0;
    uint8_t *before = su_nvm_copy(&d, &n0);
    put_ctrl(&d, 6, 0x10);
    assert_int_equal(su_hexcmd(&d, "1B 02 07 00000000000000000000000000000000", r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "1B 02 10 00000000000000000000000000000000", r, &rl),
                     VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "1B 01 05 00000000000000000000000000000000", r, &rl),
                     VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    free(before);
    assert_int_equal(write_plain(&d, "00 06 00 01 00 03 04", key, 16), 0x00);
    assert_int_equal(write_plain(&d, "00 07 00 02 00 04", key, 16), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    put_ctrl(&d, 7, 0x10);
    assert_int_equal(write_plain(&d, "00 07 00 02 00 04", key, 16), 0x00); /* ECB decrypt only */
    before = su_nvm_copy(&d, &n0);
    assert_int_equal(su_hexcmd(&d, "1B 02 06 00000000000000000000000000000000", r, &rl),
                     VSAFE_SE_ST_WRONG_MODE_OF_OPERATION);
    assert_int_equal(su_hexcmd(&d, "1B 02 07 00000000000000000000000000000000", r, &rl),
                     VSAFE_SE_ST_WRONG_KEY_USAGE);
    size_t n1;
    uint8_t *after = su_nvm_copy(&d, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    su_free(&d);
}

/* ---- envelopes, password ---- */

static void test_envelopes_and_password(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 7);
    uint8_t r[600], f[600], want[600];
    size_t rl;
    assert_int_equal(su_hexcmd(&d, "14 07", r, &rl), 0x00);
    assert_int_equal(rl, 7);
    assert_memory_equal(r, "\x02\x00\x00\x00\x01\x00\x00", 7);
    size_t n0;
    uint8_t *before = su_nvm_copy(&d, &n0);
    assert_int_equal(su_hexcmd(&d, "0E 00 000102030405060708090A0B0C0D0E0F", r, &rl), VSAFE_SE_ST_KEY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "11 07 02 00", r, &rl), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(su_hexcmd(&d, "11 07 00 02", r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_int_equal(su_hexcmd(&d, "11 07 00", r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    size_t n1;
    uint8_t *after = su_nvm_copy(&d, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    /* SDK 03_Key_wrapping: 11 07 00 00, then a second time 0x11 */
    assert_int_equal(su_hexcmd(&d, "11 07 00 00", r, &rl), 0x00);
    assert_int_equal(su_hexcmd(&d, "11 07 00 01", r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(su_hexcmd(&d, "11 07 01 01", r, &rl), 0x00);
    assert_int_equal(su_hexcmd(&d, "14 07", r, &rl), 0x00);
    assert_memory_equal(r, "\x02\x00\x01\x00\x01\x01\x01", 7);
    uint32_t il;
    uint8_t *img = su_image(&d, &il);
    assert_non_null(img);
    for (unsigned s = 0; s < 2; s++) {
        const uint8_t *rec = img + SU_ENV_REC(img, s);
        size_t kl = s == 0 ? 16 : 32;
        assert_int_equal(rec[0], 1);
        assert_int_equal(rec[1], s);
        uint8_t pl[480];
        for (unsigned i = 0; i < sizeof pl; i++) {
            pl[i] = (uint8_t)i;
        }
        static const size_t lens[] = {16, 24, 480};
        for (size_t li = 0; li < 3; li++) {
            f[0] = 0x0E;
            f[1] = (uint8_t)s;
            memcpy(f + 2, pl, lens[li]);
            assert_int_equal(su_cmd(&d, f, 2 + lens[li], r, &rl), 0x00);
            assert_int_equal(rl, lens[li] + 8);
            assert_int_equal(ossl_kw(rec + 2, kl, pl, lens[li], want, true), lens[li] + 8);
            assert_memory_equal(r, want, rl);
            f[0] = 0x0F;
            memcpy(f + 2, want, lens[li] + 8);
            assert_int_equal(su_cmd(&d, f, 2 + lens[li] + 8, r, &rl), 0x00);
            assert_int_equal(rl, lens[li]);
            assert_memory_equal(r, pl, lens[li]);
            f[5] ^= 0x80;
            assert_int_equal(su_cmd(&d, f, 2 + lens[li] + 8, r, &rl), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
        }
    }
    free(img);
    assert_int_equal(su_hexcmd(&d, "0E 00 0001020304050607", r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(su_hexcmd(&d, "0E 00 000102030405060708090A0B0C0D0E0F10", r, &rl),
                     VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(su_hexcmd(&d, "0F 02 000102030405060708090A0B0C0D0E0F1011121314151617", r, &rl),
                     VSAFE_SE_ST_ENTRY_NOT_FOUND);
    /* password: none provisioned */
    assert_int_equal(su_hexcmd(&d, "1A 00112233445566778899AABBCCDDEEFF", r, &rl), 0x00);
    assert_int_equal(rl, 2);
    assert_int_equal(r[0], 0x00);
    assert_int_equal(r[1], 0x00);
    assert_int_equal(su_hexcmd(&d, "1A 00", r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(su_hexcmd(&d, "0C 09", r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    su_free(&d);
}

/* ---- wrapped write and establishment ---- */

/* 1F 0B P-256 -> the device's ECDHE public key X||Y */
static void ecdhe(sdev_t *d, uint8_t dev_pub[64])
{
    uint8_t f[16] = {0x1F, 0x0B}, r[100];
    size_t rl;
    memcpy(f + 2, KU_P256->id, 10);
    assert_int_equal(su_cmd(d, f, 12, r, &rl), 0x00);
    assert_int_equal(rl, 10 + 69);
    memcpy(dev_pub, r + 13, 32);
    memcpy(dev_pub + 32, r + 47, 32);
}

/* 1F code CURVE HOST_PUB alg, after a fresh ECDHE; the shared secret computed with OpenSSL. */
static int kex(sdev_t *d, uint8_t code, uint8_t alg, uint8_t secret[32], uint8_t dev_pub[64], uint8_t host_pub[64])
{
    uint8_t f[100] = {0x1F, code}, r[16];
    size_t rl;
    ecdhe(d, dev_pub);
    EVP_PKEY *h = ku_keygen(KU_P256, host_pub);
    assert_int_equal(ku_ecdh(h, KU_P256, dev_pub, secret), 32);
    EVP_PKEY_free(h);
    memcpy(f + 2, KU_P256->id, 10);
    size_t n = 12 + ku_put_pub(f + 12, KU_P256, host_pub);
    f[n++] = alg;
    return su_cmd(d, f, n, r, &rl);
}

static void test_spec_vectors(void **state)
{
    (void)state;
    /* The test's own derivations against the spec's vectors first, so that what they compute
     * for the device below is known right. Working KEK from base KEK 00..1F, CTR 1. */
    uint8_t base[32], wk[32], pl[48], env[56], want[64];
    for (unsigned i = 0; i < 32; i++) {
        base[i] = (uint8_t)i;
    }
    ossl_hkdf(su_salt, 32, base, 32, (const uint8_t *)"\x10\x11\x01", 3, wk, 32);
    su_hex("08F424926445EF7CB6F5D3A8834EEA5E648FCA20BED99193F18B39B688E3F32B", want);
    assert_memory_equal(wk, want, 32);
    size_t n = su_hex("00000001000302 5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A 80", pl);
    assert_int_equal(ossl_kw(wk, 32, pl, n, env, true), 32);
    su_hex("6B35DD70716EE295613DB235006304D7E8DF0F48331E35CD02D749E92BB97F58", want);
    assert_memory_equal(env, want, 32);
    n = su_hex("00010100000C0400" "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A"
               "80 00000000000000", pl);
    assert_int_equal(ossl_kw(wk, 32, pl, n, env, true), 56);
    su_hex("14D069C0052110003DC8E2A5A1A79F4CFF1AA4CC4A249109BBA8F552043B44292D6B584BFA5706C0DF1CB11D4BABA554E"
           "10103B6B3927FC5", want);
    assert_memory_equal(env, want, 56);
    /* Establishment OKM and confirmation MAC */
    uint8_t ss[32], okm[48], mac[16], rec[9];
    for (unsigned i = 0; i < 32; i++) {
        ss[i] = (uint8_t)(0x40 + i);
    }
    ossl_hkdf(su_salt, 32, ss, 32, (const uint8_t *)"\x12\x13", 2, okm, 48);
    su_hex("A26A19236E5C2508431862C9EBD987842EDA3C2F77827151EB236A680509A4A7 32B091A5A99CCFF64A13C3EC1C06935E", want);
    assert_memory_equal(okm, want, 48);
    su_hex("00 07 00 00 00 01 00 03 02", rec);
    ossl_cmac(okm, 32, rec, 9, mac);
    su_hex("5E259AD97DE1E0C8", want);
    assert_memory_equal(mac, want, 8);
}

static void test_wrapped_write(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 8);
    uint8_t secret[32], dp[64], hp[64], base[32], wk[32], info[128], pl[64], env[72], r[64];
    size_t rl;
    uint8_t k16[16], k32[32];
    memset(k16, 0x5A, 16);
    memset(k32, 0x5A, 32);
    /* no session */
    assert_int_equal(su_hexcmd(&d, "1F 09 6B35DD70716EE295613DB235006304D7E8DF0F48331E35CD02D749E92BB97F58", r, &rl),
                     VSAFE_SE_ST_SESSION_ERROR);
    put_ctrl(&d, 0, 0x03); /* SDK 04: 03 FF FF */
    put_ctrl(&d, 1, 0x03);
    assert_int_equal(kex(&d, 0x03, 0x01, secret, dp, hp), 0x00);
    memcpy(info, dp, 64);
    memcpy(info + 64, hp, 64);
    ossl_hkdf(su_salt, 32, secret, 32, info, 128, base, 32);
    /* first envelope: CTR 1, CMAC AES-128 slot 0 (the services description's example); second: CTR 2, CCM AES-256 slot 1 */
    for (uint8_t ctr = 1; ctr <= 3; ctr++) {
        uint8_t ci[3] = {0x10, 0x11, ctr};
        ossl_hkdf(su_salt, 32, base, 32, ci, 3, wk, 32);
        size_t n = ctr == 1 ? su_hex("00000001000302 5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A 80", pl)
                            : su_hex("00010100000C0400" "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A"
                                     "80 00000000000000", pl);
        if (ctr == 3) {
            pl[1] = 0x02; /* slot 2: wrapped anonymous not allowed there */
        }
        uint8_t f[80] = {0x1F, 0x09};
        assert_int_equal(ossl_kw(wk, 32, pl, n, env, true), n + 8);
        memcpy(f + 2, env, n + 8);
        if (ctr == 3) {
            size_t n0;
            uint8_t *before = su_nvm_copy(&d, &n0);
            assert_int_equal(su_cmd(&d, f, 2 + n + 8, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
            f[5] ^= 1;
            assert_int_equal(su_cmd(&d, f, 2 + n + 8, r, &rl), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
            size_t n1;
            uint8_t *after = su_nvm_copy(&d, &n1);
            assert_memory_equal(before, after, n0);
            free(before);
            free(after);
        } else {
            assert_int_equal(su_cmd(&d, f, 2 + n + 8, r, &rl), 0x00);
        }
    }
    assert_int_equal(su_hexcmd(&d, "1F 06", r, &rl), 0x00);
    /* the keys are in: MAC with slot 0 and CCM with slot 1 against OpenSSL */
    assert_int_equal(su_hexcmd(&d, "09 03 00 04 000102030405060708090A0B0C0D0E0F", r, &rl), 0x00);
    uint8_t msg[16], want[16];
    for (unsigned i = 0; i < 16; i++) {
        msg[i] = (uint8_t)i;
    }
    ossl_cmac(k16, 16, msg, 16, want);
    assert_memory_equal(r, want, 4);
    uint32_t il;
    uint8_t *img = su_image(&d, &il);
    assert_memory_equal(img + SU_SYM_REC(img, 1) + 16, k32, 32);
    free(img);
    su_free(&d);
}

/* Confirm frame for records (each LEN INFO), MAC from OKM[0..32). */
static size_t confirm_frame(const uint8_t *okm, const uint8_t *recs, size_t rn, uint8_t *f)
{
    uint8_t mac[16];
    ossl_cmac(okm, 32, recs, rn, mac);
    f[0] = 0x1F;
    f[1] = 0x05;
    memcpy(f + 2, mac, 8);
    memcpy(f + 10, recs, rn);
    return 10 + rn;
}

static void test_establish(void **state)
{
    (void)state;
    sdev_t d;
    su_new(&d, 9);
    uint8_t secret[32], dp[64], hp[64], okm[96], recs[64], f[128], r[64];
    size_t rl;
    assert_int_equal(su_hexcmd(&d, "1F 05 0000000000000000 0007 00 00 00 01 00 03 02", r, &rl),
                     VSAFE_SE_ST_CHALLENGE_MISSING);
    assert_int_equal(kex(&d, 0x04, 0x02, secret, dp, hp), 0x00); /* 1F 04 names no slot */
    /* two keys: CMAC AES-128 in slot 0 (SDK record) and CCM AES-256 in slot 1 */
    put_ctrl(&d, 0, 0x03);
    put_ctrl(&d, 1, 0x03);
    size_t rn = su_hex("0007 00 00 00 01 00 03 02  0008 00 01 01 00 00 0C 04 00", recs);
    ossl_hkdf(su_salt, 32, secret, 32, (const uint8_t *)"\x12\x13", 2, okm, 32 + 16 + 32);
    /* a wrong MAC: 0x02 (never 0x16), nothing stored, the pending secret gone */
    size_t n = confirm_frame(okm, recs, rn, f);
    f[2] ^= 1;
    size_t n0;
    uint8_t *before = su_nvm_copy(&d, &n0);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    f[2] ^= 1;
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    size_t n1;
    uint8_t *after = su_nvm_copy(&d, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    /* again, right */
    assert_int_equal(kex(&d, 0x04, 0x02, secret, dp, hp), 0x00);
    ossl_hkdf(su_salt, 32, secret, 32, (const uint8_t *)"\x12\x13", 2, okm, 32 + 16 + 32);
    n = confirm_frame(okm, recs, rn, f);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), 0x00);
    uint8_t msg[16], want[16];
    for (unsigned i = 0; i < 16; i++) {
        msg[i] = (uint8_t)i;
    }
    assert_int_equal(su_hexcmd(&d, "09 03 00 04 000102030405060708090A0B0C0D0E0F", r, &rl), 0x00);
    ossl_cmac(okm + 32, 16, msg, 16, want);
    assert_memory_equal(r, want, 4);
    uint32_t il;
    uint8_t *img = su_image(&d, &il);
    assert_memory_equal(img + SU_SYM_REC(img, 0) + 16, okm + 32, 16);
    assert_memory_equal(img + SU_SYM_REC(img, 1) + 16, okm + 48, 32);
    free(img);
    /* a slot that does not allow ECDHE provisioning refuses the whole Confirm */
    assert_int_equal(kex(&d, 0x04, 0x02, secret, dp, hp), 0x00);
    ossl_hkdf(su_salt, 32, secret, 32, (const uint8_t *)"\x12\x13", 2, okm, 32 + 16 + 16);
    rn = su_hex("0007 00 00 00 01 00 03 02  0007 00 02 00 01 00 03 02", recs);
    n = confirm_frame(okm, recs, rn, f);
    before = su_nvm_copy(&d, &n0);
    assert_int_equal(su_cmd(&d, f, n, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    after = su_nvm_copy(&d, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    /* 1F 04 refusals */
    uint8_t e[100] = {0x1F, 0x04};
    memcpy(e + 2, KU_P256->id, 10);
    size_t en = 12 + ku_put_pub(e + 12, KU_P256, hp);
    e[en] = 0x02;
    assert_int_equal(su_cmd(&d, e, en + 1, r, &rl), VSAFE_SE_ST_CHALLENGE_MISSING);
    e[en] = 0x01;
    assert_int_equal(su_cmd(&d, e, en + 1, r, &rl), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    e[12] = 0x05;
    e[en] = 0x02;
    assert_int_equal(su_cmd(&d, e, en + 1, r, &rl), VSAFE_SE_ST_INVALID_PUBLIC_KEY);
    su_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_table_and_plaintext),
        cmocka_unit_test(test_key_info_refusals),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_aes),
        cmocka_unit_test(test_envelopes_and_password),
        cmocka_unit_test(test_spec_vectors),
        cmocka_unit_test(test_wrapped_write),
        cmocka_unit_test(test_establish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
