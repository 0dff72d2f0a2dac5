/* The AEAD entry points of the OpenSSL crypto port, checked independently: RFC 3610 and
 * SP 800-38C CCM vectors, the McGrew-Viega GCM test cases, and OpenSSL's own one-shot AES-CCM and
 * AES-GCM called by the test, against which the chunked CCM (which the port builds from AES-CBC and
 * AES-CTR) and chunked GCM are compared over random key sizes, nonce and tag lengths, AAD and
 * message lengths and splits. CCM* without a tag is checked against CCM's own keystream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "hooks.h"
#include "crypto_fixture.h"

/* ---- helpers ---- */


static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* ---- AEAD ---- */

/* OpenSSL's one-shot AES-CCM, called by the test itself (the reference for chunked CCM). */
static void ossl_ccm(const uint8_t *key, size_t kl, const uint8_t *n, size_t nl, const uint8_t *aad, size_t al,
                     const uint8_t *pt, size_t len, uint8_t *ct, uint8_t *tag, size_t tl)
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int outl = 0;
    uint8_t dummy[1] = {0}, fin[16];
    assert_int_equal(EVP_EncryptInit_ex(x, kl == 16 ? EVP_aes_128_ccm() : EVP_aes_256_ccm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)nl, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)tl, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(x, NULL, NULL, key, n), 1);
    assert_int_equal(EVP_EncryptUpdate(x, NULL, &outl, NULL, (int)len), 1);
    if (al > 0) {
        assert_int_equal(EVP_EncryptUpdate(x, NULL, &outl, aad, (int)al), 1);
    }
    assert_int_equal(EVP_EncryptUpdate(x, len ? ct : fin, &outl, len ? pt : dummy, (int)len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(x, fin, &outl), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)tl, tag), 1);
    EVP_CIPHER_CTX_free(x);
}

static void ossl_gcm(const uint8_t *key, size_t kl, const uint8_t *iv, size_t ivl, const uint8_t *aad, size_t al,
                     const uint8_t *pt, size_t len, uint8_t *ct, uint8_t *tag, size_t tl)
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int outl = 0;
    uint8_t fin[16];
    assert_int_equal(EVP_EncryptInit_ex(x, kl == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)ivl, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(x, NULL, NULL, key, iv), 1);
    if (al > 0) {
        assert_int_equal(EVP_EncryptUpdate(x, NULL, &outl, aad, (int)al), 1);
    }
    if (len > 0) {
        assert_int_equal(EVP_EncryptUpdate(x, ct, &outl, pt, (int)len), 1);
    }
    assert_int_equal(EVP_EncryptFinal_ex(x, fin, &outl), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)tl, tag), 1);
    EVP_CIPHER_CTX_free(x);
}

/* The chunked AEAD over random splits: AAD pieces first (the last one sometimes in the same call
 * as the first data piece), then data pieces. */
static void chunked(const vsafe_crypto_t *c, unsigned mode, int enc, const uint8_t *key, size_t kl, const uint8_t *n,
                    size_t nl, const uint8_t *aad, size_t al, const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t *tag, size_t tl, int *verified)
{
    size_t ao = 0, o = 0;
    assert_int_equal(c->aead_start(c->ctx, mode, enc, key, kl, n, nl, al, len, tl), VSAFE_OK);
    while (ao < al || o < len) {
        size_t a_take = 0, d_take = 0;
        if (ao < al) {
            a_take = rnd() % 3 == 0 ? al - ao : 1 + rnd() % (al - ao);
        }
        if (ao + a_take == al && o < len && (a_take == 0 || rnd() % 2 == 0)) {
            d_take = rnd() % 3 == 0 ? len - o : 1 + rnd() % (len - o);
        }
        assert_int_equal(c->aead_update(c->ctx, a_take ? aad + ao : NULL, a_take, d_take ? in + o : NULL, d_take,
                                        d_take ? out + o : NULL),
                         VSAFE_OK);
        ao += a_take;
        o += d_take;
    }
    assert_int_equal(c->aead_finish(c->ctx, tag, tl, verified), VSAFE_OK);
}

typedef struct {
    const char *key, *nonce, *aad, *pt, *ct_tag;
    size_t tag_len;
} aead_vec_t;

