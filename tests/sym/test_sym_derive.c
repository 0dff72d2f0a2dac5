/* Derive keys (1F 10) of the device: HKDF-SHA-256 extract and expand, input key material in the
 * command or in a slot, outputs to the host and into slots the device chooses. Every output is
 * recomputed with OpenSSL directly (HKDF, and HMAC-SHA-256 for the extract step, as RFC 5869
 * defines it); stored keys are read from the committed image through the store at the documented
 * record offsets; every refusal with its status and the NVM unchanged; the host library's
 * vsafe_host_derive against the device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sym_util.h"
#include "vsafe/host.h"

static const char *const SHA256_ID = "00 09 60 86 48 01 65 03 04 02 01";

static void put_ctrl(sdev_t *d, uint8_t slot, uint8_t b0)
{
    uint8_t f[6] = {0x10, 0x4B, slot, b0, 0xFF, 0xFF}, r[8];
    size_t rl;
    assert_int_equal(su_cmd(d, f, 6, r, &rl), 0x00);
}

static void write_plain(sdev_t *d, const char *info, const uint8_t *key, size_t klen)
{
    uint8_t f[100] = {0x1F, 0x17}, r[8];
    size_t rl;
    size_t n = 2 + su_hex(info, f + 2);
    memcpy(f + n, key, klen);
    assert_int_equal(su_cmd(d, f, n + klen, r, &rl), 0x00);
}

/* RFC 5869 HKDF-Expand with OpenSSL's KDF in expand-only mode. */
static void ossl_expand(const uint8_t prk[32], const uint8_t *info, size_t nl, uint8_t *out, size_t ol)
{
    EVP_KDF *k = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(k);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                      OSSL_PARAM_construct_utf8_string("mode", "EXPAND_ONLY", 0),
                      OSSL_PARAM_construct_octet_string("key", (void *)prk, 32),
                      OSSL_PARAM_construct_octet_string("info", (void *)info, nl), OSSL_PARAM_construct_end()};
    if (EVP_KDF_derive(c, out, ol, p) != 1) {
        abort();
    }
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(k);
}

/* Frame builder. */
typedef struct {
    uint8_t b[800];
    size_t n;
} fr_t;

static void fr_hex(fr_t *f, const char *h) { f->n += su_hex(h, f->b + f->n); }
static void fr_16(fr_t *f, size_t v)
{
    f->b[f->n++] = (uint8_t)(v >> 8);
    f->b[f->n++] = (uint8_t)v;
}
static void fr_raw(fr_t *f, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return; /* p may be NULL */
    }
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

/* 1F 10 00 04 IKM_LEN IKM FLAGS HASH */
static void fr_cmd_ikm(fr_t *f, const uint8_t *ikm, size_t n, const char *flags)
{
    f->n = 0;
    fr_hex(f, "1F 10 00 04");
    fr_16(f, n);
    fr_raw(f, ikm, n);
    fr_hex(f, flags);
    fr_hex(f, SHA256_ID);
}
static void fr_salt(fr_t *f, const uint8_t *salt, size_t n)
{
    fr_hex(f, "00");
    fr_16(f, n);
    fr_raw(f, salt, n);
}
static void fr_info(fr_t *f, const uint8_t *info, size_t n)
{
    fr_16(f, n);
    fr_raw(f, info, n);
}
static void fr_to_host(fr_t *f, size_t len)
{
    fr_hex(f, "0003 01");
    fr_16(f, len);
}
/* OUT_KEY_INFO without the slot byte */
static void fr_to_slot(fr_t *f, const char *info)
{
    uint8_t b[16];
    size_t n = su_hex(info, b);
    fr_16(f, 1 + n);
    fr_hex(f, "02");
    fr_raw(f, b, n);
}

static int fr_send(sdev_t *d, const fr_t *f, uint8_t *r, size_t *rl) { return su_cmd(d, f->b, f->n, r, rl); }

static uint8_t ikm[64], salt[40], info[60];

static void fill(void)
{
    for (unsigned i = 0; i < sizeof ikm; i++) {
        ikm[i] = (uint8_t)(0x0B + 3 * i);
    }
    for (unsigned i = 0; i < sizeof salt; i++) {
        salt[i] = (uint8_t)i;
    }
    for (unsigned i = 0; i < sizeof info; i++) {
        info[i] = (uint8_t)(0xF0 + i);
    }
}

