/* Symmetric half of the OpenSSL key services: hash, AES-ECB, AEAD (CCM* and GCM, one-shot and
 * chunked), AES-CMAC and HMAC-SHA-256 with raw keys, HKDF extract and expand, AES key wrap.
 *
 * Invariants:
 *  1. Algorithms are fetched once, on first use (k->md, k->cipher, k->*_alg); work contexts are
 *     kept. The one-shot GCM context and the CMAC/HMAC contexts stay keyed and remember their key
 *     (vsafe_openssl_keyed_t): a call with the same key bytes (vsafe_ct_equal) only sets the IV or
 *     restarts the MAC, which is what OpenSSL's own callers do with a fixed key; another key, or
 *     any failure, keys afresh. So the port holds the last key of each until another call,
 *     vsafe_openssl_keys_forget or free, which wipe the copy and free (cleanse) the context.
 *  2. One-shot CCM with a tag is OpenSSL's AES-CCM. CCM* with tag length 0 (encryption only, no
 *     authentication, the AAD unused) is AES-CTR started at the CCM counter block
 *     A_1 = [L-1] || nonce || 0...01, which is the keystream CCM itself uses for the message.
 *  3. Chunked CCM follows RFC 3610 / SP 800-38C exactly, on two OpenSSL contexts: an AES-CBC
 *     context with a zero IV whose chaining value is the CBC-MAC over B_0 || encoded AAD length ||
 *     AAD || zero pad || message || zero pad, and an AES-CTR context started at A_0, whose first
 *     keystream block S_0 masks the tag and which then runs on at A_1 for the message. Partial
 *     blocks of the MAC input wait in aead.blk; CTR keeps its own position. The MAC absorbs the
 *     plaintext: before CTR when encrypting, after it when decrypting (so in == out is fine).
 *  4. Chunked GCM is OpenSSL's AES-GCM context fed chunk by chunk; AAD after message data is
 *     refused (GCM needs all AAD first), as is any chunk beyond the CCM totals. A refused chunk
 *     drops the context. Decrypted chunks are returned before the tag is checked, as the chip does;
 *     the caller must not act on them before aead_finish says verified.
 *  5. One exit per function; outputs zeroed on failure; temporaries wiped. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>

#include "common/secure.h"
#include "port/posix/crypto_openssl_keys.h"

/* Upper bound of one call's data, so every length fits OpenSSL's int lengths. */
#define SYM_MAX_LEN 0x40000000u
/* OpenSSL's GCM IV limit (bytes). */
#define GCM_IV_MAX 128u
/* Bytes handed to the CBC-MAC context per call when absorbing whole blocks. */
#define CCM_MAC_CHUNK 256u

static const uint8_t no_bytes[16];

static const char *const md_names[7] = {
    [VSAFE_HASH_SHA256] = "SHA256",     [VSAFE_HASH_SHA384] = "SHA384",     [VSAFE_HASH_SHA512] = "SHA512",
    [VSAFE_HASH_SHA3_256] = "SHA3-256", [VSAFE_HASH_SHA3_384] = "SHA3-384", [VSAFE_HASH_SHA3_512] = "SHA3-512",
};

static const char *const cipher_names[VSAFE_OSSL_CIPHERS] = {
    [VSAFE_OSSL_ECB128] = "AES-128-ECB", [VSAFE_OSSL_ECB256] = "AES-256-ECB", [VSAFE_OSSL_CBC128] = "AES-128-CBC",
    [VSAFE_OSSL_CBC256] = "AES-256-CBC", [VSAFE_OSSL_CTR128] = "AES-128-CTR", [VSAFE_OSSL_CTR256] = "AES-256-CTR",
    [VSAFE_OSSL_CCM128] = "AES-128-CCM", [VSAFE_OSSL_CCM256] = "AES-256-CCM", [VSAFE_OSSL_GCM128] = "AES-128-GCM",
    [VSAFE_OSSL_GCM256] = "AES-256-GCM", [VSAFE_OSSL_KW128] = "AES-128-WRAP", [VSAFE_OSSL_KW256] = "AES-256-WRAP",
};

const EVP_CIPHER *vsafe_openssl_keys_cipher(vsafe_openssl_keys_t *k, unsigned which)
{
    if (which >= VSAFE_OSSL_CIPHERS) {
        return NULL;
    }
    if (k->cipher[which] == NULL) {
        k->cipher[which] = EVP_CIPHER_fetch(NULL, cipher_names[which], NULL);
    }
    return k->cipher[which];
}

/* The AES variant for a 16- or 32-byte key: which128 or the 256 one right after it. */
static const EVP_CIPHER *aes_cipher(vsafe_openssl_keys_t *k, unsigned which128, size_t key_len)
{
    return vsafe_openssl_keys_cipher(k, key_len == 16u ? which128 : which128 + 1u);
}

static bool aes_key_len_ok(const uint8_t *key, size_t key_len)
{
    return key != NULL && (key_len == 16u || key_len == 32u);
}