static void check_aead_vector(const vsafe_crypto_t *c, unsigned mode, const aead_vec_t *v, const uint8_t *aad_override,
                              size_t aad_override_len)
{
    static uint8_t key[32], n[64], aad_buf[64], pt[128], exp[160], ct[128], tag[16], back[128];
    size_t kl = unhex(v->key, key, sizeof key), nl = unhex(v->nonce, n, sizeof n);
    const uint8_t *aad = aad_override ? aad_override : aad_buf;
    size_t al = aad_override ? aad_override_len : unhex(v->aad, aad_buf, sizeof aad_buf);
    size_t len = unhex(v->pt, pt, sizeof pt), el = unhex(v->ct_tag, exp, sizeof exp);
    int verified = -1;
    assert_int_equal(el, len + v->tag_len);
    /* one-shot */
    assert_int_equal(c->aead_encrypt(c->ctx, mode, key, kl, n, nl, aad, al, pt, len, ct, tag, v->tag_len), VSAFE_OK);
    assert_memory_equal(ct, exp, len);
    assert_memory_equal(tag, exp + len, v->tag_len);
    assert_int_equal(c->aead_decrypt(c->ctx, mode, key, kl, n, nl, aad, al, exp, len, exp + len, v->tag_len, back,
                                     &verified),
                     VSAFE_OK);
    assert_int_equal(verified, 1);
    assert_memory_equal(back, pt, len);
    /* chunked, both ways */
    for (int r = 0; r < 8; r++) {
        memset(ct, 0, sizeof ct);
        chunked(c, mode, 1, key, kl, n, nl, aad, al, pt, len, ct, tag, v->tag_len, NULL);
        assert_memory_equal(ct, exp, len);
        assert_memory_equal(tag, exp + len, v->tag_len);
        memcpy(tag, exp + len, v->tag_len);
        chunked(c, mode, 0, key, kl, n, nl, aad, al, exp, len, back, tag, v->tag_len, &verified);
        assert_int_equal(verified, 1);
        assert_memory_equal(back, pt, len);
    }
    /* a wrong tag: one-shot zeroes the plaintext, both say not verified */
    memcpy(tag, exp + len, v->tag_len);
    tag[v->tag_len - 1] ^= 0x01;
    assert_int_equal(c->aead_decrypt(c->ctx, mode, key, kl, n, nl, aad, al, exp, len, tag, v->tag_len, back, &verified),
                     VSAFE_OK);
    assert_int_equal(verified, 0);
    assert_true(all_zero(back, len));
    chunked(c, mode, 0, key, kl, n, nl, aad, al, exp, len, back, tag, v->tag_len, &verified);
    assert_int_equal(verified, 0);
}

static void test_ccm_published_vectors(void **state)
{
    const vsafe_crypto_t *c = ((fx_t *)*state)->c;
    static const aead_vec_t v[] = {
        /* RFC 3610 packet vectors #1 and #2 (M = 8, L = 2) */
        {"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000003020100a0a1a2a3a4a5", "0001020304050607",
         "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
         "588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0", 8},
        {"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000004030201a0a1a2a3a4a5", "0001020304050607",
         "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         "72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3ba091d56e10400916", 8},
        /* SP 800-38C Appendix C examples 1-3 */
        {"404142434445464748494a4b4c4d4e4f", "10111213141516", "0001020304050607", "20212223", "7162015b4dac255d", 4},
        {"404142434445464748494a4b4c4d4e4f", "1011121314151617", "000102030405060708090a0b0c0d0e0f",
         "202122232425262728292a2b2c2d2e2f", "d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd", 6},
        {"404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b", "000102030405060708090a0b0c0d0e0f10111213",
         "202122232425262728292a2b2c2d2e2f3031323334353637",
         "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951", 8},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        check_aead_vector(c, VSAFE_AEAD_CCM, &v[i], NULL, 0);
    }
    /* SP 800-38C example 4: 65536 bytes of AAD (0x00..0xFF repeated), so the AAD length is
     * encoded as FF FE and four bytes */
    static uint8_t big[65536];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)i;
    }
    static const aead_vec_t ex4 = {
        "404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b1c", "",
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
        "69915dad1e84c6376a68c2967e4dab615ae0fd1faec44cc484828529463ccf72b4ac6bec93e8598e7f0dadbcea5b", 14};
    check_aead_vector(c, VSAFE_AEAD_CCM, &ex4, big, sizeof big);
}

/* CCM* with no tag: CTR from A_1, the keystream CCM itself applies to the message; so the
 * ciphertext equals the CCM ciphertext of RFC 3610 packet vector #1, and OpenSSL's CCM
 * ciphertext for random inputs. */