/* A slot record in the committed image, as the layout documents it. */
static void expect_rec(sdev_t *d, unsigned slot, uint8_t b0, uint8_t type, uint8_t mode, uint8_t usage,
                       const uint8_t *params, uint8_t plen, const uint8_t *key, uint8_t klen)
{
    uint32_t il;
    uint8_t *img = su_image(d, &il);
    assert_non_null(img);
    const uint8_t *r = img + SU_SYM_REC(img, slot);
    assert_int_equal(r[0], b0);
    assert_int_equal(r[1], type);
    assert_int_equal(r[2], mode);
    assert_int_equal(r[3], 0);
    assert_int_equal(r[4], usage);
    assert_memory_equal(r + 5, params, plen);
    assert_int_equal(r[11], plen);
    assert_int_equal(r[15], klen);
    assert_memory_equal(r + 16, key, klen);
    for (unsigned i = klen; i < 32; i++) {
        assert_int_equal(r[16 + i], 0);
    }
    free(img);
}

static void test_to_host(void **state)
{
    (void)state;
    fill();
    sdev_t d;
    su_new(&d, 41);
    uint8_t r[800], want[200];
    size_t rl;
    fr_t f;
    /* extract + expand, IKM and salt in the command, two outputs to the host */
    fr_cmd_ikm(&f, ikm, 22, "03");
    fr_salt(&f, salt, 13);
    fr_info(&f, info, 10);
    fr_to_host(&f, 16);
    fr_to_host(&f, 42);
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    ossl_hkdf(salt, 13, ikm, 22, info, 10, want, 58);
    assert_int_equal(rl, 58);
    assert_memory_equal(r, want, 58);
    /* salt length 0: HashLen zero bytes */
    static const uint8_t zeros[32];
    fr_cmd_ikm(&f, ikm, 64, "03");
    fr_salt(&f, NULL, 0);
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 100);
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    ossl_hkdf(zeros, 32, ikm, 64, NULL, 0, want, 100);
    assert_int_equal(rl, 100);
    assert_memory_equal(r, want, 100);
    /* expand only: the 32-byte input is the PRK */
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, info, 60);
    fr_to_host(&f, 7);
    fr_to_host(&f, 1);
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    ossl_expand(ikm, info, 60, want, 8);
    assert_int_equal(rl, 8);
    assert_memory_equal(r, want, 8);
    su_free(&d);
}

static void test_to_slots(void **state)
{
    (void)state;
    fill();
    sdev_t d;
    su_new(&d, 42);
    uint8_t r[800], want[200], prk[32];
    size_t rl;
    fr_t f;
    /* slots 2 and 5 take derived keys; slot 3 too but holds a locked key; slot 4 an unlocked one */
    put_ctrl(&d, 2, 0x20);
    put_ctrl(&d, 3, 0x30);
    put_ctrl(&d, 4, 0x30);
    put_ctrl(&d, 5, 0x20);
    write_plain(&d, "01 03 00 01 00 03 04", ikm, 16);
    write_plain(&d, "00 04 00 01 00 03 04", ikm, 16);
    /* extract only: the PRK goes to the first empty slot that takes derived keys (2) */
    fr_cmd_ikm(&f, ikm, 20, "02");
    fr_salt(&f, salt, 16);
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    assert_int_equal(rl, 1);
    assert_int_equal(r[0], 2);
    ossl_hmac(salt, 16, ikm, 20, prk); /* HKDF-Extract(salt, IKM) = HMAC-SHA-256(salt, IKM) */
    expect_rec(&d, 2, 0x01, 2, 4, 0x40, (const uint8_t *)"\x01\x20", 2, prk, 32);
    /* expand only from slot 2: an AES-128 CMAC key, 20 bytes to the host, a locked AES-256 GCM
     * key; the slots: 5 (empty), then 2 (present and unlocked: the input itself, read before it is
     * replaced); 3 is locked */
    f.n = 0;
    fr_hex(&f, "1F 10 02 02 01");
    fr_hex(&f, SHA256_ID);
    fr_info(&f, info, 5);
    fr_to_slot(&f, "00 00 01 00 03 04");
    fr_to_host(&f, 20);
    fr_to_slot(&f, "01 01 03 00 0C 10");
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    ossl_expand(prk, info, 5, want, 16 + 20 + 32);
    assert_int_equal(rl, 1 + 20 + 1);
    assert_int_equal(r[0], 5);
    assert_memory_equal(r + 1, want + 16, 20);
    assert_int_equal(r[21], 2);
    expect_rec(&d, 5, 0x01, 0, 1, 0x03, (const uint8_t *)"\x04", 1, want, 16);
    expect_rec(&d, 2, 0x03, 1, 3, 0x0C, (const uint8_t *)"\x10", 1, want + 36, 32); /* locked (01): B0 03 */
    /* the derived keys work: CMAC with slot 5 against OpenSSL */
    uint8_t mac[16];
    assert_int_equal(su_hexcmd(&d, "09 03 05 04 000102030405060708090A0B0C0D0E0F", r, &rl), 0x00);
    ossl_cmac(want, 16, (const uint8_t *)"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C\x0D\x0E\x0F", 16,
              mac);
    assert_memory_equal(r, mac, 4);
    /* extract + expand from slot 4 (now a 32-byte HKDF secret) with a salt from slot 4, into a
     * generic secret (HMAC, 24 bytes): no slot is empty, 2 and 3 are locked, 4 comes before 5 */
    write_plain(&d, "00 04 02 04 00 40 01 20", ikm + 32, 32);
    f.n = 0;
    fr_hex(&f, "1F 10 02 04 03");
    fr_hex(&f, SHA256_ID);
    fr_hex(&f, "02 04");
    fr_info(&f, NULL, 0);
    fr_to_slot(&f, "00 02 05 00 03 10 18");
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    assert_int_equal(rl, 1);
    assert_int_equal(r[0], 4);
    uint8_t prk2[32];
    ossl_hmac(ikm + 32, 32, ikm + 32, 32, prk2);
    ossl_expand(prk2, NULL, 0, want, 24);
    expect_rec(&d, 4, 0x01, 2, 5, 0x03, (const uint8_t *)"\x10\x18", 2, want, 24);
    su_free(&d);
}