static EVP_CIPHER_CTX *work_ctx(EVP_CIPHER_CTX **slot)
{
    if (*slot == NULL) {
        *slot = EVP_CIPHER_CTX_new();
    }
    return *slot;
}

static bool keyed_same(const vsafe_openssl_keyed_t *kd, const uint8_t *key, size_t len)
{
    return kd->valid && kd->len == len && vsafe_ct_equal(kd->key, key, len);
}

static void keyed_set(vsafe_openssl_keyed_t *kd, const uint8_t *key, size_t len)
{
    vsafe_wipe(kd, sizeof *kd);
    if (len <= sizeof kd->key) {
        memcpy(kd->key, key, len);
        kd->len = len;
        kd->valid = true;
    }
}

/* ---- hash ---- */

static void hash_clear(void *ctx)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    if (k->hash != NULL) {
        EVP_MD_CTX_reset(k->hash); /* frees the digest state, cleansed */
    }
    k->hash_active = false;
}

static int hash_start(void *ctx, unsigned alg)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    hash_clear(ctx);
    if (alg == 0u || alg >= sizeof md_names / sizeof md_names[0]) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (k->md[alg] == NULL) {
        k->md[alg] = EVP_MD_fetch(NULL, md_names[alg], NULL);
    }
    if (k->hash == NULL) {
        k->hash = EVP_MD_CTX_new();
    }
    if (k->md[alg] == NULL || k->hash == NULL || EVP_DigestInit_ex2(k->hash, k->md[alg], NULL) != 1) {
        hash_clear(ctx);
        return VSAFE_ERR_CRYPTO;
    }
    k->hash_active = true;
    return VSAFE_OK;
}

static int hash_update(void *ctx, const uint8_t *in, size_t len)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    if (!k->hash_active) {
        return VSAFE_ERR_STATE;
    }
    if (len == 0u) {
        return VSAFE_OK;
    }
    if (in == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (EVP_DigestUpdate(k->hash, in, len) != 1) {
        hash_clear(ctx);
        return VSAFE_ERR_CRYPTO;
    }
    return VSAFE_OK;
}

static int hash_finish(void *ctx, uint8_t *digest, size_t digest_cap, size_t *digest_len)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    int rc = VSAFE_ERR_ARGUMENT;
    unsigned int outl = 0;
    if (digest_len != NULL) {
        *digest_len = 0;
    }
    if (!k->hash_active) {
        rc = VSAFE_ERR_STATE;
        goto done;
    }
    if (digest == NULL || digest_len == NULL || digest_cap < (size_t)EVP_MD_CTX_get_size(k->hash)) {
        goto done;
    }
    rc = VSAFE_ERR_CRYPTO;
    if (EVP_DigestFinal_ex(k->hash, digest, &outl) != 1) {
        goto done;
    }
    *digest_len = outl;
    rc = VSAFE_OK;
done:
    hash_clear(ctx);
    if (rc != VSAFE_OK && digest != NULL) {
        memset(digest, 0, digest_cap);
    }
    return rc;
}

/* ---- AES-ECB ---- */

static int aes_ecb(void *ctx, const uint8_t *key, size_t key_len, int encrypt, const uint8_t *in, size_t len,
                   uint8_t *out)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    int rc = VSAFE_ERR_ARGUMENT, outl = 0;
    EVP_CIPHER_CTX *c;
    if (!aes_key_len_ok(key, key_len) || len % 16u != 0u || len > SYM_MAX_LEN ||
        (len != 0u && (in == NULL || out == NULL))) {
        goto done;
    }
    rc = VSAFE_OK;
    if (len == 0u) {
        goto done;
    }
    rc = VSAFE_ERR_CRYPTO;
    c = work_ctx(&k->ecb);
    if (c == NULL || EVP_CipherInit_ex2(c, aes_cipher(k, VSAFE_OSSL_ECB128, key_len), key, NULL, encrypt ? 1 : 0,
                                        NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_CipherUpdate(c, out, &outl, in, (int)len) != 1 ||
        (size_t)outl != len) {
        goto done;
    }
    rc = VSAFE_OK;
done:
    if (rc != VSAFE_OK && out != NULL && len <= SYM_MAX_LEN) {
        vsafe_wipe(out, len);
    }
    return rc;
}

/* ---- AEAD parameter checks ---- */

static bool ccm_tag_ok(size_t tag_len)
{
    return tag_len == 0u || (tag_len >= 4u && tag_len <= 16u && tag_len % 2u == 0u);
}

/* CCM: nonce 7..13 bytes, so L = 15 - nonce_len is 2..8 and the message length must fit L bytes. */
static bool ccm_lengths_ok(size_t nonce_len, size_t len)
{
    if (nonce_len < 7u || nonce_len > 13u) {
        return false;
    }
    size_t l = 15u - nonce_len;
    return l >= sizeof(size_t) || len < ((size_t)1 << (8u * l));
}