static void test_ccm_star_no_tag(void **state)
{
    const vsafe_crypto_t *c = ((fx_t *)*state)->c;
    uint8_t key[32], n[13], aad[8], pt[300], ct[300], exp[300], back[300], tag[16];
    int verified = -1;
    unhex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", key, 16);
    unhex("00000003020100a0a1a2a3a4a5", n, 13);
    unhex("0001020304050607", aad, 8);
    unhex("08090a0b0c0d0e0f101112131415161718191a1b1c1d1e", pt, 23);
    unhex("588c979a61c663d2f066d0c2c0f989806d5f6b61dac384", exp, 23);
    assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_CCM, key, 16, n, 13, aad, 8, pt, 23, ct, NULL, 0), VSAFE_OK);
    assert_memory_equal(ct, exp, 23);
    assert_int_equal(c->aead_decrypt(c->ctx, VSAFE_AEAD_CCM, key, 16, n, 13, aad, 8, ct, 23, NULL, 0, back, &verified),
                     VSAFE_OK);
    assert_int_equal(verified, 1);
    assert_memory_equal(back, pt, 23);
    chunked(c, VSAFE_AEAD_CCM, 1, key, 16, n, 13, aad, 8, pt, 23, ct, NULL, 0, NULL);
    assert_memory_equal(ct, exp, 23);
    for (int r = 0; r < 50; r++) {
        size_t kl = rnd() % 2 ? 16 : 32, nl = 7 + rnd() % 7, len = rnd() % 300;
        rnd_fill(key, kl);
        rnd_fill(n, nl);
        rnd_fill(pt, len);
        ossl_ccm(key, kl, n, nl, aad, 8, pt, len, exp, tag, 16);
        assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_CCM, key, kl, n, nl, aad, 8, pt, len, ct, NULL, 0),
                         VSAFE_OK);
        assert_memory_equal(ct, exp, len);
        chunked(c, VSAFE_AEAD_CCM, 0, key, kl, n, nl, aad, 8, ct, len, back, NULL, 0, &verified);
        assert_int_equal(verified, 1);
        assert_memory_equal(back, pt, len);
    }
}

/* Chunked CCM (built by the port from CBC and CTR) against OpenSSL's one-shot CCM: random key
 * sizes, nonce lengths 7..13, every tag length, AAD and message lengths, splits. */
static void test_ccm_chunked_vs_openssl(void **state)
{
    const vsafe_crypto_t *c = ((fx_t *)*state)->c;
    static uint8_t key[32], n[13], aad[800], pt[900], exp[900], ct[900], back[900], etag[16], tag[16];
    int verified = -1;
    for (int r = 0; r < 400; r++) {
        size_t kl = rnd() % 2 ? 16 : 32, nl = 7 + rnd() % 7, tl = 4 + 2 * (rnd() % 7);
        size_t al = rnd() % 4 == 0 ? 0 : rnd() % sizeof aad, len = rnd() % 5 == 0 ? 0 : rnd() % sizeof pt;
        const uint8_t *a = aad;
        if (r < 4) {
            /* around the AAD length encoding's switch from 2 bytes to FF FE + 4 bytes */
            static const size_t edge[4] = {0xFEFF, 0xFF00, 0xFFFF, 0x10000};
            static uint8_t big[0x10000];
            rnd_fill(big, sizeof big);
            a = big;
            al = edge[r];
        } else {
            rnd_fill(aad, al);
        }
        rnd_fill(key, kl);
        rnd_fill(n, nl);
        rnd_fill(pt, len);
        ossl_ccm(key, kl, n, nl, a, al, pt, len, exp, etag, tl);
        chunked(c, VSAFE_AEAD_CCM, 1, key, kl, n, nl, a, al, pt, len, ct, tag, tl, NULL);
        assert_memory_equal(ct, exp, len);
        assert_memory_equal(tag, etag, tl);
        chunked(c, VSAFE_AEAD_CCM, 0, key, kl, n, nl, a, al, exp, len, back, etag, tl, &verified);
        assert_int_equal(verified, 1);
        assert_memory_equal(back, pt, len);
        /* and OpenSSL's own CCM through the one-shot entry point */
        assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_CCM, key, kl, n, nl, a, al, pt, len, ct, tag, tl),
                         VSAFE_OK);
        assert_memory_equal(ct, exp, len);
        assert_memory_equal(tag, etag, tl);
        if (len > 0) {
            exp[rnd() % len] ^= 0x20;
            chunked(c, VSAFE_AEAD_CCM, 0, key, kl, n, nl, a, al, exp, len, back, etag, tl, &verified);
            assert_int_equal(verified, 0);
        }
    }
}