/* The input slot's FLAGS bit 0 decides whether outputs may go to the host. */
static void test_host_flag(void **state)
{
    (void)state;
    fill();
    sdev_t d;
    su_new(&d, 43);
    uint8_t r[800], want[64];
    size_t rl;
    fr_t f;
    put_ctrl(&d, 0, 0x10);
    put_ctrl(&d, 1, 0x10);
    put_ctrl(&d, 6, 0x20);
    write_plain(&d, "00 00 02 04 00 40 00 20", ikm, 32); /* may not go to the host */
    write_plain(&d, "00 01 02 04 00 40 01 10", ikm, 16); /* may, 16 bytes */
    size_t n0, n1;
    uint8_t *before = su_nvm_copy(&d, &n0);
    f.n = 0;
    fr_hex(&f, "1F 10 02 00 01");
    fr_hex(&f, SHA256_ID);
    fr_info(&f, info, 3);
    fr_to_host(&f, 16);
    assert_int_equal(fr_send(&d, &f, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* a salt from slot 0 forbids it too, even with the input key in the command */
    fr_cmd_ikm(&f, ikm, 10, "03");
    fr_hex(&f, "02 00");
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 16);
    assert_int_equal(fr_send(&d, &f, r, &rl), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    uint8_t *after = su_nvm_copy(&d, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    /* slot 1 allows it: extract + expand of its 16-byte secret */
    f.n = 0;
    fr_hex(&f, "1F 10 02 01 03");
    fr_hex(&f, SHA256_ID);
    fr_salt(&f, salt, 40);
    fr_info(&f, info, 3);
    fr_to_host(&f, 33);
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    ossl_hkdf(salt, 40, ikm, 16, info, 3, want, 33);
    assert_memory_equal(r, want, 33);
    /* slot 0 may still derive into a slot; its PRK (extract only) inherits "not to the host" */
    f.n = 0;
    fr_hex(&f, "1F 10 02 00 02");
    fr_hex(&f, SHA256_ID);
    fr_salt(&f, salt, 5);
    assert_int_equal(fr_send(&d, &f, r, &rl), 0x00);
    assert_int_equal(r[0], 6);
    uint8_t prk[32];
    ossl_hmac(salt, 5, ikm, 32, prk);
    expect_rec(&d, 6, 0x01, 2, 4, 0x40, (const uint8_t *)"\x00\x20", 2, prk, 32);
    su_free(&d);
}

static void test_refusals(void **state)
{
    (void)state;
    fill();
    sdev_t d;
    su_new(&d, 44);
    put_ctrl(&d, 0, 0x30);
    put_ctrl(&d, 1, 0x30);
    put_ctrl(&d, 2, 0x30);
    put_ctrl(&d, 3, 0x30);
    write_plain(&d, "00 00 02 04 00 40 01 20", ikm, 32); /* HKDF, 32 bytes, to host ok */
    write_plain(&d, "00 01 00 01 00 03 04", ikm, 16);    /* CMAC */
    write_plain(&d, "00 02 02 05 00 03 10 20", ikm, 32); /* HMAC generic secret */
    write_plain(&d, "00 03 02 04 00 40 01 10", ikm, 16); /* HKDF, 16 bytes */
    size_t n0, n1;
    uint8_t *before = su_nvm_copy(&d, &n0);
    uint8_t r[800];
    size_t rl;
    fr_t f;
    struct {
        const char *what;
        int st;
    } cases[24];
    fr_t frames[24];
    unsigned k = 0;
#define CASE(desc, status)                                                                                         \
    do {                                                                                                           \
        frames[k] = f;                                                                                             \
        cases[k].what = (desc);                                                                                    \
        cases[k].st = (status);                                                                                    \
        k++;                                                                                                       \
    } while (0)
    fr_cmd_ikm(&f, ikm, 10, "00");
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 16);
    CASE("neither extract nor expand", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    fr_cmd_ikm(&f, ikm, 10, "07");
    fr_salt(&f, NULL, 0);
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 16);
    CASE("flag bit 2", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    f.n = 0;
    fr_hex(&f, "1F 10 00 04 000A 0B0B0B0B0B0B0B0B0B0B 03 00 09 60 86 48 01 65 03 04 02 02 00 0000 0000 0003 01 0010");
    CASE("SHA-384", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    fr_cmd_ikm(&f, ikm, 10, "02");
    fr_salt(&f, NULL, 0);
    fr_to_host(&f, 16);
    CASE("extract only with an output", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    f.n = 0;
    fr_hex(&f, "1F 10 02 05 03");
    fr_hex(&f, SHA256_ID);
    fr_salt(&f, NULL, 0);
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 16);
    CASE("input slot empty", VSAFE_SE_ST_KEY_NOT_FOUND);
    f.b[3] = 0x10;
    CASE("input slot out of the table", VSAFE_SE_ST_ENTRY_NOT_FOUND);
    f.b[3] = 0x01;
    CASE("input not a generic secret", VSAFE_SE_ST_WRONG_KEY_TYPE);
    f.b[3] = 0x02;
    CASE("input without the derive usage", VSAFE_SE_ST_WRONG_KEY_USAGE);
    f.n = 0;
    fr_hex(&f, "1F 10 02 03 01");
    fr_hex(&f, SHA256_ID);
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 16);
    CASE("expand only from a 16-byte slot", VSAFE_SE_ST_WRONG_KEY_TYPE);
    fr_cmd_ikm(&f, ikm, 16, "01");
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 16);
    CASE("expand only from a 16-byte input", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    for (unsigned i = 0; i < 33; i++) {
        fr_to_host(&f, 1);
    }
    CASE("more than 32 outputs", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 8161);
    CASE("OKM above 255 x 32", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    fr_to_host(&f, 752);
    CASE("response above the frame", VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    CASE("expand without outputs", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    fr_hex(&f, "0004 01 0010"); /* DESC_LEN one too long */
    fr_hex(&f, "00");
    CASE("host descriptor length", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    fr_hex(&f, "0008 02 00 00 01 00 03 04 00"); /* CMAC record with a byte too many */
    CASE("slot descriptor length", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    fr_to_slot(&f, "00 00 00 00 0C 06 00"); /* CCM tag 6 */
    CASE("output key information", VSAFE_SE_ST_WRONG_MAC_LENGTH);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    fr_hex(&f, "0003 03 0010");
    CASE("destination code", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    fr_cmd_ikm(&f, ikm, 32, "01");
    fr_info(&f, NULL, 0);
    fr_to_slot(&f, "00 00 01 00 03 04"); /* no empty slot takes derived keys, slots 0-3 ... */
    fr_to_slot(&f, "00 00 01 00 03 04");
    fr_to_slot(&f, "00 00 01 00 03 04");
    fr_to_slot(&f, "00 00 01 00 03 04");
    fr_to_slot(&f, "00 00 01 00 03 04"); /* ... take four, the fifth finds none */
    CASE("no slot for the output", VSAFE_SE_ST_BOUNDARY_EXCEEDED);
    f.n = 0;
    fr_hex(&f, "1F 10 01 00");
    CASE("input source", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    f.n = 0;
    fr_hex(&f, "1F 10 00 05 0001 00 03");
    CASE("input mode other than HKDF", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    fr_cmd_ikm(&f, ikm, 10, "03");
    fr_hex(&f, "01 00");
    CASE("salt source", VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    fr_cmd_ikm(&f, ikm, 10, "03");
    fr_salt(&f, salt, 4);
    fr_info(&f, info, 4);
    f.n -= 1;
    CASE("INFO shorter than INFO_LEN", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
#undef CASE
    for (unsigned i = 0; i < k; i++) {
        int st = fr_send(&d, &frames[i], r, &rl);
        if (st != cases[i].st) {
            print_error("%s: status %02x, want %02x\n", cases[i].what, st, cases[i].st);
        }
        assert_int_equal(st, cases[i].st);
    }
    uint8_t *after = su_nvm_copy(&d, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    su_free(&d);
}

/* vsafe_host_derive against the device. */
static void test_host_derive(void **state)
{
    (void)state;
    fill();
    sdev_t d;
    su_new(&d, 45);
    put_ctrl(&d, 7, 0x20);
    put_ctrl(&d, 8, 0x20);
    vsafe_host_t *h = NULL;
    assert_int_equal(vsafe_host_open_se(&h, d.se), VSAFE_OK);
    assert_int_equal(vsafe_host_init(h), VSAFE_OK);
    vsafe_host_derive_out_t outs[3] = {
        {.dest = VSAFE_HOST_DERIVE_TO_HOST, .key_len = 24},
        {.dest = VSAFE_HOST_DERIVE_TO_SLOT,
         .info = {.key_type = VSAFE_HOST_SYM_AES256, .mode = VSAFE_HOST_SYM_GCM,
                  .usage = VSAFE_HOST_SYM_USE_ENCRYPT | VSAFE_HOST_SYM_USE_DECRYPT, .tag_len = 16}},
        {.dest = VSAFE_HOST_DERIVE_TO_HOST, .key_len = 8},
    };
    vsafe_host_derive_t dv = {.ikm = ikm, .ikm_len = 30, .extract = 1, .expand = 1, .salt = salt, .salt_len = 9,
                              .info = info, .info_len = 12, .out = outs, .out_count = 3};
    uint8_t keys[64], slots[3], want[64];
    size_t kl = 0;
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &dv, NULL, keys, sizeof keys, &kl, slots), 0);
    ossl_hkdf(salt, 9, ikm, 30, info, 12, want, 24 + 32 + 8);
    assert_int_equal(kl, 32);
    assert_memory_equal(keys, want, 24);
    assert_memory_equal(keys + 24, want + 56, 8);
    assert_int_equal(slots[0], 0xFF);
    assert_int_equal(slots[1], 7);
    assert_int_equal(slots[2], 0xFF);
    expect_rec(&d, 7, 0x01, 1, 3, 0x0C, (const uint8_t *)"\x10", 1, want + 24, 32);
    /* extract only through the host API */
    vsafe_host_derive_t ex = {.ikm = ikm, .ikm_len = 30, .extract = 1, .salt = salt, .salt_len = 9};
    uint8_t prk_slot = 0;
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &ex, &prk_slot, NULL, 0, NULL, NULL), 0);
    assert_int_equal(prk_slot, 8);
    uint8_t prk[32];
    ossl_hmac(salt, 9, ikm, 30, prk);
    expect_rec(&d, 8, 0x01, 2, 4, 0x40, (const uint8_t *)"\x01\x20", 2, prk, 32);
    /* a device refusal comes back as its status: an empty input slot */
    vsafe_host_derive_t bad = {.ikm_from_slot = 1, .ikm_slot = 9, .extract = 1, .salt = salt, .salt_len = 9};
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &bad, &prk_slot, NULL, 0, NULL, NULL),
                     VSAFE_DEV_STATUS(VSAFE_SE_ST_KEY_NOT_FOUND));
    vsafe_host_close(h);
    su_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_host),
        cmocka_unit_test(test_to_slots),
        cmocka_unit_test(test_host_flag),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_host_derive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