static bool aead_args_ok(unsigned mode, const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                         size_t tag_len)
{
    if (!aes_key_len_ok(key, key_len) || nonce == NULL) {
        return false;
    }
    if (mode == VSAFE_AEAD_CCM) {
        return ccm_tag_ok(tag_len) && nonce_len >= 7u && nonce_len <= 13u;
    }
    return mode == VSAFE_AEAD_GCM && nonce_len >= 1u && nonce_len <= GCM_IV_MAX && tag_len >= 4u && tag_len <= 16u;
}

/* A_i: flags = L - 1, the nonce, then i big-endian in the remaining L bytes (i < 256 here). */
static void ccm_counter_block(uint8_t a[16], const uint8_t *nonce, size_t nonce_len, uint8_t i)
{
    memset(a, 0, 16);
    a[0] = (uint8_t)(14u - nonce_len);
    memcpy(a + 1, nonce, nonce_len);
    a[15] = i;
}

/* Initialises c for AES-GCM with an IV of any supported length (OpenSSL takes a length other
 * than 12 as a parameter before the IV itself). */
static bool gcm_init(vsafe_openssl_keys_t *k, EVP_CIPHER_CTX *c, int encrypt, const uint8_t *key, size_t key_len,
                     const uint8_t *iv, size_t iv_len)
{
    const EVP_CIPHER *gcm = aes_cipher(k, VSAFE_OSSL_GCM128, key_len);
    if (iv_len == 12u) {
        return EVP_CipherInit_ex2(c, gcm, key, iv, encrypt, NULL) == 1;
    }
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &iv_len), OSSL_PARAM_construct_end()};
    return EVP_CipherInit_ex2(c, gcm, NULL, NULL, encrypt, p) == 1 &&
           EVP_CipherInit_ex2(c, NULL, key, iv, encrypt, NULL) == 1;
}

/* ---- one-shot AEAD ---- */

/* One-shot AEAD in either direction. Encrypting, tag is written; decrypting, tag is read and
 * *verified set; on a mismatch the output is zeroed and VSAFE_OK returned. */
static int aead_oneshot(vsafe_openssl_keys_t *k, unsigned mode, int encrypt, const uint8_t *key, size_t key_len,
                        const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *in,
                        size_t len, uint8_t *out, uint8_t *tag, size_t tag_len, int *verified)
{
    int rc = VSAFE_ERR_ARGUMENT, outl = 0, ok = 0;
    uint8_t a1[16], fin[16];
    EVP_CIPHER_CTX *c = NULL;
    const uint8_t *src = len != 0u ? in : no_bytes;
    if (verified != NULL) {
        *verified = 0;
    }
    if (!aead_args_ok(mode, key, key_len, nonce, nonce_len, tag_len) || len > SYM_MAX_LEN || aad_len > SYM_MAX_LEN ||
        (len != 0u && (in == NULL || out == NULL)) || (aad_len != 0u && aad == NULL) ||
        (tag_len != 0u && tag == NULL) || (!encrypt && verified == NULL) ||
        (mode == VSAFE_AEAD_CCM && !ccm_lengths_ok(nonce_len, len))) {
        goto done;
    }
    rc = VSAFE_ERR_CRYPTO;
    c = work_ctx(mode == VSAFE_AEAD_GCM ? &k->gcm1 : &k->aead1);
    if (c == NULL) {
        goto done;
    }
    if (mode == VSAFE_AEAD_CCM && tag_len == 0u) {
        ccm_counter_block(a1, nonce, nonce_len, 1);
        if (EVP_CipherInit_ex2(c, aes_cipher(k, VSAFE_OSSL_CTR128, key_len), key, a1, 1, NULL) != 1 ||
            (len != 0u && (EVP_CipherUpdate(c, out, &outl, in, (int)len) != 1 || (size_t)outl != len))) {
            goto done;
        }
        ok = 1;
    } else if (mode == VSAFE_AEAD_CCM) {
        size_t ivl = nonce_len;
        OSSL_PARAM p[3] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivl),
                           OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, encrypt ? NULL : tag, tag_len),
                           OSSL_PARAM_construct_end()};
        /* CCM needs the total length before the AAD; the data call checks the tag when decrypting */
        if (EVP_CipherInit_ex2(c, aes_cipher(k, VSAFE_OSSL_CCM128, key_len), NULL, NULL, encrypt, p) != 1 ||
            EVP_CipherInit_ex2(c, NULL, key, nonce, encrypt, NULL) != 1 ||
            EVP_CipherUpdate(c, NULL, &outl, NULL, (int)len) != 1 ||
            (aad_len != 0u && EVP_CipherUpdate(c, NULL, &outl, aad, (int)aad_len) != 1)) {
            goto done;
        }
        ok = EVP_CipherUpdate(c, len != 0u ? out : fin, &outl, src, (int)len) == 1 && (size_t)outl == len;
        if (encrypt) {
            OSSL_PARAM g[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, tag_len),
                               OSSL_PARAM_construct_end()};
            if (!ok || EVP_CipherFinal_ex(c, fin, &outl) != 1 || EVP_CIPHER_CTX_get_params(c, g) != 1) {
                goto done;
            }
        }
    } else {
        bool same = keyed_same(&k->gcm1_key, key, key_len) && k->gcm1_key.iv_len == nonce_len;
        if (!same) {
            vsafe_wipe(&k->gcm1_key, sizeof k->gcm1_key);
        }
        if (!(same ? EVP_CipherInit_ex2(c, NULL, NULL, nonce, encrypt, NULL) == 1
                   : gcm_init(k, c, encrypt, key, key_len, nonce, nonce_len))) {
            goto done;
        }
        if (!same) {
            keyed_set(&k->gcm1_key, key, key_len);
            k->gcm1_key.iv_len = nonce_len;
        }
        if ((aad_len != 0u && EVP_CipherUpdate(c, NULL, &outl, aad, (int)aad_len) != 1) ||
            (len != 0u && (EVP_CipherUpdate(c, out, &outl, in, (int)len) != 1 || (size_t)outl != len))) {
            goto done;
        }
        OSSL_PARAM g[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, tag_len),
                           OSSL_PARAM_construct_end()};
        if (encrypt) {
            if (EVP_CipherFinal_ex(c, fin, &outl) != 1 || EVP_CIPHER_CTX_get_params(c, g) != 1) {
                goto done;
            }
            ok = 1;
        } else {
            if (EVP_CIPHER_CTX_set_params(c, g) != 1) {
                goto done;
            }
            ok = EVP_CipherFinal_ex(c, fin, &outl) == 1;
        }
    }
    /* Decrypting, a failed check (ok == 0) is a tag that does not match. */
    if (!encrypt) {
        *verified = ok;
        if (!ok && len != 0u) {
            vsafe_wipe(out, len);
        }
    }
    rc = encrypt && !ok ? VSAFE_ERR_CRYPTO : VSAFE_OK;