static void test_ccm_chunked_refusals(void **state)
{
    const vsafe_crypto_t *c = ((fx_t *)*state)->c;
    uint8_t key[16] = {1}, n[13] = {2}, buf[64] = {0}, out[64], tag[8];
    int verified = -1;
    /* more data than announced: refused, output zeroed, context dropped */
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 1, key, 16, n, 13, 4, 16, 8), VSAFE_OK);
    assert_int_equal(c->aead_update(c->ctx, buf, 4, buf, 16, out), VSAFE_OK);
    memset(out, 0xAA, sizeof out);
    assert_int_equal(c->aead_update(c->ctx, NULL, 0, buf, 1, out), VSAFE_ERR_ARGUMENT);
    assert_int_equal(out[0], 0);
    assert_int_equal(c->aead_update(c->ctx, NULL, 0, buf, 1, out), VSAFE_ERR_STATE);
    /* data before all announced AAD */
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 1, key, 16, n, 13, 4, 16, 8), VSAFE_OK);
    assert_int_equal(c->aead_update(c->ctx, buf, 2, NULL, 0, NULL), VSAFE_OK);
    assert_int_equal(c->aead_update(c->ctx, NULL, 0, buf, 16, out), VSAFE_ERR_ARGUMENT);
    /* less than announced at finish */
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 1, key, 16, n, 13, 0, 16, 8), VSAFE_OK);
    assert_int_equal(c->aead_update(c->ctx, NULL, 0, buf, 15, out), VSAFE_OK);
    memset(tag, 0xAA, sizeof tag);
    assert_int_equal(c->aead_finish(c->ctx, tag, 8, NULL), VSAFE_ERR_ARGUMENT);
    assert_true(all_zero(tag, 8));
    assert_int_equal(c->aead_finish(c->ctx, tag, 8, NULL), VSAFE_ERR_STATE);
    /* a tag length other than the one started with */
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 0, key, 16, n, 13, 0, 0, 8), VSAFE_OK);
    assert_int_equal(c->aead_finish(c->ctx, tag, 4, &verified), VSAFE_ERR_ARGUMENT);
    /* bad parameters: odd tag, nonce 6 or 14, message too long for L = 2 */
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 1, key, 16, n, 13, 0, 16, 5), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 1, key, 16, n, 6, 0, 16, 8), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 1, key, 16, n, 14, 0, 16, 8), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_CCM, 1, key, 16, n, 13, 0, 65536, 8), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_start(c->ctx, 3, 1, key, 16, n, 13, 0, 16, 8), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_update(c->ctx, NULL, 0, buf, 1, out), VSAFE_ERR_STATE);
    c->aead_clear(c->ctx);
}

static void test_gcm_published_vectors(void **state)
{
    const vsafe_crypto_t *c = ((fx_t *)*state)->c;
    static const char p60[] = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                              "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    static const char k1[] = "feffe9928665731c6d6a8f9467308308";
    static const char a20[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    static const aead_vec_t v[] = {
        /* McGrew-Viega test cases 2, 4, 5 (8-byte IV), 6 (60-byte IV), 15 (AES-256) */
        {"00000000000000000000000000000000", "000000000000000000000000", "", "00000000000000000000000000000000",
         "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf", 16},
        {k1, "cafebabefacedbaddecaf888", a20, p60,
         "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b39"
         "6a0aac973d58e0915bc94fbc3221a5db94fae95ae7121a47",
         16},
        {k1, "cafebabefacedbad", a20, p60,
         "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c742373806900e49f24b22b097544d4896b424989b5e1"
         "ebac0f07c23f45983612d2e79e3b0785561be14aaca2fccb",
         16},
        {k1,
         "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5"
         "a0de6a57a637b39b",
         a20, p60,
         "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca701e4a9a4fba43c90ccdcb281d48c7c6fd62875d2"
         "aca417034c34aee5619cc5aefffe0bfa462af43c1699d050",
         16},
        {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
         "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5"
         "aa0de657ba637b391aafd255",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e63"
         "93ba7a0abcc9f662898015adb094dac5d93471bdec1a502270e3cc6c",
         16},
        /* test case 4 with the tag truncated to 12 and to 4 bytes */
        {k1, "cafebabefacedbaddecaf888", a20, p60,
         "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b39"
         "6a0aac973d58e0915bc94fbc3221a5db94fae95a",
         12},
        {k1, "cafebabefacedbaddecaf888", a20, p60,
         "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b39"
         "6a0aac973d58e0915bc94fbc",
         4},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        check_aead_vector(c, VSAFE_AEAD_GCM, &v[i], NULL, 0);
    }
    /* GMAC: no message, AAD only (test case 4's key, IV and AAD checked against OpenSSL) */
    uint8_t key[16], iv[12], aad[20], tag[16], etag[16];
    int verified = -1;
    unhex(k1, key, 16);
    unhex("cafebabefacedbaddecaf888", iv, 12);
    unhex(a20, aad, 20);
    ossl_gcm(key, 16, iv, 12, aad, 20, NULL, 0, NULL, etag, 16);
    assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_GCM, key, 16, iv, 12, aad, 20, NULL, 0, NULL, tag, 16),
                     VSAFE_OK);
    assert_memory_equal(tag, etag, 16);
    assert_int_equal(
        c->aead_decrypt(c->ctx, VSAFE_AEAD_GCM, key, 16, iv, 12, aad, 20, NULL, 0, etag, 16, NULL, &verified),
                     VSAFE_OK);
    assert_int_equal(verified, 1);
}