done:
    if (c != NULL && (c != k->gcm1 || rc != VSAFE_OK || !ok)) {
        /* CCM contexts are keyed per call; a failed GCM call (or a tag mismatch) leaves state
         * behind: start afresh */
        EVP_CIPHER_CTX_reset(c);
        if (c == k->gcm1) {
            vsafe_wipe(&k->gcm1_key, sizeof k->gcm1_key);
        }
    }
    vsafe_wipe(a1, sizeof a1);
    vsafe_wipe(fin, sizeof fin);
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        if (out != NULL && len <= SYM_MAX_LEN) {
            vsafe_wipe(out, len);
        }
        if (encrypt && tag != NULL && tag_len <= 16u) {
            vsafe_wipe(tag, tag_len);
        }
        if (verified != NULL) {
            *verified = 0;
        }
    }
    return rc;
}

static int aead_encrypt(void *ctx, unsigned mode, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                        size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out, uint8_t *tag, size_t tag_len)
{
    return aead_oneshot(vsafe_openssl_crypto_keys(ctx), mode, 1, key, key_len, nonce, nonce_len, aad, aad_len, in,
                        len, out, tag, tag_len, NULL);
}

static int aead_decrypt(void *ctx, unsigned mode, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                        size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        const uint8_t *tag, size_t tag_len, uint8_t *out, int *verified)
{
    return aead_oneshot(vsafe_openssl_crypto_keys(ctx), mode, 0, key, key_len, nonce, nonce_len, aad, aad_len, in,
                        len, out, (uint8_t *)tag, tag_len, verified);
}

/* ---- chunked AEAD ---- */

static void aead_clear(void *ctx)
{
    vsafe_openssl_aead_t *a = &vsafe_openssl_crypto_keys(ctx)->aead;
    EVP_CIPHER_CTX *mac = a->mac, *ctr = a->ctr;
    if (mac != NULL) {
        EVP_CIPHER_CTX_reset(mac);
    }
    if (ctr != NULL) {
        EVP_CIPHER_CTX_reset(ctr);
    }
    vsafe_wipe(a, sizeof *a);
    a->mac = mac;
    a->ctr = ctr;
}

/* CBC-MAC input: whole blocks go through the CBC context as they complete; the chaining value
 * after the last one is a->x. */
static bool ccm_absorb(vsafe_openssl_aead_t *a, const uint8_t *p, size_t n)
{
    uint8_t buf[CCM_MAC_CHUNK];
    int outl = 0;
    bool ok = true;
    while (n > 0u && ok) {
        if (a->fill == 0u && n >= 16u) {
            size_t take = n - n % 16u;
            if (take > sizeof buf) {
                take = sizeof buf;
            }
            memcpy(buf, p, take);
            ok = EVP_EncryptUpdate(a->mac, buf, &outl, buf, (int)take) == 1 && (size_t)outl == take;
            memcpy(a->x, buf + take - 16u, 16);
            p += take;
            n -= take;
            continue;
        }
        size_t take = 16u - a->fill < n ? 16u - a->fill : n;
        memcpy(a->blk + a->fill, p, take);
        a->fill += take;
        p += take;
        n -= take;
        if (a->fill == 16u) {
            ok = EVP_EncryptUpdate(a->mac, a->x, &outl, a->blk, 16) == 1 && outl == 16;
            a->fill = 0;
        }
    }
    vsafe_wipe(buf, sizeof buf);
    return ok;
}

/* Ends a MAC input section (the AAD, the message) with zero padding to a block boundary. */
static bool ccm_pad(vsafe_openssl_aead_t *a)
{
    return a->fill == 0u || ccm_absorb(a, no_bytes, 16u - a->fill);
}

static bool ccm_start(vsafe_openssl_keys_t *k, vsafe_openssl_aead_t *a, const uint8_t *key, size_t key_len,
                      const uint8_t *nonce, size_t nonce_len)
{
    uint8_t b[16], enc[10];
    size_t enc_len = 0, l = 15u - nonce_len;
    int outl = 0;
    bool ok;
    /* B_0: flags (Adata, M' = (M - 2) / 2, L' = L - 1), nonce, message length in L bytes. */
    b[0] = (uint8_t)((a->total_aad != 0u ? 0x40u : 0u) | (a->tag_len != 0u ? ((a->tag_len - 2u) / 2u) << 3 : 0u) |
                     (l - 1u));
    memcpy(b + 1, nonce, nonce_len);
    for (size_t i = 0; i < l; i++) {
        b[15u - i] = i < sizeof(size_t) ? (uint8_t)(a->total_len >> (8u * i)) : 0u;
    }
    /* The AAD length: 2 bytes below 2^16 - 2^8, else FF FE and 4 bytes, else FF FF and 8 bytes. */
    if (a->total_aad != 0u) {
        uint64_t t = a->total_aad;
        size_t w = t < 0xFF00u ? 2u : t <= 0xFFFFFFFFu ? 4u : 8u;
        if (w > 2u) {
            enc[enc_len++] = 0xFF;
            enc[enc_len++] = w == 4u ? 0xFE : 0xFF;
        }
        for (size_t i = 0; i < w; i++) {
            enc[enc_len++] = (uint8_t)(t >> (8u * (w - 1u - i)));
        }
    }
    a->mac = work_ctx(&a->mac);
    a->ctr = work_ctx(&a->ctr);
    ok = a->mac != NULL && a->ctr != NULL &&
         EVP_EncryptInit_ex2(a->mac, aes_cipher(k, VSAFE_OSSL_CBC128, key_len), key, no_bytes, NULL) == 1 &&
         EVP_CIPHER_CTX_set_padding(a->mac, 0) == 1 && ccm_absorb(a, b, 16) && ccm_absorb(a, enc, enc_len);
    ccm_counter_block(b, nonce, nonce_len, 0);
    ok = ok && EVP_EncryptInit_ex2(a->ctr, aes_cipher(k, VSAFE_OSSL_CTR128, key_len), key, b, NULL) == 1 &&
         EVP_EncryptUpdate(a->ctr, a->s0, &outl, no_bytes, 16) == 1 && outl == 16;
    vsafe_wipe(b, sizeof b);
    return ok;
}

static int aead_start(void *ctx, unsigned mode, int encrypt, const uint8_t *key, size_t key_len,
                      const uint8_t *nonce, size_t nonce_len, size_t total_aad, size_t total_len, size_t tag_len)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    vsafe_openssl_aead_t *a = &k->aead;
    int rc = VSAFE_ERR_ARGUMENT;
    aead_clear(ctx);
    if (!aead_args_ok(mode, key, key_len, nonce, nonce_len, tag_len) ||
        (mode == VSAFE_AEAD_CCM && !ccm_lengths_ok(nonce_len, total_len))) {
        goto done;
    }
    rc = VSAFE_ERR_CRYPTO;
    a->mode = mode;
    a->encrypt = encrypt != 0;
    a->tag_len = tag_len;
    if (mode == VSAFE_AEAD_CCM) {
        a->total_aad = total_aad;
        a->total_len = total_len;
        a->aad_done = total_aad == 0u;
        if (!ccm_start(k, a, key, key_len, nonce, nonce_len)) {
            goto done;
        }
    } else if (work_ctx(&a->ctr) == NULL || !gcm_init(k, a->ctr, encrypt != 0, key, key_len, nonce, nonce_len)) {
        goto done;
    }
    a->active = true;
    rc = VSAFE_OK;
done:
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        aead_clear(ctx);
    }
    return rc;
}