static void test_gcm_chunked_vs_openssl(void **state)
{
    const vsafe_crypto_t *c = ((fx_t *)*state)->c;
    static uint8_t key[32], iv[128], aad[500], pt[700], exp[700], ct[700], back[700], etag[16], tag[16];
    int verified = -1;
    for (int r = 0; r < 200; r++) {
        size_t kl = rnd() % 2 ? 16 : 32, ivl = rnd() % 2 ? 12 : 1 + rnd() % 128, tl = 4 + rnd() % 13;
        size_t al = rnd() % 4 == 0 ? 0 : rnd() % sizeof aad, len = rnd() % 5 == 0 ? 0 : rnd() % sizeof pt;
        rnd_fill(key, kl);
        rnd_fill(iv, ivl);
        rnd_fill(aad, al);
        rnd_fill(pt, len);
        ossl_gcm(key, kl, iv, ivl, aad, al, pt, len, exp, etag, tl);
        chunked(c, VSAFE_AEAD_GCM, 1, key, kl, iv, ivl, aad, al, pt, len, ct, tag, tl, NULL);
        assert_memory_equal(ct, exp, len);
        assert_memory_equal(tag, etag, tl);
        chunked(c, VSAFE_AEAD_GCM, 0, key, kl, iv, ivl, aad, al, exp, len, back, etag, tl, &verified);
        assert_int_equal(verified, 1);
        assert_memory_equal(back, pt, len);
        assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_GCM, key, kl, iv, ivl, aad, al, pt, len, ct, tag, tl),
                         VSAFE_OK);
        assert_memory_equal(ct, exp, len);
        assert_memory_equal(tag, etag, tl);
    }
    /* AAD after message data is refused; an IV over OpenSSL's 128 bytes, or empty, too */
    assert_int_equal(c->aead_start(c->ctx, VSAFE_AEAD_GCM, 1, key, 16, iv, 12, 0, 0, 16), VSAFE_OK);
    assert_int_equal(c->aead_update(c->ctx, aad, 4, pt, 4, ct), VSAFE_OK);
    assert_int_equal(c->aead_update(c->ctx, aad, 4, NULL, 0, NULL), VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_finish(c->ctx, tag, 16, NULL), VSAFE_ERR_STATE);
    static uint8_t long_iv[129];
    assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_GCM, key, 16, long_iv, 129, NULL, 0, pt, 16, ct, tag, 16),
                     VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_GCM, key, 16, long_iv, 0, NULL, 0, pt, 16, ct, tag, 16),
                     VSAFE_ERR_ARGUMENT);
    assert_int_equal(c->aead_encrypt(c->ctx, VSAFE_AEAD_GCM, key, 16, iv, 12, NULL, 0, pt, 16, ct, tag, 3),
                     VSAFE_ERR_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ccm_published_vectors),
        cmocka_unit_test(test_ccm_star_no_tag),
        cmocka_unit_test(test_ccm_chunked_vs_openssl),
        cmocka_unit_test(test_ccm_chunked_refusals),
        cmocka_unit_test(test_gcm_published_vectors),
        cmocka_unit_test(test_gcm_chunked_vs_openssl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