static int aead_update(void *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    vsafe_openssl_aead_t *a = &k->aead;
    int rc = VSAFE_ERR_ARGUMENT, outl = 0;
    if (!a->active) {
        rc = VSAFE_ERR_STATE;
        goto done;
    }
    if (len > SYM_MAX_LEN || aad_len > SYM_MAX_LEN || (aad_len != 0u && aad == NULL) ||
        (len != 0u && (in == NULL || out == NULL))) {
        goto done;
    }
    if (a->mode == VSAFE_AEAD_CCM) {
        bool mac = a->tag_len != 0u;
        if (aad_len != 0u) {
            if (a->aad_done || aad_len > a->total_aad - a->aad_seen) {
                goto done;
            }
            rc = VSAFE_ERR_CRYPTO;
            if (mac && !ccm_absorb(a, aad, aad_len)) {
                goto done;
            }
            a->aad_seen += aad_len;
            rc = VSAFE_ERR_ARGUMENT;
        }
        if (len != 0u) {
            if (a->aad_seen != a->total_aad || len > a->total_len - a->data_seen) {
                goto done;
            }
            rc = VSAFE_ERR_CRYPTO;
            if (!a->aad_done && mac && !ccm_pad(a)) {
                goto done;
            }
            a->aad_done = true;
            if ((a->encrypt && mac && !ccm_absorb(a, in, len)) ||
                EVP_EncryptUpdate(a->ctr, out, &outl, in, (int)len) != 1 || (size_t)outl != len ||
                (!a->encrypt && mac && !ccm_absorb(a, out, len))) {
                goto done;
            }
            a->data_seen += len;
        }
    } else {
        if (aad_len != 0u) {
            if (a->aad_done) {
                goto done; /* GCM takes all AAD before the message */
            }
            rc = VSAFE_ERR_CRYPTO;
            if (EVP_CipherUpdate(a->ctr, NULL, &outl, aad, (int)aad_len) != 1) {
                goto done;
            }
        }
        if (len != 0u) {
            rc = VSAFE_ERR_CRYPTO;
            a->aad_done = true;
            if (EVP_CipherUpdate(a->ctr, out, &outl, in, (int)len) != 1 || (size_t)outl != len) {
                goto done;
            }
        }
    }
    rc = VSAFE_OK;
done:
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        if (rc != VSAFE_ERR_STATE) {
            aead_clear(ctx);
        }
        if (out != NULL && len <= SYM_MAX_LEN) {
            vsafe_wipe(out, len);
        }
    }
    return rc;
}

static int aead_finish(void *ctx, uint8_t *tag, size_t tag_len, int *verified)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    vsafe_openssl_aead_t *a = &k->aead;
    int rc = VSAFE_ERR_ARGUMENT, outl = 0;
    uint8_t t[16], fin[16];
    bool encrypt = a->encrypt;
    if (verified != NULL) {
        *verified = 0;
    }
    if (!a->active) {
        rc = VSAFE_ERR_STATE;
        goto done;
    }
    if (tag_len != a->tag_len || (tag_len != 0u && tag == NULL) || (!encrypt && verified == NULL)) {
        goto done;
    }
    if (a->mode == VSAFE_AEAD_CCM) {
        if (a->aad_seen != a->total_aad || a->data_seen != a->total_len) {
            goto done;
        }
        rc = VSAFE_ERR_CRYPTO;
        if (tag_len != 0u) {
            if (!ccm_pad(a)) { /* the AAD when no message followed it, else the message */
                goto done;
            }
            for (size_t i = 0; i < 16u; i++) {
                t[i] = (uint8_t)(a->x[i] ^ a->s0[i]);
            }
            if (encrypt) {
                memcpy(tag, t, tag_len);
            } else {
                *verified = vsafe_ct_equal(t, tag, tag_len);
            }
        } else if (!encrypt) {
            *verified = 1; /* CCM* without a tag authenticates nothing */
        }
    } else {
        OSSL_PARAM g[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, tag_len),
                           OSSL_PARAM_construct_end()};
        rc = VSAFE_ERR_CRYPTO;
        if (encrypt) {
            if (EVP_CipherFinal_ex(a->ctr, fin, &outl) != 1 || EVP_CIPHER_CTX_get_params(a->ctr, g) != 1) {
                goto done;
            }
        } else {
            if (EVP_CIPHER_CTX_set_params(a->ctr, g) != 1) {
                goto done;
            }
            *verified = EVP_CipherFinal_ex(a->ctr, fin, &outl) == 1;
        }
    }
    rc = VSAFE_OK;
done:
    vsafe_wipe(t, sizeof t);
    vsafe_wipe(fin, sizeof fin);
    if (rc != VSAFE_ERR_STATE) {
        aead_clear(ctx);
    }
    if (rc != VSAFE_OK || (verified != NULL && *verified != 1)) {
        ERR_clear_error();
    }
    if (rc != VSAFE_OK && encrypt && tag != NULL && tag_len <= 16u) {
        vsafe_wipe(tag, tag_len);
    }
    return rc;
}

/* ---- MAC ---- */

/* A MAC context with its cipher or digest set once; keyed per call without parameters. */
static EVP_MAC_CTX *mac_ctx(EVP_MAC_CTX **slot, EVP_MAC **alg, const char *alg_name, const char *param,
                            const char *value)
{
    if (*slot != NULL) {
        return *slot;
    }
    if (*alg == NULL) {
        *alg = EVP_MAC_fetch(NULL, alg_name, NULL);
    }
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(param, (char *)value, 0), OSSL_PARAM_construct_end()};
    *slot = *alg != NULL ? EVP_MAC_CTX_new(*alg) : NULL;
    if (*slot != NULL && EVP_MAC_CTX_set_params(*slot, p) != 1) {
        EVP_MAC_CTX_free(*slot);
        *slot = NULL;
    }
    return *slot;
}

/* key non-NULL and key_len >= 1 always. EVP_MAC_init without a key restarts with the key the
 * context holds: only when kd says that key is this one. */
static int mac_run(EVP_MAC_CTX *m, vsafe_openssl_keyed_t *kd, const uint8_t *key, size_t key_len, const uint8_t *msg,
                   size_t len, uint8_t *mac, size_t mac_len)
{
    size_t outl = 0;
    bool same = keyed_same(kd, key, key_len);
    if (!same) {
        vsafe_wipe(kd, sizeof *kd);
    }
    if (m == NULL || EVP_MAC_init(m, same ? NULL : key, same ? 0 : key_len, NULL) != 1) {
        goto fail;
    }
    if (!same) {
        keyed_set(kd, key, key_len);
    }
    if ((len != 0u && EVP_MAC_update(m, msg, len) != 1) || EVP_MAC_final(m, mac, &outl, mac_len) != 1 ||
        outl != mac_len) {
        goto fail;
    }
    return VSAFE_OK;
fail:
    vsafe_wipe(kd, sizeof *kd);
    ERR_clear_error();
    vsafe_wipe(mac, mac_len);
    return VSAFE_ERR_CRYPTO;
}

static int cmac_raw(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len, uint8_t mac[16])
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    if (!aes_key_len_ok(key, key_len) || (msg == NULL && len != 0u)) {
        vsafe_wipe(mac, 16);
        return VSAFE_ERR_ARGUMENT;
    }
    if (key_len == 16u) {
        return mac_run(mac_ctx(&k->cmac128, &k->cmac_alg, "CMAC", OSSL_MAC_PARAM_CIPHER, "AES-128-CBC"),
                       &k->cmac128_key, key, key_len, msg, len, mac, 16);
    }
    return mac_run(mac_ctx(&k->cmac256, &k->cmac_alg, "CMAC", OSSL_MAC_PARAM_CIPHER, "AES-256-CBC"), &k->cmac256_key,
                   key, key_len, msg, len, mac, 16);
}

static int hmac_sha256(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len, uint8_t mac[32])
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    if (key == NULL || key_len == 0u || (msg == NULL && len != 0u)) {
        vsafe_wipe(mac, 32);
        return VSAFE_ERR_ARGUMENT;
    }
    return mac_run(mac_ctx(&k->hmac, &k->hmac_alg, "HMAC", OSSL_MAC_PARAM_DIGEST, "SHA256"), &k->hmac_key, key,
                   key_len, msg, len, mac, 32);
}

/* ---- HKDF ---- */

/* One HKDF step on a fresh EVP_KDF context (freed, and so cleansed, at the end). */
static int hkdf_run(vsafe_openssl_keys_t *k, int mode, const uint8_t *key, size_t key_len, const uint8_t *salt,
                    size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    int rc = VSAFE_ERR_CRYPTO;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM p[6];
    size_t n = 0;
    if (k->hkdf == NULL) {
        k->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    }
    kctx = k->hkdf != NULL ? EVP_KDF_CTX_new(k->hkdf) : NULL;
    if (kctx == NULL) {
        goto done;
    }
    p[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    p[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    p[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(key_len != 0u ? key : no_bytes), key_len);
    if (salt_len != 0u) {
        /* without a salt OpenSSL keys HMAC with the empty string, which pads to the same block
         * as RFC 5869's HashLen zero bytes */
        p[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    }
    if (info_len != 0u) {
        p[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    }
    p[n] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, p) == 1) {
        rc = VSAFE_OK;
    }
done:
    EVP_KDF_CTX_free(kctx);
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        vsafe_wipe(out, out_len);
    }
    return rc;
}

static int hkdf_extract(void *ctx, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                        uint8_t prk[32])
{
    if ((salt == NULL && salt_len != 0u) || (ikm == NULL && ikm_len != 0u) || prk == NULL) {
        if (prk != NULL) {
            vsafe_wipe(prk, 32);
        }
        return VSAFE_ERR_ARGUMENT;
    }
    return hkdf_run(vsafe_openssl_crypto_keys(ctx), EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikm_len, salt, salt_len, NULL,
                    0, prk, 32);
}

static int hkdf_expand(void *ctx, const uint8_t prk[32], const uint8_t *info, size_t info_len, uint8_t *out,
                       size_t out_len)
{
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (prk == NULL || (info == NULL && info_len != 0u) || out_len == 0u || out_len > 255u * 32u) {
        vsafe_wipe(out, out_len <= 255u * 32u ? out_len : 0u);
        return VSAFE_ERR_ARGUMENT;
    }
    return hkdf_run(vsafe_openssl_crypto_keys(ctx), EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, 32, NULL, 0, info, info_len,
                    out, out_len);
}

/* ---- AES key wrap ---- */

static int aes_kw_wrap(void *ctx, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len, uint8_t *out)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    int rc = VSAFE_ERR_ARGUMENT, outl = 0, finl = 0;
    EVP_CIPHER_CTX *c = NULL;
    if (!aes_key_len_ok(kek, kek_len) || in == NULL || out == NULL || in_len < 16u || in_len % 8u != 0u ||
        in_len > 0x10000u) {
        goto done;
    }
    rc = VSAFE_ERR_CRYPTO;
    c = EVP_CIPHER_CTX_new();
    if (c == NULL) {
        goto done;
    }
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_EncryptInit_ex2(c, aes_cipher(k, VSAFE_OSSL_KW128, kek_len), kek, NULL, NULL) == 1 &&
        EVP_EncryptUpdate(c, out, &outl, in, (int)in_len) == 1 && (size_t)outl == in_len + 8u &&
        EVP_EncryptFinal_ex(c, out + outl, &finl) == 1 && finl == 0) {
        rc = VSAFE_OK;
    }
done:
    EVP_CIPHER_CTX_free(c);
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        if (out != NULL && in_len <= 0x10000u) {
            vsafe_wipe(out, in_len + 8u);
        }
    }
    return rc;
}

/* ---- lifetime ---- */

/* The hash and chunked-AEAD contexts are live operations of the core, not caches: they stay (the
 * core ends them with Finish, a new Start, aead_clear / hash_clear, reset or power loss; it ends
 * the chunked-AEAD context itself whenever a symmetric key changes). */
void vsafe_openssl_keys_forget_sym(vsafe_openssl_keys_t *k)
{
    EVP_CIPHER_CTX_free(k->ecb);
    EVP_CIPHER_CTX_free(k->aead1);
    EVP_CIPHER_CTX_free(k->gcm1);
    EVP_MAC_CTX_free(k->cmac128);
    EVP_MAC_CTX_free(k->cmac256);
    EVP_MAC_CTX_free(k->hmac);
    vsafe_wipe(&k->gcm1_key, sizeof k->gcm1_key);
    vsafe_wipe(&k->cmac128_key, sizeof k->cmac128_key);
    vsafe_wipe(&k->cmac256_key, sizeof k->cmac256_key);
    vsafe_wipe(&k->hmac_key, sizeof k->hmac_key);
    k->ecb = k->aead1 = k->gcm1 = NULL;
    k->cmac128 = k->cmac256 = k->hmac = NULL;
}

void vsafe_openssl_keys_free_sym(vsafe_openssl_keys_t *k)
{
    vsafe_openssl_keys_forget_sym(k);
    EVP_MD_CTX_free(k->hash); /* frees (and cleanses) the digest state */
    k->hash = NULL;
    k->hash_active = false;
    EVP_CIPHER_CTX_free(k->aead.mac);
    EVP_CIPHER_CTX_free(k->aead.ctr);
    vsafe_wipe(&k->aead, sizeof k->aead);
    for (unsigned i = 0; i < sizeof k->md / sizeof k->md[0]; i++) {
        EVP_MD_free(k->md[i]);
        k->md[i] = NULL;
    }
    for (unsigned i = 0; i < VSAFE_OSSL_CIPHERS; i++) {
        EVP_CIPHER_free(k->cipher[i]);
        k->cipher[i] = NULL;
    }
    EVP_MAC_free(k->cmac_alg);
    EVP_MAC_free(k->hmac_alg);
    EVP_KDF_free(k->hkdf);
    k->cmac_alg = k->hmac_alg = NULL;
    k->hkdf = NULL;
}

void vsafe_openssl_keys_install_sym(vsafe_crypto_t *port)
{
    port->hash_start = hash_start;
    port->hash_update = hash_update;
    port->hash_finish = hash_finish;
    port->hash_clear = hash_clear;
    port->aes_ecb = aes_ecb;
    port->aead_encrypt = aead_encrypt;
    port->aead_decrypt = aead_decrypt;
    port->aead_start = aead_start;
    port->aead_update = aead_update;
    port->aead_finish = aead_finish;
    port->aead_clear = aead_clear;
    port->cmac_raw = cmac_raw;
    port->hmac_sha256 = hmac_sha256;
    port->hkdf_extract = hkdf_extract;
    port->hkdf_expand = hkdf_expand;
    port->aes_kw_wrap = aes_kw_wrap;
}
